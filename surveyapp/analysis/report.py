"""A team's (or the whole organisation's) report for one round, as plain values.

Built from plain rows by the reports package and rendered by the dashboard page, the PDF and
the CSV alike, so that every output shows the same figures under the same rules.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from ..instrument import Instrument
from .confidentiality import (
    ORGANISATION,
    FigureVisibility,
    GroupNode,
    Visibility,
    decide_figure_visibility,
    decide_visibility,
    hide_figures,
    present_comments,
)
from .scores import GroupScores, StatementScore, score_tally
from .stats import Change, change
from .tally import POINTS, Tally, layout_of, sum_of

TOP_N = 3
#: How many improvement ideas per question a report lists at first (the PDF, and the dashboard
#: until asked for every one). Ideas come shuffled, so these are a random sample; a large group
#: has tens of thousands, which no one reads in a PDF of a thousand pages.
IDEAS_LISTED = 300


@dataclass(frozen=True)
class TeamRow:
    """A team of the round's frozen tree."""

    team_id: int
    parent_id: int | None
    name: str
    path: str
    invited: int


@dataclass(frozen=True)
class ResponseRow:
    response_id: int
    team_id: int
    answers: Mapping[str, int]


@dataclass(frozen=True)
class CommentRow:
    comment_id: int
    team_id: int
    question_key: str
    text: str


@dataclass(frozen=True)
class RoundInfo:
    round_id: int
    name: str
    instrument: Instrument
    min_group_size: int
    min_comment_group_size: int
    opens_on: date
    closes_on: date
    status: str


@dataclass(frozen=True)
class RoundContext:
    """A round's tree with the visibility of every group, decided once for all viewers.

    Immutable, and safe to share between threads (``reports/queries.py`` serves a closed
    round's context to every request of a worker): the tree and what each group may show are
    worked out at construction; each group's scores from the context's own tallies are worked
    out when first asked for and kept by a lock-guarded ``ScoresCache``. The mappings and
    tallies given to it must not change afterwards.
    """

    info: RoundInfo
    teams: Mapping[int, TeamRow]
    #: Responses per team (own people only).
    counts: Mapping[int, int]
    #: Each team's tally, for the figures of each statement and capability (confidentiality
    #: rule 3: how many answered each statement). None: every response answered everything.
    tallies: Mapping[int, Tally] | None = None
    scores_visibility: Visibility = field(init=False)
    comments_visibility: Visibility = field(init=False)
    figures_visibility: FigureVisibility | None = field(init=False)
    #: Each group's teams directly below it (ORGANISATION: the top ones), by name.
    children: Mapping[int, tuple[int, ...]] = field(init=False)
    _scores: ScoresCache = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # Frozen: the derived fields are set once, here, as a frozen dataclass allows.
        derive = partial(object.__setattr__, self)
        nodes = [GroupNode(t.team_id, t.parent_id, self.counts.get(t.team_id, 0), t.invited)
                 for t in self.teams.values()]
        derive("scores_visibility", decide_visibility(nodes, self.info.min_group_size))
        derive("comments_visibility", decide_visibility(nodes, self.info.min_comment_group_size))
        derive("figures_visibility", None if self.tallies is None else _figure_visibility(
            self.info, nodes, self.tallies, self.scores_visibility.shown))
        derive("children", _children(self.teams))
        derive("_scores", ScoresCache())

    def scores(self, group_id: int, statements: bool = True) -> GroupScores | None:
        """``scores_for`` the group from the context's own tallies, scored once (full scores
        serve a request for a heatmap row's too)."""
        return self._scores.get(self, group_id, statements)

    def require_tallies(self) -> Mapping[int, Tally]:
        """``tallies``, of a context built with them (``reports.queries.load_context``'s are).

        :raise ValueError: for a context built without them.
        """
        if self.tallies is None:
            raise ValueError(f"the context of round {self.info.round_id} has no tallies")
        return self.tallies

    def subtree(self, group_id: int) -> list[int]:
        """Team ids in the group (ORGANISATION: every team)."""
        out, stack = [], [group_id]
        while stack:
            current = stack.pop()
            if current != ORGANISATION:
                out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def invited(self, group_id: int) -> int:
        return sum(self.teams[t].invited for t in self.subtree(group_id))

    def name(self, group_id: int, organisation: str) -> str:
        return organisation if group_id == ORGANISATION else self.teams[group_id].name

    def path(self, group_id: int, organisation: str) -> str:
        return organisation if group_id == ORGANISATION else self.teams[group_id].path


def _children(teams: Mapping[int, TeamRow]) -> dict[int, tuple[int, ...]]:
    """Each team's teams directly below it, and ORGANISATION's top ones, sorted by name."""
    children: dict[int, list[int]] = {ORGANISATION: []}
    for team in teams.values():
        children.setdefault(team.team_id, [])
    for team in sorted(teams.values(), key=lambda t: t.name.casefold()):
        parent = team.parent_id
        if parent is None or parent not in teams:
            parent = ORGANISATION
        children[parent].append(team.team_id)
    return {group_id: tuple(below) for group_id, below in children.items()}


class ScoresCache:
    """The scores of a context's groups from its own tallies, each scored once and shared by
    every report of the context (a closed round's context serves every report of the round
    in a worker).

    Safe to use from many threads: one lock guards the scores kept and the group tallies summed
    on the way, and is held while a group is scored, so that two requests for one group score
    it once. Scoring is pure Python, which runs one thread at a time anyway, so the lock costs
    no parallelism; what it returns is immutable.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scores: dict[tuple[int, bool], GroupScores | None] = {}
        self._groups: GroupTallies | None = None

    def get(self, ctx: RoundContext, group_id: int, statements: bool) -> GroupScores | None:
        """The group's scores in ``ctx`` (always the context that holds this cache)."""
        keys = [(group_id, True)] if statements else [(group_id, True), (group_id, False)]
        with self._lock:
            for key in keys:
                if key in self._scores:
                    return self._scores[key]
            if self._groups is None:
                self._groups = GroupTallies(ctx, ctx.tallies or {})
            scores = _score_group(ctx, group_id, self._groups, statements)
            self._scores[group_id, statements] = scores
            return scores


@dataclass(frozen=True)
class HeatmapRow:
    team_id: int
    name: str
    path: str
    #: None when the group is hidden; then no figure of it may be shown.
    scores: GroupScores | None
    #: 1 for a team directly below the report's group, 2 for a team below that, and so on.
    depth: int = 1

    @property
    def shown(self) -> bool:
        return self.scores is not None


@dataclass(frozen=True)
class StatementChange:
    statement: StatementScore
    change: Change


@dataclass(frozen=True)
class Ideas:
    question_key: str
    question: str
    texts: tuple[str, ...]

    def listed(self, limit: int | None) -> tuple[str, ...]:
        """The ideas a report lists: the first ``limit`` (None: every one; see IDEAS_LISTED)."""
        return self.texts if limit is None else self.texts[:limit]


@dataclass(frozen=True)
class TeamReport:
    organisation: str
    info: RoundInfo
    group_id: int
    name: str
    path: str
    invited: int
    #: None when the group is below the minimum (or hidden to protect another group).
    scores: GroupScores | None
    previous_round: str | None
    previous: GroupScores | None
    index_change: Change | None
    capability_changes: Mapping[str, Change]
    strengths: tuple[StatementScore, ...]
    gaps: tuple[StatementScore, ...]
    biggest_changes: tuple[StatementChange, ...]
    heatmap: tuple[HeatmapRow, ...]
    #: None when the group is below the comment minimum.
    ideas: tuple[Ideas, ...] | None
    #: The change of every statement with a mean in both rounds, by statement key.
    statement_changes: Mapping[str, Change] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return self.scores is not None

    @property
    def respondents(self) -> int | None:
        return self.scores.respondents if self.scores else None

    @property
    def response_rate(self) -> float | None:
        if self.scores is None or not self.invited:
            return None
        return self.scores.respondents / self.invited


def tally_by_team(instrument: Instrument, responses: Iterable[ResponseRow]) -> dict[int, Tally]:
    """The tally of each team's responses (teams without responses get none)."""
    tallies: dict[int, Tally] = {}
    layout = layout_of(instrument)
    for row in responses:
        team = tallies.get(row.team_id)
        if team is None:
            team = tallies[row.team_id] = Tally(layout)
        team.add_response(row.answers)
    return tallies


class GroupTallies:
    """The tally of each group (a team and every team below it), each summed once from the
    tallies of its teams, so that scoring every group of a large tree stays linear.

    Not for sharing between threads on its own: ``ScoresCache`` keeps one behind its lock.
    """

    def __init__(self, ctx: RoundContext, tallies: Mapping[int, Tally]):
        self.ctx, self.tallies = ctx, tallies
        self.layout = layout_of(ctx.info.instrument)
        self.sums: dict[int, Tally] = {}

    def __getitem__(self, group_id: int) -> Tally:
        if group_id not in self.sums:
            # Post-order without recursion: children are summed before their parent.
            stack = [(group_id, False)]
            while stack:
                current, ready = stack.pop()
                if current in self.sums:
                    continue
                children = self.ctx.children.get(current, ())
                if not ready:
                    stack.append((current, True))
                    stack.extend((c, False) for c in children if c not in self.sums)
                    continue
                parts = [self.sums[child] for child in children]
                own = self.tallies.get(current)
                if own is not None:
                    parts.append(own)
                self.sums[current] = sum_of(self.layout, parts)
        return self.sums[group_id]


def scores_for(ctx: RoundContext, group_id: int, tallies: Mapping[int, Tally] | GroupTallies,
               statements: bool = True) -> GroupScores | None:
    """The group's scores from its teams' tallies, or None when the confidentiality rules
    hide it (statements and capabilities hidden by rule 3 show no figures).

    ``statements=False``: a heatmap row's figures only (see ``score_tally``).
    """
    own = tallies.tallies if isinstance(tallies, GroupTallies) else tallies
    if own is ctx.tallies:
        return ctx.scores(group_id, statements)
    groups = tallies if isinstance(tallies, GroupTallies) else GroupTallies(ctx, tallies)
    return _score_group(ctx, group_id, groups, statements)


def _score_group(ctx: RoundContext, group_id: int, groups: GroupTallies,
                 statements: bool) -> GroupScores | None:
    if not ctx.scores_visibility.is_shown(group_id):
        return None
    scores = score_tally(ctx.info.instrument, groups[group_id], statements)
    if ctx.figures_visibility is None:
        return scores
    return hide_figures(scores, ctx.figures_visibility.hidden_statements(group_id),
                        ctx.figures_visibility.hidden_capabilities(group_id))


def _figure_visibility(info: RoundInfo, nodes: Sequence[GroupNode],
                       tallies: Mapping[int, Tally], shown: frozenset[int]) -> FigureVisibility:
    """Rule 3 of the confidentiality rules, from the teams' tallies: how many of each team's
    people answered each statement."""
    capabilities = {c.key: [s.key for s in c.statements] for c in info.instrument.capabilities}
    layout = layout_of(info.instrument)
    statements = {team_id: {key: sum(t.values[at:at + POINTS])
                            for key, at in layout.statements.items()}
                  for team_id, t in tallies.items()}
    return decide_figure_visibility(nodes, capabilities, statements, info.min_group_size, shown)


def rank_statements(scores: GroupScores) -> tuple[tuple[StatementScore, ...], tuple[StatementScore, ...]]:
    """(three strongest, three weakest) statements by favourable share, then mean."""
    answered = [s for s in scores.statements if s.respondents]
    ordered = sorted(answered, key=lambda s: (s.distribution.favourable, s.mean, s.key), reverse=True)
    strengths = tuple(ordered[:TOP_N])
    rest = [s for s in reversed(ordered) if s not in strengths]
    return strengths, tuple(rest[:TOP_N])


def build_report(*, organisation: str, ctx: RoundContext, group_id: int,
                 tallies: Mapping[int, Tally], comments: Sequence[CommentRow],
                 previous_ctx: RoundContext | None = None,
                 previous_tallies: Mapping[int, Tally] | None = None) -> TeamReport:
    """Assemble every figure of one group's report under the confidentiality rules.

    ``tallies`` (by team, see ``tally_by_team``) and ``comments`` must cover at least the
    group's teams; other teams are ignored. ``previous_ctx`` is the same group's previous
    round, if any, with its ``previous_tallies``.
    """
    groups = GroupTallies(ctx, tallies)
    scores = scores_for(ctx, group_id, groups)
    previous = None
    if previous_ctx is not None and _exists(previous_ctx, group_id):
        previous = scores_for(previous_ctx, group_id, previous_tallies or {})
    index_change: Change | None = None
    capability_changes: dict[str, Change] = {}
    biggest: tuple[StatementChange, ...] = ()
    statement_changes: dict[str, Change] = {}
    if scores and previous:
        if scores.index_estimate and previous.index_estimate:
            index_change = change(scores.index_estimate, previous.index_estimate)
        for capability in scores.capabilities:
            try:
                before = previous.capability(capability.key)
            except StopIteration:
                continue
            if capability.estimate and before.estimate:
                capability_changes[capability.key] = change(capability.estimate, before.estimate)
        before_statements = {s.key: s for s in previous.statements}
        changes = [
            StatementChange(s, change(s.estimate, earlier.estimate))
            for s in scores.statements
            if s.estimate and (earlier := before_statements.get(s.key)) and earlier.estimate
        ]
        biggest = tuple(sorted(changes, key=lambda c: (-abs(c.change.delta), c.statement.key))[:TOP_N])
        statement_changes = {c.statement.key: c.change for c in changes}
    strengths, gaps = rank_statements(scores) if scores else ((), ())
    heatmap = tuple(
        HeatmapRow(team_id, ctx.teams[team_id].name, ctx.teams[team_id].path,
                   scores_for(ctx, team_id, groups, statements=False), depth)
        for team_id, depth in _descendants(ctx, group_id)
    )
    ideas = None
    if ctx.comments_visibility.is_shown(group_id):
        members = set(ctx.subtree(group_id))
        ideas = tuple(
            Ideas(q.key, q.text, tuple(present_comments(
                [(c.comment_id, c.text) for c in comments
                 if c.team_id in members and c.question_key == q.key],
                seed=f"{ctx.info.round_id}:{group_id}:{q.key}",
            )))
            for q in ctx.info.instrument.questions
        )
    return TeamReport(
        organisation=organisation, info=ctx.info, group_id=group_id,
        name=ctx.name(group_id, organisation), path=ctx.path(group_id, organisation),
        invited=ctx.invited(group_id), scores=scores,
        previous_round=(previous_ctx.info.name
                        if previous_ctx is not None and previous is not None else None),
        previous=previous, index_change=index_change, capability_changes=capability_changes,
        strengths=strengths, gaps=gaps, biggest_changes=biggest, heatmap=heatmap, ideas=ideas,
        statement_changes=statement_changes,
    )


def _descendants(ctx: RoundContext, group_id: int, depth: int = 1) -> Iterator[tuple[int, int]]:
    """Every team below the group with its depth, each followed by the teams below it."""
    for child in ctx.children.get(group_id, []):
        yield child, depth
        yield from _descendants(ctx, child, depth + 1)


def _exists(ctx: RoundContext, group_id: int) -> bool:
    return group_id == ORGANISATION or group_id in ctx.teams
