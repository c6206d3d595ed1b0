"""/metrics in the Prometheus text format (sidecar/web/metrics.py)."""

from __future__ import annotations

import re
from pathlib import Path

from sidecar.web import metrics
from tests.web_support import make_app

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? '
                    r'(-?[0-9.e+-]+|NaN|[+-]Inf)$')


def scrape(tmp_path: Path) -> str:
    app, _ = make_app(tmp_path)
    answer = app.test_client().get("/metrics")  # public: scrapers do not log in
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return str(answer.get_data(as_text=True))


def test_every_line_is_valid_exposition_format(tmp_path: Path) -> None:
    text = scrape(tmp_path)
    assert text.endswith("\n")
    declared: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in declared, f"{name} declared twice"
            declared.add(name)
        elif not line.startswith("# HELP "):
            assert SAMPLE.match(line), line


def test_the_issue_s_metrics_are_there(tmp_path: Path) -> None:
    text = scrape(tmp_path)
    expected = [
        'scanarr_items{state="INDEXED"} 5',
        "scanarr_tmdb_requests_total 12",
        "scanarr_tmdb_rate_limited_total 1",
        "scanarr_tmdb_retries_total 2",
        'scanarr_tmdb_errors_total{reason="unavailable"} 1',
        'scanarr_queue_depth{priority="HIGH"} 3',
        'scanarr_scan_duration_seconds{mode="quick",stat="last"} 2.0',
        'scanarr_scan_duration_seconds{mode="quick",stat="max"} 2.0',
        'scanarr_webhooks_total{host="jellyfin",status="401"} 1',
        'scanarr_webhook_latency_seconds{quantile="0.95"} 0.01',
        "scanarr_webhook_latency_seconds_count 3",
        "scanarr_host_refresh_refreshes 2",
        "scanarr_queue_in_flight 1",
        'scanarr_info{version="',
        "# TYPE scanarr_tmdb_requests_total counter",
        "# TYPE scanarr_items gauge",
    ]
    for line in expected:
        assert line in text, line
    assert "uptime" not in text  # None is left out, not exported as 0
    assert 'mode="full"' not in text  # no runs of that mode yet


def test_unknown_keys_still_show_up_as_gauges() -> None:
    text = metrics.render({"new_thing": 3, "nested": {"a b": {"c": 1.5}, "skip": "text"},
                           "flag": True, "odd": float("nan")})
    assert "scanarr_new_thing 3" in text
    assert "scanarr_nested_a_b_c 1.5" in text
    assert "scanarr_flag 1" in text
    assert "scanarr_odd NaN" in text
    assert "text" not in text.replace("# HELP", "")


def test_label_values_are_escaped() -> None:
    text = metrics.render({"items_by_state": {'we"ird\\\n': 1}})
    assert 'scanarr_items{state="we\\"ird\\\\\\n"} 1' in text
