"""Sealed drafts and pending responses, keyed link hashes, link exports, smaller tallies

Revision ID: 0002
Revises: 0001

Drafts are encrypted under a key derived from the invitation's link, submitted responses wait
sealed until their round closes, the stored hash of a link is keyed, exporting links is
recorded, and a team's tally keeps only the answer counts of each statement.

The data is carried over with the application's key (``INVITATION_KEY``, else ``SECRET_KEY``):
existing drafts are sealed, the responses of rounds still open are sealed back into pending
responses (to be released in a random order when the round closes), link hashes are keyed, and
stored tallies are cut to their new size. The formats are written out here rather than
imported, so that this migration keeps meaning what it meant when it was written.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_round = sa.table("round", sa.column("id", sa.Integer), sa.column("status", sa.String),
                  sa.column("instrument", sa.JSON))
_round_team = sa.table("round_team", sa.column("round_id", sa.Integer),
                       sa.column("team_id", sa.Integer), sa.column("tally", sa.JSON))
_invitation = sa.table("invitation", sa.column("id", sa.Integer), sa.column("nonce", sa.String),
                       sa.column("token_hash", sa.String), sa.column("round_id", sa.Integer))
_response = sa.table("response", sa.column("id", sa.BigInteger), sa.column("round_id", sa.Integer),
                     sa.column("team_id", sa.Integer), sa.column("location", sa.String),
                     sa.column("role_level", sa.String), sa.column("tenure_band", sa.String))
_answer = sa.table("answer", sa.column("response_id", sa.BigInteger),
                   sa.column("statement_key", sa.String), sa.column("value", sa.Integer))
_comment = sa.table("comment", sa.column("response_id", sa.BigInteger),
                    sa.column("question_key", sa.String), sa.column("text", sa.Text))
_pending = sa.table("pending_response", sa.column("id", sa.BigInteger),
                    sa.column("round_id", sa.Integer), sa.column("sealed", sa.LargeBinary))


def _server_key() -> bytes:
    key = current_app.config.get("INVITATION_KEY") or current_app.config["SECRET_KEY"]
    return str(key).encode()


def _token(nonce: str) -> str:
    digest = hmac.new(_server_key(), b"invitation:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def _sealed_size(instrument: dict) -> int:
    """Every sealed value of a round has this length: room for every statement and for each
    question's longest comment (2,000 characters of up to 4 bytes)."""
    size = 2048
    size += sum(len(s["key"].encode()) + 8 for c in instrument["capabilities"]
                for s in c["statements"])
    size += sum(len(q["key"].encode()) + 8 + 2000 * 4 for q in instrument.get("questions", []))
    return -(-size // 1024) * 1024


def _seal(key: bytes, value: dict, context: bytes, size: int) -> bytes:
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    size = max(size, -(-(len(plain) + 4) // 1024) * 1024)
    padded = struct.pack(">I", len(plain)) + plain
    padded += bytes(size - len(padded))
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, padded, context)


def _open(key: bytes, sealed: bytes, context: bytes) -> dict:
    padded = AESGCM(key).decrypt(sealed[1:13], sealed[13:], context)
    (length,) = struct.unpack(">I", padded[:4])
    return json.loads(padded[4:4 + length])


def _draft_key(token: str) -> bytes:
    return hmac.new(token.encode(), b"surveyapp draft key", hashlib.sha256).digest()


def _response_key(round_id: int) -> bytes:
    return hmac.new(_server_key(), b"surveyapp pending response key:%d" % round_id,
                    hashlib.sha256).digest()


def upgrade():
    op.create_table(
        "link_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("exported_by", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.CheckConstraint("links >= 0", name=op.f("ck_link_export_links_not_negative")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"],
                                name=op.f("fk_link_export_round_id_round"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_link_export_user_id_user_account"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_export")),
    )
    with op.batch_alter_table("link_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_export_round_id"), ["round_id"], unique=False)

    op.create_table(
        "pending_response",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"],
                                name=op.f("fk_pending_response_round_id_round"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_response")),
    )
    with op.batch_alter_table("pending_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_response_round_id"), ["round_id"],
                              unique=False)

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))

    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE invitation SET email = (SELECT email FROM person WHERE person.id = "
        "invitation.person_id)"))
    _seal_drafts(connection)
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.alter_column("sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("answers")
        batch_op.drop_column("step")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("comments")
    _key_token_hashes(connection)
    _seal_open_rounds_responses(connection)
    _cut_tallies(connection)


def _seal_drafts(connection) -> None:
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
    draft = sa.table("draft", sa.column("invitation_id", sa.Integer),
                     sa.column("answers", sa.JSON), sa.column("comments", sa.JSON),
                     sa.column("step", sa.Integer), sa.column("sealed", sa.LargeBinary))
    rows = connection.execute(
        sa.select(draft.c.invitation_id, draft.c.answers, draft.c.comments, draft.c.step,
                  _invitation.c.nonce, _round.c.instrument)
        .join(_invitation, _invitation.c.id == draft.c.invitation_id)
        .join(_round, _round.c.id == _invitation.c.round_id)).all()
    for invitation_id, answers, comments, step, nonce, instrument in rows:
        sealed = _seal(_draft_key(_token(nonce)),
                       {"answers": answers or {}, "comments": comments or {}, "step": step or 0},
                       b"draft:%d" % invitation_id, _sealed_size(instrument))
        connection.execute(draft.update().where(draft.c.invitation_id == invitation_id)
                           .values(sealed=sealed))


def _key_token_hashes(connection) -> None:
    for invitation_id, nonce in connection.execute(
            sa.select(_invitation.c.id, _invitation.c.nonce)).all():
        keyed = hmac.new(_server_key(), b"token hash:" + _token(nonce).encode(),
                         hashlib.sha256).hexdigest()
        connection.execute(_invitation.update().where(_invitation.c.id == invitation_id)
                           .values(token_hash=keyed))


def _seal_open_rounds_responses(connection) -> None:
    """Responses submitted to a round that is still open were stored readable, beside their
    participation: seal them back, to be released with the others when the round closes."""
    open_rounds = connection.execute(
        sa.select(_round.c.id, _round.c.instrument).where(_round.c.status == "open")).all()
    for round_id, instrument in open_rounds:
        responses = connection.execute(sa.select(_response).where(
            _response.c.round_id == round_id)).all()
        for response in responses:
            answers = dict(connection.execute(
                sa.select(_answer.c.statement_key, _answer.c.value)
                .where(_answer.c.response_id == response.id)).all())
            comments = dict(connection.execute(
                sa.select(_comment.c.question_key, _comment.c.text)
                .where(_comment.c.response_id == response.id)).all())
            sealed = _seal(_response_key(round_id), {
                "team_id": response.team_id, "location": response.location,
                "role_level": response.role_level, "tenure_band": response.tenure_band,
                "answers": answers, "comments": comments,
            }, b"pending response:%d" % round_id, _sealed_size(instrument))
            connection.execute(_pending.insert().values(
                id=secrets.randbits(62) or 1, round_id=round_id, sealed=sealed))
            connection.execute(_answer.delete().where(_answer.c.response_id == response.id))
            connection.execute(_comment.delete().where(_comment.c.response_id == response.id))
            connection.execute(_response.delete().where(_response.c.id == response.id))


def _cut_tallies(connection) -> None:
    """A tally now holds the responses and each statement's answers on each point of the
    scale, the places they already had: the rest (per-person sums) is cut off."""
    for round_id, instrument in connection.execute(sa.select(_round.c.id, _round.c.instrument)):
        statements = sum(len(c["statements"]) for c in instrument["capabilities"])
        size = 1 + 5 * statements
        for team_id, tally in connection.execute(
                sa.select(_round_team.c.team_id, _round_team.c.tally)
                .where(_round_team.c.round_id == round_id, _round_team.c.tally.is_not(None))):
            if len(tally) > size:
                connection.execute(_round_team.update().where(
                    _round_team.c.round_id == round_id, _round_team.c.team_id == team_id)
                    .values(tally=tally[:size]))


def downgrade():
    connection = op.get_bind()
    pending = connection.execute(sa.select(sa.func.count()).select_from(_pending)).scalar()
    if pending:
        raise RuntimeError(
            f"{pending} submitted responses are sealed until their rounds close: close those "
            "rounds (or stay on this version) before downgrading.")
    draft = sa.table("draft", sa.column("invitation_id", sa.Integer),
                     sa.column("answers", sa.JSON), sa.column("comments", sa.JSON),
                     sa.column("step", sa.Integer), sa.column("updated_at", sa.DateTime),
                     sa.column("sealed", sa.LargeBinary))
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("comments", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    rows = connection.execute(
        sa.select(draft.c.invitation_id, draft.c.sealed, _invitation.c.nonce)
        .join(_invitation, _invitation.c.id == draft.c.invitation_id)).all()
    for invitation_id, sealed, nonce in rows:
        value = _open(_draft_key(_token(nonce)), sealed, b"draft:%d" % invitation_id)
        connection.execute(draft.update().where(draft.c.invitation_id == invitation_id).values(
            answers=value["answers"], comments=value["comments"], step=value["step"],
            updated_at=sa.func.current_timestamp()))
    with op.batch_alter_table("draft", schema=None) as batch_op:
        for name, type_ in (("answers", sa.JSON()), ("comments", sa.JSON()),
                            ("step", sa.Integer()), ("updated_at", sa.DateTime(timezone=True))):
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.drop_column("sealed")
    for invitation_id, nonce in connection.execute(
            sa.select(_invitation.c.id, _invitation.c.nonce)).all():
        connection.execute(_invitation.update().where(_invitation.c.id == invitation_id)
                           .values(token_hash=hashlib.sha256(_token(nonce).encode()).hexdigest()))
    # The earlier version works a tally out from the answers when none is stored.
    connection.execute(_round_team.update().values(tally=None))

    with op.batch_alter_table("pending_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_response_round_id"))
    op.drop_table("pending_response")
    with op.batch_alter_table("link_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_export_round_id"))
    op.drop_table("link_export")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("email")
