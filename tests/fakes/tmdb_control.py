"""The fake's own HTTP control endpoints: ``/_stats``, ``/_requests``, ``/_control``, ``/_reset``.

They are never logged, rate limited or faulted, so a test can always ask what happened --
except while the port is closed by a ``refuse`` down period, which is the point of that mode.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .tmdb_http import ControlRequest
from .tmdb_responder import Reply, json_reply

if TYPE_CHECKING:
    from .fake_tmdb import FakeTmdb


def handle_control(fake: FakeTmdb, req: ControlRequest) -> Reply:
    try:
        return _route(fake, req)
    except (ValueError, TypeError) as exc:  # bad JSON, unknown knob, out-of-range value
        return json_reply(400, {"error": str(exc)})


def _route(fake: FakeTmdb, req: ControlRequest) -> Reply:
    if req.path == "/_stats":
        window = req.params.get("window")
        return json_reply(200, fake.stats(float(window) if window else None))
    if req.path == "/_requests":
        records = fake.requests(int(req.params.get("since", "0")))
        return json_reply(200, {"count": len(records), "requests": records})
    if req.path == "/_reset" and req.method == "POST":
        fake.reset()
        return json_reply(200, fake.config())
    if req.path == "/_control" and req.method == "POST":
        return _configure(fake, req)
    if req.path == "/_control":
        return json_reply(200, fake.config())
    return json_reply(404, {"error": f"no control endpoint {req.method} {req.path}"})


def _configure(fake: FakeTmdb, req: ControlRequest) -> Reply:
    changes = json.loads(req.body or b"{}")
    if not isinstance(changes, dict):
        raise ValueError("POST /_control wants a JSON object")
    going_down = "down_for" in changes
    fake.apply(changes, spare=req.connection)
    reply = json_reply(200, fake.config())
    if going_down:  # the port may be closed now: do not keep this connection alive either
        reply.headers["Connection"] = "close"
    return reply
