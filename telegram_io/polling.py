"""Long polling that stores before it confirms (SPEC §8).

python-telegram-bot's Updater confirms an update (by asking for the next offset) before the
handlers have run, so a crash loses it. Here each batch is stored in the inbox first; only the
next `getUpdates`, with the offset past the batch, confirms it to Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import warnings

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from telegram_io import inbox
from telegram_io.retry import backoff, retry_after_seconds

# getUpdates goes through Bot.do_api_request on purpose (the inbox stores the raw updates as
# JSON); PTB's hint to use the named method instead does not apply.
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "inline_query"]
RETRY_SECONDS = (0.2, 1, 2, 5)


async def poll(
    bot: Bot, engine: AsyncEngine, processor: inbox.Processor, *, timeout: int = 25
) -> None:
    """Fetch, store, hand to the processor, confirm; until cancelled."""
    offset: int | None = None
    failures = 0
    while True:
        params: dict[str, object] = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        try:
            batch = await bot.do_api_request(
                "getUpdates", api_kwargs=params, read_timeout=timeout + 10
            )
            updates = [u for u in batch if inbox.is_update(u)]
            fresh = await inbox.store(engine, updates)
        except InvalidToken:
            raise
        except TimedOut:
            continue
        except RetryAfter as error:
            await asyncio.sleep(retry_after_seconds(error))
            continue
        except (TelegramError, SQLAlchemyError, OSError) as error:
            # Includes 409 Conflict (another instance polls, as during a deploy) and 5xx.
            # Nothing was confirmed: the same updates come again once Telegram or the database
            # answers (SPEC §8, "a database that is down").
            pause = backoff(failures, RETRY_SECONDS)
            failures += 1
            log.warning("polling: %s; retrying in %ss", type(error).__name__, pause)
            await asyncio.sleep(pause)
            continue
        failures = 0
        processor.submit(fresh)
        if updates:
            offset = max(u["update_id"] for u in updates) + 1
