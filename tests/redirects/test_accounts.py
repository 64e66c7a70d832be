"""Password hashes, legacy Go hashes, API tokens and login sessions (tracker/redirects/accounts.py)."""

from __future__ import annotations

from tracker.redirects.accounts import (
    DISABLED,
    REMOVED,
    Account,
    Sessions,
    check_password,
    go_sha,
    hash_password,
    new_token,
    token_digest,
)


def test_scrypt_hash_checks_the_password_and_salts_each_hash() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and stored != hash_password("correct horse")
    assert check_password("correct horse", stored) == (True, False)
    assert check_password("wrong", stored) == (False, False)


def test_go_sha1_hash_is_accepted_and_marked_for_upgrade() -> None:
    legacy = go_sha("secret")
    assert len(legacy) == 28 and legacy.endswith("=")
    assert check_password("secret", legacy) == (True, True)
    assert check_password("nope", legacy) == (False, False)


def test_tokens_are_stored_as_digests() -> None:
    token = new_token()
    account = Account("alice", hash_password("x" * 12), (token_digest(token),))
    assert account.has_token(token) and not account.has_token(new_token())
    assert token not in str(account.row())


def test_sessions_are_signed_and_expire() -> None:
    sessions = Sessions(b"k" * 32)
    alice = Account("alice", hash_password("x" * 12))
    accounts = {"alice": alice}
    token = sessions.issue(alice)
    assert sessions.verify(token, accounts) == "alice"
    assert Sessions(b"other" * 8).verify(token, accounts) is None
    assert sessions.verify(token[:-2] + "xx", accounts) is None
    assert sessions.verify(sessions.issue(alice, seconds=-1), accounts) is None


def test_a_new_password_hash_a_disable_or_a_removal_ends_every_session() -> None:
    sessions = Sessions(b"k" * 32)
    alice = Account("alice", hash_password("x" * 12))
    token = sessions.issue(alice)
    assert sessions.verify(token, {"alice": Account("alice", hash_password("x" * 12))}) is None  # a reset
    assert sessions.verify(token, {"alice": Account("alice", DISABLED)}) is None
    assert sessions.verify(token, {"alice": Account("alice", REMOVED)}) is None
    assert sessions.verify(token, {}) is None


def test_disabled_and_removed_accounts_match_no_password() -> None:
    assert check_password("!disabled", DISABLED) == (False, False)
    assert check_password("", REMOVED) == (False, False)
    assert Account("a", DISABLED).state == "disabled" and Account("a", REMOVED).state == "removed"
    assert not Account("a", REMOVED).active and Account("a", hash_password("x" * 12)).active
