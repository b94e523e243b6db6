"""CSV of aggregates (never individual responses): one row per team and capability, plus the index.

Header (a contract):
team,capability,respondents,answers,mean,favourable_pct,neutral_pct,unfavourable_pct,notice

``team`` is the team's path (with a leading apostrophe if it would start a spreadsheet
formula: see spreadsheet.py). ``respondents`` is the group's number of responses, on every row;
``answers`` the number of answers to the capability's statements, which its mean and shares
pool (on the index row: to every statement). Hidden groups keep their rows with every figure
empty, and so does a capability hidden in a shown group (one of its statements has too few
answers to show).

``notice`` says what a reader of the figures must know about the whole round, in every row
(so that it stays with any row copied or filtered out), and is empty when there is nothing to
say: today, that survey links were exported (``rounds/link_exports.py``), so that some answers
may have been given by whoever held the links. It is a column rather than a comment line so
that no CSV reader takes it for a team's figures and every row keeps the same columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping

from ..analysis.confidentiality import ORGANISATION
from ..analysis.report import GroupTallies, RoundContext, scores_for
from ..analysis.scores import Distribution
from ..analysis.tally import Tally
from ..spreadsheet import text_cell

HEADER = ["team", "capability", "respondents", "answers", "mean", "favourable_pct",
          "neutral_pct", "unfavourable_pct", "notice"]
#: The figures of a row that shows none.
EMPTY = ["", "", "", "", "", ""]


def _pct(share: float) -> str:
    return f"{share * 100:.1f}"


def csv_rows(ctx: RoundContext, group_id: int, tallies: Mapping[int, Tally],
             organisation: str, *, notice: str) -> Iterator[list[str]]:
    """Rows for the group and every team in it, in tree order (header first), from the
    teams' tallies (which must cover at least the group's teams), each ending with
    ``notice`` (``link_exports.notice_text`` of the round's exports; "" for none)."""
    yield HEADER
    notice = text_cell(notice)
    for row in _figure_rows(ctx, group_id, tallies, organisation):
        yield [*row, notice]


def _figure_rows(ctx: RoundContext, group_id: int, tallies: Mapping[int, Tally],
                 organisation: str) -> Iterator[list[str]]:
    groups = GroupTallies(ctx, tallies)
    capabilities = ctx.info.instrument.capabilities
    for current in ([ORGANISATION] if group_id == ORGANISATION else []) + ctx.subtree(group_id):
        path = text_cell(ctx.path(current, organisation))
        scores = scores_for(ctx, current, groups, statements=False)
        if scores is None:
            for capability in capabilities:
                yield [path, capability.name, *EMPTY]
            yield [path, "index", *EMPTY]
            continue
        respondents = str(scores.respondents)
        for c in scores.capabilities:
            if c.estimate is None:  # hidden by the confidentiality rules (no one, or too few)
                yield [path, c.name, *EMPTY]
                continue
            d = c.distribution
            yield [path, c.name, respondents, str(c.answers), f"{c.mean:.2f}",
                   _pct(d.favourable), _pct(d.neutral), _pct(d.unfavourable)]
        if scores.index is None:
            yield [path, "index", respondents, "", "", "", "", ""]
        else:
            total = Distribution(tuple(
                sum(c.distribution.counts[i] for c in scores.capabilities) for i in range(5)))
            yield [path, "index", respondents, str(total.total), f"{scores.index:.2f}",
                   _pct(total.favourable), _pct(total.neutral), _pct(total.unfavourable)]


def to_csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
