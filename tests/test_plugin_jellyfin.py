"""Jellyfin adapter: webhook plugin payloads (template + Send All Properties) and REST calls."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests

from plugin.jellyfin import TEMPLATE_PATH, JellyfinHost, create, parse_webhook, webhook_template
from sidecar.errors import BadRequest, HostError
from sidecar.host import ADDED, IGNORED, HostEvent, MappedHost
from sidecar.pathmap import PathMapper
from tests.fakes.fake_jellyfin import FakeJellyfin

KEY = "0123456789abcdef0123456789abcdef"
MOVIE_ID = "5b3f5c1e9e2d4c1f8a7b6c5d4e3f2a1b"
EPISODE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def render(template: str, data: Mapping[str, Any]) -> str:
    """Just enough Handlebars for our template: comments, {{#if}}, {{{raw}}}, {{escaped}}.

    Values are pre-escaped the way the webhook plugin does it (quotes only).
    """
    values = {k: str(v).replace('"', '\\"') if isinstance(v, str) else v for k, v in data.items()}
    text = re.sub(r"\{\{!--.*?--\}\}", "", template, flags=re.DOTALL)
    text = re.sub(
        r"\{\{#if (\w+)\}\}(.*?)\{\{/if\}\}",
        lambda m: m[2] if values.get(m[1]) not in (None, "", 0, False) else "",
        text,
        flags=re.DOTALL,
    )
    text = re.sub(r"\{\{\{(\w+)\}\}\}", lambda m: str(values.get(m[1], "")), text)
    return re.sub(r"\{\{(\w+)\}\}", lambda m: html.escape(str(values.get(m[1], ""))), text)


# What DataObjectHelpers puts in the dictionary for an episode (Send All Properties
# serialises all of it; our template picks a few keys).
EPISODE_DATA: dict[str, Any] = {
    "ServerId": "f4c7e2d1a0b94c8d9e7f6a5b4c3d2e1f",
    "ServerName": "jellyfin",
    "ServerVersion": "10.11.2",
    "ServerUrl": "http://localhost:8096",
    "NotificationType": "ItemAdded",
    "Timestamp": "2025-11-24T03:00:00.1234567+01:00",
    "UtcTimestamp": "2025-11-24T02:00:00.1234567Z",
    "Name": "Pilot",
    "Overview": "A chemistry teacher...",
    "Tagline": "",
    "ItemId": EPISODE_ID,
    "ItemType": "Episode",
    "RunTimeTicks": 34860000000,
    "RunTime": "00:58:06",
    "Year": 2008,
    "PremiereDate": "2008-01-20",
    "Genres": "Drama, Crime",
    "SeriesName": "Breaking Bad",
    "SeriesId": "9a8b7c6d5e4f30211203f4e5d6c7b8a9",
    "SeasonId": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "SeriesPremiereDate": "2008-01-20",
    "SeasonNumber": 1,
    "SeasonNumber00": "01",
    "SeasonNumber000": "001",
    "EpisodeNumber": 1,
    "EpisodeNumber00": "01",
    "EpisodeNumber000": "001",
    "Provider_tvdb": "349232",
    "Provider_imdb": "tt0959621",
    "Provider_tmdb": "62085",
    "Video_0_Title": "1080p H264 SDR",
    "Video_0_Type": "Video",
    "Video_0_Codec": "h264",
    "Audio_0_Title": "English - AAC - Stereo - Default",
    "Audio_0_Channels": 2,
    "Audio_0_Default": True,
}

MOVIE_DATA: dict[str, Any] = {
    "ServerName": "jellyfin",
    "NotificationType": "ItemAdded",
    "Name": 'The "Heat"',
    "ItemId": MOVIE_ID,
    "ItemType": "Movie",
    "Year": 1995,
    "Provider_tmdb": "949",
    "Provider_imdb": "tt0113277",
}


def template_body(data: Mapping[str, Any]) -> bytes:
    return render(webhook_template(), data).encode()


# --- webhook parsing -------------------------------------------------------------------


def test_template_renders_valid_json_for_a_movie() -> None:
    body = template_body(MOVIE_DATA)
    assert json.loads(body)["Provider_tmdb"] == "949"
    event = parse_webhook(body, "text/plain; charset=utf-8")
    assert event == HostEvent(
        host="jellyfin",
        kind=ADDED,
        item_id=MOVIE_ID,
        item_type="movie",
        title='The "Heat" (1995)',
        ids={"tmdb": "949", "imdb": "tt0113277"},
        event="ItemAdded",
    )


def test_template_stays_valid_when_providers_and_numbers_are_missing() -> None:
    data = {
        "NotificationType": "ItemAdded",
        "ItemId": MOVIE_ID,
        "ItemType": "Movie",
        "Name": "Home Video",
    }
    body = template_body(data)
    assert "Provider_" not in body.decode()
    event = parse_webhook(body, "text/plain")
    assert event.ids == {} and event.title == "Home Video" and event.kind == ADDED


def test_template_episode_and_specials_season_zero() -> None:
    data = dict(EPISODE_DATA, SeasonNumber=0, EpisodeNumber=4)
    del data["Provider_tmdb"]
    event = parse_webhook(template_body(data), "text/plain")
    assert event.item_type == "episode" and event.title == "Breaking Bad S00E04 Pilot"
    assert event.ids == {"imdb": "tt0959621", "tvdb": "349232"}


def test_template_with_backslash_in_a_name_is_repaired() -> None:
    event = parse_webhook(template_body(dict(MOVIE_DATA, Name="AC\\DC: Live")), "text/plain")
    assert event.title == "AC\\DC: Live (1995)" and event.item_id == MOVIE_ID


def test_template_file_ships_next_to_the_adapter() -> None:
    assert TEMPLATE_PATH.is_file() and "{{#if Provider_tmdb}}" in webhook_template()


def test_send_all_properties_episode_as_text_plain() -> None:
    event = parse_webhook(json.dumps(EPISODE_DATA).encode(), "text/plain")
    assert (event.kind, event.item_id, event.item_type) == (ADDED, EPISODE_ID, "episode")
    assert event.ids == {"tmdb": "62085", "imdb": "tt0959621", "tvdb": "349232"}
    assert event.title == "Breaking Bad S01E01 Pilot"


@pytest.mark.parametrize(
    "ctype", ["", "application/json", "text/plain", "application/octet-stream"]
)
def test_content_type_does_not_matter(ctype: str) -> None:
    assert parse_webhook(json.dumps(MOVIE_DATA).encode(), ctype).kind == ADDED


@pytest.mark.parametrize(("jf_type", "kind"), [("Series", "show"), ("Season", "season")])
def test_series_and_season(jf_type: str, kind: str) -> None:
    event = parse_webhook(json.dumps(dict(MOVIE_DATA, ItemType=jf_type)).encode(), "text/plain")
    assert (event.kind, event.item_type) == (ADDED, kind)


@pytest.mark.parametrize("jf_type", ["Audio", "MusicAlbum", "Book", "Photo", "Video", ""])
def test_item_added_for_unsupported_types_is_ignored(jf_type: str) -> None:
    event = parse_webhook(json.dumps(dict(MOVIE_DATA, ItemType=jf_type)).encode(), "text/plain")
    assert (event.kind, event.item_type) == (IGNORED, "other")


@pytest.mark.parametrize(
    "notification", ["PlaybackStart", "PlaybackStop", "ItemDeleted", "UserCreated", "Generic"]
)
def test_other_notifications_are_ignored(notification: str) -> None:
    body = json.dumps(dict(EPISODE_DATA, NotificationType=notification)).encode()
    assert parse_webhook(body, "text/plain").kind == IGNORED


def test_other_notification_without_item_is_ignored_not_rejected() -> None:
    body = json.dumps({"NotificationType": "PendingRestart", "ServerName": "jf"}).encode()
    event = parse_webhook(body, "text/plain")
    assert (event.kind, event.item_id) == (IGNORED, "")


def test_generic_form_destination() -> None:
    form = {"NotificationType": "ItemAdded", "ItemId": MOVIE_ID, "ItemType": "Movie"}
    assert parse_webhook(b"", "application/x-www-form-urlencoded", form).item_id == MOVIE_ID


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b'{"NotificationType": ', "not valid JSON"),
        (b"Name: Pilot\nItemId: 1", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"{}", "no NotificationType"),
        (b'{"NotificationType": "ItemAdded", "ItemType": "Movie"}', "without ItemId"),
        (b'{"NotificationType": "ItemAdded", "ItemId": ""}', "without ItemId"),
        (b'{"NotificationType": "ItemAdded", "ItemId": null}', "without ItemId"),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason) as info:
        parse_webhook(body, "text/plain")
    assert info.value.status == 400


def test_two_megabytes_of_non_json() -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_webhook(b"\\x" * (1024 * 1024), "text/plain")
    big_array = json.dumps([MOVIE_DATA] * 20000).encode()  # ~2.5 MB of valid JSON
    with pytest.raises(BadRequest, match="must be a JSON object"):
        parse_webhook(big_array, "text/plain")


# --- against FakeJellyfin over HTTP ----------------------------------------------------


@pytest.fixture
def jf() -> Iterator[FakeJellyfin]:
    with FakeJellyfin(token=KEY) as fake:
        fake.add_item(MOVIE_ID, "/data/movies/Heat (1995)/Heat (1995).mkv", "Movie", "Heat")
        fake.add_item(EPISODE_ID, "/data/tv/Breaking Bad/Season 01/S01E01.mkv", "Episode", "Pilot")
        fake.add_item("series1", "/data/tv/Breaking Bad", "Series", "Breaking Bad")
        fake.add_item("season1", "/data/tv/Breaking Bad/Season 01", "Season", "Season 1")
        fake.add_item("season2", None, "Season", "Season 2", SeriesId="series1")  # virtual
        fake.add_item("nopath", None, "Movie", "Broken")
        yield fake


def host_for(fake: FakeJellyfin, token: str = KEY, timeout: float = 2) -> JellyfinHost:
    return JellyfinHost(fake.url, token, timeout=timeout)


def ev(item_id: str, item_type: str = "movie") -> HostEvent:
    return HostEvent("jellyfin", ADDED, item_id, item_type)


def test_resolve_paths(jf: FakeJellyfin) -> None:
    host = host_for(jf)
    assert host.resolve_paths(ev(MOVIE_ID)) == ["/data/movies/Heat (1995)/Heat (1995).mkv"]
    assert host.resolve_paths(ev(EPISODE_ID, "episode")) == [
        "/data/tv/Breaking Bad/Season 01/S01E01.mkv"
    ]
    assert host.resolve_paths(ev("series1", "show")) == ["/data/tv/Breaking Bad"]
    assert host.resolve_paths(ev("season1", "season")) == ["/data/tv/Breaking Bad/Season 01"]
    assert host.resolve_paths(ev("season2", "season")) == ["/data/tv/Breaking Bad"]
    request = jf.requests_to("/Items")[0]
    assert request.query == {"ids": MOVIE_ID, "fields": "Path"}
    assert request.headers["authorization"] == f'MediaBrowser Token="{KEY}"'


def test_dashed_guid_ids_work(jf: FakeJellyfin) -> None:
    dashed = "5b3f5c1e-9e2d-4c1f-8a7b-6c5d4e3f2a1b"
    assert host_for(jf).resolve_paths(ev(dashed))[0].endswith("Heat (1995).mkv")


def test_unknown_item_and_item_without_path(jf: FakeJellyfin) -> None:
    with pytest.raises(HostError, match="unknown item: Jellyfin has no item deadbeef"):
        host_for(jf).resolve_paths(ev("deadbeef"))
    with pytest.raises(HostError, match="has no path"):
        host_for(jf).resolve_paths(ev("nopath"))
    with pytest.raises(HostError, match="no Jellyfin item id"):
        host_for(jf).resolve_paths(ev(""))


def test_wrong_key_is_a_host_error_without_the_key(jf: FakeJellyfin) -> None:
    with pytest.raises(HostError, match="rejected the API key") as info:
        host_for(jf, token="not-the-key").resolve_paths(ev(MOVIE_ID))
    assert "not-the-key" not in str(info.value)


def test_refresh_sends_one_batch(jf: FakeJellyfin) -> None:
    host_for(jf).refresh(
        ["/data/tv/Breaking Bad", "/data/movies/Heat (1995)", "/data/tv/Breaking Bad"]
    )
    assert jf.media_updates == [
        {
            "Updates": [
                {"Path": "/data/tv/Breaking Bad", "UpdateType": "Modified"},
                {"Path": "/data/movies/Heat (1995)", "UpdateType": "Modified"},
            ]
        }
    ]
    assert len(jf.requests_to("/Library/Media/Updated", "POST")) == 1


def test_refresh_nothing_sends_nothing(jf: FakeJellyfin) -> None:
    host_for(jf).refresh([])
    assert jf.requests == []


def test_active_sessions_counts_playing_only(jf: FakeJellyfin) -> None:
    jf.playing, jf.idle = 2, 3
    assert host_for(jf).active_sessions() == 2
    assert jf.requests_to("/Sessions")[0].query == {"activeWithinSeconds": "60"}
    assert host_for(jf, token="bad").active_sessions() == 0


def test_test_connection(jf: FakeJellyfin) -> None:
    assert host_for(jf).test_connection() == "Jellyfin FakeJellyfin 10.11.2"
    with pytest.raises(HostError, match="401"):
        host_for(jf, token="bad").test_connection()


def test_host_down_fails_fast() -> None:
    fake = FakeJellyfin(token=KEY).start()
    host = host_for(fake, timeout=1)
    fake.stop()
    started = time.monotonic()
    for call in (
        lambda: host.resolve_paths(ev(MOVIE_ID)),
        lambda: host.refresh(["/x"]),
        host.test_connection,
    ):
        with pytest.raises(HostError, match="unreachable"):
            call()
    assert host.active_sessions() == 0
    assert time.monotonic() - started < 5


def test_non_json_answer_is_a_host_error(jf: FakeJellyfin, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.fake_host_base import Reply

    monkeypatch.setattr(
        jf, "handle", lambda request: Reply(200, b"<html>proxy login</html>", "text/html")
    )
    with pytest.raises(HostError, match="non-JSON"):
        host_for(jf).test_connection()
    monkeypatch.setattr(jf, "handle", lambda request: Reply(500, b"oops", "text/plain"))
    with pytest.raises(HostError, match="answered 500"):
        host_for(jf).resolve_paths(ev(MOVIE_ID))


def test_injected_session_is_used(jf: FakeJellyfin) -> None:
    session = requests.Session()
    session.headers["User-Agent"] = "scanarr-test"
    create(jf.url, KEY, session=session).test_connection()
    assert jf.requests[-1].headers["user-agent"] == "scanarr-test"


def test_create_with_path_map(jf: FakeJellyfin) -> None:
    mapper = PathMapper([("/data/tv", "/media/tv"), ("/data/movies", "/media/movies")], ["/media"])
    host = create(jf.url, KEY, path_map=mapper, timeout=2)
    assert isinstance(host, MappedHost)
    assert host.resolve_paths(ev("series1", "show")) == ["/media/tv/Breaking Bad"]
    host.refresh(["/media/tv/Breaking Bad/Season 01"])
    assert jf.media_updates[-1]["Updates"][0]["Path"] == "/data/tv/Breaking Bad/Season 01"


def test_repr_hides_key(jf: FakeJellyfin) -> None:
    assert KEY not in repr(host_for(jf))
