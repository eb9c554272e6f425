"""The routing state as it is now, for the live gauges (/metrics): each team's line, the
conversations and offers by state, the agents by status. COUNT/GROUP BY over indexed columns.

A chat held for its team's opening (after hours) is not waiting yet: it counts as held, not in the
team's line or its oldest wait, which would read 0 for it (its wait starts at the opening).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from handoff.states import ConversationState
from handoff.store import WAIT_START, agents, conversations, offers

WAITING = (ConversationState.QUEUED, ConversationState.OFFERED)


@dataclass(frozen=True)
class TeamQueue:
    """One team's line now. A chat held for the team's opening is not waiting yet: its wait
    starts at the opening, as its SLA clock does."""

    waiting: int = 0  # queued or offered
    oldest: float = 0.0  # seconds the longest-waiting of them has waited
    held: int = 0  # queued for the opening, offered to nobody yet


@dataclass(frozen=True)
class Live:
    teams: Mapping[str, TeamQueue]  # every team named, and any other with chats
    conversations: Mapping[str, int]  # by state
    offers: Mapping[str, int]  # by state
    agents: Mapping[tuple[str, bool], int]  # active agents, by (status, on shift)


def live(conn: Connection, teams: Sequence[str], now: datetime) -> Live:
    """The routing state at `now` (the routing clock's), every team of `teams` present."""
    return Live(
        teams=_team_queues(conn, teams, now),
        conversations=_count_by(conn, conversations.c.state),
        offers=_count_by(conn, offers.c.state),
        agents=_agents(conn),
    )


def _team_queues(conn: Connection, teams: Sequence[str], now: datetime) -> dict[str, TeamQueue]:
    c = conversations.c
    held = and_(c.state.in_(WAITING), c.not_before > now)
    waiting = conn.execute(
        select(c.team, func.count().label("n"), func.min(WAIT_START).label("since"))
        .where(c.state.in_(WAITING), or_(c.not_before.is_(None), c.not_before <= now))
        .group_by(c.team)
    )
    lines = {
        row.team: TeamQueue(row.n, max(0.0, (now - row.since).total_seconds())) for row in waiting
    }
    for team, count in conn.execute(
        select(c.team, func.count()).where(held).group_by(c.team)
    ).tuples():
        line = lines.get(team, TeamQueue())
        lines[team] = TeamQueue(line.waiting, line.oldest, count)
    return {team: lines.get(team, TeamQueue()) for team in sorted(set(teams) | lines.keys())}


def _count_by(conn: Connection, column: Any) -> dict[Any, int]:
    return dict(conn.execute(select(column, func.count()).group_by(column)).tuples().all())


def _agents(conn: Connection) -> dict[tuple[str, bool], int]:
    a = agents.c
    rows = conn.execute(
        select(a.status, a.on_shift, func.count().label("n"))
        .where(a.active.is_(True))
        .group_by(a.status, a.on_shift)
    )
    return {(row.status, bool(row.on_shift)): row.n for row in rows}
