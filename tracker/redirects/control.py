"""The control plane: the one owner of short links and admin accounts, in the process that owns the sinks.

State is loaded from the primary store, kept in memory, and changed only here: each change is appended to
the control spool (so every sink receives it, durably, in order) and applied to memory at once, with a
version number workers poll to refresh their lookup caches. A periodic reload from the primary store merges
changes made by other tracker instances (newest `updated_at` wins; deletions are rows with deleted=true).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracker.config import Config
from tracker.errors import BadEvent
from tracker.pipeline.spool import SpoolFull
from tracker.records import Record
from tracker.redirects import store
from tracker.redirects.account_book import AccountBook
from tracker.redirects.accounts import Account, Sessions
from tracker.redirects.errors import Conflict, ControlError, NotFound, Unavailable
from tracker.redirects.model import Redirect, build, deleted_copy
from tracker.sinks.base import PrimaryStore, Rows, SinkError
from tracker.sinks.nats.links import LinkBus, links_settings

log = logging.getLogger("tracker.redirects")
CHANGELOG_SIZE = 10_000
SYNC_SECONDS = 2.0


class ControlPlane:
    def __init__(self, config: Config, sinks: Sequence[Any], spool: Any, secret_path: Path) -> None:
        self.config = config
        self.primary = store.primary(sinks)
        self.spool = spool
        self.sessions = Sessions(_load_secret(secret_path))
        self.links: dict[str, Redirect] = {}
        self.book = AccountBook({}, self.sessions, self._append)
        self.version = 0
        self.changelog: deque[tuple[int, str]] = deque(maxlen=CHANGELOG_SIZE)
        self.loaded = asyncio.Event()
        self.visits: dict[str, int] = {}
        self._new_version = asyncio.Event()
        self._acks: dict[str, tuple[int, float]] = {}
        self._task: asyncio.Task[None] | None = None
        nats = links_settings([*config.notify, *config.consume])  # other instances' changes at once, not on reload
        self.bus = LinkBus(nats, self._changed_elsewhere) if nats is not None else None

    @property
    def accounts(self) -> dict[str, Account]:
        """The accounts, owned by the AccountBook that checks every credential against them."""
        return self.book.accounts

    @accounts.setter
    def accounts(self, accounts: dict[str, Account]) -> None:
        self.book.accounts = accounts

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_forever(), name="redirects-refresh")
        if self.bus is not None:
            await self.bus.start()

    async def stop(self) -> None:
        if self.bus is not None:
            await self.bus.stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _refresh_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                await self.refresh()
                self.loaded.set()
                delay = float(self.config.redirects.refresh_seconds)
            except Exception as error:  # noqa: BLE001 - the store may be down; lookups keep what they have
                log.warning("cannot load short links", extra={"error": str(error), "retry_seconds": delay})
                delay = min(delay * 2, 30.0)
                if self.primary is None:
                    self.loaded.set()
            await asyncio.sleep(delay)

    async def refresh(self) -> None:
        if self.primary is None:
            return
        for values in await store.load_redirects(self.primary):
            try:
                self._merge(Redirect.from_row(values))
            except (BadEvent, ValueError, TypeError) as error:  # one bad row must not hide every other link
                log.warning("short link row skipped", extra={"link": str(values.get("urlfrom")), "error": str(error)})
        for values in await store.load_accounts(self.primary):
            account = Account.from_row(values)
            current = self.accounts.get(account.uid)
            if current is None or account.updated_at > current.updated_at:
                self.accounts[account.uid] = account

    def _merge(self, link: Redirect) -> None:
        current = self.links.get(link.urlfrom)
        if current is None or link.updated_at > current.updated_at:
            self._apply(link)

    async def _changed_elsewhere(self, row: dict[str, Any]) -> None:
        self._merge(Redirect.from_row(row))
        self.visits.pop(str(row.get("urlfrom")), None)

    def _apply(self, link: Redirect) -> None:
        self.links[link.urlfrom] = link
        self.version += 1
        self.changelog.append((self.version, link.urlfrom))
        self._new_version.set()
        self._new_version = asyncio.Event()

    async def _ready(self) -> None:
        try:
            await asyncio.wait_for(self.loaded.wait(), timeout=5.0)
        except TimeoutError:
            raise Unavailable("the primary store has not answered yet; retry shortly") from None

    # ---- what workers read -------------------------------------------------------------------------

    async def changes(self, since: int, wait: float = 0.0, worker: str = "") -> dict[str, Any]:
        """Links changed after version `since`, or all of them when the changelog no longer reaches back.

        A worker long-polls (`wait` seconds) with the version it holds; that call is also its acknowledgement.
        """
        if worker:
            self._acks[worker] = (since, time.monotonic() + wait)
        if wait > 0 and since == self.version:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_version.wait(), timeout=wait)
        oldest = self.changelog[0][0] if self.changelog else self.version + 1
        if since <= 0 or since < oldest - 1 or since > self.version:
            return {"version": self.version, "full": True, "links": [x.row() for x in self.links.values()]}
        keys = {key for version, key in self.changelog if version > since}
        return {"version": self.version, "full": False, "links": [self.links[k].row() for k in keys]}

    async def list(self, host: str = "", offset: int = 0, limit: int = 100, query: str = "") -> dict[str, Any]:
        await self._ready()
        host, query = host.lower(), query.lower()
        found = [
            x
            for x in self.links.values()
            if not x.deleted
            and (not host or x.host == host)
            and (not query or query in x.urlfrom or query in x.urlto.lower() or any(query in t for t in x.tags))
        ]
        found.sort(key=lambda x: (x.created_at, x.urlfrom), reverse=True)
        page = found[offset : offset + limit]
        return {"total": len(found), "offset": offset, "limit": limit, "results": [x.public() for x in page]}

    async def get(self, key: str) -> dict[str, Any]:
        await self._ready()
        link = self.links.get(key)
        if link is None or link.deleted:
            raise NotFound("no such short link", link=key)
        return link.public()

    async def stats(self, key: str) -> dict[str, Any]:
        await self.get(key)
        if self.primary is None:
            raise Unavailable("no readable store is configured for statistics")
        return await store.link_stats(self.primary, key)

    async def agreements(self, vid: str) -> Rows:
        """Privacy reads (/ppi/) share this plane's one connection to the primary store."""
        try:
            return await store.agreements(self._readable(), vid)
        except SinkError as error:
            raise Unavailable(f"the primary store did not answer: {error}") from None

    async def jurisdictions(self) -> Rows:
        try:
            return await store.jurisdictions(self._readable())
        except SinkError as error:
            raise Unavailable(f"the primary store did not answer: {error}") from None

    def _readable(self) -> PrimaryStore:
        if self.primary is None:
            raise Unavailable("no readable store is configured (DuckDB or ClickHouse)")
        return self.primary

    async def claim_visit(self, key: str) -> bool:
        """One more visit to a link with `max_visits`: False once the cap is reached."""
        link = self.links.get(key)
        if link is None or link.max_visits is None:
            return True
        if key not in self.visits:
            self.visits[key] = await store.visit_count(self.primary, key) if self.primary is not None else 0
        if self.visits[key] >= link.max_visits:
            return False
        self.visits[key] += 1
        return True

    # ---- changes -----------------------------------------------------------------------------------

    async def save(
        self, fields: Mapping[str, Any], uid: str, key: str | None = None, mode: str = "upsert"
    ) -> dict[str, Any]:
        """mode "create" refuses a taken key (409); "update" needs `key` to exist (404); "upsert" is the Go API."""
        await self._ready()
        existing = None
        if mode == "update":
            existing = self.links.get(key or "")
            if existing is None or existing.deleted:
                raise NotFound("no such short link", link=key)
        domains = self.config.redirects.allowed_hosts or self.config.domains
        try:
            link = build(
                fields,
                updater=uid,
                domains=self.config.domains,
                default_host=domains[0] if domains else "",
                existing=existing,
                taken=self.links,
                api_prefix=self.config.api_prefix,
            )
        except BadEvent as error:
            raise ControlError(error.message, field=error.field) from None
        current = self.links.get(link.urlfrom)
        if mode == "create" and current is not None and not current.deleted:
            raise Conflict("this short link exists already", link=link.urlfrom, field="urlfrom")
        if mode == "upsert" and current is not None and not current.deleted:
            link = _keep_created(link, current)
        await self._commit(link, "update" if current and not current.deleted else "create")
        return link.public()

    async def delete(self, key: str, uid: str) -> dict[str, Any]:
        await self._ready()
        link = self.links.get(key)
        if link is None or link.deleted:
            raise NotFound("no such short link", link=key)
        gone = deleted_copy(link, uid)
        await self._commit(gone, "delete")
        return {"deleted": key}

    async def _append(self, records: Sequence[Record]) -> None:
        """Into the control spool; a full or failing disk is the client's 503 (retry later), not a 500."""
        try:
            await self.spool.append(records)
        except SpoolFull as error:
            raise Unavailable("the spool cannot take this change now; retry shortly", retry_after=5) from error

    async def _commit(self, link: Redirect, action: str) -> None:
        await self._append([Record("redirects", link.row()), Record("redirect_history", _history(link, action))])
        self._apply(link)
        self.visits.pop(link.urlfrom, None)
        log.info("short link changed", extra={"link": link.urlfrom, "action": action, "updater": link.updater})
        if self.bus is not None:
            await self.bus.publish(link.row())
        await self._synced(self.version)

    async def _synced(self, version: int, timeout: float = SYNC_SECONDS) -> None:
        """Wait until every live worker holds `version`, so a link works everywhere once its API call answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            behind = [w for w, (held, alive_until) in self._acks.items() if held < version and alive_until + 5 > now]
            if not behind:
                return
            await asyncio.sleep(0.005)
        log.warning("some workers have not caught up with a short-link change", extra={"version": version})

    # ---- accounts ----------------------------------------------------------------------------------

    async def add_account(self, uid: str, password: str | None = None) -> dict[str, Any]:
        return await self.book.add(uid, password)

    async def disable_account(self, uid: str) -> dict[str, Any]:
        await self._ready()
        return await self.book.disable(uid)

    async def remove_account(self, uid: str) -> dict[str, Any]:
        await self._ready()
        return await self.book.remove(uid)

    async def authenticate(self, uid: str, password: str, token: str, client: str) -> str:
        await self._ready()
        return await self.book.authenticate(uid, password, token, client)

    async def login(self, uid: str, password: str, client: str) -> dict[str, Any]:
        await self._ready()
        return await self.book.login(uid, password, client)


def _keep_created(link: Redirect, current: Redirect) -> Redirect:
    return replace(link, created_at=current.created_at)


def _history(link: Redirect, action: str) -> dict[str, Any]:
    target = urlsplit(link.urlto)
    return {
        "id": str(uuid.uuid4()),
        "urlfrom": link.urlfrom,
        "hostfrom": link.host,
        "slugfrom": link.slug,
        "urlto": link.urlto,
        "hostto": target.hostname or "",
        "pathto": target.path,
        "searchto": target.query,
        "action": action,
        "updater": link.updater,
        "oid": link.oid,
        "org": link.org,
        "created_at": link.updated_at,
        "updated_at": link.updated_at,
    }


def _load_secret(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_bytes(32)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(secret)
        temporary.chmod(0o600)
        temporary.replace(path)
        return secret
