"""The control plane's change feed, conflicts and login throttling (tracker/redirects/control.py), in process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tracker.config import from_mapping
from tracker.pipeline.spool import MemorySpool
from tracker.redirects.cache import LinkCache
from tracker.redirects.control import ControlPlane
from tracker.redirects.errors import AuthFailed, Conflict, NotFound, Throttled, Unavailable


@pytest.fixture
async def plane(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = from_mapping({"Domains": ["go.example"]})
    control = ControlPlane(config, [], MemorySpool(), tmp_path / "control.key")
    await control.start()
    await control.add_account(uid="alice", password="alice-password")
    yield control
    await control.stop()


async def test_every_change_is_spooled_for_the_sinks(plane: ControlPlane) -> None:
    await plane.save(fields={"slugfrom": "a", "urlto": "https://example.com/"}, uid="alice", mode="create")
    await plane.delete(key="go.example/a", uid="alice")
    tables = [table for _, records in plane.spool.entries for table, _ in records]
    assert tables == ["accounts", "redirects", "redirect_history", "redirects", "redirect_history"]


async def test_changes_are_deltas_after_a_version_and_whole_before_it(plane: ControlPlane) -> None:
    await plane.save(fields={"slugfrom": "a", "urlto": "https://example.com/"}, uid="alice", mode="create")
    version = (await plane.changes(since=0))["version"]
    await plane.save(fields={"slugfrom": "b", "urlto": "https://example.com/"}, uid="alice", mode="create")
    delta = await plane.changes(since=version)
    assert not delta["full"] and [x["urlfrom"] for x in delta["links"]] == ["go.example/b"]
    assert (await plane.changes(since=0))["full"]


async def test_a_long_poll_wakes_on_a_change_and_the_cache_follows(plane: ControlPlane) -> None:
    cache = LinkCache(plane)
    await cache.start()
    await asyncio.sleep(0.05)
    await plane.save(fields={"slugfrom": "live", "urlto": "https://example.com/"}, uid="alice", mode="create")
    assert cache.lookup("GO.example", "/Live/") is not None  # save() returned only once the cache acknowledged
    await plane.delete(key="go.example/live", uid="alice")
    assert cache.lookup("go.example", "/live") is None
    await cache.stop()


async def test_create_refuses_a_taken_key_and_update_needs_one(plane: ControlPlane) -> None:
    await plane.save(fields={"slugfrom": "x", "urlto": "https://example.com/"}, uid="alice", mode="create")
    with pytest.raises(Conflict):
        await plane.save(fields={"slugfrom": "X", "urlto": "https://example.com/2"}, uid="alice", mode="create")
    with pytest.raises(NotFound):
        await plane.save(fields={"urlto": "https://example.com/"}, uid="alice", key="go.example/none", mode="update")


async def test_failed_logins_are_throttled_per_client(plane: ControlPlane) -> None:
    for _ in range(10):
        with pytest.raises(AuthFailed):
            await plane.authenticate(uid="alice", password="wrong", token="", client="198.51.100.1")
    with pytest.raises(Throttled):
        await plane.authenticate(uid="alice", password="alice-password", token="", client="198.51.100.1")
    assert await plane.authenticate(uid="alice", password="alice-password", token="", client="198.51.100.2") == "alice"


async def test_max_visits_are_counted_in_one_place(plane: ControlPlane) -> None:
    await plane.save(
        fields={"slugfrom": "cap", "urlto": "https://example.com/", "max_visits": 2}, uid="alice", mode="create"
    )
    assert [await plane.claim_visit(key="go.example/cap") for _ in range(3)] == [True, True, False]


async def test_reset_disable_and_remove_end_sessions_and_tokens(plane: ControlPlane) -> None:
    client = "198.51.100.7"
    session = (await plane.login(uid="alice", password="alice-password", client=client))["token"]
    assert await plane.authenticate(uid="", password="", token=session, client=client) == "alice"
    reset = await plane.add_account(uid="alice", password="alice-password-2")
    for token in (session, "trk_not-a-token"):
        with pytest.raises(AuthFailed):
            await plane.authenticate(uid="", password="", token=token, client=client)
    assert await plane.authenticate(uid="", password="", token=reset["token"], client=client) == "alice"
    assert await plane.disable_account(uid="alice") == {"uid": "alice", "state": "disabled"}
    with pytest.raises(AuthFailed):
        await plane.authenticate(uid="", password="", token=reset["token"], client=client)
    with pytest.raises(AuthFailed):
        await plane.login(uid="alice", password="alice-password-2", client=client)
    assert (await plane.remove_account(uid="alice"))["state"] == "removed"
    with pytest.raises(NotFound):
        await plane.remove_account(uid="alice")
    rows = [values for _, records in plane.spool.entries for table, values in records if table == "accounts"]
    assert [r["pwd"][:7] for r in rows] == ["scrypt$", "scrypt$", "!disabl", "!remove"]
    assert rows[-1]["tokens"] == [] and rows[-1]["created_at"] == rows[0]["created_at"]


async def test_a_change_the_spool_cannot_take_is_unavailable_and_not_applied(tmp_path: Path) -> None:
    config = from_mapping({"Domains": ["go.example"]})
    control = ControlPlane(config, [], MemorySpool(max_bytes=1), tmp_path / "control.key")  # full at once
    await control.start()
    try:
        with pytest.raises(Unavailable) as caught:
            await control.save(fields={"slugfrom": "a", "urlto": "https://example.com/"}, uid="alice", mode="create")
        assert caught.value.status == 503 and caught.value.fields == {"retry_after": 5}
        with pytest.raises(Unavailable):
            await control.add_account(uid="bob", password="bob-password-1")
        assert "go.example/a" not in control.links
    finally:
        await control.stop()
