"""A proxy environment under a test's control, for sessions that read it once.

``ProxyEnv`` clears every variable ``requests`` and urllib consult, counts the look-ups
:mod:`sidecar.httpsession` makes (``lookups``: one URL per look-up) and makes the
per-request look-up of a ``trust_env`` session fail the test, so a test shows both that
the proxy is used and that nobody pays the look-up per request.
"""

from __future__ import annotations

import pytest
import requests.sessions

import sidecar.httpsession

VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
CA_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class ProxyEnv:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        for name in (*VARIABLES, *(v.upper() for v in VARIABLES), *CA_BUNDLES,
                     "REQUEST_METHOD"):  # urllib ignores HTTP_PROXY under CGI
            monkeypatch.delenv(name, raising=False)
        self.lookups: list[str] = []
        real = sidecar.httpsession.get_environ_proxies

        def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
            self.lookups.append(url)
            return real(url, no_proxy)

        def per_request(url: str, no_proxy: str | None = None) -> dict[str, str]:
            raise AssertionError(f"proxy environment read per request for {url}")

        monkeypatch.setattr(sidecar.httpsession, "get_environ_proxies", counted)
        monkeypatch.setattr(requests.sessions, "get_environ_proxies", per_request)

    def set(self, **variables: str) -> None:
        """``set(HTTPS_PROXY="http://proxy:3128", NO_PROXY="...")``."""
        for name, value in variables.items():
            self._monkeypatch.setenv(name, value)
