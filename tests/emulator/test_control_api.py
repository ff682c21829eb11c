"""The /_emulator/ control API: config, tokens, shops, seeding, clock, faults, statistics, read-back."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

SEARCH = "/return_refund/202309/returns/search"


@pytest.fixture
def server(emulator_factory: Any) -> Any:
    return emulator_factory(rps=0)


def test_index_lists_every_endpoint(server: Any, control_api: Any) -> None:
    paths = {(e["method"], e["path"]) for e in control_api(server, "GET", "/")["endpoints"]}
    assert ("POST", "/_emulator/clock/advance") in paths
    assert ("POST", "/_emulator/seed") in paths


def test_health_and_config_describe_the_server(server: Any, control_api: Any) -> None:
    assert control_api(server, "GET", "/health")["ok"] is True
    config = control_api(server, "GET", "/config")
    assert (config["base_url"], config["app_key"], config["rps"]) == (server.base_url, server.app_key, 0.0)
    assert config["consent_url"].startswith(f"{server.base_url}/open/authorize?service_id=")


def test_config_changes_latency(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    control_api(server, "POST", "/config", {"latency_ms": 150})
    started = time.perf_counter()
    client.call("GET", "/authorization/202309/shops", shop_cipher=None)
    assert time.perf_counter() - started >= 0.15


def test_config_can_send_106001_and_105002_with_http_200(server: Any, make_client: Any, control_api: Any) -> None:
    control_api(server, "POST", "/config", {"auth_error_status": 200})
    client = make_client(server)
    response = client.request("POST", SEARCH, json={}, sign_with="wrong")
    assert (response.status_code, response.json()["code"]) == (200, 106001)


def test_fault_rate_one_makes_every_call_fail_transiently(server: Any, make_client: Any,
                                                          control_api: Any) -> None:
    client = make_client(server)
    control_api(server, "POST", "/config", {"fault_rate": 1.0})
    answers = {(r.status_code, r.json()["code"]) for r in
               (client.request("POST", SEARCH, json={}) for _ in range(20))}
    assert answers <= {(200, 36009003), (503, 36009007)}


def test_minted_code_works_on_the_token_endpoint(server: Any, control_api: Any) -> None:
    shop = control_api(server, "GET", "/shops")["shops"][0]
    minted = control_api(server, "POST", "/auth/code", {"shop_id": shop["id"]})
    assert minted["seller_id"] == shop["seller_id"]
    body = httpx.get(f"{server.base_url}/api/v2/token/get", params={
        "app_key": server.app_key, "app_secret": server.app_secret, "auth_code": minted["code"],
        "grant_type": "authorized_code"}).json()
    assert body["data"]["open_id"] == shop["seller_id"]


def test_issued_token_carries_the_requested_scopes_type_and_expiry(server: Any, control_api: Any) -> None:
    now = control_api(server, "GET", "/clock")["now"]
    token = control_api(server, "POST", "/auth/token", {"scopes": ["seller.order.info"], "user_type": 1,
                                                       "access_expires_at": now + 60})
    assert (token["granted_scopes"], token["user_type"], token["access_token_expire_in"]) == (
        ["seller.order.info"], 1, now + 60)


def test_expire_makes_the_next_call_get_105002(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    shop = control_api(server, "GET", "/shops")["shops"][0]
    assert control_api(server, "POST", "/auth/expire", {"shop_id": shop["id"]})["expired"] >= 1
    assert client.call("POST", SEARCH, json={})["code"] == 105002


def test_unknown_seller_is_a_404(server: Any) -> None:
    response = httpx.post(f"{server.base_url}/_emulator/auth/token", json={"seller_id": "nobody"})
    assert response.status_code == 404


def test_created_shop_is_listed_and_callable(server: Any, control_api: Any, make_client: Any) -> None:
    seller = control_api(server, "GET", "/sellers")["sellers"][0]
    shop = control_api(server, "POST", "/shops", {"region": "MY", "currency": "MYR", "name": "Kedai Baru",
                                                  "seller_id": seller["id"]})
    shops = control_api(server, "GET", "/shops")["shops"]
    assert shop["id"] in {s["id"] for s in shops}
    client = make_client(server, [s["id"] for s in shops].index(shop["id"]))
    assert client.call("POST", SEARCH, json={})["code"] == 0


def test_seed_adds_returns_to_one_shop(server: Any, control_api: Any, make_client: Any) -> None:
    client = make_client(server)
    before = client.call("POST", SEARCH, json={})["data"]["total_count"]
    shop = control_api(server, "GET", "/shops")["shops"][0]
    result = control_api(server, "POST", "/seed", {"shop_id": shop["id"], "returns": 30})
    assert result["returns"] == 30
    # The World decides how a seeded batch looks in search (e.g. edited requests chain into one); it must grow.
    assert client.call("POST", SEARCH, json={})["data"]["total_count"] > before


def test_clock_advance_and_set_move_business_time_forward_only(server: Any, control_api: Any) -> None:
    start = control_api(server, "GET", "/clock")["now"]
    advanced = control_api(server, "POST", "/clock/advance", {"seconds": 3600})["now"]
    assert advanced - start in (3600, 3601)
    assert control_api(server, "POST", "/clock/set", {"timestamp": advanced + 100})["now"] >= advanced + 100
    assert httpx.post(f"{server.base_url}/_emulator/clock/set", json={"timestamp": start}).status_code == 409


def test_clock_advance_rejects_a_negative_number(server: Any) -> None:
    assert httpx.post(f"{server.base_url}/_emulator/clock/advance", json={"seconds": -5}).status_code == 400


def test_injected_fault_hits_the_next_n_calls_on_the_prefix(server: Any, make_client: Any,
                                                            control_api: Any) -> None:
    client = make_client(server)
    control_api(server, "POST", "/faults", {"path_prefix": "/return_refund/", "count": 2, "code": 36009002,
                                            "http_status": 429, "retry_after": 7})
    assert client.call("GET", "/authorization/202309/shops", shop_cipher=None)["code"] == 0
    for _ in range(2):
        response = client.request("POST", SEARCH, json={})
        assert (response.status_code, response.json()["code"]) == (429, 36009002)
        assert response.headers["retry-after"] == "7"
    assert client.call("POST", SEARCH, json={})["code"] == 0


def test_injected_delay_without_an_error(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    control_api(server, "POST", "/faults", {"path_prefix": SEARCH, "code": None, "delay_ms": 200})
    started = time.perf_counter()
    assert client.call("POST", SEARCH, json={})["code"] == 0
    assert time.perf_counter() - started >= 0.2


def test_injected_drop_closes_the_connection_without_an_answer(server: Any, make_client: Any,
                                                               control_api: Any) -> None:
    client = make_client(server)
    control_api(server, "POST", "/faults", {"path_prefix": SEARCH, "drop": True})
    with pytest.raises(httpx.TransportError):
        client.request("POST", SEARCH, json={})
    assert client.call("POST", SEARCH, json={})["code"] == 0


def test_faults_can_be_listed_and_cleared(server: Any, control_api: Any) -> None:
    control_api(server, "POST", "/faults", {"path_prefix": "/order/", "count": 3})
    assert control_api(server, "GET", "/faults")["scripted"][0]["remaining"] == 3
    assert control_api(server, "DELETE", "/faults")["cleared"] == 1
    assert control_api(server, "GET", "/faults")["scripted"] == []


def test_stats_count_calls_per_route_and_code(server: Any, make_client: Any, control_api: Any) -> None:
    client = make_client(server)
    control_api(server, "DELETE", "/stats")
    client.call("POST", SEARCH, json={})
    client.call("POST", SEARCH, json={}, token=None)
    route = control_api(server, "GET", "/stats")["routes"][f"POST {SEARCH}"]
    assert route["count"] == 2
    assert route["codes"] == {"0": 1, "36009004": 1}


def test_state_returns_the_world_snapshot(server: Any, control_api: Any) -> None:
    assert control_api(server, "GET", "/state", limit=5)


def test_unknown_request_id_is_a_404(server: Any) -> None:
    assert httpx.get(f"{server.base_url}/_emulator/requests/424242").status_code == 404


def test_malformed_control_body_is_a_400(server: Any) -> None:
    response = httpx.post(f"{server.base_url}/_emulator/clock/advance", content=b"{nope")
    assert response.status_code == 400


def test_wrong_method_on_a_control_endpoint_is_a_405(server: Any) -> None:
    assert httpx.delete(f"{server.base_url}/_emulator/clock").status_code == 405


def test_subprocess_emulator_answers_and_stops() -> None:
    from returnbridge.emulators.tiktok.server import EmulatorServer

    server = EmulatorServer(subprocess=True, app_key="sub-key", app_secret="sub-secret", time_scale=2.0)
    with server:
        assert server.world is None
        config = httpx.get(f"{server.base_url}/_emulator/config").json()
        assert (config["app_key"], config["time_scale"], config["base_url"]) == ("sub-key", 2.0, server.base_url)
        process = server._process
    assert process is not None and process.poll() is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/_emulator/health", timeout=1.0)
