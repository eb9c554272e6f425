"""transcript lines keyed to the update that wrote them (a replayed update adds none)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("message", sa.Column("dedup_key", sa.String(length=64), nullable=True))
    op.create_index("ix_message_dedup_key", "message", ["dedup_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_message_dedup_key", table_name="message")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("dedup_key")
