"""The messages of a sending, made without the email package's generator (``Letterhead``),
are the messages ``make_message`` makes, as ``smtplib`` would put them on the wire."""

from __future__ import annotations

from email.policy import compat32

import pytest
from aiosmtpd.controller import Controller

from surveyapp.mail import Letterhead, Mailer, MailError, make_message

from .conftest import Collector, free_port

SUBJECTS = [
    "Your invitation: Spring 2026",
    "Reminder: Qualité de service 2026 closes on Friday 4 December 2026",
    "A subject long enough to be folded over more than one header line by the generator, "
    "with words to break at",
]
BODIES = [
    "Hello Zoë Ångström,\n\n" + "a line longer than seventy-six characters " * 4 + "\n.\n",
    "Hello Ana,\n\nA trailing space \nand a tab\t\n=equals= sign\n",
    "plain\n",
]


def on_the_wire(to: str, subject: str, body: str, message_id: str) -> bytes:
    """What ``smtplib.SMTP.send_message`` sends for ``make_message``'s message."""
    message = make_message(to=to, subject=subject, body=body, message_id=message_id)
    return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


@pytest.mark.parametrize("sender", ["Service survey <survey@example.org>", "survey@example.org",
                                    "Qualité & Service <qualite@example.org>"])
@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_letterhead_message_is_make_message_on_the_wire(app, sender, subject):
    app.config["MAIL_SENDER"] = sender
    with app.app_context():
        letterhead = Letterhead(subject)
        for body in BODIES:
            fast = letterhead.message("ana.ruiz@example.org", "<0f3a@example.org>", body)
            slow = on_the_wire("ana.ruiz@example.org", subject, body, "<0f3a@example.org>")
            fast_head, fast_body = fast.split(b"\r\n\r\n", 1)
            slow_head, slow_body = slow.split(b"\r\n\r\n", 1)
            assert fast_body == slow_body
            # The same header fields, folded the same way; To and Message-ID come last.
            assert sorted(fast_head.split(b"\r\n")) == sorted(slow_head.split(b"\r\n"))
        assert letterhead.sender == sender.rpartition("<")[2].rstrip(">")


def test_a_header_cannot_be_slipped_in_with_the_address(app):
    with app.app_context():
        letterhead = Letterhead("Your invitation")
        with pytest.raises(ValueError):
            letterhead.message("ana@example.org\r\nBcc: eve@example.org", "<1@example.org>", "")


def smtp_server(smtputf8: bool) -> tuple[Collector, Controller]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=smtputf8)
    controller.start()
    return collector, controller


def send_two(app, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    with app.app_context(), Mailer() as mailer:
        letterhead = Letterhead("Your invitation: Spring 2026")
        mailer.send(letterhead, to="ana@example.org", message_id="<1@example.org>",
                    body="Hello Ana,\n")
        mailer.send(letterhead, to="zoë@exämple.org", message_id="<2@example.org>",
                    body="Hello Zoë,\n")


def test_an_address_beyond_ascii_goes_with_smtputf8(app):
    smtp, controller = smtp_server(smtputf8=True)
    try:
        send_two(app, controller.port)
    finally:
        controller.stop()
    assert smtp.to() == ["ana@example.org", "zoë@exämple.org"]
    assert [str(m["Message-ID"]) for m in smtp.messages] == ["<1@example.org>", "<2@example.org>"]
    assert [m.get_content().splitlines() for m in smtp.messages] == [["Hello Ana,"], ["Hello Zoë,"]]


def test_a_server_without_smtputf8_refuses_such_an_address_in_words(app):
    smtp, controller = smtp_server(smtputf8=False)
    try:
        with pytest.raises(MailError, match="SMTPUTF8 not supported") as refused:
            send_two(app, controller.port)
    finally:
        controller.stop()
    assert smtp.to() == ["ana@example.org"]
    assert "zoë@exämple.org" not in refused.value.without_recipient
    assert refused.value.recipient_refused  # that address only: the next message can go
