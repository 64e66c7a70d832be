"""A browser client served from the tracker's own origin keeps one session: its script can read the `sid` cookie
the tracker issues (the Go browser client reads `sid` and sends it with every event, so an HttpOnly `sid` gave it a
new session on every event)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_admin_page import launch
from tests.harness import prepare_tracker, snapshot_query, wait_until

playwright_api = pytest.importorskip("playwright.sync_api")

# What the Go client does with the session: read `sid` from document.cookie and send it with each event.
CLIENT_JS = """
window.sidCookie = () => (document.cookie.match(/(?:^|; )sid=([^;]+)/) || [])[1] || '';
window.track = async (n) => {
  const sid = window.sidCookie();
  const body = {ename: 'same_origin', etyp: 'test', params: {n}};
  if (sid) body.sid = sid;
  const response = await fetch('/tr/v1/tr/', {method: 'POST', body: JSON.stringify(body)});
  return response.status;
};
"""


def test_a_same_origin_browser_client_keeps_one_session_across_events(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path / "t")
    root = tracker.workdir / "site"
    root.mkdir()
    (root / "track.js").write_text(CLIENT_JS)
    (root / "index.html").write_text('<!doctype html><title>shop</title><script src="track.js"></script><p>shop</p>')
    tracker.config["Static"] = [{"Prefix": "/site/", "Root": str(root)}]
    tracker.start()
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            page.goto(tracker.url("/site/index.html"))
            statuses = [page.evaluate("(n) => window.track(n)", n) for n in range(3)]
            seen_by_script = page.evaluate("window.sidCookie()")
            browser.close()

        def stored() -> list[tuple[Any, ...]]:
            tracker.wait_shipped()
            return snapshot_query(
                tracker.workdir / "tracker.duckdb", "select sid::varchar from events where ename = 'same_origin'"
            )

        rows = wait_until(lambda: len(stored()) == 3 and stored(), what="the three events in DuckDB")
    finally:
        tracker.stop()
    assert statuses == [200, 200, 200]
    assert seen_by_script, "the page's script could not read the sid cookie"
    assert {sid for (sid,) in rows} == {seen_by_script}
