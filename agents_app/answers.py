"""Canned replies and suggested answers on the agents' side (SPEC §5): `!key` in a message to a
customer, the `/replies` list, and the buttons that send one answer with a press. What is sent is
always in the customer's language; the transcript keeps which answers were sent, and how."""

from __future__ import annotations

from agents_app import views
from agents_app.desk import AgentDesk, Quoted, parse_ref
from handoff import canned, snippets
from handoff.config import Agent
from handoff.focus import Route, choose_target
from handoff.store import SentMessage
from telegram_io.answer_buttons import CANNED, answer_buttons, pressed
from telegram_io.calls import pass_on, send_text, send_with_files
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


async def record_answer(
    desk: AgentDesk,
    agent_id: int,
    chat: views.CardView,
    kind: str,
    text: str,
    refs: tuple[str, ...],
    how: str,
    message_id: int | None = None,
) -> None:
    """Keep an agent's answer for the transcript, with the refs it sent and how."""
    entry = SentMessage(
        "agent",
        kind,
        text,
        agent_id=agent_id,
        telegram_message_id=message_id,
        reply_refs=refs,
        reply_how=how,
    )
    await desk.router.record_messages(chat.customer_id, chat.conversation_id, [entry])


async def send_answer(
    desk: AgentDesk,
    agent_id: int,
    chat: views.CardView,
    text: str,
    refs: tuple[str, ...],
    how: str,
    message_id: int | None = None,
    files: tuple[tuple[str, str], ...] = (),
) -> None:
    """Keep the answer for the transcript, then send it to the chat's customer as one message
    (with its replies' files: the text as a single file's caption when it fits, else after
    them)."""
    kind = files[0][0] if len(files) == 1 else "text"
    await record_answer(desk, agent_id, chat, kind, text, refs, how, message_id)
    if not files:
        call = send_text(chat.customer_id, text, conversation_id=chat.conversation_id)
        await desk.outbox.put(call)
        return
    sources = [(file_kind, desk.outbox.file_source(path)) for file_kind, path in files]
    await desk.outbox.put(
        *send_with_files(chat.customer_id, text, sources, conversation_id=chat.conversation_id)
    )


async def send_canned(
    desk: AgentDesk,
    agent_id: int,
    message_id: int,
    chat: views.CardView,
    text: str,
    kind: str = "text",
) -> bool:
    """An agent's message with `!keys` (in a text, or a photo's or document's caption), filled in
    the customer's language (their own snippets as written) and sent as one message; False when
    it has no key (a plain message). An unknown key, or a result too long for one message, is
    answered to the agent and nothing is sent."""
    keys = {key.lower() for key in canned.MARKER.findall(text)}
    own = await own_snippets(desk, agent_id) if keys - desk.config.replies.keys() else canned.NONE
    values = values_for(desk, agent_id, chat)
    expanded = canned.expand(desk.config, text, chat.language, values, own)
    if expanded.unknown:
        await tell_unknown(desk, agent_id, expanded.unknown, own)
        return True
    if not expanded.canned:
        return False
    if (refusal := too_long(desk, agent_id, expanded.text)) is not None:
        await desk.say(agent_id, refusal)
        return True
    if kind != "text":  # the agent's media, its caption filled (what exceeds 1024 follows)
        refs = expanded.refs
        await record_answer(desk, agent_id, chat, kind, expanded.text, refs, "canned", message_id)
        calls = pass_on(
            chat.customer_id,
            agent_id,
            message_id,
            kind,
            expanded.text,
            conversation_id=chat.conversation_id,
            recaptioned=True,
        )
        await desk.outbox.put(*calls)
        return True
    await send_answer(
        desk, agent_id, chat, expanded.text, expanded.refs, "canned", message_id, expanded.files
    )
    return True


def too_long(desk: AgentDesk, agent_id: int, text: str) -> str | None:
    """Why `text` cannot go as one message (over Telegram's 4096), None when it can."""
    length = telegram_length(text)
    if length <= TEXT_LIMIT:
        return None
    return desk.text(agent_id, "canned_too_long", length=length, limit=TEXT_LIMIT)


async def own_snippets(desk: AgentDesk, agent_id: int) -> canned.Snippets:
    return await snippets.of_agent(desk.router.database, agent_id)


async def tell_unknown(
    desk: AgentDesk, chat_id: int, keys: tuple[str, ...], own: canned.Snippets
) -> None:
    """Nothing sent: which keys neither the config nor the agent has, and the nearest they have."""
    nearest = [near for key in keys for near in canned.nearest_keys(desk.config, key, own)]
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
    held = await desk.read(lambda conn: views.open_chats(conn, agent_id))
    chats = {v.conversation_id: v for v in held}
    chat = chats.get(asked.conversation_id)
    if chat is None:
        return desk.text(agent_id, "relay_no_longer_yours", id=asked.conversation_id)
    own = await own_snippets(desk, agent_id) if asked.ref.startswith("p:") else canned.NONE
    values = values_for(desk, agent_id, chat)
    text = canned.text_of(desk.config, asked.ref, chat.language, values, own)
    if text is None:
        return desk.text(agent_id, "answer_gone")
    if asked.ref in await desk.router.sent_refs(chat.conversation_id):
        return desk.text(agent_id, "answer_sent_before", id=chat.conversation_id)
    if (refusal := too_long(desk, agent_id, text)) is not None:
        return refusal
    file = canned.file_of(desk.config, asked.ref)
    files = (file,) if file is not None else ()
    await send_answer(desk, agent_id, chat, text, (asked.ref,), asked.how, files=files)
    return desk.text(agent_id, "answer_sent", id=chat.conversation_id, customer=chat.customer_name)


async def list_replies(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """`/replies [#id] [words]`: the agent's own snippets and the team's canned replies that
    match, each with a button that sends it to the chat (the one named, else the one the
    agent's messages go to)."""
    own = await own_snippets(desk, spec.id)
    if not desk.config.replies and not own:
        await desk.tell(chat_id, "replies_none")
        return
    named = parse_ref(args[0]) if args and args[0].startswith("#") else None
    words = " ".join(args[1:] if named is not None else args)
    refs = canned.search(desk.config, words, own)
    if not refs:
        await desk.tell(chat_id, "replies_none_found", words=words)
        return
    chat = await target_chat(desk, spec.id, named) if chat_id == spec.id else None
    language = desk.language(chat_id)
    yours = desk.text(chat_id, "replies_yours")
    lines = [
        f"!{canned.key_of(ref)} · {canned.title_of(desk.config, ref, language, own)}"
        + (f" {yours}" if ref.startswith("p:") else "")
        for ref in refs[:LISTED]
    ]
    if len(refs) > LISTED:
        lines.append(desk.text(chat_id, "replies_more", n=len(refs) - LISTED))
    if chat is None:
        heading = desk.text(chat_id, "replies_heading")
        await desk.say(chat_id, "\n".join([heading, *lines]))
        return
    heading = desk.text(
        chat_id, "replies_for_chat", id=chat.conversation_id, customer=chat.customer_name
    )
    sent = await desk.router.sent_refs(chat.conversation_id)
    refs = canned.sendable(desk.config, refs, sent, own)[:WITH_BUTTONS]
    buttons = answer_buttons(desk.config, chat.conversation_id, refs, language, CANNED, own)
    await desk.say(chat_id, "\n".join([heading, *lines]), buttons)


async def save(
    desk: AgentDesk, spec: Agent, chat_id: int, args: list[str], quoted: Quoted | None
) -> None:
    """`/save key` in reply to one of the agent's own messages: keep it as their snippet."""
    if len(args) != 1 or quoted is None:
        await desk.tell(chat_id, "save_how")
        return
    key = args[0].removeprefix("!").lower()
    if quoted.sender_id != spec.id:
        await desk.tell(chat_id, "save_not_yours", key=key)
        return
    if quoted.kind != "text":
        await desk.tell(chat_id, "save_text_only")
        return
    saved = await snippets.save(
        desk.router.database, desk.config, desk.router.clock.now(), spec.id, key, quoted.text
    )
    limit = snippets.MAX_PER_AGENT if saved is snippets.Saved.TOO_MANY else snippets.MAX_LENGTH
    await desk.tell(chat_id, f"save_{saved}", key=key, limit=limit)


async def forget(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """`/forget key`: remove one of the agent's snippets."""
    if len(args) != 1:
        await desk.tell(chat_id, "write_it_as", example="/forget key")
        return
    key = args[0].removeprefix("!").lower()
    forgotten = await snippets.forget(desk.router.database, spec.id, key)
    await desk.tell(chat_id, "forget_done" if forgotten else "forget_none", key=key)


async def promote(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """`/promote key [@agent]` (managers): an agent's snippet (the manager's own when no agent is
    named) as an entry of the config's `replies:`, to paste and reload."""
    if not 1 <= len(args) <= 2:
        await desk.tell(chat_id, "write_it_as", example="/promote key @agent")
        return
    owner = desk.agent_named(args[1]) if len(args) == 2 else spec
    if owner is None:
        await desk.tell(chat_id, "promote_unknown_agent", agent=args[1])
        return
    key = args[0].removeprefix("!").lower()
    text = (await own_snippets(desk, owner.id)).get(key)
    if text is None:
        await desk.tell(chat_id, "promote_none", agent=desk.name_of(owner.id), key=key)
        return
    language = desk.language(owner.id)
    other = "en" if language == "id" else "id"
    heading = desk.text(chat_id, "promote_yaml", key=key, agent=desk.name_of(owner.id), other=other)
    entry = snippets.as_config_yaml(key, text, language)
    await desk.say(chat_id, f"{heading}\n\n{entry}")


async def target_chat(desk: AgentDesk, agent_id: int, named: int | None) -> views.CardView | None:
    """The chat a listed reply's button sends to: the one named if the agent holds it, else the
    one their messages go to now (focus, or their only chat); None when that is not certain."""
    focus, mine = await desk.read(lambda conn: views.holdings(conn, agent_id))
    by_id = {v.conversation_id: v for v in mine}
    if named is not None:
        return by_id.get(named)
    target = choose_target(replied_to=None, focus=focus, open_chats=list(by_id))
    return by_id.get(target.conversation_id or 0) if target.route is Route.SEND else None
