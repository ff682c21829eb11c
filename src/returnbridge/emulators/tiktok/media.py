"""Images for ``/_emulator/media/{key}``: deterministic solid-colour JPEG/PNG bytes, plus uploaded images.

Product and evidence image URLs in API payloads point here so that a back-office can show real pictures offline.
The same key always gives the same bytes (the colour comes from a hash of the key). A tiny baseline JPEG
encoder is enough for a solid colour: every 8×8 block has only a DC coefficient. ``image_size`` reads the width and
height of an uploaded PNG/JPEG/GIF/WebP from its header, as the upload endpoint reports them.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import zlib

# One Huffman table for DC (the standard luminance DC spec, categories 0–11) and a one-symbol AC table holding
# only end-of-block: a solid block never has an AC coefficient.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
_AC_BITS = (1,) + (0,) * 15
_AC_VALUES = (0x00,)


def _huffman_codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    index = 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return codes


_DC_CODES = _huffman_codes(_DC_BITS, _DC_VALUES)
_EOB = _huffman_codes(_AC_BITS, _AC_VALUES)[0x00]


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._n = 0

    def write(self, value: int, length: int) -> None:
        self._acc = (self._acc << length) | (value & ((1 << length) - 1))
        self._n += length
        while self._n >= 8:
            self._n -= 8
            byte = (self._acc >> self._n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0x00)  # byte stuffing inside entropy-coded data
        self._acc &= (1 << self._n) - 1

    def flush(self) -> bytes:
        if self._n:
            self.write((1 << (8 - self._n)) - 1, 8 - self._n)  # pad with 1-bits
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def _dht(table_class: int, table_id: int, bits: tuple[int, ...], values: tuple[int, ...]) -> bytes:
    return _segment(0xFFC4, bytes([(table_class << 4) | table_id, *bits, *values]))


def encode_jpeg(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid baseline JPEG (JFIF, 4:4:4, quality table of ones) filled with one colour."""
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    # With a quantisation table of ones the DC coefficient of a flat block is 8 × (value − 128).
    dcs = [round(8 * (v - 128)) for v in (y, cb, cr)]
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    writer = _BitWriter()
    previous = [0, 0, 0]
    for _ in range(blocks):
        for component in range(3):
            diff = dcs[component] - previous[component]
            previous[component] = dcs[component]
            category = abs(diff).bit_length()
            code, length = _DC_CODES[category]
            writer.write(code, length)
            if category:
                writer.write(diff if diff >= 0 else diff + (1 << category) - 1, category)
            writer.write(*_EOB)
    components = b"".join(bytes([cid, 0x11, 0]) for cid in (1, 2, 3))
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xFFDB, b"\x00" + b"\x01" * 64),
            _segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 3) + components),
            _dht(0, 0, _DC_BITS, _DC_VALUES),
            _dht(1, 0, _AC_BITS, _AC_VALUES),
            _segment(0xFFDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])),
            writer.flush(),
            b"\xff\xd9",
        )
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid 8-bit RGB PNG filled with one colour."""
    row = b"\x00" + bytes(rgb) * width
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            _png_chunk(b"IDAT", zlib.compress(row * height, 9)),
            _png_chunk(b"IEND", b""),
        )
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG, JPEG, GIF or WebP header; None when the bytes are none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF_MARKERS:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if marker == 0xDA:  # start of scan before any frame header: not a JPEG we can size
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


# The sizes the World states next to these URLs: 600×600 product/evidence images, 720×1280 video covers.
IMAGE_SIZE = (600, 600)
COVER_SIZE = (720, 1280)


def generated_image(key: str) -> tuple[bytes, str]:
    """Deterministic bytes and content type for a media key: PNG for ``*.png``, JPEG otherwise; the colour comes
    from a hash of the key, the size matches what the API payloads state for that kind of key."""
    digest = hashlib.sha256(key.encode()).digest()
    stem = key.rsplit(".", 1)[0]
    width, height = COVER_SIZE if stem.endswith("-cover") else IMAGE_SIZE
    rgb = (digest[2], digest[3], digest[4])
    if key.lower().endswith(".png"):
        return encode_png(width, height, rgb), "image/png"
    return encode_jpeg(width, height, rgb), "image/jpeg"


class MediaLibrary:
    """Uploaded images by URI, and generated ones for every other key (bounded cache)."""

    def __init__(self, max_cached: int = 512) -> None:
        self._uploads: dict[str, tuple[bytes, str]] = {}
        self._cache: dict[str, tuple[bytes, str]] = {}
        self._max_cached = max_cached
        self._lock = threading.Lock()

    def add_upload(self, uri: str, data: bytes, content_type: str) -> None:
        with self._lock:
            self._uploads[uri] = (data, content_type)

    def get(self, key: str) -> tuple[bytes, str]:
        with self._lock:
            found = self._uploads.get(key) or self._cache.get(key)
        if found is not None:
            return found
        found = generated_image(key)
        with self._lock:
            if len(self._cache) >= self._max_cached:
                self._cache.clear()
            self._cache[key] = found
        return found


def content_type_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:3] == b"GIF":
        return "image/gif"
    if data[:4] == b"RIFF":
        return "image/webp"
    return "application/octet-stream"


def multipart_boundary(content_type: str) -> str | None:
    """The ``boundary`` parameter of a ``multipart/form-data`` content type, unquoted."""
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    return None


def parse_multipart(body: bytes, boundary: str) -> dict[str, tuple[bytes, str | None]]:
    """Form fields by name: (content, filename). Enough of RFC 7578 for uploads from any HTTP client."""
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, tuple[bytes, str | None]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # closing delimiter
            break
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            if header.strip().lower() != "content-disposition":
                continue
            for param in value.split(";"):
                key, _, raw = param.strip().partition("=")
                if key == "name":
                    name = raw.strip('"')
                elif key == "filename":
                    filename = raw.strip('"')
        if name is not None and name not in fields:
            fields[name] = (content, filename)
    return fields
