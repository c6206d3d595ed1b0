"""TMDB artwork: building image URLs from ``/configuration`` and downloading them safely.

The image CDN (image.tmdb.org) is not under the API's request-rate limit; it only caps
simultaneous connections per IP at 20 (research notes §3).  Downloads therefore skip the
API limiter and hold one of a few connection slots instead (default 4, well under 20
even with several sidecars behind one NAT).

A download is accepted only when it is whole and really an image: an HTML error page or
a body cut short by a dropped connection would otherwise land on disk as ``poster.jpg``
and the player would show a broken picture until the next refresh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import requests

from .errors import TmdbBadResponse, TmdbError, TmdbNotFound
from .tmdbhttp import RETRY_STATUSES, Transport

log = logging.getLogger("sidecar.tmdb")

# Preferred size per image kind.  Close to Jellyfin's choices, one notch larger for posters
# because players on 4K screens show them large: poster/season poster w780 (~0.1 MB),
# backdrop (fanart) w1280, episode still (thumb) w300, person profile w185, logo w500.
IMAGE_SIZES: Mapping[str, str] = {
    "poster": "w780",
    "backdrop": "w1280",
    "still": "w300",
    "profile": "w185",
    "logo": "w500",
}
MAX_IMAGE_WAIT = 60.0  # seconds; a longer Retry-After from the CDN is cut to this
_CONFIG_KEYS = {"poster": "poster_sizes", "backdrop": "backdrop_sizes", "still": "still_sizes",
                "profile": "profile_sizes", "logo": "logo_sizes"}


def choose_size(wanted: str, available: list[str]) -> str:
    """``wanted`` if TMDB offers it, else the smallest offered width above it, else original."""
    if not available or wanted in available:
        return wanted
    width = int(wanted[1:])
    wider = sorted(int(s[1:]) for s in available if s[:1] == "w" and s[1:].isdigit())
    bigger = [w for w in wider if w >= width]
    return f"w{bigger[0]}" if bigger else "original"


def build_image_url(configuration: Mapping[str, Any], path: str | None, kind: str) -> str | None:
    """``secure_base_url + size + path`` for an image path from TMDB; None for no image.

    SVG logos are asked for as PNG: TMDB renders any size of them that way (and a
    rasterised logo passes the same "is it an image" check as every other download).
    """
    if kind not in IMAGE_SIZES:
        raise ValueError(f"unknown image kind {kind!r}; one of {sorted(IMAGE_SIZES)}")
    if not path:
        return None
    images = configuration.get("images")
    base = images.get("secure_base_url") if isinstance(images, dict) else None
    if not isinstance(base, str) or not base:
        raise TmdbBadResponse("/configuration has no images.secure_base_url")
    sizes = images.get(_CONFIG_KEYS[kind]) if isinstance(images, dict) else None
    size = choose_size(IMAGE_SIZES[kind], [s for s in sizes or [] if isinstance(s, str)])
    path = path if path.startswith("/") else "/" + path
    if kind == "logo" and path.lower().endswith(".svg"):
        path = path[:-4] + ".png"
    return base.rstrip("/") + "/" + size + path


def image_format(body: bytes) -> str | None:
    """"jpeg", "png" or "webp" from the magic bytes, None for anything else."""
    if body.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    return None


def checked_image(url: str, response: requests.Response) -> bytes:
    """The body of a 200 image answer, or TmdbBadResponse when it is not a whole image."""
    kind = response.headers.get("Content-Type", "")
    if not kind.lower().startswith("image/"):
        raise TmdbBadResponse(f"{url}: not an image (Content-Type {kind or 'missing'})")
    body = response.content
    declared = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if declared.isdigit() and not encoded and int(declared) != len(body):
        raise TmdbBadResponse(f"{url}: truncated image ({len(body)} of {declared} bytes)")
    found = image_format(body)
    if found is None:
        raise TmdbBadResponse(f"{url}: {kind} body is not JPEG, PNG or WebP")
    if not image_complete(body, found):
        raise TmdbBadResponse(f"{url}: truncated {found} image (it does not end where it should)")
    return body


def image_complete(body: bytes, found: str) -> bool:
    """Whether a body of format ``found`` (see ``image_format``) runs to its format's end.

    A body cut short can arrive with a Content-Length that matches what arrived (a proxy or
    CDN edge re-framing a broken upstream answer), so the length check alone lets half a
    poster through: JPEG must end with its EOI marker, PNG with its IEND chunk, and WebP
    must be as long as its RIFF header says.
    """
    if found == "jpeg":
        return body.rstrip(b"\x00").endswith(b"\xff\xd9")  # some encoders pad after EOI
    if found == "png":
        return body.endswith(b"IEND\xaeB`\x82")
    return len(body) >= int.from_bytes(body[4:8], "little") + 8


class ImageFetcher:
    """Downloads artwork with the transport's retry policy but its own connection cap."""

    def __init__(self, transport: Transport, session: requests.Session, connections: int) -> None:
        self.transport, self.session = transport, session
        self.slots = threading.BoundedSemaphore(max(1, connections))

    def download(self, url: str) -> bytes:
        try:
            return self._download(url)
        except TmdbError as exc:
            self.transport.stats.error(exc.reason)
            raise

    def _download(self, url: str) -> bytes:
        def send() -> requests.Response:
            self.transport.stats.bump("image_requests")
            with self.slots:
                return self.session.get(url, timeout=self.transport.timeout)

        response = self.transport.run(f"GET {url}", send, self._verdict)
        status = response.status_code
        if status == 404:
            raise TmdbNotFound(f"{url}: HTTP 404")
        if status != 200:
            raise TmdbError(f"{url}: HTTP {status}")
        return checked_image(url, response)

    def _verdict(self, response: requests.Response, attempt: int) -> float | None:
        """Retry 5xx and 429 (honouring Retry-After) without touching the API limiter."""
        if response.status_code == 429:
            wait = self.transport.retry_after(response)
            return self.transport.backoff(attempt) if wait is None else min(wait, MAX_IMAGE_WAIT)
        if response.status_code in RETRY_STATUSES:
            return self.transport.backoff(attempt)
        return None
