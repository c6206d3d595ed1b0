"""``scanarr serve``: the service plus the web app on waitress, until SIGTERM/SIGINT.

Waitress rather than Flask's development server: it is a production WSGI server, pure
Python (no compiler in the Docker image), and its ``create_server`` hands back the
server object, so a signal can end ``run()`` and we still get to shut down in order:

1. stop accepting HTTP (in-flight requests get a few seconds to finish);
2. ``Service.stop()``: no new jobs, running jobs finish or are released, threads end;
3. exit 0 -- a clean stop is a success for Docker and systemd.

The signal handler only raises ``SystemExit`` in the main thread, which waitress's
loop treats as "stop"; everything else happens in plain code after ``run()`` returns.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType
from typing import Any

from sidecar.errors import ConfigError

log = logging.getLogger(__name__)
THREADS = 8


class _Stop(SystemExit):
    """Raised by the signal handler to leave waitress's loop."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the shutdown short
    log.info("received %s: shutting down", signal.Signals(signum).name)
    raise _Stop(0)


def run(host: str, port: int) -> int:
    """Serve until a signal arrives; 0 after a clean shutdown, 2 on a configuration error."""
    from waitress import create_server

    from sidecar.service import Service
    from sidecar.web import create_app

    _logging()
    service = Service()
    logging.getLogger().setLevel(service.settings.log_level)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    server: Any = None
    try:
        service.start()
        server = create_server(create_app(service), host=host, port=port, threads=THREADS,
                               ident="scanarr")
        log.info("scanarr serving on http://%s:%s", host, server.effective_port)
        print(f"scanarr: serving on http://{host}:{server.effective_port}", file=sys.stderr,
              flush=True)
        server.run()
    except _Stop:
        pass
    except OSError as exc:
        raise ConfigError("port", f"cannot listen on {host}:{port}: {exc.strerror}") from None
    finally:
        _shutdown(server, service)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _shutdown(server: Any, service: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    if server is not None:
        try:
            server.close()
        except Exception:
            log.exception("closing the web server failed")
    service.stop()
    log.info("scanarr stopped cleanly")


def _logging() -> None:
    """INFO to stderr unless the CLI configured something already (``-v``)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
