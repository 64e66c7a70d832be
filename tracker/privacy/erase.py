"""One person's erasure (GDPR art. 17): what an erase request is, which tables hold a person's rows, and the audit
row it leaves. The request travels as a row of the `erasures` table: through the spool (the admin route), so a sink
applies it after every event acknowledged before it; straight to each sink (`tracker --erase`); and as the
tombstone a NATS sink publishes on its `erasures` subject for downstream consumers.

Each readable sink deletes (or, for payments, anonymises) the rows the table list names, then writes one audit row
into its `logs` table: who asked, when, and how many rows each table lost; never the erased id or data.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ERASURES = "erasures"  # the request's table name in the spool, and its NATS subject's {table}
AUDIT_TOPIC = "tracker.erase"  # the audit rows' `logs.topic`; log pruning leaves them
KINDS = ("vid", "uid", "any")  # any: every vid and uid column holding the id
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class ErasedTable:
    """A table holding people's rows: the columns that hold a visitor id and a user id. With `kind_column`, one
    id column holds either, and that column says which (ltv: id, id_type). With `anonymise`, the row stays (its
    amounts are bookkeeping) and these columns are set to the zero UUID instead."""

    table: str
    vid: tuple[str, ...] = ("vid",)
    uid: tuple[str, ...] = ("uid",)
    kind_column: str = ""
    anonymise: tuple[str, ...] = ()

    def matches(self, kind: str) -> list[tuple[str, str]]:
        """(column, required kind_column value or '') pairs any of which marks a row of the person."""
        found: list[tuple[str, str]] = []
        for wanted, columns in (("vid", self.vid), ("uid", self.uid)):
            if kind in (wanted, "any"):
                required = wanted if self.kind_column and kind != "any" else ""
                found += [(column, required) for column in columns if (column, required) not in found]
        return found


# A sink erases from every listed table it has, and skips columns it does not have.
# Views over events (visitors, sessions, hits, reqs, ltvu, ltvv…) lose the person with the rows below.
ERASED_TABLES: tuple[ErasedTable, ...] = (
    ErasedTable("events"),  # page views, custom events, redirects' hits (short_rdr events)
    ErasedTable("agreements", vid=("vid", "avid")),
    ErasedTable("agreed", vid=("vid", "avid")),
    ErasedTable("ltv", vid=("id",), uid=("id",), kind_column="id_type"),
    ErasedTable("payments", anonymise=("vid", "uid", "sid")),
    # The Go tables that tie a person to a hash, a host, interests or messages (a thread itself, mthreads, is not
    # a person's row; its messages in mstore/mtriage are).
    ErasedTable("usernames", uid=()),
    ErasedTable("emails", uid=()),
    ErasedTable("cells", uid=()),
    ErasedTable("userhosts"),
    ErasedTable("visitor_interests"),
    ErasedTable("mstore"),
    ErasedTable("mtriage"),
)


class BadErasure(ValueError):
    """The request names no person we can erase; the message says why."""


def parse_subject(text: str, kind: str = "any") -> tuple[str, str]:
    """`UUID`, `vid:UUID` or `uid:UUID` (or a bare UUID with `kind`) → (kind, canonical UUID)."""
    prefix, colon, rest = text.strip().partition(":")
    if colon and prefix.lower() in KINDS:
        kind, text = prefix.lower(), rest
    if kind not in KINDS:
        raise BadErasure(f'kind must be one of {", ".join(KINDS)}, not "{kind}"')
    try:
        subject = uuid.UUID(text.strip())
    except ValueError:
        raise BadErasure(f'"{text.strip()[:64]}" is not a UUID (a vid or a uid)') from None
    if subject.int == 0:
        raise BadErasure("the zero UUID is every anonymous row, not a person")
    return kind, str(subject)


def request(kind: str, subject: str, requested_by: str, now: datetime | None = None) -> dict[str, Any]:
    """The `erasures` row of one request."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "subject": subject,
        "requested_by": requested_by,
        "created_at": moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
    }


def audit_row(erasure: Mapping[str, Any], sink: str, counts: Mapping[str, int]) -> dict[str, Any]:
    """The `logs` row a sink writes once it has erased: the request's id, kind, who asked and when, the counts."""
    created = str(erasure.get("created_at") or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])
    total = sum(counts.values())
    return {
        "id": str(erasure["id"]),
        "ldate": created[:10],
        "created_at": created,
        "topic": AUDIT_TOPIC,
        "name": str(erasure.get("kind", "any")),
        "hostname": sink,
        "msg": f"erased {total} rows in {len([n for n in counts.values() if n])} tables",
        "params": {
            "requested_by": str(erasure.get("requested_by", "")),
            "erased_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "sink": sink,
            "counts": dict(counts),
        },
    }
