"""Uploaded evidence images: judged by their first bytes (never the file name or the browser's content type), at most
six of at most 5 MB each, and the request carrying them is capped before anything is parsed or spooled to disk.
They are never served back by ReturnBridge: they go to TikTok, and the case page shows TikTok's copies by URL; the
only files the app serves are its own /static ones, with a content type by extension and ``nosniff``.
(The whole reject-with-photo path through the emulator is in ``tests/web_cases/test_case_page.py``.)"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.datastructures import Headers, UploadFile

from returnbridge.sync.decisions import MAX_IMAGE_BYTES, MAX_IMAGES, EvidenceImage
from returnbridge.sync.runtime import Runtime
from returnbridge.web.case_detail import web_address
from returnbridge.web.evidence_upload import EvidenceRefused, read_evidence
from returnbridge.web.pages import STATIC_DIR
from returnbridge.web.route_table import route_table
from returnbridge.web.upload_limits import MAX_BODY_BYTES, MAX_EVIDENCE_BODY_BYTES

from ..integration.test_decisions import png
from ..web.signing_in import sign_in_as

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def upload(data: bytes, filename: str, content_type: str) -> UploadFile:
    return UploadFile(io.BytesIO(data), size=len(data), filename=filename,
                      headers=Headers({"content-type": content_type}))


def read(*files: UploadFile) -> tuple[EvidenceImage, ...]:
    return asyncio.run(read_evidence(list(files)))


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (HTML, "photo.png", "image/png"),
    (SVG, "photo.svg", "image/svg+xml"),
    (b"%PDF-1.7\n", "receipt.jpg", "image/jpeg"),
    (b"MZ\x90\x00", "photo.gif", "image/gif"),
    (b"\x89PNX\r\n\x1a\n", "photo.png", "image/png"),  # almost a PNG signature
], ids=["html-named-png", "svg", "pdf-named-jpg", "exe-named-gif", "broken-signature"])
def test_a_file_that_is_not_an_image_by_its_content_is_refused_whatever_its_name_and_type(
    data: bytes, filename: str, content_type: str,
) -> None:
    with pytest.raises(EvidenceRefused, match="is not a JPEG, PNG, GIF or WebP image"):
        read(upload(data, filename, content_type))


@pytest.mark.parametrize("data", [png(), JPEG, GIF, WEBP], ids=["png", "jpeg", "gif", "webp"])
def test_an_image_is_accepted_by_its_content_even_with_a_wrong_name_and_type(data: bytes) -> None:
    [image] = read(upload(data, "notes.txt", "text/plain"))
    assert image.data == data


def test_an_image_over_five_megabytes_is_refused_without_reading_it_all() -> None:
    big = io.BytesIO(png() + b"\x00" * MAX_IMAGE_BYTES)
    with pytest.raises(EvidenceRefused, match="larger than TikTok's 5 MB limit"):
        asyncio.run(read_evidence([UploadFile(big, filename="big.png")]))
    assert big.tell() == MAX_IMAGE_BYTES + 1  # one byte over is enough to know


def test_more_than_six_images_are_refused() -> None:
    with pytest.raises(EvidenceRefused, match=f"TikTok takes at most {MAX_IMAGES}"):
        read(*(upload(png(), f"{n}.png", "image/png") for n in range(MAX_IMAGES + 1)))


def test_an_empty_file_input_is_not_an_image() -> None:
    # An <input type=file> left empty sends a part without a name or bytes: no evidence, not a refusal.
    assert read(upload(b"", "", "application/octet-stream")) == ()


def test_an_evidence_request_over_its_limit_is_refused_before_it_is_read(client: TestClient,
                                                                         runtime: Runtime) -> None:
    agent = sign_in_as(client, runtime, "agent")
    too_big = b"\xff\xd8\xff" + b"\x00" * MAX_EVIDENCE_BODY_BYTES
    response = client.post("/cases/1/decide", data={"csrf_token": agent.csrf_token, "action": "reject_request"},
                           files=[("images", ("photo.jpg", too_big, "image/jpeg"))])
    assert response.status_code == 413 and "larger than" in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    api = client.post("/api/v1/cases/1/decisions", headers={"X-CSRF-Token": agent.csrf_token},
                      content=b'{"action": "reject_request", "images": [{"content_base64": "' + b"A" *
                      MAX_EVIDENCE_BODY_BYTES + b'"}]}', )
    assert api.status_code == 413


def test_any_other_request_over_two_megabytes_is_refused(client: TestClient, runtime: Runtime) -> None:
    me = sign_in_as(client, runtime, "viewer")
    response = client.post("/account/password", data={"csrf_token": me.csrf_token,
                                                      "new_password": "x" * MAX_BODY_BYTES})
    assert response.status_code == 413


def test_a_body_sent_without_a_length_is_counted_as_it_arrives(client: TestClient, runtime: Runtime) -> None:
    me = sign_in_as(client, runtime, "viewer")

    def chunks() -> Iterator[bytes]:
        yield f"csrf_token={me.csrf_token}&note=".encode()
        for _ in range(3):
            yield b"x" * (1024 * 1024)

    response = client.post("/account/password", content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_the_app_serves_no_uploaded_file_only_its_own_static_files(app: FastAPI, client: TestClient) -> None:
    mounts = [entry for entry in route_table(app) if not entry.methods]
    assert [entry.path for entry in mounts] == ["/static"]
    assert mounts[0].route.app.directory == STATIC_DIR  # type: ignore[attr-defined]
    for name, content_type in (("app.css", "text/css"), ("app.js", "text/javascript")):
        served = client.get(f"/static/{name}")
        assert served.status_code == 200 and served.headers["content-type"].startswith(content_type)
        assert served.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("address", [
    "javascript:alert(document.cookie)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>",
    "vbscript:msgbox", "//evil.example/x.png", "file:///etc/passwd", "https://", "",
])
def test_evidence_shown_from_tiktok_links_only_to_web_addresses(address: str) -> None:
    # The case page puts TikTok's evidence URLs into src/href attributes; anything but http(s) is dropped.
    assert web_address(address) == ""


def test_an_https_evidence_address_is_kept() -> None:
    url = "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/abc~tplv.jpeg"
    assert web_address(url) == url
