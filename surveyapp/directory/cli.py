"""``flask --app surveyapp import-people FILE.csv``: the CSV import without the browser."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from .csv_import import parse_people_csv
from .importing import apply_import, plan_import


@click.command("import-people")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Only say what would change; write nothing.")
@with_appcontext
def import_people_command(file, dry_run: bool):
    """Import people from a CSV file (columns email, name, team; optionally location,
    role_level, tenure_band) and print what changed.

    The same rules as the Import page: people are matched by e-mail, missing teams are
    created, people not in the file are left as they are. A file with any bad line changes
    nothing: every problem is printed with its line number and the command exits with 1.
    """
    plan = plan_import(parse_people_csv(file.read()))
    if plan.errors:
        db.session.rollback()
        for error in plan.errors:
            click.echo(str(error), err=True)
        lines = len({e.line for e in plan.errors if e.line is not None})
        where = f": {lines} {'line has' if lines == 1 else 'lines have'} problems" if lines else ""
        click.echo(f"Nothing was imported{where}. Fix the file and run the command again.",
                   err=True)
        raise SystemExit(1)
    if plan.ignored_columns:
        click.echo("Ignored columns: " + ", ".join(plan.ignored_columns))
    if dry_run:
        db.session.rollback()
        click.echo(f"Would import: {plan.summary()}. Nothing was written (--dry-run).")
        return
    apply_import(plan)
    db.session.commit()
    click.echo(f"{plan.summary()}.")
    click.echo("People not in the file were left as they are.")
