"""What the bot says, in its reader's language: one text system for customers, agents and
managers. A text is the config's `messages.<language>.<key>` if the config has it, else the
catalog shipped beside this module (`catalog.yaml`: the agents' and managers' texts), in the
language asked for, else in the default language. Times and waits are spelt here too.

Texts carry `{placeholders}` (config/frontdoor.yaml explains them); a placeholder a manager
misspells is left as written rather than breaking the reply.
"""

from __future__ import annotations

import functools
import string
from datetime import datetime
from importlib.resources import files
from zoneinfo import ZoneInfo

import yaml

from handoff.config import Config

LANGUAGES = ("id", "en")
DAY_NAMES = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
# Indonesia's zones by their everyday names; other zones show their own abbreviation.
ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


class _Leave(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def language_of(language_code: str | None, default: str) -> str:
    """`id` or `en` from Telegram's IETF language tag (`en-GB` → en); otherwise the default."""
    base = (language_code or "").split("-")[0].lower()
    return base if base in LANGUAGES else default


@functools.cache
def catalog() -> dict[str, dict[str, str]]:
    """The shipped texts as language → key → text."""
    entries = yaml.safe_load((files(__package__) / "catalog.yaml").read_text(encoding="utf-8"))
    by_language: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for key, texts in entries.items():
        for language, text in texts.items():
            by_language[language][key] = text
    return by_language


def say(config: Config, language: str, key: str, /, **values: object) -> str:
    """The text `key` in `language` (or the default language), filled in; the key itself if no
    config message nor catalog entry has it."""
    default = config.bot.default_language
    shipped = catalog()
    for source in (config.messages, shipped):
        found = source.get(language, {}).get(key)  # type: ignore[attr-defined]
        if found:
            return string.Formatter().vformat(found, (), _Leave(values))
    template = config.messages.get(default, {}).get(key) or shipped[default].get(key, key)
    return string.Formatter().vformat(template, (), _Leave(values))


def spell_wait(seconds: float | None, language: str, *, at_least: bool = False) -> str:
    """`±5 menit` / `about 5 min` (`lebih dari 5 menit` / `more than 5 min` for a lower bound);
    unknown when nobody is on duty."""
    if seconds is None:
        return "belum bisa diperkirakan" if language == "id" else "not known yet"
    minutes = max(1, round(seconds / 60))
    amount, unit_id, unit_en = (
        (round(minutes / 60), "jam", "h") if minutes >= 120 else (minutes, "menit", "min")
    )
    if at_least:
        return (
            f"lebih dari {amount} {unit_id}"
            if language == "id"
            else f"more than {amount} {unit_en}"
        )
    return f"±{amount} {unit_id}" if language == "id" else f"about {amount} {unit_en}"


def on_day(moment: datetime, timezone: str, language: str) -> str:
    """`Wednesday 25 Nov 09:00`: a moment by its weekday and date, in the zone (for texts that
    stay up for days, where "tomorrow" would go stale)."""
    local = moment.astimezone(ZoneInfo(timezone))
    day, month = DAY_NAMES[language][local.weekday()], MONTHS[language][local.month - 1]
    return f"{day} {local.day} {month} {local:%H:%M}"


def spell_moment(moment: datetime | None, timezone: str, language: str, now: datetime) -> str:
    """`Senin, 24 Nov 08:00 WIB`, or `hari ini pukul 08:00 WIB` / `today at 08:00 WIB`."""
    if moment is None:
        return "segera" if language == "id" else "soon"
    tz = ZoneInfo(timezone)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    zone = ZONE_NAMES.get(timezone) or local.tzname() or timezone
    clock = f"{local:%H:%M} {zone}"
    days = (local.date() - today).days
    if days == 0:
        return f"hari ini pukul {clock}" if language == "id" else f"today at {clock}"
    if days == 1:
        return f"besok pukul {clock}" if language == "id" else f"tomorrow at {clock}"
    day = DAY_NAMES[language][local.weekday()]
    month = MONTHS[language][local.month - 1]
    return f"{day}, {local.day} {month} {clock}"
