"""Settings: defaults, then stored values, then SCANARR_* (with where each came from);
every type parser, and errors that name the setting; secrets never shown."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from sidecar import config
from sidecar.app import build_app, open_store
from sidecar.config import ConfigError, Settings, load_settings, parse_value, spec, specs


def env(**values: str) -> dict[str, str]:
    return {config.env_name(k): v for k, v in values.items()}


# --- the manifest and the dataclass agree ---------------------------------------------------


def test_every_manifest_setting_is_a_field_with_the_same_default() -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings) if f.name != "sources"}
    assert {s["key"] for s in specs()} == set(fields)
    defaults = load_settings({}, {})
    for item in specs():
        if item["type"] in ("path", "paths"):  # made absolute when parsed
            continue
        assert getattr(defaults, item["key"]) == getattr(Settings(), item["key"]), item["key"]


def test_every_setting_type_has_a_parser() -> None:
    assert {s["type"] for s in specs()} <= set(config._PARSERS)
    with pytest.raises(ConfigError) as info:
        parse_value({"key": "x", "type": "nope"}, "1")
    assert info.value.setting == "x"


def test_spec_lookup() -> None:
    assert spec("workers")["type"] == "int"
    with pytest.raises(KeyError):
        spec("no_such_setting")


# --- precedence ---------------------------------------------------------------------------


def test_defaults_then_stored_then_env_with_sources() -> None:
    stored = {"language": "de-DE", "workers": "4", "nfo": "true"}
    settings = load_settings(stored, env(workers="8", rate_limit="20"))
    assert (settings.language, settings.workers, settings.nfo) == ("de-DE", 8, True)
    assert (settings.rate_limit, settings.scan_interval) == (20, 15)
    assert settings.source("language") == "stored"
    assert settings.source("workers") == "env"  # the environment wins over the database
    assert settings.source("rate_limit") == "env"
    assert settings.source("scan_interval") == "default"
    assert settings.source("not_a_setting") == "default"


def test_env_only_settings_ignore_stored_values(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": "/somewhere/else"}, {})
    assert settings.data_dir == os.path.expanduser("~/.scanarr")
    assert settings.source("data_dir") == "default"
    settings = load_settings({}, env(data_dir=str(tmp_path)))
    assert (settings.data_dir, settings.source("data_dir")) == (str(tmp_path), "env")


def test_unknown_stored_keys_are_ignored() -> None:
    assert load_settings({"retired_setting": "1"}, {}) == load_settings({}, {})


def test_the_real_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANARR_WORKERS", "3")
    assert load_settings().workers == 3


def test_stored_bad_value_names_the_setting() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"scan_interval": "often"}, {})
    assert info.value.setting == "scan_interval"
    assert "whole number" in str(info.value)


# --- parsers ------------------------------------------------------------------------------

GOOD: list[tuple[str, Any, Any]] = [
    ("tmdb_api_key", "  abc  ", "abc"),
    ("workers", "4", 4),
    ("workers", " 16 ", 16),
    ("rate_window", "2.5", 2.5),
    ("rate_window", "10", 10.0),
    ("nfo", "yes", True), ("nfo", "ON", True), ("nfo", "1", True), ("nfo", "true", True),
    ("nfo", "no", False), ("nfo", "off", False), ("nfo", "0", False), ("nfo", "", False),
    ("nfo", True, True),
    ("tmdb_api_url", "http://127.0.0.1:8080/3/", "http://127.0.0.1:8080/3"),
    ("host_url", "", ""),
    ("language", "pt-br", "pt-BR"), ("language", "DE", "de"), ("language", "es-419", "es-419"),
    ("refresh_time", "3:05", "03:05"), ("refresh_time", "23:59", "23:59"),
    ("host", "Plex", "plex"), ("log_level", "debug", "DEBUG"),
    ("path_map", "/data/movies=/media/movies;/data/tv=/media/tv",
     (("/data/movies", "/media/movies"), ("/data/tv", "/media/tv"))),
    ("path_map", '[["/a", "/b"]]', (("/a", "/b"),)),
    ("path_map", "", ()),
    ("path_map", [["/x", "/y"]], (("/x", "/y"),)),
]


@pytest.mark.parametrize(("key", "raw", "expected"), GOOD, ids=[f"{k}={r!r}" for k, r, _ in GOOD])
def test_parsers_accept(key: str, raw: Any, expected: Any) -> None:
    assert parse_value(spec(key), raw) == expected


def test_paths_are_split_expanded_and_made_absolute(tmp_path: Path) -> None:
    raw = os.pathsep.join([str(tmp_path / "a"), " ~/b ", "", "rel/c"])
    assert parse_value(spec("libraries"), raw) == (
        str(tmp_path / "a"), os.path.expanduser("~/b"), os.path.abspath("rel/c"))
    assert parse_value(spec("libraries"), "") == ()
    assert parse_value(spec("libraries"), [str(tmp_path)]) == (str(tmp_path),)
    assert parse_value(spec("data_dir"), "~/x") == os.path.expanduser("~/x")


BAD: list[tuple[str, Any, str]] = [
    ("workers", "abc", "whole number"),
    ("workers", "2.5", "whole number"),
    ("workers", "0", "between 1 and 16"),
    ("workers", "17", "between 1 and 16"),
    ("rate_window", "fast", "must be a number"),
    ("rate_window", "0.01", "between"),
    ("nfo", "maybe", "true or false"),
    ("tmdb_api_url", "ftp://example.org", "http:// or https://"),
    ("tmdb_api_url", "not a url", "http:// or https://"),
    ("tmdb_api_url", "", "is required"),
    ("language", "english", "en-US"),
    ("language", "", "en-US"),
    ("refresh_time", "25:00", "HH:MM"),
    ("refresh_time", "noon", "HH:MM"),
    ("host", "kodi", "none, plex, jellyfin"),
    ("path_map", "/a", "HOST_PREFIX=LOCAL_PREFIX"),
    ("path_map", "=/b", "HOST_PREFIX=LOCAL_PREFIX"),
    ("path_map", "[not json", "JSON"),
    ("path_map", '[["/a"]]', "HOST_PREFIX=LOCAL_PREFIX"),
    ("libraries", os.pathsep.join(["/a", "/a/"]), "twice"),
    ("data_dir", "", "is required"),
]


@pytest.mark.parametrize(("key", "raw", "problem"), BAD, ids=[f"{k}={r!r}" for k, r, _ in BAD])
def test_parsers_reject_naming_the_setting(key: str, raw: Any, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, env(**{key: raw}))
    assert info.value.setting == key
    assert problem in info.value.problem
    assert str(info.value).startswith(f"{key}: ")


# --- secrets and the missing key ----------------------------------------------------------


def test_secrets_are_masked_in_repr() -> None:
    settings = load_settings({}, env(tmdb_api_key="0123456789abcdef0123456789abcdef",
                                     host_token="plex-token-xyz", admin_password="hunter2",
                                     webhook_secret="s3cret"))
    text = repr(settings)
    for secret in ("0123456789abcdef", "plex-token-xyz", "hunter2", "s3cret"):
        assert secret not in text
    assert "'tmdb_api_key': '***'" in text
    assert "'workers': 2" in text  # the rest is shown
    assert "'host_token': ''" in repr(load_settings({}, {}))  # empty is not a secret
    assert "hunter2" not in str(settings)


def test_no_tmdb_key_is_fine() -> None:
    settings = load_settings({}, {})
    assert settings.tmdb_api_key == "" and not settings.has_tmdb_key
    assert load_settings({}, env(tmdb_api_key="k")).has_tmdb_key


def test_the_sidecar_starts_without_a_tmdb_key(tmp_path: Path) -> None:
    lib = tmp_path / "Movies" / "Heat (1995)"
    lib.mkdir(parents=True)
    (lib / "Heat (1995).mkv").write_bytes(b"x")
    store, settings = open_store(env(data_dir=str(tmp_path / "data"),
                                     libraries=str(tmp_path / "Movies")))
    app = build_app(settings, store)
    assert not app.client.has_key
    summary = app.scanner.scan("quick")
    assert summary.counts["new"] == 1  # walking and identifying work without a key


def test_settings_are_frozen() -> None:
    settings = load_settings({}, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.workers = 5  # type: ignore[misc]
