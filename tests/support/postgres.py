"""The throwaway PostgreSQL database the PostgreSQL variants of the tests share."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from handoff.db import create_engine

POSTGRES_URL = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="set FRONTDOOR_TEST_POSTGRES_URL to a disposable PostgreSQL database"
)


async def empty_postgres() -> str:
    """Drop everything an earlier test left (tables made by create_all or by migrations alike)."""
    assert POSTGRES_URL, "FRONTDOOR_TEST_POSTGRES_URL is not set"
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return POSTGRES_URL
