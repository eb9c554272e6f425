"""The adapters never touch the engine (issue 13, item 4): the customers' bot, the agents' side and
the web pages read and write through the unit of work's `Database`, with SQL only in the store
and the read models. Checked on the source, as the import contracts are."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ["bot", "agents_app", "frontdoor/web"]
READ_MODELS = {"agents_app/views.py"}  # the agents' read model owns its queries
ENGINE_NAMES = {"engine", "AsyncEngine", "create_engine", "create_async_engine"}
ALLOWED_FROM_SQLALCHEMY = {"Connection"}  # a query's argument, as a type


def sources() -> list[Path]:
    return sorted(path for folder in ADAPTERS for path in (ROOT / folder).rglob("*.py"))


def engine_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in ENGINE_NAMES:
            found.append(f"line {node.lineno}: {node.id}")
    return found


def sql_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
            found += [
                f"line {node.lineno}: {alias.name}"
                for alias in node.names
                if alias.name not in ALLOWED_FROM_SQLALCHEMY
            ]
        elif isinstance(node, ast.Import) and any(a.name == "sqlalchemy" for a in node.names):
            found.append(f"line {node.lineno}: import sqlalchemy")
    return found


def test_the_adapters_never_touch_the_engine() -> None:
    assert len(sources()) > 20  # the folders are where this test thinks
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in sources()
        if (uses := engine_uses(ast.parse(path.read_text(), str(path))))
    }
    assert offenders == {}


def test_only_the_read_models_build_sql_on_the_adapters_side() -> None:
    offenders = {
        name: found
        for path in sources()
        if (name := str(path.relative_to(ROOT))) not in READ_MODELS
        and (found := sql_imports(ast.parse(path.read_text(), str(path))))
    }
    assert offenders == {}


def test_the_check_finds_an_engine_and_a_query_where_there_is_one() -> None:
    tree = ast.parse(
        "from sqlalchemy import select, Connection\n"
        "async def f(desk):\n"
        "    async with desk.router.engine.connect() as conn:\n"
        "        return await conn.execute(select(1))\n"
    )
    assert engine_uses(tree) == ["line 3: .engine"]
    assert sql_imports(tree) == ["line 1: select"]
