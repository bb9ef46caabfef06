"""Prometheus metrics, one registry per app so several apps (tests) never share counters.

With several server processes behind one port (`sadeem api --workers N`), a scrape lands on any one
of them, so each process's own counters would make the series jump between processes. There
prometheus_client's multiprocess mode is on (PROMETHEUS_MULTIPROC_DIR, set before the processes
start): every process records into files in that directory, and a scrape adds them all up.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self, shared_directory: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self._shared_directory = shared_directory
        self.requests = Counter(
            "sadeem_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sadeem_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition_registry(self) -> CollectorRegistry:
        """What a scrape reports: this process's counters, or those of every server process."""
        if self._shared_directory is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self._shared_directory))
        return registry
