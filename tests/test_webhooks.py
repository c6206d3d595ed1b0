"""The webhook blueprint: real payload shapes in, 202/4xx with a reason out, never a 500.

The service is real but not started, so an accepted event is only *stored* (the intake
thread that resolves it is tested in test_intake.py); these tests look at what the
host hears back and at what was persisted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sidecar.service import Service
from sidecar.web import health, webhooks
from tests.webhook_payloads import THUMB, jellyfin_all_properties, jellyfin_template, plex_payload

SECRET = "test-secret-ABCDEF"
JF_ID = "5b3f5c1e9e2d4c1f8a7b6c5d4e3f2a1b"


def make_service(tmp_path: Path, host: str) -> Service:
    library = tmp_path / "library"
    library.mkdir(exist_ok=True)
    return Service({"SCANARR_DATA_DIR": str(tmp_path / "data"), "SCANARR_LIBRARIES": str(library),
                    "SCANARR_HOST": host, "SCANARR_HOST_URL": "http://127.0.0.1:9",
                    "SCANARR_HOST_TOKEN": "t", "SCANARR_WEBHOOK_SECRET": SECRET})


def make_app(service: Service) -> Flask:
    """My blueprints on a bare app, as create_app registers them."""
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.extensions["scanarr"] = service
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(health.bp)
    return app


@pytest.fixture
def plex(tmp_path: Path) -> Iterator[tuple[FlaskClient, Service]]:
    service = make_service(tmp_path, "plex")
    yield make_app(service).test_client(), service


@pytest.fixture
def jellyfin(tmp_path: Path) -> Iterator[tuple[FlaskClient, Service]]:
    service = make_service(tmp_path, "jellyfin")
    yield make_app(service).test_client(), service


def post_plex(client: FlaskClient, payload: Any, *, token: str | None = SECRET,
              thumb: bool = True, raw: str | None = None) -> Any:
    data: dict[str, Any] = {"payload": raw if raw is not None else json.dumps(payload)}
    if thumb:
        data["thumb"] = (io.BytesIO(THUMB), "thumb.jpg", "image/jpeg")
    query = f"?token={token}" if token is not None else ""
    return client.post(f"/webhooks/plex{query}", data=data, content_type="multipart/form-data")


def post_jf(client: FlaskClient, body: bytes, *, content_type: str = "text/plain",
            token: str | None = SECRET) -> Any:
    headers = {"X-Scanarr-Token": token} if token is not None else {}
    return client.post("/webhooks/jellyfin", data=body, content_type=content_type,
                       headers=headers)


# -- Plex ---------------------------------------------------------------------------------


def test_plex_library_new_is_stored_and_answered_202(plex: tuple[FlaskClient, Service]) -> None:
    client, service = plex
    answer = post_plex(client, plex_payload("library.new", 1001,
                                            guids=("imdb://tt0113277", "tmdb://949")))
    assert answer.status_code == 202
    assert answer.json["status"] == "accepted"
    [event] = service.store.pending_events()
    assert (event["host"], event["item_id"]) == ("plex", "1001")
    assert event["payload"]["ids"] == {"imdb": "tt0113277", "tmdb": "949"}
    assert event["payload"]["item_type"] == "movie"


def test_plex_episode_without_thumb(plex: tuple[FlaskClient, Service]) -> None:
    client, service = plex
    answer = post_plex(client, plex_payload("library.new", 57612, kind="episode"), thumb=False)
    assert answer.status_code == 202
    assert service.store.pending_events()[0]["payload"]["item_type"] == "episode"


@pytest.mark.parametrize("event", ["media.play", "media.scrobble", "library.on.deck",
                                   "admin.database.backup", "playback.started"])
def test_other_plex_events_are_acknowledged_and_ignored(plex: tuple[FlaskClient, Service],
                                                        event: str) -> None:
    client, service = plex
    answer = post_plex(client, plex_payload(event, 1001))
    assert answer.status_code == 202
    assert answer.json["status"] == "ignored"
    assert event in answer.json["message"]
    assert service.store.pending_events() == []


@pytest.mark.parametrize(("raw", "reason"), [
    ("{not json", "not valid JSON"),
    ("[1, 2, 3]", "must be a JSON object"),
    ('{"Metadata": {}}', "no 'event'"),
    ('{"event": "library.new", "Metadata": {"type": "movie"}}', "ratingKey"),
    ('{"event": "library.new", "Metadata": {"ratingKey": "../../etc"}}', "numeric"),
])
def test_bad_plex_payloads_get_400_with_the_reason(plex: tuple[FlaskClient, Service],
                                                   raw: str, reason: str) -> None:
    client, service = plex
    answer = post_plex(client, None, raw=raw)
    assert answer.status_code == 400
    assert reason in answer.json["error"]
    assert service.store.pending_events() == []


def test_plex_without_payload_field(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    answer = client.post(f"/webhooks/plex?token={SECRET}", data={"other": "x"},
                         content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "payload" in (answer.json or {})["error"]


def test_plex_json_body_without_multipart_is_accepted(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    answer = client.post(f"/webhooks/plex?token={SECRET}",
                         data=json.dumps(plex_payload("library.new", 5)),
                         content_type="application/json")
    assert answer.status_code == 202


def test_plex_garbage_content_type(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    answer = client.post(f"/webhooks/plex?token={SECRET}", data=b"\x00\xff" * 50,
                         content_type="application/octet-stream")
    assert answer.status_code == 400


# -- Jellyfin -------------------------------------------------------------------------------


def test_jellyfin_template_as_text_plain(jellyfin: tuple[FlaskClient, Service]) -> None:
    client, service = jellyfin
    answer = post_jf(client, jellyfin_template(JF_ID, tmdb="949"))
    assert answer.status_code == 202 and answer.json["status"] == "accepted"
    [event] = service.store.pending_events()
    assert (event["host"], event["item_id"]) == ("jellyfin", JF_ID)
    assert event["payload"]["ids"] == {"tmdb": "949"}


def test_jellyfin_send_all_properties(jellyfin: tuple[FlaskClient, Service]) -> None:
    client, service = jellyfin
    answer = post_jf(client, jellyfin_all_properties(JF_ID), content_type="application/json")
    assert answer.status_code == 202
    assert service.store.pending_events()[0]["payload"]["ids"]["imdb"] == "tt0113277"


@pytest.mark.parametrize("content_type", ["", "application/octet-stream",
                                          "text/plain; charset=utf-8"])
def test_jellyfin_json_whatever_the_content_type(jellyfin: tuple[FlaskClient, Service],
                                                 content_type: str) -> None:
    client, _ = jellyfin
    assert post_jf(client, jellyfin_template(JF_ID, item_type="Series"),
                   content_type=content_type).status_code == 202


def test_jellyfin_other_notifications_are_ignored(jellyfin: tuple[FlaskClient, Service]) -> None:
    client, service = jellyfin
    for event in ("PlaybackStart", "ItemDeleted", "UserCreated"):
        answer = post_jf(client, jellyfin_template(JF_ID, event=event))
        assert (answer.status_code, answer.json["status"]) == (202, "ignored")
    assert service.store.pending_events() == []


@pytest.mark.parametrize(("body", "reason"), [
    (b"{broken", "not valid JSON"),
    (b'{"ItemId": "x"}', "NotificationType"),
    (b'{"NotificationType": "ItemAdded", "ItemType": "Movie"}', "without ItemId"),
    (b"", "not valid JSON"),
])
def test_bad_jellyfin_bodies(jellyfin: tuple[FlaskClient, Service], body: bytes,
                             reason: str) -> None:
    client, _ = jellyfin
    answer = post_jf(client, body)
    assert answer.status_code == 400
    assert reason in answer.json["error"]


def test_jellyfin_form_destination(jellyfin: tuple[FlaskClient, Service]) -> None:
    client, service = jellyfin
    answer = client.post(f"/webhooks/jellyfin?token={SECRET}",
                         data={"NotificationType": "ItemAdded", "ItemId": JF_ID,
                               "ItemType": "Movie", "Name": "Heat"})
    assert answer.status_code == 202
    assert service.store.pending_events()[0]["item_id"] == JF_ID


# -- auth, limits, misrouting -----------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + "x", SECRET[:-1], "é" * 5])
def test_wrong_or_missing_secret_is_401(plex: tuple[FlaskClient, Service],
                                        token: str | None) -> None:
    client, service = plex
    answer = post_plex(client, plex_payload("library.new", 1), token=token)
    assert answer.status_code == 401
    assert "secret" in answer.json["error"]
    assert service.store.pending_events() == []


def test_secret_in_header(jellyfin: tuple[FlaskClient, Service]) -> None:
    client, _ = jellyfin
    assert post_jf(client, jellyfin_template(JF_ID), token=None).status_code == 401
    assert post_jf(client, jellyfin_template(JF_ID)).status_code == 202


def test_no_secret_configured_refuses_everything(tmp_path: Path) -> None:
    service = make_service(tmp_path, "plex")
    object.__setattr__(service.settings, "webhook_secret", "")
    client = make_app(service).test_client()
    assert post_plex(client, plex_payload("library.new", 1), token="").status_code == 401


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 2 * 1024 * 1024])
def test_big_bodies_are_413(jellyfin: tuple[FlaskClient, Service], size: int) -> None:
    client, _ = jellyfin
    answer = post_jf(client, b"x" * size)
    assert answer.status_code == 413
    assert "larger than" in answer.json["error"]


def test_big_multipart_is_413(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    answer = post_plex(client, None, raw="x" * (2 * 1024 * 1024))
    assert answer.status_code == 413


def test_webhook_for_the_other_host_is_409(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    answer = post_jf(client, jellyfin_template(JF_ID))
    assert answer.status_code == 409
    assert "plex" in answer.json["error"]


def test_unknown_host_route_and_get(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    assert client.post(f"/webhooks/emby?token={SECRET}", data=b"{}").status_code == 404
    assert client.get(f"/webhooks/plex?token={SECRET}").status_code == 405


def test_storage_failure_is_503_not_500(plex: tuple[FlaskClient, Service],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    client, service = plex

    def broken(*args: Any) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(service.store, "add_event", broken)
    answer = post_plex(client, plex_payload("library.new", 1))
    assert answer.status_code == 503
    assert "again" in answer.json["error"]


def test_counts_and_latency_are_recorded(plex: tuple[FlaskClient, Service]) -> None:
    client, service = plex
    post_plex(client, plex_payload("library.new", 1))
    post_plex(client, plex_payload("media.play", 1))
    post_plex(client, None, raw="{")
    assert service.webhook_counts == {"plex_202": 2, "plex_400": 1}
    assert service.webhook_latency.summary()["count"] == 3


# -- health and the real app factory ------------------------------------------------------------


def test_healthz(plex: tuple[FlaskClient, Service]) -> None:
    client, _ = plex
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert (answer.json or {})["status"] == "ok"


def test_blueprints_inside_create_app(tmp_path: Path) -> None:
    from sidecar.web import create_app

    service = make_service(tmp_path, "plex")
    client = create_app(service, testing=True).test_client()
    assert client.get("/healthz").status_code == 200
    assert post_plex(client, plex_payload("library.new", 1)).status_code == 202
    assert post_plex(client, plex_payload("library.new", 1), token="no").status_code == 401
    big = client.post(f"/webhooks/jellyfin?token={SECRET}", data=b"x" * (2 * 1024 * 1024))
    assert big.status_code == 413
