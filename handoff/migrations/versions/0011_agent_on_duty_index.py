"""agents' indexes for the routing decision: one that answers "is this agent on duty" without
reading the agent's row (counting a team's agents on duty, for a queued customer's estimated wait,
looks up each of them); and no index of `last_routed_at` alone, which `ix_agent_free` covers and
every offer had to update besides it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_agent_on_duty", "agent", ["id", "status", "on_shift", "active"])
    op.drop_index("ix_agent_last_routed_at", table_name="agent")


def downgrade() -> None:
    op.create_index("ix_agent_last_routed_at", "agent", ["last_routed_at"])
    op.drop_index("ix_agent_on_duty", table_name="agent")
