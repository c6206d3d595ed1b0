"""Proxy look-up cost per request: a plain ``requests.Session`` vs ``PinnedProxySession``.

    python bench/bench_proxyenv.py [--requests 3000] [--rounds 7] [--env-vars 60]

A plain session reads the proxy environment on every request (``trust_env``);
:class:`sidecar.httpsession.PinnedProxySession` reads it once per host.  Both send the
same GETs, alternating in rounds so machine noise hits both alike; the best round counts.
No proxy variable is set (most users; the look-up then walks the whole environment twice
per request); ``--env-vars`` pads the environment to a container's usual size.  Two
figures, CPU time of this process per request and the ratio to plain:

1. **requests alone**: an adapter that answers at once, no socket -- the client-side cost
   the look-up is a share of (what a profile of a fast fetch path sees);
2. **loopback HTTP**: a keep-alive server in its own process on 127.0.0.1 -- sockets and
   parsing included, so the share is smaller.
"""

from __future__ import annotations

import argparse
import http.server
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidecar.httpsession import PinnedProxySession

BODY = b'{"id": 603}'


class Instant(requests.adapters.BaseAdapter):
    """Answers every request at once without a socket: only requests' own work remains."""

    def send(self, request: requests.PreparedRequest, *args: object,
             **kwargs: object) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content, response.url = 200, BODY, request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(port: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.put(server.server_address[1])
    server.serve_forever()


def cpu_per_request(session: requests.Session, url: str, count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        session.get(url, timeout=5).raise_for_status()
    return (time.process_time() - start) / count


def compare(title: str, url: str, plain: requests.Session, pinned: requests.Session,
            count: int, rounds: int) -> None:
    for session in (plain, pinned):
        cpu_per_request(session, url, 200)  # warm up: connection, imports, caches
    best = {"plain": math.inf, "pinned": math.inf}
    for _ in range(rounds):
        best["plain"] = min(best["plain"], cpu_per_request(plain, url, count // rounds))
        best["pinned"] = min(best["pinned"], cpu_per_request(pinned, url, count // rounds))
    print(f"{title} ({count // rounds * rounds} GETs per session, best of {rounds} rounds)")
    for name, seconds in best.items():
        print(f"  {name:>6}: {seconds * 1e6:7.1f} us CPU per request "
              f"({seconds / best['plain']:.2f}x plain)")
    print(f"  saved: {1 - best['pinned'] / best['plain']:.1%} of the client's CPU per request")


def instant_session(session: requests.Session) -> requests.Session:
    session.mount("http://", Instant())
    return session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--env-vars", type=int, default=60)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        del os.environ[name]
    for n in range(max(0, args.env_vars - len(os.environ))):
        os.environ[f"BENCH_PAD_{n}"] = "x" * 40
    print(f"environment: {len(os.environ)} variables")
    url = "http://api.test/3/movie/603"
    compare("1. requests alone", url, instant_session(requests.Session()),
            instant_session(PinnedProxySession(url)), args.requests * 10, args.rounds)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(queue,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{queue.get(timeout=10)}/3/movie/603"
    try:
        compare("2. loopback HTTP", url, requests.Session(), PinnedProxySession(url),
                args.requests, args.rounds)
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
