"""Drive a fake TMDB from outside: over its HTTP control API, or as a child process.

``FakeTmdbClient`` speaks to ``/_stats``, ``/_requests`` and ``/_control`` of any running
fake (in-process or not); ``FakeTmdbProcess`` starts ``python -m tests.fakes.fake_tmdb`` as a
separate process -- what benchmarks and multi-process tests need, since a rate budget shared by
several processes is only tested honestly against one server they all reach over TCP.
Stdlib only (urllib), so it adds nothing to a benchmark's own HTTP stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from .fake_tmdb import DEFAULT_API_KEY, DEFAULT_BEARER_TOKEN
from .tmdb_address import TmdbAddress

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeTmdbClient(TmdbAddress):
    """Remote control of a fake at ``http://127.0.0.1:{port}``."""

    api_key = DEFAULT_API_KEY
    bearer_token = DEFAULT_BEARER_TOKEN

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self._port, self.timeout = port, timeout

    def _call(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.root_url + path, data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    def stats(self, window: float | None = None) -> dict[str, Any]:
        return dict(self._call("/_stats" + (f"?window={window}" if window else "")))

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return list(self._call(f"/_requests?since={since}")["requests"])

    def config(self) -> dict[str, Any]:
        return dict(self._call("/_control"))

    def configure(self, **changes: Any) -> dict[str, Any]:
        return dict(self._call("/_control", changes))

    def reset(self) -> dict[str, Any]:
        return dict(self._call("/_reset", {}))


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The child's first stdout line, or "" if it does not come within ``timeout``."""
    stdout = proc.stdout
    if stdout is None:
        return ""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0].strip() if box else ""


class FakeTmdbProcess(FakeTmdbClient):
    """A fake TMDB in a child process; ``with FakeTmdbProcess.spawn("--rate-limit", "40"):``."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        super().__init__(port)
        self.proc = proc

    @classmethod
    def spawn(cls, *cli_args: str, startup_timeout: float = 30.0) -> FakeTmdbProcess:
        cmd = [sys.executable, "-m", "tests.fakes.fake_tmdb", "--port", "0", "--print-port",
               *cli_args]
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = _first_line(proc, startup_timeout)
        if not line.isdigit():
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise RuntimeError(f"fake TMDB did not start (stdout {line!r}): {err.strip()}")
        return cls(proc, int(line))

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, and return the exit code (0 on a clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.proc.returncode

    def __enter__(self) -> FakeTmdbProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
