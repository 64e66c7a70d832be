"""The typed handles through which a handler reaches its process: the event intake (build a row, append
records to the spool) and the short-link control (the control plane in the process that owns the sinks, or
its client in a worker). `process(request)` is the one accessor."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from starlette.requests import HTTPConnection

from tracker.config import Config
from tracker.events.inputs import RequestInfo
from tracker.events.row import EventRows, Visitor
from tracker.metrics import Metrics
from tracker.privacy.rules import PrivacyRules
from tracker.records import Record
from tracker.redirects.cache import LinkCache
from tracker.sinks.base import Rows


class EventIntake(Protocol):
    privacy: PrivacyRules  # consent and GeoIP rules, for the rows derived from an event

    def event_rows(self, info: RequestInfo, *, is_server: bool, injected_params: dict[str, Any]) -> EventRows: ...

    def build_event(
        self, values: dict[str, Any], info: RequestInfo, *, is_server: bool, injected_params: dict[str, Any]
    ) -> tuple[dict[str, Any], Visitor]: ...

    def append(self, records: list[Record], family: str = "tracking") -> Awaitable[None]:
        """Writes the records into the spool now (raises SpoolFull, SpoolUnavailable: nothing was kept). The
        answer waits for the awaitable, which returns once they are durable per `Durability` (raises
        SpoolUnavailable if the fsync fails). Drop the records before awaiting it: under load, rows kept alive
        through the group commit fill the garbage collector's generations."""


class LinkControl(Protocol):
    """What routes ask of short links and accounts; ControlError subclasses carry the HTTP status."""

    async def list(self, host: str = "", offset: int = 0, limit: int = 100, query: str = "") -> dict[str, Any]: ...
    async def get(self, key: str) -> dict[str, Any]: ...
    async def stats(self, key: str) -> dict[str, Any]: ...
    async def claim_visit(self, key: str) -> bool: ...
    async def agreements(self, vid: str) -> Rows: ...
    async def jurisdictions(self) -> Rows: ...
    async def save(
        self, fields: Mapping[str, Any], uid: str, key: str | None = None, mode: str = "upsert"
    ) -> dict[str, Any]: ...
    async def delete(self, key: str, uid: str) -> dict[str, Any]: ...
    async def authenticate(self, uid: str, password: str, token: str, client: str) -> str: ...
    async def login(self, uid: str, password: str, client: str) -> dict[str, Any]: ...


class Process(Protocol):
    """One tracker process as its handlers see it."""

    @property
    def config(self) -> Config: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def intake(self) -> EventIntake: ...
    @property
    def control(self) -> LinkControl: ...
    @property
    def links(self) -> LinkCache: ...
    @property
    def started(self) -> float: ...
    @property
    def privacy(self) -> PrivacyRules: ...

    def status(self) -> dict[str, Any]: ...
    def shipping_status(self) -> dict[str, Any]: ...


def process(connection: HTTPConnection) -> Process:
    found: Process = connection.scope["app"].runtime  # tracker.app.TrackerApp
    return found
