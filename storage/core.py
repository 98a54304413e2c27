"""Core statements on the hot path of a turn, run without the ORM's autoflush, and the
fixed ones below SQLAlchemy's execution machinery altogether.

SQLAlchemy flushes pending ORM changes before every statement a session executes, Core ones
included, and a flush with nothing pending still walks the session. The statements run
through here touch tables the ORM has nothing pending for in a turn (citizens and their
conversations, messages, delivery records, timers, rate windows), so they skip it.

`Hot` goes further for the few statements every message runs. Executing a compiled, cached
Core statement through a session still costs ~0.1 ms of Python each (the ORM's execute
path, a greenlet switch, the execution context, the result and cursor wrappers), a third
of a turn's CPU over its statements. A `Hot` statement is compiled once per dialect and set
of parameter names, with SQLAlchemy's own bind and result processors for its columns, and
then run on the driver's connection of the session's transaction (storage/backends: one
function per backend). Errors are raised as SQLAlchemy's DBAPIError, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Executable, Insert, Result, Select, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import UpdateBase

from storage.backends import Driver
from storage.columns import UTCDateTime


async def execute(
    db: AsyncSession | AsyncConnection,
    statement: Executable,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> Result[Any]:
    """Execute `statement` on a session without autoflush, or on a bare connection."""
    if isinstance(db, AsyncConnection):
        return await db.execute(statement, params)
    with db.no_autoflush:
        return await db.execute(statement, params)


Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    # Per placeholder: the parameter's name (None: a constant of the statement) and value.
    binds: tuple[tuple[str | None, Any, Processor], ...]
    results: tuple[Processor, ...]
    # Made from binds and results (see _compiled): the values in placeholder order, and the
    # rows processed (None: no column needs it).
    values: Callable[[Mapping[str, Any]], list[Any]]
    rows: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]] | None
    # SQLite: `sql` is the INSERT without its RETURNING of the rowid key, which the driver
    # reads from the cursor instead (RETURNING doubled the cost of such an INSERT).
    rowid: bool = False


def _compiled(
    binds: tuple[tuple[str | None, Any, Processor], ...], results: tuple[Processor, ...]
) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    """Straight-line functions for a statement's values and rows: a loop over the binds with a
    test per value cost several times what the values themselves do."""
    env: dict[str, Any] = {}
    values = []
    for i, (name, value, proc) in enumerate(binds):
        if name is None:
            env[f"c{i}"] = value
            values.append(f"c{i}")
        elif proc is None:
            values.append(f"p[{name!r}]")
        else:
            env[f"f{i}"] = proc
            values.append(f"f{i}(p[{name!r}])")
    make_values = eval(f"lambda p: [{', '.join(values)}]", env)
    if not any(results):
        return make_values, None
    columns = []
    for i, proc in enumerate(results):
        if proc is None:
            columns.append(f"r[{i}]")
        else:
            env[f"g{i}"] = proc
            columns.append(f"g{i}(r[{i}])")
    make_rows = eval(f"lambda rows: [({', '.join(columns)},) for r in rows]", env)
    return make_values, make_rows


# In session.info: (the transaction, its Driver); or the Driver of the session's whole life.
_DRIVER = "doudi.core.driver"
_ATTACHED = "doudi.core.attached"
_UNKNOWN: Any = object()


class Hot:
    """An INSERT, UPDATE or DELETE (with RETURNING, or none), or a SELECT, run on the
    driver's connection."""

    def __init__(self, statement: UpdateBase | Select[Any]) -> None:
        self.statement = statement
        self._prepared: dict[tuple[str, tuple[str, ...], bool], _Prepared | None] = {}

    def _prepare(self, dialect: Any, names: tuple[str, ...], many: bool) -> _Prepared | None:
        statement = self.statement
        rowid = not many and dialect.name == "sqlite" and _returns_rowid_only(statement, dialect)
        if rowid:
            statement = insert(statement.table)  # type: ignore[union-attr]
        # for_executemany: no implicit RETURNING of a new row's key for executemany.
        compiled = statement.compile(dialect=dialect, column_keys=list(names), for_executemany=many)
        # Python-side defaults (e.g. onupdate) are evaluated by SQLAlchemy's execution
        # context: a statement needing one not given as a parameter takes the usual path.
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            if column.key not in names:
                return None
        if compiled.positiontup is None:
            return None
        binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            processor = _bind_processor(bind.type, dialect)
            if name in names:
                binds.append((name, None, processor))
            elif bind.callable is None and not bind.required:
                value = bind.value
                binds.append((None, value if processor is None else processor(value), None))
            else:
                return None
        if isinstance(self.statement, Select):
            types = [column.type for column in self.statement.selected_columns]
        else:
            types = [column["type"] for column in self.statement.returning_column_descriptions]
        results = tuple(_result_processor(type_, dialect) for type_ in types)
        if rowid and any(results):
            return None
        return _Prepared(
            compiled.string, tuple(binds), results, *_compiled(tuple(binds), results), rowid
        )

    def _prepared_for(
        self, dialect: Any, names: tuple[str, ...], many: bool = False
    ) -> _Prepared | None:
        key = (dialect.name, names, many)
        try:
            return self._prepared[key]
        except KeyError:
            prepared = self._prepared[key] = self._prepare(dialect, names, many)
            return prepared

    async def run(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows RETURNING gave (processed as SQLAlchemy would), or []."""
        prepared = self._prepared_for(session.bind.dialect, tuple(params))
        driver = session.info.get(_ATTACHED, _UNKNOWN)
        if driver is _UNKNOWN and prepared is not None:
            driver = await _driver(session)
        if driver is None or driver is _UNKNOWN or prepared is None:
            result = await execute(session, self.statement, params)
            return [tuple(row) for row in result] if result.returns_rows else []
        if prepared.rowid:
            return [(driver.insert_now(prepared.sql, prepared.values(params)),)]  # type: ignore[attr-defined]
        fetch_now = driver.fetch_now
        if fetch_now is not None:  # nothing to wait for (SQLite, inline)
            rows = fetch_now(prepared.sql, prepared.values(params))
        else:
            rows = await driver.fetch(prepared.sql, prepared.values(params))
        convert = prepared.rows
        return rows if not rows or convert is None else convert(rows)

    async def run_many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Once per parameter set (all with the same names, at least one), like executemany;
        without RETURNING."""
        prepared = self._prepared_for(session.bind.dialect, tuple(rows[0]), many=True)
        driver = session.info.get(_ATTACHED, _UNKNOWN)
        if driver is _UNKNOWN and prepared is not None:
            driver = await _driver(session)
        if driver is None or driver is _UNKNOWN or prepared is None:
            await execute(session, self.statement, list(rows))
            return
        await driver.execute_many(prepared.sql, [prepared.values(params) for params in rows])


def _returns_rowid_only(statement: Any, dialect: Any) -> bool:
    """A plain `insert(table).returning(table.c.id)` whose id is SQLite's rowid (a lone
    INTEGER primary key): the new id is then the cursor's lastrowid. Not for an upsert, a
    multi-row or INSERT ... SELECT, whose lastrowid may be another row's."""
    if not isinstance(statement, Insert) or not isinstance(statement.table, Table):
        return False
    if (
        statement._values is not None
        or statement._multi_values
        or statement.select is not None
        or getattr(statement, "_post_values_clause", None) is not None
    ):
        return False
    returning = [column["expr"] for column in statement.returning_column_descriptions]
    key = list(statement.table.primary_key.columns)
    return (
        len(returning) == 1
        and len(key) == 1
        and returning[0] is key[0]
        # Declared INTEGER: an alias of the rowid (a BIGINT key is not)
        and key[0].type.compile(dialect=dialect) == "INTEGER"
    )


# SQLite stores datetimes and JSON as text. SQLAlchemy's processors for them (UTCDateTime's
# TypeDecorator around the dialect's DATETIME, whose format string takes a dict; JSON's
# serializer with its NULL handling) cost a few microseconds a value, and a turn binds and
# reads some twenty: the same text is made by datetime's and json's C code. Each is used only
# after it gave SQLAlchemy's own result for a sample value.
_SAMPLE_TIME = datetime(2026, 11, 28, 9, 5, 3, 120, tzinfo=UTC)
_SAMPLE_JSON = {"v": 1, "状态": [None, True, 2.5, "x"]}


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    tzinfo = value.tzinfo
    if tzinfo is UTC:  # utcnow()'s: its text up to the offset, without converting (~0.4 us)
        return value.isoformat(" ", "microseconds")[:26]
    if tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _bind_processor(type_: Any, dialect: Any) -> Processor:
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name != "sqlite" or processor is None:
        return processor
    if isinstance(type_, UTCDateTime):
        if processor(_SAMPLE_TIME) == _utc_text(_SAMPLE_TIME):
            return _utc_text
    elif isinstance(type_, JSON) and dialect._json_serializer is None:
        if processor(_SAMPLE_JSON) == json.dumps(_SAMPLE_JSON):
            dumps = json.dumps

            def to_json(value: Any) -> Any:
                kind = type(value)
                if kind is dict:
                    return dumps(value) if value else "{}"  # a message's usual payload
                return dumps(value) if kind is list else processor(value)

            return to_json
    return processor


def _result_processor(type_: Any, dialect: Any) -> Processor:
    processor = type_.dialect_impl(dialect).result_processor(dialect, None)
    if dialect.name != "sqlite" or processor is None:
        return processor
    if isinstance(type_, UTCDateTime):
        text = _utc_text(_SAMPLE_TIME)
        if processor(text) == _utc_from_text(text):
            return _utc_from_text
    elif isinstance(type_, JSON) and dialect._json_deserializer is None:
        text = json.dumps(_SAMPLE_JSON)
        if processor(text) == json.loads(text):
            loads = json.loads

            def from_json(value: Any) -> Any:
                return loads(value) if type(value) is str else processor(value)

            return from_json
    return processor


def attach(session: AsyncSession, driver: Driver | None) -> None:
    """Hot statements of `session` run on `driver` (None: the usual path) for the whole of
    its transaction: storage.db.Database.transaction begins it on the connection itself."""
    session.info[_ATTACHED] = driver


async def _driver(session: AsyncSession) -> Driver | None:
    """The driver connection of the session's transaction; None when Hot statements cannot
    run there (see the backends' `driver`)."""
    info = session.info
    if _ATTACHED in info:
        return info[_ATTACHED]  # type: ignore[no-any-return]
    # A session of its own (not a Database.transaction): its current transaction's driver.
    transaction = session.sync_session.get_transaction()
    cached = info.get(_DRIVER)
    if cached is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    dialect = session.bind.dialect
    if dialect.name == "sqlite":
        from storage.backends import sqlite as backend
    else:
        from storage.backends import postgres as backend  # type: ignore[no-redef]
    driver = backend.driver(raw, dialect)
    if driver is not None:
        info[_DRIVER] = (session.sync_session.get_transaction(), driver)
    return driver
