"""What every blueprint needs: the running service, secret scrubbing, small helpers.

The web layer only *talks to* the service (``sidecar/service.py``); it never builds
stores or clients itself.  :class:`Service` spells out the methods the pages and the API
call, so the blueprints type-check against the contract and tests can hand in a fake.

Secrets (TMDB key, host token, webhook secret, admin password hash, the session key)
must never reach a browser.  Pages never render them, and every text that comes back
from the service or from a third party (test results, error messages, status reports)
goes through :func:`redact` before it is shown, because an exception message may quote
a URL with ``?api_key=...`` in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from flask import current_app

from sidecar.config import Settings, specs
from sidecar.state import StateStore
from sidecar.workqueue import Priority

EXTENSION = "scanarr"
SECRET_KEY_SETTING = "_web_secret_key"  # stored beside the settings, never a manifest key
MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values are not worth scrubbing (and would mangle text)
MIN_PASSWORD_LENGTH = 8


class Service(Protocol):
    """The running Scanarr as the web layer sees it (implemented by ``sidecar.service``)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> StateStore: ...

    def save_settings(self, values: Mapping[str, str]) -> Settings: ...

    def start_scan(self, mode: str, *, priority: Priority | None = None,
                   paths: Sequence[str] = (), trigger: str = "web") -> bool: ...

    def progress(self) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...

    def retry(self, path: str) -> None: ...

    def fix_match(self, path: str, tmdb_id: int) -> None: ...

    def test_tmdb(self) -> str: ...

    def test_host(self) -> str: ...

    def test_library(self, path: str) -> str: ...

    def metrics(self) -> dict[str, Any]: ...


def service() -> Service:
    """The service of the current app (``create_app`` put it there)."""
    svc: Service = current_app.extensions[EXTENSION]
    return svc


def secret_keys() -> list[str]:
    """Manifest keys of the secret settings."""
    return [item["key"] for item in specs() if item.get("secret")]


def secret_values(svc: Service | None = None) -> list[str]:
    """Every secret value currently in effect, longest first (so no prefix wins)."""
    svc = svc or service()
    settings = svc.settings
    values = [str(getattr(settings, key, "") or "") for key in secret_keys()]
    values.append(current_app.secret_key if isinstance(current_app.secret_key, str) else "")
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """``value`` (str, or JSON-like nesting of them) with every secret replaced by ***."""
    hidden = list(secret_values() if secrets is None else secrets)
    return _redact(value, hidden)


def _redact(value: Any, hidden: list[str]) -> Any:
    if isinstance(value, str):
        for secret in hidden:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {_redact(k, hidden): _redact(v, hidden) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, hidden) for v in value]
    return value


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after login; anything else (other hosts) is refused."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
