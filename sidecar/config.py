"""Settings: one frozen object built from defaults, then saved values, then ``SCANARR_*``.

The list of settings (key, type, default, secret) lives in ``manifest.json`` so the
settings page, the README table and this module cannot drift apart; this module turns
raw strings from any source into typed values and says exactly which setting is wrong
when one cannot be parsed.  The environment wins over the database because it is what
an operator pinned in a compose file: the settings page shows such values read-only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlparse

from sidecar.errors import ConfigError

ENV_PREFIX = "SCANARR_"
SOURCE_DEFAULT, SOURCE_STORED, SOURCE_ENV = "default", "stored", "env"


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings. Field names are the manifest keys."""

    tmdb_api_key: str = ""
    tmdb_api_url: str = "https://api.themoviedb.org/3"
    language: str = "en-US"
    libraries: tuple[str, ...] = ()
    data_dir: str = "~/.scanarr"
    path_map: tuple[tuple[str, str], ...] = ()
    host: str = "none"
    host_url: str = ""
    host_token: str = ""
    plex_alerts: bool = False
    webhook_secret: str = ""
    admin_password: str = ""
    scan_interval: int = 15
    refresh_time: str = "03:00"
    full_stat_hours: int = 24
    trust_folder_mtimes: bool = True
    settle_seconds: int = 60
    rate_limit: int = 35
    rate_window: float = 10.0
    rate_limit_url: str = ""
    workers: int = 2
    http_timeout: int = 20
    nfo: bool = False
    certification_country: str = "US"
    log_level: str = "INFO"
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        """Never show secrets, even in a traceback or a debug log."""
        shown = {
            f.name: ("***" if spec(f.name).get("secret") and getattr(self, f.name) else
                     getattr(self, f.name))
            for f in dataclasses.fields(self) if f.name != "sources"
        }
        return f"Settings({shown})"

    @property
    def has_tmdb_key(self) -> bool:
        return bool(self.tmdb_api_key)

    def source(self, key: str) -> str:
        """Where a value came from: ``default``, ``stored`` (settings page) or ``env``."""
        return self.sources.get(key, SOURCE_DEFAULT)


@cache
def manifest() -> dict[str, Any]:
    """The plugin manifest shipped inside the package (a link to the repository's root copy)."""
    text = resources.files("sidecar").joinpath("manifest.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def specs() -> list[dict[str, Any]]:
    """The setting specs from the manifest, in display order."""
    return list(manifest()["settings"])


def spec(key: str) -> dict[str, Any]:
    for item in specs():
        if item["key"] == key:
            return dict(item)
    raise KeyError(key)


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def load_settings(
    stored: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults, stored values and the environment into a validated Settings.

    Raises ConfigError naming the first bad setting.  Unknown stored keys are ignored
    so an older database never stops a newer Scanarr from starting.
    """
    env = os.environ if env is None else env
    stored = stored or {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for item in specs():
        key = item["key"]
        raw: Any = item["default"]
        source = SOURCE_DEFAULT
        if key in stored and not item.get("env_only"):
            raw, source = stored[key], SOURCE_STORED
        if env_name(key) in env:
            raw, source = env[env_name(key)], SOURCE_ENV
        values[key] = parse_value(item, raw)
        sources[key] = source
    return Settings(**values, sources=sources)


def parse_value(item: Mapping[str, Any], raw: Any) -> Any:
    """Turn one raw value (str from env/DB, or the manifest default) into its typed form."""
    key, kind = item["key"], item["type"]
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ConfigError(key, f"unknown setting type {kind!r} in manifest")
    value = parser(key, raw.strip() if isinstance(raw, str) else raw, item)
    if item.get("required") and value in ("", ()):
        raise ConfigError(key, "is required")
    return value


def _parse_str(key: str, raw: Any, item: Mapping[str, Any]) -> str:
    return "" if raw is None else str(raw)


def _parse_int(key: str, raw: Any, item: Mapping[str, Any]) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a whole number, got {raw!r}") from None
    _check_range(key, value, item)
    return value


def _parse_float(key: str, raw: Any, item: Mapping[str, Any]) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a number, got {raw!r}") from None
    _check_range(key, value, item)
    return value


def _check_range(key: str, value: float, item: Mapping[str, Any]) -> None:
    low, high = item.get("min"), item.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(key, f"must be between {low} and {high}, got {value}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(key: str, raw: Any, item: Mapping[str, Any]) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(key, f"must be true or false, got {raw!r}")


def _parse_paths(key: str, raw: Any, item: Mapping[str, Any]) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        parts = [str(p) for p in raw]
    else:
        parts = str(raw or "").split(os.pathsep)
    paths = tuple(os.path.abspath(os.path.expanduser(p.strip())) for p in parts if p.strip())
    if len(set(paths)) != len(paths):
        raise ConfigError(key, "lists the same folder twice")
    return paths


def _parse_path(key: str, raw: Any, item: Mapping[str, Any]) -> str:
    text = str(raw or "").strip()
    return os.path.abspath(os.path.expanduser(text)) if text else ""


def _parse_url(key: str, raw: Any, item: Mapping[str, Any]) -> str:
    text = str(raw or "").strip().rstrip("/")
    if not text:
        return ""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(key, f"must be an http:// or https:// URL, got {text!r}")
    return text


_LANGUAGE = re.compile(r"^([a-zA-Z]{2})(?:-([a-zA-Z]{2}|\d{3}))?$")


def _parse_language(key: str, raw: Any, item: Mapping[str, Any]) -> str:
    match = _LANGUAGE.match(str(raw or "").strip())
    if not match:
        raise ConfigError(key, f"must look like en-US or de, got {raw!r}")
    lang, country = match.group(1).lower(), match.group(2)
    return f"{lang}-{country.upper()}" if country else lang


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _parse_time(key: str, raw: Any, item: Mapping[str, Any]) -> str:
    match = _TIME.match(str(raw or "").strip())
    if not match:
        raise ConfigError(key, f"must be a time as HH:MM (24 h), got {raw!r}")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _parse_choice(key: str, raw: Any, item: Mapping[str, Any]) -> str:
    text = str(raw or "").strip()
    for choice in item["choices"]:
        if text.lower() == choice.lower():
            return str(choice)
    raise ConfigError(key, f"must be one of {', '.join(item['choices'])}, got {text!r}")


def _parse_pathmap(key: str, raw: Any, item: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``/host/a=/local/a;/host/b=/local/b`` or a JSON list of pairs, order kept."""
    if isinstance(raw, list | tuple):
        pairs = [tuple(p) for p in raw]
    else:
        text = str(raw or "").strip()
        if text.startswith("["):
            try:
                pairs = [tuple(p) for p in json.loads(text)]
            except (ValueError, TypeError):
                raise ConfigError(key, "is not a valid JSON list of [host, local] pairs") from None
        else:
            pairs = [tuple(chunk.split("=", 1)) for chunk in text.split(";") if chunk.strip()]
    result = []
    for pair in pairs:
        if len(pair) != 2 or not str(pair[0]).strip() or not str(pair[1]).strip():
            raise ConfigError(key, f"each mapping must be HOST_PREFIX=LOCAL_PREFIX, got {pair!r}")
        result.append((str(pair[0]).strip(), str(pair[1]).strip()))
    return tuple(result)


_PARSERS = {
    "string": _parse_str,
    "int": _parse_int,
    "float": _parse_float,
    "bool": _parse_bool,
    "paths": _parse_paths,
    "path": _parse_path,
    "url": _parse_url,
    "language": _parse_language,
    "time": _parse_time,
    "choice": _parse_choice,
    "pathmap": _parse_pathmap,
}
