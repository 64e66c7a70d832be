"""The marketer page in a real headless Chromium: sign in, create a short link, follow it, see the count rise."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import TrackerProcess, prepare_tracker, wait_until
from tests.routes.conftest import BROWSER_UA, add_account

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(os.environ.get("TRACKER_TEST_OUTPUT", "test-output"))

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture
def tracker_with_account(tmp_path: Path) -> Iterator[TrackerProcess]:
    # The page runs on 127.0.0.1, so short links are created for that host and followed in the same browser.
    process = prepare_tracker(
        tmp_path / "tracker", Domains=["yourdomain.com"], Redirects={"AllowedHosts": ["127.0.0.1"]}
    )
    add_account(process.config_path, "marketer", "marketer-password")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_marketer_creates_follows_and_sees_the_visit(tracker_with_account: TrackerProcess) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs the Debian package)")
    tracker = tracker_with_account
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(tracker.url("/tr/v1/rpi/admin"))
            page.fill("#uid", "marketer")
            page.fill("#password", "wrong-password")
            page.click("#login")
            expect(page.locator("#message")).to_contain_text("bad credentials")
            page.fill("#password", "marketer-password")
            page.click("#login")
            page.wait_for_selector("#app:not(.hidden)")

            landing = tracker.url("/landing/spring-sale")  # the tracker itself answers (404): no internet here
            page.fill("#urlto", landing)
            page.fill("#host", "127.0.0.1")
            page.fill("#slug", "spring")
            page.click("#create")
            row = page.locator('tr[data-link="127.0.0.1/spring"]')
            row.wait_for()
            expect(row.locator("img")).to_have_attribute("src", re.compile("^blob:"))
            expect(row.locator("td.visits").first).to_have_text("0")

            # HeadlessChrome's own user agent is counted as a bot; the visitor plays a person's browser
            follower = browser.new_page(user_agent=BROWSER_UA)
            follower.goto(tracker.url("/spring?utm_source=browser-test"))
            assert follower.url == landing + "?utm_source=browser-test"

            def counted() -> bool:  # the hit reaches DuckDB through the spool within a flush interval
                page.click("#refresh")
                visits = page.locator('tr[data-link="127.0.0.1/spring"] td.visits').first
                return visits.inner_text(timeout=5000) == "1"

            wait_until(counted, 30, interval=0.3, what="the visit count on the page to reach 1")
            expect(row.locator("td.visits").first).to_have_text("1")  # the last refresh has rendered
            page.screenshot(path=str(SCREENSHOTS / "admin-page.png"), full_page=True)

            page.fill("#utm_url", "https://example.com/landing")
            page.fill("#utm_source", "newsletter")
            page.fill("#utm_campaign", "spring")
            expect(page.locator("#utm_result")).to_have_text(
                "https://example.com/landing?utm_source=newsletter&utm_campaign=spring"
            )
        finally:
            browser.close()
