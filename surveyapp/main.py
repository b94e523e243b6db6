"""The start page and the health check."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from .extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Send a signed-in user to their work; show everyone else the welcome page."""
    if current_user.is_authenticated:
        if current_user.is_hr:
            return redirect(url_for("directory.teams"))
        return redirect(url_for("directory.my_teams"))
    return render_template("main/index.html")


@bp.get("/healthz")
def healthz():
    """Return 200 "ok" when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        return {"status": "unavailable", "database": "down"}, 503
    return {"status": "ok", "database": "up"}, 200
