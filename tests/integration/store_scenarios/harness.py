"""The platform-neutral half of the scenario suite: TikTok cases as the ingest path stores them, the real mirror job,
the outbox read back, and the two process faults no platform can inject (a kill between the store's answer and our
commit, and a second worker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect, TikTokAccount, utcnow
from returnbridge.domain.statuses import CaseKind
from returnbridge.stores.adapter import EffectResult
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import Mirror, MirrorReport, mirror_store
from returnbridge.sync.runtime import Runtime

from .drivers import OrderLine, PlatformDriver, ScenarioStore

NOW = 1_790_000_000
AWAITING_SHIP = "AWAITING_BUYER_SHIP"
SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"  # package approved
COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"  # refund paid
PRICE = Decimal("22.00")
# TikTok's breakdown of a one-unit refund: 22.00 + 3.99 shipping + 1.54 tax, of which 4.00 platform-funded discount
# is TikTok's and is never refunded to the buyer's gateway.
TOTAL, SUBTOTAL, SHIPPING, TAX = Decimal("27.53"), Decimal("22.00"), Decimal("3.99"), Decimal("1.54")


def tiktok_account(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        account = TikTokAccount(shop_id="S1", shop_cipher="C1", access_token_encrypted="x",
                                refresh_token_encrypted="y", access_token_expires_at=utcnow(),
                                refresh_token_expires_at=utcnow())
        session.add(account)
        session.flush()
        return account.id


def tiktok_case(case_id: str, order_id: str, status: str, *, skus: tuple[str, ...], type_: str = "RETURN_AND_REFUND",
                total: Decimal = TOTAL, currency: str = "USD", kind: CaseKind = CaseKind.RETURN, update: int = NOW,
                **extra: Any) -> dict[str, Any]:
    """A TikTok return or cancellation as the search API gives it: one line per unit, the refund breakdown."""
    ret = kind is CaseKind.RETURN
    line_id = "return_line_item_id" if ret else "cancel_line_item_id"
    return {
        ("return_id" if ret else "cancel_id"): case_id, "order_id": order_id,
        ("return_type" if ret else "cancel_type"): type_, ("return_status" if ret else "cancel_status"): status,
        "create_time": NOW - 1000, "update_time": update,
        "refund_amount": {"currency": currency, "refund_total": str(total), "refund_subtotal": str(SUBTOTAL),
                          "refund_shipping_fee": str(SHIPPING), "refund_tax": str(TAX)},
        "discount_amount": [{"currency": currency, "product_platform_discount": "4.00"}],
        ("return_line_items" if ret else "cancel_line_items"): [
            {line_id: f"{case_id}-{i}", "seller_sku": sku, "refund_amount": {"currency": currency}}
            for i, sku in enumerate(skus)],
        **extra,
    }


class Killed(BaseException):
    """The process dies: nothing after the store's answer runs (BaseException so no handler of ours catches it)."""


@dataclass
class Scenario:
    driver: PlatformDriver
    runtime: Runtime
    store: ScenarioStore
    account_id: int

    @property
    def sku(self) -> str:
        return self.store.skus[0]

    def configure(self, **settings: Any) -> None:
        store_service.update_store_settings(self.runtime, self.store.store_id, {"mirroring": "record", **settings})

    def order(self, tiktok_order_id: str, units: Mapping[str, int] | None = None, **options: Any) -> str:
        lines = [OrderLine(sku, n, PRICE) for sku, n in (units or {self.sku: 1}).items()]
        return self.driver.seed_order(self.store, tiktok_order_id, lines, **options)

    def tiktok(self, *items: dict[str, Any], kind: CaseKind = CaseKind.RETURN) -> list[int]:
        """TikTok's answer stored as a pull stores it: the case change and its planned effects in one commit."""
        with transaction(self.runtime.sessions) as session:
            return store_page(session, self.account_id, kind, list(items), source="poll").case_ids

    def mirror(self) -> MirrorReport:
        return mirror_store(self.runtime, self.store.store_id)

    def mirror_until_settled(self, rounds: int = 4) -> None:
        """Run the job again with backed-off effects due now, as the worker would over the next minutes."""
        for _ in range(rounds):
            self.due_now()
            self.mirror()
            if not any(state in ("pending", "in_progress") for state in self.states().values()):
                return

    def mirror_killed_after(self, kind: str) -> None:
        """Run the job; the process dies right after the store answered ``kind`` and before our commit."""

        def die(_effect_id: int, done: str, _result: EffectResult) -> None:
            if done == kind:
                raise Killed

        try:
            Mirror(self.runtime, self.store.store_id, after_store_call=die).run()
        except Killed:
            return
        raise AssertionError(f"no {kind} effect reached the store")

    def due_now(self) -> None:
        with transaction(self.runtime.sessions) as session:
            session.execute(update(StoreEffect).values(next_attempt_at=utcnow()))

    def effects(self) -> list[StoreEffect]:
        with transaction(self.runtime.sessions) as session:
            rows = list(session.scalars(select(StoreEffect).where(StoreEffect.store_id == self.store.store_id)
                                        .order_by(StoreEffect.id)))
            session.expunge_all()
            return rows

    def states(self) -> dict[str, str]:
        return {e.kind: e.state for e in self.effects()}

    def effect(self, kind: str) -> StoreEffect:
        [row] = [e for e in self.effects() if e.kind == kind]
        return row
