"""What the customer's bot reads for every message: the customer and their open conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from handoff.customer_statuses import CustomerStatuses, Status
from handoff.states import ConversationState
from tests.support.configs import make_config
from tests.support.routing import DATABASES, running_router

CONFIG = make_config(agents=[{"id": 1, "capacity": 1}])


@pytest.mark.parametrize(
    ("database", "sole_writer"), [(d, False) for d in DATABASES] + [("sqlite", True)]
)
async def test_the_status_follows_a_customer_from_first_contact_to_close(
    tmp_path: Path, database: str, sole_writer: bool
) -> None:
    async with running_router(
        tmp_path, CONFIG, database=database, sole_writer=sole_writer
    ) as router:
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


async def test_a_status_kept_is_read_once_until_a_routing_step_ends() -> None:
    reads: list[int] = []

    def reader(customer_id: int, value: str) -> Callable[[], Awaitable[Status]]:
        async def read() -> Status:
            reads.append(customer_id)
            return value, None

        return read

    statuses = CustomerStatuses(enabled=True)
    assert await statuses.get(7, reader(7, "first")) == ("first", None)
    assert await statuses.get(7, reader(7, "second")) == ("first", None)
    assert reads == [7]

    statuses.forget()
    assert await statuses.get(7, reader(7, "after the step")) == ("after the step", None)
    assert reads == [7, 7]


async def test_a_status_read_while_a_step_ends_is_not_kept() -> None:
    statuses = CustomerStatuses(enabled=True)
    release = asyncio.Event()

    async def slow_read() -> Status:
        await release.wait()
        return "read before the step committed", None

    reading = asyncio.create_task(statuses.get(7, slow_read))
    await asyncio.sleep(0)
    statuses.forget()  # a step ended while the read was under way
    release.set()
    assert await reading == ("read before the step committed", None)

    async def fresh() -> Status:
        return "fresh", None

    assert await statuses.get(7, fresh) == ("fresh", None)


async def test_with_other_writers_every_status_is_read_afresh() -> None:
    statuses = CustomerStatuses(enabled=False)
    values = iter(["one", "two"])

    async def read() -> Status:
        return next(values), None

    assert await statuses.get(7, read) == ("one", None)
    assert await statuses.get(7, read) == ("two", None)
