"""The PDF report (WeasyPrint). Placeholder until the PDF layout lands."""

from __future__ import annotations

from flask import render_template
from weasyprint import HTML

from ..analysis.report import TeamReport


def render_pdf(report: TeamReport) -> bytes:
    html = render_template("reports/pdf.html", report=report)
    return HTML(string=html).write_pdf()
