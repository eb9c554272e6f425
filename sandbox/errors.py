"""Bot API errors as Telegram words them: `{"ok": false, "error_code", "description"}`."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A failed Bot API call; `answer()` is the JSON body Telegram would send."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def answer(self) -> dict[str, Any]:
        """The response body, with `parameters.retry_after` for flood waits."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    """400 `Bad Request: <what>`."""
    return ApiError(400, f"Bad Request: {what}")


def forbidden(what: str) -> ApiError:
    """403 `Forbidden: <what>`."""
    return ApiError(403, f"Forbidden: {what}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 flood wait; Telegram always sends `parameters.retry_after` in whole seconds."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


NOT_FOUND = ApiError(404, "Not Found")
UNAUTHORIZED = ApiError(401, "Unauthorized")
CHAT_NOT_FOUND = "chat not found"
WEBHOOK_CONFLICT = ApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)
POLLING_CONFLICT = ApiError(
    409,
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
