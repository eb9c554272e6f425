"""The agents' side (SPEC §5): claims, agent commands, and agents' messages to customers.

Handlers are thin (`agents_app.handlers`); each method here reads the request, asks the routing
core, and answers in the chat it came from. Who may do what is checked here, against the config
and the stored state, never against what a button or a message claims.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Message

from agents_app import views
from agents_app.cards import clock, team_name, team_zone
from agents_app.context import fit, transcript_lines
from bot.config_watch import Reloaded
from bot.customer import message_kind
from bot.outbox import Outbox, Priority, copy_message, send_text
from handoff import store
from handoff.config import Agent, Config
from handoff.focus import Route, choose_target
from handoff.report_text import duration, percent
from handoff.reporting import load_today
from handoff.router import ActionResult, ClaimResult, Router
from handoff.states import AgentStatus

REF = re.compile(r"^#?(\d{1,18})$")
TARGET = re.compile(r"^to:(\d{1,18}):(\d{1,18})$")
CLAIM = re.compile(r"^claim:(\d{1,18})$")
MARK = re.compile(r"^#(\d{1,18}) · ")  # how the bot marks what it passes on from a customer
RELAYED = ("text", "photo", "document", "voice", "sticker", "location")

AGENT_COMMANDS = {
    "on": "available for chats",
    "away": "pause: no new chats",
    "off": "offline",
    "status": "your status and load",
    "mine": "the chats you hold",
    "switch": "#id: write to this chat from now on",
    "close": "[#id] end a chat (the customer is asked for a rating)",
    "release": "[#id] hand a chat back to the queue",
    "transfer": "#id @agent|team: move a chat",
    "note": "text: an internal note on your current chat",
    "history": "[#id] what was said so far",
    "take": "#id: claim a waiting chat",
    "queue": "who is waiting",
    "why": "#id: how the chat was routed",
    "help": "these commands",
}
MANAGER_COMMANDS = {
    "agents": "every agent's status and load",
    "stats": "today's numbers",
    "assign": "#id @agent: give a chat to an agent (even over capacity)",
    "reload": "load the config file again",
}
STATUS_COMMANDS = {
    "on": AgentStatus.AVAILABLE,
    "away": AgentStatus.AWAY,
    "off": AgentStatus.OFFLINE,
}

CLAIM_ANSWERS = {
    ClaimResult.CLAIMED: "#{id} is yours: I sent its context to our private chat.",
    ClaimResult.ALREADY_CLAIMED: "Already claimed by {holder}.",
    ClaimResult.NOT_OFFERED_TO_YOU: "#{id} is offered to {holder} right now.",
    ClaimResult.NOT_AN_AGENT: "Only the agents in the config can claim chats.",
    ClaimResult.OFF_SHIFT: "You are off shift, so you cannot claim chats now.",
    ClaimResult.AT_CAPACITY: "You are at capacity: close or release a chat first.",
    ClaimResult.CLOSED: "#{id} is closed already.",
    ClaimResult.NOT_FOUND: "There is no chat #{id}.",
    ClaimResult.NOT_WAITING: "#{id} is not waiting for an agent.",
    ClaimResult.UNREACHABLE: "I cannot message you privately: open a chat with me and press "
    "Start, then claim again.",
}
ACTION_ANSWERS = {
    ActionResult.NOT_FOUND: "There is no open chat #{id}.",
    ActionResult.NOT_YOURS: "#{id} is not yours.",
    ActionResult.NOT_ALLOWED: "You may not do that to #{id}.",
    ActionResult.UNKNOWN_TARGET: "I know no agent or team called {target}.",
    ActionResult.TARGET_UNAVAILABLE: "{target} cannot take it now (off shift, away or full).",
    ActionResult.ALREADY_DONE: "#{id}: nothing to do, it is done already.",
}
Reply = Callable[[str], Awaitable[None]]
Reloader = Callable[[], Awaitable[Reloaded]]


def parse_ref(text: str | None) -> int | None:
    """`#12` or `12` → 12."""
    match = REF.match((text or "").strip())
    return int(match.group(1)) if match else None


class AgentDesk:
    """What agents and managers do through the bot."""

    def __init__(self, router: Router, outbox: Outbox, reload: Reloader | None = None) -> None:
        self.router = router
        self.outbox = outbox
        self.reload = reload

    @property
    def config(self) -> Config:
        return self.router.config

    @property
    def group_id(self) -> int | None:
        return self.config.bot.agents_group_id

    def agent(self, user_id: int | None) -> Agent | None:
        return self.config.agent(user_id) if user_id is not None else None

    def name_of(self, agent_id: int | None) -> str:
        spec = self.agent(agent_id)
        if spec is None:
            return "someone"
        return f"@{spec.username}" if spec.username else spec.name

    async def say(self, chat_id: int, text: str, buttons: list | None = None) -> None:
        priority = Priority.GROUP if chat_id == self.group_id else Priority.AGENT
        await self.outbox.put(send_text(chat_id, text, buttons, priority=priority))

    # ---- claims -------------------------------------------------------------------------

    async def claim_answer(self, user_id: int, conversation_id: int, how: str) -> str:
        """Claim for this user; the short answer for them (the card changes by itself)."""
        if self.agent(user_id) is None:
            return CLAIM_ANSWERS[ClaimResult.NOT_AN_AGENT]
        outcome = await self.router.claim(conversation_id, user_id, how=how)
        template = CLAIM_ANSWERS[ClaimResult(outcome.result)]
        return template.format(id=conversation_id, holder=self.name_of(outcome.holder_id))

    async def on_claim_button(
        self, user_id: int, chat_id: int | None, message_id: int | None, data: str
    ) -> str:
        """A Claim button: checked against the card stored for that conversation."""
        match = CLAIM.match(data)
        if match is None or chat_id is None or message_id is None:
            return "This button is no longer valid."
        conversation_id = int(match.group(1))
        async with self.router.engine.connect() as conn:
            if chat_id == user_id:  # the offer notice in the agent's private chat
                notice = await views.conversation_of_message(conn, user_id, message_id)
                if notice is None:  # sent, but not yet recorded: the offer itself must be theirs
                    offer = await store.pending_offer(conn, conversation_id)
                    notice = conversation_id if offer and offer.agent_id == user_id else None
                valid = notice == conversation_id
            else:
                card = await views.card_of(conn, conversation_id)
                # The card's message id is stored once its send is recorded; a press can come
                # first.
                valid = (
                    card is not None
                    and card.chat_id == chat_id
                    and card.message_id in (None, message_id)
                )
        if not valid:
            return "This button is no longer valid."
        return await self.claim_answer(user_id, conversation_id, "claim")

    # ---- agents' messages to customers ---------------------------------------------------

    async def on_agent_message(self, agent_id: int, message: Message) -> None:
        """Relay to the customer it is for (SPEC §5); ask when that is not certain."""
        kind = message_kind(message)
        if kind not in RELAYED:
            await self.say(agent_id, "I can pass on text, photos, files, voice, stickers and "
                                     "locations; this kind stays here.")  # fmt: skip
            return
        reply = message.reply_to_message
        async with self.router.engine.connect() as conn:
            replied = None
            if reply is not None:
                replied = await views.conversation_of_message(conn, agent_id, reply.message_id)
                if replied is None:  # not recorded yet, maybe: the mark says which chat it is
                    mark = MARK.match(reply.text or reply.caption or "")
                    replied = int(mark.group(1)) if mark else None
            focus, mine = await self._holdings(conn, agent_id)
            sent_before = await views.conversation_of_message(conn, agent_id, message.message_id)
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
        if target.route is Route.SEND:
            assert target.conversation_id is not None
            text = message.text or message.caption or ""
            await self._copy(
                agent_id, message.message_id, by_id[target.conversation_id], kind, text
            )
        elif target.route is Route.NOT_YOURS:
            await self.say(
                agent_id,
                f"Not sent: #{target.conversation_id} is no longer yours (closed or moved). "
                "/mine lists the chats you hold.",
            )
        elif target.route is Route.NO_CHAT:
            await self.say(agent_id, "Not sent: you hold no chat right now.")
        else:
            buttons = [
                [(f"#{c} · {by_id[c].customer_name}", f"to:{c}:{message.message_id}")]
                for c in target.choices
            ]
            await self.say(agent_id, "Which chat is this for? (Not sent yet.)", buttons)

    async def _copy(
        self, agent_id: int, message_id: int, chat: views.CardView, kind: str, text: str
    ) -> None:
        """Keep the agent's message for the transcript, stamped when it came in, then copy it to
        the chat's customer."""
        await self.router.record_message(
            chat.conversation_id,
            sender="agent",
            customer_id=chat.customer_id,
            agent_id=agent_id,
            kind=kind,
            text=text,
            telegram_message_id=message_id,
        )
        await self.outbox.put(
            copy_message(
                chat.customer_id, agent_id, message_id, conversation_id=chat.conversation_id
            )
        )

    @staticmethod
    async def _holdings(
        conn: AsyncConnection, agent_id: int
    ) -> tuple[int | None, list[views.CardView]]:
        """The agent's focused conversation and the chats they hold, oldest first."""
        agent_row = await store.get_agent(conn, agent_id)
        focus = agent_row.focus_conversation_id if agent_row is not None else None
        return focus, await views.open_chats(conn, agent_id)

    async def on_target_button(self, agent_id: int, data: str) -> str:
        """The answer to "which chat is this for?": copies the agent's own message only."""
        match = TARGET.match(data)
        if match is None:
            return "This button is no longer valid."
        conversation_id, message_id = int(match.group(1)), int(match.group(2))
        async with self.router.engine.connect() as conn:
            chats = {v.conversation_id: v for v in await views.open_chats(conn, agent_id)}
            sent_before = await views.conversation_of_message(conn, agent_id, message_id)
        if sent_before is not None:
            return f"Already sent to #{sent_before}."
        chat = chats.get(conversation_id)
        if chat is None:
            return f"#{conversation_id} is no longer yours: not sent."
        # Its kind is not in the button; the transcript shows [copy].
        await self._copy(agent_id, message_id, chat, "copy", "")
        await self.router.set_focus(agent_id, conversation_id)
        return f"Sent to #{conversation_id} · {chat.customer_name}; it has your focus now."

    # ---- commands -----------------------------------------------------------------------

    async def on_start(self, agent_id: int) -> None:
        """An agent opened their private chat: the bot can reach them from now on."""
        await self.router.set_reachable(agent_id, True)
        await self.say(agent_id, "Hello! You are set up as an agent. " + self.help_text(agent_id))

    def help_text(self, agent_id: int) -> str:
        spec = self.agent(agent_id)
        commands = dict(AGENT_COMMANDS)
        if spec is not None and spec.manager:
            commands |= MANAGER_COMMANDS
        return "Commands:\n" + "\n".join(f"/{name} {what}" for name, what in commands.items())

    async def on_command(self, user_id: int, chat_id: int, command: str, args: list[str]) -> None:
        """An agent or manager command from the group or the agent's private chat."""
        spec = self.agent(user_id)
        if spec is None:
            await self.say(chat_id, "Only the agents in the config can use these commands.")
            return
        if command in MANAGER_COMMANDS and not spec.manager:
            await self.say(chat_id, f"Only managers can use /{command}.")
            return
        if command in STATUS_COMMANDS:
            await self._set_status(spec, chat_id, STATUS_COMMANDS[command])
            return
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            await self.say(chat_id, f"I do not know /{command}. " + self.help_text(user_id))
            return
        await handler(spec, chat_id, args)

    async def _reply_result(
        self, chat_id: int, result: ActionResult, done: str, **values: object
    ) -> None:
        if result is ActionResult.DONE:
            await self.say(chat_id, done.format(**values))
        else:
            await self.say(chat_id, ACTION_ANSWERS[result].format(**values))

    async def _chosen(self, spec: Agent, chat_id: int, args: list[str], verb: str) -> int | None:
        """The chat a command names (`#id`), else the agent's current one; None after saying why."""
        if args:
            ref = parse_ref(args[0])
            if ref is None:
                await self.say(chat_id, f"Write it as /{verb} #12.")
            return ref
        async with self.router.engine.connect() as conn:
            focus, mine = await self._holdings(conn, spec.id)
        target = choose_target(
            replied_to=None, focus=focus, open_chats=[v.conversation_id for v in mine]
        )
        if target.route is Route.SEND:
            return target.conversation_id
        if target.route is Route.NO_CHAT:
            await self.say(chat_id, "You hold no chat right now.")
        else:
            listed = " or ".join(f"/{verb} #{c}" for c in target.choices)
            await self.say(chat_id, f"Which one? {listed}")
        return None

    async def _cmd_help(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        await self.say(chat_id, self.help_text(spec.id))

    async def _set_status(self, spec: Agent, chat_id: int, status: AgentStatus) -> None:
        await self.router.set_agent_status(spec.id, status)
        async with self.router.engine.connect() as conn:
            row = await store.get_agent(conn, spec.id)
        note = "" if row is None or row.on_shift else " You are off shift, so no chats come yet."
        await self.say(chat_id, f"{spec.name}: {status}.{note}")

    async def _cmd_status(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        async with self.router.engine.connect() as conn:
            row = await store.get_agent(conn, spec.id)
        assert row is not None
        shift = "on shift" if row.on_shift else "off shift"
        focus = f", writing to #{row.focus_conversation_id}" if row.load else ""
        await self.say(
            chat_id, f"{spec.name}: {row.status}, {shift}, {row.load}/{row.capacity} chats{focus}."
        )

    async def _cmd_mine(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        async with self.router.engine.connect() as conn:
            focus, mine = await self._holdings(conn, spec.id)
        if not mine:
            await self.say(chat_id, "You hold no chat right now.")
            return
        lines = [
            f"#{v.conversation_id} · {v.customer_name} · {v.intent or '-'}"
            + (" ← you are writing here" if v.conversation_id == focus else "")
            for v in mine
        ]
        await self.say(chat_id, "Your chats:\n" + "\n".join(lines))

    async def _cmd_switch(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = parse_ref(args[0]) if args else None
        if ref is None:
            await self.say(chat_id, "Write it as /switch #12.")
            return
        result = await self.router.set_focus(spec.id, ref)
        await self._reply_result(
            chat_id, result, "Your messages go to #{id} now.", id=ref, target=""
        )

    async def _cmd_close(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = await self._chosen(spec, chat_id, args, "close")
        if ref is not None:
            outcome = await self.router.close(ref, by_agent_id=spec.id)
            result = ActionResult(outcome.result)
            await self._reply_result(
                chat_id, result, "#{id} closed; the customer is asked for a rating.", id=ref
            )

    async def _cmd_release(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = await self._chosen(spec, chat_id, args, "release")
        if ref is not None:
            outcome = await self.router.release(ref, spec.id)
            await self._reply_result(
                chat_id, ActionResult(outcome.result), "#{id} is back in the queue.", id=ref
            )

    async def _cmd_transfer(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = parse_ref(args[0]) if args else None
        if ref is None or len(args) != 2:
            await self.say(chat_id, "Write it as /transfer #12 @agent or /transfer #12 billing.")
            return
        wanted = args[1]
        agent = self._agent_named(wanted)
        team = self._team_named(wanted)
        if agent is not None:
            outcome = await self.router.transfer(ref, spec.id, to_agent_id=agent.id)
            done = "#{id} moved to {target}."
        elif team is not None:
            outcome = await self.router.transfer(ref, spec.id, to_team=team)
            done = "#{id} moved to the {target} queue."
        else:
            await self.say(
                chat_id, ACTION_ANSWERS[ActionResult.UNKNOWN_TARGET].format(target=wanted)
            )
            return
        await self._reply_result(chat_id, ActionResult(outcome.result), done, id=ref, target=wanted)

    def _agent_named(self, wanted: str) -> Agent | None:
        key = wanted.removeprefix("@").lower()
        for spec in self.config.agents:
            names = {(spec.username or "").lower(), spec.name.lower(), spec.name.split()[0].lower()}
            if key in names or key == str(spec.id):
                return spec
        return None

    def _team_named(self, wanted: str) -> str | None:
        key = wanted.lower()
        for team_key, team in self.config.teams.items():
            if key in (team_key.lower(), team.name.lower()):
                return team_key
        return None

    async def _cmd_note(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        text = " ".join(args).strip()
        if not text:
            await self.say(chat_id, "Write it as /note the customer's order number is 123.")
            return
        ref = await self._chosen(spec, chat_id, [], "note")
        if ref is None:
            return
        async with self.router.engine.connect() as conn:
            chats = {v.conversation_id: v for v in await views.open_chats(conn, spec.id)}
        await self.router.record_message(
            ref, sender="note", customer_id=chats[ref].customer_id, agent_id=spec.id, text=text
        )
        await self.say(chat_id, f"Noted on #{ref} (the customer does not see notes).")

    async def _cmd_history(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = await self._chosen(spec, chat_id, args, "history")
        if ref is None:
            return
        async with self.router.engine.connect() as conn:
            shown = await views.card_views(conn, [ref])
            lines = await views.transcript(conn, ref, limit=50)
        if not shown:
            await self.say(chat_id, f"There is no chat #{ref}.")
            return
        view = shown[0]
        head = [f"#{ref} · {view.customer_name} · {view.state}"]
        body = transcript_lines(lines, team_zone(self.config, view.team)) or ["(nothing yet)"]
        await self.say(chat_id, fit(head, body, []))

    async def _cmd_take(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = parse_ref(args[0]) if args else None
        if ref is None:
            await self.say(chat_id, "Write it as /take #12.")
            return
        await self.say(chat_id, await self.claim_answer(spec.id, ref, "take"))

    async def _cmd_queue(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        now = self.router.clock.now()
        async with self.router.engine.connect() as conn:
            shown = await views.waiting(conn)
            total = await views.waiting_count(conn)
        if not shown:
            await self.say(chat_id, "Nobody is waiting.")
            return
        lines = [f"{total} waiting:"]
        for view in shown:
            waited = int((now - view.queued_at).total_seconds() // 60) if view.queued_at else 0
            offered = f" → {view.offered_to.mention}" if view.offered_to else ""
            lines.append(
                f"#{view.conversation_id} · {team_name(self.config, view.team)} · "
                f"P{view.priority}{' ⭐' if view.is_vip else ''} · {waited} min · "
                f"{view.customer_name}{offered}"
            )
        await self.say(chat_id, "\n".join(lines))

    async def _cmd_why(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = parse_ref(args[0]) if args else None
        if ref is None:
            await self.say(chat_id, "Write it as /why #12.")
            return
        async with self.router.engine.connect() as conn:
            shown = await views.card_views(conn, [ref])
            steps = await views.trail(conn, ref)
        if not shown:
            await self.say(chat_id, f"There is no chat #{ref}.")
            return
        zone = team_zone(self.config, shown[0].team)
        body = [
            f"{clock(at, zone, seconds=True)} "
            + (reason if reason.startswith(f"{kind}:") else f"{kind}: {reason}")
            for at, kind, reason in steps
        ]
        await self.say(chat_id, fit([f"Routing of #{ref}:"], body, []))

    async def _cmd_agents(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        async with self.router.engine.connect() as conn:
            rows = await views.agent_rows(conn)
        lines = []
        for row in rows:
            flags = [str(row.status), "on shift" if row.on_shift else "off shift"]
            if not row.reachable:
                flags.append("cannot be messaged")
            lines.append(f"{row.name}: {', '.join(flags)}, {row.load}/{row.capacity} chats")
        await self.say(chat_id, "Agents:\n" + "\n".join(lines))

    async def _cmd_stats(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        """Today's overall row of the dashboard's report (`handoff.kpi_report`), in words."""
        report, _ = await load_today(self.router.engine, self.config, self.router.clock.now())
        day = report.rows[0]
        async with self.router.engine.connect() as conn:
            waiting_now = await views.waiting_count(conn)
        lines = [
            f"Today since {report.start:%H:%M %Z}: {day.created} chats, {day.closed} closed, "
            f"{waiting_now} waiting now",
            f"Wait p50 {duration(day.wait_p50_s)}, p90 {duration(day.wait_p90_s)}",
            f"First response p50 {duration(day.first_response_p50_s)}; "
            f"handle time {duration(day.aht_s)}",
            f"FCR {percent(day.fcr_pct)}; CSAT {day.csat_mean or '-'} "
            f"({day.csat_count} ratings, {percent(day.csat_good_pct)} happy)",
        ]
        await self.say(chat_id, "\n".join(lines))

    async def _cmd_assign(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        ref = parse_ref(args[0]) if args else None
        agent = self._agent_named(args[1]) if len(args) == 2 else None
        if ref is None or agent is None:
            await self.say(chat_id, "Write it as /assign #12 @agent (an agent in the config).")
            return
        outcome = await self.router.assign(ref, agent.id)
        if outcome.result is ClaimResult.CLAIMED:
            over = any(getattr(e, "over_capacity", False) for e in outcome.events)
            note = " (over their capacity)" if over else ""
            await self.say(chat_id, f"#{ref} assigned to {agent.name}{note}.")
        else:
            template = CLAIM_ANSWERS[ClaimResult(outcome.result)]
            await self.say(chat_id, template.format(id=ref, holder=self.name_of(outcome.holder_id)))

    async def _cmd_reload(self, spec: Agent, chat_id: int, args: list[str]) -> None:
        if self.reload is None:
            await self.say(chat_id, "This bot was started without a config file to reload.")
            return
        await self.say(chat_id, (await self.reload()).message)
