"""Dates in the organisation's time zone: rounds open and close on whole days there."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def today() -> date:
    """Today's date where the organisation is (config ``TIMEZONE``)."""
    return datetime.now(UTC).astimezone(organisation_zone()).date()


def local_date(moment: datetime) -> date:
    """The date of ``moment`` (aware) where the organisation is."""
    return moment.astimezone(organisation_zone()).date()
