"""Alembic environment for ``flask --app surveyapp db ...`` (Flask-Migrate).

Differences from Flask-Migrate's template, each for a reason:

- ``UTCDateTime`` (surveyapp.models) is written into migrations as ``sa.DateTime(timezone=True)``,
  so that migration files never import application code that may change later.
- On SQLite the whole upgrade runs in one transaction (SQLite has transactional DDL), and with
  foreign keys switched off: batch mode rebuilds a table by copying it and dropping the old one,
  and with foreign keys on that DROP would cascade into (or be refused by) the tables that refer
  to it. ``PRAGMA foreign_key_check`` runs before the commit and fails the upgrade on any
  dangling reference.
- Logging set-up keeps the loggers that already exist (the app's, pytest's).
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import text

from surveyapp.models import UTCDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


def get_engine_url() -> str:
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())


def render_item(type_, obj, autogen_context):
    """Render application column types as plain SQLAlchemy types in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Write the migrations as SQL to standard output (``flask db upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_item=render_item,
        **_extra_args(),
    )
    with context.begin_transaction():
        context.run_migrations()


def _extra_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("render_item", render_item)
    args.setdefault("compare_type", True)
    return args


def _skip_empty_autogenerate(context_, revision, directives):
    # `flask db migrate` with no model changes writes no empty revision file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def _sqlite_foreign_keys(connection, on: bool) -> None:
    # PRAGMA foreign_keys is a no-op inside a transaction, so it goes straight to the driver
    # connection, which surveyapp.database leaves in autocommit mode between transactions.
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def run_migrations_online() -> None:
    """Run the migrations against the app's database."""
    args = _extra_args()
    args.setdefault("process_revision_directives", _skip_empty_autogenerate)
    with get_engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
            args.setdefault("transactional_ddl", True)
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    problems = connection.execute(text("PRAGMA foreign_key_check")).all()
                    if problems:
                        raise RuntimeError(f"migration left dangling foreign keys: {problems}")
            if connection.in_transaction():
                connection.commit()
        finally:
            if sqlite:
                if connection.in_transaction():
                    connection.rollback()
                _sqlite_foreign_keys(connection, on=True)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
