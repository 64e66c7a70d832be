"""Rows accepted per table are plain ints on the hot path and the same Prometheus counter at scrape time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tracker.metrics import Metrics


def test_accepted_rows_are_exposed_as_a_counter_per_table() -> None:
    metrics = Metrics(lambda: {})
    metrics.accepted(["events", "hosts", "events"])
    metrics.accepted(["events"])
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    accepted = families["tracker_events_accepted"]
    assert accepted.type == "counter"
    totals = {s.labels["table"]: s.value for s in accepted.samples if s.name.endswith("_total")}
    created = {s.labels["table"] for s in families["tracker_events_accepted_created"].samples}
    assert totals == {"events": 3, "hosts": 1} and created == {"events", "hosts"}
    assert metrics.accepted_total == 4
