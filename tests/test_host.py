"""The core side of the host boundary: HostEvent, load_host, MappedHost, json_object."""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Mapping, Sequence

import pytest

from sidecar.errors import BadRequest, ConfigError, OutsideRoots
from sidecar.host import (
    ADDED,
    IGNORED,
    Host,
    HostEvent,
    MappedHost,
    json_object,
    load_host,
    text_of,
)
from sidecar.pathmap import PathMapper

ROOT = pathlib.Path(__file__).resolve().parents[1]


class StubHost:
    """A Host that answers from memory and records refreshes."""

    name = "stub"

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.refreshed: list[list[str]] = []

    def parse_webhook(
        self, body: bytes, content_type: str, form: Mapping[str, str] | None = None
    ) -> HostEvent:
        return HostEvent("stub", ADDED, body.decode(), "movie")

    def resolve_paths(self, event: HostEvent) -> list[str]:
        return list(self.paths)

    def refresh(self, paths: Sequence[str]) -> None:
        self.refreshed.append(list(paths))

    def active_sessions(self) -> int:
        return 3

    def test_connection(self) -> str:
        return "Stub 1.0"


def test_host_event_defaults_and_hashable() -> None:
    event = HostEvent("plex", ADDED, "42", "movie")
    assert event.title == "" and dict(event.ids) == {} and event.event == ""
    assert event.added and not HostEvent("plex", IGNORED, "", "other").added
    with_ids = HostEvent("plex", ADDED, "42", "movie", ids={"tmdb": "1"})
    assert hash(event) == hash(with_ids)  # ids stay out of the hash (a dict has none)
    assert event != with_ids and len({event, with_ids, event}) == 2
    with pytest.raises(AttributeError):
        event.kind = IGNORED  # type: ignore[misc]


def test_stub_satisfies_protocol() -> None:
    assert isinstance(StubHost([]), Host)
    assert not isinstance(object(), Host)


def test_load_host_jellyfin_and_plex_are_lazy() -> None:
    jf = load_host("jellyfin", url="http://127.0.0.1:9", token="k")
    plex = load_host("plex", url="http://127.0.0.1:9", token="t", timeout=1)
    assert jf.name == "jellyfin" and plex.name == "plex"
    assert isinstance(jf, Host) and isinstance(plex, Host)  # nothing was contacted yet


def test_load_host_wraps_in_mapper_when_given() -> None:
    mapper = PathMapper([("/data", "/media")], ["/media"])
    host = load_host("jellyfin", url="http://127.0.0.1:9", token="k", path_map=mapper)
    assert isinstance(host, MappedHost) and host.name == "jellyfin"


@pytest.mark.parametrize("name", ["nope", "", "../etc", "plugin.plex", "Plex", "os"])
def test_load_host_unknown_names(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_host(name, url="x", token="y")
    assert info.value.setting == "host"


def test_mapped_host_translates_both_ways() -> None:
    stub = StubHost(["/data/tv/Show/S01E01.mkv"])
    host = MappedHost(stub, PathMapper([("/data/tv", "/media/tv")], ["/media/tv"]))
    event = host.parse_webhook(b"7", "text/plain")
    assert host.resolve_paths(event) == ["/media/tv/Show/S01E01.mkv"]
    host.refresh(["/media/tv/Show", "/media/tv/Show/", "/media/tv/Other"])
    assert stub.refreshed == [["/data/tv/Show", "/data/tv/Other"]]
    assert host.active_sessions() == 3 and host.test_connection() == "Stub 1.0"


def test_mapped_host_refuses_paths_outside_roots() -> None:
    stub = StubHost(["/data/tv/../../etc/passwd"])
    host = MappedHost(stub, PathMapper([("/data/tv", "/media/tv")], ["/media/tv"]))
    with pytest.raises(OutsideRoots):
        host.resolve_paths(HostEvent("stub", ADDED, "1", "movie"))


def test_json_object() -> None:
    assert json_object(b'\xef\xbb\xbf{"a": 1}', "body") == {"a": 1}  # BOM tolerated
    assert json_object('{"a": 1}', "body") == {"a": 1}
    for raw, message in [
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1]", "must be a JSON object, got list"),
        (b'"x"', "got str"),
        (b"null", "got NoneType"),
    ]:
        with pytest.raises(BadRequest, match=message) as info:
            json_object(raw, "body")
        assert info.value.status == 400


def test_json_object_too_large() -> None:
    with pytest.raises(BadRequest) as info:
        json_object(b" " * (16 * 1024 * 1024 + 1), "body")
    assert info.value.status == 413


def test_text_of() -> None:
    assert text_of(" 12 ") == "12" and text_of(12) == "12"
    assert text_of(None) == text_of(True) == text_of({"a": 1}) == text_of([1]) == ""


def test_core_never_imports_plexapi() -> None:
    """sidecar/ must stay free of plexapi (and of the Plex adapter that wraps it)."""
    offenders = []
    for path in sorted((ROOT / "sidecar").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "plexapi"]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("plugin.plex")]
    assert offenders == []
