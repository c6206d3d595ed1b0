"""``/metrics``: the service's counters in the Prometheus text format (version 0.0.4).

Written by hand rather than with ``prometheus_client``: the service already keeps its
counters (``service.metrics()``), the text format is a few lines per metric, and
prometheus_client's process-global registry fights with several app instances in one
process (every test builds one).

Known keys of ``service.metrics()`` get proper names, types and labels (:data:`COUNTERS`,
:data:`LABELLED`, and the scan/webhook handlers); anything else that is a number, or a
mapping of numbers, is still exported as a gauge, so a new counter in the service shows
up here without a change.

The route is public, as scrapers expect: it carries numbers only, never a path, title or
secret.  Put Scanarr behind a proxy if even the counts must stay private.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response

from sidecar import __version__
from sidecar.web.common import service

bp = Blueprint("metrics", __name__)
PREFIX = "scanarr_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = dict[str, str]

COUNTERS = {  # key -> help; exported as scanarr_<key>_total
    "tmdb_requests": "TMDB API requests sent.",
    "tmdb_rate_limited": "TMDB answers with status 429 (rate limited).",
    "tmdb_retries": "TMDB requests retried.",
    "tmdb_not_modified": "TMDB answers 304 Not Modified (ETag hits).",
    "tmdb_image_requests": "Image downloads from the TMDB image host.",
    "items_processed": "Items the workers finished (indexed or failed).",
}
LABELLED = {  # key -> (name, label, type, help)
    "items_by_state": ("items", "state", "gauge", "Items by lifecycle state."),
    "queue_depth": ("queue_depth", "priority", "gauge", "Queued jobs by priority."),
    "tmdb_errors": ("tmdb_errors_total", "reason", "counter", "TMDB failures by reason."),
}


@dataclass
class Family:
    name: str
    kind: str
    help: str
    samples: list[tuple[Labels, Any]] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        samples = [(labels, value) for labels, value in self.samples if _is_number(value)]
        if not samples:
            return
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in samples:
            yield f"{self.name}{_labels(labels)} {_number(value)}"


@bp.get("/metrics")
def metrics() -> Response:
    return Response(render(service().metrics()), content_type=CONTENT_TYPE)


def render(data: Mapping[str, Any]) -> str:
    """The exposition text for ``data`` (see the module docstring), ending in a newline."""
    info = Family(PREFIX + "info", "gauge", "Scanarr version.", [({"version": __version__}, 1)])
    lines = list(info.lines())
    for family in families(data):
        lines.extend(family.lines())
    return "\n".join(lines) + "\n"


def families(data: Mapping[str, Any]) -> Iterator[Family]:
    for key, value in data.items():
        if key in COUNTERS:
            yield Family(f"{PREFIX}{key}_total", "counter", COUNTERS[key], [({}, value)])
        elif key in LABELLED and isinstance(value, Mapping):
            name, label, kind, text = LABELLED[key]
            yield Family(PREFIX + name, kind, text,
                         [({label: str(k)}, v) for k, v in value.items()])
        elif key == "scan_durations_seconds" and isinstance(value, Mapping):
            yield scan_durations(value)
        elif key == "webhooks" and isinstance(value, Mapping):
            yield from webhooks(value)
        else:
            yield from generic(metric_name(key), value)


def scan_durations(by_mode: Mapping[str, Any]) -> Family:
    """Recent run lengths per mode (the service keeps the last 50): last, p50, max."""
    family = Family(PREFIX + "scan_duration_seconds", "gauge",
                    "Scan run durations over the recent runs of each mode (stat=last|p50|max).")
    for mode, seconds in by_mode.items():
        values = [float(s) for s in seconds or [] if _is_number(s)]
        if values:
            ordered = sorted(values)
            for stat, value in (("last", values[-1]), ("p50", ordered[len(ordered) // 2]),
                                ("max", ordered[-1])):
                family.samples.append(({"mode": str(mode), "stat": stat}, value))
    return family


def webhooks(data: Mapping[str, Any]) -> Iterator[Family]:
    """Webhook counts by host and answer status, and answer latency quantiles."""
    counts = Family(PREFIX + "webhooks_total", "counter", "Webhooks answered, by host and status.")
    for key, value in (data.get("by_host_and_status") or {}).items():
        host, _, status = str(key).rpartition("_")
        counts.samples.append(({"host": host or str(key), "status": status}, value))
    yield counts
    answer = data.get("answer_seconds") or {}
    latency = Family(PREFIX + "webhook_latency_seconds", "gauge",
                     "Time to answer a webhook over recent webhooks (quantile 1 = max).")
    for stat, quantile in (("p50", "0.5"), ("p95", "0.95"), ("max", "1")):
        latency.samples.append(({"quantile": quantile}, answer.get(stat)))
    yield latency
    yield Family(PREFIX + "webhook_latency_seconds_count", "counter",
                 "Webhooks timed.", [({}, answer.get("count"))])
    yield from generic(PREFIX + "webhook_intake", data.get("intake") or {})


def generic(name: str, value: Any) -> Iterator[Family]:
    """Unknown keys: a number is a gauge; a mapping becomes one gauge per numeric leaf."""
    if _is_number(value):
        yield Family(name, "counter" if name.endswith("_total") else "gauge",
                     name.removeprefix(PREFIX).replace("_", " ") + ".", [({}, value)])
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from generic(f"{name}_{metric_name(key, prefix='')}", inner)


_BAD = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(key: Any, *, prefix: str = PREFIX) -> str:
    name = _BAD.sub("_", str(key)).strip("_").lower()
    return name if name.startswith(PREFIX) else prefix + name


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(int(value))


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
