"""A throwaway real ``redis-server`` on 127.0.0.1, for shared-budget and leader tests.

    with running_redis() as url:          # "redis://127.0.0.1:PORT/0"
        ...

No persistence (``--save '' --appendonly no``), a free port, stopped (and waited for) on
exit.  ``scripts/test.sh`` installs ``redis-server`` when missing; tests call
:func:`redis_server_binary` and skip with a reason only if it is still absent.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.e2e_kit import free_port

SKIP_REASON = "redis-server is not installed (scripts/test.sh installs it with apt-get)"


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def running_redis(timeout: float = 10.0) -> Iterator[str]:
    """Start redis-server on a free loopback port; yield its URL; stop it afterwards."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError(SKIP_REASON)
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--protected-mode", "yes", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _answers_ping(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"redis-server did not start on port {port}: {err[-500:]}")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
