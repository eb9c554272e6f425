"""The context message an agent gets on claiming a chat (SPEC §5), and the transcript of
`/history`: who the customer is, what they asked, earlier conversations, what was said so far."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from agents_app import views
from agents_app.cards import clock, team_name, team_zone, trimmed
from handoff import store
from handoff.config import Config
from telegram_io.messages import TEXT_LIMIT

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
) -> str:
    zone = team_zone(config, conversation.team)
    who = customer.name or str(customer.id)
    handle = f" (@{customer.username})" if customer.username else ""
    tags = ["⭐ VIP"] if customer.is_vip else []
    tags.append("new customer (lead)" if conversation.is_lead else "existing customer")
    if customer.lead_source:
        tags.append(f"came from {customer.lead_source}")
    tags.append(f"language {customer.language}")
    head = [
        f"#{conversation.id} · {who}{handle} is yours now",
        " · ".join(tags),
        f"Topic: {conversation.intent or 'not recognised'} → "
        f"{team_name(config, conversation.team)}, priority {conversation.priority}",
    ]
    if past:
        earlier = "; ".join(
            f"#{p.conversation_id} {p.closed_at.astimezone().strftime('%d %b')}"
            f" {p.intent or '-'}, {p.agent_name or 'bot'}" + (f", ★{p.score}" if p.score else "")
            for p in past
        )
        head.append(f"Earlier: {earlier}")
    head.append("")
    head.append("So far:" if lines else "So far: nothing written yet.")
    tail = [
        "",
        "Write here to answer. Reply to one of this chat's messages to reach it when you hold "
        "several; /mine lists them, /close ends this one.",
    ]
    return fit(head, transcript_lines(lines, zone), tail)


async def context_message(conn: AsyncConnection, config: Config, conversation_id: int) -> str:
    """The context message for a conversation, read on the caller's connection."""
    conversation = await store.get_conversation(conn, conversation_id)
    customer = await store.get_customer(conn, conversation.customer_id)
    past = [
        p
        for p in await views.past_chats(conn, conversation.customer_id)
        if p.conversation_id != conversation_id
    ]
    lines = await views.transcript(conn, conversation_id)
    return render_context(config, conversation, customer, past, lines)
