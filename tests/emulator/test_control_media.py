"""Images served under /_emulator/media and read by the upload endpoint: real, deterministic, sized."""

from __future__ import annotations

import struct
import zlib

import httpx
import pytest

from returnbridge.emulators.tiktok.media import (
    encode_jpeg,
    encode_png,
    generated_image,
    image_size,
    multipart_boundary,
    parse_multipart,
)


def test_generated_jpeg_reports_its_own_size() -> None:
    assert image_size(encode_jpeg(203, 101, (200, 30, 40))) == (203, 101)


def test_generated_jpeg_has_the_jpeg_frame_markers() -> None:
    data = encode_jpeg(16, 16, (1, 2, 3))
    assert data.startswith(b"\xff\xd8\xff\xe0") and data.endswith(b"\xff\xd9")
    assert b"\xff\xc0" in data and b"\xff\xda" in data


def test_generated_png_decodes_to_the_requested_colour() -> None:
    data = encode_png(3, 2, (10, 20, 30))
    assert image_size(data) == (3, 2)
    length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    pixels = zlib.decompress(data[41 : 41 + length])
    assert pixels == (b"\x00" + bytes([10, 20, 30]) * 3) * 2


def test_same_key_gives_the_same_bytes_and_png_suffix_gives_png() -> None:
    assert generated_image("a.jpg") == generated_image("a.jpg")
    assert generated_image("a.jpg")[0] != generated_image("b.jpg")[0]
    assert generated_image("x.png")[1] == "image/png"
    assert generated_image("x.jpg")[1] == "image/jpeg"


def test_generated_images_have_the_sizes_the_payloads_state() -> None:
    assert image_size(generated_image("sku-1.jpg")[0]) == (600, 600)
    assert image_size(generated_image("video-1-cover.jpg")[0]) == (720, 1280)


def test_gif_and_webp_sizes_are_read() -> None:
    assert image_size(b"GIF89a" + struct.pack("<HH", 40, 30) + b"\x00" * 10) == (40, 30)
    vp8x = b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 8 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little")
    assert image_size(vp8x) == (100, 50)


def test_non_images_have_no_size() -> None:
    assert image_size(b"%PDF-1.7 hello") is None
    assert image_size(b"\xff\xd8\xff") is None


def test_multipart_body_built_by_httpx_is_parsed() -> None:
    request = httpx.Request("POST", "http://x/", files={"data": ("a.png", b"\x89PNGbytes", "image/png")},
                            data={"use_case": "MAIN_IMAGE"})
    body = request.read()
    boundary = multipart_boundary(request.headers["content-type"])
    assert boundary is not None
    fields = parse_multipart(body, boundary)
    assert fields["data"] == (b"\x89PNGbytes", "a.png")
    assert fields["use_case"] == (b"MAIN_IMAGE", None)


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data", "text/plain; boundary=x"])
def test_no_boundary_outside_multipart_form_data(content_type: str) -> None:
    assert multipart_boundary(content_type) is None
