"""The PDF report (WeasyPrint): A4, tagged (PDF/UA-1), with the aggregates attached as CSV.

The same report values as the dashboard, laid out for print by templates/reports/pdf.html (with
the dashboard's chart macros, so that page and PDF draw the same charts). Nothing is fetched
while rendering, neither from the network nor from disk: the stylesheet comes from the templates
and the only font is the system's DejaVu Sans, embedded in the PDF.

Rendering is nearly all WeasyPrint's time, so three things keep it short (see
docs/PERFORMANCE.md): the stylesheet is parsed once per process, not once per PDF; WeasyPrint's
user-agent stylesheet leaves out the footnote and note pseudo-elements, which it would otherwise
style for every element of the report; and no automatic garbage collection runs while a PDF is
made (one collects its leftovers afterwards).
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pydyf
from flask import current_app, render_template
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment
from weasyprint.css.counters import CounterStyle
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

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


def _page_references(pdf: pydyf.PDF) -> tuple[bytes, ...]:
    """pydyf's ``PDF.page_references``, rebuilt only when a page has been added.

    pydyf (0.13) builds the tuple of every page's reference each time it is read, and WeasyPrint
    reads it for every element it tags: quadratic in pages, a minute of a 1,000-page report
    (the whole organisation's, with every improvement idea).
    """
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_surveyapp_page_references")
    if cached is None or cached[0] != len(kids):
        cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
        pdf.__dict__["_surveyapp_page_references"] = cached
    return cached[1]


if isinstance(getattr(pydyf.PDF, "page_references", None), property):
    pydyf.PDF.page_references = property(_page_references)


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
    rows = csv_rows(ctx, group_id, ctx.tallies, organisation, notice=notice_text(exports))
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
    document = ReportHTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).render(
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


@lru_cache(maxsize=1)
def user_agent_stylesheet() -> CSS:
    """WeasyPrint's user-agent stylesheet (html5_ua.css) without its rules for ``::marker``,
    ``::footnote-call``, ``::footnote-marker``, ``::note-call``, ``::note-marker`` and
    ``::note-callback`` on every element; ``::marker`` stays for list items.

    Those rules give each of the report's thousand elements six pseudo-elements whose styles
    WeasyPrint computes, and never shares: about a tenth of a report's rendering, for
    pseudo-elements that the report (no footnotes, lists without markers) never shows.
    """
    text = resources.files("weasyprint.css").joinpath("html5_ua.css").read_text("utf-8")
    text = re.sub(r"^::marker ", "li::marker ", text, flags=re.MULTILINE)
    text = re.sub(r"^::(footnote|note)-[a-z]+ \{[^}]*\}$", "", text, flags=re.MULTILINE)
    return CSS(string=text, counter_style=CounterStyle())  # its counter styles: WeasyPrint's own


class ReportHTML(HTML):
    """A report's HTML, styled with ``user_agent_stylesheet()`` instead of WeasyPrint's own."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [user_agent_stylesheet()]


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
