"""Product image upload (rejection evidence): multipart, sizes from the header, served back as media."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from returnbridge.emulators.tiktok.media import encode_jpeg, encode_png

UPLOAD = "/product/202309/images/upload"


@pytest.fixture
def client(shared_emulator: Any, make_client: Any) -> Any:
    return make_client(shared_emulator)


def test_png_upload_returns_uri_url_size_and_use_case(shared_emulator: Any, client: Any) -> None:
    png = encode_png(31, 17, (9, 9, 9))
    body = client.call("POST", UPLOAD, files={"data": ("evidence.png", png, "image/png")},
                       data={"use_case": "ATTRIBUTE_IMAGE"}, shop_cipher=None)
    assert body["code"] == 0, body
    data = body["data"]
    assert (data["width"], data["height"], data["use_case"]) == (31, 17, "ATTRIBUTE_IMAGE")
    assert data["url"].endswith(data["uri"])
    assert httpx.get(data["url"]).content == png


def test_jpeg_upload_defaults_use_case_and_registers_the_image(shared_emulator: Any, client: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[tuple[str, int, int]] = []
    monkeypatch.setattr(shared_emulator.world, "register_image", lambda *args: registered.append(args))
    jpeg = encode_jpeg(120, 80, (200, 10, 10))
    data = client.call("POST", UPLOAD, files={"data": ("a.jpg", jpeg, "image/jpeg")}, shop_cipher=None)["data"]
    assert (data["width"], data["height"], data["use_case"]) == (120, 80, "MAIN_IMAGE")
    assert registered == [(data["uri"], 120, 80)]


def test_upload_with_shop_cipher_gets_unexpected_identifier(client: Any) -> None:
    body = client.call("POST", UPLOAD, files={"data": ("a.png", encode_png(1, 1, (0, 0, 0)), "image/png")})
    assert body["code"] == 36009004
    assert body["message"].startswith("Unexpected identifier.")


def test_upload_that_is_not_multipart_gets_36009023(client: Any) -> None:
    response = client.request("POST", UPLOAD, json={"data": "x"}, shop_cipher=None)
    assert response.json()["code"] == 36009023


def test_upload_over_5_mb_gets_36009021(client: Any) -> None:
    big = encode_png(1, 1, (0, 0, 0)) + b"\x00" * (5 * 1024 * 1024 + 1)
    body = client.call("POST", UPLOAD, files={"data": ("big.png", big, "image/png")}, shop_cipher=None)
    assert body["code"] == 36009021


def test_upload_of_a_non_image_gets_36009004(client: Any) -> None:
    body = client.call("POST", UPLOAD, files={"data": ("a.txt", b"hello", "text/plain")}, shop_cipher=None)
    assert body["code"] == 36009004


def test_upload_without_the_data_field_gets_36009004(client: Any) -> None:
    body = client.call("POST", UPLOAD, files={"file": ("a.png", encode_png(1, 1, (0, 0, 0)), "image/png")},
                       shop_cipher=None)
    assert body["code"] == 36009004


def test_upload_needs_the_product_scope(shared_emulator: Any, make_client: Any) -> None:
    client = make_client(shared_emulator, scopes=["seller.return_refund.basic"])
    body = client.call("POST", UPLOAD, files={"data": ("a.png", encode_png(1, 1, (0, 0, 0)), "image/png")},
                       shop_cipher=None)
    assert body["code"] == 105005


def test_media_urls_serve_deterministic_jpegs(shared_emulator: Any) -> None:
    first = httpx.get(f"{shared_emulator.base_url}/_emulator/media/product-1.jpg")
    second = httpx.get(f"{shared_emulator.base_url}/_emulator/media/product-1.jpg")
    assert first.headers["content-type"] == "image/jpeg"
    assert first.content == second.content and first.content.startswith(b"\xff\xd8")
