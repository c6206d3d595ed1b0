"""The settings page: rendered from the manifest, validated, saved live, secrets write-only
(sidecar/web/pages.py + sidecar/web/forms.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sidecar.config import specs
from sidecar.web import forms
from tests.fakes.fake_service import FakeService
from tests.web_support import logged_in, post

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Flask, FakeService, FlaskClient]:
    return logged_in(tmp_path)


def page(client: FlaskClient) -> str:
    answer = client.get("/settings")
    assert answer.status_code == 200
    return str(answer.get_data(as_text=True))


def test_every_manifest_setting_has_a_field_with_its_help(setup: tuple) -> None:
    _, _, client = setup
    html = page(client)
    for item in specs():
        assert f'id="field-{item["key"]}"' in html, item["key"]
        assert f"SCANARR_{item['key'].upper()}" in html


def test_every_setting_is_in_exactly_one_group() -> None:
    from sidecar.config import manifest

    listed = [k for g in manifest()["settings_groups"] for k in g["keys"]]
    assert sorted(listed) == sorted(item["key"] for item in specs())


def test_save_persists_and_only_changed_values_are_sent(setup: tuple, tmp_path: Path) -> None:
    _, service, client = setup
    lib = tmp_path / "movies"
    lib.mkdir()
    answer = post(client, "/settings", {
        "language": "de", "scan_interval": "30", "libraries": f"{lib}\n\n",
        "nfo": "on", "rate_window": "10.0", "host": "none", "shown": ["nfo", "plex_alerts"]})
    assert answer.status_code == 302
    sent = service.calls[-1][1]
    assert sent == {"language": "de", "scan_interval": "30", "libraries": str(lib),
                    "nfo": "true"}
    settings = service.settings
    assert (settings.language, settings.scan_interval, settings.nfo) == ("de", 30, True)
    assert settings.libraries == (str(lib),)
    html = page(client)
    assert 'value="30"' in html and "Saved 4 setting(s)" in html
    assert re.search(r'id="nfo" name="nfo" value="on"\s+checked', html)


def test_unchecking_a_box_turns_it_off(setup: tuple) -> None:
    _, service, client = setup
    post(client, "/settings", {"nfo": "on"})
    assert service.settings.nfo
    post(client, "/settings", {"language": "de"})  # a partial POST leaves the box alone
    assert service.settings.nfo
    post(client, "/settings", {"shown": "nfo"})  # rendered, and not ticked: off
    assert not service.settings.nfo


def test_paths_and_path_maps_are_one_per_line(setup: tuple, tmp_path: Path) -> None:
    _, service, client = setup
    a, b = tmp_path / "a", tmp_path / "b"
    post(client, "/settings", {"libraries": f"{a}\r\n{b}",
                               "path_map": "/data/movies=/media/movies\n/data/tv=/media/tv"})
    assert service.settings.libraries == (str(a), str(b))
    assert service.settings.path_map == (("/data/movies", "/media/movies"),
                                         ("/data/tv", "/media/tv"))
    html = page(client)
    assert f"{a}\n{b}</textarea>" in html
    assert "/data/movies=/media/movies\n/data/tv=/media/tv</textarea>" in html


def test_every_invalid_field_gets_its_own_message(setup: tuple) -> None:
    _, service, client = setup
    answer = post(client, "/settings", {"scan_interval": "0", "refresh_time": "25:00",
                                        "language": "english", "host_url": "plex:32400",
                                        "workers": "many"})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    for key in ("scan_interval", "refresh_time", "language", "host_url", "workers"):
        assert f'id="error-{key}"' in html, key
    assert "must be between 1 and 1440, got 0" in html
    assert 'value="25:00"' in html  # the rejected text is shown again for fixing
    assert "Not saved: 5 setting(s) need fixing." in html
    assert not [c for c in service.calls if c[0] == "save_settings"]


def test_service_side_error_lands_on_its_field(setup: tuple, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    from sidecar.errors import ConfigError

    _, service, client = setup

    def refuse(values: object) -> None:
        raise ConfigError("host_url", "is required when a media server is chosen")

    monkeypatch.setattr(service, "save_settings", refuse)
    answer = post(client, "/settings", {"host": "plex"})
    assert answer.status_code == 400
    assert 'id="error-host_url"' in answer.get_data(as_text=True)


def test_secret_is_write_only_and_empty_keeps_it(setup: tuple) -> None:
    _, service, client = setup
    post(client, "/settings", {"tmdb_api_key": KEY})
    assert service.settings.tmdb_api_key == KEY
    html = page(client)
    assert KEY not in html
    assert "stored — leave empty to keep" in html
    post(client, "/settings", {"tmdb_api_key": "", "language": "fr"})
    assert service.settings.tmdb_api_key == KEY
    post(client, "/settings", {"clear_tmdb_api_key": "1"})
    assert service.settings.tmdb_api_key == ""


def test_admin_password_from_the_form_is_hashed_and_cannot_be_cleared(setup: tuple) -> None:
    _, service, client = setup
    short = post(client, "/settings", {"admin_password": "short"})
    assert short.status_code == 400 and 'id="error-admin_password"' in short.get_data(
        as_text=True)
    post(client, "/settings", {"clear_admin_password": "1"})
    assert service.settings.admin_password  # still set


def test_environment_values_are_read_only_with_the_reason(tmp_path: Path) -> None:
    _, service, client = logged_in(tmp_path, {"SCANARR_LANGUAGE": "pt-BR",
                                              "SCANARR_TMDB_API_KEY": KEY})
    html = page(client)
    assert "Read-only: set by SCANARR_LANGUAGE in the environment." in html
    assert "Read-only: set by SCANARR_TMDB_API_KEY in the environment." in html
    assert "Read-only: set by SCANARR_DATA_DIR in the environment." in html
    assert KEY not in html
    post(client, "/settings", {"language": "de", "tmdb_api_key": "other", "data_dir": "/x"})
    assert service.settings.language == "pt-BR"
    assert service.settings.tmdb_api_key == KEY
    assert "language" not in service.store.stored_settings()


def test_webhook_secret_is_shown_once_on_rotation(setup: tuple) -> None:
    _, service, client = setup
    html = page(client)
    assert "Generate secret" in html and "?token=WEBHOOK_SECRET" in html
    answer = post(client, "/settings/webhook-secret")
    assert answer.status_code == 200
    secret = service.settings.webhook_secret
    assert len(secret) >= 32
    shown = answer.get_data(as_text=True)
    assert f"http://localhost/webhooks/plex?token={secret}" in shown
    assert f"http://localhost/webhooks/jellyfin?token={secret}" in shown
    assert answer.headers["Cache-Control"] == "no-store"
    later = page(client)
    assert secret not in later and "Rotate secret" in later
    post(client, "/settings/webhook-secret")
    assert service.settings.webhook_secret != secret


def test_webhook_secret_from_environment_cannot_be_rotated(tmp_path: Path) -> None:
    _, service, client = logged_in(tmp_path, {"SCANARR_WEBHOOK_SECRET": "pinned-secret-value"})
    assert 'id="rotate-webhook"' not in page(client)
    answer = post(client, "/settings/webhook-secret", follow_redirects=True)
    assert "set by SCANARR_WEBHOOK_SECRET" in answer.get_data(as_text=True)
    assert service.settings.webhook_secret == "pinned-secret-value"


def test_test_buttons_report_success_and_failure_without_secrets(setup: tuple, tmp_path: Path
                                                                 ) -> None:
    _, service, client = setup
    post(client, "/settings", {"tmdb_api_key": KEY, "host_token": "plex-token-123"})
    ok = post(client, "/settings/test/tmdb", follow_redirects=True).get_data(as_text=True)
    assert "Test tmdb: TMDB answered" in ok
    service.tmdb_ok = False
    bad = post(client, "/settings/test/tmdb", follow_redirects=True).get_data(as_text=True)
    assert "Test tmdb failed: 401 from" in bad and KEY not in bad and "api_key=***" in bad
    host = post(client, "/settings/test/host", follow_redirects=True).get_data(as_text=True)
    assert "Test host failed" in host and "plex-token-123" not in host
    lib = post(client, "/settings/test/library", {"path": str(tmp_path)},
               follow_redirects=True).get_data(as_text=True)
    assert f"{tmp_path} is readable and writable" in lib
    missing = post(client, "/settings/test/library", {"path": str(tmp_path / "nope")},
                   follow_redirects=True).get_data(as_text=True)
    assert "is not a folder" in missing
    unknown = post(client, "/settings/test/other", follow_redirects=True)
    assert "Unknown test" in unknown.get_data(as_text=True)


def test_display_and_raw_value_round_trip() -> None:
    item = {"key": "libraries", "type": "paths"}
    raw = forms.raw_value(item, {"libraries": "/a\n /b \n"})
    assert raw == os.pathsep.join(["/a", "/b"])
    assert forms.display(item, ("/a", "/b")) == "/a\n/b"
    pm = {"key": "path_map", "type": "pathmap"}
    assert forms.raw_value(pm, {"path_map": "/x=/y\n/z=/w"}) == "/x=/y;/z=/w"
    assert forms.widget_for({"type": "int"}) == "number"
    assert forms.widget_for({"type": "string", "secret": True}) == "password"


def test_env_only_setting_is_locked_even_when_unset() -> None:
    from sidecar.config import load_settings, spec

    assert forms.lock_reason(spec("data_dir"), load_settings({}, {})) == (
        "set only by SCANARR_DATA_DIR in the environment")
    assert forms.lock_reason(spec("language"), load_settings({}, {})) is None


def test_showing_webhook_urls_without_a_secret_says_so(setup: tuple) -> None:
    _, service, client = setup
    assert not service.settings.webhook_secret
    answer = post(client, "/settings/webhook-urls", follow_redirects=True)
    assert "There is no webhook secret yet" in answer.get_data(as_text=True)
