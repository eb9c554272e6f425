"""Canned replies and suggested answers on the agents' side (SPEC §5): `!key` in a message to a
customer, the `/replies` list, and the buttons that send one answer with a press. What is sent is
always in the customer's language; the transcript keeps which answers were sent, and how."""

from __future__ import annotations

from agents_app import views
from agents_app.desk import AgentDesk, parse_ref
from handoff import canned
from handoff.config import Agent
from handoff.focus import Route, choose_target
from handoff.store import SentMessage
from telegram_io.answer_buttons import CANNED, answer_buttons, pressed
from telegram_io.calls import send_text
from telegram_io.messages import TEXT_LIMIT, telegram_length

LISTED = 20  # replies a /replies answer names
WITH_BUTTONS = 8  # of which the first have a button that sends them


def values_for(desk: AgentDesk, agent_id: int, chat: views.CardView) -> dict[str, object]:
    """What a reply's `{customer}`, `{agent}`, `{team}` and `{id}` stand for in this chat."""
    spec = desk.agent(agent_id)
    team = desk.config.teams.get(chat.team or "")
    named = chat.customer_name != str(chat.customer_id)  # else the card shows the id
    return {
        "customer": first_word(chat.customer_name) if named else "",
        "agent": first_word(spec.name) if spec is not None else "",
        "team": team.name if team is not None else "CS",
        "id": chat.conversation_id,
    }


async def send_answer(
    desk: AgentDesk,
    agent_id: int,
    chat: views.CardView,
    text: str,
    refs: tuple[str, ...],
    how: str,
    message_id: int | None = None,
) -> None:
    """Keep the answer for the transcript (with the refs it sent, and how), then send it to the
    chat's customer as one message."""
    entry = SentMessage(
        "agent",
        "text",
        text,
        agent_id=agent_id,
        telegram_message_id=message_id,
        reply_refs=refs,
        reply_how=how,
    )
    await desk.router.record_messages(chat.customer_id, chat.conversation_id, [entry])
    await desk.outbox.put(send_text(chat.customer_id, text, conversation_id=chat.conversation_id))


async def send_canned(
    desk: AgentDesk, agent_id: int, message_id: int, chat: views.CardView, text: str
) -> bool:
    """An agent's message with `!keys`, filled in the customer's language and sent as one
    message; False when it has no key (a plain message). An unknown key, or a result too long
    for one message, is answered to the agent and nothing is sent."""
    expanded = canned.expand(desk.config, text, chat.language, values_for(desk, agent_id, chat))
    if expanded.unknown:
        await tell_unknown(desk, agent_id, expanded.unknown)
        return True
    if not expanded.canned:
        return False
    if (refusal := too_long(desk, agent_id, expanded.text)) is not None:
        await desk.say(agent_id, refusal)
        return True
    await send_answer(desk, agent_id, chat, expanded.text, expanded.refs, "canned", message_id)
    return True


def too_long(desk: AgentDesk, agent_id: int, text: str) -> str | None:
    """Why `text` cannot go as one message (over Telegram's 4096), None when it can."""
    length = telegram_length(text)
    if length <= TEXT_LIMIT:
        return None
    return desk.text(agent_id, "canned_too_long", length=length, limit=TEXT_LIMIT)


async def tell_unknown(desk: AgentDesk, chat_id: int, keys: tuple[str, ...]) -> None:
    """Nothing sent: which keys the config lacks, and the nearest it has."""
    nearest = [near for key in keys for near in canned.nearest_keys(desk.config, key)]
    hint = ""
    if nearest:
        listed = ", ".join(f"!{key}" for key in dict.fromkeys(nearest))
        hint = desk.text(chat_id, "canned_nearest", keys=listed)
    unknown = ", ".join(f"!{key}" for key in keys)
    await desk.tell(chat_id, "canned_unknown", keys=unknown, nearest=hint)


def first_word(name: str) -> str:
    return next(iter(name.split()), "")


def has_keys(text: str) -> bool:
    return canned.MARKER.search(text) is not None


async def on_answer_button(desk: AgentDesk, agent_id: int, data: str) -> str:
    """A suggestion's or a listed reply's button: sends that answer to the chat it names, if the
    agent holds it and it was not sent there before."""
    asked = pressed(data)
    if asked is None:
        return desk.text(agent_id, "button_expired_agent")
    async with desk.router.engine.connect() as conn:
        chats = {v.conversation_id: v for v in await conn.run_sync(views.open_chats, agent_id)}
    chat = chats.get(asked.conversation_id)
    if chat is None:
        return desk.text(agent_id, "relay_no_longer_yours", id=asked.conversation_id)
    text = canned.text_of(desk.config, asked.ref, chat.language, values_for(desk, agent_id, chat))
    if text is None:
        return desk.text(agent_id, "answer_gone")
    if asked.ref in await desk.router.sent_refs(chat.conversation_id):
        return desk.text(agent_id, "answer_sent_before", id=chat.conversation_id)
    if (refusal := too_long(desk, agent_id, text)) is not None:
        return refusal
    await send_answer(desk, agent_id, chat, text, (asked.ref,), asked.how)
    return desk.text(agent_id, "answer_sent", id=chat.conversation_id, customer=chat.customer_name)


async def list_replies(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """`/replies [#id] [words]`: the canned replies that match, each with a button that sends it
    to the chat (the one named, else the one the agent's messages go to)."""
    if not desk.config.replies:
        await desk.tell(chat_id, "replies_none")
        return
    named = parse_ref(args[0]) if args and args[0].startswith("#") else None
    words = " ".join(args[1:] if named is not None else args)
    keys = canned.search(desk.config, words)
    if not keys:
        await desk.tell(chat_id, "replies_none_found", words=words)
        return
    chat = await target_chat(desk, spec.id, named) if chat_id == spec.id else None
    language = desk.language(chat_id)
    lines = [
        f"!{key} · {canned.title_of(desk.config, canned.reply_ref(key), language)}"
        for key in keys[:LISTED]
    ]
    if len(keys) > LISTED:
        lines.append(desk.text(chat_id, "replies_more", n=len(keys) - LISTED))
    if chat is None:
        heading = desk.text(chat_id, "replies_heading")
        await desk.say(chat_id, "\n".join([heading, *lines]))
        return
    heading = desk.text(
        chat_id, "replies_for_chat", id=chat.conversation_id, customer=chat.customer_name
    )
    sent = await desk.router.sent_refs(chat.conversation_id)
    refs = canned.sendable(desk.config, [canned.reply_ref(k) for k in keys], sent)[:WITH_BUTTONS]
    buttons = answer_buttons(desk.config, chat.conversation_id, refs, language, CANNED)
    await desk.say(chat_id, "\n".join([heading, *lines]), buttons)


async def target_chat(desk: AgentDesk, agent_id: int, named: int | None) -> views.CardView | None:
    """The chat a listed reply's button sends to: the one named if the agent holds it, else the
    one their messages go to now (focus, or their only chat); None when that is not certain."""
    async with desk.router.engine.connect() as conn:
        focus, mine = await desk.holdings(conn, agent_id)
    by_id = {v.conversation_id: v for v in mine}
    if named is not None:
        return by_id.get(named)
    target = choose_target(replied_to=None, focus=focus, open_chats=list(by_id))
    return by_id.get(target.conversation_id or 0) if target.route is Route.SEND else None
