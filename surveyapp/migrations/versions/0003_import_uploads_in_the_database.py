"""Uploaded people files wait in the database between preview and apply

Revision ID: 0003
Revises: 0002

They were kept in the instance folder of the host that took the upload, so that "Apply these
changes" failed when another host served it. An upload waiting in a folder when this runs is
simply uploaded again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_upload",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_import_upload")),
    )


def downgrade():
    op.drop_table("import_upload")
