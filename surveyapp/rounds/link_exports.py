"""Survey links taken out of the application, and the record of every export.

Whoever holds a person's link can answer in that person's name. An HR admin who downloaded the
links of those who have not submitted could answer for each of them with fixed values and read
the one real response off the means. Exporting links is therefore a deliberate act: a POST from
a page that says what it means, or the ``round links`` command; possible only while the round
is open (so that a closed round's reports never change); recorded (``LinkExport``); and shown
on the round's page and on every report of the round (page, PDF, CSV, ``flask report``). An
organisation that sends every invitation from the application can switch it off:
``LINK_EXPORT = False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from ..clock import local_date, today
from ..extensions import db
from ..models import LinkExport, Round, RoundStatus, User
from .invitations import COMMAND_LINE, links_csv_rows
from .operations import RoundError

#: What every notice of an export adds, for a reader who sees nothing else.
WHAT_IT_MEANS = "Anyone holding a link could answer as that person."


class LinkExportOff(RoundError):
    """The organisation has switched link export off (``LINK_EXPORT = False``)."""


@dataclass(frozen=True)
class ExportNotice:
    """One recorded export, as the round's page and reports show it."""

    exported_by: str
    on: date
    links: int

    @property
    def text(self) -> str:
        """"Survey links were exported by Hana Reyes on 3 May 2026."

        Without the number of links: an export holds the links of those who had not submitted,
        so its size would say how many had, which small groups keep hidden.
        """
        return f"Survey links were exported by {self.exported_by} on {self.on:%-d %B %Y}."


def link_export_on() -> bool:
    return bool(current_app.config["LINK_EXPORT"])


def export_links(round_: Round, *, user: User | None) -> list[list[str]]:
    """Record an export of the round's links by ``user`` (None: the command line) and return
    the rows ``email,name,team,url`` of everyone who has not submitted, header first.

    The round's row is locked first, so that an export and the round's closing happen one
    after the other: no export is ever recorded for a round that has closed.

    :raise LinkExportOff: when the organisation has switched link export off.
    :raise RoundError: when the round is a draft (no links yet) or closed (links no longer work).
    """
    if not link_export_on():
        raise LinkExportOff("Downloading survey links is switched off for this organisation "
                            "(the setting LINK_EXPORT).")
    locked = db.session.get(Round, round_.id, with_for_update=True, populate_existing=True)
    if locked is None:  # deleted meanwhile (only a draft round can be)
        raise RoundError("This round no longer exists.")
    round_ = locked
    if round_.status == RoundStatus.DRAFT:
        raise RoundError("A draft round has no links yet: launch it first.")
    if round_.phase(today()) != RoundStatus.OPEN:
        raise RoundError("This round has closed: its links no longer work, so there is nothing "
                         "to export.")
    rows = list(links_csv_rows(round_))
    db.session.add(LinkExport(
        round_id=round_.id, user_id=user.id if user else None,
        exported_by=user.name if user else COMMAND_LINE, links=len(rows) - 1,
    ))
    db.session.flush()
    return rows


def recorded_exports(round_id: int) -> tuple[ExportNotice, ...]:
    """Every export of the round's links, oldest first."""
    rows = db.session.execute(
        select(LinkExport.exported_by, LinkExport.at, LinkExport.links)
        .where(LinkExport.round_id == round_id)
        .order_by(LinkExport.at, LinkExport.id)
    ).all()
    return tuple(ExportNotice(by, local_date(at), links) for by, at, links in rows)


def notice_text(exports: tuple[ExportNotice, ...]) -> str:
    """The exports in one paragraph (for a CSV cell or a terminal), or "" when there are none."""
    if not exports:
        return ""
    return " ".join(e.text for e in exports) + " " + WHAT_IT_MEANS
