"""Prepared statements (`handoff.prepared`): the same rows, row counts and errors as
`Connection.execute`, on every database, and every statement still seen by SQLAlchemy's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, event, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from handoff import store, unit_of_work
from handoff.prepared import Prepared
from handoff.states import ConversationState
from handoff.tables import Customer
from tests.support.configs import make_config
from tests.support.routing import DATABASES, running_router

CONFIG = make_config()
NOW = datetime(2026, 11, 23, 3, 0, 0, 250_000, tzinfo=UTC)
customers = Customer.__table__
conversations = store.conversations

BY_ID = Prepared(select(customers).where(customers.c.id == bindparam("id")))
VIPS_AMONG = Prepared(
    select(customers.c.id)
    .where(customers.c.id.in_(bindparam("ids", expanding=True)), customers.c.is_vip.is_(True))
    .order_by(customers.c.id)
)
RENAME = Prepared(update(customers).where(customers.c.id == bindparam("customer")))
ADD = Prepared(insert(customers))
NEW_CHAT = Prepared(insert(conversations))


def customer(customer_id: int, **values: Any) -> dict[str, Any]:
    row = dict(
        id=customer_id,
        name=f"Customer {customer_id}",
        language="id",
        is_vip=False,
        blocked=False,
        unknown_streak=0,
        created_at=NOW,
    )
    return {**row, **values}


@pytest.mark.parametrize("database", DATABASES)
async def test_reads_and_writes_match_what_sqlalchemy_gives(tmp_path: Path, database: str) -> None:
    async with running_router(tmp_path, CONFIG, database=database) as router:
        engine = router.engine

        def write(conn: Connection) -> tuple[int, int]:
            ADD.run_many(conn, [customer(1), customer(2, is_vip=True), customer(3, is_vip=True)])
            renamed = RENAME.run(conn, {"customer": 2, "name": "Budi"})
            nobody = RENAME.run(conn, {"customer": 99, "name": "Nobody"})
            assert nobody == 0
            chat = {**store.CONVERSATION_DEFAULTS, "customer_id": 2, "created_at": NOW}
            chat.update(state=ConversationState.BOT, last_activity_at=NOW)
            return renamed, NEW_CHAT.new_id(conn, chat)

        renamed, chat_id = await unit_of_work.write(engine, write)
        assert renamed == 1

        def read(conn: Connection) -> tuple[Any, Any, Any, list[int]]:
            prepared = BY_ID.first(conn, {"id": 2})
            plain = conn.execute(select(customers).where(customers.c.id == 2)).first()
            missing = BY_ID.first(conn, {"id": 404})
            vips = [row.id for row in VIPS_AMONG.rows(conn, {"ids": [1, 2, 3, 4]})]
            return prepared, plain, missing, vips

        prepared, plain, missing, vips = await unit_of_work.read(engine, read)
        assert prepared == plain and prepared._fields == plain._fields
        assert (prepared.name, prepared.is_vip, prepared.created_at) == ("Budi", True, NOW)
        assert prepared.created_at.tzinfo is UTC
        assert missing is None
        assert vips == [2, 3]  # an expanding IN list: its text changes with the values
        chat = await unit_of_work.read(engine, lambda c: store.get_conversation(c, chat_id))
        assert (chat.customer_id, chat.state, chat.created_at) == (2, ConversationState.BOT, NOW)


@pytest.mark.parametrize("database", DATABASES)
async def test_a_write_missing_a_parameter_is_refused_and_writes_nothing(
    tmp_path: Path, database: str
) -> None:
    async with running_router(tmp_path, CONFIG, database=database) as router:
        engine = router.engine
        await unit_of_work.write(engine, lambda conn: ADD.run(conn, customer(5)))

        with pytest.raises(SQLAlchemyError, match="customer"):
            await unit_of_work.write(engine, lambda conn: RENAME.run(conn, {"name": "Eve"}))
        with pytest.raises(SQLAlchemyError, match=r"parameter 'id'"):
            await unit_of_work.read(engine, lambda conn: BY_ID.first(conn, {}))

        row = await unit_of_work.read(engine, lambda conn: BY_ID.first(conn, {"id": 5}))
        assert row.name == "Customer 5"


@pytest.mark.parametrize("database", DATABASES)
async def test_every_prepared_statement_is_seen_by_sqlalchemys_events(
    tmp_path: Path, database: str
) -> None:
    """The statement budget and the single-write-path tests count through these events."""
    async with running_router(tmp_path, CONFIG, database=database) as router:
        engine = router.engine
        sent: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
                sent.append(statement.split()[0].upper())

        def work(conn: Connection) -> None:
            ADD.run_many(conn, [customer(7), customer(8)])
            RENAME.run(conn, {"customer": 7, "name": "Citra"})
            BY_ID.first(conn, {"id": 7})
            VIPS_AMONG.rows(conn, {"ids": [7, 8]})

        watched = unit_of_work.step_engine(engine)
        event.listen(watched, "before_cursor_execute", seen)
        try:
            await unit_of_work.write(engine, work)
        finally:
            event.remove(watched, "before_cursor_execute", seen)
        assert sent == ["INSERT", "UPDATE", "SELECT", "SELECT"]


async def test_each_set_of_parameter_names_is_a_statement_of_its_own(tmp_path: Path) -> None:
    """An update's SET clause follows the names it is given: one text for each set."""
    async with running_router(tmp_path, CONFIG) as router:
        engine = router.engine
        later = NOW + timedelta(hours=1)

        def work(conn: Connection) -> Any:
            ADD.run(conn, customer(9))
            RENAME.run(conn, {"customer": 9, "name": "Dewi"})
            RENAME.run(conn, {"customer": 9, "language": "en", "created_at": later})
            return BY_ID.first(conn, {"id": 9})

        row = await unit_of_work.write(engine, work)
        assert (row.name, row.language, row.created_at) == ("Dewi", "en", later)
