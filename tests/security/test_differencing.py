"""The differencing attack: everything leaders and HR can see must not reveal anyone's answers.

An organisation with small and uneven teams answers two rounds. Between them one person moves
from South to Depot, one joins North and one leaves Field Service. Some people skip statements
(and a few skip most of the survey), as real people do.

    Operations (2 people of its own)
      Customer Care
        North (4, then 5)       a team below the minimum beside a bigger sibling
        South (7, one never answers; then 6)
      Depot (3, then 4)
      Field Service (6, then 5)
    Sales (1 of its own)
      Inside Sales (5)
      Key Accounts (8; one does not answer the second round)
    Finance (4)
    People (9)

Every leader (one per team, and one who leads Depot and Key Accounts) and HR then collect every
figure they can: each dashboard page of each round they may open (the report behind the page,
its heatmap of the teams below and the previous round's figures), the aggregates CSV of each of
those pages, the whole organisation's CSV from ``flask report``, and PDFs (their text, read with pypdf, and
the attached CSV). Each figure becomes a linear fact for ``linear_attack``, over the counts of each
answer to each statement, with the coefficients of its definition in analysis/scores.py: a
statement's counts, sum and sum of squares (its interval), a capability's answers, counts and sum
(its mean × answers), the index (Σ capability sum / (answers × capabilities)). Every fact is
checked against the raw answers, so a figure that is not the function of the answers its
definition says fails; so does an interval of a capability or of the index that is not the
documented function of its statements' (it carries no linear information of its own). Every
rounded figure in a CSV or PDF is checked against the exact facts, so that the facts are exactly
what was published. Then the attack runs: the named strategies and the generic solver.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from fractions import Fraction

import pytest
from flask import template_rendered
from pypdf import PdfReader
from sqlalchemy import select

from surveyapp.analysis import report as report_module
from surveyapp.analysis.confidentiality import ORGANISATION, FigureVisibility, Visibility
from surveyapp.analysis.report import TeamReport
from surveyapp.analysis.scores import GroupScores
from surveyapp.analysis.stats import t_quantile
from surveyapp.clock import today
from surveyapp.extensions import db as _db
from surveyapp.instrument import load_default
from surveyapp.models import Invitation, Person, Role, Round, Team, utcnow
from surveyapp.reports.pdf import pdf_inputs
from surveyapp.reports.queries import forget_contexts, load_context
from surveyapp.rounds.operations import close_round, create_round, launch_round
from surveyapp.survey.storage import save_draft, submit_response

from .conftest import signed_in
from .linear_attack import Attack, Cell, Fact, Leak

# slow: attacks and fuzzing, left to the full run by scripts/test --quick.
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


INSTRUMENT = load_default()
CAPABILITIES = {c.key: c for c in INSTRUMENT.capabilities}
ORGANISATION_NAME = "Northwind Services"
#: (team, parent, people in the first round)
TEAMS = [
    ("Operations", None, 2), ("Customer Care", "Operations", 0), ("North", "Customer Care", 4),
    ("South", "Customer Care", 7), ("Depot", "Operations", 3), ("Field Service", "Operations", 6),
    ("Sales", None, 1), ("Inside Sales", "Sales", 5), ("Key Accounts", "Sales", 8),
    ("Finance", None, 4), ("People", None, 9),
]
#: Published means are floats: a sum is read back as the nearest multiple of 1/840 of their
#: product with the answers (exact for integer sums; 840 = lcm of 1..8, as fine as any fraction
#: a per-person figure would need, so that such a figure shows as off, not as rounded away).
DENOMINATOR = 840
POINTS = range(1, 6)


# --- the organisation and its two rounds -------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """One stored response, as the test knows it (the database does not link it to anyone)."""

    key: tuple[int, int]  # (round id, number)
    round_id: int
    team_id: int
    answers: dict[str, int]
    comments: dict[str, str]


@dataclass
class History:
    rounds: list[int]
    round_names: dict[str, int]
    teams: dict[str, int]
    leaders: dict[str, str]  # label -> e-mail
    responses: list[Submitted] = field(default_factory=list)
    #: round id -> group id -> the teams in it, in that round's frozen tree.
    groups: dict[int, dict[int, frozenset[int]]] = field(default_factory=dict)
    #: round id -> team path (and the organisation's name) -> group id.
    paths: dict[int, dict[str, int]] = field(default_factory=dict)
    minimums: dict[tuple[str, int], int] = field(default_factory=dict)


#: A statement most people leave out (one they find hard to answer).
OFTEN_SKIPPED = INSTRUMENT.capabilities[-1].statements[-1].key


def answers_of(rng: random.Random, leaning: int, sparse: bool) -> dict[str, int]:
    """A person's answers: mostly near their leaning, some statements skipped (one by most
    people); a sparse respondent answers the first two capabilities and a statement here and
    there."""
    answers = {}
    for number, capability in enumerate(INSTRUMENT.capabilities):
        for statement in capability.statements:
            skip = 0.85 if sparse and number >= 2 else 0.08
            if statement.key == OFTEN_SKIPPED:
                skip = 0.8
            if rng.random() >= skip:
                answers[statement.key] = min(5, max(1, leaning + rng.choice((-1, 0, 0, 1))))
    return answers


def answer_round(db, round_id: int, number: int, skip_people: set[int],
                 history: History) -> None:
    rng = random.Random(f"round-{number}")
    invitations = db.session.scalars(select(Invitation).where(Invitation.round_id == round_id)
                                     .order_by(Invitation.person_id)).all()
    for index, invitation in enumerate(invitations):
        if invitation.person_id in skip_people:
            continue
        answers = answers_of(rng, rng.choice((2, 3, 4, 4, 5)), sparse=index % 11 == 3)
        comments = {q.key: f"Idea {number}-{index} ({q.key})" for q in INSTRUMENT.questions
                    if rng.random() < 0.5}
        save_draft(invitation, answers, comments)
        submit_response(invitation)
        history.responses.append(Submitted((round_id, index), round_id, invitation.team_id,
                                           answers, comments))
    db.session.commit()


@pytest.fixture
def history(app, db, make_team, make_person, make_user) -> History:
    teams: dict[str, Team] = {}
    people: dict[str, list[Person]] = {}
    for name, parent, size in TEAMS:
        teams[name] = make_team(name, parent=teams.get(parent))
        people[name] = [make_person(team=teams[name]) for _ in range(size)]
    leaders = {name: make_user(Role.LEADER, teams=[team]).email for name, team in teams.items()}
    leaders["Depot and Key Accounts"] = make_user(
        Role.LEADER, teams=[teams["Depot"], teams["Key Accounts"]]).email
    leaders["HR"] = make_user(Role.HR).email
    history = History([], {}, {n: t.id for n, t in teams.items()}, leaders)

    now = today()
    first = create_round(name="Spring", teams=[teams["Operations"], teams["Sales"],
                                                teams["Finance"], teams["People"]],
                         opens_on=now, closes_on=now + timedelta(days=14), today=now)
    launch_round(first, today=now)
    db.session.commit()
    answer_round(db, first.id, 1, {people["South"][0].id}, history)
    close_round(first)
    db.session.commit()

    # Between the rounds: one moves from South to Depot, one joins North, one leaves Field.
    people["South"][1].team = teams["Depot"]
    make_person(team=teams["North"])
    people["Field Service"][0].archived_at = utcnow()
    db.session.commit()

    second = create_round(name="Autumn", teams=[teams["Operations"], teams["Sales"],
                                                 teams["Finance"], teams["People"]],
                          opens_on=now, closes_on=now + timedelta(days=14), today=now,
                          min_comment_group_size=6)
    launch_round(second, today=now)
    db.session.commit()
    answer_round(db, second.id, 2, {people["Key Accounts"][0].id}, history)
    close_round(second)
    db.session.commit()

    for round_ in (first, second):
        ctx = load_context(round_)
        history.rounds.append(round_.id)
        history.round_names[round_.name] = round_.id
        history.groups[round_.id] = {g: frozenset(ctx.subtree(g))
                                     for g in [ORGANISATION, *ctx.teams]}
        history.paths[round_.id] = {ctx.path(g, ORGANISATION_NAME): g
                                    for g in [ORGANISATION, *ctx.teams]}
        history.minimums[("scores", round_.id)] = round_.min_group_size
        history.minimums[("ideas", round_.id)] = round_.min_comment_group_size
    db.session.rollback()
    return history


# --- figures as facts --------------------------------------------------------------------------


def terms(history: History, round_id: int, group_id: int,
          weights: dict[str, Fraction]) -> dict[Cell, Fraction]:
    """The cells of the group's teams, each item with its weight."""
    return {(round_id, team, item): weight for team in history.groups[round_id][group_id]
            for item, weight in weights.items()}


def exact(value: float) -> Fraction:
    return Fraction(round(value * DENOMINATOR), DENOMINATOR)


def answer(key: str, value: int) -> str:
    """The item of one statement's count of one answer."""
    return f"s:{key}={value}"


CAPABILITY_STATEMENTS = {c.key: [s.key for s in c.statements] for c in INSTRUMENT.capabilities}


def score_facts(history: History, round_id: int, group_id: int, scores: GroupScores | None,
                source: str) -> Iterator[Fact]:
    """Every figure of a shown group's scores (a hidden group publishes none), as the linear
    function of the answer counts that analysis/scores.py defines it to be."""
    if scores is None:
        return

    def fact(item: str, weights: dict[str, Fraction], value) -> Fact:
        return Fact("answers", round_id, group_id, item,
                    terms(history, round_id, group_id, weights), Fraction(value), source)

    yield Fact("responses", round_id, group_id, "", terms(history, round_id, group_id,
                                                          {"": Fraction(1)}),
               Fraction(scores.respondents), source)
    capability_sums = {}
    for c in scores.capabilities:
        keys = CAPABILITY_STATEMENTS[c.key]
        if c.estimate is not None:  # a capability without an estimate shows nothing
            # Its answers, counts and mean pool its statements' answers, whether or not the
            # output lists its statements (a heatmap row does not).
            yield fact(f"c:{c.key} answers", {answer(k, v): Fraction(1) for k in keys
                                             for v in POINTS}, c.answers)
            for v in POINTS:
                yield fact(f"c:{c.key}={v}", {answer(k, v): Fraction(1) for k in keys},
                           c.distribution.counts[v - 1])
            capability_sums[c.key] = exact(c.mean * c.answers)
            yield fact(f"c:{c.key} sum", {answer(k, v): Fraction(v) for k in keys for v in POINTS},
                       capability_sums[c.key])
        for s in c.statements:
            if s.estimate is None:
                continue
            for v in POINTS:
                yield fact(answer(s.key, v), {answer(s.key, v): Fraction(1)},
                           s.distribution.counts[v - 1])
            n, total = s.respondents, exact(s.mean * s.respondents)
            yield fact(f"s:{s.key} sum", {answer(s.key, v): Fraction(v) for v in POINTS}, total)
            if s.estimate.standard_error is not None:
                # The interval gives the sum of squares: SE² = (Q − S²/n) / (n (n − 1)).
                squares = (n - 1) * n * s.estimate.standard_error ** 2 + float(total) ** 2 / n
                yield fact(f"s:{s.key} squares",
                           {answer(s.key, v): Fraction(v * v) for v in POINTS}, exact(squares))
    if scores.index is not None:
        # Σ_c sum_c / (answers_c × K): the capabilities' answers are published beside it.
        k = len(scores.capabilities)
        weights = {answer(key, v): Fraction(v, c.answers * k) for c in scores.capabilities
                   for key in CAPABILITY_STATEMENTS[c.key] for v in POINTS}
        value = sum(capability_sums[c.key] / (c.answers * k) for c in scores.capabilities)
        assert abs(float(value) - scores.index) < 1e-9, (source, group_id, "index")
        yield fact("index", weights, value)


@dataclass(frozen=True)
class Shown:
    """A group's published scores, kept to check the intervals that are no linear fact."""

    round_id: int
    group_id: int
    scores: GroupScores
    source: str


def report_facts(history: History, report: TeamReport, source: str,
                 shown: list[Shown] | None = None) -> list[Fact]:
    """The facts behind a page or PDF: the group, the teams in its heatmap, its previous round,
    and the number of improvement ideas per question. ``shown`` collects the scores."""
    round_id, group = report.info.round_id, report.group_id
    parts = [(round_id, group, report.scores, source)]
    parts += [(round_id, row.team_id, row.scores, source + " heatmap") for row in report.heatmap]
    if report.previous is not None:
        parts.append((history.round_names[report.previous_round], group, report.previous,
                      source + " previous round"))
    facts = []
    for part in parts:
        facts += score_facts(history, *part)
        if shown is not None and part[2] is not None:
            shown.append(Shown(*part))
    for idea in report.ideas or ():
        key = "q:" + idea.question_key
        facts.append(Fact("ideas", round_id, group, key,
                          terms(history, round_id, group, {key: Fraction(1)}),
                          Fraction(len(idea.texts)), source))
    return facts


def ground_truth(history: History) -> tuple[dict[Cell, frozenset], dict[Cell, Fraction]]:
    """(the responses behind each non-empty cell, each cell's value).

    A statement's cells (one per answer on the scale) have as contributors everyone in the team
    who answered the statement, whatever they answered: a count of 5s that is zero still says
    something about them.
    """
    people: dict[Cell, set] = defaultdict(set)
    values: dict[Cell, Fraction] = defaultdict(Fraction)

    def add(cell: Cell, key, value: int) -> None:
        people[cell].add(key)
        values[cell] += value

    for r in history.responses:
        add((r.round_id, r.team_id, ""), r.key, 1)
        for q in INSTRUMENT.questions:
            add((r.round_id, r.team_id, "q:" + q.key), r.key, int(q.key in r.comments))
        for key, given in r.answers.items():
            for v in POINTS:
                add((r.round_id, r.team_id, answer(key, v)), r.key, int(given == v))
    return {c: frozenset(p) for c, p in people.items()}, dict(values)


def check_against_answers(facts: list[Fact], truth: dict[Cell, Fraction]) -> None:
    """Every fact is its coefficients times its cells' true values: the attack's model is the
    app's."""
    for fact in facts:
        total = sum((k * truth.get(cell, 0) for cell, k in fact.cells.items()), Fraction(0))
        assert total == fact.value, (fact.source, fact.group_id, fact.item, fact.value, total)


def check_intervals(history: History, shown: list[Shown], truth: dict[Cell, Fraction]) -> None:
    """The interval of each capability and of the index is the documented function of its
    statements' answers (analysis/scores.py): it then carries nothing the statements' figures
    do not."""
    for part in shown:
        errors, fewest = [], []
        for c in part.scores.capabilities:
            if c.estimate is None:
                continue
            n_c, spread, least = 0, 0.0, []
            for key in CAPABILITY_STATEMENTS[c.key]:
                counts = [sum(truth.get((part.round_id, team, answer(key, v)), 0)
                              for team in history.groups[part.round_id][part.group_id])
                          for v in POINTS]
                n = sum(counts)
                if not n:
                    continue
                s = sum(v * x for v, x in zip(POINTS, counts, strict=True))
                q = sum(v * v * x for v, x in zip(POINTS, counts, strict=True))
                n_c += n
                least.append(n)
                spread += float((n * q - s * s) / (n - 1)) ** 0.5 if n > 1 else float("nan")
            se = spread / n_c
            where = (part.source, part.group_id, c.key)
            if min(least) < 2:
                assert c.estimate.standard_error is None, where
                continue
            half = t_quantile(0.975, min(least) - 1) * se
            assert abs(c.estimate.standard_error - se) < 1e-9, where
            assert abs(c.estimate.ci_high - c.estimate.mean - half) < 1e-9, where
            errors.append(se)
            fewest.append(min(least))
        index = part.scores.index_estimate
        if part.scores.index is not None and len(errors) == len(part.scores.capabilities):
            se = sum(errors) / len(errors)
            half = t_quantile(0.975, min(fewest) - 1) * se
            assert abs(index.standard_error - se) < 1e-9, (part.source, part.group_id)
            assert abs(index.ci_high - index.mean - half) < 1e-9, (part.source, part.group_id)


# --- collecting what each viewer sees ----------------------------------------------------------


@contextmanager
def rendered_reports(app) -> Iterator[list[TeamReport]]:
    """The TeamReport behind every page or PDF rendered meanwhile."""
    seen: list[TeamReport] = []

    def record(sender, template, context, **extra):
        if isinstance(context.get("report"), TeamReport):
            seen.append(context["report"])

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


@dataclass
class Collection:
    facts: list[Fact] = field(default_factory=list)
    pages: int = 0
    #: Every shown group's scores, for check_intervals.
    shown: list[Shown] = field(default_factory=list)
    csv_figures: int = 0
    pdfs: int = 0
    pdf_figures: int = 0


def visible_groups(history: History, viewer: str, round_id: int) -> list[int]:
    groups = history.groups[round_id]
    if viewer == "HR":
        return list(groups)
    led = [history.teams[name] for name in viewer.split(" and ")]
    return [g for g in groups if g != ORGANISATION and any(g in groups[t] for t in led)]


def collect(app, history: History, viewers: list[str], *, exports: bool = True) -> Collection:
    """Every figure ``viewers`` can see (with ``exports``: also in CSVs, PDFs and the CLI)."""
    found = Collection()
    exact: dict[tuple[str, int, int, str], Fact] = {}
    csv_texts: list[tuple[int, str, str]] = []
    for viewer in viewers:
        client = signed_in(app, history.leaders[viewer])
        for round_id in history.rounds:
            for group in visible_groups(history, viewer, round_id):
                url = f"/reports/{round_id}/{group}"
                with rendered_reports(app) as reports:
                    page = client.get(url)
                assert page.status_code == 200, (viewer, url)
                (report,) = reports
                found.pages += 1
                found.facts += report_facts(history, report, f"{viewer}'s page {url}",
                                            found.shown)
                if exports:
                    text = client.get(url + "/aggregates.csv").get_data(as_text=True)
                    csv_texts.append((round_id, text.lstrip("\ufeff"), f"{viewer}'s CSV {url}"))
    if not exports:
        return found
    # The PDF of every group in every round, from the data that feeds it (report and the
    # attached CSV); a few real PDFs below check that this is what a PDF shows.
    for round_id in history.rounds:
        round_ = _db.session.get(Round, round_id)
        for group in history.groups[round_id]:
            inputs = pdf_inputs(round_, group, ORGANISATION_NAME)
            found.facts += report_facts(history, inputs.report, f"PDF data r{round_id}/{group}",
                                        found.shown)
            csv_texts.append((round_id, inputs.aggregates, f"PDF data r{round_id}/{group}"))
        _db.session.rollback()
    for fact in found.facts:
        if fact.family in ("responses", "answers"):
            exact[(fact.family, fact.round_id, fact.group_id, fact.item)] = fact
    runner = app.test_cli_runner()
    for round_id in history.rounds:
        result = runner.invoke(args=["report", str(round_id), "--format", "csv"])
        assert result.exit_code == 0, result.output
        csv_texts.append((round_id, result.stdout, f"flask report {round_id} --format csv"))
    for round_id, text, source in csv_texts:
        found.csv_figures += check_csv(history, round_id, text, exact, source)
    check_real_pdfs(app, history, found, exact)
    return found


def percent(counts: list[Fraction], values: range) -> str:
    total = sum(counts)
    return f"{float(sum(counts[v - 1] for v in values) / total) * 100:.1f}" if total else "0.0"


def check_csv(history: History, round_id: int, text: str,
              exact: dict[tuple[str, int, int, str], Fact], source: str) -> int:
    """Every figure of an aggregates CSV is an exact fact, rounded; a row without figures
    belongs to a hidden group. Returns the number of figures checked."""
    names = {c.name: c.key for c in INSTRUMENT.capabilities}
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["team", "capability", "respondents", "answers", "mean", "favourable_pct",
                       "neutral_pct", "unfavourable_pct", "notice"], source
    checked = 0
    close = Fraction(5, 1000) + Fraction(1, 10**9)

    def value(group: int, item: str) -> Fraction:
        return exact[("answers", round_id, group, item)].value

    for path, capability, respondents, answers, mean, fav, neu, unf, notice in rows[1:]:
        assert notice == "", source  # no survey links were exported in these rounds
        group = history.paths[round_id][path]
        figures = [x for x in (respondents, answers, mean, fav, neu, unf) if x]
        responses = exact.get(("responses", round_id, group, ""))
        if capability == "index":
            if responses is None:
                assert not figures, (source, path, capability)
                continue
            assert int(respondents) == responses.value, (source, path)
            if mean:
                keys = [f"c:{c.key}" for c in INSTRUMENT.capabilities]
                assert int(answers) == sum(value(group, f"{k} answers") for k in keys)
                assert abs(float(mean) - value(group, "index")) <= close, (source, path, mean)
                counts = [sum(value(group, f"{k}={v}") for k in keys) for v in POINTS]
                assert (fav, neu, unf) == (percent(counts, range(4, 6)),
                                           percent(counts, range(3, 4)),
                                           percent(counts, range(1, 3))), (source, path)
            else:
                assert not (answers or fav or neu or unf), (source, path)
            checked += len(figures)
            continue
        key = "c:" + names[capability]
        if ("answers", round_id, group, f"{key} sum") not in exact:
            assert not figures, (source, path, capability)
            continue
        n, total = value(group, f"{key} answers"), value(group, f"{key} sum")
        assert int(respondents) == responses.value, (source, path, capability)
        assert int(answers) == n, (source, path, capability)
        assert abs(float(mean) - total / n) <= close, (source, path, capability, mean)
        counts = [value(group, f"{key}={v}") for v in POINTS]
        assert (fav, neu, unf) == (percent(counts, range(4, 6)), percent(counts, range(3, 4)),
                                   percent(counts, range(1, 3))), (source, path, capability)
        checked += len(figures)
    return checked


TWO_DECIMALS = re.compile(r"(?<![\d.])\d+\.\d\d(?![\d])")


def allowed_numbers(report: TeamReport) -> set[str]:
    """Every two-decimal number the report may print."""
    numbers: set[float] = set()
    scores = report.scores
    if scores is not None:
        numbers.add(scores.index or 0)
        for estimate in [scores.index_estimate] + [c.estimate for c in scores.capabilities]:
            if estimate is not None:
                numbers |= {estimate.mean, estimate.ci_low or 0, estimate.ci_high or 0}
        numbers |= {s.mean or 0 for s in scores.statements}
    changes = [report.index_change, *report.capability_changes.values(),
               *report.statement_changes.values(), *(c.change for c in report.biggest_changes)]
    numbers |= {abs(c.delta) for c in changes if c is not None}
    return {f"{abs(x):.2f}" for x in numbers}


def check_real_pdfs(app, history: History, found: Collection,
                    exact: dict[tuple[str, int, int, str], Fact]) -> None:
    """Download a few PDFs (a hidden team's, a leader's shown team's, the organisation's): every
    figure in their text comes from their report, and their attachment is a checked CSV."""
    latest = history.rounds[-1]
    samples = [("Depot", history.teams["Depot"], False),
               ("Customer Care", history.teams["Customer Care"], True), ("HR", ORGANISATION, True)]
    for viewer, group, shown in samples:
        client = signed_in(app, history.leaders[viewer])
        with rendered_reports(app) as reports:
            response = client.get(f"/reports/{latest}/{group}/report.pdf")
        assert response.status_code == 200
        (report,) = reports
        assert report.shown == shown, (viewer, group)  # Depot: 4 responses in the second round
        found.facts += report_facts(history, report, f"{viewer}'s PDF r{latest}/{group}",
                                    found.shown)
        reader = PdfReader(io.BytesIO(response.data))
        text = "\n".join(page.extract_text() for page in reader.pages)
        printed = TWO_DECIMALS.findall(text)
        unexplained = set(printed) - allowed_numbers(report)
        assert not unexplained, (viewer, group, sorted(unexplained))
        if report.scores is None:
            assert not printed, (viewer, group, printed)
        (attached,) = reader.attachments["aggregates.csv"]
        found.csv_figures += check_csv(history, latest, attached.decode("utf-8"), exact,
                                       f"{viewer}'s PDF attachment")
        found.pdfs += 1
        found.pdf_figures += len(printed)


# --- the attack --------------------------------------------------------------------------------


def attack(history: History, found: Collection) -> tuple[Attack, list[Leak]]:
    contributors, truth = ground_truth(history)
    check_against_answers(found.facts, truth)
    check_intervals(history, found.shown, truth)

    def minimum(family: str, round_id: int) -> int:
        return history.minimums[("ideas" if family == "ideas" else "scores", round_id)]

    attack = Attack(found.facts, contributors, minimum)
    leaks = [leak for leak in named_strategies(attack, history) if leak]
    leaks += attack.solve()
    for leak in leaks:  # a leak's value is what the answers say: the model is right
        assert sum(k * truth[cell] for cell, k in leak.result.items()) == leak.value, leak
    return attack, leaks


def named_strategies(attack: Attack, history: History) -> Iterator[Leak | None]:
    by_key: dict[tuple[str, int, str], dict[int, Fact]] = defaultdict(dict)
    for fact in attack.unique:
        by_key[(fact.family, fact.round_id, fact.item)][fact.group_id] = fact
    for (family, round_id, item), groups in by_key.items():
        for group, fact in groups.items():
            # A figure on its own: a statement that few answered.
            yield attack.combine("a figure on its own", [(1, fact)], f"{group} {item}")
            inside = [g for g in groups
                      if g != group and groups[g].cells.keys() < fact.cells.keys()]
            # A group minus the largest groups shown inside it (its teams, or for the whole
            # organisation its top-level teams).
            frontier = [g for g in inside
                        if not any(groups[g].cells.keys() < groups[h].cells.keys()
                                   for h in inside)]
            if frontier:
                name = ("the organisation minus the teams shown in it" if group == ORGANISATION
                        else "a group minus the groups shown below it")
                yield attack.combine(name, [(1, fact)] + [(-1, groups[g]) for g in frontier],
                                     f"{group} - {frontier}")
            # Any two nested groups: a difference of one (or a few) respondents.
            for g in inside:
                yield attack.combine("a group minus one group inside it",
                                     [(1, fact), (-1, groups[g])], f"{group} - {g}")
        if family == "answers" and item.startswith("c:") and item.endswith(" sum"):
            # A capability's sum minus all but one of its statements' sums.
            statements = [f"s:{s.key} sum" for s in CAPABILITIES[item[2:-4]].statements]
            for group, fact in groups.items():
                parts = [by_key[(family, round_id, s)].get(group) for s in statements]
                for left_out in range(len(statements)):
                    others = [p for i, p in enumerate(parts) if i != left_out]
                    if all(others):
                        yield attack.combine("a capability minus its other statements",
                                             [(1, fact)] + [(-1, p) for p in others],
                                             f"{group} {item} - {statements[:left_out]}...")
    # Across rounds: the same group's figure now minus before (one joined, left or moved).
    first, second = history.rounds
    for (family, round_id, item), groups in by_key.items():
        if round_id != second:
            continue
        for group, fact in groups.items():
            before = by_key.get((family, first, item), {}).get(group)
            if before is not None:
                yield attack.combine("a group in this round minus the round before",
                                     [(1, fact), (-1, before)], f"{group} {item}")


def explain(leaks: list[Leak]) -> str:
    return "\n".join(str(leak) for leak in leaks[:20]) + (
        f"\n... and {len(leaks) - 20} more" if len(leaks) > 20 else "")


VIEWERS = [name for name, _parent, _size in TEAMS] + ["Depot and Key Accounts", "HR"]


@pytest.mark.slow
def test_nobody_can_be_recovered_from_everything_leaders_and_hr_see(app, db, history):
    found = collect(app, history, VIEWERS)
    attacked, leaks = attack(history, found)
    assert not leaks, f"{len(leaks)} ways to recover fewer than the minimum:\n" + explain(leaks)
    # The attack covered what it should: every viewer's pages, the exports, and each strategy.
    assert found.pages >= 50 and found.pdfs == 3 and found.pdf_figures > 50
    assert found.csv_figures > 1000
    assert len(attacked.unique) > 2000
    items = {f.item.split(" ")[0].split("=")[0] for f in attacked.unique}
    assert {"index", "c:awareness", "s:awareness.impact"} <= items
    for strategy in ("a figure on its own", "a group minus the groups shown below it",
                     "the organisation minus the teams shown in it",
                     "a group minus one group inside it", "a capability minus its other statements",
                     "a group in this round minus the round before", "any linear combination"):
        assert attacked.attempts[strategy] > 0, strategy


def replace_in_report(monkeypatch, name: str, function) -> None:
    """Replace a rule or figure of analysis/report.py for this test, and forget the contexts
    built (and figures scored) under the real one: a closed round's context is kept by the
    round alone."""
    monkeypatch.setattr(report_module, name, function)
    forget_contexts()


def primary_suppression_only(nodes, minimum) -> Visibility:
    """decide_visibility without its complementary rule: groups below the minimum are hidden."""
    full = ORIGINAL_DECIDE(nodes, minimum)
    return Visibility(full.minimum, full.totals,
                      frozenset(g for g, n in full.totals.items() if n >= minimum))


ORIGINAL_DECIDE = report_module.decide_visibility


@pytest.mark.slow
def test_the_attack_finds_the_leak_when_complementary_suppression_is_off(app, db, history,
                                                                          monkeypatch):
    replace_in_report(monkeypatch, "decide_visibility", primary_suppression_only)
    found = collect(app, history, ["Customer Care", "HR"], exports=False)
    _, leaks = attack(history, found)
    # Customer Care (North and South) minus South is North: four people, below the minimum.
    north = history.teams["North"]
    assert any(leak.strategy == "a group minus the groups shown below it"
               and {c[1] for c in leak.result} == {north} for leak in leaks), explain(leaks)
    assert any(leak.strategy == "any linear combination" for leak in leaks), explain(leaks)


def every_figure_everywhere(nodes, capabilities, answered, minimum, shown):
    """Rule 3 switched off: every statement and capability shown wherever its group is."""
    return FigureVisibility({k: frozenset(shown) for keys in capabilities.values() for k in keys},
                            {c: frozenset(shown) for c in capabilities})


@pytest.mark.slow
def test_the_attack_finds_the_leak_when_statements_are_shown_whoever_answered(app, db, history,
                                                                             monkeypatch):
    replace_in_report(monkeypatch, "decide_figure_visibility", every_figure_everywhere)
    found = collect(app, history, ["HR"], exports=False)
    _, leaks = attack(history, found)
    # People skip statements: some statements of a shown group rest on fewer than five
    # answers, shown outright or left over when a group's teams are subtracted from it.
    strategies = {leak.strategy for leak in leaks}
    assert {"a figure on its own", "a group minus the groups shown below it",
            "any linear combination"} <= strategies, explain(leaks)
    assert any(leak.family == "answers" and len(leak.contributors) == 1 for leak in leaks)


def capabilities_beside_hidden_statements(nodes, capabilities, answered, minimum, shown):
    """Rule 3 for statements only: every capability shown wherever its group is."""
    figures = ORIGINAL_FIGURES(nodes, capabilities, answered, minimum, shown)
    return FigureVisibility(figures.statements, {c: frozenset(shown) for c in capabilities})


ORIGINAL_FIGURES = report_module.decide_figure_visibility


@pytest.mark.slow
def test_the_attack_finds_the_leak_when_a_capability_is_shown_beside_a_hidden_statement(
        app, db, history, monkeypatch):
    replace_in_report(monkeypatch, "decide_figure_visibility",
                      capabilities_beside_hidden_statements)
    found = collect(app, history, ["HR"], exports=False)
    attacked, leaks = attack(history, found)
    # Most people skip OFTEN_SKIPPED: where it is hidden, its capability's figures minus its
    # other statements' give its few answers away.
    hidden = "s:" + OFTEN_SKIPPED + "="
    for strategy in ("a capability minus its other statements", "any linear combination"):
        assert any(leak.strategy == strategy and all(c[2].startswith(hidden) for c in leak.result)
                   for leak in leaks), (strategy, explain(leaks))
    # The capability's figures beside a hidden statement are facts of their own for the solver.
    assert len(attacked.independent) > len({(f.round_id, f.group_id, f.item)
                                             for f in attacked.unique
                                             if f.item.startswith("s:") and "=" in f.item})


def off_by_a_partial_answer(scores: GroupScores | None) -> GroupScores | None:
    """Each capability's mean as if one person's answers to three of its statements had been
    weighed as a score of their own: off the pooled mean by a twelfth of an answer."""
    if scores is None:
        return None
    capabilities = tuple(
        replace(c, estimate=replace(c.estimate, mean=c.estimate.mean + 1 / (12 * c.answers)))
        if c.estimate else c for c in scores.capabilities)
    if scores.index is None:
        return replace(scores, capabilities=capabilities)
    index = sum(c.mean for c in capabilities) / len(capabilities)  # the index stays their mean
    return replace(scores, capabilities=capabilities, index=index,
                   index_estimate=replace(scores.index_estimate, mean=index))


def test_a_figure_that_is_not_its_definitions_function_of_the_answers_fails_the_model(
        app, db, history, monkeypatch):
    original = report_module.score_tally
    replace_in_report(monkeypatch, "score_tally",
                      lambda *args, **kwargs: off_by_a_partial_answer(original(*args, **kwargs)))
    found = collect(app, history, ["Sales"], exports=False)
    contributors, truth = ground_truth(history)
    with pytest.raises(AssertionError) as failed:
        check_against_answers(found.facts, truth)
    assert " sum" in str(failed.value)  # a capability's sum: its mean × its answers
