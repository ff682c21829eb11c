"""Reading a search page without a second parse: the cursor peek, the success check, the GC-paused parse."""

from __future__ import annotations

import gc
import json

import httpx
import pytest

from conftest import FakeTikTok, envelope, query_of, reply
from returnbridge.tiktok import BusinessError, ShopClient
from returnbridge.tiktok.envelope import Envelope, looks_successful, peek_next_page_token, validate_json
from returnbridge.tiktok.models import SearchReturnsPage


def _page(data: object) -> bytes:
    return envelope(data)


def test_peek_reads_the_cursor_at_the_end_of_the_page() -> None:
    raw = _page({"return_orders": [{"return_id": "1"}], "total_count": 2, "next_page_token": "NTA6YWJj"})
    assert peek_next_page_token(raw) == "NTA6YWJj"


def test_peek_decodes_an_escaped_cursor() -> None:
    assert peek_next_page_token(b'{"code":0,"data":{"next_page_token":"a\\/b\\u0041"}}') == "a/bA"


def test_peek_takes_an_empty_cursor_as_none() -> None:
    assert peek_next_page_token(_page({"return_orders": [], "next_page_token": ""})) is None


def test_peek_takes_a_null_cursor_as_none() -> None:
    assert peek_next_page_token(_page({"return_orders": [], "next_page_token": None})) is None


def test_peek_takes_an_absent_cursor_as_none() -> None:
    assert peek_next_page_token(_page({"return_orders": []})) is None


def test_a_zero_code_first_looks_successful() -> None:
    assert looks_successful(b' {\n "code" : 0, "message": "Success"}')


def test_a_non_zero_code_does_not_look_successful() -> None:
    assert not looks_successful(b'{"code":105002,"message":"expired"}')


def test_a_code_that_only_starts_with_zero_does_not_look_successful() -> None:
    assert not looks_successful(b'{"code":0.5}')


def test_a_body_not_starting_with_the_code_does_not_look_successful() -> None:
    assert not looks_successful(b'{"message":"x","code":0}')


def test_a_cursor_key_inside_an_unknown_field_does_not_change_the_pages(shop: ShopClient, fake: FakeTikTok) -> None:
    # The real cursor comes first, a look-alike inside a return comes last: the peek guesses wrong.
    pages = {
        None: {"next_page_token": "t2", "return_orders": [{"return_id": "1", "x": {"next_page_token": "bogus"}}]},
        "bogus": {"return_orders": [{"return_id": "wrong"}], "next_page_token": ""},
        "t2": {"return_orders": [{"return_id": "2"}], "next_page_token": ""},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return reply(pages[query_of(request).get("page_token")])

    fake.then(answer, answer, answer)
    assert [r.return_id for r in shop.iter_returns()] == ["1", "2"]
    assert [query_of(r).get("page_token") for r in fake.requests][-1] == "t2"


def test_an_error_envelope_with_the_code_not_first_still_raises_its_error(shop: ShopClient, fake: FakeTikTok) -> None:
    body = json.dumps({"message": "no", "request_id": "RID-9", "code": 25020005}).encode()
    fake.then(httpx.Response(200, content=body))
    with pytest.raises(BusinessError):
        list(shop.iter_returns())


def test_a_success_envelope_with_the_code_not_first_still_pages(shop: ShopClient, fake: FakeTikTok) -> None:
    body = json.dumps({"data": {"return_orders": [{"return_id": "1"}]}, "code": 0, "request_id": "R"}).encode()
    fake.then(httpx.Response(200, content=body))
    assert [r.return_id for r in shop.iter_returns()] == ["1"]


def test_the_gc_is_on_again_after_a_parse() -> None:
    validate_json(Envelope[SearchReturnsPage], _page({"return_orders": [{"return_id": "1"}]}))
    assert gc.isenabled()


def test_the_gc_is_on_again_after_a_failed_parse() -> None:
    with pytest.raises(ValueError):
        validate_json(Envelope[SearchReturnsPage], b'{"code": "x"}')
    assert gc.isenabled()


def test_a_gc_the_application_switched_off_stays_off() -> None:
    gc.disable()
    try:
        validate_json(Envelope[SearchReturnsPage], _page({"return_orders": [{"return_id": "1"}]}))
        assert not gc.isenabled()
    finally:
        gc.enable()
