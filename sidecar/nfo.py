"""Kodi-style NFO files, rendered from a ``metadata.json`` document.

Jellyfin reads NFO natively (``movie.nfo`` / ``<stem>.nfo``, ``tvshow.nfo``,
``<episode stem>.nfo``) and gives it priority over its own TMDB lookups; Plex reads it
only through legacy XBMCnfo agents.  The NFO is derived from the document and nothing
else, so the two can never disagree and rendering is byte-for-byte reproducible (the
writer relies on that to skip unchanged files).

Choices worth knowing:
- ``<uniqueid type="tmdb" default="true">`` plus ``imdb``/``tvdb`` uniqueids *and* the
  legacy ``<tmdbid>``/``<imdbid>``/``<tvdbid>`` tags: every NFO reader finds the ids.
- No ``<thumb>``/``<fanart>``: Jellyfin lets NFO art override local files, and the local
  files beside the media are the ones we want used.
- A multi-episode file gets several ``<episodedetails>`` roots one after another (after a
  single XML declaration): that is the form Kodi and Jellyfin accept, even though it is
  not one well-formed XML document.
- Text goes through ``xml.etree`` (``&``, ``<``, ``>`` and quotes escaped) after
  removing control characters, which XML 1.0 cannot carry at all.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from sidecar import tmdbfields as tf

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
YOUTUBE_PLUGIN = "plugin://plugin.video.youtube/play/?video_id="

Doc = Mapping[str, Any]


def render(doc: Doc) -> bytes:
    """The NFO for any document, chosen by its ``type``."""
    renderers = {"movie": movie_nfo, "show": show_nfo, "episode": episode_nfo}
    try:
        renderer = renderers[doc["type"]]
    except KeyError:
        raise ValueError(f"no NFO for document type {doc.get('type')!r}") from None
    return renderer(doc)


def movie_nfo(doc: Doc) -> bytes:
    root = ET.Element("movie")
    _titles(root, doc)
    _ratings(root, doc.get("rating"))
    _add(root, "plot", doc.get("overview"))
    _add(root, "tagline", doc.get("tagline"))
    _add(root, "runtime", doc.get("runtime"))
    _add(root, "mpaa", doc.get("certification"))
    _ids(root, doc)
    _repeat(root, "genre", doc.get("genres"))
    _repeat(root, "country", doc.get("countries"))
    _collection(root, doc.get("collection"))
    _repeat(root, "tag", doc.get("keywords"))
    _repeat(root, "credits", _names(doc.get("writers")))
    _repeat(root, "director", _names(doc.get("directors")))
    _add(root, "premiered", doc.get("release_date"))
    _add(root, "year", doc.get("year"))
    _repeat(root, "studio", doc.get("studios"))
    _trailer(root, doc.get("trailer"))
    _actors(root, doc.get("cast"))
    return _serialize([root])


def show_nfo(doc: Doc) -> bytes:
    root = ET.Element("tvshow")
    _titles(root, doc)
    _add(root, "showtitle", doc.get("title"))
    _ratings(root, doc.get("rating"))
    _add(root, "plot", doc.get("overview"))
    _add(root, "tagline", doc.get("tagline"))
    _add(root, "runtime", doc.get("runtime"))
    _add(root, "mpaa", doc.get("certification"))
    _ids(root, doc)
    _repeat(root, "genre", doc.get("genres"))
    _repeat(root, "tag", doc.get("keywords"))
    _repeat(root, "credits", _names(doc.get("creators")))
    _add(root, "premiered", doc.get("first_air_date"))
    _add(root, "year", doc.get("year"))
    _add(root, "status", doc.get("status"))
    _repeat(root, "studio", [*(doc.get("networks") or ()), *(doc.get("studios") or ())])
    _trailer(root, doc.get("trailer"))
    _actors(root, doc.get("cast"))
    return _serialize([root])


def episode_nfo(doc: Doc) -> bytes:
    """One ``<episodedetails>`` per episode in the file (see the module docstring)."""
    show = doc.get("show") or {}
    roots = []
    for entry in doc.get("episodes") or ():
        root = ET.Element("episodedetails")
        _add(root, "title", entry.get("title"))
        _add(root, "showtitle", show.get("title"))
        _ratings(root, entry.get("rating"))
        _add(root, "season", doc.get("season"))
        _add(root, "episode", entry.get("episode"))
        _add(root, "plot", entry.get("overview"))
        _add(root, "runtime", entry.get("runtime"))
        own_ids = entry is doc["episodes"][0]
        _ids(
            root,
            {
                "tmdb_id": entry.get("tmdb_id"),
                "imdb_id": doc.get("imdb_id") if own_ids else None,
                "tvdb_id": doc.get("tvdb_id") if own_ids else None,
            },
        )
        _repeat(root, "credits", _names(doc.get("writers")))
        _repeat(root, "director", _names(doc.get("directors")))
        _add(root, "aired", entry.get("air_date"))
        _actors(root, doc.get("guest_stars"))
        roots.append(root)
    return _serialize(roots)


# --- elements ---------------------------------------------------------------------------


def _add(parent: ET.Element, tag: str, value: Any, **attrs: str) -> ET.Element | None:
    """A child with ``value`` as text, or nothing at all when the value is empty."""
    content = _string(value)
    if content is None:
        return None
    child = ET.SubElement(parent, tag, attrs)
    child.text = content
    return child


def _repeat(parent: ET.Element, tag: str, values: Iterable[Any] | None) -> None:
    for value in values or ():
        _add(parent, tag, value)


def _titles(root: ET.Element, doc: Doc) -> None:
    _add(root, "title", doc.get("title"))
    _add(root, "originaltitle", doc.get("original_title") or doc.get("title"))


def _ratings(root: ET.Element, rating: Mapping[str, Any] | None) -> None:
    """Kodi's ``<ratings>`` block plus the flat ``<rating>`` older readers and Jellyfin use."""
    if not rating:
        return
    block = ET.SubElement(root, "ratings")
    entry = ET.SubElement(block, "rating", {"name": "themoviedb", "max": "10", "default": "true"})
    _add(entry, "value", rating.get("average"))
    _add(entry, "votes", rating.get("votes"))
    _add(root, "rating", rating.get("average"))


def _ids(root: ET.Element, doc: Mapping[str, Any]) -> None:
    tmdb, imdb, tvdb = doc.get("tmdb_id"), doc.get("imdb_id"), doc.get("tvdb_id")
    _add(root, "uniqueid", tmdb, type="tmdb", default="true")
    _add(root, "uniqueid", imdb, type="imdb")
    _add(root, "uniqueid", tvdb, type="tvdb")
    _add(root, "tmdbid", tmdb)
    _add(root, "imdbid", imdb)
    _add(root, "tvdbid", tvdb)


def _collection(root: ET.Element, collection: Mapping[str, Any] | None) -> None:
    if not collection or not _string(collection.get("name")):
        return
    element = ET.SubElement(root, "set", {"tmdbcolid": str(collection.get("tmdb_id") or "")})
    _add(element, "name", collection.get("name"))


def _trailer(root: ET.Element, trailer: Mapping[str, Any] | None) -> None:
    if trailer and trailer.get("site") == "YouTube" and trailer.get("key"):
        _add(root, "trailer", YOUTUBE_PLUGIN + str(trailer["key"]))


def _actors(root: ET.Element, people: Iterable[Mapping[str, Any]] | None) -> None:
    for person in people or ():
        if not _string(person.get("name")):
            continue
        actor = ET.SubElement(root, "actor")
        _add(actor, "name", person.get("name"))
        _add(actor, "role", person.get("character"))
        _add(actor, "order", person.get("order"))


def _names(people: Iterable[Mapping[str, Any]] | None) -> list[Any]:
    return [person.get("name") for person in people or ()]


def _string(value: Any) -> str | None:
    """Element text: numbers as written, strings cleaned of what XML cannot carry."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return tf.text(value)


def _serialize(roots: list[ET.Element]) -> bytes:
    parts = []
    for root in roots:
        ET.indent(root, space="  ")
        parts.append(ET.tostring(root, encoding="unicode"))
    return (XML_DECLARATION + "\n".join(parts) + "\n").encode("utf-8")
