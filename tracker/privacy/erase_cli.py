"""`tracker --erase ID`: one person's rows deleted or anonymised in every readable sink, an audit row in each, and
a tombstone on every NATS sink (privacy/erase.py). ID is a UUID matched in both the vid and the uid columns, or
`vid:UUID` / `uid:UUID` for only one of them.

The command works on the sinks as they are now. While a tracker runs, rows it has acknowledged but not yet shipped
can land after it: erase through the admin route then (POST /tr/v1/rpi/erase), which goes through the spool behind
them. DuckDB takes one writing process per file: on a running tracker with a DuckDB sink, only the route works.
"""

from __future__ import annotations

import getpass
import sys

from tracker.config import Config
from tracker.privacy.erase import ERASURES, BadErasure, parse_subject, request
from tracker.sinks.base import PrimaryStore, TransientSinkError
from tracker.sinks.registry import build_sinks


async def run(config: Config, subject: str) -> int:
    try:
        kind, person = parse_subject(subject)
    except BadErasure as error:
        print(f"--erase: {error}", file=sys.stderr)
        return 2
    erasure = request(kind, person, f"cli:{_user()}")
    failed = False
    for sink in build_sinks(config):
        try:
            await sink.open()
            if isinstance(sink, PrimaryStore):
                report = await sink.erase(erasure)
                changed = ", ".join(f"{table} {count}" for table, count in sorted(report.tables.items()))
                print(f"{sink.name}: erased {sum(report.tables.values())} rows ({changed or 'none found'})")
            else:
                await sink.write(ERASURES, [erasure])  # NATS: the tombstone; other write-only sinks: the request
                print(f"{sink.name}: erase request published")
        except TransientSinkError as error:
            failed = True
            print(f"{sink.name}: not erased, try again: {error}", file=sys.stderr)
        finally:
            await sink.close()
    print(f"erasure {erasure['id']} ({kind})")
    return 1 if failed else 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
