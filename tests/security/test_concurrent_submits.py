"""Concurrent submits through gunicorn: nothing lost, nothing doubled, nothing half stored.

The bounded version of ``python -m benchmarks.loadtest`` (see its docstring): a freshly
migrated database per kind, gunicorn with 4 workers on 127.0.0.1, and 300 invitations per
phase, every client at once: some send the submit twice, some resend on a timeout, some submit
while an autosave is in flight; then again while a worker is SIGKILLed; then submits racing
their first save. About 45 seconds per database.
"""

from __future__ import annotations

import uuid

import pytest

from benchmarks.loadtest import AT_ONCE, KILLED_WORKER, PHASES, RACING_SAVES, Outcome, run

from ..pgcluster import create_database, drop_database

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


INVITATIONS = 300


@pytest.fixture(scope="module")
def database_url(request, tmp_path_factory):
    """A new, empty database per kind (overrides the suite's ready-made one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('load-db')}/load.sqlite3"
        return
    server = request.getfixturevalue("pg_cluster")
    name = f"load_{uuid.uuid4().hex[:12]}"
    url = create_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)


@pytest.fixture(scope="module")
def outcomes(database_url, tmp_path_factory) -> dict[str, Outcome]:
    """Run every phase once per database; the tests below each read one phase."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    results = run(kind, database_url, tmp_path_factory.mktemp(f"load-{kind}"), INVITATIONS, PHASES)
    for outcome in results:
        print(outcome.summary())  # the figures, with pytest -s
    return {outcome.phase.name: outcome for outcome in results}


def test_every_invitation_submitting_at_once_with_retries_is_stored_exactly_once(outcomes):
    outcome = outcomes[AT_ONCE.name]
    assert outcome.problems() == []
    assert outcome.tally.server_errors == outcome.tally.dropped == 0
    assert outcome.tally.submits > INVITATIONS  # double clicks were sent
    assert outcome.tally.retries > 0  # impatient clients resent


def test_a_worker_killed_midway_loses_no_submit_and_leaves_none_half_stored(outcomes):
    outcome = outcomes[KILLED_WORKER.name]
    assert outcome.killed
    assert outcome.problems() == []


def test_a_save_racing_the_submit_never_outlives_it_as_a_draft(outcomes):
    outcome = outcomes[RACING_SAVES.name]
    assert outcome.drafts == 0
    assert outcome.problems() == []
