"""The PDF report (WeasyPrint): A4, tagged (PDF/UA-1), with the aggregates attached as CSV.

The same report values as the dashboard, laid out for print by templates/reports/pdf.html (with
the dashboard's chart macros, so that page and PDF draw the same charts). Nothing is fetched
while rendering, neither from the network nor from disk: the stylesheet comes from the templates
and the only font is the system's DejaVu Sans, embedded in the PDF.

Rendering is nearly all WeasyPrint's time, so four things keep it short (see
docs/PERFORMANCE.md): the stylesheet is parsed once per process, not once per PDF; no automatic
garbage collection runs while a PDF is made (one collects its leftovers afterwards); and two
patches of WeasyPrint's and pydyf's internals, which live in surveyapp/thirdparty.py with the
releases they apply to, leave out the footnote and note pseudo-elements that WeasyPrint would
style for every element, and build pydyf's page references once per page.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app, render_template
from markupsafe import Markup
from weasyprint import CSS, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from .. import thirdparty
from ..analysis import scores
from ..analysis.confidentiality import ORGANISATION
from ..analysis.report import IDEAS_LISTED, RoundContext, TeamReport
from ..clock import today
from ..models import Round
from ..rounds.link_exports import ExportNotice, notice_text, recorded_exports
from .charts import heat_colour, heat_text_colour
from .export import csv_rows, to_csv
from .queries import load_context, team_report

#: Tagged, with a title and a language: screen readers can read the report.
PDF_VARIANT = "pdf/ua-1"
ATTACHMENT_NAME = "aggregates.csv"
#: What the running header calls the whole-organisation group.
WHOLE_ORGANISATION = "Whole organisation"

_fonts = threading.local()
#: Renders in progress in this process, and whether the garbage collector was on before the
#: first of them began (both under ``_collection_lock``).
_rendering = 0
_collector_was_on = True
_collection_lock = threading.Lock()


@dataclass(frozen=True)
class PdfInputs:
    """Everything a PDF shows, read from the database (render it after the transaction ends)."""

    report: TeamReport
    #: The aggregates of the group and every team in it, as export.csv_rows writes them.
    aggregates: str
    #: Every export of the round's survey links, shown on the cover and the method page.
    exports: tuple[ExportNotice, ...] = ()


def pdf_inputs(round_: Round, group_id: int, organisation: str,
               ctx: RoundContext | None = None) -> PdfInputs:
    """Read the report of a group (or ``ORGANISATION``) in a round, and its aggregates CSV.

    :raise KeyError: when the team was not part of the round.
    """
    ctx = ctx or load_context(round_)
    report = team_report(round_, group_id, organisation, ctx=ctx)
    exports = recorded_exports(round_.id)
    rows = csv_rows(ctx, group_id, ctx.require_tallies(), organisation,
                    notice=notice_text(exports))
    return PdfInputs(report, to_csv(rows), exports)


def render_pdf(report: TeamReport, aggregates: str | None = None,
               exports: tuple[ExportNotice, ...] = ()) -> bytes:
    """The report as a tagged A4 PDF; ``aggregates`` (CSV text) is attached when given, and
    ``exports`` (the round's link exports) are shown on the cover and the method page.

    Needs an application context (for the templates), not a request.
    """
    html = render_template(
        "reports/pdf.html", report=report, exports=exports,
        running_header=css_string(running_header(report)),
        scoring_rules=scoring_rules(), produced_on=today(),
        title=document_title(report), whole=report.group_id == ORGANISATION,
        team_label=team_label(report), ideas_listed=IDEAS_LISTED,
    )
    attachments = []
    if aggregates is not None:
        attachments.append(Attachment(
            string=aggregates, name=ATTACHMENT_NAME,
            description="The report's aggregate figures, for every team in it (CSV)",
        ))
    with collections_deferred():
        return write_pdf(html, attachments)


def write_pdf(html: str, attachments: list[Attachment]) -> bytes:
    """WeasyPrint's part of ``render_pdf``. A function of its own, so that nothing refers to
    the laid-out document any more when ``collections_deferred`` collects it."""
    thirdparty.cache_page_references()
    thirdparty.cache_parser_regexes()
    document = thirdparty.report_html(
        string=html, url_fetcher=URLFetcher(allowed_protocols=()),
    ).render(
        pdf_variant=PDF_VARIANT, font_config=font_config(), stylesheets=[stylesheet(report_css())],
    )
    return document.write_pdf(pdf_variant=PDF_VARIANT, attachments=attachments)


def report_css() -> str:
    """The report's stylesheet (templates/reports/pdf.css) with the heatmap's cell colours."""
    source = current_app.jinja_env.get_template("reports/pdf.css").render()
    return f"{source}\n{heat_rules()}\n"


@lru_cache(maxsize=4)
def stylesheet(text: str) -> CSS:
    """``text`` parsed once per process (the matcher WeasyPrint builds for it is read-only
    while rendering, so threads share it). Keyed by the text, so an edited template is used."""
    return CSS(string=text)


@contextmanager
def collections_deferred() -> Iterator[None]:
    """No automatic garbage collection inside the block; the youngest generation is collected
    when the last block in the process ends.

    A PDF allocates millions of objects, so the collector runs hundreds of times during one,
    and each full collection walks every object in the process: the round contexts the app
    keeps hold hundreds of thousands. That was a quarter of a render; one collection of what
    the render left behind costs a few milliseconds. (The collector is process-wide, hence the
    count of renders in progress, so that concurrent renders do not switch it back on early.)
    """
    global _rendering, _collector_was_on
    with _collection_lock:
        if _rendering == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _rendering += 1
    try:
        yield
    finally:
        with _collection_lock:
            _rendering -= 1
            last = _rendering == 0
            if last and _collector_was_on:
                gc.enable()
        if last:
            gc.collect(0)


def font_config() -> FontConfiguration:
    """This thread's font configuration, kept between PDFs: loading the fonts again for every
    PDF costs about a tenth of the rendering, and Pango's font maps must not cross threads."""
    if not hasattr(_fonts, "config"):
        _fonts.config = FontConfiguration()
    return _fonts.config


def team_label(report: TeamReport) -> str:
    return WHOLE_ORGANISATION if report.group_id == ORGANISATION else report.name


def running_header(report: TeamReport) -> str:
    """organisation · team · round"""
    return f"{report.organisation} · {team_label(report)} · {report.info.name}"


def document_title(report: TeamReport) -> str:
    return f"{team_label(report)}: service capability report, {report.info.name}"


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string that is safe inside a <style> element.

    Quotes, backslashes, angle brackets, ampersands and control characters become CSS escapes,
    so that no team name can end the string or the element.
    """
    escaped = "".join(
        f"\\{ord(c):x} " if c in '\\"<>&' or ord(c) < 0x20 or ord(c) == 0x7F else c
        for c in text
    )
    return Markup(f'"{escaped}"')


def heat_rules() -> Markup:
    """Heatmap cell colours for means 1.0 to 5.0 (the same as the dashboard's heat.css)."""
    return Markup("\n".join(
        f".heat-{tenths} {{ background: {heat_colour(tenths / 10)}; "
        f"color: {heat_text_colour(tenths / 10)}; }}"
        for tenths in range(10, 51)
    ))


def scoring_rules() -> list[str]:
    """The scoring rules, as stated in surveyapp.analysis.scores (one place for code and report):
    the list after "Rules", which ends at the first blank line."""
    doc = scores.__doc__ or ""
    rules: list[str] = []
    for line in doc.split("Rules", 1)[-1].splitlines()[1:]:
        text = line.strip()
        if not text:
            break
        if text.startswith("- "):
            rules.append(text[2:])
        elif rules:
            rules[-1] += " " + text
    return [re.sub(r"(\d)-(\d)", "\\1–\\2", rule) for rule in rules]
