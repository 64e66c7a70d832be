"""Prometheus metrics of one process: requests, latency, events accepted; sink figures come from the shipper.

Each app gets its own registry (tests build many apps in one process). Sink and spool figures are read from
the shipper's status at scrape time, so /metrics in any worker shows the shipping side too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tracker.records import Record

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = time.time()
        self.requests = Counter(
            "tracker_requests", "HTTP requests answered", ["family", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "tracker_request_seconds", "Time to answer", ["family"], buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "tracker_events_accepted", "Rows appended to the spool", ["table"], registry=self.registry
        )
        self.refused = Counter(
            "tracker_requests_refused", "Tracking requests refused", ["reason"], registry=self.registry
        )
        self.in_flight = Gauge("tracker_requests_in_flight", "Requests being answered", registry=self.registry)
        self.registry.register(_ShippingCollector(status))
        self.accepted_total = 0
        self.refused_total = 0

    def accepted(self, records: list[Record]) -> None:
        for record in records:
            self.events.labels(record.table).inc()
        self.accepted_total += len(records)

    def rejected(self, reason: str) -> None:
        self.refused.labels(reason).inc()
        self.refused_total += 1

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _ShippingCollector(Collector):
    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self.status = status

    def describe(self) -> list[Any]:
        return []  # dynamic families: do not collect at registration

    def collect(self) -> Iterator[Any]:
        status = self.status()
        spool = GaugeMetricFamily("tracker_spool_bytes", "Bytes in this process's spool")
        spool.add_metric([], status.get("spool", {}).get("bytes", 0))
        yield spool
        written = CounterMetricFamily("tracker_sink_rows_written", "Rows stored", labels=["sink", "table"])
        failed = CounterMetricFamily("tracker_sink_rows_failed", "Rows dead-lettered", labels=["sink", "table"])
        batches = CounterMetricFamily("tracker_sink_batches", "Batches written", labels=["sink"])
        batch_size = GaugeMetricFamily("tracker_sink_last_batch_rows", "Rows in the last batch", labels=["sink"])
        lag = GaugeMetricFamily("tracker_sink_lag_bytes", "Spool bytes not yet shipped", labels=["sink"])
        up = GaugeMetricFamily("tracker_sink_up", "1 when the sink accepts writes", labels=["sink"])
        for name, sink in status.get("sinks", {}).items():
            for table, count in sink.get("written", {}).items():
                written.add_metric([name, table], count)
            for table, count in sink.get("dead_lettered", {}).items():
                failed.add_metric([name, table], count)
            batches.add_metric([name], sink.get("batches", 0))
            batch_size.add_metric([name], sink.get("last_batch_size", 0))
            lag.add_metric([name], sink.get("lag_bytes", 0))
            up.add_metric([name], 1 if sink.get("state") == "ok" else 0)
        yield from (written, failed, batches, batch_size, lag, up)
