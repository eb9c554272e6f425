"""The one write path (issue 13): state columns are written by `handoff.transitions` only; the
suite-wide watch (tests/support/write_path.py) fails any other writer."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from handoff import store, unit_of_work
from handoff.states import ConversationState
from tests.support import write_path
from tests.support.configs import make_config
from tests.support.routing import running_router

OUTSIDE = write_path.ROOT / "handoff" / "elsewhere.py"


def product_code(source: str, name: str) -> object:
    """A function that looks, to the watch, like it lives in the product (handoff/elsewhere.py)."""
    namespace: dict[str, object] = {
        "__name__": "handoff.elsewhere",
        "update": update,
        "store": store,
    }
    exec(compile(source, str(OUTSIDE), "exec"), namespace)
    return namespace[name]


async def test_a_state_write_outside_the_write_path_is_caught(tmp_path) -> None:
    requeue_by_hand = product_code(
        "def requeue(conn, conversation_id):\n"
        "    conn.execute(update(store.conversations)\n"
        "        .where(store.conversations.c.id == conversation_id).values(state='queued'))\n",
        "requeue",
    )
    async with running_router(tmp_path, make_config()) as router:
        outcome = await router.request_handoff(42, intent=None, text="help")
        with pytest.raises(AssertionError, match=r"elsewhere\.py"):
            await unit_of_work.write(
                router.engine, lambda conn: requeue_by_hand(conn, outcome.conversation_id)
            )
        assert write_path.violations[-1].startswith("state written outside handoff.transitions")
        write_path.violations.pop()  # this one was made on purpose


async def test_writes_through_the_transitions_and_by_tests_pass(tmp_path) -> None:
    async with running_router(tmp_path, make_config()) as router:
        before = len(write_path.violations)
        outcome = await router.request_handoff(42, intent=None, text="help")
        await router.close(outcome.conversation_id, reason="customer_cancel")
        async with router.engine.begin() as conn:  # a test may set up its world by hand
            await conn.execute(
                update(store.conversations)
                .where(store.conversations.c.id == outcome.conversation_id)
                .values(state=ConversationState.CLOSED)
            )
        assert len(write_path.violations) == before
