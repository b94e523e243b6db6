"""When a round closes: its sealed pending responses become readable responses, all at once.

While a round is open, a submit stores the participation and the response sealed (see
``PendingResponse``): the two share a transaction and a place in the order of writes, which is
why the response must stay unreadable. Closing opens every pending response of the round and
writes them to ``response``, ``answer`` and ``comment`` in one transaction, in a random order
and with fresh random keys, then deletes the pending rows and the round's remaining drafts.
Every readable response of a round therefore shares one transaction, its rows follow a
shuffled order, and none carries a time: nothing in a copy of the database taken afterwards
ties a response to the person who gave it.

Attributes are coarsened on the way (``analysis/attributes.py``), per team, over the people who
submitted, so that no combination stored is held by fewer than the round's minimum.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import delete, select

from ..analysis.attributes import shared_attributes
from ..database import checkpoint_after_commit
from ..extensions import db
from ..models import Draft, Invitation, PendingResponse, Round, random_id
from ..sealing import SealError, open_sealed, response_context, response_key

#: Responses written per batch of inserts (a round of 80,000 has 2.2 million answers).
BATCH = 2_000


class ReleaseError(Exception):
    """The round's pending responses cannot all be opened; the message says why, for HR."""


def release_responses(round_: Round) -> list[tuple[int, dict[str, int]]]:
    """Store the round's pending responses as responses (see the module docstring) and flush.

    :raise ReleaseError: when any pending response does not open (they were sealed under
        another ``INVITATION_KEY`` or ``SECRET_KEY``); nothing is changed then.
    :return: the responses stored, as (team id, answers), in no meaningful order.
    """
    pending = PendingResponse.__table__
    key, context = response_key(round_.id), response_context(round_.id)
    opened, unreadable = [], 0
    for (sealed,) in db.session.execute(select(pending.c.sealed)
                                        .where(pending.c.round_id == round_.id)):
        try:
            opened.append(open_sealed(key, sealed, context))
        except SealError:
            unreadable += 1
    if unreadable:
        raise ReleaseError(
            f"{unreadable} of the {len(opened) + unreadable} submitted responses cannot be "
            "opened: they were sealed with a different INVITATION_KEY (or SECRET_KEY, when "
            "INVITATION_KEY is not set). Put back the key that was in force while the round "
            "was open, then close the round again."
        )
    _coarsen_attributes(opened, round_.min_group_size)
    random.SystemRandom().shuffle(opened)
    for batch in _batches(opened):
        _store(round_.id, batch)
    db.session.execute(delete(pending).where(pending.c.round_id == round_.id))
    db.session.execute(delete(Draft.__table__).where(Draft.invitation_id.in_(
        select(Invitation.id).where(Invitation.round_id == round_.id))))
    db.session.flush()
    checkpoint_after_commit()
    return [(r["team_id"], r["answers"]) for r in opened]


def _coarsen_attributes(responses: list[dict], minimum: int) -> None:
    by_team: dict[int, list[dict]] = defaultdict(list)
    for response in responses:
        by_team[response["team_id"]].append(response)
    for members in by_team.values():
        coarse = shared_attributes(
            [(r.get("location"), r.get("role_level"), r.get("tenure_band")) for r in members],
            minimum)
        for response, (location, role_level, tenure_band) in zip(members, coarse, strict=True):
            response.update(location=location, role_level=role_level, tenure_band=tenure_band)


def _batches(items: list) -> Iterator[list]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def _store(round_id: int, batch: list[dict]) -> None:
    responses: list[tuple[object, ...]] = []
    answers: list[tuple[object, ...]] = []
    comments: list[tuple[object, ...]] = []
    for opened in batch:
        response_id = random_id()
        responses.append((response_id, round_id, opened["team_id"], opened["location"],
                          opened["role_level"], opened["tenure_band"]))
        answers.extend((response_id, key, value) for key, value in opened["answers"].items())
        comments.extend((random_id(), response_id, key, text)
                        for key, text in opened["comments"].items())
    # Plain rows straight to the driver (COPY on PostgreSQL, executemany on SQLite): the
    # per-row work of SQLAlchemy's and psycopg's executemany took most of the time of closing a
    # round of 80,000 responses (2.2 million answers).
    connection = db.session.connection()
    for table, columns, rows in (("response", _RESPONSE_COLUMNS, responses),
                                 ("answer", _ANSWER_COLUMNS, answers),
                                 ("comment", _COMMENT_COLUMNS, comments)):
        if not rows:
            continue
        if connection.dialect.name == "postgresql":
            driver_connection = connection.connection.driver_connection
            if driver_connection is None:
                raise AssertionError("the session's connection has no DBAPI connection")
            with driver_connection.cursor() as cursor, \
                    cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


_RESPONSE_COLUMNS = ("id", "round_id", "team_id", "location", "role_level", "tenure_band")
_ANSWER_COLUMNS = ("response_id", "statement_key", "value")
_COMMENT_COLUMNS = ("id", "response_id", "question_key", "text")
