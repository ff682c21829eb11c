"""The case page's "In your store" section: what mirroring did for this case, held effects with their reason, and
a retry that puts a held effect back in the queue."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime

from ..integration.memory_store import MemoryStore
from ..web.signing_in import csrf_token_in, sign_in_as

NOW = 1_790_000_000


def _completed_return(return_id: str, order_id: str) -> dict[str, Any]:
    return {
        "return_id": return_id, "order_id": order_id, "return_type": "RETURN_AND_REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE", "create_time": NOW - 1000, "update_time": NOW,
        "refund_amount": {"currency": "USD", "refund_total": "27.53", "refund_subtotal": "22.00",
                          "refund_shipping_fee": "3.99", "refund_tax": "1.54"},
        "return_line_items": [{"return_line_item_id": f"{return_id}-0", "order_line_item_id": "OL0",
                               "seller_sku": "SKU-A", "refund_amount": {"currency": "USD", "refund_total": "27.53"}}],
    }


def _held_case(runtime: Runtime, account_id: int) -> tuple[int, StoreEffect]:
    store = store_service.add_shopify_store(runtime, domain="acme.myshopify.com", access_token="shpat_x",
                                            name="Acme Shopify", settings={"mirroring": "record"})
    with transaction(runtime.sessions) as session:
        [case_id] = store_page(session, account_id, CaseKind.RETURN, [_completed_return("R-HELD", "O-MISSING")],
                               source="poll").case_ids
    mirror_store(runtime, store.id, adapter=MemoryStore())  # no such order in the store: held
    with transaction(runtime.sessions) as session:
        effect = session.scalars(
            select(StoreEffect).where(StoreEffect.case_id == case_id, StoreEffect.kind == "return")
        ).one()
    return case_id, effect


def test_case_page_shows_a_held_store_effect_with_its_reason(
    client: TestClient, runtime: Runtime, account_id: int
) -> None:
    case_id, effect = _held_case(runtime, account_id)
    sign_in_as(client, runtime, "agent")
    page = client.get(f"/cases/{case_id}").text
    assert "In your store" in page and "Acme Shopify" in page
    assert "no store order found for TikTok order O-MISSING" in page
    assert f"/cases/{case_id}/effects/{effect.id}/retry" in page


def test_retry_from_the_case_page_puts_the_held_effect_back_in_the_queue(
    client: TestClient, runtime: Runtime, account_id: int
) -> None:
    case_id, effect = _held_case(runtime, account_id)
    sign_in_as(client, runtime, "agent")
    token = csrf_token_in(client.get(f"/cases/{case_id}").text)
    answer = client.post(f"/cases/{case_id}/effects/{effect.id}/retry", data={"csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    with transaction(runtime.sessions) as session:
        assert session.get(StoreEffect, effect.id).state == "pending"  # type: ignore[union-attr]


def test_viewer_sees_the_store_record_but_cannot_retry_it(
    client: TestClient, runtime: Runtime, account_id: int
) -> None:
    case_id, effect = _held_case(runtime, account_id)
    sign_in_as(client, runtime, "viewer")
    page = client.get(f"/cases/{case_id}").text
    assert "no store order found" in page and "/retry" not in page
    refused = client.post(f"/cases/{case_id}/effects/{effect.id}/retry", data={"csrf_token": csrf_token_in(page)},
                          follow_redirects=False)
    assert refused.status_code == 403


def test_retry_of_another_cases_effect_is_refused(client: TestClient, runtime: Runtime, account_id: int) -> None:
    case_id, effect = _held_case(runtime, account_id)
    sign_in_as(client, runtime, "agent")
    token = csrf_token_in(client.get(f"/cases/{case_id}").text)
    client.post(f"/cases/{case_id + 1000}/effects/{effect.id}/retry", data={"csrf_token": token})
    with transaction(runtime.sessions) as session:
        assert session.get(StoreEffect, effect.id).state == "held"  # type: ignore[union-attr]
