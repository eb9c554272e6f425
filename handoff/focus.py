"""Which customer an agent's message is for (SPEC §5), decided without I/O.

An agent with several chats must always reach the right customer: a reply names its chat; an
unaddressed message goes to the focused chat (last claimed, or `/switch #id`); when neither says,
the agent is asked. A message is never sent on a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Route(StrEnum):
    SEND = "send"  # to `conversation_id`
    ASK = "ask"  # with a button for each of `choices`
    NOT_YOURS = "not_yours"  # the reply names a chat the agent no longer holds
    NO_CHAT = "no_chat"  # the agent holds no chat


@dataclass(frozen=True)
class Target:
    route: Route
    conversation_id: int | None = None
    choices: tuple[int, ...] = ()


def choose_target(
    *,
    replied_to: int | None,
    focus: int | None,
    open_chats: Sequence[int],
    unplaced_reply: bool = False,
) -> Target:
    """Where an agent's message goes.

    `replied_to` is the conversation of the message the agent replied to (None: no reply, or a
    reply to something that belongs to no conversation); `unplaced_reply` says the agent replied
    to one of the bot's messages that names no conversation, so the focus cannot be trusted to be
    what they meant; `open_chats` are the conversations the agent holds now, oldest first.
    """
    if replied_to is not None:
        if replied_to in open_chats:
            return Target(Route.SEND, replied_to)
        return Target(Route.NOT_YOURS, replied_to)
    if unplaced_reply and open_chats:
        return Target(Route.ASK, choices=tuple(open_chats))
    if focus is not None and focus in open_chats:
        return Target(Route.SEND, focus)
    if len(open_chats) == 1:
        return Target(Route.SEND, open_chats[0])
    if not open_chats:
        return Target(Route.NO_CHAT)
    return Target(Route.ASK, choices=tuple(open_chats))
