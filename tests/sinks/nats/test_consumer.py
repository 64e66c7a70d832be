"""Consume[]: a real tracker process subscribes to NATS subjects and writes what arrives into DuckDB `logs` and
`updates` through its spool; malformed messages land in the dead-letter file with the reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest

from tests.harness import TrackerProcess, snapshot_query, start_tracker, wait_until
from tests.services.nats import NatsServer
from tracker.config import ConfigError, from_mapping


def consuming_tracker(workdir: Path, server: NatsServer, context: str) -> TrackerProcess:
    entry = {
        "Service": "nats",
        "Hosts": [server.url],
        "Filter": [
            {"Alias": "log", "Id": f"{context}.log.>", "Type": "chan"},
            {"Alias": "update", "Id": f"{context}.update.>", "Type": "chan"},
        ],
    }
    tracker = start_tracker(workdir, Consume=[{"Service": "http_", "Note": "a Go entry, switched off"}, entry])
    wait_until(lambda: "NATS consumer subscribed" in tracker.log(), 20, what="the consumer to subscribe")
    return tracker


def publish(server: NatsServer, messages: list[tuple[str, bytes]]) -> None:
    async def send() -> None:
        client = await nats.connect(server.url)
        for subject, data in messages:
            await client.publish(subject, data)
        await client.flush()
        await client.close()

    asyncio.run(send())


def test_log_and_update_messages_become_duckdb_rows_and_malformed_ones_dead_letters(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    tracker = consuming_tracker(tmp_path / "t", nats_server, "c1")
    logs = [
        (f"c1.log.svc{i % 3}", orjson.dumps({"name": "svc", "msg": f"line {i}", "level": i % 5, "ip": "203.0.113.5"}))
        for i in range(600)
    ]
    updates = [("c1.update.prices", b'{"msg": "v1", "updated": "1700000000000"}'), ("c1.update.fx", b'{"msg": "v7"}')]
    malformed = [("c1.log.svc0", b"{torn"), ("c1.log.svc1", b'{"level": "loud"}')]
    try:
        publish(nats_server, logs[:300] + malformed + updates + logs[300:])
        database = tmp_path / "t" / "tracker.duckdb"

        def stored() -> bool:
            tracker.wait_shipped()
            return snapshot_query(database, "SELECT count(*) FROM logs")[0][0] == len(logs)

        wait_until(stored, 60, interval=0.2, what="600 logs rows in DuckDB")
        rows = snapshot_query(
            database, "SELECT count(DISTINCT id), count(DISTINCT msg), min(topic), max(level) FROM logs"
        )
        assert rows == [(600, 600, "c1.log.svc0", 4)]
        assert snapshot_query(database, "SELECT count(*) FROM logs WHERE ip = '' AND iphash != ''") == [(600,)]
        updated = snapshot_query(database, "SELECT id, msg, CAST(updated_at AS VARCHAR) FROM updates ORDER BY id")
        assert updated[0][:2] == ("c1.update.fx", "v7")
        assert updated[1] == ("c1.update.prices", "v1", "2023-11-14 22:13:20")
        letters = (tmp_path / "t" / "spool" / "dead-letter" / "consume-1.jsonl").read_text().splitlines()
        entries = [json.loads(line) for line in letters]
        assert [e["row"]["data"] for e in entries] == ["{torn", '{"level": "loud"}']
        assert entries[0]["error"].startswith("malformed message: not JSON")
        assert entries[1]["error"] == 'malformed message: level: expected a number, got "loud"'
        assert all(e["table"] == "logs" for e in entries)
    finally:
        tracker.kill9()


def test_two_instances_share_the_subject_and_store_each_message_once(tmp_path: Path, nats_server: NatsServer) -> None:
    first = consuming_tracker(tmp_path / "a", nats_server, "c2")
    second = consuming_tracker(tmp_path / "b", nats_server, "c2")
    messages = [("c2.log.x", orjson.dumps({"msg": f"m{i}"})) for i in range(400)]
    try:
        publish(nats_server, messages)

        def counts() -> list[Any]:
            for tracker in (first, second):
                tracker.wait_shipped()
            return [snapshot_query(tmp_path / name / "tracker.duckdb", "SELECT msg FROM logs") for name in ("a", "b")]

        wait_until(lambda: sum(len(c) for c in counts()) == 400, 60, interval=0.2, what="400 rows over both")
        a, b = counts()
        assert a and b  # the queue group spread the messages
        assert sorted(m for (m,) in a + b) == sorted(f"m{i}" for i in range(400))
    finally:
        first.kill9()
        second.kill9()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"Service": "duckdb"}, 'Consume[0].Service: "duckdb" cannot consume; only "nats" can'),
        ({"Service": "nats"}, "Consume[0].Filter: needs at least one subject to subscribe to"),
        (
            {"Service": "nats", "Filter": [{"Alias": "count", "Id": "tic.count.>"}]},
            'Consume[0].Filter[0].Alias: "count" is not consumed here (one of "log", "update")',
        ),
        ({"Service": "nats", "Filter": [{"Alias": "log", "Id": "a b"}]}, 'Consume[0].Filter[0].Id: "a b" is not'),
        ({"Service": "nats", "Filter": [{"Alias": "log"}]}, "Consume[0].Filter[0].Id: required key is missing"),
    ],
)
def test_a_bad_consume_entry_names_its_key(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_mapping({"Consume": [entry]})
    assert problem in str(caught.value)


def test_the_go_consume_entries_load_switched_off() -> None:
    go = {"Service": "nats_", "Hosts": ["tls://localhost:4222"], "Filter": [{"Alias": "count", "Id": "tic.count.>"}]}
    assert not from_mapping({"Consume": [{"Service": "http_", "Note": "Not implemented"}, go]}).consume[1].enabled
