"""Image URL building and image validation helpers."""

from __future__ import annotations

import pytest

from sidecar.errors import TmdbBadResponse
from sidecar.tmdbimages import build_image_url, choose_size, image_complete, image_format

BASE = "https://image.tmdb.org/t/p/"


@pytest.mark.parametrize(("wanted", "available", "chosen"), [
    ("w780", ["w92", "w500", "w780", "original"], "w780"),
    ("w780", ["w92", "w500", "w1000", "original"], "w1000"),
    ("w1280", ["w300", "w780", "original"], "original"),
    ("w300", [], "w300"),  # no list from TMDB: trust the default
])
def test_choose_size(wanted: str, available: list[str], chosen: str) -> None:
    assert choose_size(wanted, available) == chosen


def test_build_image_url() -> None:
    config = {"images": {"secure_base_url": BASE, "poster_sizes": ["w500", "original"]}}
    assert build_image_url(config, "/a.jpg", "poster") == BASE + "original/a.jpg"
    assert build_image_url(config, "/a.jpg", "backdrop") == BASE + "w1280/a.jpg"
    assert build_image_url(config, "", "poster") is None
    with pytest.raises(TmdbBadResponse):
        build_image_url({"images": {}}, "/a.jpg", "poster")
    with pytest.raises(ValueError):
        build_image_url(config, "/a.jpg", "fanart")


@pytest.mark.parametrize(("body", "kind"), [
    (b"\xff\xd8\xff\xe0rest", "jpeg"),
    (b"\x89PNG\r\n\x1a\nrest", "png"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
    (b"<html>", None),
    (b"", None),
])
def test_image_format(body: bytes, kind: str | None) -> None:
    assert image_format(body) == kind


@pytest.mark.parametrize(("body", "kind", "whole"), [
    (b"\xff\xd8\xff\xe0data\xff\xd9", "jpeg", True),
    (b"\xff\xd8\xff\xe0data\xff\xd9\x00\x00", "jpeg", True),  # padding after EOI
    (b"\xff\xd8\xff\xe0da", "jpeg", False),  # cut short: no EOI
    (b"\x89PNG\r\n\x1a\n...\x00\x00\x00\x00IEND\xaeB`\x82", "png", True),
    (b"\x89PNG\r\n\x1a\n...IDAT", "png", False),
    (b"RIFF\x08\x00\x00\x00WEBPVP8 ", "webp", True),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp", False),
])
def test_image_complete(body: bytes, kind: str, whole: bool) -> None:
    """Half an image with a matching Content-Length must not reach the disk."""
    assert image_complete(body, kind) is whole
