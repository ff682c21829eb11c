from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.db.models import Base, Case, TikTokAccount, utcnow


def test_migrations_produce_exactly_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Type-only differences (our decorators over plain DateTime/BigInteger) do not count; anything else means a
    # model changed without a migration.
    assert [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")] == []


def _account(session: Session) -> TikTokAccount:
    account = TikTokAccount(
        shop_id="1", shop_cipher="ROW_1", access_token_encrypted="x", refresh_token_encrypted="y",
        access_token_expires_at=utcnow(), refresh_token_expires_at=utcnow(),
    )
    session.add(account)
    session.flush()
    return account


@pytest.mark.parametrize("amount", ["0.10", "12.50", "15000", "0.001", "99999999.99", "-3.25", "0"])
def test_money_columns_keep_amounts_exactly(session_factory: sessionmaker[Session], amount: str) -> None:
    with transaction(session_factory) as session:
        account = _account(session)
        session.add(Case(account_id=account.id, kind="return", tiktok_id="r1", refund_total=Decimal(amount)))
    with transaction(session_factory) as session:
        stored = session.query(Case).one().refund_total
    assert stored == Decimal(amount)
    assert "E" not in str(stored)


def test_money_columns_sum_exactly_in_sql(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        account = _account(session)
        for i in range(10):
            session.add(Case(account_id=account.id, kind="return", tiktok_id=f"r{i}", refund_total=Decimal("0.10")))
    with transaction(session_factory) as session:
        micros = session.execute(text("SELECT SUM(refund_total) FROM cases")).scalar_one()
    assert Decimal(micros).scaleb(-6) == Decimal("1.00")


def test_money_columns_refuse_floats(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="Decimal"), transaction(session_factory) as session:
        account = _account(session)
        session.add(Case(account_id=account.id, kind="return", tiktok_id="r1", refund_total=0.1))  # type: ignore[arg-type]


def test_one_case_per_account_kind_and_tiktok_id(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match=r"(?i)unique"), transaction(session_factory) as session:
        account = _account(session)
        session.add(Case(account_id=account.id, kind="return", tiktok_id="same"))
        session.flush()
        session.add(Case(account_id=account.id, kind="return", tiktok_id="same"))
        session.flush()
