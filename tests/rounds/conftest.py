"""Fixtures for HR's round pages, the ``round`` commands and sending e-mail.

``smtp`` runs a real SMTP server (aiosmtpd) on 127.0.0.1 and points the app at it; its
``refuse_rcpt_number`` makes it refuse one recipient with a 550, to test a failure midway.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from surveyapp.clock import today
from surveyapp.rounds.operations import create_round, launch_round


@dataclass
class Org:
    """Operations > Customer Care (3 people) > North (4); Sales (6); Depot (no people)."""

    ops: object
    care: object
    north: object
    sales: object
    depot: object
    people: list = field(default_factory=list)


@pytest.fixture
def org(db, make_team, make_person) -> Org:
    ops = make_team("Operations")
    care = make_team("Customer Care", parent=ops)
    north = make_team("North", parent=care)
    sales = make_team("Sales")
    depot = make_team("Depot")
    people = [make_person(team=care) for _ in range(3)]
    people += [make_person(team=north) for _ in range(4)]
    people += [make_person(team=sales) for _ in range(6)]
    return Org(ops, care, north, sales, depot, people)


@pytest.fixture
def make_round(db):
    """``make_round([team], launched=True)`` creates (and launches) a round, committed."""

    def make(teams, *, launched: bool = False, name: str = "Autumn 2026", **settings):
        now = today()
        round_ = create_round(name=name, teams=teams, opens_on=settings.pop("opens_on", now),
                              closes_on=settings.pop("closes_on", now + timedelta(days=14)),
                              today=now, **settings)
        if launched:
            launch_round(round_, today=now)
        db.session.commit()
        return round_

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps every message; may refuse the n-th recipient (with
    ``refusal``: 550, the mailbox; 421, the whole server, which closes the connection), or
    every recipient in ``refused``."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.rcpt_count = 0
        self.refuse_rcpt_number: int | None = None
        self.refusal = "550 5.1.1 Mailbox unavailable"
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_count += 1
        if self.rcpt_count == self.refuse_rcpt_number:
            return self.refusal
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        return [str(m["To"]) for m in self.messages]


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback; the app sends through it."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=5)
    try:
        yield handler
    finally:
        controller.stop()


def link_in(message: EmailMessage) -> str:
    """The survey link in an invitation or reminder."""
    body = message.get_content()
    return next(line.strip() for line in body.splitlines() if "/s/" in line)
