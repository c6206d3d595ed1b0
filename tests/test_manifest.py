"""manifest.json is the one source of truth: Settings, README, routes and version agree."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import tomllib
from pathlib import Path

import pytest

from sidecar import __version__
from sidecar.config import Settings, load_settings, manifest, parse_value, specs
from sidecar.web import create_app
from tests.fakes.fake_service import FakeService

REPO = Path(__file__).resolve().parents[1]
SPEC_FIELDS = {"key", "label", "type", "default", "secret", "required", "help"}
TYPES = {"string", "int", "float", "bool", "paths", "path", "url", "language", "time",
         "choice", "pathmap"}


def root_manifest() -> dict:
    return dict(json.loads((REPO / "manifest.json").read_text(encoding="utf-8")))


def test_package_copy_is_the_root_file() -> None:
    assert manifest() == root_manifest()
    link = REPO / "sidecar" / "manifest.json"
    assert link.is_symlink() and link.resolve() == (REPO / "manifest.json").resolve()


def test_identity_and_version() -> None:
    data = root_manifest()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert data["id"] == project["name"] == "scanarr"
    assert data["version"] == project["version"]
    if __version__ != "0.0.0":  # installed: the package metadata must agree too
        assert data["version"] == __version__
    assert data["name"] and data["description"]


def test_settings_match_the_settings_dataclass() -> None:
    keys = [item["key"] for item in specs()]
    fields = [f.name for f in dataclasses.fields(Settings) if f.name != "sources"]
    assert keys == fields  # same names, same order
    for item in specs():
        assert set(item) >= SPEC_FIELDS, item["key"]
        assert item["type"] in TYPES, item["key"]
        default = getattr(Settings(), item["key"])
        if item["type"] == "path":
            default = os.path.abspath(os.path.expanduser(default))
        assert parse_value(item, item["default"]) == default, item["key"]
        if item["type"] == "choice":
            assert item["default"] in item["choices"]


def test_secret_defaults_are_empty() -> None:
    """The manifest is public: nothing secret may ever be written into it."""
    for item in specs():
        if item.get("secret"):
            assert item["default"] == "", item["key"]


def test_every_setting_has_its_environment_variable() -> None:
    env = {f"SCANARR_{item['key'].upper()}": "1" for item in specs()
           if item["type"] in ("int", "float", "bool")}
    settings = load_settings({}, env)
    assert all(settings.source(k.removeprefix("SCANARR_").lower()) == "env" for k in env)


def test_readme_configuration_table_is_generated_from_the_manifest() -> None:
    spec = importlib.util.spec_from_file_location("config_table", REPO / "scripts" /
                                                  "config_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert module.table() in readme
    documented = set(re.findall(r"^\| `SCANARR_([A-Z_]+)`", readme, re.MULTILINE))
    assert documented == {item["key"].upper() for item in specs()}


def test_settings_groups_cover_every_setting_once() -> None:
    listed = [k for group in root_manifest()["settings_groups"] for k in group["keys"]]
    assert sorted(listed) == sorted(item["key"] for item in specs())


def test_every_declared_route_is_served(tmp_path: Path) -> None:
    adapter = create_app(FakeService(tmp_path / "data")).url_map.bind("localhost")
    data = root_manifest()
    declared = [(route, "GET") for route in data["routes"].values()]
    declared += [(host["webhook"], "POST") for host in data["hosts"].values()]
    for provider in data["providers"].values():  # none yet: see README "Plex and Jellyfin"
        declared += [(route, "GET") for route in provider.get("routes", {}).values()]
    for route, method in declared:
        endpoint, _ = adapter.match(route, method=method)  # raises NotFound if not served
        assert endpoint, route


def test_hosts_and_provider_section() -> None:
    data = root_manifest()
    assert set(data["hosts"]) == {"plex", "jellyfin"}
    assert data["hosts"]["plex"]["events"] == ["library.new"]
    assert data["hosts"]["jellyfin"]["events"] == ["ItemAdded"]
    # The Plex Custom Metadata Provider (tv.plex.agents.custom.scanarr) is a later step:
    # nothing may be declared for it before the sidecar serves it.
    assert data["providers"] == {}


@pytest.mark.parametrize("route", ["/manifest.json"])
def test_served_manifest_is_the_file(tmp_path: Path, route: str) -> None:
    app = create_app(FakeService(tmp_path / "data"))
    assert app.test_client().get(route).get_json() == root_manifest()
