"""The pull: every TikTok request stored once, never moved backwards, resumable after any failure."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, CaseLine, QuarantinedRecord, SyncState, TikTokAccount, TimelineEvent
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync import ingest
from returnbridge.sync.ingest import pull_account, refresh_request, store_page
from returnbridge.sync.locks import ShopBusy, lease, shop_lease_name
from returnbridge.sync.runtime import Runtime
from returnbridge.tiktok import RateLimited, TikTokClient

from .conftest import Control, connect_shop, fresh_shop

SEARCH_RETURNS = "/return_refund/202602/returns/search"


def quiet_retries(runtime: Runtime) -> None:
    """Retries without the real back-off sleeps, so storms of errors take milliseconds."""
    s = runtime.settings
    runtime._tiktok = TikTokClient(
        app_key=s.tiktok_app_key, app_secret=s.tiktok_app_secret, api_base=s.tiktok_api_base,
        auth_base=s.tiktok_auth_base, rate_per_second=1000.0, sleep=lambda _seconds: None,
    )


def count(runtime: Runtime, model: Any, *where: Any) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def distinct_cases(runtime: Runtime, account_id: int) -> tuple[int, int]:
    with transaction(runtime.sessions) as session:
        total = session.scalar(select(func.count()).select_from(Case).where(Case.account_id == account_id))
        distinct = session.scalar(
            select(func.count(func.distinct(Case.tiktok_id))).where(Case.account_id == account_id)
        )
    return int(total or 0), int(distinct or 0)


def test_first_pull_stores_every_return_and_cancellation_once(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=120, cancellations=30)
    account_id = connect_shop(runtime, control, shop)
    results = pull_account(runtime, account_id)
    assert [r.outcome.created for r in results] == [120, 30]
    assert distinct_cases(runtime, account_id) == (150, 150)
    assert count(runtime, CaseLine) >= 150


def test_second_pull_adds_no_case_and_no_event(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=60, cancellations=10)
    account_id = connect_shop(runtime, control, shop)
    pull_account(runtime, account_id)
    events = count(runtime, TimelineEvent)
    again = pull_account(runtime, account_id)
    assert sum(r.outcome.created for r in again) == 0
    assert count(runtime, TimelineEvent) == events
    assert distinct_cases(runtime, account_id) == (70, 70)


def test_each_case_gets_a_first_seen_status_event(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=20)
    account_id = connect_shop(runtime, control, shop)
    pull_account(runtime, account_id, streams=["returns"])
    assert count(runtime, TimelineEvent, TimelineEvent.kind == "status_change") == 20


def test_status_change_seen_by_the_next_pull_appends_one_event(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=5)
    account_id = connect_shop(runtime, control, shop)
    opened = control.new_return(shop["id"], "RETURN_AND_REFUND")
    pull_account(runtime, account_id)
    control("POST", f"/requests/{opened['return_id']}/withdraw", {})
    pull_account(runtime, account_id)
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == opened["return_id"])).one()
        events = session.scalars(
            select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "status_change")
            .order_by(TimelineEvent.id)
        ).all()
    assert case.tiktok_status == "RETURN_OR_REFUND_REQUEST_CANCEL"
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "RETURN_OR_REFUND_REQUEST_PENDING"),
        ("RETURN_OR_REFUND_REQUEST_PENDING", "RETURN_OR_REFUND_REQUEST_CANCEL"),
    ]


def test_older_update_never_overwrites_a_newer_one(runtime: Runtime, account_id: int) -> None:
    newer = {"return_id": "900001", "order_id": "1", "return_type": "REFUND", "update_time": 1_800_000_100,
             "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE", "create_time": 1_800_000_000}
    older = {**newer, "update_time": 1_800_000_050, "return_status": "RETURN_OR_REFUND_REQUEST_PENDING"}
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, CaseKind.RETURN, [newer], source="poll")
    with transaction(runtime.sessions) as session:
        outcome = store_page(session, account_id, CaseKind.RETURN, [older], source="webhook")
    assert outcome.stale == 1
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == "900001")).one()
    assert case.tiktok_status == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    assert case.tiktok_update_time == datetime.fromtimestamp(1_800_000_100, UTC)


def test_same_request_twice_in_one_page_keeps_the_newer(runtime: Runtime, account_id: int) -> None:
    first = {"return_id": "900002", "update_time": 1_800_000_000, "return_status": "RETURN_OR_REFUND_REQUEST_PENDING"}
    second = {**first, "update_time": 1_800_000_060, "return_status": "AWAITING_BUYER_SHIP"}
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, CaseKind.RETURN, [second, first], source="poll")
    with transaction(runtime.sessions) as session:
        statuses = session.scalars(select(Case.tiktok_status).where(Case.tiktok_id == "900002")).all()
    assert statuses == ["AWAITING_BUYER_SHIP"]


def test_unknown_status_is_stored_flagged_and_not_waiting_for_the_merchant(runtime: Runtime, account_id: int) -> None:
    item = {"return_id": "900003", "update_time": 1_800_000_000, "return_status": "RETURN_TELEPORTED",
            "return_type": "HOLOGRAM"}
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, CaseKind.RETURN, [item], source="poll")
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == "900003")).one()
    assert (case.tiktok_status, case.status_known, case.needs_action, case.type) == (
        "RETURN_TELEPORTED", False, False, "HOLOGRAM")
    assert case.raw["return_status"] == "RETURN_TELEPORTED"


def test_malformed_record_is_quarantined_and_the_rest_of_the_page_stored(runtime: Runtime, account_id: int) -> None:
    good = {"return_id": "900004", "update_time": 1_800_000_000, "return_status": "RETURN_OR_REFUND_REQUEST_PENDING"}
    no_id = {"update_time": 1_800_000_000, "return_status": "RETURN_OR_REFUND_REQUEST_PENDING"}
    bad_money = {"return_id": "900005", "update_time": 1_800_000_000,
                 "refund_amount": {"currency": "USD", "refund_total": "12.3.4"}}
    with transaction(runtime.sessions) as session:
        outcome = store_page(session, account_id, CaseKind.RETURN, [good, no_id, "junk", bad_money], source="poll")
    assert (outcome.written, outcome.quarantined) == (1, 3)
    with transaction(runtime.sessions) as session:
        quarantined = session.scalars(select(QuarantinedRecord).order_by(QuarantinedRecord.id)).all()
    assert [q.tiktok_id for q in quarantined] == ["", "", "900005"]
    assert "12.3.4" in quarantined[2].payload


def test_amounts_are_copied_exactly(runtime: Runtime, account_id: int) -> None:
    item = {"return_id": "900006", "update_time": 1_800_000_000,
            "refund_amount": {"currency": "USD", "refund_total": "28.90", "refund_subtotal": "26.39",
                              "refund_tax": "2.51"},
            "discount_amount": [{"currency": "USD", "product_platform_discount": "3.30",
                                 "product_seller_discount": "0.01"}]}
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, CaseKind.RETURN, [item], source="poll")
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == "900006")).one()
    assert (str(case.refund_total), str(case.refund_subtotal), str(case.refund_tax)) == ("28.9", "26.39", "2.51")
    assert (str(case.product_platform_discount), str(case.product_seller_discount)) == ("3.3", "0.01")


def test_pull_that_fails_mid_way_resumes_without_loss_or_duplication(
    runtime: Runtime, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = fresh_shop(control, returns=300)
    account_id = connect_shop(runtime, control, shop)
    import returnbridge.sync.ingest as ingest

    real_store_page = ingest.store_prepared
    calls = {"n": 0}

    def dies_on_the_fourth_page(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        outcome = real_store_page(*args, **kwargs)
        if calls["n"] == 4:
            raise KeyboardInterrupt("process killed while writing page 4")  # after the writes, before the commit
        return outcome

    monkeypatch.setattr(ingest, "store_prepared", dies_on_the_fourth_page)
    monkeypatch.setattr(ingest, "MAX_WRITE_RECORDS", 50)  # one page per write
    with pytest.raises(KeyboardInterrupt):
        pull_account(runtime, account_id, streams=["returns"])
    stored, distinct = distinct_cases(runtime, account_id)
    assert stored == distinct and stored % 50 == 0 and stored < 200  # whole pages only; page 4 rolled back
    monkeypatch.setattr(ingest, "store_prepared", real_store_page)
    pull_account(runtime, account_id, streams=["returns"])
    assert distinct_cases(runtime, account_id) == (300, 300)


def test_failed_pull_is_recorded_in_the_account_health(
    runtime: Runtime, control: Control
) -> None:
    quiet_retries(runtime)
    shop = fresh_shop(control, returns=10)
    account_id = connect_shop(runtime, control, shop)
    control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 20, "code": 36009002, "http_status": 429})
    try:
        with pytest.raises(RateLimited):
            pull_account(runtime, account_id, streams=["returns"])
    finally:
        control("DELETE", "/faults")
    with transaction(runtime.sessions) as session:
        state = session.get(SyncState, (account_id, "returns"))
    assert state is not None and state.consecutive_failures == 1 and "RateLimited" in state.last_error
    pull_account(runtime, account_id, streams=["returns"])
    with transaction(runtime.sessions) as session:
        state = session.get(SyncState, (account_id, "returns"))
    assert state is not None and (state.consecutive_failures, state.last_error) == (0, "")


def test_storm_of_429_answers_is_ridden_out_by_retries(runtime: Runtime, control: Control) -> None:
    quiet_retries(runtime)
    shop = fresh_shop(control, returns=200)
    account_id = connect_shop(runtime, control, shop)
    for _ in range(6):  # bursts of three refusals, each followed by a success
        control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 3, "code": 36009002, "http_status": 429})
        control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 1, "code": None})
    try:
        pull_account(runtime, account_id, streams=["returns"])
    finally:
        control("DELETE", "/faults")
    assert distinct_cases(runtime, account_id) == (200, 200)


def test_token_expiring_during_a_sync_is_refreshed_and_stored(runtime: Runtime, control: Control) -> None:
    # Enough pages that some are still to be fetched after the first commit: the pull reads at most one batch
    # and a page ahead of the batch being written.
    shop = fresh_shop(control, returns=2_000)
    account_id = connect_shop(runtime, control, shop)
    with transaction(runtime.sessions) as session:
        before = session.get(TikTokAccount, account_id).access_token_encrypted  # type: ignore[union-attr]
    pages = {"n": 0}

    def expire_after_the_first_commit() -> None:
        pages["n"] += 1
        if pages["n"] == 1:
            control("POST", "/auth/expire", {"seller_id": shop["seller_id"]})

    pull_account(runtime, account_id, streams=["returns"], after_page=expire_after_the_first_commit)
    assert distinct_cases(runtime, account_id) == (2_000, 2_000)
    with transaction(runtime.sessions) as session:
        account = session.get(TikTokAccount, account_id)
        assert account is not None
        assert account.access_token_encrypted != before and account.status == "active"


def test_two_pulls_of_the_same_shop_at_once_store_each_case_once(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=250, cancellations=20)
    account_id = connect_shop(runtime, control, shop)
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            pull_account(runtime, account_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert distinct_cases(runtime, account_id) == (270, 270)
    assert count(runtime, TimelineEvent, TimelineEvent.kind == "status_change") == 270


def test_shop_lease_admits_one_holder_at_a_time(runtime: Runtime, account_id: int) -> None:
    name = shop_lease_name(account_id)
    with lease(runtime, name), pytest.raises(ShopBusy), lease(runtime, name):
        pass
    with lease(runtime, name):  # released: free again
        pass


def test_refresh_request_reads_one_return_and_records_its_change(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=3)
    account_id = connect_shop(runtime, control, shop)
    opened = control.new_return(shop["id"], "REFUND")
    case_id = refresh_request(runtime, account_id, CaseKind.RETURN, opened["return_id"])
    assert case_id is not None
    control("POST", f"/requests/{opened['return_id']}/withdraw", {})
    assert refresh_request(runtime, account_id, CaseKind.RETURN, opened["return_id"]) == case_id
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
    assert case is not None and case.tiktok_status == "RETURN_OR_REFUND_REQUEST_CANCEL"
    assert count(runtime, TimelineEvent, TimelineEvent.case_id == case_id) == 2


def test_refresh_of_a_request_tiktok_does_not_know_stores_nothing(runtime: Runtime, account_id: int) -> None:
    assert refresh_request(runtime, account_id, CaseKind.CANCELLATION, "4036000000000000000") is None


def test_request_approved_by_tiktok_at_the_deadline_is_marked_decided_by_tiktok(
    runtime: Runtime, control: Control
) -> None:
    shop = fresh_shop(control, returns=2)
    account_id = connect_shop(runtime, control, shop)
    opened = control.new_return(shop["id"], "REFUND")
    refresh_request(runtime, account_id, CaseKind.RETURN, opened["return_id"])
    control("POST", "/clock/advance", {"seconds": 49 * 3600})
    refresh_request(runtime, account_id, CaseKind.RETURN, opened["return_id"])
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == opened["return_id"])).one()
    assert case.decided_by_tiktok and case.tiktok_status != "RETURN_OR_REFUND_REQUEST_PENDING"


def test_large_pull_refreshes_postgres_planner_statistics(
    runtime: Runtime, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans the held-cases lookup by the unique index; there is nothing to refresh")
    monkeypatch.setattr(ingest, "REFRESH_STATISTICS_AFTER", 20)
    account = connect_shop(runtime, control, fresh_shop(control, returns=60))
    pull_account(runtime, account, streams=("returns",))
    with runtime.engine.connect() as connection:
        analyzed = connection.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'cases'")
        ).scalar_one()
    assert analyzed is not None



def test_a_request_changing_during_the_pull_does_not_hide_its_neighbours(runtime: Runtime, control: Control) -> None:
    # TikTok's page token may be a position in the sorted result: a request that changes mid-pull moves to the end
    # and every later one moves up a place, so the request at the next page's edge would never be read.
    shop = fresh_shop(control, returns=0)
    opened = [control("POST", "/returns", {"shop_id": shop["id"]})["return_id"]]
    control("POST", "/clock/advance", {"seconds": 60})  # so its next change sorts it behind all the others
    opened += [control("POST", "/returns", {"shop_id": shop["id"]})["return_id"] for _ in range(159)]
    control("POST", "/clock/advance", {"seconds": 60})  # and after the last of them, whatever second that was
    account_id = connect_shop(runtime, control, shop)
    withdrawn: list[str] = []

    def buyer_withdraws_the_first_request(stream: str, seen: int, total: int | None) -> None:
        if seen >= 50 and not withdrawn:  # the first request is read: it now moves behind the rest
            control("POST", f"/requests/{opened[0]}/withdraw", {})
            withdrawn.append(opened[0])

    [result] = pull_account(runtime, account_id, streams=("returns",), progress=buyer_withdraws_the_first_request)
    assert withdrawn and result.reread_windows >= 1
    assert distinct_cases(runtime, account_id) == (160, 160)


def test_a_request_changing_after_the_pages_does_not_hide_one_the_pages_skipped(
    runtime: Runtime, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As above, the first request changes mid-pull and the request at a page edge is skipped. Then, after the last
    # page and before the count, a request already read changes too, to a time after every one the pull saw: were
    # the count bounded by that time, the request we hold at its old time would make up for the skipped one.
    import returnbridge.sync.ingest as ingest

    shop = fresh_shop(control, returns=0)
    opened = [control("POST", "/returns", {"shop_id": shop["id"]})["return_id"]]
    control("POST", "/clock/advance", {"seconds": 60})
    opened += [control("POST", "/returns", {"shop_id": shop["id"]})["return_id"] for _ in range(159)]
    control("POST", "/clock/advance", {"seconds": 60})
    account_id = connect_shop(runtime, control, shop)
    withdrawn: list[str] = []

    def buyer_withdraws_the_first_request(stream: str, seen: int, total: int | None) -> None:
        if seen >= 50 and not withdrawn:
            control("POST", f"/requests/{opened[0]}/withdraw", {})
            withdrawn.append(opened[0])

    count_check = ingest._read_what_paging_skipped

    def another_buyer_withdraws_before_the_count(*args: Any, **kwargs: Any) -> None:
        control("POST", "/clock/advance", {"seconds": 60})
        control("POST", f"/requests/{opened[1]}/withdraw", {})
        withdrawn.append(opened[1])
        count_check(*args, **kwargs)

    monkeypatch.setattr(ingest, "_read_what_paging_skipped", another_buyer_withdraws_before_the_count)
    [result] = pull_account(runtime, account_id, streams=("returns",), progress=buyer_withdraws_the_first_request)
    assert len(withdrawn) == 2 and result.reread_windows >= 1
    assert distinct_cases(runtime, account_id) == (160, 160)


def test_a_pull_that_missed_nothing_reads_nothing_again(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=120, cancellations=30)
    account_id = connect_shop(runtime, control, shop)
    results = pull_account(runtime, account_id)
    assert [r.reread_windows for r in results] == [0, 0]
