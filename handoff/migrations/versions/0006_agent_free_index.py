"""indexes for the routing decision: agents with a free slot (idle longest first), a team's agents

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the tables module has it (a migration does not import the application).
HAS_FREE_SLOT = "((load + pending_offers) < capacity)"


def upgrade() -> None:
    op.create_index(
        "ix_agent_free", "agent", [sa.text(HAS_FREE_SLOT), "last_routed_at", "id"], unique=False
    )
    op.create_index("ix_agent_team_team", "agent_team", ["team", "agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_agent_team_team", table_name="agent_team")
    op.drop_index("ix_agent_free", table_name="agent")
