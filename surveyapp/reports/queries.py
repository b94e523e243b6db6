"""Reading a round's results as plain rows for surveyapp.analysis.

Only aggregates ever leave the analysis layer; these queries return the rows it needs (the
round's frozen tree, response counts, answers and comments of the teams in question).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..analysis.confidentiality import ORGANISATION
from ..analysis.report import (
    CommentRow,
    ResponseRow,
    RoundContext,
    RoundInfo,
    TeamReport,
    TeamRow,
    build_report,
)
from ..extensions import db
from ..instrument import Instrument
from ..models import Answer, Comment, Response, Round, RoundStatus, RoundTeam
from ..rounds.tallies import load_tallies


def round_info(round_: Round) -> RoundInfo:
    return RoundInfo(
        round_id=round_.id, name=round_.name, instrument=Instrument.from_dict(round_.instrument),
        min_group_size=round_.min_group_size,
        min_comment_group_size=round_.min_comment_group_size,
        opens_on=round_.opens_on, closes_on=round_.closes_on, status=round_.status,
    )


#: How many closed rounds' contexts each app keeps (a few MB each at 2,000 teams).
CACHED_CONTEXTS = 4
_CACHE = "surveyapp.closed_round_contexts"  # the app extension that keeps them
_cache_lock = threading.Lock()


class NotClosed(ValueError):
    """A round's results were asked for before it closed: none exist yet."""


def load_context(round_: Round) -> RoundContext:
    """The round's frozen tree with every team's tally (surveyapp/rounds/tallies.py), and so
    its response counts and the visibility of every group and of every statement's and
    capability's figures.

    A closed round never changes (answers, tree and rules are frozen), so the app keeps the
    contexts of the last few closed rounds: every report of a round (each team's page, PDF
    and CSV) shares one, built once per process. Callers must not change a context.

    :raise NotClosed: for a round that is not closed: no figure of an open round is ever
        computed, not even to compare another round with it.
    """
    key = _context_key(round_)
    with _cache_lock:
        ctx = _contexts().get(key)
        if ctx is not None:
            _contexts().move_to_end(key)
            return ctx
    ctx = build_context(round_)
    with _cache_lock:
        cache = _contexts()
        cache[key] = ctx
        while len(cache) > CACHED_CONTEXTS:
            cache.popitem(last=False)
    return ctx


def _contexts() -> OrderedDict[tuple[int, datetime], RoundContext]:
    """The contexts the current app keeps, least recently used first (``_cache_lock`` held)."""
    return current_app.extensions.setdefault(_CACHE, OrderedDict())


def _context_key(round_: Round) -> tuple[int, datetime]:
    """What a closed round's context depends on: the round, as it closed.

    :raise NotClosed: for a round that is not closed.
    """
    return (round_.id, _require_closed(round_))


def forget_contexts() -> None:
    """Drop every context the current app keeps, so that the next ``load_context`` builds
    its round's again: for tests that switch a confidentiality rule off (nothing else changes
    a closed round's context)."""
    with _cache_lock:
        current_app.extensions.pop(_CACHE, None)


def _require_closed(round_: Round) -> datetime:
    """:return: when the round closed. :raise NotClosed: for a round that is not closed."""
    if round_.status != RoundStatus.CLOSED or round_.closed_at is None:
        raise NotClosed(f"round {round_.id} is {round_.status}: it has no results")
    return round_.closed_at


def build_context(round_: Round) -> RoundContext:
    """``load_context`` without the cache. :raise NotClosed: as ``load_context``."""
    _require_closed(round_)
    teams = {
        row.team_id: TeamRow(row.team_id, row.parent_team_id, row.name, row.path, row.invited)
        for row in db.session.execute(
            select(RoundTeam.team_id, RoundTeam.parent_team_id, RoundTeam.name, RoundTeam.path,
                   RoundTeam.invited).where(RoundTeam.round_id == round_.id))
    }
    tallies = load_tallies(round_)
    counts = {team_id: t.responses for team_id, t in tallies.items() if t.responses}
    return RoundContext(round_info(round_), teams, counts, tallies)


def load_responses(round_id: int, team_ids: Collection[int] | None = None) -> list[ResponseRow]:
    """Every response of the round (of ``team_ids`` only, if given) with its answers."""
    query = (
        select(Response.id, Response.team_id, Answer.statement_key, Answer.value)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.round_id == round_id)
    )
    if team_ids is not None:
        query = query.where(Response.team_id.in_(list(team_ids)))
    answers: dict[int, dict[str, int]] = {}
    teams: dict[int, int] = {}
    for response_id, team_id, key, value in db.session.execute(query):
        teams[response_id] = team_id
        bucket = answers.setdefault(response_id, {})
        if key is not None:
            bucket[key] = value
    return [ResponseRow(rid, teams[rid], answers[rid]) for rid in sorted(answers)]


def load_comments(round_id: int, team_ids: Collection[int] | None = None) -> list[CommentRow]:
    query = (
        select(Comment.id, Response.team_id, Comment.question_key, Comment.text)
        .join(Response, Comment.response_id == Response.id)
        .where(Response.round_id == round_id)
    )
    if team_ids is not None:
        query = query.where(Response.team_id.in_(list(team_ids)))
    return [CommentRow(*row) for row in db.session.execute(query)]


def previous_round(round_: Round, group_id: int) -> Round | None:
    """The round that ``round_``'s reports of the group compare with: the latest round that
    included the group (any round, for the whole organisation) and had closed *before*
    ``round_`` closed. None for a round that is not closed.

    Comparing only with rounds closed first keeps every figure of an open round out of the
    reports, even as a change (a change pins both means, so watching it move while another
    round is open would show how each new response there moved its mean), and it fixes a
    closed round's report once and for all: no round closing later can change it.
    """
    if round_.status != RoundStatus.CLOSED or round_.closed_at is None:
        return None
    query = (
        select(Round)
        .where(Round.status == RoundStatus.CLOSED, Round.closed_at < round_.closed_at)
        .order_by(Round.closed_at.desc(), Round.id.desc())
        .limit(1)
    )
    if group_id != ORGANISATION:
        query = query.where(
            select(RoundTeam).where(RoundTeam.round_id == Round.id, RoundTeam.team_id == group_id)
            .exists()
        )
    return db.session.scalar(query)


def team_report(round_: Round, group_id: int, organisation: str,
                ctx: RoundContext | None = None) -> TeamReport:
    """Build the report of a team (or ``ORGANISATION``) in a closed round, compared with
    ``previous_round``.

    :raise KeyError: when the team was not part of the round.
    :raise NotClosed: when the round is not closed.
    """
    ctx = ctx or load_context(round_)
    if group_id != ORGANISATION and group_id not in ctx.teams:
        raise KeyError(group_id)
    members = None if group_id == ORGANISATION else ctx.subtree(group_id)
    comments = load_comments(round_.id, members)
    before = previous_round(round_, group_id)
    previous_ctx = load_context(before) if before is not None else None
    return build_report(
        organisation=organisation, ctx=ctx, group_id=group_id, tallies=ctx.require_tallies(),
        comments=comments, previous_ctx=previous_ctx,
        previous_tallies=previous_ctx.tallies if previous_ctx else None,
    )
