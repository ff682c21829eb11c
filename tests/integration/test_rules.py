"""Rules on SQLite and PostgreSQL: validation, matching, priority, dry-run totals, and a rule acting exactly once
on a case that changes twice, with the decision reaching the TikTok emulator over real HTTP once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Decision, OrderLineSold, RuleRun, TimelineEvent
from returnbridge.domain.rules import RuleInvalid, parse_rule
from returnbridge.sync import rules
from returnbridge.sync.decisions import DecisionService
from returnbridge.sync.ingest import pull_account
from returnbridge.sync.runtime import Runtime

from .case_grid_data import T0, a_cancellation, a_return, account, store
from .conftest import Control, connect_shop, fresh_shop

APPROVE_RETURN = "POST /return_refund/202309/returns/{return_id}/approve"


def approve(**conditions: Any) -> dict[str, Any]:
    return {"name": "approve", "conditions": conditions, "action": {"kind": "approve"}}


@pytest.fixture
def shop(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return account(session, "rules-shop", "Rules shop")


# --- validation ------------------------------------------------------------------------------------------------


def test_a_rule_lists_every_problem_with_where_it_is() -> None:
    with pytest.raises(RuleInvalid) as refused:
        parse_rule({"name": " ", "priority": -1, "conditions": {"amount": {"currency": "US", "max": 1.5},
                                                               "colour": "red"},
                    "action": {"kind": "reject"}})
    text = "; ".join(refused.value.errors)
    assert "name: the name must not be blank" in text
    assert "priority:" in text
    assert "conditions.amount.currency: currency must be a three-letter code like USD" in text
    assert "conditions.amount.max: the amount must be a decimal number written as text" in text
    assert "conditions.colour:" in text
    assert "action: a reject needs a reason" in text


@pytest.mark.parametrize("action, message", [
    ({"kind": "partial_refund"}, "a partial refund needs percent"),
    ({"kind": "partial_refund", "percent": "100"}, "a partial refund needs percent"),
    ({"kind": "approve", "percent": "10"}, "approve takes no percent"),
    ({"kind": "approve", "comment": "ok"}, "approve takes no reason or comment"),
    ({"kind": "delete"}, "action.kind:"),
])
def test_an_action_must_fit_its_kind(action: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleInvalid, match=message):
        parse_rule({"name": "r", "action": action})


def test_a_new_rule_starts_disabled(runtime: Runtime) -> None:
    view = rules.create_rule(runtime, approve(types=["REFUND"]), by="admin@example.com")
    assert view.enabled is False
    assert rules.get_rule(runtime, view.id).created_by == "admin@example.com"


# --- dry run ---------------------------------------------------------------------------------------------------


def _past_cases(runtime: Runtime, shop: int) -> None:
    store(runtime.sessions, shop, [
        a_return("1", return_type="REFUND", amount="10.00", currency="USD", skus=("TEE",)),
        a_return("2", return_type="REFUND", amount="25.55", currency="USD", skus=("MUG",)),
        a_return("3", return_type="REFUND", amount="1999", currency="JPY", skus=("TEE",)),
        a_return("4", return_type="REFUND", amount="1001", currency="JPY", skus=("TEE",)),
        a_return("5", return_type="RETURN_AND_REFUND", amount="7.00", currency="USD", skus=("TEE",),
                 status="RETURN_OR_REFUND_REQUEST_COMPLETE"),
        a_return("6", return_type="REFUND", amount="99.00", currency="EUR", reason="Damaged", skus=("TEE",)),
    ], [a_cancellation("7", amount="5.00")])


def test_dry_run_totals_per_currency_never_summed_together(runtime: Runtime, shop: int) -> None:
    _past_cases(runtime, shop)
    result = rules.dry_run(runtime, {"conditions": {"types": ["REFUND"], "reasons": ["Wrong size"]},
                                     "action": {"kind": "partial_refund", "percent": "33.33"}})
    totals = {t.currency: t for t in result.totals}
    assert set(totals) == {"JPY", "USD"}
    assert (totals["USD"].cases, totals["USD"].refund_total) == (2, Decimal("35.55"))
    assert (totals["JPY"].cases, totals["JPY"].refund_total) == (2, Decimal("3000"))
    # Rounded down per case to the currency's unit: 3.33 + 8.51 USD; 666 + 333 JPY (no yen fractions).
    assert totals["USD"].offered_total == Decimal("11.84")
    assert totals["JPY"].offered_total == Decimal("999")
    assert result.matched == 4 and result.actionable == 4
    offered = {c.case.tiktok_id: c.offered for c in result.cases}
    assert offered == {"1": Decimal("3.33"), "2": Decimal("8.51"), "3": Decimal("666"), "4": Decimal("333")}


def test_dry_run_amount_condition_only_matches_its_currency(runtime: Runtime, shop: int) -> None:
    _past_cases(runtime, shop)
    result = rules.dry_run(runtime, approve(amount={"currency": "USD", "min": "10", "max": "25.55"}))
    assert sorted(c.case.tiktok_id for c in result.cases) == ["1", "2"]
    assert [(t.currency, t.cases) for t in result.totals] == [("USD", 2)]
    below = rules.dry_run(runtime, approve(amount={"currency": "JPY", "max": "1500"}))
    assert [c.case.tiktok_id for c in below.cases] == ["4"]


def test_dry_run_by_sku_status_account_and_cancellations(runtime: Runtime, shop: int) -> None:
    _past_cases(runtime, shop)
    assert sorted(c.case.tiktok_id for c in rules.dry_run(runtime, approve(skus=["MUG"])).cases) == ["2"]
    completed = rules.dry_run(runtime, approve(statuses=["Refunded"]))
    assert [c.case.tiktok_id for c in completed.cases] == ["5"]
    assert completed.actionable == 0
    assert rules.dry_run(runtime, approve(types=["BUYER_CANCEL"])).matched == 1
    assert rules.dry_run(runtime, approve(account_ids=[shop + 1000])).matched == 0
    assert rules.dry_run(runtime, approve(account_ids=[shop])).matched == 7


def test_earlier_returns_of_the_same_buyer(runtime: Runtime, shop: int) -> None:
    store(runtime.sessions, shop, [
        a_return("11", created=T0, order_id="O1"),
        a_return("12", created=T0 + 10, order_id="O2"),
        a_return("13", created=T0 + 20, order_id="O3"),
        a_return("14", created=T0 + 30, order_id="O4"),  # its order is not pulled: buyer unknown
    ])
    with transaction(runtime.sessions) as session:
        for order, buyer in (("O1", "B1"), ("O2", "B1"), ("O3", "B1"), ("O9", "B1")):
            session.add(OrderLineSold(account_id=shop, order_id=order, line_item_id=f"L{order}", buyer_user_id=buyer))
    repeat = rules.dry_run(runtime, approve(earlier_returns_min=2))
    assert [c.case.tiktok_id for c in repeat.cases] == ["13"]
    first = rules.dry_run(runtime, approve(earlier_returns_max=0))
    assert [c.case.tiktok_id for c in first.cases] == ["11"]


# --- applying --------------------------------------------------------------------------------------------------


class NoTikTok(DecisionService):
    """Records the decisions asked for instead of sending them (matching and priority are the point here)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, refresh=lambda _case_id: None)
        self.asked: list[tuple[int, str, str]] = []

    def decide(self, case_id: int, action: Any, params: Any = None, **options: Any) -> Any:  # type: ignore[override]
        self.asked.append((case_id, str(action), options["actor_name"]))
        from returnbridge.sync.decisions import DecisionOutcome

        return DecisionOutcome(case_id, str(action), "done", "recorded")


def _enable(runtime: Runtime, data: dict[str, Any]) -> int:
    view = rules.create_rule(runtime, data, by="admin")
    rules.set_enabled(runtime, view.id, True, by="admin")
    return view.id


def test_first_matching_rule_by_priority_wins(runtime: Runtime, shop: int) -> None:
    low = _enable(runtime, {"name": "approve all", "priority": 50, "action": {"kind": "approve"}})
    _enable(runtime, {"name": "review damaged", "priority": 10, "conditions": {"reasons": ["Damaged"]},
                      "action": {"kind": "review"}})
    rules.create_rule(runtime, {"name": "disabled", "priority": 1, "action": {"kind": "approve"}}, by="admin")
    store(runtime.sessions, shop, [a_return("21", reason="Damaged"), a_return("22", reason="Wrong size"),
                                   a_return("23", status="RETURN_OR_REFUND_REQUEST_COMPLETE")])
    service = NoTikTok(runtime)
    outcomes = rules.apply_rules(runtime, decisions=service)
    by_case = {o.case_id: o for o in outcomes}
    ids = _ids(runtime)
    assert by_case[ids["21"]].outcome == "review"
    assert service.asked == [(ids["22"], "approve_request", "approve all")]
    assert ids["23"] not in by_case  # not awaiting the merchant: nothing to do
    assert [run for run in rules.review_queue(runtime) if run["case_id"] == ids["21"]]
    with transaction(runtime.sessions) as session:
        note = session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == ids["21"],
                                                           TimelineEvent.actor == "rule")).one()
        assert note.actor_name == "review damaged"
    # A second pass does nothing more.
    assert rules.apply_rules(runtime, decisions=service) == []
    assert len(service.asked) == 1
    assert low


def test_a_rule_does_not_act_on_cases_unchanged_since_it_was_switched_on(runtime: Runtime, shop: int) -> None:
    store(runtime.sessions, shop, [a_return("31")])
    rule_id = _enable(runtime, approve())
    with transaction(runtime.sessions) as session:  # the case was last changed before the rule was switched on
        case = session.scalars(select(Case).where(Case.tiktok_id == "31")).one()
        case.updated_at = datetime(2020, 1, 1, tzinfo=UTC)
    service = NoTikTok(runtime)
    assert rules.apply_rules(runtime, decisions=service) == []
    assert rules.dry_run_saved(runtime, rule_id).matched == 1  # the dry run still shows it


def _ids(runtime: Runtime) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        return {t: i for t, i in session.execute(select(Case.tiktok_id, Case.id))}


def _approve_codes(control: Control) -> Counter[str]:
    return Counter(control("GET", "/stats")["routes"].get(APPROVE_RETURN, {}).get("codes", {}))


def test_a_rule_acts_exactly_once_on_a_case_that_changes_twice(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=0)
    account_id = connect_shop(runtime, control, shop)
    rule_id = _enable(runtime, {"name": "approve returns", "conditions": {"types": ["RETURN_AND_REFUND"]},
                                "action": {"kind": "approve"}})
    before = _approve_codes(control)["0"]
    request = control.new_return(shop["id"], "RETURN_AND_REFUND")
    rid = request["return_id"]

    pull_account(runtime, account_id)  # change 1: the new request arrives
    first = rules.apply_rules(runtime)
    assert [(o.outcome, o.rule_id) for o in first] == [("done", rule_id)]
    assert rules.apply_rules(runtime) == []  # the job running again (a duplicate wake-up) changes nothing
    assert control.request(rid)["return_status"] == "AWAITING_BUYER_SHIP"

    control("POST", f"/returns/{rid}/ship", {"tracking_number": "1Z999AA10123456784"})
    pull_account(runtime, account_id)  # change 2: the buyer shipped; the case awaits the merchant again
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.tiktok_id == rid)).one()
        assert case.needs_action is True and case.tiktok_status == "BUYER_SHIPPED_ITEM"
        case_id = case.id
    assert rules.apply_rules(runtime) == []  # the same rule matches again, but has acted on this case already

    assert _approve_codes(control)["0"] - before == 1  # TikTok received the decision once
    with transaction(runtime.sessions) as session:
        decisions = list(session.scalars(select(Decision).where(Decision.case_id == case_id)))
        runs = list(session.scalars(select(RuleRun).where(RuleRun.case_id == case_id)))
        events = list(session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id,
                                                                   TimelineEvent.kind == "decision")))
    assert [(d.action, d.actor, d.actor_name, d.state) for d in decisions] == [
        ("approve_request", "rule", "approve returns", "done")]
    assert decisions[0].idempotency_key == f"rule-{rule_id}-case-{case_id}"
    assert [(r.outcome, r.decision_id) for r in runs] == [("done", decisions[0].id)]
    assert events and all(e.actor == "rule" for e in events)


def test_a_rule_whose_action_does_not_fit_is_refused_not_forced(runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=0)
    account_id = connect_shop(runtime, control, shop)
    _enable(runtime, {"name": "offer 10 %", "action": {"kind": "partial_refund", "percent": "10"}})
    control.new_return(shop["id"], "REPLACEMENT")  # TikTok takes no partial refund offer on a replacement
    pull_account(runtime, account_id)
    outcomes = rules.apply_rules(runtime)
    assert [o.outcome for o in outcomes] == ["refused"]
    assert "replacement" in outcomes[0].message.lower() or "REPLACEMENT" in outcomes[0].message
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Decision)).all() == []
