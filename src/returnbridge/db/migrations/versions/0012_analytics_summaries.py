"""analytics: daily summaries of the cases kept by triggers, the refund and first-decision times on each case

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Why: the analytics page over a million cases took 36 s on SQLite and 7.6 s on PostgreSQL reading ``cases``. These
tables hold, per account and UTC day, just the counts and sums each chart needs; the same triggers as the status-tab
counters (0009) keep them exact in the transaction that writes a case, a returned line, a decision or a sold line,
so a report reads a few thousand rows. Each table holds the dimensions of one chart only: one wide table with every
dimension would have nearly as many rows as there are cases.

- ``daily_requests``  (account, day, kind, type, store status)         cases
- ``daily_reasons``   (account, day, reason)                           cases
- ``daily_decisions`` (account, day, TikTok decided, in arbitration, merchant decided, hours-to-decision bucket,
  day of the open seller deadline)                                     cases, milliseconds to decision
- ``daily_refunds``   (account, day of the refund, currency)           cases and the six refund sums, in millionths
- ``monthly_sku_units`` / ``daily_sku_units`` (period, account, seller SKU, product)  returned units, units sold

Time to decision cannot be summed into a percentile or a bucket later, so each case lands in a histogram bucket:
whole hours below 48 h (the two-day seller deadline is where merchants want detail), then one bucket per day up to a
week, then "a week or more"; the milliseconds are summed beside it for an exact average. The charts' four ranges
(< 1 h, 1–24 h, 24–48 h, ≥ 48 h) are sums of buckets; a percentile would be read to the bucket.

On SQLite the tables are WITHOUT ROWID: a report scans the primary key itself instead of looking up each row from
the key's index (three times faster on the SKU table), and a trigger's upsert writes one b-tree instead of two.

SKU units come at two grains: a year's report over thousands of SKUs reads twelve monthly rows per SKU and account;
days are read only for a period's partial first and last month.

A case's contribution depends on two facts it did not store: when it was refunded (``refunded_at``: the TikTok update
time of the record that first showed it Refunded, kept while it stays Refunded) and when TikTok applied the first
decision (``decided_at``: the earliest finished done decision, set by a trigger on ``decisions``). Both are columns
on ``cases`` so that one row carries everything its summaries need.

A delete only decrements existing rows (an account's deletion cascades to its summaries too, and a summary row must
not be re-created for a gone account). Rows that drop to zero stay; reports skip them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

REFUNDED = "'Refunded'"


class _Dialect:
    """The few expressions that differ: a UTC day or month as text, milliseconds between two times."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def day(self, x: str) -> str:
        if self.pg:
            return f"coalesce(to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '')"
        return f"coalesce(substr({x}, 1, 10), '')"  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'

    def month(self, x: str) -> str:
        if self.pg:
            return f"coalesce(to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM'), '')"
        return f"coalesce(substr({x}, 1, 7), '')"

    def millis(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"round(extract(epoch FROM ({later} - {earlier})) * 1000)::bigint"
        return f"CAST(round((julianday({later}) - julianday({earlier})) * 86400000) AS INTEGER)"


def _bucket(ms: str) -> str:
    """The hours-to-decision histogram bucket (its lower bound in hours); -99 when not decided, -1 before the
    request (clock skew)."""
    return (f"CASE WHEN {ms} IS NULL THEN -99 WHEN {ms} < 0 THEN -1 WHEN {ms} < 172800000 THEN {ms} / 3600000 "
            f"WHEN {ms} < 604800000 THEN 48 + (({ms} - 172800000) / 86400000) * 24 ELSE 168 END")


def _cents(column: str) -> str:
    return f"coalesce({column}, 0)"


class _Summary(NamedTuple):
    """One summary fed by ``cases``: key and measure expressions over the row ``{r}``, counted when ``where``."""

    table: str
    keys: tuple[tuple[str, Callable[[_Dialect, str], str]], ...]
    measures: tuple[tuple[str, Callable[[_Dialect, str], str]], ...]
    where: Callable[[str], str]
    columns: tuple[str, ...]  # the case columns it reads: an update touching none of them changes nothing


def _created_day(d: _Dialect, r: str) -> str:
    return d.day(f"{r}.tiktok_create_time")


def _decision_ms(d: _Dialect, r: str) -> str:
    return d.millis(f"{r}.decided_at", f"{r}.tiktok_create_time")


CASE_SUMMARIES = (
    _Summary(
        table="daily_requests",
        keys=(("account_id", lambda d, r: f"{r}.account_id"), ("day", _created_day),
              ("kind", lambda d, r: f"{r}.kind"), ("type", lambda d, r: f"{r}.type"),
              ("store_status", lambda d, r: f"{r}.store_status")),
        measures=(("cases", lambda d, r: "1"),),
        where=lambda r: "1 = 1",
        columns=("account_id", "tiktok_create_time", "kind", "type", "store_status"),
    ),
    _Summary(
        table="daily_reasons",
        keys=(("account_id", lambda d, r: f"{r}.account_id"), ("day", _created_day),
              ("reason", lambda d, r: f"{r}.reason_name")),
        measures=(("cases", lambda d, r: "1"),),
        where=lambda r: "1 = 1",
        columns=("account_id", "tiktok_create_time", "reason_name"),
    ),
    _Summary(
        table="daily_decisions",
        keys=(("account_id", lambda d, r: f"{r}.account_id"), ("day", _created_day),
              ("decided_by_tiktok", lambda d, r: f"{r}.decided_by_tiktok"),
              ("in_arbitration", lambda d, r: f"({r}.arbitration_status <> '')"),
              ("merchant_decided", lambda d, r: f"({r}.decided_at IS NOT NULL)"),
              ("decision_bucket", lambda d, r: _bucket(_decision_ms(d, r))),
              # Only a case still awaiting the merchant (and not decided by TikTok) has an open deadline: the
              # report counts those whose deadline day is before today, and reads today's few from ``cases``.
              ("open_deadline_day", lambda d, r: (
                  f"CASE WHEN {r}.needs_action AND NOT {r}.decided_by_tiktok AND {r}.seller_deadline IS NOT NULL "
                  f"THEN {d.day(f'{r}.seller_deadline')} ELSE '' END"))),
        measures=(("cases", lambda d, r: "1"),
                  ("decision_ms", lambda d, r: f"coalesce({_decision_ms(d, r)}, 0)")),
        where=lambda r: "1 = 1",
        columns=("account_id", "tiktok_create_time", "decided_by_tiktok", "arbitration_status", "decided_at",
                 "needs_action", "seller_deadline"),
    ),
    _Summary(
        table="daily_refunds",
        keys=(("account_id", lambda d, r: f"{r}.account_id"), ("day", lambda d, r: d.day(f"{r}.refunded_at")),
              ("currency", lambda d, r: f"{r}.currency")),
        measures=(("cases", lambda d, r: "1"),
                  ("total", lambda d, r: _cents(f"{r}.refund_total")),
                  ("subtotal", lambda d, r: _cents(f"{r}.refund_subtotal")),
                  ("shipping", lambda d, r: _cents(f"{r}.refund_shipping_fee")),
                  ("tax", lambda d, r: _cents(f"{r}.refund_tax")),
                  ("platform_funded", lambda d, r: (f"{_cents(f'{r}.product_platform_discount')} + "
                                                    f"{_cents(f'{r}.shipping_fee_platform_discount')}")),
                  ("seller_funded", lambda d, r: (f"{_cents(f'{r}.product_seller_discount')} + "
                                                  f"{_cents(f'{r}.shipping_fee_seller_discount')}"))),
        where=lambda r: f"{r}.store_status = {REFUNDED} AND {r}.currency <> '' AND {r}.refunded_at IS NOT NULL",
        columns=("account_id", "store_status", "currency", "refunded_at", "refund_total", "refund_subtotal",
                 "refund_shipping_fee", "refund_tax", "product_platform_discount", "shipping_fee_platform_discount",
                 "product_seller_discount", "shipping_fee_seller_discount"),
    ),
)

# The SKU tables: (table, the period of a time expression).
SKU_TABLES: tuple[tuple[str, Callable[[_Dialect, str], str]], ...] = (
    ("monthly_sku_units", lambda d, x: d.month(x)),
    ("daily_sku_units", lambda d, x: d.day(x)),
)
SKU_KEYS = ("period", "account_id", "seller_sku", "product_name")


# --- SQLite: row triggers ------------------------------------------------------------------------------------------


def _sqlite_add(table: str, keys: list[str], key_sql: list[str], measures: list[str], measure_sql: list[str],
                source: str) -> str:
    """Upsert one contribution; ``source`` is the rest of the SELECT (FROM/WHERE; WHERE is needed by the parser)."""
    sets = ", ".join(f"{m} = {m} + excluded.{m}" for m in measures)
    return (f"INSERT INTO {table} ({', '.join(keys + measures)}) SELECT {', '.join(key_sql + measure_sql)} {source} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets};")


def _sqlite_case_triggers(d: _Dialect) -> list[str]:
    out: list[str] = []
    for s in CASE_SUMMARIES:
        keys = [k for k, _ in s.keys]
        measures = [m for m, _ in s.measures]

        def add(r: str, s: _Summary = s, keys: list[str] = keys, measures: list[str] = measures) -> str:
            return _sqlite_add(s.table, keys, [f(d, r) for _, f in s.keys], measures,
                               [f(d, r) for _, f in s.measures], f"WHERE {s.where(r)}")

        def sub(r: str, s: _Summary = s) -> str:
            sets = ", ".join(f"{m} = {m} - ({f(d, r)})" for m, f in s.measures)
            match = " AND ".join(f"{k} = {f(d, r)}" for k, f in s.keys)
            return f"UPDATE {s.table} SET {sets} WHERE {match} AND {s.where(r)};"

        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in s.columns)
        out += [
            f"CREATE TRIGGER {s.table}_insert AFTER INSERT ON cases BEGIN {add('NEW')} END",
            f"CREATE TRIGGER {s.table}_update AFTER UPDATE ON cases WHEN {changed} "
            f"BEGIN {sub('OLD')} {add('NEW')} END",
            f"CREATE TRIGGER {s.table}_delete AFTER DELETE ON cases BEGIN {sub('OLD')} END",
        ]
    # A case's moment (refunded, first decision) is kept on the case by these; each change goes through the
    # summary triggers above as an update of its own.
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"
    reached = f"coalesce(NEW.tiktok_update_time, NEW.tiktok_create_time, {now})"
    out += [
        f"CREATE TRIGGER cases_refunded_at_insert AFTER INSERT ON cases "
        f"WHEN NEW.store_status = {REFUNDED} AND NEW.refunded_at IS NULL "
        f"BEGIN UPDATE cases SET refunded_at = {reached} WHERE id = NEW.id; END",
        f"CREATE TRIGGER cases_refunded_at_update AFTER UPDATE OF store_status ON cases "
        f"WHEN NEW.store_status = {REFUNDED} AND OLD.store_status IS NOT {REFUNDED} AND NEW.refunded_at IS NULL "
        f"BEGIN UPDATE cases SET refunded_at = {reached} WHERE id = NEW.id; END",
        f"CREATE TRIGGER cases_refunded_at_clear AFTER UPDATE OF store_status ON cases "
        f"WHEN NEW.store_status IS NOT {REFUNDED} AND NEW.refunded_at IS NOT NULL "
        f"BEGIN UPDATE cases SET refunded_at = NULL WHERE id = NEW.id; END",
    ]
    first = ("UPDATE cases SET decided_at = NEW.finished_at WHERE id = NEW.case_id "
             "AND (decided_at IS NULL OR decided_at > NEW.finished_at);")
    done = "NEW.state = 'done' AND NEW.finished_at IS NOT NULL"
    out += [
        f"CREATE TRIGGER decisions_decided_at_insert AFTER INSERT ON decisions WHEN {done} BEGIN {first} END",
        f"CREATE TRIGGER decisions_decided_at_update AFTER UPDATE OF state, finished_at ON decisions WHEN {done} "
        f"BEGIN {first} END",
    ]
    return out


def _sqlite_sku_triggers(d: _Dialect) -> list[str]:
    out: list[str] = []
    measures = ["returned_units", "units_sold"]
    keys = list(SKU_KEYS)
    for table, period in SKU_TABLES:
        # Returned units: a line of a return, in the period of its case's request.
        case_period = period(d, "c.tiktok_create_time")

        def line_add(r: str, table: str = table, case_period: str = case_period) -> str:
            return _sqlite_add(table, keys, [case_period, "c.account_id", f"{r}.seller_sku", f"{r}.product_name"],
                               measures, ["1", "0"], f"FROM cases c WHERE c.id = {r}.case_id AND c.kind = 'return'")

        def line_sub(r: str, table: str = table, case_period: str = case_period) -> str:
            return (f"UPDATE {table} SET returned_units = returned_units - 1 WHERE ({', '.join(keys)}) = "
                    f"(SELECT {case_period}, c.account_id, {r}.seller_sku, {r}.product_name FROM cases c "
                    f"WHERE c.id = {r}.case_id AND c.kind = 'return');")

        line_changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("case_id", "seller_sku", "product_name"))
        out += [
            f"CREATE TRIGGER {table}_line_insert AFTER INSERT ON case_lines BEGIN {line_add('NEW')} END",
            f"CREATE TRIGGER {table}_line_update AFTER UPDATE ON case_lines WHEN {line_changed} "
            f"BEGIN {line_sub('OLD')} {line_add('NEW')} END",
            f"CREATE TRIGGER {table}_line_delete AFTER DELETE ON case_lines BEGIN {line_sub('OLD')} END",
        ]
        # A case that changes kind, account or request time takes its lines along (TikTok does not change these,
        # but a summary must not depend on that).
        old_p, new_p = period(d, "OLD.tiktok_create_time"), period(d, "NEW.tiktok_create_time")
        same_line = (f"l.case_id = OLD.id AND l.seller_sku = {table}.seller_sku "
                     f"AND l.product_name = {table}.product_name")
        moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("kind", "account_id", "tiktok_create_time"))
        out.append(
            f"CREATE TRIGGER {table}_case_moved AFTER UPDATE ON cases WHEN {moved} BEGIN "
            f"UPDATE {table} SET returned_units = returned_units - "
            f"(SELECT count(*) FROM case_lines l WHERE {same_line}) "
            f"WHERE OLD.kind = 'return' AND period = {old_p} AND account_id = OLD.account_id "
            f"AND EXISTS (SELECT 1 FROM case_lines l WHERE {same_line}); "
            + _sqlite_add(table, keys, [new_p, "NEW.account_id", "l.seller_sku", "l.product_name"], measures,
                          ["count(*)", "0"], "FROM case_lines l WHERE l.case_id = NEW.id AND NEW.kind = 'return' "
                          "GROUP BY l.seller_sku, l.product_name")
            + " END"
        )

        # Units sold: an order line, in the period of its order.
        def sold_add(r: str, table: str = table, period: Callable[[_Dialect, str], str] = period) -> str:
            return _sqlite_add(table, keys, [period(d, f"{r}.order_create_time"), f"{r}.account_id",
                                             f"{r}.seller_sku", f"{r}.product_name"], measures, ["0", "1"], "WHERE 1")

        def sold_sub(r: str, table: str = table, period: Callable[[_Dialect, str], str] = period) -> str:
            when = period(d, f"{r}.order_create_time")
            return (f"UPDATE {table} SET units_sold = units_sold - 1 WHERE period = {when} "
                    f"AND account_id = {r}.account_id AND seller_sku = {r}.seller_sku "
                    f"AND product_name = {r}.product_name;")

        sold_changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in
                                   ("account_id", "order_create_time", "seller_sku", "product_name"))
        out += [
            f"CREATE TRIGGER {table}_sold_insert AFTER INSERT ON order_lines_sold BEGIN {sold_add('NEW')} END",
            f"CREATE TRIGGER {table}_sold_update AFTER UPDATE ON order_lines_sold WHEN {sold_changed} "
            f"BEGIN {sold_sub('OLD')} {sold_add('NEW')} END",
            f"CREATE TRIGGER {table}_sold_delete AFTER DELETE ON order_lines_sold BEGIN {sold_sub('OLD')} END",
        ]
    return out


# --- PostgreSQL: statement triggers over transition tables -----------------------------------------------------


def _pg_apply(table: str, keys: list[str], measures: list[str], plus: str, minus: str | None) -> str:
    """Add the grouped contributions ``plus`` (and subtract ``minus``): SELECTs giving keys then measures. Rows are
    written in key order, so concurrent transactions take their row locks in the same order."""
    cols = keys + measures
    rows = plus if minus is None else f"{plus} UNION ALL {minus}"
    inner = ", ".join(keys) + ", " + ", ".join(f"sum({m}) AS {m}" for m in measures)
    nonzero = " OR ".join(f"sum({m}) <> 0" for m in measures)
    sets = ", ".join(f"{m} = s.{m} + excluded.{m}" for m in measures)
    return (f"INSERT INTO {table} AS s ({', '.join(cols)}) SELECT {inner} FROM ({rows}) AS x({', '.join(cols)}) "
            f"GROUP BY {', '.join(keys)} HAVING {nonzero} ORDER BY {', '.join(keys)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets};")


def _pg_subtract(table: str, keys: list[str], measures: list[str], minus: str) -> str:
    cols = keys + measures
    inner = ", ".join(keys) + ", " + ", ".join(f"sum({m}) AS {m}" for m in measures)
    sets = ", ".join(f"{m} = s.{m} - g.{m}" for m in measures)
    match = " AND ".join(f"s.{k} = g.{k}" for k in keys)
    return (f"UPDATE {table} AS s SET {sets} FROM (SELECT {inner} FROM ({minus}) AS x({', '.join(cols)}) "
            f"GROUP BY {', '.join(keys)}) AS g WHERE {match};")


def _pg_function(name: str, on_insert: list[str], on_update: list[str], on_delete: list[str]) -> str:
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {' '.join(on_insert) or 'NULL;'} "
            f"ELSIF TG_OP = 'UPDATE' THEN {' '.join(on_update) or 'NULL;'} "
            f"ELSE {' '.join(on_delete) or 'NULL;'} END IF; RETURN NULL; END $$")


def _pg_triggers(table: str, function: str) -> list[str]:
    return [
        f"CREATE TRIGGER {function}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _pg_statements(d: _Dialect) -> list[str]:
    ins: list[str] = []
    upd: list[str] = []
    dele: list[str] = []
    for s in CASE_SUMMARIES:
        keys, measures = [k for k, _ in s.keys], [m for m, _ in s.measures]

        def rows(source: str, sign: str, s: _Summary = s) -> str:
            values = [f(d, "r") for _, f in s.keys] + [f"{sign}({f(d, 'r')})" for _, f in s.measures]
            return f"SELECT {', '.join(values)} FROM {source} AS r WHERE {s.where('r')}"

        ins.append(_pg_apply(s.table, keys, measures, rows("new_rows", ""), None))
        upd.append(_pg_apply(s.table, keys, measures, rows("new_rows", ""), rows("old_rows", "-")))
        dele.append(_pg_subtract(s.table, keys, measures, rows("old_rows", "")))
    line_ins: list[str] = []
    line_upd: list[str] = []
    line_del: list[str] = []
    sold_ins: list[str] = []
    sold_upd: list[str] = []
    sold_del: list[str] = []
    keys, measures = list(SKU_KEYS), ["returned_units", "units_sold"]
    for table, period in SKU_TABLES:
        def lines(source: str, sign: str, period: Callable[[_Dialect, str], str] = period) -> str:
            return (f"SELECT {period(d, 'c.tiktok_create_time')}, c.account_id, l.seller_sku, l.product_name, "
                    f"{sign}1, 0 FROM {source} AS l JOIN cases AS c ON c.id = l.case_id WHERE c.kind = 'return'")

        line_ins.append(_pg_apply(table, keys, measures, lines("new_rows", ""), None))
        line_upd.append(_pg_apply(table, keys, measures, lines("new_rows", ""), lines("old_rows", "-")))
        line_del.append(_pg_subtract(table, keys, measures, lines("old_rows", "")))

        def moved(side: str, sign: str, period: Callable[[_Dialect, str], str] = period) -> str:
            return (f"SELECT {period(d, f'{side}.tiktok_create_time')}, {side}.account_id, l.seller_sku, "
                    f"l.product_name, {sign}1, 0 FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id "
                    f"JOIN case_lines AS l ON l.case_id = n.id WHERE {side}.kind = 'return' AND "
                    f"(o.kind <> n.kind OR o.account_id <> n.account_id "
                    f"OR o.tiktok_create_time IS DISTINCT FROM n.tiktok_create_time)")

        upd.append(_pg_apply(table, keys, measures, moved("n", ""), moved("o", "-")))

        def sold(source: str, sign: str, period: Callable[[_Dialect, str], str] = period) -> str:
            return (f"SELECT {period(d, 'r.order_create_time')}, r.account_id, r.seller_sku, r.product_name, 0, "
                    f"{sign}1 FROM {source} AS r")

        sold_ins.append(_pg_apply(table, keys, measures, sold("new_rows", ""), None))
        sold_upd.append(_pg_apply(table, keys, measures, sold("new_rows", ""), sold("old_rows", "-")))
        sold_del.append(_pg_subtract(table, keys, measures, sold("old_rows", "")))
    decided = (
        "UPDATE cases AS c SET decided_at = f.first FROM (SELECT case_id, min(finished_at) AS first FROM new_rows "
        "WHERE state = 'done' AND finished_at IS NOT NULL GROUP BY case_id) AS f "
        "WHERE c.id = f.case_id AND (c.decided_at IS NULL OR c.decided_at > f.first);"
    )
    refunded = (
        # A row trigger, before the write: the refund moment is part of the row the summaries then read.
        "CREATE FUNCTION cases_refunded_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.store_status IS DISTINCT FROM {REFUNDED} THEN NEW.refunded_at := NULL; "
        f"ELSIF TG_OP = 'INSERT' OR OLD.store_status IS DISTINCT FROM {REFUNDED} THEN "
        "NEW.refunded_at := coalesce(CASE WHEN TG_OP = 'INSERT' THEN NEW.refunded_at END, NEW.tiktok_update_time, "
        "NEW.tiktok_create_time, now()); "
        "END IF; RETURN NEW; END $$"
    )
    return [
        refunded,
        "CREATE TRIGGER cases_refunded_at BEFORE INSERT OR UPDATE ON cases FOR EACH ROW "
        "EXECUTE FUNCTION cases_refunded_at()",
        _pg_function("cases_analytics_apply", ins, upd, dele),
        *_pg_triggers("cases", "cases_analytics_apply"),
        _pg_function("case_lines_analytics_apply", line_ins, line_upd, line_del),
        *_pg_triggers("case_lines", "case_lines_analytics_apply"),
        _pg_function("order_lines_sold_analytics_apply", sold_ins, sold_upd, sold_del),
        *_pg_triggers("order_lines_sold", "order_lines_sold_analytics_apply"),
        _pg_function("decisions_decided_at", [decided], [decided], []),
        "CREATE TRIGGER decisions_decided_at_insert AFTER INSERT ON decisions REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION decisions_decided_at()",
        "CREATE TRIGGER decisions_decided_at_update AFTER UPDATE ON decisions REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION decisions_decided_at()",
    ]


# --- backfill: what the triggers would have written, in one grouped INSERT per table -------------------------


def backfill_statements(dialect: str) -> list[str]:
    d = _Dialect(dialect)
    out = [
        "UPDATE cases SET decided_at = (SELECT min(finished_at) FROM decisions WHERE decisions.case_id = cases.id "
        "AND decisions.state = 'done' AND decisions.finished_at IS NOT NULL)",
        # Cases refunded before this revision: the update time of the record we hold is the best moment known.
        f"UPDATE cases SET refunded_at = coalesce(tiktok_update_time, tiktok_create_time, created_at) "
        f"WHERE store_status = {REFUNDED}",
    ]
    for s in CASE_SUMMARIES:
        keys = [k for k, _ in s.keys]
        measures = [m for m, _ in s.measures]
        key_sql = [f(d, "r") for _, f in s.keys]
        measure_sql = [f"sum({f(d, 'r')})" for _, f in s.measures]
        out.append(f"INSERT INTO {s.table} ({', '.join(keys + measures)}) SELECT {', '.join(key_sql + measure_sql)} "
                   f"FROM cases AS r WHERE {s.where('r')} GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}")
    for table, period in SKU_TABLES:
        out.append(
            f"INSERT INTO {table} (period, account_id, seller_sku, product_name, returned_units, units_sold) "
            f"SELECT period, account_id, seller_sku, product_name, sum(returned_units), sum(units_sold) FROM ("
            f"SELECT {period(d, 'c.tiktok_create_time')} AS period, c.account_id, l.seller_sku, l.product_name, "
            f"1 AS returned_units, 0 AS units_sold FROM case_lines AS l JOIN cases AS c ON c.id = l.case_id "
            f"WHERE c.kind = 'return' UNION ALL "
            f"SELECT {period(d, 'o.order_create_time')}, o.account_id, o.seller_sku, o.product_name, 0, 1 "
            f"FROM order_lines_sold AS o) AS x GROUP BY period, account_id, seller_sku, product_name"
        )
    return out


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["tiktok_accounts.id"],
                                   name=op.f(f"fk_{table}_account_id_tiktok_accounts"), ondelete="CASCADE")


def _day() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("day", sa.String(length=10), nullable=False)


def _count(name: str = "cases") -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.add_column("cases", sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "daily_requests",
        sa.Column("account_id", sa.Integer(), nullable=False), _day(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("store_status", sa.String(length=16), nullable=False),
        _count(),
        _account_fk("daily_requests"),
        sa.PrimaryKeyConstraint("account_id", "day", "kind", "type", "store_status", name=op.f("pk_daily_requests")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "daily_reasons",
        sa.Column("account_id", sa.Integer(), nullable=False), _day(),
        sa.Column("reason", sa.Text(), nullable=False),
        _count(),
        _account_fk("daily_reasons"),
        sa.PrimaryKeyConstraint("account_id", "day", "reason", name=op.f("pk_daily_reasons")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "daily_decisions",
        sa.Column("account_id", sa.Integer(), nullable=False), _day(),
        sa.Column("decided_by_tiktok", sa.Boolean(), nullable=False),
        sa.Column("in_arbitration", sa.Boolean(), nullable=False),
        sa.Column("merchant_decided", sa.Boolean(), nullable=False),
        sa.Column("decision_bucket", sa.Integer(), nullable=False),
        sa.Column("open_deadline_day", sa.String(length=10), nullable=False),
        _count(), _count("decision_ms"),
        _account_fk("daily_decisions"),
        sa.PrimaryKeyConstraint("account_id", "day", "decided_by_tiktok", "in_arbitration", "merchant_decided",
                                "decision_bucket", "open_deadline_day", name=op.f("pk_daily_decisions")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "daily_refunds",
        sa.Column("account_id", sa.Integer(), nullable=False), _day(),
        sa.Column("currency", sa.String(length=8), nullable=False),
        _count(), *(_count(m) for m in ("total", "subtotal", "shipping", "tax", "platform_funded", "seller_funded")),
        _account_fk("daily_refunds"),
        sa.PrimaryKeyConstraint("account_id", "day", "currency", name=op.f("pk_daily_refunds")),
        sqlite_with_rowid=False,
    )
    for table, _ in SKU_TABLES:
        op.create_table(
            table,
            sa.Column("period", sa.String(length=10), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("seller_sku", sa.String(length=255), nullable=False),
            sa.Column("product_name", sa.Text(), nullable=False),
            _count("returned_units"), _count("units_sold"),
            _account_fk(table),
            sa.PrimaryKeyConstraint(*SKU_KEYS, name=op.f(f"pk_{table}")),
            sqlite_with_rowid=False,
        )
    bind = op.get_bind()
    for statement in backfill_statements(bind.dialect.name):
        bind.execute(sa.text(statement))
    d = _Dialect(bind.dialect.name)
    statements = _pg_statements(d) if d.pg else _sqlite_case_triggers(d) + _sqlite_sku_triggers(d)
    for statement in statements:
        bind.execute(sa.text(statement))


SUMMARY_TABLES = ("daily_requests", "daily_reasons", "daily_decisions", "daily_refunds", "monthly_sku_units",
                  "daily_sku_units")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, function in (("cases", "cases_analytics_apply"), ("case_lines", "case_lines_analytics_apply"),
                                ("order_lines_sold", "order_lines_sold_analytics_apply"),
                                ("decisions", "decisions_decided_at")):
            for event in ("insert", "update", "delete"):
                bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {function}_{event} ON {table}"))
            bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {function}()"))
        bind.execute(sa.text("DROP TRIGGER IF EXISTS cases_refunded_at ON cases"))
        bind.execute(sa.text("DROP FUNCTION IF EXISTS cases_refunded_at()"))
    else:
        names = bind.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'daily_%' OR name LIKE "
            "'monthly_%' OR name LIKE 'cases_refunded_at_%' OR name LIKE 'decisions_decided_at_%')")).scalars()
        for name in list(names):
            bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    for table in SUMMARY_TABLES:
        op.drop_table(table)
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("refunded_at")
