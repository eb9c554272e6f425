"""The routing core's events, told to the customer (SPEC §3.4–3.7): where they stand, who joined,
the rating prompt. What agents, managers and the group hear is `agents_app`'s.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from handoff import store
from handoff.events import (
    Assigned,
    Closed,
    Event,
    HeldAfterHours,
    OfferMade,
    Queued,
    RoutedAfterHours,
)
from telegram_io.calls import Call, send_text
from telegram_io.event_notices import EventNotices
from telegram_io.outbox import sent_message_id
from telegram_io.texts import say, spell_moment, spell_wait

CSAT_AFTER = ("agent", "manager", "idle")


class CustomerNotices(EventNotices):
    """What the customer hears of routing events."""

    def calls_for(self, conn: Connection, event: Event) -> list[Call]:
        match event:
            case Queued():
                return self._place_in_line(conn, event)
            case OfferMade(announced=True):  # offered at once: no place in line to tell
                language = self._language(conn, event.customer_id)
                text = say(
                    self.config, language, "human_request_ack", team=self._team_name(event.team)
                )
                return [send_text(event.customer_id, text)]
            case HeldAfterHours():
                language = self._language(conn, event.customer_id)
                key = "after_hours_bot_only" if event.policy == "bot_only" else "after_hours_queue"
                opening = spell_moment(
                    event.opening, self._timezone(event.team), language, self.router.clock.now()
                )
                text = say(
                    self.config, language, key, team=self._team_name(event.team), opening=opening
                )
                return [send_text(event.customer_id, text)]
            case RoutedAfterHours():
                language = self._language(conn, event.customer_id)
                text = say(
                    self.config, language, "after_hours_team", team=self._team_name(event.from_team)
                )
                return [send_text(event.customer_id, text)]
            case Assigned():
                language = self._language(conn, event.customer_id)
                agent = self.config.agent(event.agent_id)
                first_name = agent.name.split()[0] if agent is not None else "CS"
                text = say(self.config, language, "agent_joined", agent=first_name)
                return [send_text(event.customer_id, text)]
            case Closed(reason=reason) if reason in CSAT_AFTER:
                language = self._language(conn, event.customer_id)
                scores = [[(str(n), f"csat:{event.conversation_id}:{n}") for n in range(1, 6)]]
                text = say(self.config, language, "closed_csat_prompt")
                return [send_text(event.customer_id, text, scores)]
        return []

    def _place_in_line(self, conn: Connection, event: Queued) -> list[Call]:
        """The place in line and the wait, in one status message: sent when the chat joins
        the queue, edited when they change (SPEC §3.5), so a long wait costs no more messages."""
        language = self._language(conn, event.customer_id)
        values = {
            "team": self._team_name(event.team),
            "position": f"{event.position}+" if event.at_least else event.position,
            "wait": spell_wait(event.estimated_wait, language, at_least=event.at_least),
        }
        text = (
            say(self.config, language, "human_request_ack", **values)
            + "\n\n"
            + say(self.config, language, "handoff_queued", **values)
        )
        key = f"place-in-line:{event.conversation_id}"
        status = None if event.first else sent_message_id(conn, key)
        if status is None:  # the first, or the first is not out yet: (re)send it
            return [replace(send_text(event.customer_id, text), coalesce_key=key)]
        params = {"chat_id": event.customer_id, "message_id": status, "text": text}
        return [Call(event.customer_id, "editMessageText", params, coalesce_key=f"{key}:edit")]

    def _customer(self, conn: Connection, customer_id: int) -> Any:
        # The transaction's own connection: another one from the pool may not be free.
        return store.get_customer(conn, customer_id)

    def _language(self, conn: Connection, customer_id: int) -> str:
        customer = self._customer(conn, customer_id)
        return customer.language if customer is not None else self.config.bot.default_language

    def _team_name(self, team: str) -> str:
        spec = self.config.teams.get(team)
        return spec.name if spec is not None else team

    def _timezone(self, team: str) -> str:
        spec = self.config.teams.get(team)
        schedule = self.config.schedules.get(spec.schedule) if spec is not None else None
        return schedule.timezone if schedule is not None else "UTC"
