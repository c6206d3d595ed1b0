"""Plex adapter: webhook parsing (real payload shapes) and plexapi calls against FakePlex."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from urllib3 import encode_multipart_formdata

from plugin.plex import PlexHost, create, section_for
from plugin.plex_webhook import guid_ids, parse_webhook
from sidecar.errors import BadRequest, HostError, OutsideRoots
from sidecar.host import ADDED, IGNORED, HostEvent, MappedHost
from sidecar.pathmap import PathMapper
from tests.fakes.fake_host_base import Reply
from tests.fakes.fake_plex import FakePlex

TOKEN = "plex-token"

# Shaped like a real library.new capture (episode): ratingKey is a string, section id an
# int, provider ids only in Guid[], and no file path anywhere.
LIBRARY_NEW_EPISODE: dict[str, Any] = {
    "event": "library.new",
    "user": True,
    "owner": True,
    "Account": {
        "id": 1,
        "thumb": "https://plex.tv/users/0a1b/avatar?c=1700000000",
        "title": "owner",
    },
    "Server": {"title": "tower", "uuid": "3f1e0c1d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"},
    "Metadata": {
        "librarySectionType": "show",
        "ratingKey": "57612",
        "key": "/library/metadata/57612",
        "parentRatingKey": "57611",
        "grandparentRatingKey": "57600",
        "guid": "plex://episode/5d9c1275e98e47001eb84f9a",
        "parentGuid": "plex://season/602e67d31d3358002c411a7c",
        "grandparentGuid": "plex://show/5d9c086c46115600200aa2fe",
        "type": "episode",
        "title": "Bit by a Dead Bee",
        "grandparentKey": "/library/metadata/57600",
        "parentKey": "/library/metadata/57611",
        "librarySectionTitle": "TV Shows",
        "librarySectionID": 5,
        "librarySectionKey": "/library/sections/5",
        "grandparentTitle": "Breaking Bad",
        "parentTitle": "Season 2",
        "contentRating": "TV-MA",
        "summary": "Walt and Jesse try to cover their tracks.",
        "index": 3,
        "parentIndex": 2,
        "year": 2009,
        "thumb": "/library/metadata/57612/thumb/1700000123",
        "art": "/library/metadata/57600/art/1700000001",
        "parentThumb": "/library/metadata/57611/thumb/1700000100",
        "grandparentThumb": "/library/metadata/57600/thumb/1700000001",
        "grandparentArt": "/library/metadata/57600/art/1700000001",
        "grandparentTheme": "/library/metadata/57600/theme/1700000001",
        "duration": 2820000,
        "originallyAvailableAt": "2009-03-22",
        "addedAt": 1700000000,
        "updatedAt": 1700000123,
        "Guid": [{"id": "imdb://tt1232249"}, {"id": "tmdb://62094"}, {"id": "tvdb://439933"}],
        "Writer": [{"id": 3191, "filter": "writer=3191", "tag": "Peter Gould"}],
        "Role": [
            {"id": 2411, "filter": "actor=2411", "tag": "Bryan Cranston", "role": "Walter White"}
        ],
    },
}

MEDIA_PLAY_MOVIE: dict[str, Any] = {
    "event": "media.play",
    "user": True,
    "owner": True,
    "Account": {"id": 1, "thumb": "https://plex.tv/users/0a1b/avatar", "title": "owner"},
    "Server": {"title": "tower", "uuid": "3f1e0c1d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"},
    "Player": {
        "local": True,
        "publicAddress": "203.0.113.7",
        "title": "Living Room",
        "uuid": "abc123",
    },
    "Metadata": {
        "librarySectionType": "movie",
        "ratingKey": "1021",
        "key": "/library/metadata/1021",
        "guid": "plex://movie/5d7768286f4521001ea9c5c8",
        "type": "movie",
        "title": "Heat",
        "librarySectionTitle": "Movies",
        "librarySectionID": 1,
        "year": 1995,
        "Guid": [{"id": "imdb://tt0113277"}, {"id": "tmdb://949"}],
    },
}

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


def plex_multipart(payload: Any, thumb: bytes | None = None) -> tuple[bytes, str]:
    """A body built the way PMS sends it: JSON part then an optional JPEG file part."""
    boundary = "------------------------d74496d66958873e"
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    disposition = 'Content-Disposition: form-data; name="payload"'
    head = f"--{boundary}\r\n{disposition}\r\nContent-Type: application/json\r\n\r\n"
    body = f"{head}{text}\r\n".encode()
    if thumb is not None:
        disposition = 'Content-Disposition: form-data; name="thumb"; filename="image.jpg"'
        head = f"--{boundary}\r\n{disposition}\r\nContent-Type: image/jpeg\r\n\r\n"
        body += head.encode() + thumb + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- webhook parsing -------------------------------------------------------------------


def test_library_new_episode() -> None:
    body, ctype = plex_multipart(LIBRARY_NEW_EPISODE, thumb=JPEG)
    event = parse_webhook(body, ctype)
    assert event == HostEvent(
        host="plex",
        kind=ADDED,
        item_id="57612",
        item_type="episode",
        title="Breaking Bad S02E03 Bit by a Dead Bee",
        ids={"imdb": "tt1232249", "tmdb": "62094", "tvdb": "439933"},
        event="library.new",
    )


def test_library_new_movie_through_urllib3_encoder_and_unicode() -> None:
    payload = copy.deepcopy(MEDIA_PLAY_MOVIE)
    payload.update(event="library.new")
    payload["Metadata"]["title"] = "Amélie"
    payload.pop("Player")
    body, ctype = encode_multipart_formdata(
        {
            "payload": json.dumps(payload, ensure_ascii=False),
            "thumb": ("thumb.jpg", JPEG, "image/jpeg"),
        }
    )
    event = parse_webhook(body, ctype)
    assert (event.kind, event.item_id, event.item_type) == (ADDED, "1021", "movie")
    assert event.title == "Amélie (1995)" and event.ids == {"imdb": "tt0113277", "tmdb": "949"}


def test_form_given_by_the_web_layer_wins() -> None:
    form = {"payload": json.dumps(LIBRARY_NEW_EPISODE)}
    assert parse_webhook(b"ignored", "multipart/form-data; boundary=x", form).item_id == "57612"


def test_json_body_and_urlencoded_are_accepted() -> None:
    raw = json.dumps(LIBRARY_NEW_EPISODE).encode()
    assert parse_webhook(raw, "application/json").kind == ADDED
    from urllib.parse import urlencode

    body = urlencode({"payload": raw.decode()}).encode()
    assert parse_webhook(body, "application/x-www-form-urlencoded").item_id == "57612"


@pytest.mark.parametrize(
    "event",
    ["media.play", "media.scrobble", "library.on.deck", "admin.database.backup", "device.new"],
)
def test_other_events_are_ignored(event: str) -> None:
    payload = dict(MEDIA_PLAY_MOVIE, event=event)
    parsed = parse_webhook(*plex_multipart(payload, thumb=JPEG))
    assert parsed.kind == IGNORED and parsed.event == event


def test_backup_event_without_metadata_is_ignored() -> None:
    payload = {
        "event": "admin.database.backup",
        "user": True,
        "owner": True,
        "Server": {"title": "t"},
    }
    parsed = parse_webhook(*plex_multipart(payload))
    assert (parsed.kind, parsed.item_id, parsed.item_type) == (IGNORED, "", "other")


def test_library_new_for_music_is_ignored() -> None:
    payload = {
        "event": "library.new",
        "Metadata": {"type": "track", "ratingKey": "9", "title": "Song"},
    }
    assert parse_webhook(*plex_multipart(payload)).kind == IGNORED


@pytest.mark.parametrize("kind", ["show", "season"])
def test_library_new_show_and_season_trigger_work(kind: str) -> None:
    payload = {"event": "library.new", "Metadata": {"type": kind, "ratingKey": "77", "title": "X"}}
    event = parse_webhook(*plex_multipart(payload))
    assert (event.kind, event.item_type) == (ADDED, kind)


@pytest.mark.parametrize(
    ("body", "ctype", "reason"),
    [
        (b"", "multipart/form-data; boundary=abc", "no 'payload' field"),
        (
            b'--abc\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--abc--\r\n',
            "multipart/form-data; boundary=abc",
            "no 'payload' field",
        ),
        (b"{}", "multipart/form-data", "boundary"),
        (b"{}", "multipart/form-data; boundary=a\r\nX-Evil: 1", "boundary"),
        (b"payload=x", "text/plain", "expected multipart/form-data"),
        (b"", "", "no content type"),
        (b"other=1", "application/x-www-form-urlencoded", "expected multipart"),
    ],
)
def test_missing_payload(body: bytes, ctype: str, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason) as info:
        parse_webhook(body, ctype)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"library.new"', "must be a JSON object"),
        ("{}", "no 'event'"),
        ('{"event": "library.new"}', "without Metadata.ratingKey"),
        ('{"event": "library.new", "Metadata": {"type": "movie"}}', "without Metadata.ratingKey"),
        ('{"event": "library.new", "Metadata": {"ratingKey": "../1"}}', "must be numeric"),
        ('{"event": "library.new", "Metadata": [1]}', "must be an object"),
    ],
)
def test_malformed_payloads(payload: str, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        parse_webhook(*plex_multipart(payload))


def test_two_megabytes_of_garbage_is_a_bad_request() -> None:
    garbage = bytes(range(256)) * (2 * 1024 * 4)  # 2 MiB, includes CR/LF and NUL bytes
    with pytest.raises(BadRequest):
        parse_webhook(garbage, "multipart/form-data; boundary=xyz")
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_webhook(*plex_multipart(garbage.decode("latin-1")))
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_webhook(garbage, "application/json")


def test_oversized_body_is_413() -> None:
    with pytest.raises(BadRequest) as info:
        parse_webhook(b"x" * (16 * 1024 * 1024 + 1), "multipart/form-data; boundary=x")
    assert info.value.status == 413


def test_guid_ids_tolerates_junk() -> None:
    junk = [
        {"id": "tmdb://1"},
        {"id": "tmdb://2"},
        {"id": "plex://x"},
        {"id": "tvdb://"},
        "str",
        {"x": 1},
        {"id": 5},
    ]
    assert guid_ids(junk) == {"tmdb": "1"}
    assert guid_ids(None) == {} and guid_ids({"id": "tmdb://1"}) == {}


# --- against FakePlex over HTTP --------------------------------------------------------


@pytest.fixture
def plex() -> Iterator[FakePlex]:
    with FakePlex(token=TOKEN) as fake:
        fake.add_movie(101, "/data/movies/Heat (1995)/Heat (1995).mkv", guids=["imdb://tt0113277"])
        fake.add_movie(102, ["/data/movies/Kill Bill/cd1.mkv", "/data/movies/Kill Bill/cd2.mkv"])
        fake.add_show(200, "/data/tv/Breaking Bad")
        fake.add_season(201, 200, index=2)
        for n in (1, 2):
            fake.add_episode(
                210 + n,
                f"/data/tv/Breaking Bad/Season 02/Breaking Bad S02E0{n}.mkv",
                show_key=200,
                season_key=201,
                season=2,
                episode=n,
            )
        fake.add_season(202, 200, index=3)  # no episodes yet
        yield fake


def host_for(fake: FakePlex, token: str = TOKEN) -> PlexHost:
    return PlexHost(fake.url, token, timeout=2)


def event(key: str, kind: str) -> HostEvent:
    return HostEvent("plex", ADDED, key, kind)


def test_resolve_movie_and_multipart_movie(plex: FakePlex) -> None:
    host = host_for(plex)
    assert host.resolve_paths(event("101", "movie")) == ["/data/movies/Heat (1995)/Heat (1995).mkv"]
    assert host.resolve_paths(event("102", "movie")) == [
        "/data/movies/Kill Bill/cd1.mkv",
        "/data/movies/Kill Bill/cd2.mkv",
    ]
    assert plex.requests_to("/library/metadata/101")[0].headers["x-plex-token"] == TOKEN


def test_resolve_episode_show_and_season(plex: FakePlex) -> None:
    host = host_for(plex)
    assert host.resolve_paths(event("211", "episode")) == [
        "/data/tv/Breaking Bad/Season 02/Breaking Bad S02E01.mkv"
    ]
    assert host.resolve_paths(event("200", "show")) == ["/data/tv/Breaking Bad"]
    assert host.resolve_paths(event("201", "season")) == ["/data/tv/Breaking Bad/Season 02"]
    assert host.resolve_paths(event("202", "season")) == ["/data/tv/Breaking Bad"]  # empty: show


def test_server_is_created_once(plex: FakePlex) -> None:
    host = host_for(plex)
    host.resolve_paths(event("101", "movie"))
    host.resolve_paths(event("211", "episode"))
    assert len(plex.requests_to("/")) == 1


def test_unknown_rating_key_is_a_host_error(plex: FakePlex) -> None:
    with pytest.raises(HostError, match="unknown item: Plex has no ratingKey 999"):
        host_for(plex).resolve_paths(event("999", "movie"))
    with pytest.raises(HostError, match="not a Plex ratingKey"):
        host_for(plex).resolve_paths(event("abc", "movie"))


def test_wrong_token(plex: FakePlex) -> None:
    host = host_for(plex, token="wrong-secret")
    with pytest.raises(HostError, match="rejected the token") as info:
        host.resolve_paths(event("101", "movie"))
    assert "wrong-secret" not in str(info.value)
    with pytest.raises(HostError, match="401"):
        host.test_connection()


def test_refresh_partial_scan_per_distinct_folder(plex: FakePlex) -> None:
    plex.add_section(3, "show", "Anime", ["/data/tv/anime"])
    host_for(plex).refresh(
        [
            "/data/tv/Breaking Bad/Season 02",
            "/data/tv/Breaking Bad/Season 02",
            "/data/movies/Amélie & Co (2001)",
            "/data/tv/anime/Naruto",
        ]
    )
    assert plex.refreshes == [
        (2, "/data/tv/Breaking Bad/Season 02"),
        (1, "/data/movies/Amélie & Co (2001)"),
        (3, "/data/tv/anime/Naruto"),  # longest location wins over /data/tv
    ]


def test_refresh_outside_every_section_still_scans_the_others(plex: FakePlex) -> None:
    with pytest.raises(HostError, match="not inside any Plex library location: /data/tvshows/X"):
        host_for(plex).refresh(["/data/tvshows/X", "/data/tv/Breaking Bad"])
    assert plex.refreshes == [(2, "/data/tv/Breaking Bad")]


def test_refresh_windows_section(plex: FakePlex) -> None:
    plex.add_section(4, "movie", "Win", ["F:\\Movies"])
    host_for(plex).refresh(["F:\\Movies\\Heat (1995)"])
    assert plex.refreshes == [(4, "F:\\Movies\\Heat (1995)")]


def test_refresh_nothing_makes_no_request(plex: FakePlex) -> None:
    host_for(plex).refresh([])
    assert plex.requests == []


def test_section_for_longest_prefix(plex: FakePlex) -> None:
    plex.add_section(3, "show", "Anime", ["/srv/x", "/data/tv/anime"])
    host = host_for(plex)
    sections = host._sections()
    assert section_for(sections, "/data/tv/anime/A").key == 3  # type: ignore[union-attr]
    assert section_for(sections, "/data/tv/animes/A").key == 2  # type: ignore[union-attr]
    assert section_for(sections, "/elsewhere") is None


def test_active_sessions(plex: FakePlex) -> None:
    host = host_for(plex)
    assert host.active_sessions() == 0
    plex.sessions = 3
    assert host.active_sessions() == 3


def test_test_connection(plex: FakePlex) -> None:
    assert host_for(plex).test_connection() == f"Plex FakePlex {plex.version}"


def test_host_down_fails_fast() -> None:
    fake = FakePlex(token=TOKEN).start()
    host = host_for(fake)
    fake.stop()
    started = time.monotonic()
    with pytest.raises(HostError, match="unreachable"):
        host.resolve_paths(event("101", "movie"))
    with pytest.raises(HostError, match="unreachable"):
        host.refresh(["/data/tv/X"])
    with pytest.raises(HostError, match="unreachable"):
        host.test_connection()
    assert host.active_sessions() == 0
    assert time.monotonic() - started < 5  # connection refused, not a 30 s plexapi timeout


def test_server_errors_and_non_xml_answers(plex: FakePlex, monkeypatch: pytest.MonkeyPatch) -> None:
    host = host_for(plex)
    host.test_connection()
    monkeypatch.setattr(plex, "handle", lambda request: Reply(500, b"boom", "text/plain"))
    with pytest.raises(HostError, match="Plex error while looking up item 101"):
        host.resolve_paths(event("101", "movie"))
    proxy_page = b"<html><body><p>Please log in<br></body></html>"
    monkeypatch.setattr(plex, "handle", lambda request: Reply(200, proxy_page, "text/html"))
    with pytest.raises(HostError, match="Plex error"):
        host.resolve_paths(event("101", "movie"))


def test_alert_source_uses_the_hosts_server(plex: FakePlex) -> None:
    seen: list[HostEvent] = []
    source = host_for(plex).alert_source(seen.append)
    source.handle_alert(
        {
            "type": "timeline",
            "TimelineEntry": [
                {
                    "identifier": "com.plexapp.plugins.library",
                    "itemID": "101",
                    "type": 1,
                    "state": 5,
                }
            ],
        }
    )
    assert [e.item_id for e in seen] == ["101"]


def test_reconnects_after_the_server_comes_back(plex: FakePlex) -> None:
    host = host_for(plex)
    assert host.test_connection().startswith("Plex")
    port = plex.port
    plex.stop()
    with pytest.raises(HostError):
        host.resolve_paths(event("101", "movie"))
    plex.port = port
    plex.start()
    assert host.resolve_paths(event("101", "movie"))[0].endswith("Heat (1995).mkv")


def test_create_with_path_map_gives_local_paths(plex: FakePlex) -> None:
    mapper = PathMapper([("/data/movies", "/media/movies"), ("/data/tv", "/media/tv")], ["/media"])
    host = create(plex.url, TOKEN, path_map=mapper, timeout=2)
    assert isinstance(host, MappedHost)
    assert host.resolve_paths(event("101", "movie")) == [
        "/media/movies/Heat (1995)/Heat (1995).mkv"
    ]
    host.refresh(["/media/tv/Breaking Bad/Season 02"])
    assert plex.refreshes == [(2, "/data/tv/Breaking Bad/Season 02")]


def test_path_map_refuses_escaping_paths(plex: FakePlex) -> None:
    plex.add_movie(666, "/data/movies/../../etc/passwd")
    host = create(
        plex.url, TOKEN, path_map=PathMapper([("/data", "/media")], ["/media"]), timeout=2
    )
    with pytest.raises(OutsideRoots):
        host.resolve_paths(event("666", "movie"))


def test_repr_hides_token(plex: FakePlex) -> None:
    assert TOKEN not in repr(host_for(plex))
