"""``/rules`` and ``/api/v1/rules`` over HTTP on SQLite and PostgreSQL: admins only, CSRF, clear 400s, dry run."""

from __future__ import annotations

from fastapi.testclient import TestClient

from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime

from .signing_in import csrf_token_in, sign_in_as

RULE = {"name": "Small refunds", "priority": 5, "conditions": {"types": ["REFUND"],
                                                               "amount": {"currency": "USD", "max": "20"}},
        "action": {"kind": "approve"}}


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_token_in(client.get("/rules").text)}


def test_rules_api_create_read_update_delete(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    headers = _headers(client)
    created = client.post("/api/v1/rules", json=RULE, headers=headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["enabled"] is False and rule["created_by"] == "admin@example.com"
    assert rule["conditions"]["amount"] == {"currency": "USD", "max": "20"}
    changed = client.put(f"/api/v1/rules/{rule['id']}", json={**RULE, "enabled": True}, headers=headers)
    assert changed.status_code == 200 and changed.json()["enabled"] is True
    assert [r["name"] for r in client.get("/api/v1/rules").json()["rules"]] == ["Small refunds"]
    assert client.delete(f"/api/v1/rules/{rule['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/rules/{rule['id']}").status_code == 404


def test_an_invalid_rule_is_a_400_listing_every_problem(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    answer = client.post("/api/v1/rules", json={"name": "x", "conditions": {"amount": {"currency": "USD"}},
                                                "action": {"kind": "partial_refund", "percent": "150"}},
                         headers=_headers(client))
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert "conditions.amount: give min, max or both" in errors
    assert "action: a partial refund needs percent, more than 0 and less than 100" in errors


def test_dry_run_api_answers_totals_without_saving(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    answer = client.post("/api/v1/rules/dry-run", json={"conditions": {}, "action": {"kind": "review"}},
                         headers=_headers(client))
    assert answer.status_code == 200
    assert answer.json() == {"action": "Route to the review queue", "matched": 0, "actionable_now": 0,
                             "totals": [], "cases": []}
    assert client.get("/api/v1/rules").json()["rules"] == []


def test_rules_are_for_admins_and_writes_need_the_csrf_token(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.AGENT, email="agent@example.com")
    assert client.get("/rules").status_code == 403
    assert client.get("/api/v1/rules").status_code == 403
    client.cookies.clear()
    sign_in_as(client, runtime, Role.ADMIN)
    assert client.post("/api/v1/rules", json=RULE).status_code == 403


def test_the_form_saves_a_disabled_rule_and_shows_errors(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/rules").text)
    bad = client.post("/rules", data={"csrf_token": token, "name": "Too much", "action_kind": "partial_refund",
                                      "percent": "0", "intent": "save"})
    assert bad.status_code == 400
    assert "a partial refund needs percent" in bad.text
    good = client.post("/rules", data={"csrf_token": token, "name": "<b>Damaged</b>", "reasons": "Damaged",
                                       "action_kind": "review", "intent": "save"}, follow_redirects=True)
    assert good.status_code == 200
    assert "&lt;b&gt;Damaged&lt;/b&gt;" in good.text and "<b>Damaged</b>" not in good.text
    assert "badge-off" in good.text


def _enabled_rule(client: TestClient, headers: dict[str, str]) -> int:
    created = client.post("/api/v1/rules", json={**RULE, "enabled": True}, headers=headers)
    assert created.status_code == 201 and created.json()["enabled"] is True
    return int(created.json()["id"])


def test_editing_an_enabled_rule_in_the_form_keeps_it_on(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    rule_id = _enabled_rule(client, _headers(client))
    form = client.get(f"/rules?edit={rule_id}")
    token = csrf_token_in(form.text)
    saved = client.post("/rules", data={"csrf_token": token, "rule_id": str(rule_id), "name": "Small refunds v2",
                                        "types": "REFUND", "action_kind": "approve", "intent": "save"},
                        follow_redirects=True)
    assert saved.status_code == 200
    assert "It is on." in saved.text
    rule = client.get(f"/api/v1/rules/{rule_id}").json()
    assert (rule["name"], rule["enabled"]) == ("Small refunds v2", True)


def test_putting_a_rule_without_enabled_keeps_its_state(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    headers = _headers(client)
    rule_id = _enabled_rule(client, headers)
    changed = client.put(f"/api/v1/rules/{rule_id}", json={**RULE, "priority": 7}, headers=headers)
    assert changed.status_code == 200
    assert (changed.json()["priority"], changed.json()["enabled"]) == (7, True)


def test_putting_enabled_false_switches_a_rule_off(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    headers = _headers(client)
    rule_id = _enabled_rule(client, headers)
    changed = client.put(f"/api/v1/rules/{rule_id}", json={**RULE, "enabled": False}, headers=headers)
    assert changed.status_code == 200 and changed.json()["enabled"] is False
