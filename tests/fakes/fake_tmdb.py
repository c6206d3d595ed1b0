"""A real HTTP fake of TMDB v3 (+ its image host) on 127.0.0.1, for e2e tests and benchmarks.

In-process::

    with running_fake_tmdb(rate_limit=5, rate_window=1.0) as tmdb:
        requests.get(f"{tmdb.url}/movie/603", params={"api_key": tmdb.api_key})
        tmdb.stats()["max_in_window"]

Standalone (other processes share one server, and so one rate budget)::

    python -m tests.fakes.fake_tmdb --port 0 --print-port [--rate-limit 40 ...]

The first stdout line is the port.  Control it over HTTP: ``GET /_stats``, ``GET /_requests``,
``GET|POST /_control`` (JSON of ``FaultConfig`` fields and actions, see ``FakeTmdb.configure``),
``POST /_reset``.  The catalog, faults and limits are described in ``tmdb_catalog``,
``tmdb_traffic`` and ``tmdb_responder``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from .tmdb_address import HOST, TmdbAddress
from .tmdb_api import classify
from .tmdb_catalog import Catalog
from .tmdb_control import handle_control
from .tmdb_http import ControlRequest, Listener
from .tmdb_responder import Reply, Request, Responder
from .tmdb_traffic import FaultConfig, RequestLog

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef"
DEFAULT_BEARER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJzY2FuYXJyLWZha2UifQ.fake"
_ACTIONS = ("revoke_key", "force_429_count", "force_429_for", "down_for", "seed", "reset",
            "catalog", "up")
_HEADERS_KEPT = ("user-agent", "accept", "accept-encoding", "connection", "if-none-match")

CatalogSource = Catalog | Mapping[str, Any] | str | Path | None


class FakeTmdb(TmdbAddress):
    """The fake server; see the module docstring.  ``start()`` before use, or use ``with``."""

    def __init__(self, *, port: int = 0, catalog: CatalogSource = None, auto: bool = True,
                 decoys: int = 0, auto_seasons: int = 15, auto_episodes: int = 30,
                 api_keys: Iterable[str] = (DEFAULT_API_KEY, DEFAULT_BEARER_TOKEN),
                 seed: int = 0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] | None = None, **faults: Any) -> None:
        if isinstance(catalog, Catalog):
            self.catalog = catalog
        else:
            self.catalog = Catalog(auto=auto, decoys=decoys, auto_seasons=auto_seasons,
                                   auto_episodes=auto_episodes)
            if catalog is not None:
                self.catalog.load(catalog)
        self.api_keys = tuple(api_keys)
        self._initial = (FaultConfig().merged(faults), seed)
        self._stopping = threading.Event()
        self._clock = clock
        self._t0 = clock()
        self.responder = Responder(self.catalog, self._initial[0], self.api_keys, seed=seed,
                                   clock=clock, sleep=sleep or self._stopping.wait)
        self.log = RequestLog()
        self._port = port
        self._listener: Listener | None = None
        self._refusing = False           # down in "refuse" mode: port closed until the timer
        self._life = threading.RLock()
        self._up_timer: threading.Timer | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTmdb:
        with self._life:
            if self._listener is None:
                self._stopping.clear()
                self._listener = Listener(self, HOST, self._port)
                self._port = self._listener.port
                self.responder.image_base = self.image_url
        return self

    def stop(self) -> None:
        with self._life:
            self._stopping.set()
            self._refusing = False
            if self._up_timer:
                self._up_timer.cancel()
            if self._listener is not None:
                self._listener.close(kill_connections=True)
                self._listener = None

    def __enter__(self) -> FakeTmdb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def api_key(self) -> str:
        return self.api_keys[0]

    @property
    def bearer_token(self) -> str:
        return self.api_keys[-1]

    # --- observation ----------------------------------------------------------------------

    def stats(self, window: float | None = None) -> dict[str, Any]:
        """Counts and figures; ``max_in_window`` uses ``window`` or the rate window."""
        f = self.responder.faults
        return self.log.stats(window or f.rate_window, f.rate_limit)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log (oldest first), from the ``since``-th record on."""
        return self.log.records(since)

    def config(self) -> dict[str, Any]:
        r = self.responder
        now = self._clock()
        return {**r.faults.as_dict(), "key_revoked": r.revoked,
                "force_429_count": r.storm_count,
                "force_429_remaining_s": max(r.storm_until - now, 0.0),
                "down": self._is_down(now), "auto": self.catalog.auto, "url": self.url}

    def _is_down(self, now: float) -> bool:
        return self._refusing or now < self.responder.drop_until

    # --- control --------------------------------------------------------------------------

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change knobs at runtime; returns the resulting ``config()``.

        Accepts any ``FaultConfig`` field plus the actions ``revoke_key`` (bool),
        ``force_429_count`` (next N API requests get 429), ``force_429_for`` (seconds),
        ``down_for`` (seconds; per ``down_mode``), ``up`` (end a down period now), ``seed``
        (reseed the fault RNG), ``catalog`` (entries to add) and ``reset`` (bool).
        """
        self.apply(changes)
        return self.config()

    def apply(self, changes: dict[str, Any], spare: object = None) -> None:
        """``configure`` for the control API: ``spare`` is the caller's own connection,
        left open by a ``down_for`` so the answer can still be sent.  Validates everything
        first, then acts: a bad request changes nothing."""
        changes = dict(changes)
        actions = {k: changes.pop(k) for k in _ACTIONS if k in changes}
        for name in ("force_429_count", "force_429_for", "down_for", "seed"):
            if name in actions:
                float(actions[name])  # raises ValueError/TypeError before anything changes
        faults = self.responder.faults.merged(changes) if changes else None
        if actions.pop("reset", False):
            self.reset()
        if faults is not None:
            self.responder.faults = faults
        self._act(actions, spare)

    def _act(self, actions: Mapping[str, Any], spare: object = None) -> None:
        r = self.responder
        now = self._clock()
        if "revoke_key" in actions:
            r.revoked = bool(actions["revoke_key"])
        if "seed" in actions:
            r.reseed(int(actions["seed"]))
        if "catalog" in actions:
            self.catalog.load(actions["catalog"])
        if "force_429_count" in actions:
            r.storm_count = int(actions["force_429_count"])
        if "force_429_for" in actions:
            r.storm_until = now + float(actions["force_429_for"])
        if actions.get("up"):
            self.come_up()
        if "down_for" in actions:
            self.go_down(float(actions["down_for"]), spare=spare)

    def revoke_key(self) -> None:
        self.responder.revoked = True

    def restore_key(self) -> None:
        self.responder.revoked = False

    def force_429(self, count: int = 0, seconds: float = 0.0) -> None:
        self.configure(force_429_count=count, force_429_for=seconds)

    def go_down(self, seconds: float, mode: str | None = None, *, spare: object = None) -> None:
        """Be unreachable for ``seconds``.

        ``refuse`` closes the listening socket (connects fail) and cuts open keep-alive
        connections, then listens again on the same port after ``seconds`` of real time;
        ``drop`` keeps listening but closes every API/image connection without an answer
        until ``seconds`` have passed on the injected clock (``/_control`` stays usable).
        """
        mode = mode or self.responder.faults.down_mode
        if mode == "drop":
            self.responder.drop_until = self._clock() + seconds
            return
        with self._life:
            if self._stopping.is_set() or self._listener is None:
                return
            self._listener.close(kill_connections=True, exempt=spare)
            self._listener, self._refusing = None, True
            if self._up_timer:
                self._up_timer.cancel()
            self._up_timer = threading.Timer(seconds, self.come_up)
            self._up_timer.daemon = True
            self._up_timer.start()

    def come_up(self) -> None:
        """End a down period now (listen again / stop dropping)."""
        self.responder.drop_until = float("-inf")
        with self._life:
            if self._up_timer:
                self._up_timer.cancel()
            if self._refusing:
                self._refusing = False
                try:
                    self.start()
                except OSError as exc:  # the port was taken meanwhile: stay down, say so
                    self._refusing = True
                    print(f"fake TMDB could not listen again: {exc}", file=sys.stderr)

    def reset(self) -> None:
        """Back to the constructor's settings: faults, seed, keys, storms; log cleared."""
        r = self.responder
        r.faults, seed = self._initial
        r.reseed(seed)
        r.revoked = False
        r.storm_count, r.storm_until = 0, float("-inf")
        r.limiter.clear()
        self.log.clear()
        self.come_up()

    # --- called by the HTTP layer ---------------------------------------------------------

    def handle(self, req: Request, conn: int) -> Reply:
        """Answer one API or image request and log it."""
        arrived = self._clock()
        is_image = req.path.startswith("/t/p/")
        lane = "image" if is_image else "api"
        self.log.flight(lane, +1)
        try:
            if is_image:
                _, _, rest = req.path.partition("/t/p/")
                size, _, file_name = rest.partition("/")
                reply = self.responder.image(size, file_name)
                kind = "image"
            else:
                reply = self.responder.api(req)
                kind = _kind_of(req.path)
        finally:
            self.log.flight(lane, -1)
        self.log.add(self._record(req, reply, kind, conn, arrived))
        return reply

    def _record(self, req: Request, reply: Reply, kind: str, conn: int,
                arrived: float) -> dict[str, Any]:
        headers = {k: v for k, v in req.headers.items() if k in _HEADERS_KEPT}
        if "authorization" in req.headers:
            headers["authorization"] = req.headers["authorization"].split(" ")[0] + " ***"
        return {
            "t": round(arrived - self._t0, 6), "method": req.method, "path": req.path,
            "query": {k: v for k, v in req.params.items() if k != "api_key"},
            "headers": headers, "status": 0 if reply.drop else reply.status, "kind": kind,
            "conn": conn, "auth": reply.auth, "fault": reply.fault,
            "duration_ms": round((self._clock() - arrived) * 1000, 3),
        }

    def control(self, req: ControlRequest) -> Reply:
        """``/_stats``, ``/_requests``, ``/_control``, ``/_reset``: never logged or limited."""
        return handle_control(self, req)


def _kind_of(path: str) -> str:
    return classify(path.removeprefix("/3"))[0] if path.startswith("/3/") else "other"


@contextmanager
def running_fake_tmdb(**kw: Any) -> Iterator[FakeTmdb]:
    """``with running_fake_tmdb(rate_limit=5) as tmdb:`` -- started, and stopped afterwards."""
    fake = FakeTmdb(**kw)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


if __name__ == "__main__":
    from .tmdb_cli import main

    raise SystemExit(main())
