"""Page iteration (filters re-sent, both last-page spellings) and order-detail chunking."""

from __future__ import annotations

import threading

import httpx
import pytest

from conftest import FakeClock, FakeTikTok, body_json, query_of, reply, token_data
from returnbridge.tiktok import (
    BusinessError,
    CancellationFilters,
    ReturnFilters,
    ShopClient,
    TokenSet,
    UnexpectedResponse,
)


def _return(return_id: str) -> dict[str, str]:
    return {"return_id": return_id}


def test_iterator_resends_the_same_filters_with_each_page_token(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(
        reply({"return_orders": [_return("1")], "next_page_token": "t2", "total_count": 3}),
        reply({"return_orders": [_return("2")], "next_page_token": "t3", "total_count": 3}),
        reply({"return_orders": [_return("3")], "next_page_token": "", "total_count": 3}),
    )
    filters = ReturnFilters(update_time_ge=1_700_000_000, return_types=["REFUND"])
    ids = [r.return_id for r in shop.iter_returns(filters, page_size=10)]
    assert ids == ["1", "2", "3"]
    assert [query_of(r).get("page_token") for r in fake.requests] == [None, "t2", "t3"]
    assert all(body_json(r) == {"update_time_ge": 1_700_000_000, "return_types": ["REFUND"]} for r in fake.requests)
    assert {query_of(r)["page_size"] for r in fake.requests} == {"10"}


def test_iteration_stops_when_the_next_page_token_is_absent(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(
        reply({"return_orders": [_return("1")], "next_page_token": "t2"}),
        reply({"return_orders": [_return("2")]}),
    )
    pages = list(shop.iter_return_pages())
    assert len(pages) == 2
    assert len(fake.requests) == 2


def test_iteration_stops_when_the_next_page_token_is_null(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"return_orders": [], "next_page_token": None}))
    assert list(shop.iter_returns()) == []
    assert len(fake.requests) == 1


def test_empty_data_is_an_empty_last_page(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({}))
    page = shop.search_returns()
    assert page.return_orders == []
    assert page.is_last


def test_cancellation_pages_resend_filters_and_stop_on_empty_token(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(
        reply({"cancellations": [{"cancel_id": "c1"}], "next_page_token": "n"}),
        reply({"cancellations": [{"cancel_id": "c2"}], "next_page_token": ""}),
    )
    filters = CancellationFilters(cancel_status=["CANCELLATION_REQUEST_PENDING"])
    ids = [c.cancel_id for c in shop.iter_cancellations(filters)]
    assert ids == ["c1", "c2"]
    assert fake.requests[1].url.path == "/return_refund/202309/cancellations/search"
    assert body_json(fake.requests[1]) == {"cancel_status": ["CANCELLATION_REQUEST_PENDING"]}
    assert query_of(fake.requests[1])["page_token"] == "n"


def test_only_set_filters_are_sent() -> None:
    assert ReturnFilters(order_ids=["o1"], create_time_lt=5).to_body() == {"order_ids": ["o1"], "create_time_lt": 5}


def test_get_orders_asks_for_at_most_fifty_ids_per_call(shop: ShopClient, fake: FakeTikTok) -> None:
    ids = [str(576653688135258178 + n) for n in range(120)]

    def answer(request: httpx.Request) -> httpx.Response:
        asked = query_of(request)["ids"].split(",")
        return reply({"orders": [{"id": order_id} for order_id in asked]})

    fake.then(answer, answer, answer)
    orders = shop.get_orders(ids)
    assert [len(query_of(r)["ids"].split(",")) for r in fake.requests] == [50, 50, 20]
    assert {r.url.path for r in fake.requests} == {"/order/202309/orders"}
    assert [order.id for order in orders] == ids


def test_get_orders_without_ids_makes_no_call(shop: ShopClient, fake: FakeTikTok) -> None:
    assert shop.get_orders([]) == []
    assert fake.requests == []


def test_token_expiring_mid_iteration_is_refreshed_on_the_callers_thread(
    shop: ShopClient, fake: FakeTikTok, clock: FakeClock, refreshed: list[TokenSet]
) -> None:
    refreshing_threads: list[threading.Thread] = []
    original = shop._tokens.refresh  # type: ignore[attr-defined]

    def spy(stale: TokenSet) -> TokenSet:
        refreshing_threads.append(threading.current_thread())
        return original(stale)

    shop._tokens.refresh = spy  # type: ignore[attr-defined,method-assign]
    fake.then(
        reply({"return_orders": [_return("1")], "next_page_token": "t2"}),
        reply(code=105002, status=401),
        reply(token_data(clock.now, "2")),
        reply({"return_orders": [_return("2")], "next_page_token": ""}),
    )
    ids = [r.return_id for r in shop.iter_returns()]
    assert ids == ["1", "2"]
    assert refreshing_threads == [threading.current_thread()]
    assert fake.requests[3].headers["x-tts-access-token"] == "TTP_access_2"
    assert query_of(fake.requests[3])["page_token"] == "t2"


def test_a_failing_next_page_still_yields_the_page_before_it(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"return_orders": [_return("1")], "next_page_token": "t2"}), reply(code=25020005))
    pages = shop.iter_return_pages()
    assert [r.return_id for r in next(pages).return_orders] == ["1"]
    with pytest.raises(BusinessError):
        next(pages)


def test_stopping_early_does_not_hang(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(
        reply({"return_orders": [_return("1")], "next_page_token": "t2"}),
        reply({"return_orders": [_return("2")], "next_page_token": "t3"}),
    )
    for order in shop.iter_returns():
        assert order.return_id == "1"
        break
    assert len(fake.requests) <= 2


def test_a_page_of_the_wrong_shape_is_an_unexpected_response(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"return_orders": [{"no_return_id": True}], "next_page_token": ""}))
    with pytest.raises(UnexpectedResponse):
        list(shop.iter_returns())


def test_next_page_is_requested_before_the_current_page_is_handed_out(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(
        reply({"return_orders": [_return("1")], "next_page_token": "t2"}),
        reply({"return_orders": [_return("2")], "next_page_token": ""}),
    )
    pages = shop.iter_return_pages()
    next(pages)
    assert [query_of(r).get("page_token") for r in fake.requests] == [None, "t2"]
    assert [r.return_id for r in next(pages).return_orders] == ["2"]


def test_each_page_is_requested_before_the_page_before_it_is_handed_out(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(
        reply({"return_orders": [_return("1")], "next_page_token": "t2"}),
        reply({"return_orders": [_return("2")], "next_page_token": "t3"}),
        reply({"return_orders": [_return("3")], "next_page_token": ""}),
    )
    pages = shop.iter_return_pages()
    next(pages)
    assert [query_of(r).get("page_token") for r in fake.requests] == [None, "t2"]
    assert [r.return_id for r in next(pages).return_orders] == ["2"]
    assert [query_of(r).get("page_token") for r in fake.requests] == [None, "t2", "t3"]
    assert [r.return_id for r in next(pages).return_orders] == ["3"]
    assert len(fake.requests) == 3
