"""A small ledger for the reconciliation tests: one store recording refunds, four refunded cases in two
currencies, one per ledger status (matched, amount differs, held, never planned)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Store, StoreEffect
from returnbridge.sync.runtime import Runtime

from ..integration.case_grid_data import a_return, account, store

DONE = "RETURN_OR_REFUND_REQUEST_COMPLETE"


def seed_ledger(runtime: Runtime) -> dict[str, int]:
    """Effect ids by TikTok id: m (matched), d (amount differs), h (held), n (no effect)."""
    with transaction(runtime.sessions) as session:
        shop = account(session, "ledger-shop", "Ledger shop")
    store(runtime.sessions, shop, [
        a_return("m", status=DONE, amount="10.00"),
        a_return("d", status=DONE, amount="20.00"),
        a_return("h", status=DONE, amount="1500", currency="JPY"),
        a_return("n", status=DONE, amount="5.00", reason="=cmd|calc"),
    ])
    effects: dict[str, int] = {}
    with transaction(runtime.sessions) as session:
        shop_store = Store(platform="shopify", base_url="https://ledger.myshopify.com", credentials_encrypted="x",
                           settings={"mirroring": "record"}, name="Ledger store")
        session.add(shop_store)
        session.flush()
        cases = {c.tiktok_id: c for c in session.scalars(select(Case))}
        for tiktok_id, state, recorded in (("m", "done", "10.00"), ("d", "done", "19.00"), ("h", "held", None)):
            case = cases[tiktok_id]
            effect = StoreEffect(
                case_id=case.id, store_id=shop_store.id, kind="refund", idempotency_key=f"rb-{tiktok_id}",
                state=state, currency=case.currency, amount=case.refund_total,
                recorded_amount=Decimal(recorded) if recorded else None,
                held_reason="the store's currency is not the order's" if state == "held" else "",
            )
            session.add(effect)
            session.flush()
            effects[tiktok_id] = effect.id
    return effects
