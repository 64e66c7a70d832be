"""Short-link changes over NATS: two tracker processes, each with its own DuckDB file and a NATS sink on one
nats-server; a link created or deleted through one instance's API works (or stops working) on the other at
once, although the other reloads its links only every hour here."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.harness import TrackerProcess, prepare_tracker, wait_until
from tests.routes.conftest import BROWSER_UA, add_account
from tests.services.nats import NatsServer

PASSWORD = "alice-password-1"


def instance(workdir: Path, server: NatsServer) -> TrackerProcess:
    nats_entry = {"Service": "nats", "Hosts": [server.url], "Context": "links1"}
    tracker = prepare_tracker(workdir, Redirects={"RefreshSeconds": 3600})
    tracker.config["Notify"].append(nats_entry)
    return tracker


def visit(tracker: TrackerProcess, path: str) -> httpx.Response:
    return httpx.get(tracker.url(path), headers={"host": "go.example", "user-agent": BROWSER_UA})


def test_a_link_saved_on_one_instance_works_on_the_other_at_once(tmp_path: Path, nats_server: NatsServer) -> None:
    first, second = instance(tmp_path / "a", nats_server), instance(tmp_path / "b", nats_server)
    token = add_account(first.config_path, "alice", PASSWORD)["token"]
    first.start()
    second.start()
    try:
        for tracker in (first, second):
            wait_until(lambda t=tracker: "short-link changes follow NATS" in t.log(), 20, what="the link bus")
        body = {"host": "go.example", "slugfrom": "everywhere", "urlto": "https://example.com/landing"}
        created = httpx.post(first.url("/tr/v1/rpi/links"), json=body, headers={"authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
        saved = time.monotonic()
        wait_until(lambda: visit(second, "/everywhere").status_code == 302, 5, what="the link on the second instance")
        arrived = time.monotonic() - saved
        assert visit(second, "/everywhere").headers["location"] == "https://example.com/landing"

        gone = httpx.delete(
            first.url("/tr/v1/rpi/links/go.example/everywhere"), headers={"authorization": f"Bearer {token}"}
        )
        assert gone.status_code == 200, gone.text
        wait_until(lambda: visit(second, "/everywhere").status_code != 302, 5, what="the deletion on the second")
        print(f"\nshort-link change reached the other instance in {arrived * 1000:.0f} ms")
        assert "short-link change from NATS ignored" not in second.log()
    finally:
        first.kill9()
        second.kill9()
