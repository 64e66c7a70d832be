"""With Durability "fsync" every route answers only once its rows are durable, and none of them is alive while
it waits for the group commit (tracker/http/process.py: EventIntake.append). Each route family is driven through
the real app and spool in this process, several requests at once so that they share a commit window; the watch
counts the Records and rows at the moment each commit starts, when every writer of its window is waiting."""

from __future__ import annotations

import asyncio
import errno
import os
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.harness import base_config, free_port
from tests.routes.alive import CommitWatch, call
from tracker.app import create_app
from tracker.config import from_mapping
from tracker.pipeline.spool import Spool
from tracker.records import Record

CONCURRENT = 4


def events(count: int) -> bytes:
    return orjson.dumps(
        [{"ename": "view", "url": f"https://shop.example/p/{i}", "params": {"n": i, "tag": "t"}} for i in range(count)]
    )


JSON = [(b"host", b"localhost"), (b"user-agent", b"test/1.0"), (b"content-type", b"application/json")]
REQUESTS: dict[str, tuple[str, str, bytes, int]] = {  # family: (method, path, body, status)
    "tracking GET": ("GET", "/tr/v1/tr/ename/view/etyp/page?url=https://shop.example/a&p.n=1", b"", 200),
    "pixel": ("GET", "/tr/v1/img/ename/open?eid=x", b"", 200),
    "tracking POST of 100": ("POST", "/tr/v1/tr/", events(100), 200),
    "server POST of 100": ("POST", "/tr/v1/str/", events(100), 200),
    "redirect /rdr/": ("GET", "/tr/v1/rdr/ename/out?url=https://localhost/next", b"", 302),
    "redirect /xrdr/": ("GET", "/tr/v1/xrdr/ename/out?url=https://localhost/next", b"", 302),
    "ltv": ("POST", "/tr/v1/ltv/", orjson.dumps({"uid": str(uuid.uuid4()), "amt": 10, "product": "p"}), 200),
    "privacy agree": ("POST", "/tr/v1/ppi/agree", orjson.dumps({"vid": str(uuid.uuid4()), "cflags": 1024}), 200),
}


def drive(workdir: Path, method: str, path: str, body: bytes) -> tuple[list[tuple[int, bytes]], CommitWatch]:
    config = from_mapping(base_config(workdir, free_port(), Durability="fsync"))
    app = create_app(config, run_shipper=False)

    async def run() -> tuple[list[tuple[int, bytes]], CommitWatch]:
        async with app.router.lifespan_context(app):
            watch = CommitWatch(app.state.runtime.spool)
            answers = await asyncio.gather(*(call(app, method, path, body, JSON) for _ in range(CONCURRENT)))
            return list(answers), watch

    return asyncio.run(run())


@pytest.mark.parametrize("family", list(REQUESTS))
def test_no_row_of_a_request_is_alive_while_its_group_commit_is_awaited(tmp_path: Path, family: str) -> None:
    method, path, body, status = REQUESTS[family]
    answers, watch = drive(tmp_path, method, path, body)
    assert [code for code, _ in answers] == [status] * CONCURRENT, answers
    assert len(watch.written) >= CONCURRENT  # every request wrote its rows, and awaited a commit
    assert watch.most_alive == (0, 0), watch.alive_at_commits


def test_the_server_route_answers_the_eids_it_made_durable(tmp_path: Path) -> None:
    answers, watch = drive(tmp_path, "POST", "/tr/v1/str/", events(3))
    written = {row["eid"] for row in watch.written if "eid" in row}
    for _, body in answers:
        eids = orjson.loads(body)
        assert len(eids) == 3 and set(eids) <= written


def test_the_watch_sees_records_kept_through_the_commit(tmp_path: Path) -> None:
    """The watch is not blind: a writer that holds its records while awaiting is caught (rows of nested values
    are tracked by the collector, as event rows with params are)."""

    async def run() -> CommitWatch:
        spool = Spool(tmp_path, durability="fsync")
        spool.open()
        watch = CommitWatch(spool)
        records = [Record("events", {"eid": str(i), "params": {"n": i}}) for i in range(10)]
        durable = spool.write(records)
        assert durable is not None
        await durable
        await spool.close()
        return watch

    watch = asyncio.run(run())
    assert watch.most_alive == (10, 10)


def test_a_refused_write_answers_503_and_awaits_nothing(tmp_path: Path) -> None:
    config = from_mapping(base_config(tmp_path, free_port(), Durability="fsync", MaxSpoolBytes=1024 * 1024))
    app = create_app(config, run_shipper=False)

    async def run() -> tuple[list[int], Any]:
        async with app.router.lifespan_context(app):
            spool = app.state.runtime.spool
            watch = CommitWatch(spool)
            spool.max_bytes = 1  # as if the sinks were far behind
            codes = [(await call(app, "POST", "/tr/v1/tr/", events(10), JSON))[0] for _ in range(2)]
            return codes, watch

    codes, watch = asyncio.run(run())
    assert codes == [503, 503] and watch.alive_at_commits == []


def test_a_failed_fsync_answers_503_and_counts_nothing_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = from_mapping(base_config(tmp_path, free_port(), Durability="fsync"))
    app = create_app(config, run_shipper=False)

    def refuse(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    async def run() -> tuple[list[tuple[int, bytes]], int]:
        async with app.router.lifespan_context(app):
            monkeypatch.setattr(os, "fsync", refuse)
            answers = await asyncio.gather(*(call(app, "POST", "/tr/v1/tr/", events(10), JSON) for _ in range(2)))
            return list(answers), app.state.runtime.metrics.accepted_total

    answers, accepted = asyncio.run(run())
    assert [code for code, _ in answers] == [503, 503] and accepted == 0
    assert all(b"retry later" in body for _, body in answers)
