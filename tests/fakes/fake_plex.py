"""A fake Plex Media Server answering exactly what plexapi asks, in PMS-shaped XML.

Routes (all need ``X-Plex-Token`` as header or query parameter, else 401):

* ``GET /``                          server identity (``PlexServer.__init__`` loads it)
* ``GET /library``                   library root (``server.library``)
* ``GET /library/sections``          sections with their ``Location`` paths
* ``GET /library/sections/{k}/refresh[?path=]``  partial scan, recorded in ``refreshes``
* ``GET /library/metadata/{key}``    movie/episode (Video/Media/Part@file), show
  (Directory/Location@path), season (Directory); 404 for unknown keys
* ``GET /library/metadata/{key}/children``  a season's episodes
* ``GET /status/sessions``           ``sessions`` playing items

Register items from the test: ``add_movie``, ``add_show``, ``add_season``, ``add_episode``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from tests.fakes.fake_host_base import LoopbackFake, Recorded, Reply

ADDED_AT = "1700000000"
_NOT_FOUND = (
    b"<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
)
_UNAUTHORIZED = (
    b"<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
)


def _xml(root: ET.Element) -> Reply:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return Reply(200, body, "text/xml;charset=utf-8")


def _container(**attrs: Any) -> ET.Element:
    return ET.Element("MediaContainer", {k: str(v) for k, v in attrs.items()})


class FakePlex(LoopbackFake):
    """In-process PMS double; ``refreshes`` lists ``(section_key, path or None)``."""

    def __init__(self, token: str = "plex-token", friendly_name: str = "FakePlex") -> None:
        super().__init__()
        self.token = token
        self.friendly_name = friendly_name
        self.version = "1.41.3.9314-a0bfb8370"
        self.sections: dict[int, dict[str, Any]] = {}
        self.items: dict[int, ET.Element] = {}
        self.children: dict[int, list[int]] = {}
        self.refreshes: list[tuple[int, str | None]] = []
        self.sessions = 0
        self.add_section(1, "movie", "Movies", ["/data/movies"])
        self.add_section(2, "show", "TV Shows", ["/data/tv"])

    # --- registration ------------------------------------------------------------------

    def add_section(self, key: int, type: str, title: str, locations: Sequence[str]) -> None:
        self.sections[key] = {"type": type, "title": title, "locations": list(locations)}

    def add_movie(
        self,
        rating_key: int,
        file_path: str | Sequence[str],
        section: int = 1,
        guids: Sequence[str] = (),
        title: str = "Movie",
        year: int = 2010,
    ) -> None:
        video = self._video(
            rating_key, "movie", title, section, year=year, guid="plex://movie/5d77"
        )
        self._media(video, rating_key, [file_path] if isinstance(file_path, str) else file_path)
        for guid in guids:
            ET.SubElement(video, "Guid", id=guid)
        self.items[rating_key] = video

    def add_show(self, rating_key: int, folder: str, section: int = 2, title: str = "Show") -> None:
        show = self._directory(rating_key, "show", title, section, guid="plex://show/5d9c")
        ET.SubElement(show, "Location", id=str(rating_key), path=folder)
        self.items[rating_key] = show

    def add_season(self, rating_key: int, show_key: int, index: int = 1, section: int = 2) -> None:
        season = self._directory(rating_key, "season", f"Season {index}", section, index=index)
        season.attrib.update(
            parentRatingKey=str(show_key), parentKey=f"/library/metadata/{show_key}"
        )
        self.items[rating_key] = season

    def add_episode(
        self,
        rating_key: int,
        file_path: str,
        show_key: int | None = None,
        season_key: int | None = None,
        section: int = 2,
        season: int = 1,
        episode: int = 1,
        guids: Sequence[str] = (),
        title: str = "Episode",
    ) -> None:
        video = self._video(rating_key, "episode", title, section, index=episode)
        video.attrib.update(parentIndex=str(season), parentTitle=f"Season {season}")
        if season_key is not None:
            video.attrib.update(
                parentRatingKey=str(season_key), parentKey=f"/library/metadata/{season_key}"
            )
            self.children.setdefault(season_key, []).append(rating_key)
        if show_key is not None:
            video.attrib.update(
                grandparentRatingKey=str(show_key), grandparentKey=f"/library/metadata/{show_key}"
            )
        self._media(video, rating_key, [file_path])
        for guid in guids:
            ET.SubElement(video, "Guid", id=guid)
        self.items[rating_key] = video

    def _video(self, key: int, type: str, title: str, section: int, **extra: Any) -> ET.Element:
        attrs = {
            "ratingKey": str(key),
            "key": f"/library/metadata/{key}",
            "type": type,
            "title": title,
            "librarySectionTitle": self.sections[section]["title"],
            "librarySectionID": str(section),
            "librarySectionKey": f"/library/sections/{section}",
            "addedAt": ADDED_AT,
            "updatedAt": ADDED_AT,
            "duration": "2700000",
        }
        attrs.update({k: str(v) for k, v in extra.items()})
        return ET.Element("Video", attrs)

    def _directory(self, key: int, type: str, title: str, section: int, **extra: Any) -> ET.Element:
        element = self._video(key, type, title, section, **extra)
        element.tag = "Directory"
        element.attrib["key"] = f"/library/metadata/{key}/children"
        return element

    @staticmethod
    def _media(video: ET.Element, key: int, files: Sequence[str]) -> None:
        media = ET.SubElement(
            video,
            "Media",
            id=str(key * 10),
            duration="2700000",
            container="mkv",
            videoCodec="h264",
            videoResolution="1080",
            audioCodec="aac",
        )
        for n, path in enumerate(files):
            ET.SubElement(
                media,
                "Part",
                id=str(key * 10 + n),
                key=f"/library/parts/{key * 10 + n}/{ADDED_AT}/file.mkv",
                duration="2700000",
                file=path,
                size="1048576",
                container="mkv",
            )

    # --- HTTP --------------------------------------------------------------------------

    def handle(self, request: Recorded) -> Reply:
        token = request.headers.get("x-plex-token") or request.query.get("X-Plex-Token")
        if token != self.token:
            return Reply(401, _UNAUTHORIZED, "text/html")
        path = request.path.rstrip("/") or "/"
        if path == "/":
            return self._root()
        if path == "/library":
            return self._library_root()
        if path == "/library/sections":
            return self._sections()
        if path == "/status/sessions":
            return self._sessions()
        if match := re.fullmatch(r"/library/sections/(\d+)/refresh", path):
            return self._refresh(int(match[1]), request)
        if match := re.fullmatch(r"/library/metadata/(\d+)(/children)?", path):
            return self._metadata(int(match[1]), bool(match[2]))
        return Reply(404, _NOT_FOUND, "text/html")

    def _root(self) -> Reply:
        root = _container(
            size=1,
            friendlyName=self.friendly_name,
            machineIdentifier="fake-machine-0001",
            version=self.version,
            platform="Linux",
            platformVersion="6.1",
            myPlex=1,
            myPlexUsername="owner@example.com",
            allowSync=1,
            transcoderActiveVideoSessions=0,
            updatedAt=ADDED_AT,
        )
        ET.SubElement(root, "Directory", count="1", key="library", title="library")
        return _xml(root)

    def _library_root(self) -> Reply:
        root = _container(
            size=2, identifier="com.plexapp.plugins.library", title1="Plex Library", title2=""
        )
        ET.SubElement(root, "Directory", key="sections", title="Library Sections")
        ET.SubElement(root, "Directory", key="recentlyAdded", title="Recently Added Content")
        return _xml(root)

    def _sections(self) -> Reply:
        root = _container(size=len(self.sections), allowSync=0, title1="Plex Library")
        for key, sec in self.sections.items():
            d = ET.SubElement(
                root,
                "Directory",
                key=str(key),
                type=sec["type"],
                title=sec["title"],
                agent="tv.plex.agents.movie",
                scanner="Plex Movie",
                language="en-US",
                uuid=f"uuid-{key}",
                refreshing="0",
                updatedAt=ADDED_AT,
                createdAt=ADDED_AT,
            )
            for n, location in enumerate(sec["locations"]):
                ET.SubElement(d, "Location", id=str(key * 100 + n), path=location)
        return _xml(root)

    def _refresh(self, key: int, request: Recorded) -> Reply:
        if key not in self.sections:
            return Reply(404, _NOT_FOUND, "text/html")
        with self.lock:
            self.refreshes.append((key, request.query.get("path")))
        return Reply(200, b"", "text/html")

    def _metadata(self, key: int, children: bool) -> Reply:
        item = self.items.get(key)
        if item is None:
            return Reply(404, _NOT_FOUND, "text/html")
        elements = [self.items[k] for k in self.children.get(key, [])] if children else [item]
        section = item.get("librarySectionID", "")
        root = _container(
            size=len(elements),
            allowSync=1,
            identifier="com.plexapp.plugins.library",
            librarySectionID=section,
            librarySectionTitle=item.get("librarySectionTitle"),
        )
        root.extend(elements)
        return _xml(root)

    def _sessions(self) -> Reply:
        root = _container(size=self.sessions)
        for n in range(self.sessions):
            video = self._video(9000 + n, "movie", f"Playing {n}", 1, sessionKey=n + 1)
            ET.SubElement(video, "User", id="1", title="owner")
            ET.SubElement(
                video,
                "Player",
                address="10.0.0.2",
                machineIdentifier=f"player-{n}",
                state="playing",
                title="TV",
            )
            root.append(video)
        return _xml(root)
