"""Admin accounts in the control plane: sign-in, sessions, API tokens, throttling, add/reset/disable/remove.

Every credential is checked here, in the one process that owns the accounts; workers ask over the control
socket and keep nothing. So a reset, disable or remove (a new `pwd`, no tokens) ends that account's sessions
and tokens on every worker with the call that made it. Disabled and removed accounts stay as rows (`pwd` is a
marker no password matches) so that every sink, and every instance sharing the store, learns of the change.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from tracker.records import Record
from tracker.redirects.accounts import (
    DISABLED,
    REMOVED,
    SESSION_SECONDS,
    Account,
    Sessions,
    check_password,
    hash_password,
    new_token,
    token_digest,
)
from tracker.redirects.errors import AuthFailed, ControlError, NotFound, Throttled
from tracker.timestamps import now_text

log = logging.getLogger("tracker.redirects.accounts")
FAILURES_ALLOWED, FAILURE_WINDOW_SECONDS = 10, 60.0
MAX_UID = 200

Append = Callable[[list[Record]], Awaitable[Any]]


class AccountBook:
    def __init__(self, accounts: dict[str, Account], sessions: Sessions, append: Append) -> None:
        self.accounts, self.sessions, self._append = accounts, sessions, append
        self._failures: dict[str, deque[float]] = {}

    async def add(self, uid: str, password: str | None = None) -> dict[str, Any]:
        """Create or reset: a new password hash and a single new token, so older sessions and tokens end."""
        uid = uid.strip()
        if not uid or len(uid) > MAX_UID:
            raise ControlError(f"uid must be 1-{MAX_UID} characters", field="uid")
        password = password or secrets.token_urlsafe(18)
        token = new_token()
        previous = self.accounts.get(uid)
        account = Account(uid, await asyncio.to_thread(hash_password, password), (token_digest(token),), "", now_text())
        await self._save(account, previous)
        log.info("account reset" if previous and previous.active else "account added", extra={"uid": uid})
        return {"uid": uid, "password": password, "token": token}

    async def disable(self, uid: str) -> dict[str, Any]:
        return await self._end(uid, DISABLED)

    async def remove(self, uid: str) -> dict[str, Any]:
        return await self._end(uid, REMOVED)

    async def _end(self, uid: str, marker: str) -> dict[str, Any]:
        previous = self.accounts.get(uid)
        if previous is None or previous.pwd == REMOVED:
            raise NotFound("no such account", field="uid")
        account = Account(uid, marker, (), "", now_text())
        await self._save(account, previous)
        log.info(f"account {account.state}", extra={"uid": uid})
        return {"uid": uid, "state": account.state}

    async def _save(self, account: Account, previous: Account | None) -> None:
        created = previous.created_at if previous and previous.created_at else account.updated_at
        account = Account(account.uid, account.pwd, account.tokens, created, account.updated_at)
        await self._append([Record("accounts", account.row())])
        self.accounts[account.uid] = account

    async def authenticate(self, uid: str, password: str, token: str, client: str) -> str:
        """The account's uid, or AuthFailed / Throttled. Failures are counted per client address."""
        self._check_throttle(client)
        found: str | None = None
        if token:
            found = self.sessions.verify(token, self.accounts)
            if found is None:
                found = next((a.uid for a in self.accounts.values() if a.active and a.has_token(token)), None)
        elif uid and password:
            account = self.accounts.get(uid)
            stored = account.pwd if account is not None and account.active else _placeholder()
            matches, upgrade = await asyncio.to_thread(check_password, password, stored)
            if matches and account is not None:
                found = uid
                if upgrade:
                    await self._upgrade(account, password)
        current = self.accounts.get(found or "")
        if current is None or not current.active:
            self._fail(client)
            raise AuthFailed("bad credentials")
        return current.uid

    async def login(self, uid: str, password: str, client: str) -> dict[str, Any]:
        found = await self.authenticate(uid, password, "", client)
        token = self.sessions.issue(self.accounts[found])
        return {"uid": found, "token": token, "expires_in": SESSION_SECONDS}

    async def _upgrade(self, account: Account, password: str) -> None:
        stored = await asyncio.to_thread(hash_password, password)
        upgraded = Account(account.uid, stored, account.tokens, account.created_at, now_text())
        await self._append([Record("accounts", upgraded.row())])
        self.accounts[account.uid] = upgraded
        log.info("account password hash upgraded", extra={"uid": account.uid})

    def _check_throttle(self, client: str) -> None:
        failures = self._failures.get(client)
        if failures is None:
            return
        cutoff = time.monotonic() - FAILURE_WINDOW_SECONDS
        while failures and failures[0] < cutoff:
            failures.popleft()
        if len(failures) >= FAILURES_ALLOWED:
            raise Throttled("too many failed logins; retry later", retry_after=int(FAILURE_WINDOW_SECONDS))

    def _fail(self, client: str) -> None:
        self._failures.setdefault(client, deque()).append(time.monotonic())
        log.warning("admin authentication failed", extra={"client": client})


_PLACEHOLDER: list[str] = []


def _placeholder() -> str:
    """A real hash to check unknown users against, so their answer takes as long as a wrong password."""
    if not _PLACEHOLDER:
        _PLACEHOLDER.append(hash_password(secrets.token_urlsafe(16)))
    return _PLACEHOLDER[0]
