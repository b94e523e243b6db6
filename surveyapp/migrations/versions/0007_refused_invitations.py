"""Invitations the mail server refused

Revision ID: 0007
Revises: 0006

``invitation.refused_at`` and ``invitation.refusal``: when and why the mail server refused the
invitation's address. The batch goes on without it; HR sees whom it did not reach, corrects the
address and sends again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("refusal", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("refusal")
        batch.drop_column("refused_at")
