"""One person's erasure: how a request names the person (tracker/privacy/erase.py), and `tracker --erase` as a user
runs it against a DuckDB file, a database on the real ClickHouse server and a real nats-server at once: the rows
gone from both stores, the audit rows written, the tombstone received by a subscriber."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest

from tests.harness import eventually, free_port
from tests.services.clickhouse import ClickHouseServer
from tests.services.nats import NatsServer
from tests.sinks.rows import event
from tests.sinks.stores import read
from tracker.config import from_mapping
from tracker.privacy.erase import AUDIT_TOPIC, ERASED_TABLES, BadErasure, ErasedTable, parse_subject
from tracker.sinks.base import Sink
from tracker.sinks.registry import build_sinks

PERSON = "6f1c2a9e-1b7d-4c55-9a53-0c3f5e8d2b11"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (PERSON, ("any", PERSON)),
        (f"vid:{PERSON.upper()}", ("vid", PERSON)),
        (f" uid:{{{PERSON}}} ", ("uid", PERSON)),
    ],
)
def test_a_request_names_a_person_by_uuid_and_optionally_which_column(given: str, expected: tuple[str, str]) -> None:
    assert parse_subject(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [("alice", "not a UUID"), ("vid:", "not a UUID"), ("00000000-0000-0000-0000-000000000000", "zero UUID")],
)
def test_a_request_naming_no_person_is_refused_with_the_reason(given: str, message: str) -> None:
    with pytest.raises(BadErasure, match=message):
        parse_subject(given)
    with pytest.raises(BadErasure, match="kind"):
        parse_subject(PERSON, "email")


def test_each_table_says_which_columns_hold_the_person() -> None:
    ltv = next(t for t in ERASED_TABLES if t.table == "ltv")
    assert ltv.matches("vid") == [("id", "vid")] and ltv.matches("any") == [("id", "")]
    agreements = next(t for t in ERASED_TABLES if t.table == "agreements")
    assert agreements.matches("vid") == [("vid", ""), ("avid", "")]
    assert ErasedTable("usernames", vid=()).matches("any") == [("uid", "")]  # how a new table is listed


def stores(config_path: Path) -> list[Sink]:
    return [s for s in build_sinks(from_mapping(json.loads(config_path.read_text()))) if s.name != "nats"]


def tracker_config(tmp_path: Path, clickhouse: ClickHouseServer, database: str, nats_url: str, context: str) -> Path:
    raw = {
        "Notify": [
            {"Service": "duckdb", "Path": str(tmp_path / "t.duckdb")},
            {"Service": "clickhouse", "Hosts": [clickhouse.host], "Context": database},
            {"Service": "nats", "Hosts": [nats_url], "Context": context},
        ]
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return path


async def test_erase_cli_empties_both_stores_and_publishes_a_tombstone(
    tmp_path: Path, clickhouse_server: ClickHouseServer, clickhouse_database: str, nats_server: NatsServer
) -> None:
    context = f"t{uuid.uuid4().hex[:8]}"
    config_path = tracker_config(tmp_path, clickhouse_server, clickhouse_database, nats_server.url, context)
    other = str(uuid.uuid4())
    for store in stores(config_path):
        await store.open()
        await store.write("events", [event(1, vid=PERSON), event(2, uid=PERSON), event(3, vid=other)])
        await store.close()
    listener = await nats.connect(nats_server.url)
    tombstones: list[Any] = []

    async def keep(msg: Any) -> None:
        tombstones.append(msg)

    await listener.subscribe(f"{context}.erasures", cb=keep)
    await listener.flush()
    try:
        erase = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tracker", "--erase", PERSON, str(config_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(erase.communicate(), 120)
        assert erase.returncode == 0, err.decode()
        await eventually(lambda: tombstones, 5, what="the erase request on NATS")
    finally:
        await listener.close()
    lines = out.decode().splitlines()
    assert "duckdb: erased 2 rows (" in lines[0] and "clickhouse: erased 2 rows (" in lines[1]
    assert lines[2] == "nats: erase request published" and lines[3].startswith("erasure ")
    (tombstone,) = [orjson.loads(message.data) for message in tombstones]
    assert (tombstone["subject"], tombstone["kind"]) == (PERSON, "any")
    assert tombstone["requested_by"].startswith("cli:") and lines[3] == f"erasure {tombstone['id']} (any)"
    for store in stores(config_path):
        await store.open()
        try:
            assert [row["vid"] for row in await read(store, "events", "eid", "vid")] == [other]
            (audit,) = await read(store, "logs", "id", "id, topic")
            assert audit == {"id": tombstone["id"], "topic": AUDIT_TOPIC}
        finally:
            await store.close()


def test_erase_cli_refuses_what_is_not_a_uuid(tmp_path: Path) -> None:
    import subprocess

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ProxyPort": f"127.0.0.1:{free_port()}"}))
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "--erase", "alice@example.com", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "not a UUID" in done.stderr
