"""Nothing an agent types ever reaches the wrong customer (SPEC §5), as a property.

One agent holds three customers' chats; hypothesis interleaves, at random, customers writing and
leaving with /cancel, and the agent replying to a relayed message, writing with no reply,
switching focus and answering "Which chat is this for?". A small model of the rules (a reply goes
to its chat if still the agent's; else to the focused chat if still open; else to the only chat;
else the agent is asked) says where each unique agent text must go; at the end every customer's
chat must show exactly the agent texts meant for them, in order, and no other.

The bot starts once: every example runs in the same event loop (`asyncio.Runner`), with three
fresh customers, against the same running bot and sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from tests.sandbox_support import SandboxClient, running_sandbox
from tests.support.desk import Chat, Desk, Message, agents_desk, buttons, desk_config, from_bot
from tests.support.desk import text_of as shown_text

SARI = 1001
ONLY_SARI = [
    {
        "id": SARI,
        "name": "Sari Wulandari",
        "username": "sari_nusanet",
        "teams": ["support", "billing"],
        "capacity": 10,
        "shift": "shift_pagi",
        "manager": True,
    }
]
KINDS = ("customer", "customer", "reply", "reply", "plain", "plain", "switch", "press", "cancel")
Step = tuple[str, int]
STEPS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 999)), min_size=15, max_size=25)
# The rarer paths for sure: the focused chat is cancelled, so the agent is asked; one choice
# goes away before the agent answers; then a reply to a gone chat, /switch, and no chat left.
ASKED: list[Step] = [
    ("customer", 0),
    ("customer", 1),
    ("cancel", 0),  # the focused chat (the last taken) goes: two open, focus unknown
    ("plain", 0),  # → "Which chat is this for?" (the first and second)
    ("cancel", 1),  # the first goes too
    ("press", 0),  # → the first: "no longer yours: not sent"
    ("press", 1),  # → the second: sent; it has the focus now
    ("press", 1),  # the same again → "Already sent to #…"
    ("reply", 2),  # a reply to the third's context message → "no longer yours"
    ("customer", 0),
    ("switch", 1),
    ("plain", 0),
    ("cancel", 0),
    ("plain", 0),  # → "you hold no chat"
    ("switch", 0),  # → "#… is not yours."
]


@dataclass
class Model:
    """What the bot should do, by the rules alone."""

    customers: dict[int, Chat]  # conversation id → the customer's chat, in the order taken
    names: dict[int, str]
    open: list[int]
    focus: int | None
    # Messages in the agent's chat and the conversation each belongs to (None: to none).
    owners: dict[int, int | None] = field(default_factory=dict)
    questions: list[tuple[Message, int, tuple[int, ...]]] = field(default_factory=list)
    sent: dict[int, int] = field(default_factory=dict)  # agent's message id → conversation
    expected: dict[int, list[str]] = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)

    def target(self, replied_to: int | None) -> tuple[str, int | None]:
        """("send", id) | ("not_yours", id) | ("no_chat", None) | ("ask", None)."""
        if replied_to is not None:
            return ("send" if replied_to in self.open else "not_yours"), replied_to
        if self.focus in self.open:
            return "send", self.focus
        if len(self.open) == 1:
            return "send", self.open[0]
        return ("no_chat", None) if not self.open else ("ask", None)


class Play:
    """Runs one example's steps against the bot, checking each outcome as it goes."""

    def __init__(self, desk: Desk, seen: Counter[str]) -> None:
        self.desk = desk
        self.sari = desk.agent(SARI)
        self.seen = seen

    async def last_id(self) -> int:
        shown = await self.sari.shown()
        return shown[-1]["message_id"] if shown else 0

    async def answer_after(self, mark: int, matches: Callable[[str], bool]) -> Message:
        """The bot's first message to the agent after `mark` that matches."""
        return await self.desk.sandbox.wait_for(
            SARI,
            lambda m: from_bot(m) and m["message_id"] > mark and matches(shown_text(m)),
            timeout=5,
        )

    async def settled(self) -> None:
        """Every call the bot queued is sent and recorded (as an agent, at human speed, sees)."""
        deadline = asyncio.get_running_loop().time() + 5
        while await self.desk.bot.outbox.pending():
            assert asyncio.get_running_loop().time() < deadline, "the outbox did not empty"
            await asyncio.sleep(0.02)

    async def open_chats(self, round_: int) -> Model:
        """Three new customers hand off; the agent takes each: the last one has the focus."""
        customers: dict[int, Chat] = {}
        names: dict[int, str] = {}
        owners: dict[int, int | None] = {}
        for name in ("Ani", "Budi", "Citra"):
            name = f"{name}{round_}"
            chat, conversation_id = await self.desk.handed_off(name)
            await self.sari.says(f"/take #{conversation_id}")
            context = await self.sari.sees(f"#{conversation_id} · {name} is yours now")
            customers[conversation_id], names[conversation_id] = chat, name
            owners[context["message_id"]] = conversation_id
        await self.settled()
        model = Model(customers, names, list(customers), focus=list(customers)[-1], owners=owners)
        model.expected = {c: [] for c in customers}
        return model

    async def step(self, model: Model, kind: str, pick: int, text: str) -> None:
        if kind == "customer" and model.open:
            conversation_id = model.open[pick % len(model.open)]
            await model.customers[conversation_id].says(f"c-{text}")
            relayed = await self.desk.sandbox.wait_for(
                SARI,
                lambda m: (
                    shown_text(m)
                    == f"#{conversation_id} · {model.names[conversation_id]}\nc-{text}"
                ),
                timeout=5,
            )
            model.owners[relayed["message_id"]] = conversation_id
            model.trail.append(f"customer of #{conversation_id} writes")
        elif kind == "reply":
            replied = sorted(model.owners)[pick % len(model.owners)]
            await self.agent_writes(model, text, replied)
        elif kind == "plain" or (kind == "press" and not model.questions):
            await self.agent_writes(model, text, None)
        elif kind == "press":
            question, message_id, choices = model.questions[pick % len(model.questions)]
            chosen = choices[(pick // len(model.questions)) % len(choices)]
            await self.press(model, question, message_id, chosen)
        elif kind == "switch":
            conversation_id = list(model.customers)[pick % len(model.customers)]
            mark = await self.last_id()
            await self.sari.says(f"/switch #{conversation_id}")
            if conversation_id in model.open:
                expected = f"Your messages go to #{conversation_id} now."
                model.focus = conversation_id
                self.seen["switch"] += 1
            else:
                expected = f"#{conversation_id} is not yours."
                self.seen["switch refused"] += 1
            await self.answer_after(mark, lambda t: t == expected)
            model.trail.append(f"/switch #{conversation_id} → {expected}")
        elif kind == "cancel" and model.open:
            # Half the time the focused chat, whose loss leaves the agent's focus unknown.
            focused = model.focus in model.open and pick % 2 == 0
            conversation_id = model.focus if focused else model.open[pick // 2 % len(model.open)]
            assert conversation_id is not None
            mark = await self.last_id()
            await model.customers[conversation_id].says("/cancel")
            await self.answer_after(
                mark, lambda t: t.startswith(f"#{conversation_id} · ") and "/cancel" in t
            )
            model.open.remove(conversation_id)
            self.seen["cancel"] += 1
            model.trail.append(f"customer of #{conversation_id} cancels")
        await self.settled()

    async def agent_writes(self, model: Model, text: str, replied: int | None) -> None:
        owner = model.owners.get(replied) if replied is not None else None
        route, conversation_id = model.target(owner)
        mark = await self.last_id()
        fields = {"reply_to_message_id": replied} if replied is not None else {}
        sent = await self.sari.says(text, **fields)
        model.owners[sent["message_id"]] = None
        how = f"reply to {replied} (of #{owner})" if replied is not None else "no reply"
        model.trail.append(f"agent writes {text!r}, {how} → {route} {conversation_id or ''}")
        self.seen[f"{'reply' if owner is not None else 'plain'} {route}"] += 1
        if route == "send":
            assert conversation_id is not None
            await self.delivered(model, conversation_id, sent["message_id"], text)
        elif route == "not_yours":
            expected = f"Not sent: #{conversation_id} is no longer yours"
            await self.answer_after(mark, lambda t: t.startswith(expected))
        elif route == "no_chat":
            await self.answer_after(mark, lambda t: t == "Not sent: you hold no chat right now.")
        else:
            question = await self.answer_after(
                mark, lambda t: t == "Which chat is this for? (Not sent yet.)"
            )
            offered = [data for _, data in buttons(question)]
            assert offered == [f"to:{c}:{sent['message_id']}" for c in model.open]
            model.questions.append((question, sent["message_id"], tuple(model.open)))

    async def press(
        self, model: Model, question: Message, message_id: int, conversation_id: int
    ) -> None:
        answer = await self.sari.press(question, f"to:{conversation_id}:{message_id}")
        model.trail.append(f"agent presses #{conversation_id} for message {message_id}: {answer}")
        if message_id in model.sent:
            assert answer == f"Already sent to #{model.sent[message_id]}."
            self.seen["press already sent"] += 1
        elif conversation_id not in model.open:
            assert answer == f"#{conversation_id} is no longer yours: not sent."
            self.seen["press no longer yours"] += 1
        else:
            name = model.names[conversation_id]
            assert answer == f"Sent to #{conversation_id} · {name}; it has your focus now."
            model.focus = conversation_id
            text = next(
                shown_text(m) for m in await self.sari.shown() if m["message_id"] == message_id
            )
            await self.delivered(model, conversation_id, message_id, text)
            self.seen["press sent"] += 1

    async def delivered(
        self, model: Model, conversation_id: int, message_id: int, text: str
    ) -> None:
        model.sent[message_id] = conversation_id
        model.owners[message_id] = conversation_id
        model.expected[conversation_id].append(text)
        chat = model.customers[conversation_id]
        await self.desk.sandbox.wait_for(
            chat.id, lambda m: from_bot(m) and shown_text(m) == text, timeout=5
        )

    async def check(self, model: Model) -> None:
        """Each customer shows exactly the agent's texts meant for them, in order."""
        await self.settled()
        for conversation_id, chat in model.customers.items():
            got = [
                shown_text(m)
                for m in await chat.shown()
                if from_bot(m) and shown_text(m).startswith("msg-")
            ]
            expected = model.expected[conversation_id]
            assert got == expected, f"#{conversation_id} shows {got}, expected {expected}"

    async def close_all(self, model: Model) -> None:
        """The agent closes what is left, so the next example starts with no chat."""
        for conversation_id in list(model.open):
            await self.sari.says(f"/close #{conversation_id}")
            await self.sari.sees(f"#{conversation_id} closed")
        await self.settled()


async def _open_desk(stack: contextlib.AsyncExitStack, directory: Path) -> Desk:
    url, _ = await stack.enter_async_context(running_sandbox())
    session = await stack.enter_async_context(aiohttp.ClientSession())
    config = desk_config(
        agents=ONLY_SARI,
        bot={"spam": {"messages": 1000, "per": 10}},
        claim="anyone",
    )
    return await stack.enter_async_context(
        agents_desk(SandboxClient(url, session), directory, config=config, started=[SARI])
    )


def test_no_agent_message_ever_reaches_the_wrong_customer(tmp_path: Path) -> None:
    seen: Counter[str] = Counter()
    rounds = itertools.count(1)
    texts = itertools.count(1)
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        desk = runner.run(_open_desk(stack, tmp_path))
        play = Play(desk, seen)

        async def one_example(steps: list[Step]) -> None:
            model = await play.open_chats(next(rounds))
            try:
                for kind, pick in steps:
                    await play.step(model, kind, pick, f"msg-{next(texts)}")
                await play.check(model)
            except AssertionError as error:
                what_happened = "\n".join(model.trail)
                raise AssertionError(f"{error}\n\nWhat happened:\n{what_happened}") from None
            await play.close_all(model)

        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # each example takes seconds: no shrinking
        )
        @given(steps=STEPS)
        @example(steps=ASKED)
        def every_interleaving(steps: list[Step]) -> None:
            runner.run(one_example(steps))

        try:
            every_interleaving()
        finally:
            runner.run(stack.aclose())
    # The rules were all exercised, not only the easy ones.
    for outcome in (
        "reply send",
        "reply not_yours",
        "plain send",
        "plain ask",
        "plain no_chat",
        "press sent",
        "press already sent",
        "press no longer yours",
        "switch",
        "switch refused",
        "cancel",
    ):
        assert seen[outcome], f"no example exercised {outcome!r}: {dict(seen)}"
