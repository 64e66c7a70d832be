"""The sink's write path without a server: the driver's real statements go to a stand-in session whose answers
(results or the driver's own exceptions) come back from another thread, as the driver's reactor gives them.
What reaches the shipper is checked: nothing raised, TransientSinkError, or PermanentSinkError with the bad rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from cassandra import InvalidRequest, WriteTimeout, WriteType
from cassandra.cluster import NoHostAvailable
from cassandra.query import BatchStatement, BoundStatement, SimpleStatement

from tests.harness import free_port
from tests.sinks.cassandra.offline import SCHEMA, DriverThreadFuture, prepared_insert
from tests.sinks.rows import event
from tracker.config import from_mapping
from tracker.sinks.base import PermanentSinkError, TransientSinkError
from tracker.sinks.cassandra.sink import READ_PAGE, CassandraSink
from tracker.sinks.registry import build_sinks

Answer = Callable[[Any], BaseException | None]


class StandInSession:
    """execute_async as the driver's Session has it; `answer(statement)` returns the error to fail with, if any."""

    def __init__(self, answer: Answer = lambda statement: None) -> None:
        self.answer = answer
        self.sent: list[Any] = []

    def execute_async(self, statement: Any, values: Any = None) -> DriverThreadFuture:
        self.sent.append(statement)
        return DriverThreadFuture(result=[], error=self.answer(statement))


def open_sink(answer: Answer = lambda statement: None, **keys: Any) -> tuple[CassandraSink, StandInSession]:
    (sink,) = build_sinks(from_mapping({"Notify": [{"Service": "cassandra", **keys}]}))
    assert isinstance(sink, CassandraSink)
    session = StandInSession(answer)
    sink._session = session  # type: ignore[assignment]
    sink.tables = dict(SCHEMA)
    sink._prepared = {name: prepared_insert(name) for name in SCHEMA}
    return sink, session


def table_of(statement: BoundStatement) -> str:
    return str(statement.prepared_statement.column_metadata[0].table_name)


def rows_in(statement: Any) -> int:
    return len(statement) if isinstance(statement, BatchStatement) else 1


async def test_events_go_one_statement_each_with_their_short_link_twins() -> None:
    sink, session = open_sink()
    hits = [event(1, ename="short_rdr", link="go.example/a"), event(2, ename="short_rdr", link="go.example/a")]
    await sink.write("events", [event(0), *hits])
    events = [s for s in session.sent if isinstance(s, BoundStatement) and table_of(s) == "events"]
    twins = [s for s in session.sent if s not in events]
    assert len(events) == 3 and all(isinstance(s, BoundStatement) for s in events)
    (twin,) = twins
    assert isinstance(twin, BatchStatement) and len(twin) == 2  # one link partition, one unlogged batch
    assert twin.routing_key is not None


async def test_a_partitions_rows_go_as_one_batch_cut_at_batch_rows() -> None:
    sink, session = open_sink(BatchRows=2)
    person = str(uuid.uuid4())
    lines = [{"id": person, "id_type": "uid", "payment_id": str(uuid.uuid4()), "paid": "2.00"} for _ in range(5)]
    await sink.write("ltv", lines)
    assert sorted(rows_in(s) for s in session.sent) == [1, 2, 2]


async def test_timeouts_and_unreachable_hosts_are_transient() -> None:
    for error in (
        WriteTimeout(
            "timed out", consistency=1, required_responses=1, received_responses=0, write_type=WriteType.SIMPLE
        ),
        NoHostAvailable("Unable to connect to any servers", {}),
    ):
        sink, _ = open_sink(lambda statement, error=error: error)
        with pytest.raises(TransientSinkError, match=type(error).__name__):
            await sink.write("events", [event(1), event(2)])


async def test_a_refused_batch_is_retried_row_by_row_and_only_the_refused_rows_are_dead_lettered() -> None:
    person, poison = str(uuid.uuid4()), str(uuid.uuid4())

    def answer(statement: Any) -> BaseException | None:
        if isinstance(statement, BatchStatement):
            return InvalidRequest("Batch too large")
        if uuid.UUID(poison).bytes in statement.values:
            return InvalidRequest("some value the server refuses")
        return None

    sink, session = open_sink(answer)
    lines = [{"id": person, "id_type": "uid", "payment_id": pid, "paid": "1"} for pid in (str(uuid.uuid4()), poison)]
    with pytest.raises(PermanentSinkError) as raised:
        await sink.write("ltv", lines)
    assert raised.value.rows == [lines[1]] and raised.value.others_stored
    assert "InvalidRequest" in str(raised.value)
    assert [rows_in(s) for s in session.sent] == [2, 1, 1]


async def test_rows_with_bad_values_are_dead_lettered_and_the_others_stored() -> None:
    sink, session = open_sink()
    good, bad = event(1), event(2, vid="not-a-uuid")
    with pytest.raises(PermanentSinkError, match="column vid") as raised:
        await sink.write("events", [good, bad])
    assert raised.value.rows == [bad] and raised.value.others_stored
    assert len(session.sent) == 1


async def test_a_transient_failure_wins_over_refused_rows_so_nothing_is_dead_lettered_early() -> None:
    sink, _ = open_sink(lambda statement: WriteTimeout("timed out", write_type=WriteType.SIMPLE))
    with pytest.raises(TransientSinkError):
        await sink.write("events", [event(1), event(2, vid="not-a-uuid")])


async def test_a_missing_table_waits_under_a_manual_schema_and_is_refused_under_ours() -> None:
    for schema, error in (("manual", TransientSinkError), ("auto", PermanentSinkError)):
        sink, _ = open_sink(Schema=schema)
        sink._cluster = SimpleNamespace(  # type: ignore[assignment]
            refresh_keyspace_metadata=lambda keyspace: None, metadata=SimpleNamespace(keyspaces={})
        )
        with pytest.raises(error, match='no table "campaign_budgets"'):
            await sink.write("campaign_budgets", [{"id": "1"}])


async def test_writing_before_open_is_transient() -> None:
    (sink,) = build_sinks(from_mapping({"Notify": [{"Service": "cassandra"}]}))
    with pytest.raises(TransientSinkError, match="not open"):
        await sink.write("events", [event(1)])


class StandInReads(StandInSession):
    """Session.prepare and the blocking Session.execute, answering reads with rows in the driver's shapes."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows
        self.prepared: list[str] = []

    def prepare(self, cql: str) -> Any:
        self.prepared.append(cql)
        table = prepared_insert("events_by_link")  # any prepared statement with a text first column binds "link"
        table.query_string = cql
        return table

    def execute(self, statement: Any, values: Any = None) -> list[dict[str, Any]]:
        self.sent.append(statement)
        return self.rows


async def test_reads_bind_their_values_through_prepared_statements_and_page() -> None:
    sink, _ = open_sink()
    visit_row = {"created_at": datetime.now(UTC).replace(tzinfo=None), "vid": uuid.uuid4(), "ua": "Firefox"}
    session = StandInReads([{**visit_row, "referer": "https://r.example/", "country": "DE"}])
    sink._session = session  # type: ignore[assignment]
    stats = await sink.link_stats("go.example/a")
    assert (stats.visits, stats.uniques, stats.countries) == (1, 1, [{"country": "DE", "visits": 1}])
    (statement,) = session.sent
    assert isinstance(statement, BoundStatement) and statement.fetch_size == READ_PAGE
    assert session.prepared == ["SELECT created_at, vid, ua, referer, country FROM events_by_link WHERE link = ?"]
    await sink.link_stats("go.example/b")
    assert len(session.prepared) == 1  # prepared once per text
    session.rows = [{"urlfrom": "go.example/a", "updated_at": visit_row["created_at"], "tags": ["x"]}]
    (loaded,) = await sink.load_links()
    assert isinstance(session.sent[-1], SimpleStatement) and session.sent[-1].query_string == "SELECT * FROM redirects"
    assert loaded["tags"] == ["x"] and isinstance(loaded["updated_at"], str)


async def test_a_failed_read_is_transient() -> None:
    sink, _ = open_sink()

    class Down(StandInReads):
        def execute(self, statement: Any, values: Any = None) -> list[dict[str, Any]]:
            raise NoHostAvailable("Unable to connect to any servers", {})

    sink._session = Down([])  # type: ignore[assignment]
    with pytest.raises(TransientSinkError, match="NoHostAvailable"):
        await sink.load_accounts()


async def test_a_refused_link_twin_dead_letters_its_event_once() -> None:
    def answer(statement: Any) -> BaseException | None:
        refused = isinstance(statement, BoundStatement) and table_of(statement) == "events_by_link"
        return InvalidRequest("refused") if refused else None

    sink, _ = open_sink(answer)
    hit = event(1, ename="short_rdr", link="go.example/a")
    with pytest.raises(PermanentSinkError) as raised:
        await sink.write("events", [event(0), hit])
    assert raised.value.rows == [hit] and raised.value.others_stored  # the event row, replayable into events


async def test_opening_with_no_reachable_host_is_transient_so_the_rows_wait() -> None:
    port = free_port()  # nothing listens there: the driver's real connect fails with NoHostAvailable
    (sink,) = build_sinks(from_mapping({"Notify": [{"Service": "cassandra", "Hosts": [f"127.0.0.1:{port}"]}]}))
    with pytest.raises(TransientSinkError, match="NoHostAvailable"):
        await sink.open()
    await sink.close()
