"""Agents' messages to customers (SPEC §5.3): to the chat they reply to, else the one in focus;
a question with a button per chat when that is not certain, and nothing sent on a guess."""

from __future__ import annotations

import re

from sqlalchemy import Connection
from telegram import Message

from agents_app import answers, views
from agents_app.desk import AgentDesk
from handoff import log_context
from handoff.focus import Route, choose_target
from telegram_io.calls import pass_on
from telegram_io.messages import CAPTIONED, RELAYED_KINDS, message_kind

TARGET = re.compile(r"^to:(\d{1,18}):(\d{1,18})$")
MARK = re.compile(r"^#(\d{1,18}) · ")  # how the bot marks what it passes on from a customer


async def on_agent_message(desk: AgentDesk, agent_id: int, message: Message) -> None:
    """Relay to the customer it is for; ask when that is not certain."""
    kind = message_kind(message)
    if kind not in RELAYED_KINDS:
        await desk.tell(agent_id, "relay_kind_not_passed")
        return
    reply = message.reply_to_message

    def facts(conn: Connection) -> tuple[int | None, int | None, list[views.CardView], int | None]:
        replied = None
        if reply is not None:
            replied = views.conversation_of_message(conn, agent_id, reply.message_id)
        focus, mine = views.holdings(conn, agent_id)
        sent_before = views.conversation_of_message(conn, agent_id, message.message_id)
        return replied, focus, mine, sent_before

    replied, focus, mine, sent_before = await desk.read(facts)
    if reply is not None and replied is None:  # not recorded yet, maybe: the mark says which
        mark = MARK.match(reply.text or reply.caption or "")
        replied = int(mark.group(1)) if mark else None
    if sent_before is not None:
        return  # relayed already: this update is being processed again
    by_id = {v.conversation_id: v for v in mine}
    target = choose_target(
        replied_to=replied,
        focus=focus,
        open_chats=list(by_id),
        unplaced_reply=(
            reply is not None
            and replied is None
            and reply.from_user is not None
            and reply.from_user.is_bot
        ),
    )
    text = message.text or message.caption or ""
    canned = kind in ("text", *CAPTIONED) and answers.has_keys(text)
    if target.route is Route.SEND:
        assert target.conversation_id is not None
        log_context.bind(conversation_id=target.conversation_id)
        chat = by_id[target.conversation_id]
        if canned:
            await answers.send_canned(desk, agent_id, message.message_id, chat, text, kind)
        else:
            await copy_to_customer(desk, agent_id, message.message_id, chat, kind, text)
    elif target.route is Route.NOT_YOURS:
        await desk.tell(agent_id, "relay_not_yours", id=target.conversation_id)
    elif target.route is Route.NO_CHAT:
        await desk.tell(agent_id, "relay_no_chat")
    elif canned:  # a "which chat?" button copies a message as it is, keys unfilled
        await desk.tell(agent_id, "canned_which_chat")
    else:
        buttons = [
            [(f"#{c} · {by_id[c].customer_name}", f"to:{c}:{message.message_id}")]
            for c in target.choices
        ]
        await desk.say(agent_id, desk.text(agent_id, "relay_which_chat"), buttons)


async def copy_to_customer(
    desk: AgentDesk, agent_id: int, message_id: int, chat: views.CardView, kind: str, text: str
) -> None:
    """Keep the agent's message for the transcript, stamped when it came in, then copy it to the
    chat's customer."""
    await desk.router.record_message(
        chat.conversation_id,
        sender="agent",
        customer_id=chat.customer_id,
        agent_id=agent_id,
        kind=kind,
        text=text,
        telegram_message_id=message_id,
    )
    await desk.outbox.put(
        *pass_on(
            chat.customer_id,
            agent_id,
            message_id,
            kind,
            text,
            conversation_id=chat.conversation_id,
        )
    )


async def on_target_button(desk: AgentDesk, agent_id: int, data: str) -> str:
    """The answer to "which chat is this for?": copies the agent's own message only."""
    match = TARGET.match(data)
    if match is None:
        return desk.text(agent_id, "button_expired_agent")
    conversation_id, message_id = int(match.group(1)), int(match.group(2))
    held, sent_before = await desk.read(
        lambda conn: (
            views.open_chats(conn, agent_id),
            views.conversation_of_message(conn, agent_id, message_id),
        )
    )
    chats = {v.conversation_id: v for v in held}
    if sent_before is not None:
        return desk.text(agent_id, "relay_sent_before", id=sent_before)
    chat = chats.get(conversation_id)
    if chat is None:
        return desk.text(agent_id, "relay_no_longer_yours", id=conversation_id)
    # Its kind is not in the button; the transcript shows [copy].
    await copy_to_customer(desk, agent_id, message_id, chat, "copy", "")
    await desk.router.set_focus(agent_id, conversation_id)
    return desk.text(agent_id, "relay_sent_to", id=conversation_id, customer=chat.customer_name)
