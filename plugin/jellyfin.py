"""Jellyfin adapter: webhook plugin payloads, item paths and targeted rescans over REST.

Speaks plain ``requests`` with ``Authorization: MediaBrowser Token="<api key>"`` (the
form current and future Jellyfin accept; the legacy ``X-Emby-Token`` is off by default
on master).  Webhooks come from jellyfin-plugin-webhook's *Generic* destination, which
POSTs ``text/plain`` unless told otherwise, so the body is parsed as JSON whatever the
Content-Type.  Both our template (``jellyfin_webhook_template.handlebars``) and the
plugin's "Send All Properties" dictionary use the same key names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from sidecar.errors import BadRequest, HostError
from sidecar.host import ADDED, IGNORED, Host, HostEvent, MappedHost, json_object, text_of
from sidecar.pathmap import PathMapper

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
_STRAY_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_REPAIR_LIMIT = 256 * 1024  # real bodies are a few KB; do not regex megabytes of junk
_JSON_ESCAPES = frozenset('"\\/bfnrtu')
TEMPLATE_PATH = Path(__file__).with_name("jellyfin_webhook_template.handlebars")
NEW_ITEM_EVENT = "ItemAdded"
_ITEM_TYPES = {"Movie": "movie", "Episode": "episode", "Series": "show", "Season": "season"}
_PROVIDERS = {"Provider_tmdb": "tmdb", "Provider_imdb": "imdb", "Provider_tvdb": "tvdb"}


def parse_webhook(
    body: bytes, content_type: str, form: Mapping[str, str] | None = None
) -> HostEvent:
    """One webhook-plugin request -> HostEvent; BadRequest with the reason otherwise.

    ``content_type`` is deliberately ignored (the plugin sends ``text/plain``); a
    form-encoded body (the *GenericForm* destination) is accepted through ``form``.
    """
    data: dict[str, Any] = dict(form) if form and not body.strip() else _decode(body)
    event = text_of(data.get("NotificationType"))
    if not event:
        raise BadRequest("Jellyfin webhook has no NotificationType (check the template)")
    item_id = text_of(data.get("ItemId"))
    if event == NEW_ITEM_EVENT and not item_id:
        raise BadRequest("Jellyfin ItemAdded without ItemId (check the template)")
    item_type = _ITEM_TYPES.get(text_of(data.get("ItemType")), "other")
    return HostEvent(
        host="jellyfin",
        kind=ADDED if event == NEW_ITEM_EVENT and item_type != "other" else IGNORED,
        item_id=item_id,
        item_type=item_type,
        title=_title(data, item_type),
        ids={
            key: text_of(data[field])
            for field, key in _PROVIDERS.items()
            if text_of(data.get(field))
        },
        event=event,
    )


def _decode(body: bytes) -> dict[str, Any]:
    """JSON object from the body, forgiving one known template flaw.

    The plugin escapes only quotes in names, so ``AC\\DC`` renders as an invalid
    ``"AC\\DC"`` escape; a title for the log must not cost us the event, so stray
    backslashes are doubled and the body parsed once more.
    """
    try:
        return json_object(body, "Jellyfin webhook body")
    except BadRequest as err:
        if err.status != 400 or b"\\" not in body or len(body) > _REPAIR_LIMIT:
            raise
        text = body.decode("utf-8-sig", "replace")
        repaired = _STRAY_ESCAPE.sub(lambda m: m[0] if m[1] in _JSON_ESCAPES else "\\" + m[0], text)
        try:
            return json_object(repaired, "Jellyfin webhook body")
        except BadRequest:
            raise err from None


def webhook_template() -> str:
    """The Handlebars template users paste into the webhook plugin (shown by the settings page)."""
    return TEMPLATE_PATH.read_text(encoding="utf-8")


def _title(data: Mapping[str, Any], item_type: str) -> str:
    name, series = text_of(data.get("Name")), text_of(data.get("SeriesName"))
    if item_type == "episode":
        season, episode = text_of(data.get("SeasonNumber")), text_of(data.get("EpisodeNumber"))
        if season.isdigit() and episode.isdigit():
            return f"{series} S{int(season):02d}E{int(episode):02d} {name}".strip()
    if item_type in ("episode", "season"):
        return f"{series} {name}".strip()
    year = text_of(data.get("Year"))
    return f"{name} ({year})" if name and year.isdigit() else name


class JellyfinHost:
    """:class:`sidecar.host.Host` for Jellyfin (paths after its network path substitution)."""

    name = "jellyfin"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"JellyfinHost({self.url!r})"  # never the key

    def parse_webhook(
        self, body: bytes, content_type: str, form: Mapping[str, str] | None = None
    ) -> HostEvent:
        return parse_webhook(body, content_type, form)

    def resolve_paths(self, event: HostEvent) -> list[str]:
        """``Items[0].Path``: a file for movies/episodes, the folder for series/seasons."""
        item = self._item(event.item_id)
        path = text_of(item.get("Path"))
        if not path and item.get("Type") == "Season" and text_of(item.get("SeriesId")):
            path = text_of(self._item(text_of(item["SeriesId"])).get("Path"))  # virtual season
        if not path:
            raise HostError(f"Jellyfin item {event.item_id} has no path")
        return [path]

    def refresh(self, paths: Sequence[str]) -> None:
        """One ``POST /Library/Media/Updated`` for the whole batch."""
        unique = list(dict.fromkeys(p for p in paths if p))
        if unique:
            updates = [{"Path": p, "UpdateType": "Modified"} for p in unique]
            self._request("POST", "/Library/Media/Updated", json={"Updates": updates})

    def active_sessions(self) -> int:
        try:
            sessions = self._request("GET", "/Sessions", params={"activeWithinSeconds": 60})
        except HostError as err:
            log.debug("jellyfin: session count unknown: %s", err)
            return 0
        if not isinstance(sessions, list):
            return 0
        return sum(1 for s in sessions if isinstance(s, dict) and s.get("NowPlayingItem"))

    def test_connection(self) -> str:
        info = self._request("GET", "/System/Info")
        if not isinstance(info, dict):
            raise HostError("Jellyfin /System/Info did not answer an object")
        return f"Jellyfin {text_of(info.get('ServerName'))} {text_of(info.get('Version'))}".strip()

    def _item(self, item_id: str) -> dict[str, Any]:
        if not item_id:
            raise HostError("no Jellyfin item id to look up")
        data = self._request("GET", "/Items", params={"ids": item_id, "fields": "Path"})
        items = data.get("Items") if isinstance(data, dict) else None
        if not items or not isinstance(items[0], dict):
            raise HostError(f"unknown item: Jellyfin has no item {item_id}")
        return dict(items[0])

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call -> decoded JSON (None for an empty body); HostError on any failure."""
        headers = {
            "Authorization": f'MediaBrowser Token="{self._token}"',
            "Accept": "application/json",
        }
        try:
            resp = self._session.request(
                method, self.url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as err:
            raise HostError(f"Jellyfin unreachable at {self.url}: {type(err).__name__}") from None
        if resp.status_code in (401, 403):
            raise HostError(f"Jellyfin rejected the API key ({resp.status_code} on {path})")
        if not resp.ok:
            raise HostError(f"Jellyfin answered {resp.status_code} on {method} {path}")
        if not resp.content.strip():
            return None
        try:
            return resp.json()
        except ValueError:
            raise HostError(f"Jellyfin answered non-JSON on {method} {path}") from None


def create(
    url: str,
    token: str,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    path_map: PathMapper | None = None,
) -> Host:
    """Factory used by :func:`sidecar.host.load_host`; with ``path_map`` paths are local."""
    host = JellyfinHost(url, token, session=session, timeout=timeout)
    return MappedHost(host, path_map) if path_map is not None else host
