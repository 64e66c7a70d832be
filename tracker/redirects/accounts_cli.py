"""`tracker accounts add|disable|remove UID [CONFIG]`: manage the short-link admin accounts.

`add` creates or resets an account and prints its password and API token; `disable` and `remove` end it.
Each ends the account's earlier sessions and tokens. With the tracker running, the change goes through its
control socket (the running process owns the sinks and checks every credential, so it applies at once on every
worker); otherwise it is written to every enabled sink directly.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from tracker.config import Config, ConfigError, load
from tracker.redirects.accounts import DISABLED, REMOVED, Account, hash_password, new_token, token_digest
from tracker.redirects.errors import ControlError, Unavailable
from tracker.redirects.rpc import ControlClient, socket_path
from tracker.timestamps import now_text

ACTIONS = {"add": "add_account", "disable": "disable_account", "remove": "remove_account"}


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="tracker accounts", description="Manage short-link admin accounts.")
    p.add_argument("action", choices=list(ACTIONS), help="add (or reset), disable, or remove an account")
    p.add_argument("uid")
    p.add_argument("config", nargs="?", default="./config.json")
    p.add_argument("--password-stdin", action="store_true", help="add: read the password from stdin (else generate)")
    args = p.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    uid = args.uid.strip()
    arguments: dict[str, Any] = {"uid": uid}
    if args.action == "add":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else secrets.token_urlsafe(18)
        if len(password) < 8:
            print("password must have at least 8 characters", file=sys.stderr)
            return 2
        arguments["password"] = password
    try:
        result = asyncio.run(_apply(config, ACTIONS[args.action], arguments))
    except ControlError as error:
        print(f"{args.action} {uid}: {error.message}", file=sys.stderr)
        return 1
    if args.action == "add":
        print(f"uid:      {result['uid']}\npassword: {result['password']}\ntoken:    {result['token']}")
        print("Keep these now: they are stored only as hashes.", file=sys.stderr)
    else:
        print(f"uid:      {result['uid']}\nstate:    {result['state']}")
    return 0


async def _apply(config: Config, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
    path = socket_path(config.spool_directory)
    if path.exists():
        client = ControlClient(path, timeout=30.0)
        try:
            return await getattr(client, method)(**arguments)  # type: ignore[no-any-return]
        except Unavailable:
            pass  # a stale socket: nobody is serving, write directly
        finally:
            await client.aclose()
    return await _write_directly(config, method, arguments)


async def _write_directly(config: Config, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """With no tracker running: the account row goes to every enabled sink (the newest `updated_at` wins)."""
    from tracker.sinks.registry import build_sinks

    uid, stamp = arguments["uid"], now_text()
    if method == "add_account":
        token = new_token()
        account = Account(uid, hash_password(arguments["password"]), (token_digest(token),), stamp, stamp)
        result = {"uid": uid, "password": arguments["password"], "token": token}
    else:
        account = Account(uid, DISABLED if method == "disable_account" else REMOVED, (), stamp, stamp)
        result = {"uid": uid, "state": account.state}
    for sink in build_sinks(config):
        await sink.open()
        try:
            await sink.write("accounts", [account.row()])
        finally:
            await sink.close()
    return result
