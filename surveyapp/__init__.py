"""surveyapp: a self-hosted service-culture assessment platform."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    accounts,
    auth,
    cli,
    directory,
    errors,
    main,
    models,  # noqa: F401 (imported for migrations)
    reports,
    rounds,
    security,
    survey,
)
from .config import DEFAULTS, check_production, check_secret_key, database_uri, instance_secret_key
from .database import IdConverter, configure_sqlite, shell_context
from .extensions import csrf, db, jobs, login_manager, migrate
from .reports import charts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, commands.

    :param test_config: settings that replace ``instance/config.py`` (used by the tests);
        environment variables still apply on top of either.
    :raise ConfigurationError: when a production configuration is unsafe.
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("SURVEYAPP_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    load_config(app, test_config)
    init_extensions(app)
    register_blueprints(app)
    errors.register(app)
    security.register(app)
    cli.register(app)
    return app


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    app.config.from_prefixed_env("SURVEYAPP")
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(
        app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path
    )
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] == "production"
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    check_secret_key(app.config)
    check_production(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        # Wrapping app.wsgi_app is Flask's documented way to add WSGI middleware; mypy only sees
        # Flask.wsgi_app as a method, which it will not have replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    # Templates get a lazy current_user, so that the survey's link pages can do without one.
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(auth.current_user_for_templates)
    app.shell_context_processor(shell_context)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT"])
    jobs.init_app(app)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before the routes that use it
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(directory.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(rounds.bp)
    app.register_blueprint(survey.bp)
    app.register_blueprint(reports.bp)
    charts.register(app)
