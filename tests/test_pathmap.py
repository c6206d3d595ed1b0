"""Host <-> sidecar path mapping: ordered prefixes, whole components, Windows, roots."""

from __future__ import annotations

import doctest
import logging

import pytest

import sidecar.pathmap
from sidecar.errors import ConfigError, OutsideRoots, WriteError
from sidecar.pathmap import PathMapper, is_windows_path, parse_pairs

ROOTS = ["/media/movies", "/media/tv"]


@pytest.fixture
def mapper() -> PathMapper:
    return PathMapper([("/data/movies", "/media/movies"), ("/data/tv", "/media/tv")], ROOTS)


def test_maps_by_prefix(mapper: PathMapper) -> None:
    assert mapper.to_local("/data/tv/Show/S01E01.mkv") == "/media/tv/Show/S01E01.mkv"
    assert (
        mapper.to_local("/data/movies/Heat (1995)/Heat.mkv") == "/media/movies/Heat (1995)/Heat.mkv"
    )


def test_prefix_itself_and_trailing_slashes() -> None:
    m = PathMapper([("/data/tv/", "/media/tv/")], ROOTS)
    assert m.to_local("/data/tv") == "/media/tv"
    assert m.to_local("/data/tv//Show/") == "/media/tv/Show"


def test_prefix_matches_whole_components_only() -> None:
    m = PathMapper([("/data/tv", "/media/tv")], ["/media", "/data"])
    # /data/tvshows is not under /data/tv: no mapping applies, the path is used as is
    assert m.to_local("/data/tvshows/Show/a.mkv") == "/data/tvshows/Show/a.mkv"


def test_first_matching_pair_wins() -> None:
    m = PathMapper([("/data/tv/anime", "/media/anime"), ("/data", "/media")], ["/media"])
    assert m.to_local("/data/tv/anime/Naruto/e1.mkv") == "/media/anime/Naruto/e1.mkv"
    assert m.to_local("/data/tv/Show/e1.mkv") == "/media/tv/Show/e1.mkv"
    reversed_order = PathMapper(
        [("/data", "/media"), ("/data/tv/anime", "/media/anime")], ["/media"]
    )
    assert (
        reversed_order.to_local("/data/tv/anime/Naruto/e1.mkv") == "/media/tv/anime/Naruto/e1.mkv"
    )


def test_unmapped_path_is_identity_inside_roots() -> None:
    m = PathMapper([], ["/media/tv"])
    assert m.to_local("/media/tv/Show/e.mkv") == "/media/tv/Show/e.mkv"


@pytest.mark.parametrize(
    "host",
    [
        "F:\\TV\\Show\\Season 01\\Show S01E01.mkv",
        "f:\\tv\\Show\\Season 01\\Show S01E01.mkv",  # drive and folder case differ
        "F:/TV/Show/Season 01/Show S01E01.mkv",  # forward slashes from some clients
    ],
)
def test_windows_host_paths(host: str) -> None:
    m = PathMapper([("F:\\TV", "/media/tv")], ROOTS)
    assert m.to_local(host) == "/media/tv/Show/Season 01/Show S01E01.mkv"


def test_windows_prefix_is_component_wise() -> None:
    m = PathMapper([("F:\\TV", "/media/tv")], ROOTS)
    with pytest.raises(OutsideRoots):
        m.to_local("F:\\TVShows\\Show\\e.mkv")


def test_unc_path() -> None:
    m = PathMapper([("\\\\nas\\media\\tv", "/media/tv")], ROOTS)
    assert m.to_local("\\\\NAS\\media\\tv\\Show\\e.mkv") == "/media/tv/Show/e.mkv"


def test_windows_path_without_mapping_is_refused() -> None:
    with pytest.raises(OutsideRoots, match="no path mapping"):
        PathMapper([("/data/tv", "/media/tv")], ROOTS).to_local("D:\\Other\\x.mkv")


@pytest.mark.parametrize(
    "host",
    [
        "/data/tv/../../etc/passwd",
        "/data/tv/Show/../../../etc/cron.d/x",
        "/data/movies/../secrets/x.mkv",
        "F:\\TV\\..\\..\\Windows\\x",
    ],
)
def test_dotdot_escapes_are_refused(host: str) -> None:
    m = PathMapper(
        [("/data/movies", "/media/movies"), ("/data", "/media"), ("F:\\TV", "/media/tv")], ROOTS
    )
    with pytest.raises(OutsideRoots) as info:
        m.to_local(host)
    assert ".." not in info.value.path


def test_dotdot_inside_roots_is_collapsed(mapper: PathMapper) -> None:
    assert mapper.to_local("/data/tv/Show/Extras/../S01E01.mkv") == "/media/tv/Show/S01E01.mkv"


def test_outside_roots_is_a_non_retryable_write_error(caplog: pytest.LogCaptureFixture) -> None:
    m = PathMapper([("/data/tv", "/srv/elsewhere")], ROOTS)
    with caplog.at_level(logging.WARNING, "sidecar.pathmap"), pytest.raises(OutsideRoots) as info:
        m.to_local("/data/tv/Show/e.mkv")
    assert isinstance(info.value, WriteError)
    assert info.value.reason == "outside_roots" and not info.value.retryable
    assert info.value.path == "/srv/elsewhere/Show/e.mkv"
    assert "outside the library roots" in caplog.text


@pytest.mark.parametrize("host", ["", "   ", "relative/path.mkv"])
def test_empty_and_relative_paths_are_refused(host: str, mapper: PathMapper) -> None:
    with pytest.raises(OutsideRoots):
        mapper.to_local(host)


def test_no_roots_means_nothing_is_allowed() -> None:
    with pytest.raises(OutsideRoots, match="none configured"):
        PathMapper([("/data", "/media")], roots=[]).to_local("/data/x.mkv")


def test_to_host_inverts(mapper: PathMapper) -> None:
    assert mapper.to_host("/media/tv/Show/Season 01") == "/data/tv/Show/Season 01"
    assert mapper.to_host("/media/other/x") == "/media/other/x"  # unmapped: identity


def test_to_host_windows_separators() -> None:
    m = PathMapper([("F:\\TV", "/media/tv")], ROOTS)
    assert m.to_host("/media/tv/Show/Season 01") == "F:\\TV\\Show\\Season 01"
    assert m.to_host("/media/tv") == "F:\\TV"


def test_round_trip(mapper: PathMapper) -> None:
    host = "/data/tv/Amélie & Co; (2001)/S01E01=pilot.mkv"
    assert mapper.to_host(mapper.to_local(host)) == host


def test_is_windows_path() -> None:
    assert is_windows_path("C:\\x") and is_windows_path("c:/x") and is_windows_path("\\\\nas\\s")
    assert is_windows_path("Movies\\x")
    assert not is_windows_path("/data/odd\\name")
    assert not is_windows_path("/data/tv")


def test_parse_setting_string() -> None:
    text = " /data/movies=/media/movies ; F:\\TV=/media/tv;\n/x=/y=z "
    assert parse_pairs(text) == [
        ("/data/movies", "/media/movies"),
        ("F:\\TV", "/media/tv"),
        ("/x", "/y=z"),
    ]
    assert parse_pairs("") == [] and parse_pairs("  ;  ") == []


def test_parse_json_forms() -> None:
    assert parse_pairs('[["/a;b", "/c"]]') == [("/a;b", "/c")]
    assert parse_pairs('[{"host": "/a=b", "local": "/c"}]') == [("/a=b", "/c")]
    m = PathMapper.parse('[["/data/tv", "/media/tv"]]', ROOTS)
    assert m.to_local("/data/tv/x.mkv") == "/media/tv/x.mkv"


@pytest.mark.parametrize(
    "text", ["/data/tv", "=/media", "/data=", "[1, 2]", '[["/a"]]', "[not json", '{"a": 1}']
)
def test_parse_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_pairs(text)
    assert info.value.setting == "path_map"


def test_module_doctest() -> None:
    assert doctest.testmod(sidecar.pathmap).failed == 0
