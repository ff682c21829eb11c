"""The promises a chaos run checks at the end, each read from the systems themselves (TikTok's and the store's
state through their emulators' control APIs, ours from the database):

1. every TikTok case is stored once, with its latest state;
2. every store effect is in the store exactly once, and a refund's amount is TikTok's refund total;
3. no unit is restocked twice;
4. no decision reached TikTok twice.

Each check gives ``{"held": bool, ...figures, "examples": [...]}``; examples name what broke, at most a few.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Decision, StoreEffect
from returnbridge.db.repositories.decisions import UNFINISHED_STATES
from returnbridge.stores.shopify.adapter import reference_uri
from returnbridge.sync.mirror_plan import effect_key

from .environment import Environment
from .scenario import ChaosCase

KEY = re.compile(r"ReturnBridge (rb-\S+)")
OUR_REFERENCES = reference_uri("")
EXAMPLES = 5
ACCEPTED = "AWAITING_BUYER_SHIP"
SHIPPED = "BUYER_SHIPPED_ITEM"
PACKAGE_APPROVED = "RETURN_OR_REFUND_REQUEST_SUCCESS"
# A return TikTok rejected or the buyer withdrew after it was accepted: its store return must be ended too.
ENDED = ("RETURN_OR_REFUND_REQUEST_CANCEL", "REFUND_OR_RETURN_REQUEST_REJECT", "REJECT_RECEIVE_PACKAGE")
STORE_RETURN_ENDED = ("CANCELED", "CLOSED", "DECLINED")
REFUND_PAID = ("RETURN_OR_REFUND_REQUEST_COMPLETE", "CANCELLATION_REQUEST_COMPLETE")


def _result(problems: Iterable[str], **figures: Any) -> dict[str, Any]:
    found = list(problems)
    return {"held": not found, **figures, "problems": len(found), "examples": found[:EXAMPLES]}


def tiktok_requests(env: Environment) -> dict[str, dict[str, Any]]:
    """Every return and cancellation of the run's shops, as TikTok shows it now, by id."""
    found: dict[str, dict[str, Any]] = {}
    for shop in env.shops:
        state = env.call_tiktok("GET", f"/state?shop_id={shop.id}")
        for item in state["returns"]:
            found[str(item["return_id"])] = item
        for item in state["cancellations"]:
            found[str(item["cancel_id"])] = item
    return found


def _status(request: dict[str, Any]) -> str:
    return str(request.get("return_status") or request.get("cancel_status") or "")


def cases_stored_once(env: Environment, tiktok: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert env.runtime is not None
    with transaction(env.runtime.sessions) as session:
        rows = list(session.execute(select(Case.tiktok_id, Case.tiktok_status)))
    copies = Counter(tiktok_id for tiktok_id, _ in rows)
    stored = {tiktok_id: status for tiktok_id, status in rows}
    problems = [f"{tid} stored {n} times" for tid, n in copies.items() if n > 1]
    problems += [f"{tid} ({_status(r)}) not stored" for tid, r in tiktok.items() if tid not in stored]
    problems += [f"{tid} stored as {stored[tid]}, TikTok shows {_status(r)}" for tid, r in tiktok.items()
                 if tid in stored and stored[tid] != _status(r)]
    return _result(problems, tiktok_cases=len(tiktok), stored_cases=len(rows))


def store_effects_once(env: Environment, tiktok: dict[str, dict[str, Any]], cases: dict[str, ChaosCase]
                       ) -> dict[str, Any]:
    """What the store must hold follows from what happened on TikTok (the run's own record of each case's states),
    not from our outbox: a return for every return TikTok accepted, a refund for every refund TikTok paid."""
    assert env.runtime is not None and env.store is not None
    store_id, domain = env.store.store_id, env.store.domain
    with transaction(env.runtime.sessions) as session:
        case_ids = dict(session.execute(select(Case.tiktok_id, Case.id)).all())
        effects = list(session.execute(select(StoreEffect.idempotency_key, StoreEffect.state,
                                              StoreEffect.held_reason, StoreEffect.last_error)))
    problems = [f"effect {key} is {state}: {held or error}"[:300] for key, state, held, error in effects
                if state != "done"]

    refunds = env.call_shopify("GET", f"/stores/{domain}/refunds")["refunds"]
    refund_by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for refund in refunds:
        match = KEY.search(refund.get("note") or "")
        refund_by_key[match.group(1) if match else "(no key)"].append(refund)
    returns = env.call_shopify("GET", f"/stores/{domain}/returns")["returns"]
    return_by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in returns:
        # Every line of a return carries the key: one return, one key.
        keys = {m.group(1) if (m := KEY.search(li.get("return_reason_note") or "")) else "(no key)"
                for li in record["line_items"]}
        for key in keys:
            return_by_key[key].append(record)

    expected_refunds: set[str] = set()
    expected_returns: set[str] = set()
    for tiktok_id, request in tiktok.items():
        case_id = case_ids.get(tiktok_id)
        if case_id is None:
            continue  # reported by the first invariant
        history = cases[tiktok_id].history if tiktok_id in cases else [_status(request)]
        if request.get("return_type") == "RETURN_AND_REFUND" and ACCEPTED in history:
            key = effect_key(store_id, case_id, "return")
            expected_returns.add(key)
            found_returns = return_by_key.get(key, [])
            if len(found_returns) != 1:
                problems.append(f"{tiktok_id}: {len(found_returns)} store returns for key {key}")
            elif _status(request) in ENDED and found_returns[0]["status"] not in STORE_RETURN_ENDED:
                problems.append(f"{tiktok_id} is {_status(request)} on TikTok, its store return is "
                                f"{found_returns[0]['status']}")
        if _status(request) in REFUND_PAID:
            key = effect_key(store_id, case_id, "refund")
            expected_refunds.add(key)
            found = refund_by_key.get(key, [])
            if len(found) != 1:
                problems.append(f"{tiktok_id}: {len(found)} store refunds for key {key}")
                continue
            paid = Decimal(str(request["refund_amount"]["refund_total"]))
            recorded = Decimal(str(found[0]["total_refunded"]))
            if recorded != paid:
                problems.append(f"{tiktok_id}: store refund {recorded}, TikTok refunded {paid}")
    problems += [f"store refund {r['id']} with key {key} for no refund TikTok paid"
                 for key, found in refund_by_key.items() if key not in expected_refunds for r in found]
    problems += [f"store return {r['id']} with key {key} for no return TikTok accepted"
                 for key, found in return_by_key.items() if key not in expected_returns for r in found]
    return _result(problems, effects=len(effects), store_refunds=len(refunds), store_returns=len(returns),
                   expected_refunds=len(expected_refunds), expected_returns=len(expected_returns))


def no_double_restock(env: Environment, tiktok: dict[str, dict[str, Any]], cases: dict[str, ChaosCase]
                      ) -> dict[str, Any]:
    """Each approved returned package restocks its units once: one adjustment per key, as many units as
    returned; nothing else restocks (a cancellation's units come back through its refund, counted separately)."""
    assert env.runtime is not None and env.store is not None
    store_id, domain = env.store.store_id, env.store.domain
    with transaction(env.runtime.sessions) as session:
        case_ids = dict(session.execute(select(Case.tiktok_id, Case.id)).all())
    # Ours carry our key in their reference; a cancellation's refund restocks with the refund as reference.
    adjustments = [a for a in env.call_shopify("GET", f"/stores/{domain}/adjustments")["adjustments"]
                   if a["reason"] == "restock" and (a["reference_document_uri"] or "").startswith(OUR_REFERENCES)]
    by_uri: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for adjustment in adjustments:
        by_uri[adjustment["reference_document_uri"] or "(none)"].append(adjustment)
    problems: list[str] = []
    expected: set[str] = set()
    units = 0
    for tiktok_id, case in cases.items():
        # Only a parcel that came back and was approved restocks (a buyer who keeps the item sends none). TikTok's
        # final state says approved; the run may not have seen SUCCESS itself (TikTok completes it after 60 s).
        request = tiktok.get(tiktok_id, {})
        if SHIPPED not in case.history or _status(request) not in (PACKAGE_APPROVED, REFUND_PAID[0]):
            continue
        uri = reference_uri(effect_key(store_id, case_ids.get(tiktok_id, -1), "restock"))
        expected.add(uri)
        found = by_uri.get(uri, [])
        returned = len(tiktok[tiktok_id].get("return_line_items") or [])
        restocked = sum(c["delta"] for a in found for c in a["changes"] if c["name"] == "available")
        units += restocked
        if len(found) != 1 or restocked != returned:
            problems.append(f"{tiktok_id}: {len(found)} restocks of {restocked} units, {returned} returned")
    problems += [f"restock {uri} ({len(found)}x) for no approved returned package"
                 for uri, found in by_uri.items() if uri not in expected]
    refunds = env.call_shopify("GET", f"/stores/{domain}/refunds")["refunds"]
    through_refunds = sum(li["quantity"] for r in refunds for li in r["line_items"] if li["restocked"])
    return _result(problems, restocks=len(adjustments), units_restocked=units,
                   units_restocked_by_cancellation_refunds=through_refunds)


def no_decision_twice(env: Environment) -> dict[str, Any]:
    """The TikTok emulator records every decision call that reached it (replays of a stored answer excepted):
    each (request, call, decision) must be there once. Our decisions must all be finished."""
    assert env.runtime is not None
    calls = env.call_tiktok("GET", "/decisions")["decisions"]
    seen = Counter((c["request_id"], c["call"], c["decision"]) for c in calls)
    problems = [f"{request} {call} {decision or ''} reached TikTok {n} times".replace("  ", " ")
                for (request, call, decision), n in seen.items() if n > 1]
    with transaction(env.runtime.sessions) as session:
        states = Counter(session.scalars(select(Decision.state)))
    unfinished = sum(n for state, n in states.items() if state in UNFINISHED_STATES)
    if unfinished:
        problems.append(f"{unfinished} decisions still unfinished in our database")
    return _result(problems, decision_calls=len(calls), decisions=dict(states))


def check_all(env: Environment, cases: dict[str, ChaosCase]) -> dict[str, dict[str, Any]]:
    tiktok = tiktok_requests(env)
    return {
        "every_case_stored_once_with_latest_state": cases_stored_once(env, tiktok),
        "every_store_effect_once_with_tiktok_amounts": store_effects_once(env, tiktok, cases),
        "no_unit_restocked_twice": no_double_restock(env, tiktok, cases),
        "no_decision_sent_twice": no_decision_twice(env),
    }


def all_held(results: dict[str, dict[str, Any]]) -> bool:
    return all(r["held"] for r in results.values())
