"""Reports kept ready: every group's PDF and CSV of a closed round, rendered in the background
(``jobs.py``) and stored in the database (``StoredReport``), so that a download only reads them.

A stored report is served only while its fingerprint is today's: the organisation's name and
the code and templates that make reports. Any change to them (a new release, another name)
makes every stored report out of date: downloads render on demand again, as before the round
was pre-rendered, and the job that runs by the clock renders them anew in the background.
Who may download which report is checked before any of this (``access.py``), as for the page.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..analysis.confidentiality import ORGANISATION
from ..analysis.report import RoundContext
from ..database import reading, writing
from ..downloads import slug
from ..extensions import db
from ..models import Round, RoundStatus, RoundTeam, StoredReport, utcnow
from .pdf import pdf_inputs, render_pdf
from .queries import load_context

PDF, CSV = "pdf", "csv"
KINDS = (PDF, CSV)
PACKAGE = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """A digest of the package's code and the report templates, made once per process."""
    digest = hashlib.sha256()
    templates = Path(current_app.root_path).parent / "templates" / "reports"
    files = sorted(PACKAGE.rglob("*.py")) + sorted(p for p in templates.iterdir() if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(path.parents[1])).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint() -> str:
    """What a stored report was made from besides the round's data (see the module's text)."""
    organisation = current_app.config["ORGANISATION_NAME"]
    return hashlib.sha256(f"{_code_digest()}\n{organisation}".encode()).hexdigest()


def file_names(ctx: RoundContext, organisation: str) -> dict[int, str]:
    """The PDF file name of the organisation and of every team, in tree order.

    A team's name is the slug of its path; where two slugs collide (also when the file system
    ignores case), the later team's name ends with its id, so every name is unique and stable.
    """
    names = {ORGANISATION: f"{slug(organisation, 'report')}-whole-organisation.pdf"}
    taken = {names[ORGANISATION].casefold()}
    for team_id in ctx.subtree(ORGANISATION):
        base = slug(ctx.teams[team_id].path, "report")
        name = f"{base}.pdf"
        if name.casefold() in taken:
            name = f"{base}-{team_id}.pdf"
        taken.add(name.casefold())
        names[team_id] = name
    return names


def stored_report(round_id: int, group_id: int, kind: str) -> bytes | None:
    """The stored report, or None when there is none of today's fingerprint."""
    return db.session.scalar(select(StoredReport.content).where(
        StoredReport.round_id == round_id, StoredReport.team_id == group_id,
        StoredReport.kind == kind, StoredReport.fingerprint == fingerprint()))


def groups(round_id: int) -> list[int]:
    """The organisation and every team of the round: the groups that have reports."""
    return [ORGANISATION, *db.session.scalars(
        select(RoundTeam.team_id).where(RoundTeam.round_id == round_id)
        .order_by(RoundTeam.path))]


def _complete(round_id: int, group_id: int | None = None) -> set[int]:
    """The round's groups (or just ``group_id``, if it is) with a current PDF and CSV."""
    query = (select(StoredReport.team_id)
             .where(StoredReport.round_id == round_id, StoredReport.fingerprint == fingerprint())
             .group_by(StoredReport.team_id).having(func.count() == len(KINDS)))
    if group_id is not None:
        query = query.where(StoredReport.team_id == group_id)
    return set(db.session.scalars(query))


def missing_groups(round_id: int) -> list[int]:
    """The round's groups that lack a current PDF or CSV, in the order of their paths."""
    complete = _complete(round_id)
    return [group for group in groups(round_id) if group not in complete]


@dataclass(frozen=True)
class Readiness:
    """How many of a closed round's groups have their reports ready."""

    ready: int
    total: int

    @property
    def complete(self) -> bool:
        return self.ready >= self.total


def readiness(round_id: int) -> Readiness:
    every = groups(round_id)
    complete = _complete(round_id)
    return Readiness(sum(group in complete for group in every), len(every))


def render_and_store(round_id: int, group_ids: list[int]) -> int:
    """Render and store the PDF and CSV of each group of the closed round that still lacks
    them, committing after each group. Reading holds no write lock (``reading``), and no
    transaction stays open while a PDF renders. :return: how many groups were rendered."""
    organisation = current_app.config["ORGANISATION_NAME"]
    current = fingerprint()
    rendered = 0
    for group_id in group_ids:
        with reading():
            round_ = db.session.get(Round, round_id)
            if round_ is None or round_.status != RoundStatus.CLOSED \
                    or _complete(round_id, group_id):
                continue  # gone, or another worker did it meanwhile
            inputs = pdf_inputs(round_, group_id, organisation, load_context(round_))
        # The CSV the download view makes is the one attached to the PDF, with a byte-order mark.
        csv_text = "\ufeff" + inputs.aggregates
        pdf = render_pdf(inputs.report, inputs.aggregates, inputs.exports)
        try:
            with writing():
                _store(round_id, group_id, {PDF: pdf, CSV: csv_text.encode("utf-8")}, current)
        except IntegrityError:
            db.session.rollback()  # another worker stored this group first: the same report
            continue
        rendered += 1
    return rendered


def _store(round_id: int, group_id: int, contents: dict[str, bytes], current: str) -> None:
    now = utcnow()
    for kind, content in contents.items():
        row = db.session.get(StoredReport, (round_id, group_id, kind))
        if row is None:
            db.session.add(StoredReport(round_id=round_id, team_id=group_id, kind=kind,
                                        content=content, fingerprint=current, rendered_at=now))
        else:
            row.content, row.fingerprint, row.rendered_at = content, current, now


class _Chunks(io.RawIOBase):
    """A write-only stream that keeps what is written until taken (for a streamed ZIP)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> Iterator[bytes]:
        chunks, self.chunks = self.chunks, []
        return iter(chunks)


def zipped(round_id: int, names: dict[int, str]) -> Iterator[bytes]:
    """The stored PDFs of these groups (id: file name) as a ZIP file, a piece at a time.
    PDFs are compressed already, so they are stored as they are."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for group_id, name in names.items():
            pdf = stored_report(round_id, group_id, PDF)
            db.session.rollback()
            if pdf is not None:
                archive.writestr(name, pdf)
            yield from sink.take()
    yield from sink.take()
