"""The people import pages (HR): upload a CSV file, preview what would change, apply it.

The uploaded file waits in the database (``uploads``) between the preview and "Apply these
changes", never in the session cookie. The preview is a GET that only reads. Applying reads the
same file back (its SHA-256 must match), parses it and plans again against the directory as it
is now, and writes only if the plan is still exactly the one the preview showed (same digest);
otherwise it shows the new preview. Applying is one transaction.
"""

from __future__ import annotations

from pathlib import Path

from flask import flash, redirect, render_template, request, url_for

from ..access import hr_required
from ..extensions import db
from .csv_import import ATTRIBUTE_COLUMNS, parse_people_csv
from .forms import ApplyImportForm, UploadForm
from .importing import ImportPlan, apply_import, plan_import
from .uploads import discard_upload, load_upload, save_upload, sha256
from .views import bp

#: Rows shown in each table of the preview; the counts always cover the whole file.
PREVIEW_ROWS = 500
EXPIRED = ("That upload has expired or has already been applied. Upload the file again to see "
           "what it would change.")


def plan_for(data: bytes) -> ImportPlan:
    """Parse ``data`` and plan it against the directory.

    The request's transaction (opened to load the signed-in user) ends before parsing, which
    needs no database: on SQLite a POST's transaction holds the write lock, and a large file
    takes seconds to parse. Planning (and applying) then run in one new transaction.
    """
    db.session.rollback()
    parsed = parse_people_csv(data)
    return plan_import(parsed)


def render_upload(form: UploadForm, plan: ImportPlan | None = None, filename: str = ""):
    """The upload page, with the file's problems when there are any."""
    file_problem = None
    if plan is not None and plan.errors and plan.errors[0].line is None:
        file_problem = plan.errors[0].message
        form.file.errors = [*form.file.errors, file_problem]
    row_errors = [e for e in plan.errors if e.line is not None] if plan else []
    problems = []
    if row_errors:
        lines = len({e.line for e in row_errors})
        problems = [("row-errors", f"{lines} {'line' if lines == 1 else 'lines'} of {filename or 'the file'} "
                                   f"{'has' if lines == 1 else 'have'} problems. Nothing has been "
                                   "imported.")]
    return render_template(
        "directory/import.html", form=form, problems=problems, row_errors=row_errors,
        has_errors=bool(form.errors or problems), filename=filename,
        attribute_columns=ATTRIBUTE_COLUMNS,
    )


@bp.route("/people/import", methods=["GET", "POST"])
@hr_required
def import_people():
    """Upload a people file; a good one is kept and its preview shown, a bad one is listed."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_upload(form)
    upload = form.file.data
    filename = Path(upload.filename or "").name
    data = upload.read()
    plan = plan_for(data)
    db.session.rollback()  # the plan only read
    if plan.errors:
        return render_upload(form, plan, filename)
    stored = save_upload(data)
    db.session.commit()
    return redirect(url_for(".import_preview", token=stored.token, file=filename or None))


def render_preview(token: str, data: bytes, plan: ImportPlan, filename: str, changed=False):
    form = ApplyImportForm(formdata=None)
    form.sha256.data = sha256(data)
    form.digest.data = plan.digest()
    return render_template(
        "directory/import_preview.html", plan=plan, form=form, token=token, filename=filename,
        limit=PREVIEW_ROWS, changed=changed,
    )


@bp.get("/people/import/<token>")
@hr_required
def import_preview(token: str):
    """What the uploaded file would change. Writes nothing."""
    filename = request.args.get("file", "")
    data = load_upload(token)
    if data is None:
        flash(EXPIRED, "warning")
        return redirect(url_for(".import_people"))
    plan = plan_for(data)
    if plan.errors:
        return render_upload(UploadForm(formdata=None), plan, filename)
    return render_preview(token, data, plan, filename)


@bp.post("/people/import/<token>/apply", endpoint="apply_import")
@hr_required
def apply_import_view(token: str):
    """Apply exactly what the preview showed, in one transaction, or show what has changed."""
    filename = request.args.get("file", "")
    form = ApplyImportForm()
    data = load_upload(token, form.sha256.data) if form.validate() else None
    if data is None:
        flash(EXPIRED, "warning")
        return redirect(url_for(".import_people"))
    plan = plan_for(data)
    if plan.errors:
        db.session.rollback()
        return render_upload(UploadForm(formdata=None), plan, filename)
    if plan.digest() != form.digest.data:
        db.session.rollback()
        return render_preview(token, data, plan, filename, changed=True), 409
    apply_import(plan)
    discard_upload(token)  # with the changes it made, in one transaction
    db.session.commit()
    flash(f"Import complete: {plan.summary()}.", "success")
    return redirect(url_for(".teams"))
