"""Buttons that send a canned reply or a FAQ answer to a customer (`handoff.canned` refs), shared
by the customer's side (suggestions under a relayed message) and the agents' (the context
message, `/replies`). The press is handled in `agents_app.answers`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handoff.canned import NONE, Snippets, title_of
from handoff.config import Config
from handoff.trimming import trimmed
from telegram_io.calls import Buttons

SUGGESTED, CANNED = "sg", "cr"  # a suggestion's button; a reply chosen from /replies
HOW = {SUGGESTED: "suggested", CANNED: "canned"}  # what the transcript says
DATA = re.compile(r"^(sg|cr):(\d{1,18}):([fpr]:[\w-]{1,64})$")
DATA_LIMIT = 64  # bytes of callback_data Telegram takes
LABEL_LIMIT = 40  # characters of a title on a button


@dataclass(frozen=True)
class Pressed:
    how: str  # suggested | canned
    conversation_id: int
    ref: str


def answer_buttons(
    config: Config,
    conversation_id: int,
    refs: list[str],
    language: str,
    kind: str = SUGGESTED,
    own: Snippets = NONE,
) -> Buttons:
    """One row per answer (`own`: the agent's snippets), titled in the agent's `language`; an
    answer whose data would not fit Telegram's 64 bytes (a very long intent name) is left out."""
    rows: Buttons = []
    for ref in refs:
        title = title_of(config, ref, language, own)
        data = f"{kind}:{conversation_id}:{ref}"
        if title is None or len(data.encode()) > DATA_LIMIT or DATA.match(data) is None:
            continue
        rows.append([(f"💬 {trimmed(title, LABEL_LIMIT)}", data)])
    return rows


def pressed(data: str) -> Pressed | None:
    """What an answer button asks for; None when its data is not one (forged, or too old)."""
    match = DATA.match(data)
    if match is None:
        return None
    return Pressed(HOW[match.group(1)], int(match.group(2)), match.group(3))
