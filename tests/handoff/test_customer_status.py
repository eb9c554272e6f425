"""What the customer's bot reads for every message: the customer and their open conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff.states import ConversationState
from tests.support.configs import make_config
from tests.support.routing import DATABASES, running_router

CONFIG = make_config(agents=[{"id": 1, "capacity": 1}])


@pytest.mark.parametrize("database", DATABASES)
async def test_the_status_follows_a_customer_from_first_contact_to_close(
    tmp_path: Path, database: str
) -> None:
    async with running_router(tmp_path, CONFIG, database=database) as router:
        assert await router.customer_status(7) == (None, None)

        await router.ensure_customer(7, name="Ani", language="en")
        customer, open_chat = await router.customer_status(7)
        assert (customer.name, customer.language, open_chat) == ("Ani", "en", None)

        first = (await router.request_handoff(7, intent=None, text="help")).conversation_id
        _, open_chat = await router.customer_status(7)
        assert (open_chat.id, open_chat.state) == (first, ConversationState.OFFERED)

        await router.cancel(7)
        await router.update_customer(7, unknown_streak=1)
        customer, open_chat = await router.customer_status(7)
        assert (customer.unknown_streak, open_chat) == (1, None)

        second = (await router.request_handoff(7, intent=None, text="again")).conversation_id
        _, open_chat = await router.customer_status(7)
        assert open_chat.id == second != first


async def test_only_the_bots_own_notes_on_a_customer_can_be_set(tmp_path: Path) -> None:
    async with running_router(tmp_path, CONFIG) as router:
        await router.ensure_customer(7, name="Ani")

        with pytest.raises(ValueError, match="is_vip"):
            await router.update_customer(7, is_vip=True)
