"""Small configs built in code, so each routing test states exactly the world it runs in."""

from __future__ import annotations

from typing import Any

from handoff.config import Config

ALWAYS = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE = {day: ["08:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def make_config(
    *,
    teams: dict[str, dict[str, Any]] | None = None,
    agents: list[dict[str, Any]] | None = None,
    schedules: dict[str, dict[str, Any]] | None = None,
    intents: dict[str, dict[str, Any]] | None = None,
    **routing: Any,
) -> Config:
    """A valid config: teams default to an always-open `support`, agents to always on shift."""
    all_schedules: dict[str, dict[str, Any]] = {
        "always": {"timezone": "Asia/Jakarta", "hours": ALWAYS},
        "office": {"timezone": "Asia/Jakarta", "hours": OFFICE, "holidays": "ID"},
    }
    all_schedules.update(schedules or {})
    team_specs = teams or {"support": {}}
    return Config.model_validate(
        {
            "messages": {"id": {}, "en": {}},
            "schedules": all_schedules,
            "teams": {
                key: {"name": key.title(), "schedule": "always", **spec}
                for key, spec in team_specs.items()
            },
            "agents": [
                {"name": f"Agent{a['id']}", "teams": ["support"], "shift": "always", **a}
                for a in (agents or [])
            ],
            "intents": intents or {},
            "routing": routing,
        }
    )
