"""Optional CRM lookup (SPEC §4.2 step 1, §6 `crm`): who the customer is to the business.

A CRM that is slow or down never blocks routing: after `crm.timeout` the lookup gives up and the
handoff goes on without it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp

from handoff.config import Crm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrmRecord:
    vip: bool = False
    account_owner_id: int | None = None  # an agent's Telegram id: the sticky agent


class CrmClient:
    """GET `lookup_url?telegram_id=N` → `{"vip": bool, "account_owner_id": int | null}`, with
    `Authorization: Bearer <secret>` when the CRM's secret is set (`crm.secret_env`)."""

    def __init__(self, crm: Crm, secret: str | None = None) -> None:
        self.crm = crm
        self._headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._session: aiohttp.ClientSession | None = None

    async def lookup(self, customer_id: int) -> CrmRecord | None:
        """The CRM's record, or None when not configured, unknown, slow, down or malformed."""
        if not self.crm.lookup_url:
            return None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self.crm.timeout):
                async with self._session.get(
                    self.crm.lookup_url,
                    params={"telegram_id": str(customer_id)},
                    headers=self._headers,
                ) as response:
                    if response.status == 404:
                        return None
                    response.raise_for_status()
                    body = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            log.warning("CRM lookup failed (%s); routing goes on without it", type(error).__name__)
            return None
        if not isinstance(body, dict):
            return None
        owner = body.get("account_owner_id")
        return CrmRecord(
            vip=body.get("vip") is True,
            account_owner_id=owner
            if isinstance(owner, int) and not isinstance(owner, bool)
            else None,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
