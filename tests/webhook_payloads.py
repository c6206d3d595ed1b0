"""Webhook bodies shaped exactly like the real ones (research: host-integration.md 1 and 4).

Plex posts ``multipart/form-data`` with the JSON in ``payload`` (and a ``thumb`` JPEG for
some events); the Jellyfin webhook plugin posts either our Handlebars template rendered
as ``text/plain`` or, with "Send All Properties", its whole flat dictionary as JSON.
Shared by the blueprint tests, the end-to-end test and the webhook benchmark.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

# A few bytes that start like a JPEG: Plex attaches a small poster to library.new.
THUMB = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def plex_payload(event: str, rating_key: str | int, *, kind: str = "movie",
                 title: str = "Heat", year: int = 1995, guids: tuple[str, ...] = (),
                 section: int = 1) -> dict[str, Any]:
    """The five parts of a Plex webhook; ``Metadata`` as PMS sends it (no file path)."""
    meta: dict[str, Any] = {
        "librarySectionType": "show" if kind in ("episode", "season", "show") else "movie",
        "ratingKey": str(rating_key),
        "key": f"/library/metadata/{rating_key}",
        "guid": f"plex://{kind}/5d776b59ad5437001f79c6f8",
        "type": kind,
        "title": title,
        "librarySectionTitle": "Movies" if kind == "movie" else "TV Shows",
        "librarySectionID": section,
        "librarySectionKey": f"/library/sections/{section}",
        "contentRating": "R",
        "summary": "A group of professional bank robbers...",
        "year": year,
        "thumb": f"/library/metadata/{rating_key}/thumb/1700000000",
        "art": f"/library/metadata/{rating_key}/art/1700000000",
        "duration": 10200000,
        "originallyAvailableAt": f"{year}-12-15",
        "addedAt": 1700000000,
        "updatedAt": 1700000000,
        "Guid": [{"id": g} for g in guids],
    }
    if kind == "episode":
        meta.update(parentTitle="Season 1", parentIndex=1, index=1, grandparentTitle="Show",
                    parentRatingKey="2001", grandparentRatingKey="2000")
    return {
        "event": event, "user": True, "owner": True,
        "Account": {"id": 1, "thumb": "https://plex.tv/users/abc/avatar", "title": "owner"},
        "Server": {"title": "plexserver", "uuid": "0123456789abcdef0123456789abcdef01234567"},
        "Player": {"local": True, "publicAddress": "203.0.113.7", "title": "Living Room",
                   "uuid": "player-uuid"},
        "Metadata": meta,
    }


def jellyfin_template(item_id: str, *, item_type: str = "Movie", name: str = "Heat",
                      year: int | str = 1995, tmdb: str = "", series: str = "",
                      season: int | str = "", episode: int | str = "",
                      event: str = "ItemAdded") -> bytes:
    """Our shipped template (plugin/jellyfin_webhook_template.handlebars), rendered."""
    lines = [f'"NotificationType": "{event}"', f'"ItemId": "{item_id}"',
             f'"ItemType": "{item_type}"', f'"Year": "{year}"']
    if tmdb:
        lines.append(f'"Provider_tmdb": "{tmdb}"')
    if series:
        lines.append(f'"SeriesName": "{series}"')
    lines += [f'"SeasonNumber": "{season}"', f'"EpisodeNumber": "{episode}"',
              f'"Name": "{name}"']
    return ("{\n  " + ",\n  ".join(lines) + "\n}\n").encode()


def jellyfin_all_properties(item_id: str, *, item_type: str = "Movie", name: str = "Heat",
                            year: int = 1995, tmdb: str = "949",
                            event: str = "ItemAdded") -> bytes:
    """"Send All Properties": the plugin's whole dictionary, JSON-serialised."""
    data: dict[str, Any] = {
        "ServerId": "f4c7e2d1a0b94c8d9e7f6a5b4c3d2e1f", "ServerName": "jellyfin",
        "ServerVersion": "10.11.2", "ServerUrl": "http://localhost:8096",
        "NotificationType": event, "Timestamp": "2025-11-24T03:00:00.1234567+01:00",
        "UtcTimestamp": "2025-11-24T02:00:00.1234567Z", "Name": name,
        "Overview": "A group of professional bank robbers...", "Tagline": "",
        "ItemId": item_id, "ItemType": item_type, "RunTimeTicks": 102000000000,
        "RunTime": "02:50:00", "Year": year, "PremiereDate": f"{year}-12-15",
        "Genres": "Action, Crime", "Provider_tmdb": tmdb, "Provider_imdb": "tt0113277",
        "Video_0_Title": "1080p H264 SDR", "Video_0_Codec": "h264", "Audio_0_Language": "eng",
    }
    return json.dumps(data).encode()


def jellyfin_id() -> str:
    return uuid.uuid4().hex


def post_plex(url: str, payload: dict[str, Any], *, token: str, thumb: bool = True,
              timeout: float = 10) -> requests.Response:
    """POST like PMS does: multipart, ``payload`` field, optional ``thumb`` file part."""
    files: dict[str, Any] = {"payload": (None, json.dumps(payload))}
    if thumb:
        files["thumb"] = ("thumb.jpg", THUMB, "image/jpeg")
    return requests.post(f"{url}/webhooks/plex", params={"token": token}, files=files,
                         timeout=timeout)


def post_jellyfin(url: str, body: bytes, *, token: str, timeout: float = 10) -> requests.Response:
    """POST like the plugin's Generic destination: ``text/plain``, token in a header."""
    return requests.post(f"{url}/webhooks/jellyfin", data=body, timeout=timeout,
                         headers={"Content-Type": "text/plain; charset=utf-8",
                                  "X-Scanarr-Token": token})
