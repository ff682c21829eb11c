"""The insight jobs on the queue (tasks run at once): units sold pulled from Search Orders on the schedule, and
rules applied after a pull has committed its pages. SQLite and PostgreSQL, the TikTok emulator over HTTP."""

from __future__ import annotations

import pytest
from huey import MemoryHuey
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.models import OrderLineSold, OrderSyncState, RuleRun
from returnbridge.sync import rules
from returnbridge.sync.jobs import Jobs
from returnbridge.sync.orders_sold import order_lines, pull_orders
from returnbridge.sync.runtime import Runtime

from .conftest import Control, connect_shop, fresh_shop


@pytest.fixture
def immediate_jobs(runtime: Runtime) -> Jobs:
    return Jobs(runtime, MemoryHuey("insight", immediate=True))


def _units(runtime: Runtime, account_id: int) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(OrderLineSold)
                                  .where(OrderLineSold.account_id == account_id)) or 0)


def test_the_sweep_pulls_units_sold_once_per_line(immediate_jobs: Jobs, runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=8)
    account_id = connect_shop(runtime, control, shop)
    figures = immediate_jobs.sweep()
    assert figures["orders"] >= 1
    units = _units(runtime, account_id)
    assert units >= 8  # every returned unit was sold first
    assert pull_orders(runtime, account_id) >= 0  # the overlap reads some orders again …
    assert _units(runtime, account_id) == units  # … without counting their units twice
    with transaction(runtime.sessions) as session:
        state = session.get(OrderSyncState, account_id)
        assert state is not None and state.cursor is not None and state.last_error == ""
        buyers = set(session.scalars(select(OrderLineSold.buyer_user_id).where(
            OrderLineSold.account_id == account_id)))
    assert "" not in buyers


def test_unpaid_orders_are_not_sales() -> None:
    order = {"id": "1", "status": "UNPAID", "line_items": [{"id": "a", "seller_sku": "TEE"}]}
    assert order_lines(1, order) == []
    paid = {**order, "status": "DELIVERED", "user_id": "B7", "create_time": 1_800_000_000}
    [line] = order_lines(1, paid)
    assert (line["line_item_id"], line["seller_sku"], line["buyer_user_id"]) == ("a", "TEE", "B7")


def test_rules_run_after_a_pull_commits(immediate_jobs: Jobs, runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=0)
    account_id = connect_shop(runtime, control, shop)
    rule = rules.create_rule(runtime, {"name": "review all", "action": {"kind": "review"}}, by="admin")
    rules.set_enabled(runtime, rule.id, True, by="admin")
    control.new_return(shop["id"], "REFUND")
    assert immediate_jobs._pull(account_id) == "pulled"
    with transaction(runtime.sessions) as session:
        runs = list(session.scalars(select(RuleRun)))
    assert [(r.rule_id, r.outcome) for r in runs] == [(rule.id, "review")]
