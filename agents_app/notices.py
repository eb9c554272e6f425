"""The routing core's events, told to agents, managers and the group (SPEC §5): the context
message on claim, a chat that ended without them, auto-away and shifts, chats that nobody claims
or that break the SLA, and agents the bot cannot message."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from agents_app import views
from agents_app.cards import claim_data, clock, team_name, team_zone
from agents_app.context import context_message, first_answers
from handoff import store
from handoff.events import (
    AgentReachability,
    AgentStatusChanged,
    Assigned,
    Closed,
    Event,
    OfferMade,
    OpenedToAnyone,
    SlaBreached,
)
from handoff.router import Router
from telegram_io.answer_buttons import answer_buttons
from telegram_io.calls import Buttons, Call, Priority, send_text
from telegram_io.event_notices import EventNotices
from telegram_io.outbox import Outbox
from telegram_io.texts import say

STATUS_NOTICES = ("missed_offers", "shift_start", "shift_end")  # texts `notice_<why>`
MAX_OFFERS_SHOWN = 10  # pending offers one notice lists (an agent's capacity is rarely more)


class AgentNotices(EventNotices):
    """What agents, managers and the group hear of routing events."""

    def __init__(self, router: Router, outbox: Outbox) -> None:
        super().__init__(router, outbox)
        self.bot_username = ""  # set once the bot knows its name (the group's "press Start" tip)

    @property
    def group_id(self) -> int | None:
        return self.router.config.bot.agents_group_id

    def language(self, chat_id: int | None) -> str:
        """An agent's own language, else the agents' (the group's)."""
        return self.config.agent_language(chat_id)

    def text(self, chat_id: int | None, key: str, /, **values: object) -> str:
        """The text `key` in the language of an agent's chat, or of the agents (the group)."""
        return say(self.config, self.language(chat_id), key, **values)

    def calls_for(self, conn: Connection, event: Event) -> list[Call]:
        match event:
            case OfferMade(conversation_id=int(conversation_id), agent_id=agent_id):
                # Telegram notifies nobody of an edit, so the card's @mention after a requeue
                # would go unseen: the offered agent hears of it here, and may claim here too.
                return [self._offers_notice(conn, agent_id, conversation_id, event.deadline)]
            case Assigned(conversation_id=int(conversation_id), agent_id=agent_id):
                language = self.language(agent_id)
                text = context_message(conn, self.config, conversation_id, language)
                refs = first_answers(conn, self.config, conversation_id)
                buttons = answer_buttons(self.config, conversation_id, refs, language)
                return [self._to_agent(agent_id, text, conversation_id, buttons, Priority.HANDOFF)]
            case Closed(
                reason="blocked" | "customer_cancel" | "idle" as reason, agent_id=int(agent_id)
            ):
                customer = store.get_customer(conn, event.customer_id)
                name = (customer.name if customer is not None else "") or str(event.customer_id)
                if reason == "idle":
                    text = self.text(agent_id, "closed_idle_notice", customer=name)
                else:
                    key = "blocked_agent_notice" if reason == "blocked" else "cancel_agent_notice"
                    text = self.text(agent_id, key, customer=name)
                conversation_id = event.conversation_id
                return [self._to_agent(agent_id, f"#{conversation_id} · {text}", conversation_id)]
            case AgentStatusChanged(why=why, agent_id=agent_id) if why in STATUS_NOTICES:
                n = self.config.routing.max_missed_offers
                return [self._to_agent(agent_id, self.text(agent_id, f"notice_{why}", n=n))]
            case OpenedToAnyone(conversation_id=int(conversation_id), attempts=attempts):
                values = {"id": conversation_id, "attempts": attempts}
                return self._to_managers("opened_to_anyone_notice", **values)
            case SlaBreached(conversation_id=int(conversation_id), team=team, waited=waited):
                values = {"id": conversation_id, "team": team_name(self.config, team)}
                minutes = f"{waited / 60:.0f}"
                return self._to_managers("sla_breached_notice", minutes=minutes, **values)
            case AgentReachability(agent_id=agent_id, reachable=reachable):
                return self._to_group(self._reachability(agent_id, reachable))
        return []

    def _offers_notice(
        self, conn: Connection, agent_id: int, newest: int, deadline: datetime
    ) -> Call:
        """What is offered to the agent now, a Claim button each, newest last. One message per
        agent at a time: a notice not sent yet is replaced by the next (`coalesce_key`), so an
        agent offered chats faster than Telegram lets their chat take messages (about one a
        second) hears of them all in the next message instead of falling behind."""
        shown = dict(views.offers_to(conn, agent_id, MAX_OFFERS_SHOWN))
        shown.pop(newest, None)
        shown[newest] = deadline  # last
        blocks, claims = [], []
        for view in views.card_views(conn, list(shown)):
            conversation_id = view.conversation_id
            vip = " ⭐ VIP" if view.is_vip else ""
            until = clock(shown[conversation_id], team_zone(self.config, view.team), seconds=True)
            blocks.append(
                f"🔔 #{conversation_id} · {view.customer_name}{vip} · "
                f"{team_name(self.config, view.team)} · {view.intent or '-'} · "
                f"P{view.priority}\n" + self.text(agent_id, "offer_notice", until=until)
            )
            label = self.text(agent_id, "claim_button", id=conversation_id)
            claims.append([(label, claim_data(conversation_id))])
        call = send_text(
            agent_id, "\n\n".join(blocks), claims, priority=Priority.HANDOFF, conversation_id=newest
        )
        return replace(call, coalesce_key=f"offers:{agent_id}")

    def _reachability(self, agent_id: int, reachable: bool) -> str:
        spec = self.config.agent(agent_id)
        who = (f"@{spec.username}" if spec.username else spec.name) if spec else str(agent_id)
        if reachable:
            return self.text(self.group_id, "reachable_again", who=who)
        link = (
            f"t.me/{self.bot_username}"
            if self.bot_username
            else self.text(self.group_id, "private_chat_with_me")
        )
        return self.text(self.group_id, "unreachable_notice", who=who, link=link)

    @staticmethod
    def _to_agent(
        agent_id: int,
        text: str,
        conversation_id: int | None = None,
        buttons: Buttons | None = None,
        priority: Priority = Priority.AGENT,
    ) -> Call:
        return send_text(
            agent_id, text, buttons, priority=priority, conversation_id=conversation_id
        )

    def _to_managers(self, key: str, **values: object) -> list[Call]:
        """The text `key` to each manager, in their language."""
        return [
            send_text(a.id, self.text(a.id, key, **values), priority=Priority.AGENT)
            for a in self.config.agents
            if a.manager
        ]

    def _to_group(self, text: str) -> list[Call]:
        if self.group_id is None:
            return []
        return [send_text(self.group_id, text, priority=Priority.GROUP)]
