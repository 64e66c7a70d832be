"""Admin accounts: salted scrypt password hashes, API tokens, signed login sessions, constant-time checks.

Go databases store `pwd` as SHA-1 in URL-safe base64 (SPEC.md sha()); such a hash is accepted once and the
caller is told to upgrade it. API tokens are random and high-entropy, so a SHA-256 of each is enough to store.
A session is signed over the account's password hash: a reset, disable or remove (each a new `pwd`) ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600
DISABLED, REMOVED = "!disabled", "!removed"  # `pwd` of an account that may not sign in; no hash starts with "!"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def go_sha(password: str) -> str:
    """The Go tracker's sha(): SHA-1, URL-safe base64 with padding."""
    return base64.urlsafe_b64encode(hashlib.sha1(password.encode()).digest()).decode()  # noqa: S324 - legacy format


def check_password(password: str, stored: str) -> tuple[bool, bool]:
    """(matches, needs_upgrade). Always compares in constant time."""
    if stored.startswith("!"):
        hashlib.scrypt(password.encode(), salt=b"-" * 16, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
        return False, False
    if stored.startswith("scrypt$"):
        try:
            _, n, r, p, salt, digest = stored.split("$")
            expected = _unb64(digest)
            actual = hashlib.scrypt(
                password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
            )
        except (ValueError, TypeError):
            return False, False
        return hmac.compare_digest(actual, expected), False
    matches = hmac.compare_digest(go_sha(password).encode(), stored.encode())
    return matches, matches


def new_token() -> str:
    return "trk_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Account:
    uid: str
    pwd: str
    tokens: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""

    def row(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "pwd": self.pwd,
            "tokens": list(self.tokens),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_row(cls, values: dict[str, Any]) -> Account:
        tokens = values.get("tokens") or []
        if isinstance(tokens, str):
            tokens = orjson.loads(tokens or "[]")
        return cls(
            uid=str(values["uid"]),
            pwd=str(values.get("pwd") or ""),
            tokens=tuple(tokens),
            created_at=str(values.get("created_at") or ""),
            updated_at=str(values.get("updated_at") or ""),
        )

    @property
    def active(self) -> bool:
        return not self.pwd.startswith("!")

    @property
    def state(self) -> str:
        return "removed" if self.pwd == REMOVED else "disabled" if self.pwd.startswith("!") else "active"

    def has_token(self, token: str) -> bool:
        digest = token_digest(token).encode()
        found = False
        for stored in self.tokens:  # no early exit: the time taken does not depend on which token matched
            found |= hmac.compare_digest(digest, stored.encode())
        return found


class Sessions:
    """Login sessions for the admin page: `s2.<uid>.<expiry>.<hmac>`, the HMAC over the payload and the account's
    password hash, so checking one needs only the accounts in memory, and a new `pwd` ends every session."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def issue(self, account: Account, seconds: int = SESSION_SECONDS) -> str:
        payload = f"{_b64(account.uid.encode())}.{int(time.time()) + seconds}"
        return f"s2.{payload}.{self._sign(payload, account.pwd)}"

    def verify(self, token: str, accounts: Mapping[str, Account]) -> str | None:
        """The uid of a live session of an active account, else None."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "s2" or not parts[2].isdigit():
            return None
        try:
            uid = _unb64(parts[1]).decode()
        except ValueError:
            return None
        account = accounts.get(uid)
        pwd = account.pwd if account is not None else REMOVED
        valid = hmac.compare_digest(self._sign(f"{parts[1]}.{parts[2]}", pwd), parts[3])
        if not valid or account is None or not account.active or int(parts[2]) < time.time():
            return None
        return uid

    def _sign(self, payload: str, pwd: str) -> str:
        message = f"{payload}\n{pwd}".encode()
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest())
