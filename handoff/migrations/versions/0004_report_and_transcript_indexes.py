"""indexes for reports (offers by time) and transcripts (a customer's messages by time)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_offer_created", "offer", ["created_at"], unique=False)
    op.create_index("ix_message_customer", "message", ["customer_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_message_customer", table_name="message")
    op.drop_index("ix_offer_created", table_name="offer")
