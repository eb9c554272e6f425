"""Statements of the routing core's hot path, compiled once instead of on every call.

For each call `Connection.execute(statement)` computes the statement's cache key, hashes it into
the compiled cache and rebuilds every bound parameter: 20–40 µs here, more than SQLite spends
running one of these small statements, and a routing decision sends five or six (issue 13's
profile). SQLAlchemy's own caches (the compiled cache, lambda statements) still pay the keying on
every call, so `Prepared` keeps the compiled form itself, per dialect and set of parameter names:

- a statement that returns rows runs its compiled form (`Connection.execute` takes a `Compiled`
  too): no keying, and the result's column types are resolved once, in the compiled form;
- a write (at most a new row's id back) goes to the driver as text with its parameters already
  in order (`Connection.exec_driver_sql`), each through its type's bind processor.

Both keep SQLAlchemy's events, so the statement budget and the single-write-path tests see every
statement. A write whose text depends on its values (expanding IN lists, Python-side column
defaults left to fill), with a value worked out at each call, or for a driver taking named
parameters runs its compiled form like a read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.engine import Row
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import Compiled, SQLCompiler

Params = Mapping[str, Any]
# What a compiled form is kept for: the dialect and driver (their parameter style), whether it
# runs once for many rows, and the parameters' names.
Key = tuple[type[Dialect], bool, tuple[str, ...]]


class _Write:
    """A write compiled for one dialect and one set of parameter names, as the driver takes it."""

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup or ())
        # An INSERT's new id: returned (PostgreSQL adds `RETURNING id` itself), else the driver's
        # last row id (SQLite).
        self.returns_id = bool(compiled.effective_returning)
        binds = compiled.binds
        self.processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.order
        )
        # The values the statement carries itself; a parameter it requires must be given.
        self.bound = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }

    @staticmethod
    def of(compiled: SQLCompiler, dialect: Dialect) -> _Write | None:
        """None when the text can change with the values, a value is worked out at each call,
        or the driver wants names."""
        if (
            not compiled.positional
            or compiled.post_compile_params
            or compiled.literal_execute_params
            or compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.escaped_bind_names
            or any(bind.callable is not None for bind in compiled.binds.values())
        ):
            return None
        return _Write(compiled, dialect)

    def values(self, params: Params) -> tuple[Any, ...]:
        given = {**self.bound, **params}
        if missing := [name for name in self.order if name not in given]:
            raise InvalidRequestError(f"a value is required for bind parameter {missing[0]!r}")
        return tuple(
            [
                given[name] if process is None else process(given[name])
                for name, process in zip(self.order, self.processors, strict=True)
            ]
        )


class Prepared:
    """A statement run with little per-call work: `rows` and `first` for what returns rows;
    `run` (the rows a write matched), `new_id` and `run_many` for writes. The parameters' names
    fix a write's text (each set of names is compiled once), so pass the same names each time."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[Key, SQLCompiler] = {}
        self._writes: dict[Key, _Write | None] = {}

    def _compile(self, conn: Connection, key: Key) -> SQLCompiler:
        found = self._compiled.get(key)
        if found is None:
            _, many, names = key
            compiled = self.statement.compile(
                dialect=conn.dialect, column_keys=list(names), for_executemany=many
            )
            assert isinstance(compiled, SQLCompiler)
            found = self._compiled[key] = compiled
        return found

    def _write(self, conn: Connection, names: tuple[str, ...], many: bool = False) -> _Write | None:
        key = (type(conn.dialect), many, names)
        try:
            return self._writes[key]
        except KeyError:
            found = self._writes[key] = _Write.of(self._compile(conn, key), conn.dialect)
            return found

    def _execute(self, conn: Connection, params: Params) -> Any:
        compiled: Compiled = self._compile(conn, (type(conn.dialect), False, tuple(params)))
        return conn.execute(compiled, params)  # type: ignore[call-overload]

    def rows(self, conn: Connection, params: Params | None = None) -> Sequence[Row[Any]]:
        return self._execute(conn, params or {}).all()  # type: ignore[no-any-return]

    def first(self, conn: Connection, params: Params | None = None) -> Row[Any] | None:
        return self._execute(conn, params or {}).first()  # type: ignore[no-any-return]

    def run(self, conn: Connection, params: Params) -> int:
        """Run a write; the number of rows it matched."""
        write = self._write(conn, tuple(params))
        if write is None:
            return int(self._execute(conn, params).rowcount)
        return conn.exec_driver_sql(write.sql, write.values(params)).rowcount

    def new_id(self, conn: Connection, params: Params) -> int:
        """Run an INSERT of one row; the id the database gave it."""
        write = self._write(conn, tuple(params))
        if write is None:
            return int(self._execute(conn, params).inserted_primary_key[0])
        result = conn.exec_driver_sql(write.sql, write.values(params))
        return int(result.scalar_one() if write.returns_id else result.lastrowid)

    def run_many(self, conn: Connection, many: Sequence[Params]) -> None:
        """Run a write once for each of `many` (all with the same names), in one call."""
        if not many:
            return
        write = self._write(conn, tuple(many[0]), many=True)
        if write is None:
            conn.execute(self.statement, list(many))
            return
        conn.exec_driver_sql(write.sql, [write.values(params) for params in many])
