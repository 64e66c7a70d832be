"""Prometheus metrics of one process: requests, latency, events accepted; sink figures come from the shipper.

Each app gets its own registry (tests build many apps in one process). Sink and spool figures are read from
the shipper's status at scrape time, so /metrics in any worker shows the shipping side too.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = time.time()
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.accepted_by_table: dict[str, int] = {}  # plain ints on the hot path, a counter family at scrape time
        self._accepted_created: dict[str, float] = {}
        self.registry.register(_AcceptedCollector(self.accepted_by_table, self._accepted_created))
        self.refused = Counter(
            "tracker_requests_refused", "Tracking requests refused", ["reason"], registry=self.registry
        )
        self.registry.register(_ShippingCollector(status))
        self.accepted_total = 0
        self.refused_total = 0

    def accepted(self, tables: list[str]) -> None:
        """Count durable rows by their tables (the records themselves are gone by then)."""
        counts = self.accepted_by_table
        for table in tables:
            try:
                counts[table] += 1
            except KeyError:
                counts[table] = 1
                self._accepted_created[table] = time.time()
        self.accepted_total += len(tables)

    def rejected(self, reason: str) -> None:
        self.refused.labels(reason).inc()
        self.refused_total += 1

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RequestStats(Collector):
    """Requests by route family and status, and latency histograms, kept in plain ints on the hot path
    (prometheus_client takes a lock per update); exposed as Prometheus families at scrape time."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.counts: dict[tuple[str, int], int] = {}
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def record(self, family: str, status: int, seconds: float) -> None:
        key = (family, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        buckets = self.buckets.get(family)
        if buckets is None:
            buckets = self.buckets[family] = [0] * (len(LATENCY_BUCKETS) + 1)
            self.sums[family] = 0.0
        buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.sums[family] += seconds

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        requests = CounterMetricFamily("tracker_requests", "HTTP requests answered", labels=["family", "status"])
        for (family, status), count in sorted(self.counts.items()):
            requests.add_metric([family, str(status)], count)
        yield requests
        latency = HistogramMetricFamily("tracker_request_seconds", "Time to answer", labels=["family"])
        for family, counts in sorted(self.buckets.items()):
            cumulative, running = [], 0
            for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], counts, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([family], cumulative, self.sums[family])
        yield latency
        flight = GaugeMetricFamily("tracker_requests_in_flight", "Requests being answered")
        flight.add_metric([], self.in_flight)
        yield flight


class _AcceptedCollector(Collector):
    """tracker_events_accepted{table}: what a prometheus Counter would expose, _created included."""

    def __init__(self, counts: dict[str, int], created: dict[str, float]) -> None:
        self.counts = counts
        self.created = created

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        accepted = CounterMetricFamily("tracker_events_accepted", "Rows appended to the spool", labels=["table"])
        for table, count in list(self.counts.items()):
            accepted.add_metric([table], count, created=self.created.get(table))
        yield accepted


class _ShippingCollector(Collector):
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self.status = status

    def describe(self) -> list[Any]:
        return []  # dynamic families: do not collect at registration

    def collect(self) -> Iterator[Any]:
        status = self.status()
        figures = status.get("spool", {})
        spool = GaugeMetricFamily("tracker_spool_bytes", "Bytes in this process's spool")
        spool.add_metric([], figures.get("bytes", 0))
        unshipped = GaugeMetricFamily("tracker_spool_unshipped_bytes", "Spool bytes some sink has not shipped")
        unshipped.add_metric([], figures.get("unshipped_bytes", 0))
        full = GaugeMetricFamily("tracker_spool_full", "1 while the spool refuses events (503)")
        full.add_metric([], 1 if figures.get("full") else 0)
        yield from (spool, unshipped, full)
        written = CounterMetricFamily("tracker_sink_rows_written", "Rows stored", labels=["sink", "table"])
        failed = CounterMetricFamily("tracker_sink_rows_failed", "Rows dead-lettered", labels=["sink", "table"])
        batches = CounterMetricFamily("tracker_sink_batches", "Batches written", labels=["sink"])
        batch_size = GaugeMetricFamily("tracker_sink_last_batch_rows", "Rows in the last batch", labels=["sink"])
        lag = GaugeMetricFamily("tracker_sink_lag_bytes", "Spool bytes not yet shipped", labels=["sink"])
        up = GaugeMetricFamily("tracker_sink_up", "1 when the sink is shipping", labels=["sink"])
        failures = GaugeMetricFamily(
            "tracker_sink_consecutive_failures", "Failed tries since the last good one", labels=["sink"]
        )
        for name, sink in status.get("sinks", {}).items():
            for table, count in sink.get("written", {}).items():
                written.add_metric([name, table], count)
            for table, count in sink.get("dead_lettered", {}).items():
                failed.add_metric([name, table], count)
            batches.add_metric([name], sink.get("batches", 0))
            batch_size.add_metric([name], sink.get("last_batch_size", 0))
            lag.add_metric([name], sink.get("lag_bytes", 0))
            up.add_metric([name], 1 if sink.get("state") == "ok" else 0)
            failures.add_metric([name], sink.get("consecutive_failures", 0))
        yield from (written, failed, batches, batch_size, lag, up, failures)
