"""The driver-level page upsert (``db.bulk``) must store exactly what the ORM would, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.bulk import JsonText, _sqlite_sql
from returnbridge.db.engine import transaction
from returnbridge.db.models import Case
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity, StoredTokens
from returnbridge.db.repositories.cases import CaseStore
from returnbridge.db.secretbox import SecretBox

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
COLUMNS_COMPARED = [c.name for c in Case.__table__.columns if c.name not in ("id", "tiktok_id")]


@pytest.fixture
def account_id(session_factory: sessionmaker[Session]) -> int:
    tokens = StoredTokens("a", NOW + timedelta(days=1), "r", NOW + timedelta(days=30))
    with transaction(session_factory) as session:
        return AccountRepository(session, SecretBox("k")).connect(ShopIdentity("shop-1", "cipher"), tokens).id


def _row(account_id: int, tiktok_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_id": account_id, "kind": "return", "tiktok_id": tiktok_id, "order_id": "5770001",
        "type": "RETURN_AND_REFUND", "tiktok_status": "RETURN_OR_REFUND_REQUEST_PENDING", "store_status": "Requested",
        "status_known": True, "arbitration_status": "", "initiator_role": "BUYER", "reason_name": "Damaged",
        "reason_text": "=HYPERLINK(\"x\") ünïcødé 😀", "currency": "JPY",
        "refund_total": Decimal("1234567.891011"), "refund_subtotal": Decimal("1200"), "refund_shipping_fee": None,
        "refund_tax": Decimal("0.000001"), "retail_delivery_fee": Decimal("-3.5"), "buyer_service_fee": Decimal("0"),
        "product_platform_discount": None, "product_seller_discount": None, "shipping_fee_platform_discount": None,
        "shipping_fee_seller_discount": None, "partial_refund_amount": None, "needs_action": True,
        "seller_action": "SELLER_RESPOND_RETURN", "seller_deadline": datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
        "decided_by_tiktok": False, "tiktok_create_time": datetime(2026, 11, 20, 1, 2, 3, 456789, tzinfo=UTC),
        "tiktok_update_time": datetime(2026, 11, 21, 1, 2, 3, tzinfo=UTC), "records_due": True,
        "raw": {"return_id": "4035", "nested": [1, None, {"k": "v"}], "text": "ü 😀"},
    }
    row.update(changes)
    return row


def _stored(session: Session, tiktok_id: str) -> tuple[Any, ...]:
    # The driver's own values (text on SQLite), so a format difference the ORM would smooth over still shows.
    names = ", ".join(f'"{name}"' for name in COLUMNS_COMPARED)
    return tuple(session.execute(text(f"SELECT {names} FROM cases WHERE tiktok_id = :t"), {"t": tiktok_id}).one())


def test_bulk_upsert_stores_the_same_column_values_as_the_orm(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    with transaction(session_factory) as session:
        session.add(Case(**_row(account_id, "by-orm"), created_at=NOW, updated_at=NOW))
        CaseStore(session).upsert([_row(account_id, "by-bulk")], NOW)
    with transaction(session_factory) as session:
        assert _stored(session, "by-bulk") == _stored(session, "by-orm")


def test_bulk_upsert_reads_back_through_the_orm_unchanged(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    row = _row(account_id, "R1")
    with transaction(session_factory) as session:
        CaseStore(session).upsert([dict(row)], NOW)
    with transaction(session_factory) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == "R1")).one()
        for name, value in row.items():
            assert getattr(case, name) == value, name


def test_bulk_upsert_returns_the_id_of_every_row_of_a_page_larger_than_one_statement(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    rows = [_row(account_id, f"R{i}") for i in range(1_600)]  # SQLite splits this into 512 + 512 + 512 + 64
    with transaction(session_factory) as session:
        written = CaseStore(session).upsert(rows, NOW)
    with transaction(session_factory) as session:
        ids = {tiktok_id: case_id for tiktok_id, case_id in session.execute(select(Case.tiktok_id, Case.id))}
    assert written == ids
    assert len(written) == 1_600


def test_bulk_upsert_stores_json_serialised_ahead_like_the_value_itself(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    row = _row(account_id, "ahead")
    row["raw"] = JsonText.of(row["raw"])
    with transaction(session_factory) as session:
        CaseStore(session).upsert([_row(account_id, "as-value"), row], NOW)
    with transaction(session_factory) as session:
        assert _stored(session, "ahead") == _stored(session, "as-value")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL sends one unnest statement per page
def test_bulk_upsert_on_sqlite_uses_few_statement_texts_whatever_the_page_sizes(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    texts_before = _sqlite_sql.cache_info().currsize
    for size in range(1, 101):
        with transaction(session_factory) as session:
            CaseStore(session).upsert([_row(account_id, f"S{size}-{i}") for i in range(size)], NOW)
    # Pages of 1 to 100 rows as statements of 1, 2, 4, ... 64 rows: seven texts (prepared once and kept).
    assert _sqlite_sql.cache_info().currsize - texts_before <= 7


def test_bulk_upsert_does_not_return_a_row_refused_as_older(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    with transaction(session_factory) as session:
        CaseStore(session).upsert([_row(account_id, "R1")], NOW)
    older = _row(account_id, "R1", tiktok_status="RETURN_OR_REFUND_REQUEST_REJECT",
                 tiktok_update_time=datetime(2026, 11, 1, tzinfo=UTC))
    with transaction(session_factory) as session:
        assert CaseStore(session).upsert([older], NOW) == {}
    with transaction(session_factory) as session:
        assert session.scalars(select(Case.tiktok_status)).one() == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_bulk_upsert_refuses_a_float_amount(session_factory: sessionmaker[Session], account_id: int) -> None:
    with pytest.raises(TypeError, match="money must be Decimal"), transaction(session_factory) as session:
        CaseStore(session).upsert([_row(account_id, "R1", refund_total=12.5)], NOW)


def test_bulk_upsert_refuses_an_amount_finer_than_millionths(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    with pytest.raises(ValueError, match="more than 6 decimals"), transaction(session_factory) as session:
        CaseStore(session).upsert([_row(account_id, "R1", refund_total=Decimal("0.0000001"))], NOW)


def test_bulk_upsert_refuses_a_naive_datetime(session_factory: sessionmaker[Session], account_id: int) -> None:
    with pytest.raises(ValueError, match="naive datetime"), transaction(session_factory) as session:
        CaseStore(session).upsert([_row(account_id, "R1", tiktok_update_time=datetime(2026, 11, 21))], NOW)


def test_bulk_upsert_stores_a_non_utc_time_as_the_same_instant(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    tokyo = datetime(2026, 11, 21, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    with transaction(session_factory) as session:
        CaseStore(session).upsert([_row(account_id, "R1", tiktok_update_time=tokyo)], NOW)
    with transaction(session_factory) as session:
        stored = session.scalars(select(Case.tiktok_update_time)).one()
    assert stored == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_the_count_check_counts_cases_changed_since_a_time_by_creation_window(
    session_factory: sessionmaker[Session], account_id: int
) -> None:
    created = [datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=d) for d in range(4)]
    updated = [datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)] * 2
    with transaction(session_factory) as session:
        CaseStore(session).upsert([
            _row(account_id, f"C{i}", tiktok_create_time=created[i], tiktok_update_time=updated[i]) for i in range(4)
        ], NOW)
    since = datetime(2026, 11, 15, tzinfo=UTC)
    with transaction(session_factory) as session:
        store = CaseStore(session)
        everything = store.count_changed_since(account_id, "return", since, datetime.fromtimestamp(0, UTC),
                                               datetime(2100, 1, 1, tzinfo=UTC))
        first_two_days = store.count_changed_since(account_id, "return", since, created[0], created[2])
        last_day = store.count_changed_since(account_id, "return", since, created[3], created[3] + timedelta(days=1))
        other_kind = store.count_changed_since(account_id, "cancellation", since, created[0], created[3])
    assert (everything, first_two_days, last_day, other_kind) == (2, 1, 1, 0)
