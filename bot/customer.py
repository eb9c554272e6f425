"""The customer's side (SPEC §3): greeting, intents and FAQ, handoff, waiting, relay to the agent,
CSAT. Handlers are thin: read the update, ask the routing core or the matcher, put replies in the
outbox. What a text means is decided by `bot.replies.decide`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    Message,
    Update,
    User,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.classifier import Example
from bot.crm import CrmClient
from bot.replies import Reply, decide, person_intent, person_intents
from bot.small_talk import Kind, SmallTalk
from bot.suggestions import Suggester
from bot.throttle import Throttle
from bot.understanding import Reader
from handoff import log_context, store
from handoff.canned import faq_ref
from handoff.config import Config
from handoff.router import ActionResult, Router
from handoff.states import ConversationState
from handoff.store import SentMessage
from telegram_io.answer_buttons import answer_buttons
from telegram_io.calls import (
    Buttons,
    Call,
    Priority,
    pass_on,
    replace_keyboard,
    send_long_text,
    send_text,
)
from telegram_io.messages import message_kind
from telegram_io.outbox import Outbox
from telegram_io.texts import LANGUAGES, language_of, say

log = logging.getLogger(__name__)
C = ConversationState
COMMANDS = ("start", "human", "cancel", "language", "skip")  # texts `customer_command_<name>`
DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram allows in a /start parameter
# A topic, FAQ or choice button carries the step it was sent at (`menu:billing.12o`, see
# `step_of`); pressed at a later step it has expired. (Without one: sent before steps were kept.)
CALLBACK = re.compile(
    r"^(?:(menu|faq_ok|faq_human|lang|pick):([A-Za-z0-9_]{1,40}|-)(?:\.(\d{1,18}o?))?"
    r"|(csat):(\d{1,18}):([1-5]))$"
)
NONE_OF_THESE = "-"  # `pick:-`: the customer meant none of the topics the bot asked about
CHOSEN = "chosen"  # the one button left of a pressed keyboard: pressing it does nothing
STICKER = "🙂"  # what a sticker is read as: small talk, never "not understood"
SMALL_TALK_ANSWERS = {Kind.THANKS: "small_talk_thanks", Kind.GOODBYE: "small_talk_goodbye"}


class CustomerDesk:
    """Everything the customer handlers need, with the decisions they share."""

    def __init__(
        self,
        router: Router,
        outbox: Outbox,
        crm: CrmClient,
        reader: Reader,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.router = router
        self.outbox = outbox
        self.crm = crm
        self.wall = wall
        self.config = router.config
        self.reader = reader
        self.suggester = Suggester(self.config, reader)
        self.person_only = person_intents(self.config)
        self.small_talk = SmallTalk(self.config.small_talk)
        self.throttle = Throttle(self.config.bot.spam)

    async def status(self, customer_id: int) -> tuple[Any, Any]:
        """The customer and their open conversation (`Router.customer_status`); what is logged
        from here on names that conversation."""
        customer, conversation = await self.router.customer_status(customer_id)
        log_context.bind(conversation_id=conversation.id if conversation is not None else None)
        return customer, conversation

    async def reload(self) -> None:
        """Rebuild what depends on the config (after a live reload)."""
        self.reader = await trained_reader(self.router)
        self.config = self.router.config
        self.suggester = Suggester(self.config, self.reader)
        self.person_only = person_intents(self.config)
        self.small_talk = SmallTalk(self.config.small_talk)
        self.throttle = Throttle(self.config.bot.spam)

    def is_agent(self, user: User | None) -> bool:
        return user is not None and self.config.agent(user.id) is not None

    # ---- replies ------------------------------------------------------------------------

    def menu_buttons(self, language: str, step: str) -> Buttons:
        """The topics, for the customer at `step` (see `step_of`)."""
        return [
            [
                (
                    item.label.get(language) or next(iter(item.label.values())),
                    f"menu:{item.intent}.{step}",
                )
            ]
            for item in self.config.menu
        ]

    def faq_buttons(self, language: str, intent: str, step: str) -> Buttons:
        return [
            [
                (say(self.config, language, "faq_helpful_button"), f"faq_ok:{intent}.{step}"),
                (say(self.config, language, "faq_human_button"), f"faq_human:{intent}.{step}"),
            ]
        ]

    def choice_buttons(self, language: str, reply: Reply, step: str) -> Buttons:
        """A button per topic the bot is not sure between, and one for none of them."""
        buttons: Buttons = [
            [(self.config.intents[name].name_in(language, name), f"pick:{name}.{step}")]
            for name in reply.choices
        ]
        other = say(self.config, language, "clarify_other")
        return [*buttons, [(other, f"pick:{NONE_OF_THESE}.{step}")]]

    async def remember(self, user: User, lead_source: str | None) -> Any:
        """First contact: remember the customer (the greeting goes with the first answer)."""
        return await self.router.ensure_customer(
            user.id,
            name=user.full_name,
            username=user.username,
            language=language_of(user.language_code, self.config.bot.default_language),
            lead_source=lead_source,
        )

    async def known_customer(self, user: User) -> Any:
        """The customer, remembered and greeted first if this is their first contact."""
        customer, _ = await self.status(user.id)
        if customer is None:
            customer = await self.remember(user, lead_source=None)
            await self.greet(user.id, customer.language, step_of(None, None))
        return customer

    async def greet(self, chat_id: int, language: str, step: str) -> None:
        """The greeting and the topic menu, one message."""
        text = self.greeted(language, say(self.config, language, "menu_prompt"), True)
        await self.outbox.put(send_text(chat_id, text, self.menu_buttons(language, step)))

    def greeted(self, language: str, text: str, first: bool) -> str:
        """`text`, after the greeting on a first contact (one message, not two)."""
        return say(self.config, language, "greeting") + "\n\n" + text if first else text

    # ---- the conversation ---------------------------------------------------------------

    async def on_text_or_media(self, user: User, message: Message) -> None:
        """A customer's message: relay it, note it, or answer it, by where their chat stands."""
        await self.wait_for_turn(user.id, message.date.timestamp())
        customer, conversation = await self.status(user.id)
        first = customer is None
        if customer is None:
            customer = await self.remember(user, lead_source=None)
        kind = message_kind(message)
        text = message.text or message.caption or ""
        state = conversation.state if conversation is not None else None
        if state == C.ASSIGNED:
            await self.relay_to_agent(conversation, customer, message, kind, text)
            return
        if customer.csat_comment_for is not None and kind == "text" and state is None:
            result = await self.router.record_csat_comment(customer.csat_comment_for, user.id, text)
            if result is ActionResult.DONE:
                await self.outbox.put(
                    send_text(user.id, say(self.config, customer.language, "csat_thanks"))
                )
                return
        if self.held_for_opening(conversation) and self.small_talk.kind(text) is None:
            await self.keep_for_opening(conversation, customer, message, kind, text)
            return
        waiting = state in (C.QUEUED, C.OFFERED)
        read = text if kind == "text" else (STICKER if kind == "sticker" else "")
        reply = decide(
            self.config,
            self.reader,
            read,
            unknown_streak=customer.unknown_streak,
            waiting=waiting,
            person_only=self.person_only,
            small_talk=self.small_talk,
        )
        conversation_id = conversation.id if conversation is not None else None
        # What the agent who takes the chat may send first: suggested for the last words before
        # the handoff (and for those while waiting), shown with the context on claim.
        suggested = []
        if reply.handoff or waiting:
            suggested = self.suggester.suggest(text)
        elif reply.answer_intent is not None:  # read already: the replies' keywords only
            suggested = self.suggester.suggest(text, understood=reply.answer_intent)
        heard = customer_line(message, kind, text, suggested)
        await self.carry_out(
            user,
            customer.language,
            reply,
            text,
            customer.unknown_streak,
            conversation_id,
            first,
            heard=heard,
            step=step_of(customer, conversation),
        )

    def held_for_opening(self, conversation: Any) -> bool:
        """Whether the chat waits for its team's opening with a message left (`bot_only`)."""
        return (
            conversation is not None
            and conversation.state == C.QUEUED
            and conversation.after_hours_policy == "bot_only"
            and conversation.not_before is not None
            and conversation.not_before > self.router.clock.now()
        )

    async def keep_for_opening(
        self, conversation: Any, customer: Any, message: Message, kind: str, text: str
    ) -> None:
        """A message left for a closed team: kept with its chat (the agent who takes it at the
        opening reads it in the context), and the customer told so, once per burst."""
        entry = customer_line(message, kind, text, self.suggester.suggest(text))
        await self.note(customer.id, conversation.id, entry)
        team = self.config.teams.get(conversation.team)
        kept = say(
            self.config, customer.language, "after_hours_kept", team=team.name if team else "CS"
        )
        call = replace(send_text(customer.id, kept), coalesce_key=f"kept:{conversation.id}")
        await self.outbox.put(call)

    async def note(self, customer_id: int, conversation_id: int | None, entry: SentMessage) -> None:
        """Keep a message for the transcript, committed with the writes of other chats."""
        await self.outbox.group.write(self.noting(customer_id, conversation_id, [entry]))

    def noting(
        self, customer_id: int, conversation_id: int | None, entries: list[SentMessage]
    ) -> Callable[[Connection], None]:
        """The transcript's write of `entries` (the one path for what the customer and the bot
        say), to run in a transaction with others."""
        now = self.router.clock.now()
        keys = store.transcript_keys(customer_id, entries)  # here, in the update's own task
        return lambda conn: store.insert_messages(
            conn, now, customer_id, conversation_id, entries, keys
        )

    async def carry_out(
        self,
        user: User,
        language: str,
        reply: Reply,
        text: str,
        streak: int,
        conversation_id: int | None = None,
        first: bool = False,
        *,
        heard: SentMessage | None = None,
        step: str,
    ) -> None:
        """Send the decided reply as one message, greeting first on a first contact (kept for
        the transcript an agent gets, with what the customer said: `heard`, in the same
        transaction); start the handoff it calls for. Its buttons belong to `step`."""
        calls: list[Call] = []
        said: str | None = None
        if reply.answer_intent is not None:
            spec = self.config.intents[reply.answer_intent]
            assert spec.answer is not None
            answer = (spec.answer.get(language) or next(iter(spec.answer.values()))).strip()
            said = answer
            prompt = say(self.config, language, "faq_helpful_prompt")
            body = self.greeted(language, f"{answer}\n\n{prompt}", first)
            buttons = self.faq_buttons(language, reply.answer_intent, step)
            calls += send_long_text(user.id, body, buttons)
        elif reply.choices:
            said = say(self.config, language, "clarify_prompt")
            body = self.greeted(language, said, first)
            calls.append(send_text(user.id, body, self.choice_buttons(language, reply, step)))
        elif reply.small_talk is Kind.GREETING or (
            first and (reply.unknown or reply.small_talk is not None)
        ):
            # A hello, or nothing asked yet on a first contact: the greeting and the topics.
            said = say(self.config, language, "menu_prompt")
            menu = self.menu_buttons(language, step)
            calls.append(send_text(user.id, self.greeted(language, said, True), menu))
        elif reply.unknown:
            said = say(self.config, language, "unknown_menu" if reply.menu else "unknown")
            calls.append(send_text(user.id, said, self.menu_buttons(language, step)))
        elif reply.small_talk in SMALL_TALK_ANSWERS:
            said = say(self.config, language, SMALL_TALK_ANSWERS[reply.small_talk])
            calls.append(send_text(user.id, said))
        entries = [heard] if heard is not None else []
        if said is not None:
            # An FAQ answer given is not suggested to the agent who takes the chat later.
            given = (faq_ref(reply.answer_intent),) if reply.answer_intent else ()
            entries.append(SentMessage("bot", text=said, reply_refs=given))
            await self.outbox.put(*calls, along=self.noting(user.id, conversation_id, entries))
        elif heard is not None:
            await self.note(user.id, conversation_id, heard)
        if reply.unknown_streak != streak:
            await self.router.update_customer(user.id, unknown_streak=reply.unknown_streak)
        if reply.handoff:
            if first:  # the routing core's notices say where they stand; hello goes first
                await self.outbox.put(send_text(user.id, say(self.config, language, "greeting")))
            await self.hand_off(user, language, reply.handoff_intent, text)

    async def hand_off(self, user: User, language: str, intent: str | None, text: str) -> None:
        """Ask the routing core for a person; its events tell the customer where they stand (the
        one who is being found for them, their place in line, the hours: `bot.notices`)."""
        record = await self.crm.lookup(user.id)
        if record is not None and record.vip:
            await self.router.ensure_customer(
                user.id, name=user.full_name, username=user.username, vip=True
            )
        outcome = await self.router.request_handoff(
            user.id,
            intent=intent,
            text=text,
            account_owner_id=record.account_owner_id if record is not None else None,
        )
        log_context.bind(conversation_id=outcome.conversation_id)
        log.info(
            "handoff asked (intent %s): %s",
            intent,
            ", ".join(type(event).__name__ for event in outcome.events) or "no change",
        )

    async def relay_to_agent(
        self, conversation: Any, customer: Any, message: Message, kind: str, text: str
    ) -> None:
        """Pass the customer's message to their agent's private chat, marked `#id · name`, with
        buttons that send the answers suggested for it (none sent in this chat before)."""
        agent_id = conversation.agent_id
        header = f"#{conversation.id} · {customer.name or customer.id}"
        suggested = []
        if text.strip():
            suggested = self.suggester.suggest(text, await self.router.sent_refs(conversation.id))
        buttons = answer_buttons(
            self.config, conversation.id, suggested, self.config.agent_language(agent_id)
        )
        calls = pass_on(
            agent_id,
            customer.id,
            message.message_id,
            kind,
            text,
            header=header,
            priority=Priority.AGENT,
            conversation_id=conversation.id,
            buttons=buttons,
        )
        heard = customer_line(message, kind, text, suggested)
        # Stamped when it came in, before the agent sees it.
        await self.router.record_messages(customer.id, conversation.id, [heard])
        await self.outbox.put(*calls)

    async def wait_for_turn(self, customer_id: int, sent_at: float) -> None:
        """Spam throttling by when messages were sent (a backlog after a restart is no flood):
        over the rate, warn once; the message then waits its turn."""
        verdict = self.throttle.check(customer_id, sent_at)
        if verdict.warn:
            customer, _ = await self.status(customer_id)
            language = (
                customer.language if customer is not None else self.config.bot.default_language
            )
            await self.outbox.put(
                send_text(customer_id, say(self.config, language, "spam_warning"))
            )
        remaining = sent_at + verdict.wait - self.wall()
        if verdict.wait > 0 and remaining > 0:
            await asyncio.sleep(remaining)

    # ---- commands and buttons -----------------------------------------------------------

    async def on_start(self, user: User, args: list[str]) -> None:
        """`/start [source]`: greet (again) and show the menu; a deep link tags the lead source."""
        source = args[0] if args and DEEP_LINK.match(args[0]) else None
        customer, conversation = await self.status(user.id)
        if customer is None:
            customer = await self.remember(user, lead_source=source)
        await self.greet(user.id, customer.language, step_of(customer, conversation))

    async def on_cancel(self, user: User) -> None:
        """`/cancel`: leave the queue, or end the chat with the agent."""
        customer = await self.known_customer(user)
        _, conversation = await self.status(user.id)
        with_agent = conversation is not None and conversation.state == C.ASSIGNED
        outcome = await self.router.cancel(user.id)
        key = "cancel_nothing"
        if outcome.result is ActionResult.DONE:
            key = "cancel_chat_done" if with_agent else "cancel_done"
        await self.outbox.put(send_text(user.id, say(self.config, customer.language, key)))

    async def on_human(self, user: User) -> None:
        """`/human`: straight to a person."""
        customer = await self.known_customer(user)
        intent = person_intent(self.config, self.person_only)
        await self.hand_off(user, customer.language, intent, "/human")

    async def on_language(self, user: User) -> None:
        """`/language`: offer the two languages as buttons."""
        await self.known_customer(user)
        await self.outbox.put(
            send_text(
                user.id,
                "Pilih bahasa / Choose a language:",
                [[("Bahasa Indonesia", "lang:id"), ("English", "lang:en")]],
            )
        )

    async def on_skip(self, user: User) -> None:
        """`/skip`: no comment after the rating."""
        customer, _ = await self.status(user.id)
        if customer is not None and customer.csat_comment_for is not None:
            await self.router.update_customer(user.id, csat_comment_for=None)
            await self.outbox.put(
                send_text(user.id, say(self.config, customer.language, "csat_thanks"))
            )

    async def on_unknown_command(self, user: User) -> None:
        customer, conversation = await self.status(user.id)
        language = (
            customer.language
            if customer is not None
            else language_of(user.language_code, self.config.bot.default_language)
        )
        menu = self.menu_buttons(language, step_of(customer, conversation))
        await self.outbox.put(send_text(user.id, say(self.config, language, "unknown"), menu))

    async def on_button(
        self, user: User, data: str, pressed: tuple[int, str] | None = None
    ) -> str | None:
        """An inline button; returns the short callback answer (None: nothing to say).
        `pressed` is the message it was on and its label: once the press is acted on, that
        keyboard is replaced by the choice made (an edit, not one more message)."""
        if data == CHOSEN:
            return None
        match = CALLBACK.match(data)
        customer, conversation = await self.status(user.id)
        if match is None or customer is None:
            return say(self.config, self.config.bot.default_language, "button_expired")
        step, sent_at = step_of(customer, conversation), match.group(3)
        if sent_at is not None and sent_at != step:  # its step is over: the keyboard goes
            if pressed is not None:
                await self.outbox.put(replace_keyboard(user.id, pressed[0], []))
            return say(self.config, customer.language, "button_expired")
        if pressed is not None:  # the press belongs to the transcript an agent gets
            await self.note(user.id, None, SentMessage("customer", "button", f"[{pressed[1]}]"))
        acted, answer = await self._act_on_button(user, customer, match, step)
        if acted and pressed is not None:
            message_id, label = pressed
            await self.outbox.put(replace_keyboard(user.id, message_id, [[(f"✓ {label}", CHOSEN)]]))
        return answer

    async def _act_on_button(
        self, user: User, customer: Any, match: re.Match[str], step: str
    ) -> tuple[bool, str | None]:
        """Whether the press was acted on, and the short answer to it."""
        kind, value = match.group(1) or match.group(4), match.group(2) or match.group(5)
        score = match.group(6)
        language = customer.language
        if kind == "lang" and value in ("id", "en"):
            await self.router.update_customer(user.id, language=value)
            await self.greet(user.id, value, step)
            return True, None
        if kind == "csat" and value.isdigit() and score:
            answer = await self.rate(user, language, int(value), int(score))
            return answer is None, answer
        if kind == "pick" and value == NONE_OF_THESE:
            await self.outbox.put(
                send_text(
                    user.id,
                    say(self.config, language, "menu_prompt"),
                    self.menu_buttons(language, step),
                )
            )
            return True, None
        if kind == "pick" and value in self.config.intents:
            await self.router.record_intent_choice(user.id, value)
            kind = "menu"  # then as if chosen from the menu
        if kind in ("menu", "faq_ok", "faq_human") and value in self.config.intents:
            if kind == "faq_ok":  # thanked on the button, not in one more message
                return True, say(self.config, language, "faq_thanks")
            if kind == "faq_human":
                await self.hand_off(user, language, value, "")
            else:
                reply = decide(
                    self.config, self.reader, "", unknown_streak=0, waiting=False, intent=value
                )
                await self.carry_out(user, language, reply, "", customer.unknown_streak, step=step)
            return True, None
        return False, say(self.config, language, "button_expired")

    async def rate(self, user: User, language: str, conversation_id: int, score: int) -> str | None:
        result = await self.router.record_csat(conversation_id, user.id, score)
        if result is ActionResult.DONE:
            await self.router.update_customer(user.id, csat_comment_for=conversation_id)
            await self.outbox.put(
                send_text(user.id, say(self.config, language, "csat_comment_prompt"))
            )
            return None
        if result is ActionResult.ALREADY_DONE:
            return say(self.config, language, "csat_already")
        return say(self.config, language, "button_expired")


def step_of(customer: Any, conversation: Any) -> str:
    """Where the customer stands with us: their newest chat with a person (0: none yet) and
    whether it is open ("o"). A chat opening or closing starts a new step, and the buttons
    sent before it have done their part."""
    newest = getattr(customer, "newest_conversation", None) or 0
    return f"{newest}{'o' if conversation is not None else ''}"


def pressed_button(query: CallbackQuery) -> tuple[int, str] | None:
    """The message a pressed button was on, and the button's label (None if Telegram did not
    send the message: too old, or not the bot's)."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return message.message_id, button.text
    return None


def customer_line(
    message: Message, kind: str, text: str, suggested: Sequence[str] = ()
) -> SentMessage:
    """What the customer sent, for the transcript, with the answers suggested to the agent for it."""
    return SentMessage(
        "customer", kind, text, telegram_message_id=message.message_id, suggestions=tuple(suggested)
    )


async def trained_reader(router: Router) -> Reader:
    """A reader of the router's config and of what agents corrected in closed chats; the model
    trains off the event loop."""
    config = router.config
    learned = [Example(text, intent) for text, intent in await router.learned_examples()]
    return await asyncio.to_thread(Reader, config.intents, config.bot.understanding, learned)


def add_handlers(application: Application, desk: CustomerDesk) -> None:
    """Register the customer handlers (private chats only; agents are left to `agents_app`)."""
    private = filters.ChatType.PRIVATE

    def customer_only(
        act: Any,
    ) -> Any:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            user = update.effective_user
            if user is None or user.is_bot or desk.is_agent(user):
                return
            await act(update, context, user)

        handler.__doc__ = act.__doc__
        return handler

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        await desk.on_start(user, list(context.args or []))

    async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        await desk.on_cancel(user)

    async def human(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        await desk.on_human(user)

    async def language(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        await desk.on_language(user)

    async def skip(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        await desk.on_skip(user)

    async def unknown_command(
        update: Update, context: ContextTypes.DEFAULT_TYPE, user: User
    ) -> None:
        await desk.on_unknown_command(user)

    async def message(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        assert update.effective_message is not None
        await desk.on_text_or_media(user, update.effective_message)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        query = update.callback_query
        assert query is not None
        answer = await desk.on_button(user, query.data or "", pressed_button(query))
        await query.answer(answer)

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        change = update.my_chat_member
        if (
            change is not None
            and change.chat.type == "private"
            and change.new_chat_member.status == "kicked"
        ):
            await desk.router.customer_blocked(user.id)

    application.add_handlers(
        [
            CommandHandler("start", customer_only(start), private),
            CommandHandler("cancel", customer_only(cancel), private),
            CommandHandler("human", customer_only(human), private),
            CommandHandler(["language", "bahasa"], customer_only(language), private),
            CommandHandler("skip", customer_only(skip), private),
            MessageHandler(private & filters.COMMAND, customer_only(unknown_command)),
            MessageHandler(private & ~filters.COMMAND, customer_only(message)),
            CallbackQueryHandler(customer_only(button)),
            ChatMemberHandler(customer_only(member), ChatMemberHandler.MY_CHAT_MEMBER),
        ],
        group=1,
    )


async def register_commands(application: Application, config: Config) -> None:
    """The customers' command menu in private chats: one per language (Telegram shows the one
    for the customer's app language), the default language's for everyone else."""
    for language in (None, *LANGUAGES):
        spoken = language or config.bot.default_language
        menu = [BotCommand(n, say(config, spoken, f"customer_command_{n}")) for n in COMMANDS]
        try:
            await application.bot.set_my_commands(
                menu, scope=BotCommandScopeAllPrivateChats(), language_code=language
            )
        except TelegramError as error:
            log.warning("setMyCommands for customers (%s) refused: %s", language, error)
