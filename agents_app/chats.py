"""The chats an agent holds and the queue (SPEC §5.3–5.4): `/mine`, `/switch`, `/close`,
`/release`, `/transfer`, `/note`, `/history`, `/queue`, `/why`."""

from __future__ import annotations

from agents_app import views
from agents_app.cards import clock, team_name, team_zone
from agents_app.context import fit, transcript_lines
from agents_app.desk import AgentDesk, Quoted, parse_ref
from handoff.config import Agent
from handoff.router import ActionResult, ClaimResult


async def mine(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    focus, held = await desk.read(lambda conn: views.holdings(conn, spec.id))
    if not held:
        await desk.tell(chat_id, "no_chat_held")
        return
    lines = [
        f"#{v.conversation_id} · {v.customer_name} · {v.intent or '-'}"
        + (desk.text(chat_id, "writing_here") if v.conversation_id == focus else "")
        for v in held
    ]
    await desk.say(chat_id, "\n".join([desk.text(chat_id, "your_chats"), *lines]))


async def switch(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    if ref is None:
        await desk.tell(chat_id, "write_it_as", example="/switch #12")
        return
    result = await desk.router.set_focus(spec.id, ref)
    await desk.reply_result(chat_id, result, "switched", id=ref, target="")


async def close(
    desk: AgentDesk, spec: Agent, chat_id: int, args: list[str], quoted: Quoted | None
) -> None:
    ref = await desk.chosen(spec, chat_id, args, "close", quoted)
    if ref is not None:
        outcome = await desk.router.close(ref, by_agent_id=spec.id)
        await desk.reply_result(chat_id, ActionResult(outcome.result), "closed_done", id=ref)


async def release(
    desk: AgentDesk, spec: Agent, chat_id: int, args: list[str], quoted: Quoted | None
) -> None:
    ref = await desk.chosen(spec, chat_id, args, "release", quoted)
    if ref is not None:
        outcome = await desk.router.release(ref, spec.id)
        await desk.reply_result(chat_id, ActionResult(outcome.result), "released_done", id=ref)


async def transfer(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    if ref is None or len(args) != 2:
        await desk.tell(
            chat_id,
            "write_it_as",
            example=f"/transfer #12 @agent{desk.text(chat_id, 'or')}/transfer #12 billing",
        )
        return
    wanted = args[1]
    agent = desk.agent_named(wanted)
    team = desk.team_named(wanted)
    if agent is not None:
        outcome = await desk.router.transfer(ref, spec.id, to_agent_id=agent.id)
        done = "moved_to_agent"
    elif team is not None:
        outcome = await desk.router.transfer(ref, spec.id, to_team=team)
        done = "moved_to_team"
    else:
        await desk.tell(chat_id, f"action_{ActionResult.UNKNOWN_TARGET}", target=wanted)
        return
    await desk.reply_result(chat_id, ActionResult(outcome.result), done, id=ref, target=wanted)


async def note(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    text = " ".join(args).strip()
    if not text:
        await desk.tell(chat_id, "write_it_as", example="/note the customer's order number is 123")
        return
    ref = await desk.chosen(spec, chat_id, [], "note")
    if ref is None:
        return
    mine = await desk.read(lambda conn: views.open_chats(conn, spec.id))
    held = {v.conversation_id: v for v in mine}
    await desk.router.record_message(
        ref, sender="note", customer_id=held[ref].customer_id, agent_id=spec.id, text=text
    )
    await desk.tell(chat_id, "noted", id=ref)


async def history(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = await desk.chosen(spec, chat_id, args, "history")
    if ref is None:
        return
    shown, lines = await desk.read(
        lambda conn: (views.card_views(conn, [ref]), views.transcript(conn, ref, limit=50))
    )
    if not shown:
        await desk.tell(chat_id, f"claim_{ClaimResult.NOT_FOUND}", id=ref)
        return
    view = shown[0]
    head = [f"#{ref} · {view.customer_name} · {view.state}"]
    body = transcript_lines(lines, team_zone(desk.config, view.team)) or [
        desk.text(chat_id, "nothing_yet")
    ]
    await desk.say(chat_id, fit(head, body, []))


async def queue(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    now = desk.router.clock.now()
    shown, total = await desk.read(lambda conn: (views.waiting(conn), views.waiting_count(conn)))
    if not shown:
        await desk.tell(chat_id, "nobody_waiting")
        return
    lines = [desk.text(chat_id, "waiting_heading", n=total)]
    for view in shown:
        waited = int((now - view.queued_at).total_seconds() // 60) if view.queued_at else 0
        offered = f" → {view.offered_to.mention}" if view.offered_to else ""
        minutes = desk.text(chat_id, "minutes", n=waited)
        lines.append(
            f"#{view.conversation_id} · {team_name(desk.config, view.team)} · "
            f"P{view.priority}{' ⭐' if view.is_vip else ''} · {minutes} · "
            f"{view.customer_name}{offered}"
        )
    await desk.say(chat_id, "\n".join(lines))


async def why(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    if ref is None:
        await desk.tell(chat_id, "write_it_as", example="/why #12")
        return
    shown, steps = await desk.read(
        lambda conn: (views.card_views(conn, [ref]), views.trail(conn, ref))
    )
    if not shown:
        await desk.tell(chat_id, f"claim_{ClaimResult.NOT_FOUND}", id=ref)
        return
    zone = team_zone(desk.config, shown[0].team)
    body = [
        f"{clock(at, zone, seconds=True)} "
        + (reason if reason.startswith(f"{kind}:") else f"{kind}: {reason}")
        for at, kind, reason in steps
    ]
    await desk.say(chat_id, fit([desk.text(chat_id, "routing_of", id=ref)], body, []))


async def intent(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """`/intent #id NAME`: what the customer meant; the chat is filed under it, and once closed
    its question teaches the bot."""
    ref = parse_ref(args[0]) if len(args) == 2 else None
    if ref is None:
        await desk.tell(
            chat_id, "write_it_as", example=f"/intent #12 {next(iter(desk.config.intents), 'NAME')}"
        )
        return
    name = args[1].strip().lower()
    if name not in desk.config.intents:
        known = ", ".join(sorted(desk.config.intents))
        await desk.tell(chat_id, "unknown_intent", intent=args[1][:64], known=known)
        return
    outcome = await desk.router.correct_intent(ref, name, spec.id)
    if outcome.result is ActionResult.DONE:
        await desk.tell(chat_id, "intent_corrected", id=ref, intent=name)
    elif outcome.result is ActionResult.NOT_FOUND:
        await desk.tell(chat_id, f"claim_{ClaimResult.NOT_FOUND}", id=ref)
    else:
        await desk.tell(chat_id, "only_agents")
