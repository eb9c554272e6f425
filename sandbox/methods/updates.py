"""Bot API methods about the bot itself and how it receives updates."""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import POLLING_CONFLICT, WEBHOOK_CONFLICT, bad_request
from sandbox.methods.common import Call
from sandbox.state import WebhookConfig

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def get_me(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """getMe: the bot's `User`; privacy mode is off, so it reads every group message."""
    return {
        **call.world.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": True,  # inline mode: sandbox/inline.py
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(call: Call, p: dict[str, Any]) -> list[dict[str, Any]]:
    """getUpdates: confirm by offset, then return pending updates, waiting up to `timeout` s."""
    world = call.world
    if world.webhook.url:
        raise WEBHOOK_CONFLICT
    queue = world.updates
    queue.set_allowed(p.get("allowed_updates"))
    if "offset" in p:
        queue.confirm(p["offset"])
    limit = min(max(p.get("limit", 100), 1), 100)
    timeout = max(p.get("timeout", 0), 0)
    world.poll_generation += 1
    generation = world.poll_generation
    if not len(queue) and timeout:
        await queue.wait(timeout, long_poll=True)
        # Telegram ends an older long poll when a newer getUpdates arrives.
        if world.poll_generation != generation:
            raise POLLING_CONFLICT
        if world.webhook.url:
            raise WEBHOOK_CONFLICT
    return queue.peek(limit)


def set_webhook(call: Call, p: dict[str, Any]) -> bool:
    """setWebhook: deliver updates by POST from now on (plain http is allowed in the sandbox)."""
    world = call.world
    url = p["url"]
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get("secret_token")
    if secret is not None and not SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    if p.get("drop_pending_updates"):
        world.updates.drop_all()
    world.updates.set_allowed(p.get("allowed_updates"))
    world.webhook = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=p.get("max_connections", 40),
        ip_address=p.get("ip_address"),
    )
    world.poll_generation += 1  # a waiting getUpdates gets 409 like on Telegram
    call.sandbox.webhooks.start(world)
    world.emit("webhook_set", url=url)
    return True


def delete_webhook(call: Call, p: dict[str, Any]) -> bool:
    """deleteWebhook: back to getUpdates; undelivered updates stay unless dropped."""
    world = call.world
    call.sandbox.webhooks.stop(world)
    world.webhook = WebhookConfig()
    if p.get("drop_pending_updates"):
        world.updates.drop_all()
    return True


def get_webhook_info(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """getWebhookInfo: `WebhookInfo`; url is empty while the bot polls."""
    world = call.world
    hook = world.webhook
    info: dict[str, Any] = {
        "url": hook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if hook.url:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if world.updates.allowed is not None:
            info["allowed_updates"] = sorted(world.updates.allowed)
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    return info


HANDLERS = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
