"""The marketer page in a real headless Chromium: sign in, create a short link, follow it, see the count rise."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
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


def watch_csp(page: Any) -> list[str]:
    """Every Content-Security-Policy violation the page reports, from its events and its console."""
    violations: list[str] = []
    page.expose_function("reportViolation", lambda text: violations.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def launch(p: Any) -> Any:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs the Debian package)")
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def sign_in(page: Any, tracker: TrackerProcess) -> None:
    page.goto(tracker.url("/tr/v1/rpi/admin"))
    page.fill("#uid", "marketer")
    page.fill("#password", "marketer-password")
    page.click("#login")
    page.wait_for_selector("#app:not(.hidden)")


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
        process.kill9()


def test_marketer_creates_follows_and_sees_the_visit(tracker_with_account: TrackerProcess) -> None:
    tracker = tracker_with_account
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            violations = watch_csp(page)
            answer = page.goto(tracker.url("/tr/v1/rpi/admin"))
            assert answer is not None and "script-src 'self';" in answer.headers["content-security-policy"]
            assert "unsafe-inline" not in answer.headers["content-security-policy"]
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
            assert violations == [], violations  # everything above ran under the page's CSP
        finally:
            browser.close()


def test_the_csp_refuses_inline_script(tracker_with_account: TrackerProcess) -> None:
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            violations = watch_csp(page)
            sign_in(page, tracker_with_account)
            page.evaluate(
                "() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
                " document.body.append(s); }"
            )
            wait_until(lambda: violations, 10, what="a CSP violation report")
            assert page.evaluate("() => window.inlineRan === undefined")
            assert any("script-src" in v for v in violations), violations
        finally:
            browser.close()


# Keys stored before hosts and slugs were checked: with the old page, each made it fetch (with the admin's
# bearer token) a path outside the admin API, e.g. /tr/v1/rpi/stats/127.0.0.1/../../../../app/steal -> /app/steal.
CRAFTED_KEYS = [
    "127.0.0.1/../../../../app/steal",
    "127.0.0.1/..%2f..%2f..%2fapp%2fsteal",
    "127.0.0.1/x?next=/app/steal#frag",
    "evil.example:80@127.0.0.1/at",
    "127.0.0.1/<b>bold</b>",
    "..",
]


@pytest.fixture
def tracker_with_crafted_links(tracker_with_account: TrackerProcess) -> TrackerProcess:
    tracker_with_account.stop()
    with duckdb.connect(str(tracker_with_account.workdir / "tracker.duckdb")) as db:
        for key in CRAFTED_KEYS:
            db.execute(
                "INSERT INTO redirects (urlfrom, urlto, slug) VALUES (?, 'https://example.com/', ?)",
                [key, key.partition("/")[2]],
            )
    return tracker_with_account.start()


def test_crafted_stored_keys_never_send_the_token_outside_the_admin_api(
    tracker_with_crafted_links: TrackerProcess,
) -> None:
    tracker = tracker_with_crafted_links
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            sent: list[tuple[str, str | None]] = []
            page.on("request", lambda r: sent.append((r.url, r.headers.get("authorization"))))
            violations = watch_csp(page)
            sign_in(page, tracker)
            for key in CRAFTED_KEYS:
                page.locator(f"tr[data-link={json.dumps(key)}]").wait_for()
            page.wait_for_load_state("networkidle")
            with_token = [urlsplit(url) for url, auth in sent if auth]
            assert with_token, sent
            api = re.compile(r"/tr/v1/rpi/(me|links|stats/[^/]+|qr/[^/]+)")
            for url in with_token:
                assert url.netloc == f"127.0.0.1:{tracker.port}" and api.fullmatch(url.path), url.geturl()
            stats = {unquote(u.path.removeprefix("/tr/v1/rpi/stats/")) for u in with_token if "/stats/" in u.path}
            assert set(CRAFTED_KEYS) - {".."} <= stats  # each row's stats were asked for, as one encoded segment
            assert violations == []
        finally:
            browser.close()
