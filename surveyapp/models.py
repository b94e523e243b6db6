"""The data model: the organisation directory and the staff who log in.

Teams form a tree. People belong to one team and never log in. Users (HR admins and leaders)
log in; a leader leads one or more teams and sees them and every team below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Team(db.Model):
    __tablename__ = "team"
    __table_args__ = (
        # Sibling names are unique; the root level is checked in operations (NULL parents).
        UniqueConstraint("parent_id", "name"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("team.id", ondelete="RESTRICT"), index=True
    )
    #: Set when HR archives the team; archived teams keep their history but take no new people.
    archived_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Optional[Team]] = relationship(
        back_populates="children", remote_side="Team.id"
    )
    children: Mapped[list[Team]] = relationship(back_populates="parent", order_by="Team.name")
    people: Mapped[list[Person]] = relationship(back_populates="team")
    leaders: Mapped[list[User]] = relationship(
        secondary="leadership", back_populates="teams", order_by="User.name"
    )

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name!r}>"


class Person(db.Model):
    """Someone in the directory. People answer surveys through invitations; they never log in."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased: the import matches people by e-mail.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"), index=True)
    #: Coarse attributes, copied onto responses; keep the values few and broad.
    location: Mapped[Optional[str]] = mapped_column(String(80))
    role_level: Mapped[Optional[str]] = mapped_column(String(80))
    tenure_band: Mapped[Optional[str]] = mapped_column(String(80))
    #: Set when the person leaves; they are then invited to no new round.
    archived_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    team: Mapped[Team] = relationship(back_populates="people")

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email!r}>"


#: Which teams a leader leads (and therefore sees, with every team below).
leadership = Table(
    "leadership",
    db.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
)


class Role:
    HR = "hr"
    LEADER = "leader"
    ALL = (HR, LEADER)
    LABELS = {HR: "HR admin", LEADER: "Leader"}


class User(UserMixin, db.Model):
    """A member of staff who logs in: an HR admin or a leader."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('hr', 'leader')", name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    #: Argon2id hash in PHC string format.
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    #: Changes when the password changes, which ends every existing session.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    teams: Mapped[list[Team]] = relationship(
        secondary=leadership, back_populates="leaders", order_by="Team.name"
    )

    @property
    def is_hr(self) -> bool:
        return self.role == Role.HR

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: a password change invalidates old sessions
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email!r} {self.role}>"


class LoginFailure(db.Model):
    """One failed sign-in, counted per account and per client across every worker."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "account:<email>" or "client:<address>".
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
