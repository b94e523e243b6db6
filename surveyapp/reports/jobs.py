"""Jobs that keep every closed round's reports ready to download (``storage.py``).

Closing a round queues ``prepare_reports``, which splits the groups that lack reports into
jobs of a few groups each, so that every worker takes a share. ``keep_reports_ready`` runs by
the clock and queues again what is still missing a while after the last progress: a round
whose worker was killed, rounds closed before reports were stored, and every round after a
release or a change of the organisation's name made the stored reports out of date.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from ..database import reading
from ..extensions import db
from ..jobs import every, job
from ..models import Round, RoundStatus, StoredReport, utcnow
from .storage import missing_groups, render_and_store

#: Groups per rendering job: enough to load the round once for many (its context takes about
#: 0.6 s for 2,000 teams: 25 ms a PDF here, against about a second to render one), few enough
#: that the workers share a round's groups (a round of 2,000 makes 84 jobs).
GROUPS_PER_JOB = 24
#: A round with reports missing and no progress for this long is queued again.
STALLED_AFTER = timedelta(minutes=10)


@job(retries=2, retry_delay=60)
def render_reports(round_id: int, group_ids: list[int]) -> None:
    """Render and store the reports of these groups of a closed round (those still missing)."""
    render_and_store(round_id, group_ids)


@job(retries=2, retry_delay=60)
def prepare_reports(round_id: int) -> None:
    """Queue the rendering of every report the closed round lacks."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.status != RoundStatus.CLOSED:
        return
    missing = missing_groups(round_id)
    round_.reports_queued_at = utcnow()
    db.session.commit()
    for start in range(0, len(missing), GROUPS_PER_JOB):
        render_reports.enqueue(round_id, missing[start:start + GROUPS_PER_JOB])


@every(minute="*/5")
def keep_reports_ready() -> None:
    """Queue the reports of closed rounds that lack some and have made no progress lately."""
    stalled = utcnow() - STALLED_AFTER
    last_rendered = (select(StoredReport.round_id, func.max(StoredReport.rendered_at).label("at"))
                     .group_by(StoredReport.round_id).subquery())
    with reading():
        candidates = db.session.execute(
            select(Round.id, Round.reports_queued_at, last_rendered.c.at)
            .outerjoin(last_rendered, last_rendered.c.round_id == Round.id)
            .where(Round.status == RoundStatus.CLOSED)
            .order_by(Round.closed_at.desc())
        ).all()
        due = [round_id for round_id, queued_at, rendered_at in candidates
               if _stalled_since(queued_at, rendered_at, stalled) and missing_groups(round_id)]
    for round_id in due:
        current_app.logger.info("Queueing the missing reports of round %s", round_id)
        prepare_reports.enqueue(round_id)


def _stalled_since(queued_at: datetime | None, rendered_at: datetime | None,
                   stalled: datetime) -> bool:
    """Whether nothing was queued or rendered for the round since ``stalled``."""
    latest = max((t for t in (queued_at, rendered_at) if t is not None), default=None)
    return latest is None or latest <= stalled
