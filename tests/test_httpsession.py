"""Sessions that read the proxy environment once per host: proxies kept, look-ups gone."""

from __future__ import annotations

import logging
import threading

import pytest
import requests_mock as rm
from requests.utils import select_proxy

from sidecar.httpsession import PinnedProxySession, origin, shown
from tests.fakes.proxy_env import ProxyEnv

API = "https://api.themoviedb.org/3"
IMAGES = "https://image.tmdb.org/t/p/"
PROXY = "http://proxy.test:3128"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> ProxyEnv:
    return ProxyEnv(monkeypatch)


def test_https_proxy_is_pinned_for_the_host_and_trust_env_is_off(env: ProxyEnv) -> None:
    env.set(HTTPS_PROXY=PROXY)
    session = PinnedProxySession(API)
    assert session.trust_env is False
    assert session.proxies == {"https://api.themoviedb.org": PROXY}
    assert select_proxy(API + "/movie/603", session.proxies) == PROXY


def test_no_proxy_covering_the_host_means_no_proxy(env: ProxyEnv) -> None:
    env.set(HTTPS_PROXY=PROXY, NO_PROXY="localhost,.themoviedb.org")
    assert PinnedProxySession(API).proxies == {}


def test_each_host_gets_its_own_answer(env: ProxyEnv) -> None:
    env.set(https_proxy=PROXY, no_proxy="image.tmdb.org")
    session = PinnedProxySession(API, IMAGES)
    assert select_proxy(API + "/configuration", session.proxies) == PROXY
    assert select_proxy(IMAGES + "w780/p.jpg", session.proxies) is None, \
        "a bare 'https' key would have sent the image CDN through the proxy too"


@pytest.mark.parametrize(("variables", "http", "https"), [
    ({}, None, None),
    ({"HTTP_PROXY": PROXY}, PROXY, None),
    ({"ALL_PROXY": "socks5://socks.test:1080"}, "socks5://socks.test:1080",
     "socks5://socks.test:1080"),
])
def test_the_scheme_picks_the_variable(env: ProxyEnv, variables: dict[str, str],
                                       http: str | None, https: str | None) -> None:
    env.set(**variables)
    session = PinnedProxySession("http://tmdb.test/3", API)
    assert select_proxy("http://tmdb.test/3/movie/1", session.proxies) == http
    assert select_proxy(API + "/movie/1", session.proxies) == https


def test_a_host_met_later_is_looked_up_once_then_never(env: ProxyEnv,
                                                      requests_mock: rm.Mocker) -> None:
    env.set(HTTPS_PROXY=PROXY)
    session = PinnedProxySession(API)
    assert env.lookups == [API]
    requests_mock.get("https://cdn.test/w780/p.jpg", content=b"jpeg")
    for _ in range(3):
        session.get("https://cdn.test/w780/p.jpg")
    assert env.lookups == [API, "https://cdn.test/w780/p.jpg"]
    sent = requests_mock.request_history
    assert [select_proxy(r.url, r.proxies) for r in sent] == [PROXY] * 3


def test_the_ca_bundle_from_the_environment_is_kept(env: ProxyEnv,
                                                    requests_mock: rm.Mocker) -> None:
    assert PinnedProxySession(API).verify is True
    env.set(CURL_CA_BUNDLE="/etc/ssl/curl.pem")
    assert PinnedProxySession(API).verify == "/etc/ssl/curl.pem"
    env.set(REQUESTS_CA_BUNDLE="/etc/ssl/corporate.pem")
    session = PinnedProxySession(API)
    requests_mock.get(API + "/configuration", json={})
    session.get(API + "/configuration")
    assert requests_mock.last_request is not None
    assert requests_mock.last_request.verify == "/etc/ssl/corporate.pem"


def test_proxy_passwords_stay_out_of_the_log(env: ProxyEnv,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sidecar.httpsession")
    secret = "http://scanarr:hunter2@proxy.test:3128"
    env.set(HTTPS_PROXY=secret)
    session = PinnedProxySession(API)
    assert session.proxies["https://api.themoviedb.org"] == secret, "the proxy needs it"
    assert "https://api.themoviedb.org go through the proxy http://proxy.test:3128" in caplog.text
    assert "hunter2" not in caplog.text and "scanarr:" not in caplog.text


def test_concurrent_first_requests_look_up_once(env: ProxyEnv) -> None:
    session = PinnedProxySession()
    start = threading.Barrier(8)

    def pin() -> None:
        start.wait()
        session.pin("https://cdn.test/a.jpg")

    threads = [threading.Thread(target=pin) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert env.lookups == ["https://cdn.test/a.jpg"]


def test_origin_and_shown() -> None:
    assert origin("https://API.themoviedb.org:443/3") == "https://api.themoviedb.org"
    assert origin("not a url") is None
    assert shown("http://u:p@proxy.test:3128/") == "http://proxy.test:3128"
    assert shown("proxy.test:3128") == "http://proxy.test:3128"
