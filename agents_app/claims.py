"""Claims (SPEC §5.2): the Claim button on a card or an offer notice, and `/take #id`."""

from __future__ import annotations

import re

from sqlalchemy import Connection

from agents_app import views
from agents_app.desk import AgentDesk, parse_ref
from handoff import store
from handoff.config import Agent

CLAIM = re.compile(r"^claim:(\d{1,18})$")


async def on_claim_button(
    desk: AgentDesk, user_id: int, chat_id: int | None, message_id: int | None, data: str
) -> str:
    """A Claim button: checked against the card stored for that conversation."""
    match = CLAIM.match(data)
    if match is None or chat_id is None or message_id is None:
        return desk.text(user_id, "button_expired_agent")
    conversation_id = int(match.group(1))

    def pressed_on_its_own_message(conn: Connection) -> bool:
        if chat_id == user_id:  # an offers notice in the agent's private chat
            carried = views.buttons_of_message(conn, user_id, message_id)
            if carried is None:  # sent, but not yet recorded: the offer itself must be theirs
                offer = store.pending_offer(conn, conversation_id)
                return bool(offer and offer.agent_id == user_id)
            return data in carried  # a notice lists several offers, a Claim button each
        card = views.card_of(conn, conversation_id)
        # The card's message id is stored once its send is recorded; a press can come first.
        return (
            card is not None and card.chat_id == chat_id and card.message_id in (None, message_id)
        )

    if not await desk.read(pressed_on_its_own_message):
        return desk.text(user_id, "button_expired_agent")
    return await desk.claim_answer(user_id, conversation_id, "claim")


async def take(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """`/take #12`: claim a waiting chat."""
    ref = parse_ref(args[0]) if args else None
    if ref is None:
        await desk.tell(chat_id, "write_it_as", example="/take #12")
        return
    await desk.say(chat_id, await desk.claim_answer(spec.id, ref, "take"))
