"""Edits from the settings page, judged before anything is stored (pure functions).

The service applies a saved change live, so it must know exactly what may be written
(not unknown keys, not ``env_only`` ones, not values the environment pins -- those would
be silently overridden on the next start) and what actually changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sidecar.config import SOURCE_ENV, Settings, env_name, parse_value, spec, specs
from sidecar.errors import ConfigError


def settable(current: Settings, values: Mapping[str, str]) -> dict[str, str]:
    """The values to store; ConfigError names the first key that may not be changed here.

    A pinned key sent back unchanged (a form posts every field) is dropped, not refused.
    """
    known = {item["key"] for item in specs()}
    result = {}
    for key, raw in values.items():
        if key not in known:
            raise ConfigError(key, "is not a setting")
        if spec(key).get("env_only"):
            raise ConfigError(key, f"can only be set with {env_name(key)}")
        if current.source(key) == SOURCE_ENV:
            if parse_value(spec(key), raw) != getattr(current, key):
                raise ConfigError(key, f"is pinned by {env_name(key)} in the environment")
            continue
        result[key] = str(raw)
    return result


def changed(old: Settings, new: Settings) -> set[str]:
    """Names of the settings whose typed value differs."""
    return {f.name for f in dataclasses.fields(Settings)
            if f.name != "sources" and getattr(old, f.name) != getattr(new, f.name)}
