"""The socket side of the fake TMDB: a threaded HTTP/1.1 server that writes ``Reply`` objects.

Keep-alive with exact Content-Length on every answer, one thread per connection, a large
listen backlog (several client processes connect at once), and a registry of open
connections so "down" and ``stop()`` can cut them, as a crashing server would.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .tmdb_responder import Reply, Request

if TYPE_CHECKING:
    from .fake_tmdb import FakeTmdb

_REBIND_TRIES = 40


@dataclass(frozen=True)
class ControlRequest:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    connection: object    # the socket, so a "down" ordered over it can spare it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], fake: FakeTmdb, listener: Listener) -> None:
        self.fake, self.listener = fake, listener
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), which can stall on a box without DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two sends; without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = self.server.listener.opened(self.connection)
        self.counted = False  # connection gauges count only API/image traffic, not /_stats

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.listener.closed(self.conn_id)
            if self.counted:
                self.server.fake.log.connection(-1)

    def version_string(self) -> str:
        return "openresty (fake-tmdb)"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        fake = self.server.fake
        if url.path.startswith("/_"):
            ctl = ControlRequest(self.command, url.path, params, body, self.connection)
            self._send(fake.control(ctl))
            return
        if not self.counted:
            self.counted = True
            fake.log.connection(+1)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(fake.handle(Request(self.command, url.path, params, headers), self.conn_id))

    def _send(self, reply: Reply) -> None:
        try:
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.status != 304:
                self.send_header("Content-Type", reply.content_type)
                length = reply.declared_length or len(reply.body)
                self.send_header("Content-Length", str(length))
            self.end_headers()
            if reply.status != 304:
                self.wfile.write(reply.body)
            if reply.declared_length:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # the client went away (timeout, reset): nothing left to say
            self.close_connection = True


class Listener:
    """One listening socket plus its serving thread and the connections it accepted."""

    def __init__(self, fake: FakeTmdb, host: str, port: int) -> None:
        self._conns: dict[int, socket.socket] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = _bind(fake, self, host, port)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name=f"fake-tmdb-{self.port}", daemon=True)
        self._thread.start()

    def opened(self, conn: socket.socket) -> int:
        conn_id = next(self._ids)
        with self._lock:
            self._conns[conn_id] = conn
        return conn_id

    def closed(self, conn_id: int) -> None:
        with self._lock:
            self._conns.pop(conn_id, None)

    def close(self, *, kill_connections: bool, exempt: object = None) -> None:
        """Stop accepting, close the port, and (optionally) cut open connections."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if kill_connections:
            with self._lock:
                victims = [c for c in self._conns.values() if c is not exempt]
            for conn in victims:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


def _bind(fake: FakeTmdb, listener: Listener, host: str, port: int) -> _Server:
    """Bind, retrying briefly: re-listening on a just-closed port can race the kernel."""
    for attempt in range(_REBIND_TRIES):
        try:
            return _Server((host, port), fake, listener)
        except OSError:
            if port == 0 or attempt == _REBIND_TRIES - 1:
                raise
            threading.Event().wait(0.05)
    raise AssertionError("unreachable")


def serve(fake: FakeTmdb, host: str, port: int) -> Listener:
    return Listener(fake, host, port)
