"""Prometheus metrics: requests and their latency by route, scans, and what the database holds.

Counters live in the process, or, when PROMETHEUS_MULTIPROC_DIR is set (`platesvc
serve` sets it), in files every gunicorn worker writes and /metrics adds up. What the
database holds is collected at each scrape by platesvc.store.figures.
"""

import os
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """This process's counters; `observe` is on every request, so its label children are kept."""

    def __init__(self, registry: CollectorRegistry | None):
        # Its _count is the number of requests: one metric, so a request writes two values, not three.
        self.requests = Histogram("platesvc_http_request_duration_seconds",
                                  "Time to answer, by route, method and status; _count counts the requests",
                                  ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=registry)
        self.scans = Counter("platesvc_scans", "Plate pages opened (resident scans)", registry=registry)
        self.replica_fallbacks = Counter(
            "platesvc_replica_fallbacks", "Public reads that went to the primary instead of a replica, by replica "
            "and why (skipped: down or behind when chosen; failed: it failed during the read)",
            ["replica", "reason"], registry=registry)
        self.replica_lag = Gauge("platesvc_replica_lag_seconds", "How far each replica was behind when last checked",
                                 ["replica"], registry=registry, multiprocess_mode="livemax")
        self.replica_usable = Gauge("platesvc_replica_usable", "1 while public reads go to the replica, else 0",
                                    ["replica"], registry=registry, multiprocess_mode="livemin")
        self._children = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(route, method, str(status))
        child.observe(seconds)


@cache
def process_metrics() -> Metrics:
    """The one set of metrics of this process (the multiprocess files' writer, when that is on)."""
    return Metrics(None if _multiprocess() else _process_registry())


@cache
def _process_registry() -> CollectorRegistry:
    return CollectorRegistry()


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(*collectors) -> bytes:
    """The text Prometheus scrapes: every worker's counters (or this process's), then what `collectors` collect."""
    registry = CollectorRegistry()
    if _multiprocess():
        MultiProcessCollector(registry)
    else:
        process_metrics()
        registry.register(_RegistryView(_process_registry()))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


class _RegistryView:
    """Another registry's metrics, collected into this one."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self):
        return self._registry.collect()
