"""`tracker accounts add UID [CONFIG]`: create or reset an admin account and print its password and API token.

With the tracker running, the account goes through its control socket (the running process owns the sinks and
its cache learns the account at once); otherwise it is written to every enabled sink directly.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Sequence

from tracker.config import ConfigError, load
from tracker.redirects.accounts import Account, hash_password, new_token, token_digest
from tracker.redirects.control import ControlError
from tracker.redirects.model import now_text
from tracker.redirects.rpc import ControlClient, socket_path


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="tracker accounts", description="Manage short-link admin accounts.")
    p.add_argument("action", choices=["add"])
    p.add_argument("uid")
    p.add_argument("config", nargs="?", default="./config.json")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else generate one)")
    args = p.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else secrets.token_urlsafe(18)
    if len(password) < 8:
        print("password must have at least 8 characters", file=sys.stderr)
        return 2
    result = asyncio.run(_add(config, args.uid.strip(), password))
    print(f"uid:      {result['uid']}\npassword: {result['password']}\ntoken:    {result['token']}")
    print("Keep these now: they are stored only as hashes.", file=sys.stderr)
    return 0


async def _add(config: object, uid: str, password: str) -> dict[str, str]:
    path = socket_path(config.spool_directory)  # type: ignore[attr-defined]
    if path.exists():
        client = ControlClient(path, timeout=30.0)
        try:
            return await client.add_account(uid=uid, password=password)  # type: ignore[no-any-return]
        except ControlError:
            pass  # a stale socket: nobody is serving, write directly
        finally:
            await client.aclose()
    from tracker.sinks.registry import build_sinks

    token, stamp = new_token(), now_text()
    account = Account(uid, hash_password(password), (token_digest(token),), stamp, stamp)
    for sink in build_sinks(config):  # type: ignore[arg-type]
        await sink.open()
        try:
            await sink.write("accounts", [account.row()])
        finally:
            await sink.close()
    return {"uid": uid, "password": password, "token": token}
