"""Multi-row upserts written straight to the database driver, for the pages of a sync.

SQLAlchemy's Core insert spent more time per row than SQLite spent storing it: every page re-ran the statement's
parameter processing (~40 columns through type decorators) and, on PostgreSQL, psycopg re-parsed a statement of
thousands of placeholders that is too long for its query cache. Here the SQL text is built once per table, column
set and dialect, values are converted with one small function per column (the same conversions the column types
do: money to millionths, aware datetimes to SQLite's text form, JSON through orjson), and a page is one statement:
a multi-row ``VALUES`` on SQLite, ``unnest`` of one array per column on PostgreSQL (a short statement with one
parameter per column, parsed once and cached).

The statement runs on the session's own connection, inside its transaction; the columns' types come from the models,
so a converter can never disagree with what the ORM reads back (a test compares the two paths row by row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, Integer, Table
from sqlalchemy.orm import Session

from returnbridge.db.money import MicroAmount
from returnbridge.db.types import UTCDateTime

Convert = Callable[[Any], Any]
# SQLite's cap on the parameters of one statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32); a page stays far below.
_SQLITE_MAX_PARAMS = 32_000


# Amounts repeat across a sync ("0", common prices): converted once, then served from here (bounded).
_MICROS: dict[Decimal, int] = {}


def _micros(value: Decimal | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    known = _MICROS.get(value)
    if known is not None:
        return known
    micros = value.scaleb(6)
    whole = int(micros)
    if whole != micros:
        raise ValueError(f"amount {value} has more than 6 decimals")
    if len(_MICROS) >= 8192:
        _MICROS.clear()
    _MICROS[value] = whole
    return whole


# The last UTC time converted and its text, as one tuple (threads swap it whole; the tuple keeps the datetime alive,
# so the identity test cannot match a new object at a freed address): a page's rows share one ``now`` object.
_LAST_TIME: list[tuple[Any, Any]] = [(None, None)]


def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME text form, microseconds always present, so text order is time order and the ORM
    # reads the value back unchanged.
    if value is None:
        return None
    last = _LAST_TIME[0]
    if value is last[0]:
        return last[1]  # type: ignore[no-any-return]
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: use timezone-aware UTC")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(" ")
    # isoformat leaves out a zero microsecond part; SQLAlchemy's form always has it.
    text = text if value.microsecond else text + ".000000"
    _LAST_TIME[0] = (value, text)
    return text


def _postgres_time(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime refused: use timezone-aware UTC")
    return value


@dataclass(frozen=True, slots=True)
class JsonText:
    """A JSON column's value serialised ahead of the upsert (the sync does it on the thread that reads TikTok's
    pages, so the writer thread does less and a queued page holds one string instead of a tree of objects)."""

    text: str

    @classmethod
    def of(cls, value: Any) -> JsonText:
        return cls(_json_text(value))


def _json_text(value: Any) -> str:
    if value.__class__ is JsonText:
        return value.text  # type: ignore[no-any-return]
    # SQLAlchemy's JSON stores Python None as the JSON text 'null' (none_as_null is off); so do we.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _converter(column_type: Any, dialect: str) -> Convert | None:
    if isinstance(column_type, MicroAmount):
        return _micros
    if isinstance(column_type, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _postgres_time
    if isinstance(column_type, JSON):
        return _json_text
    if isinstance(column_type, Boolean) and dialect == "sqlite":
        return _sqlite_bool
    return None


def _postgres_array_type(column: Any) -> str:
    column_type = column.type
    if isinstance(column_type, MicroAmount | BigInteger):
        return "bigint"
    if isinstance(column_type, Integer):
        return "integer"
    if isinstance(column_type, UTCDateTime):
        return "timestamptz"
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, Boolean):
        return "boolean"
    return "text"


@dataclass(frozen=True)
class Upsert:
    """How a page of rows lands in ``table``: the conflict target, and for the columns of a conflicting row either
    the new value (``update``), an SQL expression over ``{table}``/``excluded`` (``update_sql``), or nothing
    (``do_nothing``). ``where`` (SQL, may use ``{table}``) is the guard under which a conflicting row is updated."""

    table: Table
    conflict: tuple[str, ...]
    do_nothing: bool = False
    keep: frozenset[str] = frozenset()
    update_sql: tuple[tuple[str, str], ...] = ()
    where: str = ""
    returning: tuple[str, ...] = ()

    def run(self, session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Write ``rows`` (all with the same keys) in one statement; gives the ``returning`` columns of the rows
        written (a row the ``where`` guard refused is not among them)."""
        if not rows:
            return []
        connection = session.connection()
        dialect = connection.dialect.name
        columns = tuple(rows[0])
        plan = _plan(self, dialect, columns)
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        if dialect == "postgresql":
            return _run_postgres(dbapi, plan, rows)
        return _run_sqlite(dbapi, plan, rows)


@dataclass(frozen=True)
class _Plan:
    columns: tuple[str, ...]
    converters: tuple[tuple[int, Convert], ...]  # (column position, conversion) for the columns that need one
    head: str  # INSERT INTO t (cols)
    tail: str  # ON CONFLICT ... RETURNING ...
    width: int
    values_of: Callable[[dict[str, Any]], Any]  # the row's values in column order, read in C (``itemgetter``)


@lru_cache(maxsize=64)
def _plan(upsert: Upsert, dialect: str, columns: tuple[str, ...]) -> _Plan:
    table = upsert.table
    missing = [name for name in columns if name not in table.c]
    if missing:
        raise KeyError(f"{table.name} has no column(s) {', '.join(missing)}")
    converters = tuple(
        (index, convert)
        for index, name in enumerate(columns)
        if (convert := _converter(table.c[name].type, dialect)) is not None
    )
    quoted = ", ".join(f'"{name}"' for name in columns)
    tail = f" ON CONFLICT ({', '.join(upsert.conflict)}) "
    if upsert.do_nothing:
        tail += "DO NOTHING"
    else:
        special = dict(upsert.update_sql)
        sets = [
            f'"{name}" = excluded."{name}"'
            for name in columns
            if name not in upsert.keep and name not in upsert.conflict and name not in special
        ]
        # An expression is for a column the rows carry (rows without it leave that column as it is).
        sets += [f'"{name}" = {expression.format(table=table.name)}' for name, expression in upsert.update_sql
                 if name in columns]
        tail += "DO UPDATE SET " + ", ".join(sets)
        if upsert.where:
            tail += " WHERE " + upsert.where.format(table=table.name)
    if upsert.returning:
        tail += " RETURNING " + ", ".join(f'"{name}"' for name in upsert.returning)
    if dialect == "postgresql":
        # One array per column, unnested into rows: the statement has as many parameters as columns whatever the
        # page size, so the driver parses it once. json is sent as text and cast row by row.
        arrays = ", ".join(
            f"%b::{'text' if _postgres_array_type(table.c[n]) == 'json' else _postgres_array_type(table.c[n])}[]"
            for n in columns
        )
        names = ", ".join(f"c{i}" for i in range(len(columns)))
        select = ", ".join(
            f"c{i}::json" if _postgres_array_type(table.c[n]) == "json" else f"c{i}" for i, n in enumerate(columns)
        )
        head = f"INSERT INTO {table.name} ({quoted}) SELECT {select} FROM unnest({arrays}) AS page({names})"
    else:
        head = f"INSERT INTO {table.name} ({quoted}) VALUES "
    values_of = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    return _Plan(columns, converters, head, tail, len(columns), values_of)


def _converted(plan: _Plan, row: dict[str, Any]) -> list[Any]:
    values = list(plan.values_of(row))
    for index, convert in plan.converters:
        values[index] = convert(values[index])
    return values


@lru_cache(maxsize=256)
def _sqlite_sql(plan: _Plan, count: int) -> str:
    one = "(" + ", ".join("?" * plan.width) + ")"
    # A conflict target after VALUES needs no parser help; RETURNING follows the upsert clause.
    return plan.head + ", ".join([one] * count) + plan.tail


def _run_sqlite(dbapi: Any, plan: _Plan, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    # Statements of a power-of-two number of rows only: a plan then has a dozen statement texts at most, which the
    # driver's statement cache keeps prepared. Any row count made its own statement before, each prepared anew
    # (parsing thousands of placeholders) and cached at megabytes apiece.
    most = 1 << (max(1, _SQLITE_MAX_PARAMS // plan.width).bit_length() - 1)
    result: list[tuple[Any, ...]] = []
    cursor = dbapi.cursor()
    try:
        start = 0
        while start < len(rows):
            count = min(most, 1 << ((len(rows) - start).bit_length() - 1))
            params: list[Any] = []
            for row in rows[start:start + count]:
                params.extend(_converted(plan, row))
            cursor.execute(_sqlite_sql(plan, count), params)
            result.extend(cursor.fetchall())
            start += count
    finally:
        cursor.close()
    return result


def _run_postgres(dbapi: Any, plan: _Plan, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    columns: list[list[Any]] = [[] for _ in range(plan.width)]
    for row in rows:
        for index, value in enumerate(_converted(plan, row)):
            columns[index].append(value)
    # %b sends the arrays in binary: psycopg's text form escapes every element with a regular expression. The query
    # is short enough (under 4 KB and 50 parameters) for psycopg to cache its parsing.
    with dbapi.cursor() as cursor:
        cursor.execute(plan.head + plan.tail, columns)
        return list(cursor.fetchall()) if plan.tail.find(" RETURNING ") >= 0 else []

