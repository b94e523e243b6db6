"""Invitations and reminders sent on the job queue, in batches

Revision ID: 0005
Revises: 0004

``mail_batch``: each sending is split into batches that workers send (one SMTP connection
each) under a lease, retried after a mail-server failure and taken over after a worker died.
``round.mail_salt``: the random key of the round's Message-IDs, so that a message sent again
after a worker died carries the same Message-ID; existing rounds get one each.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("round") as batch:
        batch.add_column(sa.Column("mail_salt", sa.String(length=32), nullable=True))
    rounds = sa.table("round", sa.column("id", sa.Integer), sa.column("mail_salt", sa.String))
    connection = op.get_bind()
    for (round_id,) in connection.execute(sa.select(rounds.c.id)).all():
        connection.execute(sa.update(rounds).where(rounds.c.id == round_id)
                           .values(mail_salt=secrets.token_hex(16)))
    with op.batch_alter_table("round") as batch:
        batch.alter_column("mail_salt", existing_type=sa.String(length=32), nullable=False)
    op.create_table(
        "mail_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reminder", sa.Integer(), nullable=False),
        sa.Column("first_invitation_id", sa.Integer(), nullable=False),
        sa.Column("last_invitation_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("countable", sa.Boolean(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('invitation', 'reminder')",
                           name=op.f("ck_mail_batch_kind_known")),
        sa.CheckConstraint("sent >= 0 AND total >= 0",
                           name=op.f("ck_mail_batch_counts_not_negative")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user_account.id"],
                                name=op.f("fk_mail_batch_requested_by_id_user_account"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"],
                                name=op.f("fk_mail_batch_round_id_round"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_batch")),
    )
    op.create_index("ix_mail_batch_round", "mail_batch", ["round_id", "kind", "reminder"])


def downgrade():
    op.drop_index("ix_mail_batch_round", table_name="mail_batch")
    op.drop_table("mail_batch")
    with op.batch_alter_table("round") as batch:
        batch.drop_column("mail_salt")
