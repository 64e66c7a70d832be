"""JSONEachRow (what the sink sends) vs RowBinary for the same 10,000 events into a real ClickHouse: the time to
encode the body in Python plus the server's insert time. RowBinary is encoded here by a straightforward
struct-based writer for the events columns; JSONEachRow by the sink's own encoder (orjson)."""

from __future__ import annotations

import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sink_duckdb import event  # noqa: E402
from tests.harness import free_port  # noqa: E402
from tests.services.clickhouse import ClickHouseServer  # noqa: E402
from tracker.sinks.clickhouse.encode import encode
from tracker.sinks.clickhouse.sql import statements  # noqa: E402
from tracker.sinks.schema import schema_files  # noqa: E402


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def rowbinary(rows: list[dict], columns: list[tuple[str, str]]) -> bytes:
    import orjson

    out = bytearray()
    for row in rows:
        for name, kind in columns:
            value = row.get(name)
            if kind == "UUID":
                raw = uuid.UUID(value).bytes if value else bytes(16)
                out += raw[7::-1] + raw[:7:-1]  # two little-endian halves
            elif kind.startswith("DateTime"):  # DateTime('UTC')
                out += struct.pack("<I", int(time.mktime(time.strptime(value[:19], "%Y-%m-%d %H:%M:%S"))))
            elif kind.startswith("Int64"):
                out += struct.pack("<q", int(value or 0))
            elif kind.startswith("Int32"):
                out += struct.pack("<i", int(value or 0))
            elif kind == "Float64":
                out += struct.pack("<d", float(value or 0))
            else:
                text = orjson.dumps(value) if isinstance(value, dict | list) else str(value or "").encode()
                out += varint(len(text)) + text
    return bytes(out)


def main() -> None:
    rows = [event() for _ in range(10_000)]
    with tempfile.TemporaryDirectory() as tmp:
        server = ClickHouseServer(Path(tmp), free_port(), free_port())
        server.start()
        try:
            server.query("CREATE DATABASE bench")
            for file in schema_files("clickhouse"):
                for statement in statements(file.read_text()):
                    server.query(statement, "bench")
            described = server.query("SELECT name, type FROM system.columns WHERE database='bench' AND table='events'")
            columns = [tuple(line.split("\t")) for line in described.strip().splitlines()]
            results = []
            for name, make, fmt in (
                ("JSONEachRow", lambda: encode(rows, dict(columns)), "JSONEachRow"),
                ("RowBinary", lambda: rowbinary(rows, columns), "RowBinary"),
            ):
                started = time.perf_counter()
                body = make()
                encoded = time.perf_counter() - started
                started = time.perf_counter()
                response = httpx.post(
                    server.url,
                    params={
                        "database": "bench",
                        "query": f"INSERT INTO events FORMAT {fmt}",
                        "input_format_skip_unknown_fields": "1",
                        "date_time_input_format": "best_effort",
                    },
                    content=body,
                    timeout=60,
                )
                inserted = time.perf_counter() - started
                assert response.status_code == 200, response.text[:300]
                total = encoded + inserted
                rate = len(rows) / total
                results.append(
                    f"| {name} | {len(body):,} | {encoded * 1000:.0f} | {inserted * 1000:.0f} | {rate:,.0f} |"
                )
            print("| format | body bytes | encode ms | insert ms | rows/s |\n|---|---|---|---|---|")
            print("\n".join(results))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
