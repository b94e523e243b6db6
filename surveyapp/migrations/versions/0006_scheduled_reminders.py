"""Reminders scheduled ahead

Revision ID: 0006
Revises: 0005

``scheduled_reminder``: a reminder HR asks for on a day of an open round, started by the job
that runs by the clock on that day at ``REMINDER_HOUR``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scheduled_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("send_on", sa.Date(), nullable=False),
        sa.Column("scheduled_by_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"],
                                name=op.f("fk_scheduled_reminder_round_id_round"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scheduled_by_id"], ["user_account.id"],
                                name=op.f("fk_scheduled_reminder_scheduled_by_id_user_account"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_reminder")),
        sa.UniqueConstraint("round_id", "send_on",
                            name=op.f("uq_scheduled_reminder_round_id_send_on")),
    )
    with op.batch_alter_table("scheduled_reminder") as batch:
        batch.create_index(batch.f("ix_scheduled_reminder_round_id"), ["round_id"], unique=False)


def downgrade():
    with op.batch_alter_table("scheduled_reminder") as batch:
        batch.drop_index(batch.f("ix_scheduled_reminder_round_id"))
    op.drop_table("scheduled_reminder")
