"""The context message an agent gets on claiming a chat (SPEC §5), and the transcript of
`/history`: who the customer is, what they asked, earlier conversations, what was said so far."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from agents_app import views
from agents_app.cards import clock, team_name, team_zone
from handoff import canned, store
from handoff.config import Config
from handoff.trimming import trimmed
from telegram_io.messages import TEXT_LIMIT
from telegram_io.texts import say

SENDERS = {"customer": "👤", "agent": "🎧", "bot": "🤖", "note": "📝"}


def transcript_lines(lines: Sequence[views.Line], timezone: str) -> list[str]:
    return [
        f"{clock(line.at, timezone)} {SENDERS.get(line.sender, '·')} "
        + (trimmed(line.text, 300) if line.text else f"[{line.kind}]")
        for line in lines
    ]


def fit(head: list[str], body: list[str], tail: list[str]) -> str:
    """Head, body and tail within Telegram's 4096 characters, dropping the oldest body lines."""
    while body and len("\n".join(head + body + tail)) > TEXT_LIMIT:
        body = body[1:]
    return "\n".join(head + body + tail)[:TEXT_LIMIT]


def render_context(
    config: Config,
    conversation: Any,
    customer: Any,
    past: Sequence[views.PastChat],
    lines: Sequence[views.Line],
    language: str,
) -> str:
    zone = team_zone(config, conversation.team)

    def text(key: str, /, **values: object) -> str:
        return say(config, language, key, **values)

    who = customer.name or str(customer.id)
    handle = f" (@{customer.username})" if customer.username else ""
    tags = ["⭐ VIP"] if customer.is_vip else []
    tags.append(text("context_lead" if conversation.is_lead else "context_existing"))
    if customer.lead_source:
        tags.append(text("context_source", source=customer.lead_source))
    tags.append(text("context_language", language=customer.language))
    intent = conversation.intent or text("context_not_recognised")
    team = team_name(config, conversation.team)
    head = [
        text("context_yours", id=conversation.id, customer=f"{who}{handle}"),
        " · ".join(tags),
        text("context_topic", intent=intent, team=team, priority=conversation.priority),
    ]
    if past:
        earlier = "; ".join(
            f"#{p.conversation_id} {p.closed_at.astimezone().strftime('%d %b')}"
            f" {p.intent or '-'}, {p.agent_name or text('the_bot')}"
            + (f", ★{p.score}" if p.score else "")
            for p in past
        )
        head.append(text("context_earlier", chats=earlier))
    head.append("")
    head.append(text("context_so_far" if lines else "context_nothing_yet"))
    tail = ["", text("context_how_to_answer")]
    return fit(head, transcript_lines(lines, zone), tail)


def context_message(conn: Connection, config: Config, conversation_id: int, language: str) -> str:
    """The context message for a conversation in `language`, read on the caller's connection."""
    conversation = store.get_conversation(conn, conversation_id)
    customer = store.get_customer(conn, conversation.customer_id)
    past = [
        p
        for p in views.past_chats(conn, conversation.customer_id)
        if p.conversation_id != conversation_id
    ]
    lines = views.transcript(conn, conversation_id)
    return render_context(config, conversation, customer, past, lines, language)


def first_answers(conn: Connection, config: Config, conversation_id: int) -> list[str]:
    """What the agent who takes a chat may send first (`handoff.canned` refs): the answers
    suggested for the customer's last message, else the FAQ answer of the chat's intent; none
    sent in the chat before."""
    conversation = store.get_conversation(conn, conversation_id)
    given, refs = store.chat_answers(conn, conversation)
    if not refs and conversation.intent:
        refs = [canned.faq_ref(conversation.intent)]
    return canned.sendable(config, refs, given)
