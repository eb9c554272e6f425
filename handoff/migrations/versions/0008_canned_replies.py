"""transcript lines say which canned replies or suggestions an agent sent, and what was suggested

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("message", sa.Column("reply_refs", sa.String(), nullable=True))
    op.add_column("message", sa.Column("reply_how", sa.String(length=16), nullable=True))
    op.add_column("message", sa.Column("suggestions", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("suggestions")
        batch.drop_column("reply_how")
        batch.drop_column("reply_refs")
