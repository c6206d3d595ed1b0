"""The settings form, built from the manifest's settings list (no field is hand-written).

Two directions:

* :func:`fields` turns the manifest specs plus the current :class:`Settings` into what
  the template renders.  Secrets are write-only: the template gets whether one is set,
  never the value.  Values pinned by ``SCANARR_*`` are read-only and say why.
* :func:`read_form` turns a submitted form into the raw strings ``save_settings`` takes,
  validating every field with the same parser ``config.py`` uses, so all the problems of
  one submission are reported at once, each next to its field.  Only values that differ
  from the current settings are sent, so an untouched default stays a default.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sidecar.config import SOURCE_ENV, Settings, env_name, manifest, parse_value, specs
from sidecar.errors import ConfigError
from sidecar.web.common import MIN_PASSWORD_LENGTH

MULTILINE = frozenset({"paths", "pathmap"})
NUMERIC = frozenset({"int", "float"})
HASHED = "admin_password"  # stored as a hash: auth.hash_password is applied by the caller


@dataclass
class Field:
    """One setting as the page shows it."""

    key: str
    label: str
    type: str
    help: str
    env: str
    widget: str
    value: str = ""
    choices: tuple[str, ...] = ()
    minimum: Any = None
    maximum: Any = None
    secret: bool = False
    is_set: bool = False
    locked: str | None = None
    error: str | None = None

    @property
    def step(self) -> str:
        return "any" if self.type == "float" else "1"


@dataclass
class Group:
    title: str
    fields: list[Field] = field(default_factory=list)


def widget_for(item: Mapping[str, Any]) -> str:
    if item.get("secret"):
        return "password"
    kind = item["type"]
    if kind == "bool":
        return "checkbox"
    if kind == "choice":
        return "select"
    if kind in MULTILINE:
        return "textarea"
    return "number" if kind in NUMERIC else "text"


def display(item: Mapping[str, Any], value: Any) -> str:
    """A typed setting as the text a person edits (one folder / one mapping per line)."""
    kind = item["type"]
    if kind == "paths":
        return "\n".join(value)
    if kind == "pathmap":
        return "\n".join(f"{host}={local}" for host, local in value)
    if kind == "bool":
        return "true" if value else "false"
    return "" if value is None else str(value)


def lock_reason(item: Mapping[str, Any], settings: Settings) -> str | None:
    if settings.source(item["key"]) == SOURCE_ENV:
        return f"set by {env_name(item['key'])} in the environment"
    if item.get("env_only"):
        return f"set only by {env_name(item['key'])} in the environment"
    return None


SHOWN = "shown"  # hidden inputs naming the checkboxes a page rendered


def fields(settings: Settings, submitted: Mapping[str, str] | None = None,
           errors: Mapping[str, str] | None = None) -> list[Field]:
    """Every setting in manifest order; ``submitted`` re-shows a rejected form's text."""
    result = []
    for item in specs():
        key = item["key"]
        value = getattr(settings, key)
        shown = "" if item.get("secret") else display(item, value)
        if submitted is not None and key in submitted and not item.get("secret"):
            shown = submitted[key]
        result.append(Field(
            key=key, label=item["label"], type=item["type"], help=item.get("help", ""),
            env=env_name(key), widget=widget_for(item), value=shown,
            choices=tuple(item.get("choices", ())), minimum=item.get("min"),
            maximum=item.get("max"), secret=bool(item.get("secret")), is_set=bool(value),
            locked=lock_reason(item, settings), error=(errors or {}).get(key)))
    return result


def groups(all_fields: list[Field]) -> list[Group]:
    """Fields in the manifest's ``settings_groups``; anything unlisted goes to "Other"."""
    by_key = {f.key: f for f in all_fields}
    result = []
    for spec in manifest().get("settings_groups", []):
        members = [by_key.pop(key) for key in spec["keys"] if key in by_key]
        result.append(Group(spec["title"], members))
    if by_key:
        result.append(Group("Other", list(by_key.values())))
    return result


def raw_value(item: Mapping[str, Any], form: Mapping[str, str]) -> str:
    """The submitted text for ``item`` in the form ``config.parse_value`` reads."""
    key, kind = item["key"], item["type"]
    if kind == "bool":
        return "true" if form.get(key) in ("on", "true", "1") else "false"
    text = form.get(key, "")
    lines = [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    if kind == "paths":
        return os.pathsep.join(lines)
    if kind == "pathmap":
        return ";".join(lines)
    return text.strip()


def read_form(form: Mapping[str, str], settings: Settings, shown: Collection[str] = ()
              ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(changed raw values, errors by key, submitted text to re-show) for a settings POST.

    Only fields the form carried count; ``shown`` names the checkboxes the page rendered,
    because an unticked box is simply absent (so a partial POST never turns one off).
    Locked fields are ignored whatever was sent; an empty secret keeps the stored one
    and ``clear_<key>`` removes it.
    """
    changed: dict[str, str] = {}
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    for item in specs():
        key = item["key"]
        sent = key in form or key in shown or bool(form.get(f"clear_{key}"))
        if not sent or lock_reason(item, settings) is not None:
            continue
        submitted[key] = form.get(key, "")
        try:
            raw = _checked(item, form, settings)
        except ConfigError as exc:
            errors[key] = exc.problem
            continue
        if raw is not None:
            changed[key] = raw
    return changed, errors, submitted


def _checked(item: Mapping[str, Any], form: Mapping[str, str], settings: Settings) -> str | None:
    """The raw value to save for one field, None when unchanged; ConfigError when invalid."""
    key = item["key"]
    if item.get("secret"):
        if form.get(f"clear_{key}") and key != HASHED:  # never back to "anyone may set it"
            return "" if getattr(settings, key) else None
        text = form.get(key, "")
        if not text:
            return None  # write-only: empty means "keep what is stored"
        if key == HASHED and len(text) < MIN_PASSWORD_LENGTH:
            raise ConfigError(key, f"must be at least {MIN_PASSWORD_LENGTH} characters")
        parse_value(item, text)
        return text
    raw = raw_value(item, form)
    if parse_value(item, raw) == getattr(settings, key):
        return None
    return raw
