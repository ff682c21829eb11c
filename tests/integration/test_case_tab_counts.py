"""The per-(account, tab, needs action) counters kept by database triggers always equal a real COUNT of the cases,
after inserts, updates that move cases between tabs, deletes and an account's deletion, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, CaseTabCount, TikTokAccount
from returnbridge.db.repositories.case_list import CaseList
from returnbridge.domain.case_view import CaseView

from .case_grid_data import T0, a_cancellation, a_return, account, store


def counters(session: Session) -> dict[tuple[int, str, bool], int]:
    rows = session.execute(select(CaseTabCount.account_id, CaseTabCount.tab, CaseTabCount.needs_action,
                                  CaseTabCount.case_count))
    return {(a, t, bool(n)): c for a, t, n, c in rows if c != 0}


def real_counts(session: Session) -> dict[tuple[int, str, bool], int]:
    rows = session.execute(select(Case.account_id, Case.tab, Case.needs_action, func.count())
                           .group_by(Case.account_id, Case.tab, Case.needs_action))
    return {(a, t, bool(n)): c for a, t, n, c in rows}


def assert_counters_exact(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        assert counters(session) == real_counts(session)
        # And the tab strip read from the counters equals the one counted over the cases (a filter forces that).
        from_counters = CaseList(session).tab_counts(CaseView())
        counted = CaseList(session).tab_counts(CaseView.from_query({"created_from": "2000-01-01"}))
        assert from_counters == counted


def test_counters_follow_inserts_updates_and_deletes(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        alpha, beta = account(session, "alpha", "Alpha"), account(session, "beta", "Beta")
    store(session_factory, alpha, [a_return(str(1000 + n), deadline=T0 + n) for n in range(5)],
          [a_cancellation("2000")])
    store(session_factory, beta, [a_return("3000", status="AWAITING_BUYER_SHIP")])
    assert_counters_exact(session_factory)
    with transaction(session_factory) as session:
        assert counters(session)[(alpha, "request_pending", True)] == 6  # five returns and the cancellation

    # The sync's own path: newer TikTok records move two returns to other tabs (and out of needs action).
    store(session_factory, alpha, [
        a_return("1000", status="AWAITING_BUYER_SHIP", updated=T0 + 100),
        a_return("1001", status="RETURN_OR_REFUND_REQUEST_COMPLETE", updated=T0 + 100),
    ])
    assert_counters_exact(session_factory)

    # Plain SQL updates: many rows at once, a change of account, and updates that move nothing.
    with transaction(session_factory) as session:
        session.execute(update(Case).where(Case.account_id == alpha, Case.kind == "return")
                        .values(tab="request_cancelled", needs_action=False))
        session.execute(update(Case).where(Case.tiktok_id == "3000").values(account_id=alpha))
        session.execute(update(Case).values(reason_text="seen"))
    assert_counters_exact(session_factory)

    with transaction(session_factory) as session:
        session.execute(delete(Case).where(Case.tiktok_id.in_(["1002", "2000"])))
    assert_counters_exact(session_factory)

    # An account's deletion cascades to its cases; its counters go too, and nobody else's change.
    with transaction(session_factory) as session:
        session.execute(delete(TikTokAccount).where(TikTokAccount.id == alpha))
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert_counters_exact(session_factory)


def test_a_rolled_back_change_leaves_the_counters_as_they_were(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        alpha = account(session, "alpha", "Alpha")
    store(session_factory, alpha, [a_return("1000"), a_return("1001")])
    with session_factory() as session:
        session.execute(delete(Case))
        session.rollback()
    assert_counters_exact(session_factory)
    with transaction(session_factory) as session:
        assert sum(counters(session).values()) == 2


def test_the_account_view_reads_only_its_counters(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        alpha, beta = account(session, "alpha", "Alpha"), account(session, "beta", "Beta")
    store(session_factory, alpha, [a_return("1000"), a_return("1001", status="AWAITING_BUYER_SHIP")])
    store(session_factory, beta, [a_return("3000")])
    with transaction(session_factory) as session:
        counts = {c.key: c.count for c in CaseList(session).tab_counts(CaseView.from_query({"account": str(alpha)}))}
    assert counts["all"] == 2 and counts["request_pending"] == 1 and counts["awaiting_buyer_ship"] == 1
