"""The chats an agent holds and the queue (SPEC §5.3–5.4): `/mine`, `/switch`, `/close`,
`/release`, `/transfer`, `/note`, `/history`, `/queue`, `/why`."""

from __future__ import annotations

from agents_app import views
from agents_app.cards import clock, team_name, team_zone
from agents_app.context import fit, transcript_lines
from agents_app.desk import ACTION_ANSWERS, AgentDesk, parse_ref
from handoff.config import Agent
from handoff.router import ActionResult


async def mine(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    async with desk.router.engine.connect() as conn:
        focus, held = await desk.holdings(conn, spec.id)
    if not held:
        await desk.say(chat_id, "You hold no chat right now.")
        return
    lines = [
        f"#{v.conversation_id} · {v.customer_name} · {v.intent or '-'}"
        + (" ← you are writing here" if v.conversation_id == focus else "")
        for v in held
    ]
    await desk.say(chat_id, "Your chats:\n" + "\n".join(lines))


async def switch(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    if ref is None:
        await desk.say(chat_id, "Write it as /switch #12.")
        return
    result = await desk.router.set_focus(spec.id, ref)
    await desk.reply_result(chat_id, result, "Your messages go to #{id} now.", id=ref, target="")


async def close(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = await desk.chosen(spec, chat_id, args, "close")
    if ref is not None:
        outcome = await desk.router.close(ref, by_agent_id=spec.id)
        done = "#{id} closed; the customer is asked for a rating."
        await desk.reply_result(chat_id, ActionResult(outcome.result), done, id=ref)


async def release(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = await desk.chosen(spec, chat_id, args, "release")
    if ref is not None:
        outcome = await desk.router.release(ref, spec.id)
        done = "#{id} is back in the queue."
        await desk.reply_result(chat_id, ActionResult(outcome.result), done, id=ref)


async def transfer(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    if ref is None or len(args) != 2:
        await desk.say(chat_id, "Write it as /transfer #12 @agent or /transfer #12 billing.")
        return
    wanted = args[1]
    agent = desk.agent_named(wanted)
    team = desk.team_named(wanted)
    if agent is not None:
        outcome = await desk.router.transfer(ref, spec.id, to_agent_id=agent.id)
        done = "#{id} moved to {target}."
    elif team is not None:
        outcome = await desk.router.transfer(ref, spec.id, to_team=team)
        done = "#{id} moved to the {target} queue."
    else:
        unknown = ACTION_ANSWERS[ActionResult.UNKNOWN_TARGET]
        await desk.say(chat_id, unknown.format(target=wanted))
        return
    await desk.reply_result(chat_id, ActionResult(outcome.result), done, id=ref, target=wanted)


async def note(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    text = " ".join(args).strip()
    if not text:
        await desk.say(chat_id, "Write it as /note the customer's order number is 123.")
        return
    ref = await desk.chosen(spec, chat_id, [], "note")
    if ref is None:
        return
    async with desk.router.engine.connect() as conn:
        held = {v.conversation_id: v for v in await views.open_chats(conn, spec.id)}
    await desk.router.record_message(
        ref, sender="note", customer_id=held[ref].customer_id, agent_id=spec.id, text=text
    )
    await desk.say(chat_id, f"Noted on #{ref} (the customer does not see notes).")


async def history(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = await desk.chosen(spec, chat_id, args, "history")
    if ref is None:
        return
    async with desk.router.engine.connect() as conn:
        shown = await views.card_views(conn, [ref])
        lines = await views.transcript(conn, ref, limit=50)
    if not shown:
        await desk.say(chat_id, f"There is no chat #{ref}.")
        return
    view = shown[0]
    head = [f"#{ref} · {view.customer_name} · {view.state}"]
    body = transcript_lines(lines, team_zone(desk.config, view.team)) or ["(nothing yet)"]
    await desk.say(chat_id, fit(head, body, []))


async def queue(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    now = desk.router.clock.now()
    async with desk.router.engine.connect() as conn:
        shown = await views.waiting(conn)
        total = await views.waiting_count(conn)
    if not shown:
        await desk.say(chat_id, "Nobody is waiting.")
        return
    lines = [f"{total} waiting:"]
    for view in shown:
        waited = int((now - view.queued_at).total_seconds() // 60) if view.queued_at else 0
        offered = f" → {view.offered_to.mention}" if view.offered_to else ""
        lines.append(
            f"#{view.conversation_id} · {team_name(desk.config, view.team)} · "
            f"P{view.priority}{' ⭐' if view.is_vip else ''} · {waited} min · "
            f"{view.customer_name}{offered}"
        )
    await desk.say(chat_id, "\n".join(lines))


async def why(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    if ref is None:
        await desk.say(chat_id, "Write it as /why #12.")
        return
    async with desk.router.engine.connect() as conn:
        shown = await views.card_views(conn, [ref])
        steps = await views.trail(conn, ref)
    if not shown:
        await desk.say(chat_id, f"There is no chat #{ref}.")
        return
    zone = team_zone(desk.config, shown[0].team)
    body = [
        f"{clock(at, zone, seconds=True)} "
        + (reason if reason.startswith(f"{kind}:") else f"{kind}: {reason}")
        for at, kind, reason in steps
    ]
    await desk.say(chat_id, fit([f"Routing of #{ref}:"], body, []))
