"""Image host side of the fake TMDB: the size lists and the JPEG bytes it serves.

The image files are generated, not stored: a real (decodable) baseline grayscale JPEG whose
pixel size follows the requested TMDB size (``w500`` -> 500 px wide, poster 2:3 shape), with
a comment segment naming the size and file, so a test can tell *which* image a client saved
and a decoder still accepts it.  Everything is deterministic: the same URL gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

POSTER_SIZES = ("w92", "w154", "w185", "w342", "w500", "w780", "original")
BACKDROP_SIZES = ("w300", "w780", "w1280", "original")
LOGO_SIZES = ("w45", "w92", "w154", "w185", "w300", "w500", "original")
PROFILE_SIZES = ("w45", "w185", "h632", "original")
STILL_SIZES = ("w92", "w185", "w300", "original")
ALL_SIZES = frozenset(POSTER_SIZES + BACKDROP_SIZES + LOGO_SIZES + PROFILE_SIZES + STILL_SIZES)

ORIGINAL_WIDTH = 1000
_IMAGE_FILE = re.compile(r"^[A-Za-z0-9_\-]+\.(jpg|jpeg|png|svg)$")

# Standard luminance DC table (ITU T.81 Annex K.3): categories 0..11.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALS = tuple(range(12))
# A one-symbol AC table: every block is "DC only, then end-of-block".
_AC_BITS = (1,) + (0,) * 15
_AC_VALS = (0x00,)


def is_valid_size(size: str) -> bool:
    return size in ALL_SIZES


def is_image_file(name: str) -> bool:
    return bool(_IMAGE_FILE.match(name))


def dimensions(size: str) -> tuple[int, int]:
    """Pixel size for a TMDB size name; every image is poster-shaped (2:3)."""
    if size.startswith("w"):
        width = int(size[1:])
        return width, round(width * 1.5)
    if size.startswith("h"):
        height = int(size[1:])
        return round(height / 1.5), height
    return ORIGINAL_WIDTH, round(ORIGINAL_WIDTH * 1.5)


def image_bytes(size: str, file_name: str) -> bytes:
    """The JPEG served at ``/t/p/{size}/{file_name}``."""
    width, height = dimensions(size)
    digest = hashlib.sha1(file_name.encode()).digest()
    gray = 64 + digest[0] % 128
    return _jpeg(width, height, gray, f"fake-tmdb {size}/{file_name}".encode())


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _huffman_codes(bits: tuple[int, ...], vals: tuple[int, ...]) -> dict[int, str]:
    """Canonical Huffman codes (T.81 Annex C) as bit strings, keyed by symbol."""
    codes: dict[int, str] = {}
    code, k = 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[vals[k]] = format(code, f"0{length}b")
            code, k = code + 1, k + 1
        code <<= 1
    return codes


def _dc_bits(value: int) -> str:
    category = abs(value).bit_length()
    if category == 0:
        return _huffman_codes(_DC_BITS, _DC_VALS)[0]
    raw = value if value > 0 else value + (1 << category) - 1
    return _huffman_codes(_DC_BITS, _DC_VALS)[category] + format(raw, f"0{category}b")


def _scan_data(blocks: int, gray: int) -> bytes:
    """Entropy-coded data: the first block carries the DC level, the rest repeat it."""
    eob = _huffman_codes(_AC_BITS, _AC_VALS)[0x00]
    bits = _dc_bits(gray - 128) + eob + (_dc_bits(0) + eob) * (blocks - 1)
    bits += "1" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return raw.replace(b"\xff", b"\xff\x00")


@lru_cache(maxsize=64)
def _jpeg_body(width: int, height: int, gray: int) -> tuple[bytes, bytes]:
    """(header up to the comment slot, rest): cached because big sizes cost a few ms."""
    blocks = -(-width // 8) * -(-height // 8)
    app0 = _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = _segment(0xDB, b"\x00" + bytes([8] * 64))
    sof0 = _segment(
        0xC0, b"\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big") + b"\x01\x01\x11\x00"
    )
    dht = _segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALS)) + _segment(
        0xC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALS)
    )
    sos = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    head = b"\xff\xd8" + app0
    rest = dqt + sof0 + dht + sos + _scan_data(blocks, gray) + b"\xff\xd9"
    return head, rest


def _jpeg(width: int, height: int, gray: int, comment: bytes) -> bytes:
    head, rest = _jpeg_body(width, height, gray)
    return head + _segment(0xFE, comment[:60000]) + rest
