"""The sandbox's Bot API agrees with the machine-readable spec (../shared/telegram-bot-api)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sandbox.method_params import METHOD_PARAMS
from sandbox.methods import HANDLERS
from tests.sandbox_support import SandboxClient

SPEC_PATH = Path(
    os.environ.get(
        "FRONTDOOR_BOT_API_SPEC",
        Path(__file__).resolve().parents[3] / "shared" / "telegram-bot-api" / "api.json",
    )
)
REQUIRED_BY_ISSUE = {
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
    "editMessageText", "editMessageReplyMarkup", "deleteMessage", "answerCallbackQuery",
    "copyMessage", "forwardMessage", "sendPhoto", "sendDocument", "sendVoice", "sendSticker",
    "sendLocation", "sendChatAction", "getFile", "pinChatMessage", "unpinChatMessage",
    "setMyCommands", "getChat", "getChatMember", "leaveChat",
}  # fmt: skip


@pytest.fixture(scope="module")
def spec() -> dict:
    if not SPEC_PATH.exists():
        pytest.skip(f"Bot API spec not found at {SPEC_PATH} (set FRONTDOOR_BOT_API_SPEC)")
    return json.loads(SPEC_PATH.read_text())


def test_every_method_the_issue_names_is_implemented() -> None:
    assert not REQUIRED_BY_ISSUE - set(HANDLERS)


def test_the_parameter_table_covers_exactly_the_handlers() -> None:
    assert set(METHOD_PARAMS) == set(HANDLERS)


@pytest.mark.parametrize("method", sorted(METHOD_PARAMS))
def test_parameters_match_the_spec_exactly(spec: dict, method: str) -> None:
    assert method in spec["methods"], f"{method} is not a Bot API method"
    expected = {
        field["name"]: (tuple(field["types"]), field["required"])
        for field in spec["methods"][method].get("fields", [])
    }
    assert METHOD_PARAMS[method] == expected


def _sample(types: tuple[str, ...]) -> object:
    """A well-typed value; the call may still fail later, just not for a missing parameter."""
    kind = types[0]
    samples = {"Integer": 1, "String": "x", "Boolean": True, "Float": 1.0, "InputFile": "x"}
    if kind in samples:
        return samples[kind]
    return [] if kind.startswith("Array of") else {}


async def test_each_required_parameter_is_enforced(sandbox: SandboxClient, spec: dict) -> None:
    calls = 0
    for method, params in METHOD_PARAMS.items():
        required = [name for name, (_, needed) in params.items() if needed]
        for missing in required:
            body = {n: _sample(params[n][0]) for n in required if n != missing}
            status, answer = await sandbox.request("POST", f"/bot1:token/{method}", body)
            assert status == 400, (method, missing, answer)
            assert answer["ok"] is False and answer["error_code"] == 400
            assert answer["description"].startswith("Bad Request: "), answer
            calls += 1
    assert calls >= 30  # every required parameter of every implemented method


async def test_unknown_method_answers_telegrams_404(sandbox: SandboxClient) -> None:
    status, answer = await sandbox.request("POST", "/bot1:token/sendTelepathy", {})
    assert status == 404
    assert answer == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_method_names_are_case_insensitive_as_on_telegram(sandbox: SandboxClient) -> None:
    status, answer = await sandbox.request("GET", "/bot1:token/GETME")
    assert status == 200 and answer["result"]["is_bot"] is True


@pytest.mark.parametrize("token", ["nodigits:abc", "123", "123:", "abc:def"])
async def test_malformed_token_is_unauthorized(sandbox: SandboxClient, token: str) -> None:
    status, answer = await sandbox.request("POST", f"/bot{token}/getMe", {})
    assert status == 401
    assert answer == {"ok": False, "error_code": 401, "description": "Unauthorized"}
