"""Configuration: defaults here, then ``instance/config.py``, then ``SURVEYAPP_*`` variables.

Every key below can be overridden by an environment variable of the same name with the
``SURVEYAPP_`` prefix (``SURVEYAPP_SECRET_KEY=...``). Values are parsed as JSON when they can be
(``SURVEYAPP_SESSION_COOKIE_SECURE=true``), otherwise taken as strings.
``SURVEYAPP_DATABASE_URL`` is the short name for ``SQLALCHEMY_DATABASE_URI``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

#: The development key earlier releases shipped: published, so refused everywhere but in tests.
PUBLISHED_SECRET_KEY = "dev-only-change-me"
#: Where a development or demo installation keeps the key made for it (mode 0600).
SECRET_KEY_FILE = "secret_key"


class ConfigurationError(RuntimeError):
    """The configuration cannot run safely (for example the default secret key in production)."""


DEFAULTS: dict[str, object] = {
    # "development" or "production". Production insists on a real secret key and secure cookies.
    "ENV": "development",
    # Empty: outside production, a random key made on first start and kept in instance/secret_key.
    "SECRET_KEY": "",
    # Empty means: SQLite file instance/surveyapp.sqlite3.
    "SQLALCHEMY_DATABASE_URI": "",
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Seconds a SQLite writer waits for the lock before giving up.
    "SQLITE_BUSY_TIMEOUT": 30,
    "ORGANISATION_NAME": "Northwind Services",
    # Absolute base for links in e-mails and exports, e.g. https://survey.example.org
    "BASE_URL": "http://127.0.0.1:5000",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # None: secure (HTTPS-only) cookies in production, plain ones in development.
    "SESSION_COOKIE_SECURE": None,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Sign-in throttling (auth/operations.py).
    # Failed sign-ins that cost no wait: per account from one client, and per client.
    "LOGIN_FREE_FAILURES_PER_ACCOUNT": 4,
    "LOGIN_FREE_FAILURES_PER_CLIENT": 20,
    # After them, each failure makes the next attempt wait: this long at first, doubling up to
    # the cap. Failures older than the window are forgotten.
    "LOGIN_FIRST_DELAY_SECONDS": 5,
    "LOGIN_MAX_DELAY_SECONDS": 15 * 60,
    "LOGIN_FAILURE_WINDOW_SECONDS": 60 * 60,
    # Argon2id parameters (OWASP: m >= 19 MiB, t >= 2, p = 1). Memory in KiB.
    "PASSWORD_HASH_TIME_COST": 3,
    "PASSWORD_HASH_MEMORY_COST": 65536,
    "PASSWORD_HASH_PARALLELISM": 4,
    # Number of trusted reverse proxies in front of the app (for the client address).
    "PROXY_COUNT": 0,
    "PEOPLE_PER_PAGE": 50,
    # Rounds open and close on whole days in this time zone (an IANA name).
    "TIMEZONE": "Europe/London",
    # Key for invitation links; empty means SECRET_KEY. Changing it breaks every open link.
    "INVITATION_KEY": "",
    # Whether HR may download survey links (to send from its own mail system). Each export is
    # recorded and shown on the round's reports; false switches it off for the organisation.
    "LINK_EXPORT": True,
    # E-mail. With no MAIL_SERVER, messages are written to instance/outbox/ as .eml files.
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    # "none", "starttls" or "tls" (implicit TLS, usually port 465).
    "MAIL_SECURITY": "none",
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_SENDER": "Service survey <survey@example.org>",
    "MAIL_TIMEOUT": 30,
    # The hour (0-23, in TIMEZONE) at which reminders scheduled for a day go out.
    "REMINDER_HOUR": 9,
    # Invitations and reminders are sent by the queue's workers in batches of this many, each
    # over one SMTP connection (surveyapp/rounds/invitations.py).
    "MAIL_BATCH_SIZE": 200,
    # A worker holds its batch this long past its last message; a batch whose worker died is
    # taken over once this has passed (by the job that runs every minute).
    "MAIL_LEASE_SECONDS": 120,
    # After the mail server failed, a batch is tried again after this many seconds, then after
    # twice as long each time, up to an hour.
    "MAIL_RETRY_SECONDS": 60,
    # The job queue (surveyapp/jobs): empty is a SQLite file in the instance folder; a Redis
    # URL (redis://host:6379/0) for production; "immediate" runs each job where it is enqueued.
    "QUEUE_URL": "",
    # Keeps the queues of several installations on one Redis apart.
    "QUEUE_NAME": "surveyapp",
    # With the SQLite queue: each web server process runs a worker thread and the clock itself.
    # Set it to false when "flask worker" runs beside the web server instead.
    "QUEUE_WORKER_IN_WEB": True,
}


def database_uri(configured: str, instance_path: str) -> str:
    """Return the database URL to use: the configured one, or the SQLite file in instance/.

    ``postgresql://`` and ``postgres://`` URLs are pointed at the psycopg 3 driver.
    """
    if not configured:
        return f"sqlite:///{instance_path}/surveyapp.sqlite3"
    for prefix in ("postgres://", "postgresql://"):
        if configured.startswith(prefix):
            return "postgresql+psycopg://" + configured[len(prefix):]
    return configured


def instance_secret_key(instance_path: str) -> str:
    """The key kept in the instance folder, made (64 random hex digits, readable by this user
    only) on first use. Processes starting together agree: the first file to land wins."""
    path = Path(instance_path) / SECRET_KEY_FILE
    if not path.exists():
        draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # fails if another process made it meanwhile: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigurationError(f"{path} holds no usable key: delete it to have a new one made "
                                 "(every survey link and open draft changes with it).")
    return key


def check_secret_key(config: dict) -> None:
    """Refuse the development key earlier releases published, outside the tests.

    :raise ConfigurationError: when ``SECRET_KEY`` is that key.
    """
    if config.get("SECRET_KEY") == PUBLISHED_SECRET_KEY and not config.get("TESTING"):
        raise ConfigurationError(
            f"SURVEYAPP_SECRET_KEY is {PUBLISHED_SECRET_KEY!r}, a published key: anyone could sign "
            "sessions with it. Remove it (a random key is then made in the instance folder) or "
            "set a random one, e.g. python -c 'import secrets; print(secrets.token_hex(32))'")


def check_production(config: dict) -> None:
    """Refuse to run a production configuration that is not safe.

    :raise ConfigurationError: with a missing, published or short secret key in production
        (production sets it explicitly: every host must share one key).
    """
    if config.get("ENV") != "production":
        return
    key = config.get("SECRET_KEY")
    if not key or key == PUBLISHED_SECRET_KEY or len(str(key)) < 32:
        raise ConfigurationError(
            "SURVEYAPP_SECRET_KEY must be set to a random value of at least 32 characters in "
            "production, e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
        )
