"""Plex webhook payloads -> HostEvent (pure: no network, no plexapi).

Plex POSTs ``multipart/form-data`` with the JSON in the ``payload`` field and, for
some events, a small JPEG in a ``thumb`` file part (ignored here).  Only
``library.new`` for a movie/episode/show/season triggers work; everything else
(``media.play``, ``media.scrobble``, ``library.on.deck``, ``admin.database.backup``,
music and photos) is answered but ignored.  The payload carries no file path: the
``ratingKey`` is resolved later through the API (``plugin.plex.PlexHost``).
"""

from __future__ import annotations

from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast
from urllib.parse import parse_qs

from sidecar.errors import BadRequest
from sidecar.host import ADDED, IGNORED, MAX_WEBHOOK_BYTES, HostEvent, json_object, text_of

NEW_ITEM_EVENT = "library.new"
_ITEM_TYPES = {"movie": "movie", "episode": "episode", "show": "show", "season": "season"}
_ID_SCHEMES = frozenset({"tmdb", "imdb", "tvdb"})


def parse_webhook(
    body: bytes, content_type: str, form: Mapping[str, str] | None = None
) -> HostEvent:
    """Turn one Plex webhook request into a HostEvent; BadRequest with the reason otherwise."""
    data = json_object(payload_field(body, content_type, form), "Plex webhook payload")
    event = text_of(data.get("event"))
    if not event:
        raise BadRequest("Plex webhook payload has no 'event'")
    meta = data.get("Metadata") or {}
    if not isinstance(meta, dict):
        raise BadRequest("Plex webhook 'Metadata' must be an object")
    item_type = _ITEM_TYPES.get(text_of(meta.get("type")), "other")
    rating_key = text_of(meta.get("ratingKey"))
    if event == NEW_ITEM_EVENT:
        _check_rating_key(rating_key)
    kind = ADDED if event == NEW_ITEM_EVENT and item_type != "other" else IGNORED
    return HostEvent(
        host="plex",
        kind=kind,
        item_id=rating_key,
        item_type=item_type,
        title=_title(meta, item_type),
        ids=guid_ids(meta.get("Guid")),
        event=event,
    )


def payload_field(body: bytes, content_type: str, form: Mapping[str, str] | None) -> bytes | str:
    """The raw JSON text: the ``payload`` form field, or the body itself when sent as JSON."""
    if form is not None and "payload" in form:
        return form["payload"]
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "multipart/form-data":
        return _multipart_field(body, content_type, "payload")
    if mime == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8", "replace")).get("payload")
        if values:
            return values[0]
    elif mime == "application/json":
        return body
    raise BadRequest(
        "expected multipart/form-data with a 'payload' field (a Plex webhook), "
        f"got {mime or 'no content type'}"
    )


def _multipart_field(body: bytes, content_type: str, name: str) -> bytes:
    """One non-file field of a multipart body, parsed with the stdlib MIME parser."""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise BadRequest(f"webhook body is larger than {MAX_WEBHOOK_BYTES} bytes", status=413)
    if "\r" in content_type or "\n" in content_type or "boundary=" not in content_type.lower():
        raise BadRequest("multipart/form-data without a usable boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = cast(EmailMessage, BytesParser(policy=policy.HTTP).parsebytes(head + body))
    if message.is_multipart():
        for part in message.iter_parts():
            part = cast(EmailMessage, part)
            if (
                part.get_param("name", header="content-disposition") == name
                and not part.get_filename()
            ):
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload
    raise BadRequest(f"multipart body has no {name!r} field")


def _check_rating_key(rating_key: str) -> None:
    if not rating_key:
        raise BadRequest("Plex library.new without Metadata.ratingKey")
    if not rating_key.isdigit():
        raise BadRequest(f"Plex Metadata.ratingKey must be numeric, got {rating_key[:40]!r}")


def guid_ids(guids: Any) -> dict[str, str]:
    """``[{"id": "tmdb://123"}, {"id": "imdb://tt1"}]`` -> ``{"tmdb": "123", "imdb": "tt1"}``."""
    ids: dict[str, str] = {}
    if not isinstance(guids, list):
        return ids
    for guid in guids:
        value = text_of(guid.get("id")) if isinstance(guid, dict) else ""
        scheme, sep, ident = value.partition("://")
        if sep and scheme.lower() in _ID_SCHEMES and ident.strip():
            ids.setdefault(scheme.lower(), ident.strip())
    return ids


def _title(meta: Mapping[str, Any], item_type: str) -> str:
    """A log-friendly title: ``Show S02E03 Title`` for episodes, ``Title (Year)`` for movies."""
    title = text_of(meta.get("title"))
    if item_type == "episode":
        season, episode = text_of(meta.get("parentIndex")), text_of(meta.get("index"))
        show = text_of(meta.get("grandparentTitle"))
        if season.isdigit() and episode.isdigit():
            return f"{show} S{int(season):02d}E{int(episode):02d} {title}".strip()
        return f"{show} {title}".strip()
    if item_type == "season":
        return f"{text_of(meta.get('parentTitle'))} {title}".strip()
    year = text_of(meta.get("year"))
    return f"{title} ({year})" if title and year else title
