"""How Frontdoor logs: to stderr, at `--log-level`, as text or one JSON object per line
(`--log-format`, python-json-logger), each line with the update, chat and conversation ids it
was written under (`handoff.log_context`) and every secret the process holds replaced by ***."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from handoff.log_context import IDS, WithIds

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "***"
MIN_SECRET = 6  # shorter values (a test's "x") would blank ordinary words


class _TextWithIds(logging.Formatter):
    """The text line, then the ids it was written under: `[update=5 chat=42 conversation=7]`."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [
            f"{name.removesuffix('_id')}={value}"
            for name in IDS
            if (value := getattr(record, name, None)) is not None
        ]
        return f"{text} [{' '.join(ids)}]" if ids else text


class _JsonWithIds(JsonFormatter):
    """One JSON object per line; the ids only when set."""

    def process_log_record(self, log_data: dict[str, object]) -> dict[str, object]:
        return {key: value for key, value in log_data.items() if value is not None}


class _Redacting(logging.Formatter):
    """Any secret in a formatted line (message, arguments, traceback) becomes ***."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            text = text.replace(secret, HIDDEN)
        return text


def formatter(log_format: str, secrets: Iterable[str] = ()) -> logging.Formatter:
    if log_format == "json":
        fields = ["asctime", "levelname", "name", "message", *IDS]
        inner: logging.Formatter = _JsonWithIds(
            fields, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
        )
    else:
        inner = _TextWithIds(TEXT)
    return _Redacting(inner, secrets)


def configure(
    level: str = "INFO",
    log_format: str = "text",
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> None:
    """Send every logger's lines to stderr (or `stream`) in `log_format`, from `level` up."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format, secrets))
    handler.addFilter(WithIds())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Their request lines carry the bot token in the URL: never below WARNING.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # A Bot API URL that answers with no JSON (a wrong --api-url) is said in one line, not a
    # traceback of the JSON parser.
    logging.getLogger("telegram.request.BaseRequest").addFilter(_without_traceback)
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per timer run


def _without_traceback(record: logging.LogRecord) -> bool:
    record.exc_info, record.exc_text = None, None
    return True
