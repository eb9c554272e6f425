"""How Frontdoor logs: text or one JSON object a line, at the level asked, each line with the ids
it was written under, and no secret ever, down to a full run at DEBUG."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import pytest

from frontdoor import logs
from frontdoor.cli import EXIT_USAGE, main
from handoff import log_context
from tests.sandbox_support import BOT_TOKEN, SandboxClient
from tests.support.processes import bot_process, wait_until_answered

SECRETS = {
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-4f1c9a",
    "FRONTDOOR_DASHBOARD_TOKEN": "dashboard-token-7d2e8b0c",
    "FRONTDOOR_CRM_SECRET": "crm-secret-93ab61",
}


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def logged(log_format: str, level: str = "INFO") -> list[str]:
    """What one warning written under bound ids comes out as."""
    out = io.StringIO()
    logs.configure(level, log_format, ["s3cret-token-value"], stream=out)

    async def handling() -> None:  # a task of its own, as each update is handled
        log_context.bind(update_id=7, chat_id=1000001, conversation_id=12)
        logging.getLogger("frontdoor.test").warning("sent with s3cret-token-value in it")
        logging.getLogger("frontdoor.test").debug("a detail")

    await asyncio.create_task(handling())
    logging.getLogger("frontdoor.test").warning("outside any update")
    return out.getvalue().splitlines()


@pytest.mark.usefixtures("restore_logging")
async def test_a_json_line_has_the_ids_it_was_written_under_and_no_secret() -> None:
    first, outside = [json.loads(line) for line in await logged("json")]
    assert first["message"] == "sent with *** in it"
    assert (first["level"], first["logger"]) == ("WARNING", "frontdoor.test")
    assert (first["update_id"], first["chat_id"], first["conversation_id"]) == (7, 1000001, 12)
    assert "time" in first
    assert "update_id" not in outside and outside["message"] == "outside any update"


@pytest.mark.usefixtures("restore_logging")
async def test_a_text_line_ends_with_its_ids_and_debug_shows_when_asked() -> None:
    first, detail, outside = await logged("text", "DEBUG")
    assert first.endswith(
        "WARNING frontdoor.test: sent with *** in it [update=7 chat=1000001 conversation=12]"
    )
    assert detail.endswith("DEBUG frontdoor.test: a detail [update=7 chat=1000001 conversation=12]")
    assert outside.endswith("outside any update")


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        (["--log-level", "LOUD"], "log level 'LOUD': one of DEBUG, INFO, WARNING, ERROR"),
        (["--log-format", "xml"], "log format 'xml': one of text, json"),
    ],
)
def test_a_log_level_or_format_it_does_not_know_is_refused(
    flags: list[str],
    complaint: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    assert main(["run", *flags]) == EXIT_USAGE
    assert capsys.readouterr().err == f"frontdoor run: {complaint}\n"


async def test_a_full_run_at_debug_logs_json_with_ids_and_never_a_secret(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    options = ["--log-level", "DEBUG", "--log-format", "json"]
    with (tmp_path / "frontdoor.log").open("wb") as log:
        async with bot_process(
            sandbox.base_url, tmp_path, options=options, environment=SECRETS, log=log
        ):
            customers = [(await sandbox.add_user(f"C{i}"))["id"] for i in range(3)]
            for customer in customers:
                await sandbox.send(customer, "cara bayar tagihan")
            await sandbox.send(customers[0], "minta cs")
            answered = await wait_until_answered(sandbox, customers, 1, 20)
            assert all(n >= 1 for n in answered.values())
    text = (tmp_path / "frontdoor.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert any(line["level"] == "DEBUG" for line in lines)
    assert any(line.get("update_id") and line.get("chat_id") in customers for line in lines)
    handoff = next(line for line in lines if line["message"].startswith("handoff asked"))
    assert handoff["chat_id"] == customers[0] and handoff["conversation_id"] >= 1
    for secret in (BOT_TOKEN, *SECRETS.values()):
        assert secret not in text, f"a secret reached the log: {secret}"
