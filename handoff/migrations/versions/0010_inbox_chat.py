"""the chat each stored update belongs to, so workers take a chat's updates in turn

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("message", "edited_message", "my_chat_member", "chat_member")


def _chat_of(update: dict) -> int:
    """As `telegram_io.inbox.chat_of` on the day of this migration (migrations import no
    application code)."""
    for kind in KINDS:
        chat = (update.get(kind) or {}).get("chat") or {}
        if isinstance(chat.get("id"), int):
            return chat["id"]
    sender = (update.get("callback_query") or {}).get("from") or {}
    if isinstance(sender.get("id"), int):
        return sender["id"]
    return -int(update["update_id"]) - 10**15


def upgrade() -> None:
    with op.batch_alter_table("inbox_update") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=True))
        batch.create_index("ix_inbox_chat", ["chat_id", "processed_at", "update_id"])
    # Updates still waiting get their chat (those done with never need it).
    inbox = sa.table(
        "inbox_update",
        sa.column("update_id", sa.BigInteger()),
        sa.column("payload", sa.String()),
        sa.column("chat_id", sa.BigInteger()),
        sa.column("processed_at", sa.DateTime()),
    )
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(inbox.c.update_id, inbox.c.payload).where(inbox.c.processed_at.is_(None))
    ).all()
    for update_id, payload in waiting:
        connection.execute(
            inbox.update()
            .where(inbox.c.update_id == update_id)
            .values(chat_id=_chat_of(json.loads(payload)))
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_update") as batch:
        batch.drop_index("ix_inbox_chat")
        batch.drop_column("chat_id")
