"""A fake Jellyfin server for the REST calls Scanarr makes.

Routes (all need ``Authorization: MediaBrowser Token="<key>"``, else 401):

* ``GET /Items?ids=a,b&fields=Path``  ``{"Items": [...], "TotalRecordCount": n}``; ``Path``
  only when asked for in ``fields`` (like the real server), unknown ids left out
* ``POST /Library/Media/Updated``     204, body recorded in ``media_updates``
* ``GET /Sessions``                   session list; playing ones carry ``NowPlayingItem``
* ``GET /System/Info``                server name and version
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.fake_host_base import LoopbackFake, Recorded, Reply

_AUTH = re.compile(r"^MediaBrowser\s+(.*)$", re.IGNORECASE)
_PAIR = re.compile(r'(\w+)="([^"]*)"')


def _norm(item_id: str) -> str:
    return item_id.replace("-", "").lower()


class FakeJellyfin(LoopbackFake):
    """In-process Jellyfin double; register items with :meth:`add_item`."""

    def __init__(self, token: str = "jf-key", server_name: str = "FakeJellyfin") -> None:
        super().__init__()
        self.token = token
        self.server_name = server_name
        self.version = "10.11.2"
        self.items: dict[str, dict[str, Any]] = {}
        self.media_updates: list[Any] = []
        self.playing = 0
        self.idle = 0

    def add_item(
        self, item_id: str, path: str | None, type: str = "Movie", name: str = "Item", **extra: Any
    ) -> None:
        item: dict[str, Any] = {
            "Name": name,
            "ServerId": "fake-server",
            "Id": _norm(item_id),
            "Type": type,
        }
        if path is not None:
            item["Path"] = path
        item.update(extra)
        self.items[_norm(item_id)] = item

    def token_of(self, request: Recorded) -> str | None:
        match = _AUTH.match(request.headers.get("authorization", ""))
        return dict(_PAIR.findall(match[1])).get("Token") if match else None

    def handle(self, request: Recorded) -> Reply:
        if self.token_of(request) != self.token:
            return Reply(401, b"", "text/plain")
        route = (request.method, request.path)
        if route == ("GET", "/Items"):
            return self._items(request)
        if route == ("POST", "/Library/Media/Updated"):
            return self._media_updated(request)
        if route == ("GET", "/Sessions"):
            return Reply.of_json(self._sessions())
        if route == ("GET", "/System/Info"):
            return Reply.of_json(
                {
                    "ServerName": self.server_name,
                    "Version": self.version,
                    "Id": "fake-server",
                    "OperatingSystem": "Linux",
                }
            )
        return Reply(404, b"", "text/plain")

    def _items(self, request: Recorded) -> Reply:
        ids = [_norm(i) for i in request.query.get("ids", "").split(",") if i]
        fields = request.query.get("fields", "").split(",")
        found = []
        for item_id in ids:
            if item_id in self.items:
                item = dict(self.items[item_id])
                if "Path" not in fields:
                    item.pop("Path", None)
                found.append(item)
        return Reply.of_json({"Items": found, "TotalRecordCount": len(found), "StartIndex": 0})

    def _media_updated(self, request: Recorded) -> Reply:
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply(400, b"bad json", "text/plain")
        with self.lock:
            self.media_updates.append(body)
        return Reply(204, b"", "text/plain")

    def _sessions(self) -> list[dict[str, Any]]:
        sessions: list[dict[str, Any]] = []
        for n in range(self.playing + self.idle):
            session: dict[str, Any] = {"Id": f"s{n}", "UserName": "user", "Client": "Jellyfin Web"}
            if n < self.playing:
                session["NowPlayingItem"] = {
                    "Name": f"Playing {n}",
                    "Id": f"{n:032x}",
                    "Type": "Movie",
                }
            sessions.append(session)
        return sessions
