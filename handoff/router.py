"""The routing service: carries out the decisions of `handoff.policies` against the database.

Each public method is one transaction; after the commit it hands its events to every listener
(the scheduler, the adapters) and returns them. The methods live in modules by concern:
`intake` (customers), `agent_actions` (claims and moves), `staffing` (status, shifts, sweep), all
on the shared moves of `dispatch`.
"""

from __future__ import annotations

from handoff.agent_actions import AgentActions
from handoff.dispatch import ActionResult, ClaimResult, Listener, Outcome
from handoff.intake import Intake
from handoff.staffing import Staffing

__all__ = ["ActionResult", "ClaimResult", "Listener", "Outcome", "Router"]


class Router(Intake, AgentActions, Staffing):
    """The routing service of SPEC §4: every action, over one engine, config and clock."""
