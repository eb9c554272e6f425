"""Telegram's inline mode for agents (SPEC §5): `@bot words` typed in an agent's private chat with
the bot lists their own snippets and the team's canned replies that match. Choosing one sends
`!key` as the agent's own message, which the relay then fills in the customer's language and sends
to the chat in focus, like a key typed by hand: one path for both."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)

from agents_app.answers import own_snippets
from agents_app.desk import AgentDesk
from handoff import canned
from handoff.trimming import trimmed

PAGE = 20  # results per answer (Telegram takes 50); scrolling asks for the next page
DESCRIPTION = 120  # characters of a reply's text shown under its title
START = "replies"  # the /start parameter of the button shown outside the agent's private chat
WITH_THE_BOT = "sender"  # InlineQuery.chat_type of the user's private chat with the bot


@dataclass(frozen=True)
class InlineAnswer:
    """What to answer an inline query with (`InlineQuery.answer`)."""

    results: list[InlineQueryResultArticle] = field(default_factory=list)
    next_offset: str = ""
    button: InlineQueryResultsButton | None = None


async def answer_inline(
    desk: AgentDesk, user_id: int, words: str, chat_type: str | None, offset: str
) -> InlineAnswer:
    """The replies that match `words` for an agent typing in their chat with the bot, a page at a
    time (`offset`: where the page starts). Anyone else gets nothing: a customer must not see the
    team's replies; an agent elsewhere gets a button to their chat with the bot."""
    spec = desk.agent(user_id)
    if spec is None:
        return InlineAnswer()
    if chat_type != WITH_THE_BOT:
        text = desk.text(user_id, "inline_elsewhere")
        return InlineAnswer(button=InlineQueryResultsButton(text, start_parameter=START))
    own = await own_snippets(desk, user_id)
    refs = canned.search(desk.config, words, own)
    start = int(offset) if offset.isdigit() and int(offset) < len(refs) else 0
    page = refs[start : start + PAGE]
    results = [result(desk, user_id, ref, own) for ref in page]
    more = start + PAGE < len(refs)
    return InlineAnswer(results, str(start + PAGE) if more else "")


def result(
    desk: AgentDesk, agent_id: int, ref: str, own: canned.Snippets
) -> InlineQueryResultArticle:
    """One reply as a result, in the agent's language: its key and title, the start of its text,
    and `!key` to send."""
    language = desk.language(agent_id)
    key = canned.key_of(ref)
    title = canned.title_of(desk.config, ref, language, own) or key
    text = canned.written(desk.config, ref, language, own, desk.config.bot.agents_language)
    if ref.startswith("p:"):
        title = f"{title} {desk.text(agent_id, 'replies_yours')}"
    return InlineQueryResultArticle(
        id=ref,
        title=f"!{key} · {title}",
        description=trimmed(text or "", DESCRIPTION),
        input_message_content=InputTextMessageContent(f"!{key}"),
    )
