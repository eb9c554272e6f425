"""The configuration schema (SPEC §6): plain pydantic models, validated strictly.

Loading a YAML file and turning validation errors into `FILE:LINE path: message` lives in
`handoff.config_loader`; this module only says what a valid configuration is.
"""

from __future__ import annotations

import itertools
import re
import string
import weakref
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_duration(value: object) -> float:
    """Seconds from `45`, `45s`, `5m`, `72h`, `1d` or `250ms`."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 45s, 5m or 72h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError(f"expected a duration such as 45s, 5m or 72h, got {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration, json_schema_input_type=float | str)]


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Span(Strict):
    """One opening span within a day, `08:00-17:00`; `24:00` closes at midnight."""

    start: time
    end: time | None  # None means midnight at the end of the day

    @classmethod
    def parse(cls, text: str) -> Span:
        match = _SPAN.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"not a time of day in {text!r}")
        start, end = time(h1, m1), (None if h2 == 24 else time(h2, m2))
        if end is not None and end <= start:
            raise ValueError(f"span {text!r} ends before it starts")
        return cls(start=start, end=end)

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start:%H:%M}-{end}"


def _parse_spans(value: object) -> list[Span]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected a list of HH:MM-HH:MM spans")
    # Dicts come from `model_dump()`, so a dumped schedule validates again.
    spans = [Span.model_validate(v) if isinstance(v, Span | dict) else Span.parse(v) for v in value]
    ordered = sorted(spans, key=lambda s: s.start)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.end is None or later.start < earlier.end:
            raise ValueError(f"spans {earlier} and {later} overlap")
    return ordered


Spans = Annotated[
    list[Span], BeforeValidator(_parse_spans, json_schema_input_type=str | list[str] | None)
]


class Override(Strict):
    """A dated exception to the weekly hours: other hours, or closed (`hours: []`)."""

    date: date
    hours: Spans = Field(default_factory=list)
    note: str = ""


class Schedule(Strict):
    """Weekly hours in a timezone, with public holidays and dated overrides."""

    timezone: str
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], Spans]
    holidays: str | None = None  # country code for the `holidays` package, e.g. ID
    holiday_subdivision: str | None = None
    overrides: list[Override] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return value
        import holidays  # imported lazily: the package is large

        if value.upper() not in holidays.list_supported_countries():
            raise ValueError(f"unknown holidays country {value!r}")
        return value.upper()

    @field_validator("holiday_subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or "holidays" not in info.data:  # a bad country is reported already
            return value
        country = info.data["holidays"]
        if country is None:
            raise ValueError("a holiday subdivision needs a holidays country")
        import holidays

        known = holidays.list_supported_countries()[country]
        if value not in known:
            listed = ", ".join(known) or "none"
            raise ValueError(f"unknown subdivision {value!r} of {country} (known: {listed})")
        return value

    @field_validator("overrides")
    @classmethod
    def _one_override_per_date(cls, value: list[Override]) -> list[Override]:
        seen: set[date] = set()
        for override in value:
            if override.date in seen:
                raise ValueError(f"two overrides for {override.date}")
            seen.add(override.date)
        return value


class AfterHours(StrEnum):
    QUEUE = "queue"
    BOT_ONLY = "bot_only"
    TEAM = "team"


class Sla(Strict):
    first_response: Duration = 300.0


class Team(Strict):
    name: str
    schedule: str
    after_hours: str = "queue"  # queue | bot_only | team:<name>
    secondary: list[str] = Field(default_factory=list)
    sla: Sla = Field(default_factory=Sla)

    @field_validator("after_hours")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value in (AfterHours.QUEUE, AfterHours.BOT_ONLY) or (
            value.startswith("team:") and len(value) > 5
        ):
            return value
        raise ValueError(f"expected queue, bot_only or team:<name>, got {value!r}")

    @property
    def after_hours_policy(self) -> AfterHours:
        return (
            AfterHours.TEAM
            if self.after_hours.startswith("team:")
            else AfterHours(self.after_hours)
        )

    @property
    def after_hours_team(self) -> str | None:
        return self.after_hours[5:] if self.after_hours.startswith("team:") else None


class Agent(Strict):
    id: int = Field(gt=0, description="Telegram user id")
    name: str = Field(min_length=1, max_length=64)
    username: str | None = None
    teams: list[str] = Field(min_length=1)
    capacity: int = Field(default=3, ge=1, le=50)
    shift: str  # a schedule name
    manager: bool = False
    language: Literal["id", "en"] | None = None  # what the bot says to them; else agents_language


Localized = dict[Literal["id", "en"], str]
LocalizedList = dict[Literal["id", "en"], list[str]]


class Intent(Strict):
    keywords: LocalizedList
    questions: LocalizedList = Field(default_factory=dict)
    examples: LocalizedList = Field(default_factory=dict)  # how customers say it: trains the model
    label: Localized | None = None  # the intent's name for customers, on buttons
    answer: Localized | None = None
    team: str
    priority_boost: int = 0
    human_required: bool = False
    sales: bool = False  # a sales-type intent: leads go to the sales team

    def name_in(self, language: str, name: str) -> str:
        """What customers see for this intent on a button: its label, else its name in words."""
        if self.label:
            return self.label.get(language) or next(iter(self.label.values()))  # type: ignore[call-overload]
        return name.replace("_", " ").capitalize()


REPLY_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
REPLY_VARIABLES = ("customer", "agent", "team", "id")  # what a canned reply's text may name


def reply_key(key: str) -> str:
    if not REPLY_KEY.match(key):
        raise ValueError(
            "a reply's key is what agents type after !: lowercase letters, digits, _ and -, "
            "at most 32"
        )
    return key


ReplyKey = Annotated[str, AfterValidator(reply_key)]


def template_names(text: str) -> list[str]:
    """The `{names}` a reply's text fills in (`{{` and `}}` are literal braces); ValueError
    when a brace is unmatched or a name comes with a conversion or format."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not name:
            raise ValueError(f"write a variable as {{name}}, not {{{name or ''}...}}")
        names.append(name)
    return names


class CannedReply(Strict):
    """A reply agents send with `!key` or a button, in the customer's language (SPEC §5)."""

    title: Localized  # what agents see in lists and on buttons
    text: Localized
    keywords: LocalizedList = Field(default_factory=dict)  # customers' words it fits: suggested
    # A file sent with it, its text the caption: a path in the config's folder (the loader checks
    # it and makes it absolute); uploaded once, then sent again by Telegram's file_id.
    photo: str | None = Field(default=None, min_length=1, max_length=512)
    document: str | None = Field(default=None, min_length=1, max_length=512)

    @model_validator(mode="after")
    def _one_file(self) -> CannedReply:
        if self.photo is not None and self.document is not None:
            raise ValueError("a reply sends one file: a photo or a document, not both")
        return self

    @property
    def attachment(self) -> tuple[str, str] | None:
        """(photo|document, path) of the file it sends, if any."""
        if self.photo is not None:
            return "photo", self.photo
        if self.document is not None:
            return "document", self.document
        return None

    @field_validator("title", "text")
    @classmethod
    def _both_languages(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [language for language in ("id", "en") if not (value.get(language) or "").strip()]
        if missing:
            raise ValueError(f"needs a text in each language; missing: {', '.join(missing)}")
        return value

    @field_validator("text")
    @classmethod
    def _known_variables(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            try:
                names = template_names(text)
            except ValueError as error:
                raise ValueError(f"{language}: {error}") from None
            unknown = sorted(set(names) - set(REPLY_VARIABLES))
            if unknown:
                allowed = " ".join(f"{{{n}}}" for n in REPLY_VARIABLES)
                raise ValueError(
                    f"{language}: unknown variable {{{unknown[0]}}}; a reply may use {allowed}"
                )
        return value


# Telegram's limits on a file a bot uploads: photos 10 MB, other files 50 MB.
UPLOAD_LIMITS = {"photo": 10 * 1024 * 1024, "document": 50 * 1024 * 1024}


class Sticky(Strict):
    window: Duration = 72 * 3600.0
    timeout: Duration = 45.0


class ClaimMode(StrEnum):
    OFFERED = "offered"
    ANYONE = "anyone"


class HeldTakers(StrEnum):
    """Who may take a chat held for its team's opening before the team opens."""

    MANAGERS = "managers"
    TEAM = "team"  # managers, and the team's agents who are on shift


class Vip(Strict):
    customers: list[int] = Field(default_factory=list)
    boost: int = 5


class Urgent(Strict):
    keywords: list[str] = Field(default_factory=list)
    boost: int = 3


class Routing(Strict):
    claim_timeout: Duration = 60.0
    sticky: Sticky = Field(default_factory=Sticky)
    overflow_after: Duration = 300.0
    max_attempts: int = Field(default=3, ge=1)
    max_missed_offers: int = Field(default=2, ge=1)
    aging: Duration = 60.0  # one priority level is worth this much waiting
    claim: ClaimMode = ClaimMode.OFFERED
    take_held: HeldTakers = HeldTakers.MANAGERS
    idle_close_after: Duration = 1800.0
    sweep_every: Duration = 15.0
    base_priority: int = 0
    vip: Vip = Field(default_factory=Vip)
    urgent: Urgent = Field(default_factory=Urgent)
    sales_team: str | None = None  # leads with a sales-type intent go here


class Spam(Strict):
    """A customer sending more than `messages` within `per` gets one warning; the rest waits."""

    messages: int = Field(default=8, ge=1)
    per: Duration = 10.0


class Pacing(Strict):
    """How fast the outbox sends: Telegram's flood limits, with a margin if you like (SPEC §8)."""

    per_chat_per_s: float = Field(default=1.0, gt=0)
    per_chat_burst: int = Field(default=3, ge=1)
    per_group_per_min: float = Field(default=20.0, gt=0)
    global_per_s: float = Field(default=30.0, gt=0)


class Understanding(Strict):
    """How sure the bot must be to answer, and when it asks instead (shares of the evidence)."""

    answer_at: float = Field(default=0.6, gt=0, le=1)  # answer at this share or more …
    margin: float = Field(default=0.1, ge=0, le=1)  # … ahead of the next intent by this much
    ask_at: float = Field(default=0.2, gt=0, le=1)  # below: not understood; between: ask

    @model_validator(mode="after")
    def _ordered(self) -> Understanding:
        if self.ask_at > self.answer_at:
            raise ValueError("ask_at must not be above answer_at")
        return self


class BotSection(Strict):
    token_env: str = "TELEGRAM_BOT_TOKEN"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret_env: str = "TELEGRAM_WEBHOOK_SECRET"
    # deliveries Telegram makes at once (setWebhook's max_connections): with several workers,
    # at least one per worker, or they take turns
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    default_language: Literal["id", "en"] = "id"
    agents_language: Literal["id", "en"] = "en"  # the agents group's, and agents' without their own
    agents_group_id: int | None = None
    transport: Literal["aiohttp", "httpx"] = "aiohttp"
    poll_timeout: int = Field(default=25, ge=0, le=50)  # seconds a getUpdates long poll waits
    # not understood this many times in a row → a person (the time before: the topic menu)
    unknown_before_handoff: int = Field(default=3, ge=1)
    understanding: Understanding = Field(default_factory=Understanding)
    spam: Spam = Field(default_factory=Spam)
    pacing: Pacing = Field(default_factory=Pacing)
    # after the config file's folder changes, how long a save takes to settle (reads this far
    # apart must agree before a reload); 0: never reload on save
    config_check_every: Duration = Field(default=2.0, ge=0)


class Database(Strict):
    url: str = "sqlite+aiosqlite:///frontdoor.db"


class MenuItem(Strict):
    label: Localized
    intent: str


# fmt: off
_GREETINGS = [
    "halo", "hai", "hi", "hello", "hey", "hola", "p", "permisi", "punten", "assalamualaikum",
    "selamat pagi", "selamat siang", "selamat sore", "selamat malam", "pagi", "siang", "sore",
    "malam", "good morning", "good afternoon", "good evening",
]
_THANKS = [
    "terima kasih", "makasih", "trims", "thanks", "thank you", "thank u", "ty", "tengkyu",
    "suwun", "matur nuwun", "hatur nuhun", "thanks a lot",
]
_GOODBYES = [
    "bye", "bye bye", "dadah", "sampai jumpa", "see you", "see ya", "cya", "goodbye", "good bye",
    "selamat tinggal", "wassalam", "have a nice day",
]
_ACKS = [
    "ok", "oke", "okay", "okey", "okeh", "sip", "siap", "baik", "baiklah", "noted", "mantap",
    "mantul", "yes", "ya", "iya", "yup", "alright", "got it", "understood", "paham", "mengerti",
    "cool", "great", "nice", "good", "fine", "wkwk", "haha", "hehe",
]
_FILLER = [
    "kak", "kakak", "ka", "min", "mas", "mbak", "mba", "bang", "pak", "bu", "bro", "sis", "gan",
    "dong", "deh", "nih", "juga", "banget", "banyak", "sekali", "very", "much", "so", "all",
    "semua", "guys", "there", "again", "lagi",
]
# fmt: on


class SmallTalkPhrases(Strict):
    """What customers say that needs no topic (SPEC §3.3), any language; a message made only of
    these and `filler` is small talk. The defaults cover Indonesian and English chat."""

    greeting: list[str] = Field(default_factory=lambda: list(_GREETINGS))
    thanks: list[str] = Field(default_factory=lambda: list(_THANKS))
    goodbye: list[str] = Field(default_factory=lambda: list(_GOODBYES))
    ack: list[str] = Field(default_factory=lambda: list(_ACKS))
    filler: list[str] = Field(default_factory=lambda: list(_FILLER))


class Crm(Strict):
    lookup_url: str | None = None
    timeout: Duration = 2.0
    events_url: str | None = None
    secret_env: str = "FRONTDOOR_CRM_SECRET"


class Web(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=1, le=65535)
    dashboard_token_env: str = "FRONTDOOR_DASHBOARD_TOKEN"


# Each config's agents by id, built on first look-up (routing looks agents up on every step; a
# frozen model's private attributes would take part in its equality). A copy is a new object.
_agent_indexes: dict[int, dict[int, Agent]] = {}


class Config(Strict):
    bot: BotSection = Field(default_factory=BotSection)
    database: Database = Field(default_factory=Database)
    web: Web = Field(default_factory=Web)
    messages: dict[Literal["id", "en"], dict[str, str]]
    menu: list[MenuItem] = Field(default_factory=list)
    small_talk: SmallTalkPhrases = Field(default_factory=SmallTalkPhrases)
    schedules: dict[str, Schedule]
    teams: dict[str, Team] = Field(min_length=1)
    agents: list[Agent] = Field(default_factory=list)
    intents: dict[str, Intent] = Field(default_factory=dict)
    routing: Routing = Field(default_factory=Routing)
    crm: Crm = Field(default_factory=Crm)
    replies: dict[ReplyKey, CannedReply] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Config:
        problems = list(self.reference_problems())
        if problems:
            # Raised as one error per path; the loader maps each path to a line.
            raise ReferenceErrors(problems)
        return self

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every name that points at something that does not exist: (path, message)."""
        problems: list[tuple[tuple[str | int, ...], str]] = []

        def team_ref(path: tuple[str | int, ...], name: str) -> None:
            if name not in self.teams:
                problems.append((path, f"unknown team {name!r}"))

        for key, team in self.teams.items():
            if team.schedule not in self.schedules:
                problems.append((("teams", key, "schedule"), f"unknown schedule {team.schedule!r}"))
            if (other := team.after_hours_team) is not None:
                if other == key:
                    problems.append(
                        (("teams", key, "after_hours"), "a team cannot be its own after-hours team")
                    )
                else:
                    team_ref(("teams", key, "after_hours"), other)
            for i, name in enumerate(team.secondary):
                team_ref(("teams", key, "secondary", i), name)
        seen_ids: set[int] = set()
        for i, agent in enumerate(self.agents):
            if agent.shift not in self.schedules:
                problems.append((("agents", i, "shift"), f"unknown schedule {agent.shift!r}"))
            for j, name in enumerate(agent.teams):
                team_ref(("agents", i, "teams", j), name)
            if agent.id in seen_ids:
                problems.append((("agents", i, "id"), f"agent id {agent.id} appears twice"))
            seen_ids.add(agent.id)
        for key, intent in self.intents.items():
            team_ref(("intents", key, "team"), intent.team)
        for i, item in enumerate(self.menu):
            if item.intent not in self.intents:
                problems.append((("menu", i, "intent"), f"unknown intent {item.intent!r}"))
        if self.routing.sales_team is not None:
            team_ref(("routing", "sales_team"), self.routing.sales_team)
        return problems

    def agent(self, agent_id: int) -> Agent | None:
        index = _agent_indexes.get(id(self))
        if index is None:
            index = _agent_indexes[id(self)] = {a.id: a for a in self.agents}
            weakref.finalize(self, _agent_indexes.pop, id(self), None)
        return index.get(agent_id)

    def agent_language(self, chat_id: int | None) -> str:
        """What the bot speaks in an agent's chat: their own language, else the agents' (which
        is also the agents group's)."""
        spec = self.agent(chat_id) if chat_id is not None else None
        return (spec.language if spec else None) or self.bot.agents_language


class ReferenceErrors(ValueError):
    """Names in the config that point at nothing; each with its path."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        self.problems = problems
