"""`frontdoor run` that cannot start says what is wrong in one line and exits 2, and never prints
a secret: not the bot token (python-telegram-bot's own message has it), the webhook secret, the
dashboard token or the database password. Each failing path runs the real command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from frontdoor.sandbox_command import free_port
from tests.sandbox_support import SandboxClient
from tests.support.frontdoor import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654321:NeverPrintThisTokenSecret_xyz"
WEBHOOK_SECRET = "NeverPrintThisWebhookSecret"
DASHBOARD_TOKEN = "NeverPrintThisDashboardToken"
DB_PASSWORD = "NeverPrintThisDatabasePassword"
SECRETS = (TOKEN, TOKEN.split(":")[1], WEBHOOK_SECRET, DASHBOARD_TOKEN, DB_PASSWORD)


def config_file(directory: Path, webhook_url: str | None = None) -> Path:
    text = EXAMPLE.read_text().replace("  port: 8088", f"  port: {free_port('127.0.0.1')}", 1)
    if webhook_url is not None:
        text = text.replace("  mode: polling", "  mode: webhook", 1)
        text = text.replace("  webhook_url: null", f"  webhook_url: {webhook_url}", 1)
    path = directory / "frontdoor.yaml"
    path.write_text(text)
    return path


async def run(
    directory: Path, *flags: str, webhook_url: str | None = None, stop_when: str | None = None
) -> tuple[int, str]:
    """`frontdoor run` with secrets in its environment: (exit code, everything it printed);
    stopped with SIGTERM once it prints `stop_when`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "frontdoor", "run",
        "--config", str(config_file(directory, webhook_url)),
        "--database-url", f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}", *flags,
        cwd=ROOT,
        env={
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "FRONTDOOR_DASHBOARD_TOKEN": DASHBOARD_TOKEN,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    before = b""
    if stop_when is not None:
        async with asyncio.timeout(60):
            while stop_when.encode() not in before:
                line = await process.stdout.readline()
                assert line, before.decode()
                before += line
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    return process.returncode or 0, (before + output).decode()


def assert_no_secret(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"printed a secret: {output}"
    assert "Unclosed" not in output, output  # what it opened, it closed


async def test_a_token_telegram_rejects(sandbox: SandboxClient, tmp_path: Path) -> None:
    await sandbox.fault("getMe", 401, "Unauthorized", count=1)
    code, output = await run(tmp_path, "--api-url", sandbox.base_url)
    assert code == 2, output
    assert "Telegram rejected the token (401 Unauthorized): check TELEGRAM_BOT_TOKEN" in output
    assert "Traceback" not in output
    assert_no_secret(output)


async def test_an_api_url_with_no_bot_api_behind_it(sandbox: SandboxClient, tmp_path: Path) -> None:
    code, output = await run(tmp_path, "--api-url", f"{sandbox.base_url}/wrong/path")
    assert code == 2, output
    assert f"no Bot API at {sandbox.base_url}/wrong/path (404 Not Found)" in output
    assert "Traceback" not in output
    assert_no_secret(output)


async def test_a_webhook_telegram_refuses(sandbox: SandboxClient, tmp_path: Path) -> None:
    code, output = await run(
        tmp_path, "--api-url", sandbox.base_url, webhook_url="ftp://shop.example/hook"
    )
    assert code == 2, output
    assert "Telegram refused the webhook ftp://shop.example/hook" in output
    assert "Traceback" not in output
    assert_no_secret(output)


async def test_an_unreachable_api_is_retried_and_a_stop_ends_the_wait(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    code, output = await run(
        tmp_path, "--api-url", closed, stop_when="Telegram unreachable at startup"
    )
    assert code == 0, output
    assert "Telegram unreachable at startup" in output
    assert_no_secret(output)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+asyncpg://frontdoor:{DB_PASSWORD}@127.0.0.1:{free_port('127.0.0.1')}/x",
        "sqlite+aiosqlite:////no/such/directory/frontdoor.db",
    ],
)
async def test_a_database_that_cannot_be_used(
    sandbox: SandboxClient, tmp_path: Path, url: str
) -> None:
    code, output = await run(tmp_path, "--api-url", sandbox.base_url, "--database-url", url)
    assert code == 2, output
    assert "frontdoor run: the database cannot be used" in output
    assert "Traceback" not in output
    assert_no_secret(output)
