"""The NATS sink against a real nats-server: every row on its subject as JSON, JetStream acknowledgements and
deduplication on eid, an outage as TransientSinkError, oversized rows dead-lettered, and its config checked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest

from tests.harness import ROOT, eventually
from tests.services.nats import NatsServer, start_nats
from tests.sinks.rows import event
from tracker.config import ConfigError, from_mapping
from tracker.sinks.base import PermanentSinkError, PrimaryStore, TransientSinkError
from tracker.sinks.nats import NatsSettings
from tracker.sinks.nats.sink import NatsSink
from tracker.sinks.registry import build_sinks


def nats_sink(server: NatsServer, **keys: Any) -> NatsSink:
    config = from_mapping({"Notify": [{"Service": "nats", "Hosts": [server.url], "Timeout": 2000, **keys}]})
    sink = build_sinks(config)[0]
    assert isinstance(sink, NatsSink)
    return sink


async def test_a_subscriber_receives_every_row_as_json_on_context_dot_table(nats_server: NatsServer) -> None:
    context = f"t{uuid.uuid4().hex[:8]}"
    listener = await nats.connect(nats_server.url)
    received: list[Any] = []

    async def keep(msg: Any) -> None:
        received.append(msg)

    await listener.subscribe(f"{context}.events", cb=keep)
    await listener.flush()
    sink = nats_sink(nats_server, Context=context)
    await sink.open()
    rows = [event(i) for i in range(2500)]
    try:
        for start in range(0, len(rows), 1000):
            await sink.write("events", rows[start : start + 1000])
        await eventually(lambda: len(received) >= len(rows), 10, interval=0.02, what="every row at the subscriber")
    finally:
        await sink.close()
        await listener.close()
    assert [orjson.loads(msg.data)["eid"] for msg in received] == [row["eid"] for row in rows]
    assert orjson.loads(received[0].data) == json.loads(json.dumps(rows[0]))
    assert received[7].headers["Nats-Msg-Id"] == rows[7]["eid"]


async def test_jetstream_acknowledges_and_drops_a_replayed_batch(nats_server: NatsServer) -> None:
    context, stream = f"t{uuid.uuid4().hex[:8]}", f"S{uuid.uuid4().hex[:8]}"
    sink = nats_sink(nats_server, Context=context, JetStream=True, Stream=stream)
    await sink.open()
    rows = [event(i) for i in range(300)]
    redirect = {"urlfrom": "localhost/a", "urlto": "https://example.com/", "updated_at": "2026-01-01 00:00:00"}
    try:
        await sink.write("events", rows)
        await sink.write("events", rows[:150])  # what the shipper sends again after a crash before its cursor
        await sink.write("redirects", [redirect])
        await sink.write("redirects", [redirect, {**redirect, "urlto": "https://example.org/"}])
        assert sink._js is not None
        info = await sink._js.stream_info(stream)
    finally:
        await sink.close()
    assert info.config.subjects == [f"{context}.*"]
    assert info.state.messages == 300 + 2  # the replay dropped on Nats-Msg-Id; the changed link kept


async def test_an_outage_is_transient_and_writing_resumes_after_it(tmp_path: Path) -> None:
    server = start_nats(tmp_path / "js")
    sink = nats_sink(server, JetStream=True)
    try:
        await sink.open()
        await sink.write("events", [event(1)])
        server.stop()
        with pytest.raises(TransientSinkError):
            for _ in range(50):  # until the client notices the server went away
                await sink.write("events", [event(2)])
                await asyncio.sleep(0.05)
        server.start()
        await eventually(lambda: sink._nc is not None and sink._nc.is_connected, 15, interval=0.02, what="a reconnect")
        await sink.write("events", [event(3)])
        assert sink._js is not None
        assert (await sink._js.stream_info("TRACKER")).state.messages >= 2
    finally:
        await sink.close()
        server.stop()


async def test_a_server_that_is_down_at_open_is_transient(tmp_path: Path) -> None:
    server = NatsServer("unused", tmp_path)  # ports reserved, nothing listening
    sink = nats_sink(server, Timeout=300)
    with pytest.raises(TransientSinkError, match="cannot connect to NATS"):
        await sink.open()


async def test_a_row_larger_than_max_payload_is_dead_lettered_and_the_others_are_sent(nats_server: NatsServer) -> None:
    sink = nats_sink(nats_server, Context=f"t{uuid.uuid4().hex[:8]}")
    await sink.open()
    huge = event(2, params={"blob": "x" * 2_000_000})
    try:
        with pytest.raises(PermanentSinkError) as caught:
            await sink.write("events", [event(1), huge, event(3)])
    finally:
        await sink.close()
    assert caught.value.rows == [huge] and caught.value.others_stored
    assert "max_payload" in str(caught.value)


def test_the_sink_is_write_only(nats_server: NatsServer) -> None:
    assert not isinstance(nats_sink(nats_server), PrimaryStore)


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"Hosts": ["127.0.0.1:four"]}, 'Notify[0].Hosts[0]: "127.0.0.1:four" is not nats://host:port'),
        ({"Context": "a b"}, 'Notify[0].Context: "a b" is not a NATS subject prefix'),
        ({"Subject": "all.events"}, 'Notify[0].Subject: "all.events" must contain {table}'),
        ({"JetStream": True, "Stream": "a.b"}, 'Notify[0].Stream: "a.b" is not a JetStream stream name'),
        ({"Timeout": "5s"}, 'Notify[0].Timeout: expected an integer, got "5s"'),
        ({"JetStrem": True}, 'Notify[0].JetStrem: unknown key (did you mean "JetStream"?)'),
    ],
)
def test_a_bad_nats_setting_names_its_key(keys: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_mapping({"Notify": [{"Service": "nats", **keys}]})
    assert problem in str(caught.value)


def test_check_config_accepts_a_nats_sink_and_refuses_a_bad_one(tmp_path: Path) -> None:
    def check(entry: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "config.json"
        path.write_text(json.dumps({"Notify": [{"Service": "duckdb", "Path": str(tmp_path / "d.duckdb")}, entry]}))
        command = [sys.executable, "-m", "tracker", "--check-config", str(path)]
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)

    good = check({"Service": "nats", "Hosts": ["nats://127.0.0.1:4222"], "Context": "tracker", "JetStream": True})
    assert good.returncode == 0, good.stderr
    bad = check({"Service": "nats", "Hosts": ["127.0.0.1:4222"], "Timeout": 0})
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("Notify[1].Timeout: must be at least 1 (milliseconds), got 0")


def test_subjects_follow_context_or_the_template() -> None:
    assert NatsSettings(service="nats").subject_for("events") == "tracker.events"
    assert NatsSettings(service="nats", context="acme").subject_for("logs") == "acme.logs"
    assert NatsSettings(service="nats", subject="in.{table}.v1").subject_for("ltv") == "in.ltv.v1"
