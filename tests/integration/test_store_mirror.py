"""The outbox and the mirror job on SQLite and PostgreSQL: effects planned in the case's transaction, performed in
order, exactly once across crashes and concurrent workers, held with a reason, retried, reconciled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from huey import MemoryHuey
from sqlalchemy import select

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect, TikTokAccount, TimelineEvent, utcnow
from returnbridge.db.repositories.stores import StoreRepository
from returnbridge.domain.statuses import CaseKind
from returnbridge.stores.adapter import EffectResult, PermanentStoreError, TransientStoreError
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.jobs import Jobs
from returnbridge.sync.locks import lease
from returnbridge.sync.mirror import Mirror, mirror_store, store_lease_name
from returnbridge.sync.reconcile import DIFFERS, DUPLICATE, MATCHED, MISSING, reconcile
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import WebhookIntake

from .memory_store import MemoryStore

NOW = 1_790_000_000


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, secret_key="mirror-test-key",  # type: ignore[call-arg]
                        var_dir=tmp_path / "var")
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture
def account_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        account = TikTokAccount(shop_id="S1", shop_cipher="C1", access_token_encrypted="x",
                                refresh_token_encrypted="y", access_token_expires_at=utcnow(),
                                refresh_token_expires_at=utcnow())
        session.add(account)
        session.flush()
        return account.id


def add_store(runtime: Runtime, **settings: Any) -> int:
    view = store_service.add_shopify_store(runtime, domain="acme.myshopify.com", access_token="shpat_x",
                                           settings={"mirroring": "record", **settings})
    return view.id


def tiktok_return(return_id: str, order_id: str, status: str, *, type_: str = "RETURN_AND_REFUND",
                  skus: tuple[str, ...] = ("SKU-A",), total: str = "27.53", currency: str = "USD",
                  update: int = NOW, platform_discount: str = "4.00") -> dict[str, Any]:
    return {
        "return_id": return_id, "order_id": order_id, "return_type": type_, "return_status": status,
        "create_time": NOW - 1000, "update_time": update,
        "refund_amount": {"currency": currency, "refund_total": total, "refund_subtotal": "22.00",
                          "refund_shipping_fee": "3.99", "refund_tax": "1.54"},
        "discount_amount": [{"currency": currency, "product_platform_discount": platform_discount}],
        "return_line_items": [
            {"return_line_item_id": f"{return_id}-{i}", "order_line_item_id": f"OL{i}", "seller_sku": sku,
             "refund_amount": {"currency": currency, "refund_total": "1.00"}}
            for i, sku in enumerate(skus)
        ],
    }


def ingest(runtime: Runtime, account_id: int, *items: dict[str, Any]) -> list[int]:
    with transaction(runtime.sessions) as session:
        return store_page(session, account_id, CaseKind.RETURN, list(items), source="poll").case_ids


def effects(runtime: Runtime, **where: Any) -> list[StoreEffect]:
    with transaction(runtime.sessions) as session:
        stmt = select(StoreEffect).order_by(StoreEffect.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(StoreEffect, name) == value)
        return list(session.scalars(stmt))


def store_events(runtime: Runtime, case_id: int) -> list[TimelineEvent]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(TimelineEvent).where(
            TimelineEvent.case_id == case_id, TimelineEvent.kind == "store_effect").order_by(TimelineEvent.id)))


# --- planning in the case's transaction ---------------------------------------------------------------------------


def test_effects_are_planned_in_the_same_transaction_as_the_case_change(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime, auto_restock=True)
    with pytest.raises(RuntimeError), transaction(runtime.sessions) as session:
        store_page(session, account_id, CaseKind.RETURN,
                   [tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE")], source="poll")
        assert len(session.scalars(select(StoreEffect)).all()) == 3  # visible inside the transaction
        raise RuntimeError("the page's transaction rolls back")
    assert effects(runtime) == []  # ... and gone with it
    [case_id] = ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE"))
    assert [(e.kind, e.idempotency_key, e.state) for e in effects(runtime)] == [
        ("return", f"rb-{store_id}-{case_id}-return-v1", "pending"),
        ("refund", f"rb-{store_id}-{case_id}-refund-v1", "pending"),
        ("restock", f"rb-{store_id}-{case_id}-restock-v1", "pending"),
    ]


def test_a_case_seen_again_plans_each_effect_once(runtime: Runtime, account_id: int) -> None:
    add_store(runtime)
    ingest(runtime, account_id, tiktok_return("R1", "O1", "AWAITING_BUYER_SHIP"))
    ingest(runtime, account_id, tiktok_return("R1", "O1", "BUYER_SHIPPED_ITEM", update=NOW + 10))
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", update=NOW + 20))
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", update=NOW + 20))
    assert [e.kind for e in effects(runtime)] == ["return", "refund"]


def test_nothing_is_planned_while_mirroring_is_off_and_backfill_catches_up(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime, mirroring="off")
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE"),
           tiktok_return("R2", "O2", "AWAITING_BUYER_SHIP"))
    assert effects(runtime) == []
    _, planned = store_service.update_store_settings(runtime, store_id, {"mirroring": "record"})
    assert planned == 3
    assert store_service.backfill_store(runtime, store_id) == 0


def test_credentials_are_encrypted_at_rest(runtime: Runtime) -> None:
    store_id = add_store(runtime)
    with transaction(runtime.sessions) as session:
        store = StoreRepository(session, runtime.box).get(store_id)
        assert store is not None and "shpat_x" not in store.credentials_encrypted
        assert StoreRepository(session, runtime.box).credentials(store) == "shpat_x"


# --- the mirror ----------------------------------------------------------------------------------------------------


def test_effects_run_in_order_and_each_leaves_a_timeline_event_with_the_link(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime, auto_restock=True)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 2, "SKU-B": 1})
    [case_id] = ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE",
                                                          skus=("SKU-A", "SKU-B", "SKU-A")))
    report = mirror_store(runtime, store_id, adapter=memory)
    assert report.done == 3
    assert [r["kind"] for r in memory.records] == ["return", "refund", "restock"]
    assert memory.of_kind("return")[0]["units"] == [("SKU-A", 2), ("SKU-B", 1)]
    assert memory.of_kind("refund")[0]["amount"] == Decimal("27.53")
    assert all(e.state == "done" and e.store_record_url == "https://store/orders/1" for e in effects(runtime))
    events = store_events(runtime, case_id)
    assert [(e.actor, e.to_status) for e in events] == [("system", "done")] * 3
    assert events[1].detail["url"] == "https://store/orders/1" and "27.53 USD" in events[1].detail["text"]


def test_the_effect_row_is_committed_in_progress_before_the_store_is_called(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1})
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    seen: list[tuple[str, int]] = []
    original = memory.record_refund

    def spy(request: Any) -> EffectResult:
        # Read from another connection: only committed data is visible there.
        [effect] = effects(runtime)
        seen.append((effect.state, effect.attempts))
        return original(request)

    memory.record_refund = spy  # type: ignore[method-assign]
    mirror_store(runtime, store_id, adapter=memory)
    assert seen == [("in_progress", 1)]


class Killed(BaseException):
    """The process dying: not an Exception, so nothing in the mirror catches it."""


@pytest.mark.parametrize("kind", ["return", "refund", "restock"])
def test_killed_between_the_store_call_and_our_commit_the_retry_adopts_and_creates_nothing(
    runtime: Runtime, account_id: int, kind: str
) -> None:
    store_id = add_store(runtime, auto_restock=True)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1})
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE"))

    def die(_effect_id: int, done_kind: str, _result: EffectResult) -> None:
        if done_kind == kind:
            raise Killed

    with pytest.raises(Killed):
        Mirror(runtime, store_id, memory, after_store_call=die).run()
    [crashed] = effects(runtime, kind=kind)
    assert (crashed.state, crashed.attempts, crashed.store_record_id) == ("in_progress", 1, "")
    report = mirror_store(runtime, store_id, adapter=memory)
    assert [r["kind"] for r in memory.records] == ["return", "refund", "restock"]  # each exactly once
    assert report.adopted == 1
    assert all(e.state == "done" for e in effects(runtime))
    assert effects(runtime, kind=kind)[0].store_record_id == memory.of_kind(kind)[0]["id"]


def test_an_answer_lost_after_the_store_committed_is_adopted_on_retry(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1})
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    memory.lose_answer.add("refund")
    assert mirror_store(runtime, store_id, adapter=memory).retrying == 1
    [effect] = effects(runtime)
    assert effect.state == "pending" and effect.next_attempt_at > utcnow()
    with transaction(runtime.sessions) as session:
        session.get(StoreEffect, effect.id).next_attempt_at = utcnow()  # type: ignore[union-attr]
    assert mirror_store(runtime, store_id, adapter=memory).adopted == 1
    assert len(memory.of_kind("refund")) == 1
    assert memory.calls.count("find_refund") == 1


def test_two_workers_on_the_same_store_perform_each_effect_once(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime, auto_restock=True)
    memory = MemoryStore()
    for i in range(10):
        memory.add_order(f"O{i}", {"SKU-A": 1})
    ingest(runtime, account_id, *[tiktok_return(f"R{i}", f"O{i}", "RETURN_OR_REFUND_REQUEST_COMPLETE")
                                  for i in range(10)])
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def worker() -> None:
        barrier.wait()
        reports.append(mirror_store(runtime, store_id, adapter=memory))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.performed for r in reports) == 30
    assert len(memory.records) == 30
    assert len({(r["kind"], r["key"]) for r in memory.records}) == 30


def test_a_worker_finds_the_store_lease_taken_and_skips(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1})
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    with lease(runtime, store_lease_name(store_id)):
        assert mirror_store(runtime, store_id, adapter=memory).busy is True
    assert memory.records == []


def test_order_not_found_is_held_with_the_reason_and_the_later_effects_wait(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime, auto_restock=True)
    memory = MemoryStore()
    [case_id] = ingest(runtime, account_id, tiktok_return("R1", "O404", "RETURN_OR_REFUND_REQUEST_COMPLETE"))
    report = mirror_store(runtime, store_id, adapter=memory)
    assert report.held == 1
    held = {e.kind: e for e in effects(runtime)}
    assert held["return"].state == "held" and "no store order found for TikTok order O404" in held["return"].held_reason
    assert held["refund"].state == held["restock"].state == "held"
    assert held["refund"].held_reason.startswith("Waiting for the return")
    assert memory.records == []
    assert any("O404" in e.detail["text"] for e in store_events(runtime, case_id))
    # The merchant maps the order by hand and retries: everything goes through, once.
    memory.add_order("#1001", {"SKU-A": 1})
    store_service.map_order(runtime, store_id, "O404", "order-1")
    store_service.retry_effect(runtime, held["return"].id, actor_name="ann")
    assert mirror_store(runtime, store_id, adapter=memory).done == 3
    assert [r["kind"] for r in memory.records] == ["return", "refund", "restock"]


def test_store_currency_different_from_tiktoks_is_held_never_converted(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1}, currency="EUR")
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    mirror_store(runtime, store_id, adapter=memory)
    [effect] = effects(runtime)
    assert effect.state == "held" and "EUR" in effect.held_reason and "USD" in effect.held_reason
    assert memory.records == []


def test_a_store_validation_error_is_held_and_a_transient_one_backs_off(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1})
    memory.add_order("O2", {"SKU-A": 1})
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    memory.fail["refund"] = PermanentStoreError("Shopify refundCreate refused: Order does not exist")
    mirror_store(runtime, store_id, adapter=memory)
    [effect] = effects(runtime)
    assert effect.state == "held" and "Order does not exist" in effect.held_reason
    ingest(runtime, account_id, tiktok_return("R2", "O2", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    memory.fail["refund"] = TransientStoreError("HTTP 503")
    mirror_store(runtime, store_id, adapter=memory)
    second = effects(runtime)[1]
    assert second.state == "pending" and second.attempts == 1 and second.last_error == "HTTP 503"
    assert (second.next_attempt_at - utcnow()).total_seconds() > 20


def test_retry_is_refused_for_an_effect_that_is_not_held(runtime: Runtime, account_id: int) -> None:
    add_store(runtime)
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE", type_="REFUND"))
    with pytest.raises(store_service.EffectNotRetryable):
        store_service.retry_effect(runtime, effects(runtime)[0].id)


# --- reconciliation ----------------------------------------------------------------------------------------------


def test_ledger_flags_matched_missing_differing_and_duplicate_refunds(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    for i in range(4):
        memory.add_order(f"O{i}", {"SKU-A": 1})
    ingest(runtime, account_id, *[tiktok_return(f"R{i}", f"O{i}", "RETURN_OR_REFUND_REQUEST_COMPLETE",
                                                type_="REFUND") for i in range(3)])
    memory.fail["refund"] = PermanentStoreError("refused")  # R0 stays held: missing in store
    mirror_store(runtime, store_id, adapter=memory)
    ledger = reconcile(runtime, store_id=store_id)
    assert sorted(r.status for r in ledger.rows) == [MATCHED, MATCHED, MISSING]
    # Someone recorded a second refund with our key by hand, and changed the amount on another one.
    refunds = memory.of_kind("refund")
    memory.records.append({**refunds[0], "id": "refund-dup"})
    refunds[1]["amount"] = Decimal("20.00")
    verified = reconcile(runtime, store_id=store_id, verify=True, adapters={store_id: memory})
    assert sorted(r.status for r in verified.rows) == sorted([DUPLICATE, DIFFERS, MISSING])
    [total] = verified.totals()
    assert (total.currency, total.tiktok_refunded, total.cases) == ("USD", Decimal("82.59"), 3)


class _BeforeReturnCancel:
    """A platform adapter written before ``cancel_return`` joined the protocol (every other method is real)."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner
        self.platform = inner.platform

    def __getattr__(self, name: str) -> Any:
        if name == "cancel_return":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_an_adapter_without_cancel_return_holds_the_effect_with_the_reason(runtime: Runtime,
                                                                            account_id: int) -> None:
    store_id = add_store(runtime)
    memory = MemoryStore()
    memory.add_order("O1", {"SKU-A": 1})
    ingest(runtime, account_id, tiktok_return("R1", "O1", "AWAITING_BUYER_SHIP"))
    mirror_store(runtime, store_id, adapter=memory)  # type: ignore[arg-type]
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_CANCEL", update=NOW + 60))
    report = mirror_store(runtime, store_id, adapter=_BeforeReturnCancel(memory))  # type: ignore[arg-type]
    [cancel] = effects(runtime, kind="return_cancel")
    assert report.held == 1 and cancel.state == "held"
    assert "cannot end a store return yet" in cancel.held_reason and "unexpected error" not in cancel.held_reason
    assert memory.of_kind("return_cancel") == []


def test_a_processed_webhook_wakes_the_mirror_of_a_store_with_effects_due(runtime: Runtime, account_id: int) -> None:
    store_id = add_store(runtime)
    ingest(runtime, account_id, tiktok_return("R1", "O1", "RETURN_OR_REFUND_REQUEST_COMPLETE"))
    jobs = Jobs(runtime, MemoryHuey("webhook-wakes-mirror"))  # not immediate: enqueued tasks wait in the queue
    body = orjson.dumps({"type": 7, "tts_notification_id": "7300000000000000001", "shop_id": "S1",
                         "timestamp": int(time.time()), "data": {"message": "authorization expires soon",
                                                                  "expire_time": NOW}})
    inbox_id = WebhookIntake(runtime.engine).receive(body).inbox_id
    jobs._process_webhook(inbox_id)
    queued = [jobs.huey.dequeue() for _ in range(jobs.huey.pending_count())]
    assert [(task.name, task.args) for task in queued if task.name == "mirror_store"] == [("mirror_store", (store_id,))]
