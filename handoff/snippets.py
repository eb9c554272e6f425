"""Agents' own snippets (SPEC §5): a message of theirs kept with `/save key`, sent with `!key` by
that agent only, as written. The rules are here; the rows in `store`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import yaml
from sqlalchemy import Connection

from handoff import canned, store
from handoff.config import REPLY_KEY, Config
from handoff.unit_of_work import Database

MAX_PER_AGENT = 100  # snippets an agent may keep: beyond, /replies would bury the team's
MAX_LENGTH = 4096  # characters: one Telegram message


class Saved(StrEnum):
    """What `/save key` came to."""

    SAVED = "saved"
    REPLACED = "replaced"
    BAD_KEY = "bad_key"
    TEAMS_KEY = "teams_key"  # the config has a reply of that key: it would never be sent
    EMPTY = "empty"
    HAS_KEYS = "has_keys"  # `!keys` in a snippet would be sent unfilled
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"


def refusal(config: Config, key: str, text: str) -> Saved | None:
    """Why `text` cannot be kept as a snippet `key`, None when it can."""
    if not REPLY_KEY.match(key):
        return Saved.BAD_KEY
    if key in config.replies:
        return Saved.TEAMS_KEY
    if not text.strip():
        return Saved.EMPTY
    if canned.MARKER.search(text):
        return Saved.HAS_KEYS
    if len(text) > MAX_LENGTH:
        return Saved.TOO_LONG
    return None


async def save(
    database: Database, config: Config, now: datetime, agent_id: int, key: str, text: str
) -> Saved:
    """Keep `text` as the agent's snippet `key` (replacing theirs of that key), if it may be."""
    key = key.removeprefix("!").lower()
    if (refused := refusal(config, key, text)) is not None:
        return refused

    def step(conn: Connection) -> Saved:
        mine = store.snippets_of(conn, agent_id)
        if key not in mine and len(mine) >= MAX_PER_AGENT:
            return Saved.TOO_MANY
        replaced = store.save_snippet(conn, now, agent_id, key, text.strip())
        return Saved.REPLACED if replaced else Saved.SAVED

    return await database.write(step)


async def forget(database: Database, agent_id: int, key: str) -> bool:
    """Remove the agent's snippet `key`; False when they had none."""
    key = key.removeprefix("!").lower()
    return await database.write(lambda conn: store.forget_snippet(conn, agent_id, key))


async def of_agent(database: Database, agent_id: int) -> canned.Snippets:
    """The agent's snippets, key → text."""
    return await database.read(lambda conn: store.snippets_of(conn, agent_id))


class _Dumper(yaml.SafeDumper):
    """Writes a text of several lines as a block (`|-`), as a person would in the config."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def as_config_yaml(key: str, text: str, language: str) -> str:
    """A snippet as an entry of the config's `replies:`, to paste under it: its text in both
    languages (the one it was written in first; the other to translate) and its first words as
    the title."""
    other = "en" if language == "id" else "id"
    title = canned.snippet_title(text)
    template = canned.as_template(text)
    entry = {
        key: {
            "title": {language: title, other: title},
            "text": {language: template, other: template},
        }
    }
    dumped = yaml.dump(entry, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return "\n".join(f"  {line}" if line else line for line in dumped.splitlines())
