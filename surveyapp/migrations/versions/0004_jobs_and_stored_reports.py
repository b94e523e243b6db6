"""Closing on the job queue, and reports stored when a round closes

Revision ID: 0004
Revises: 0003

``round.close_requested_at``: HR's "Close round now" takes effect at once and a job does the
closing; ``round.close_problem`` says why it could not. ``round.reports_queued_at`` and
``stored_report``: every report of a closed round is rendered in the background and kept, so
that a download only reads it. Rounds closed before this migration have no stored reports:
the job that runs by the clock renders them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("round") as batch:
        batch.add_column(sa.Column("close_requested_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("close_problem", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("reports_queued_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "stored_report",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pdf', 'csv')", name=op.f("ck_stored_report_kind_known")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"],
                                name=op.f("fk_stored_report_round_id_round"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", "team_id", "kind", name=op.f("pk_stored_report")),
    )


def downgrade():
    op.drop_table("stored_report")
    with op.batch_alter_table("round") as batch:
        batch.drop_column("reports_queued_at")
        batch.drop_column("close_problem")
        batch.drop_column("close_requested_at")
