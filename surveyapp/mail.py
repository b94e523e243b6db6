"""Sending e-mail: through SMTP when ``MAIL_SERVER`` is set, else into ``instance/outbox/``.

The outbox lets the demo and a fresh install work with no mail server: each message becomes an
``.eml`` file that any mail program opens.
"""

from __future__ import annotations

import email.quoprimime
import re
import smtplib
import ssl
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path

from flask import current_app


class MailError(RuntimeError):
    """The mail server could not be reached or refused a message.

    ``without_recipient`` says the same without naming the person the message was for: a
    refused reminder's address would tell that this person has not submitted yet.
    ``recipient_refused``: the server refused this message's recipient or its content (and
    is ready for the next message), rather than failing as a whole.
    """

    def __init__(self, message: str, without_recipient: str | None = None, *,
                 recipient_refused: bool = False, reason: str | None = None):
        super().__init__(message)
        self.without_recipient = without_recipient or message
        self.recipient_refused = recipient_refused
        #: The server's words alone ("550 5.1.1 User unknown").
        self.reason = reason or message


#: UTF-8 bodies as quoted-printable: readable as they are in an .eml file, safe for any server.
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP


def make_message(*, to: str, subject: str, body: str,
                 message_id: str | None = None) -> Message:
    """A plain-text message, as the email package makes it: what ``Letterhead`` renders once
    per sending and completes per message. ``message_id``: the same for every sending of one
    message (a message sent again after a worker died must keep it); a random one when None.
    """
    sender = current_app.config["MAIL_SENDER"]
    msg = Message()
    msg.set_payload(body, UTF8_QP)  # text/plain; charset="utf-8", quoted-printable
    name, address = parseaddr(sender)
    msg["From"] = formataddr((name, address), "utf-8") if name else address
    msg["To"] = to
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    msg["Message-ID"] = message_id or make_msgid(
        domain=sender.rpartition("@")[2].strip("> ") or None)
    return msg


class Letterhead:
    """What the messages of one sending share (the sender and the subject), rendered once.

    ``message`` adds a recipient, a Message-ID and a body, and gives the message as it goes to
    the server: the message ``make_message`` makes, flattened as ``smtplib`` would, headers
    and quoted-printable body alike, without the email package's generator and address
    parsing, which cost more than the rest of sending one invitation together
    (docs/PERFORMANCE.md). An address beyond ASCII goes in the To field as UTF-8 (RFC 6532),
    to a server that offers SMTPUTF8 (``Mailer.send``).
    """

    def __init__(self, subject: str) -> None:
        model = make_message(to="", subject=subject, body="", message_id="<model@localhost>")
        del model["To"], model["Message-ID"]
        #: The envelope sender (the address in From).
        self.sender = parseaddr(str(model["From"]))[1]
        flat = model.as_bytes(policy=compat32.clone(linesep="\r\n"))
        self.head = flat.split(b"\r\n\r\n", 1)[0] + b"\r\n"

    def message(self, to: str, message_id: str, body: str) -> bytes:
        if not to.isprintable() or not message_id.isascii() or not message_id.isprintable():
            raise ValueError(f"not an address and a Message-ID for a header: {to!r}, "
                             f"{message_id!r}")
        encoded = email.quoprimime.body_encode(body.encode("utf-8").decode("latin-1"))
        return b"".join((self.head, b"To: ", to.encode("utf-8"), b"\r\nMessage-ID: ",
                         message_id.encode("ascii"), b"\r\n\r\n",
                         encoded.replace("\n", "\r\n").encode("ascii")))


def describe(error: Exception) -> str:
    """A mail error in words for HR: "550 Mailbox unavailable" rather than a Python repr."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class Mailer(AbstractContextManager):
    """Open one connection for many messages:
    ``with Mailer() as mailer: mailer.send(letterhead, to=..., message_id=..., body=...)``."""

    def __init__(self) -> None:
        cfg = current_app.config
        self.server = cfg["MAIL_SERVER"]
        self.port = int(cfg["MAIL_PORT"])
        self.security = cfg["MAIL_SECURITY"]
        self.username = cfg["MAIL_USERNAME"]
        self.password = cfg["MAIL_PASSWORD"]
        self.timeout = float(cfg["MAIL_TIMEOUT"])
        self.outbox = Path(current_app.instance_path) / "outbox"
        self._smtp: smtplib.SMTP | None = None

    @property
    def writes_files(self) -> bool:
        """Whether messages go to ``instance/outbox/`` (no mail server is set)."""
        return not self.server

    def __enter__(self) -> Mailer:
        if not self.server:
            self.outbox.mkdir(parents=True, exist_ok=True)
            return self
        try:
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.server, self.port, timeout=self.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"Could not connect to the mail server {self.server}:{self.port}: "
                            f"{describe(error)}") from error
        self._smtp = smtp
        return self

    def send(self, letterhead: Letterhead, *, to: str, message_id: str, body: str) -> None:
        """Send one message of a sending (see ``Letterhead``).

        :raise MailError: when the server refuses it, or the line drops; or when the address
            (or the sender's) needs SMTPUTF8 and the server does not offer it.
        """
        data = letterhead.message(to, message_id, body)
        if self._smtp is None:
            self._write(to, data)
            return
        international = not (to.isascii() and letterhead.sender.isascii())
        try:
            self._smtp.sendmail(letterhead.sender, [to], data,
                                mail_options=["SMTPUTF8"] if international else [])
        except (OSError, smtplib.SMTPException) as error:
            raise _refused(error, to) from error

    def _write(self, to: str, data: bytes) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        safe_to = "".join(c if c.isalnum() else "_" for c in to)[:60]
        (self.outbox / f"{stamp}-{safe_to}.eml").write_bytes(data)

    def __exit__(self, *exc) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _refused(error: Exception, to: str) -> MailError:
    """The MailError for a message the server did not take, with and without its address."""
    reason = describe(error)
    address = parseaddr(to)[1]
    hidden = re.sub(re.escape(address), "[recipient]", reason, flags=re.I) if address \
        else reason
    return MailError(f"The mail server refused the message to {to}: {reason}",
                     f"The mail server refused a message: {hidden}",
                     recipient_refused=_refuses_only_this_message(error), reason=reason)


def _refuses_only_this_message(error: Exception) -> bool:
    """Whether the server refused the recipient or the content of one message and takes the
    next (not 421, with which it closes the connection). An address beyond ASCII that the
    server cannot take (no SMTPUTF8) is refused before anything is sent."""
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code != 421
