"""The PrestaShop webservice emulator against store-apis.md D.1, through plain httpx (not the product's client):
key auth, filters, XML and JSON output, error bodies in both formats, credit slip creation, stock writes, faults."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from returnbridge.emulators.prestashop.server import EmulatorServer

JSON = {"output_format": "JSON"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as s:
        yield s


@pytest.fixture
def ps(server: EmulatorServer) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=server.base_url, auth=(server.key, ""), timeout=10)
    client.post("/_emulator/reset").raise_for_status()
    yield client
    client.close()


def order(ps: httpx.Client, reference: str = "TT1", **spec: Any) -> dict[str, Any]:
    body = {"reference": reference, "lines": [{"sku": "RB-001", "quantity": 2, "price": "10.00", "stock": 50}],
            "shipping": "5.00", "tax_rate": "0.20", "currency": "USD", **spec}
    response = ps.post("/_emulator/orders", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def slip_xml(order_id: object, customer: object = 7, details: str = "", **extra: str) -> bytes:
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in {"id_customer": customer, "id_order": order_id,
                                                     "amount": "12.50", **extra}.items())
    associations = f"<associations><order_slip_details>{details}</order_slip_details></associations>" if details \
        else ""
    return f"<prestashop><order_slip>{fields}{associations}</order_slip></prestashop>".encode()


def detail_xml(detail_id: object, quantity: int, excl: str = "10.00", incl: str = "12.00") -> str:
    return (f"<order_slip_detail><id_order_detail>{detail_id}</id_order_detail><product_quantity>{quantity}"
            f"</product_quantity><amount_tax_excl>{excl}</amount_tax_excl><amount_tax_incl>{incl}</amount_tax_incl>"
            "</order_slip_detail>")


def state(ps: httpx.Client) -> dict[str, Any]:
    return ps.get("/_emulator/state").json()


def stock_row(ps: httpx.Client) -> dict[str, Any]:
    [row] = state(ps)["stock"]
    return row


def xml_errors(response: httpx.Response) -> list[tuple[str, str]]:
    root = ET.fromstring(response.content)
    assert root.tag == "prestashop"
    return [((e.findtext("code") or "").strip(), (e.findtext("message") or "").strip()) for e in root.iter("error")]


# --- auth -----------------------------------------------------------------------------------------------------------


def test_the_key_is_the_basic_user_name_or_ws_key(server: EmulatorServer, ps: httpx.Client) -> None:
    order(ps)
    assert ps.get("/api/orders", params=JSON).status_code == 200
    with httpx.Client(base_url=server.base_url, timeout=10) as anonymous:
        assert anonymous.get("/api/orders", params={"ws_key": server.key, **JSON}).status_code == 200
        missing = anonymous.get("/api/orders")
        wrong = anonymous.get("/api/orders", params=JSON, auth=("NOTTHEKEY", ""))
    assert missing.status_code == 401 and xml_errors(missing) == [("17", "Authentication key is empty")]
    assert "PrestaShop Webservice" in missing.headers["WWW-Authenticate"]
    assert wrong.status_code == 401 and wrong.json() == {"errors": [{"code": 18,
                                                                     "message": "Invalid authentication key"}]}


# --- reading: formats and filters -----------------------------------------------------------------------------------


def test_an_order_in_xml_by_default_and_in_json_on_request(ps: httpx.Client) -> None:
    created = order(ps)
    as_xml = ps.get(f"/api/orders/{created['id']}")
    assert as_xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(as_xml.content)
    assert root.tag == "prestashop" and root.findtext("order/reference") == "TT1"
    assert root.findtext("order/associations/order_rows/order_row/product_reference") == "RB-001"
    as_json = ps.get(f"/api/orders/{created['id']}", params=JSON).json()["order"]
    assert as_json["reference"] == "TT1" and as_json["total_shipping"] == "5.000000"
    assert as_json["associations"]["order_rows"][0]["product_quantity"] == "2"


def test_filters_narrow_a_list_and_display_full_gives_whole_records(ps: httpx.Client) -> None:
    first, second = order(ps, "TT1"), order(ps, "TT2")
    order(ps, "TT3")
    ids_only = ps.get("/api/orders", params={"filter[reference]": "[TT2]", **JSON}).json()
    assert ids_only == {"orders": [{"id": second["id"]}]}
    either = ps.get("/api/orders", params={"filter[reference]": "[TT1|TT2]", "display": "full", **JSON}).json()
    assert [(o["id"], o["reference"]) for o in either["orders"]] == [(first["id"], "TT1"), (second["id"], "TT2")]
    by_id = ps.get("/api/orders", params={"filter[id]": f"[{first['id']}]", "display": "full"})
    assert [e.text for e in ET.fromstring(by_id.content).iter("reference")] == ["TT1"]


def test_an_empty_list_is_a_bare_json_array_and_an_empty_xml_element(ps: httpx.Client) -> None:
    order(ps)
    assert ps.get("/api/orders", params={"filter[reference]": "[NOPE]", **JSON}).json() == []
    root = ET.fromstring(ps.get("/api/orders", params={"filter[reference]": "[NOPE]"}).content)
    assert root.find("orders") is not None and list(root.find("orders") or []) == []


def test_currencies_and_order_details_are_readable(ps: httpx.Client) -> None:
    created = order(ps, currency="GBP")
    currency = ps.get(f"/api/currencies/{created['id_currency']}", params=JSON).json()["currency"]
    assert currency["iso_code"] == "GBP"
    [detail] = ps.get("/api/order_details", params={"display": "full", **JSON}).json()["order_details"]
    assert (detail["product_reference"], detail["unit_price_tax_incl"]) == ("RB-001", "12.000000")


# --- errors in both formats -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["XML", "JSON"])
def test_errors_have_prestashops_shape_in_both_formats(ps: httpx.Client, output: str) -> None:
    params = {"output_format": output}
    missing = ps.get("/api/orders/999", params=params)
    unknown = ps.get("/api/order_returns", params=params)
    refused = ps.post("/api/orders", params=params, content=b"<prestashop><order/></prestashop>")
    expected = [(404, "87", "Id(s) not exists: 999"),
                (400, "22", 'Resource of type "order_returns" does not exists. Did you mean: "orders"?'),
                (405, "23", "Method POST is not allowed for resource orders")]
    for response, (status, code, message) in zip((missing, unknown, refused), expected, strict=True):
        assert response.status_code == status
        if output == "JSON":
            assert response.json() == {"errors": [{"code": int(code), "message": message}]}
        else:
            assert xml_errors(response) == [(code, message)]


def test_a_body_that_is_not_xml_is_refused_with_code_127(ps: httpx.Client) -> None:
    response = ps.post("/api/messages", params=JSON, content=b"id_order=1")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 127


# --- credit slips -----------------------------------------------------------------------------------------------------


def test_a_credit_slip_is_written_with_its_details_and_changes_no_stock(ps: httpx.Client) -> None:
    created = order(ps)
    before = stock_row(ps)["quantity"]
    detail_id = created["associations"]["order_rows"][0]["id"]
    response = ps.post("/api/order_slip", params=JSON, content=slip_xml(
        created["id"], details=detail_xml(detail_id, 1), total_shipping_tax_incl="5", shipping_cost="1"))
    assert response.status_code == 201
    slip = response.json()["order_slip"]
    assert (slip["amount"], slip["total_shipping_tax_incl"], slip["conversion_rate"]) == \
        ("12.500000", "5.000000", "1.000000")
    assert slip["associations"]["order_slip_details"] == [
        {"id_order_detail": detail_id, "product_quantity": "1", "amount_tax_excl": "10.000000",
         "amount_tax_incl": "12.000000"}]
    assert stock_row(ps)["quantity"] == before and state(ps)["stock_changes"] == []
    listed = ps.get("/api/order_slip", params={"filter[id_order]": f"[{created['id']}]", "display": "full",
                                               **JSON}).json()
    assert [s["id"] for s in listed["order_slip"]] == [slip["id"]]
    [row] = ps.get("/api/order_details", params={"display": "full", **JSON}).json()["order_details"]
    assert row["product_quantity_refunded"] == "1"


@pytest.mark.parametrize(("body", "code", "message"), [
    (slip_xml(1, customer=""), 41, 'Validation error: "id_customer" is required'),
    (b"<prestashop><order_slip><id_customer>7</id_customer></order_slip></prestashop>", 41,
     'Validation error: "id_order" is required'),
    (slip_xml(999), 91, 'Validation error: "id_order" is invalid'),
    (slip_xml(1, details=detail_xml(999, 1)), 91, 'Validation error: "id_order_detail" is invalid'),
    (slip_xml(1, amount="twelve"), 91, 'Validation error: "amount" is invalid'),
])
def test_credit_slip_validation(ps: httpx.Client, body: bytes, code: int, message: str) -> None:
    order(ps)
    response = ps.post("/api/order_slip", params=JSON, content=body)
    assert response.status_code == 400 and response.json() == {"errors": [{"code": code, "message": message}]}
    assert state(ps)["slips"] == []


def test_a_json_body_is_accepted_too(ps: httpx.Client) -> None:
    created = order(ps)
    response = ps.post("/api/messages", params=JSON,
                       json={"message": {"id_order": created["id"], "message": "hello", "private": "1"}})
    assert response.status_code == 201 and response.json()["message"]["private"] == "1"


# --- stock ----------------------------------------------------------------------------------------------------------


def test_a_stock_available_put_sets_the_absolute_quantity(ps: httpx.Client) -> None:
    order(ps)
    row = stock_row(ps)
    assert row["quantity"] == "48"  # 50 stocked, 2 ordered
    body = (f"<prestashop><stock_available><id>{row['id']}</id><id_product>{row['id_product']}</id_product>"
            "<quantity>51</quantity></stock_available></prestashop>").encode()
    response = ps.put(f"/api/stock_availables/{row['id']}", params=JSON, content=body)
    assert response.status_code == 200 and response.json()["stock_available"]["quantity"] == "51"
    again = ps.put(f"/api/stock_availables/{row['id']}", params=JSON, content=body)
    assert again.json()["stock_available"]["quantity"] == "51"  # absolute: a repeat does not add twice
    assert [(c["from"], c["to"]) for c in state(ps)["stock_changes"]] == [(48, 51), (51, 51)]
    listed = ps.get("/api/stock_availables", params={"filter[id_product]": f"[{row['id_product']}]",
                                                     "display": "full", **JSON}).json()
    assert [r["quantity"] for r in listed["stock_availables"]] == ["51"]


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/api/stock_availables/{id}", "<id>{id}</id>", 400, 41),
    ("/api/stock_availables/{id}", "<id>999</id><quantity>3</quantity>", 400, 90),
    ("/api/stock_availables/999", "<quantity>3</quantity>", 404, 87),
])
def test_stock_write_validation(ps: httpx.Client, path: str, body: str, status: int, code: int) -> None:
    order(ps)
    row_id = stock_row(ps)["id"]
    content = f"<prestashop><stock_available>{body.format(id=row_id)}</stock_available></prestashop>".encode()
    response = ps.put(path.format(id=row_id), params=JSON, content=content)
    assert response.status_code == status and response.json()["errors"][0]["code"] == code
    assert state(ps)["stock_changes"] == []


def test_stock_cannot_be_created_through_the_webservice(ps: httpx.Client) -> None:
    response = ps.post("/api/stock_availables", params=JSON, content=b"<prestashop><stock_available/></prestashop>")
    assert response.status_code == 405 and response.json()["errors"][0]["code"] == 23


# --- faults ---------------------------------------------------------------------------------------------------------


def message(ps: httpx.Client, order_id: object, text: str = "ReturnBridge key") -> httpx.Response:
    body = (f"<prestashop><message><id_order>{order_id}</id_order><message>{text}</message><private>1</private>"
            "</message></prestashop>").encode()
    return ps.post("/api/messages", params=JSON, content=body)


def fault(ps: httpx.Client, **spec: Any) -> httpx.Response:
    return ps.post("/_emulator/faults", json=spec)


def test_http_error_answers_before_anything_is_written(ps: httpx.Client) -> None:
    created = order(ps)
    fault(ps, kind="http_error", match="messages.post", http_status=503, count=2).raise_for_status()
    assert [message(ps, created["id"]).status_code for _ in range(3)] == [503, 503, 201]
    assert len(state(ps)["messages"]) == 1


def test_commit_then_error_writes_and_loses_the_answer(ps: httpx.Client) -> None:
    created = order(ps)
    fault(ps, kind="commit_then_error", match="order_slip.post").raise_for_status()
    lost = ps.post("/api/order_slip", params=JSON, content=slip_xml(created["id"]))
    assert lost.status_code == 502 and lost.json()["errors"][0]["message"] == "Bad Gateway"
    assert len(state(ps)["slips"]) == 1
    assert ps.post("/api/order_slip", params=JSON, content=slip_xml(created["id"])).status_code == 201


@pytest.mark.parametrize("commit", [False, True])
def test_a_timeout_answers_504_late_and_writes_only_with_commit(ps: httpx.Client, commit: bool) -> None:
    created = order(ps)
    fault(ps, kind="timeout", match="messages.post", delay_ms=300, commit=commit).raise_for_status()
    started = time.monotonic()
    response = message(ps, created["id"])
    assert response.status_code == 504 and time.monotonic() - started >= 0.3
    assert len(state(ps)["messages"]) == (1 if commit else 0)


def test_a_client_that_gives_up_first_cannot_know_the_write_happened(server: EmulatorServer,
                                                                     ps: httpx.Client) -> None:
    created = order(ps)
    fault(ps, kind="timeout", match="messages.post", delay_ms=2000, commit=True).raise_for_status()
    with httpx.Client(base_url=server.base_url, auth=(server.key, ""), timeout=0.3) as impatient, \
            pytest.raises(httpx.ReadTimeout):
        message(impatient, created["id"])
    assert len(state(ps)["messages"]) == 1


def test_faults_match_their_route_only_and_unknown_kinds_are_refused(ps: httpx.Client) -> None:
    created = order(ps)
    assert fault(ps, kind="explode").status_code == 400
    fault(ps, kind="http_error", match="order_slip.post").raise_for_status()
    assert message(ps, created["id"]).status_code == 201
    assert ps.delete("/_emulator/faults").json() == {"cleared": 1}
    assert ps.post("/api/order_slip", params=JSON, content=slip_xml(created["id"])).status_code == 201
