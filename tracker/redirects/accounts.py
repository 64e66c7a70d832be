"""Admin accounts: salted scrypt password hashes, API tokens, signed login sessions, constant-time checks.

Go databases store `pwd` as SHA-1 in URL-safe base64 (SPEC.md sha()); such a hash is accepted once and the
caller is told to upgrade it. API tokens are random and high-entropy, so a SHA-256 of each is enough to store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600


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

    def has_token(self, token: str) -> bool:
        digest = token_digest(token).encode()
        found = False
        for stored in self.tokens:  # no early exit: the time taken does not depend on which token matched
            found |= hmac.compare_digest(digest, stored.encode())
        return found


class Sessions:
    """Login sessions for the admin page: `s1.<uid>.<expiry>.<hmac>`, checked without any storage."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def issue(self, uid: str, seconds: int = SESSION_SECONDS) -> str:
        payload = f"{_b64(uid.encode())}.{int(time.time()) + seconds}"
        return f"s1.{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> str | None:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "s1":
            return None
        payload = f"{parts[1]}.{parts[2]}"
        if not hmac.compare_digest(self._sign(payload), parts[3]):
            return None
        if not parts[2].isdigit() or int(parts[2]) < time.time():
            return None
        try:
            return _unb64(parts[1]).decode()
        except ValueError:
            return None

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest())
