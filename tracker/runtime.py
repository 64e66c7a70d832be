"""The live parts of one tracker process: its spool writer, the shipper (in the one process that ships),
metrics, and the request-independent settings routes need. create_app() owns one and starts/stops it.

With several workers every worker writes its own spool directory and only the supervisor process runs the
shipper, so exactly one process opens each sink (DuckDB allows a single writer).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import orjson

from tracker import __version__
from tracker.config import Config
from tracker.consumers import Consumers
from tracker.events import row
from tracker.events.inputs import RequestInfo
from tracker.http.client_ip import TrustedProxies
from tracker.http.process import EventIntake, LinkControl
from tracker.metrics import Metrics
from tracker.pipeline.groupcommit import DURABLE
from tracker.pipeline.shipper import STATUS_FILE, Shipper, build_shipper
from tracker.pipeline.spool import MemorySpool, Spool
from tracker.privacy.rules import PrivacyRules
from tracker.privacy.storage import IPPolicy
from tracker.records import Record
from tracker.redirects.cache import LinkCache
from tracker.redirects.hosting import ControlHost
from tracker.redirects.rpc import ControlClient, socket_path

log = logging.getLogger("tracker.runtime")


class Runtime:
    def __init__(self, config: Config, *, worker_index: int = 0, run_shipper: bool = True) -> None:
        self.config = config
        self.worker_index = worker_index
        self.run_shipper = run_shipper
        self.trusted = TrustedProxies.parse(config.trusted_proxies)
        self.ip_policy = IPPolicy(config.stored_ip, config.prefix_private_hash)
        self.privacy = PrivacyRules.from_config(config, explain=worker_index == 0)
        self.url_filter = re.compile(config.url_filter) if config.url_filter else None
        self.metrics = Metrics(self.shipping_status)
        self.started = time.time()
        self.spool_root = Path(config.spool_directory)
        self.spool: Spool | MemorySpool | None = None
        self.shipper: Shipper | None = None
        self.control_host: ControlHost | None = None
        self.consumers: Consumers | None = None
        self._control: LinkControl | None = None
        self._client: ControlClient | None = None
        self.links = LinkCache(None)
        self._status_cache: tuple[float, dict[str, Any]] = (0.0, {})

    async def start(self) -> None:
        config = self.config
        memory: MemorySpool | None = None  # Durability "memory": no files; the shipper reads this one in place
        if config.durability == "memory":
            self.spool = memory = MemorySpool(max_bytes=config.max_spool_bytes)
        else:
            share = max(config.max_spool_bytes // config.workers, 1024 * 1024)
            directory = self.spool_root / f"worker-{self.worker_index}"
            self.spool = Spool(directory, durability=config.durability, max_bytes=share)
            self.spool.open()
        if self.run_shipper:
            self.shipper = build_shipper(config, memory)  # it follows a memory spool itself
            if memory is None:
                self.spool.subscribe(self.shipper.wakeup)
            await self.shipper.start()
            self.control_host = ControlHost(config, self.shipper, memory)
            await self.control_host.start()
            self._control = self.control_host.plane
            self.consumers = Consumers(config, memory, self.shipper.wakeup)
            await self.consumers.start()
        else:
            self._client = ControlClient(socket_path(config.spool_directory))
            self._control = self._client
        self.links = LinkCache(self._control)
        await self.links.start()

    async def stop(self) -> None:
        await self.links.stop()
        if self._client is not None:
            await self._client.aclose()
        if self.consumers is not None:
            await self.consumers.stop()
        if self.spool is not None:
            await self.spool.close()
        if self.control_host is not None:
            await self.control_host.stop()
        if self.shipper is not None:
            await self.shipper.stop()

    @property
    def control(self) -> LinkControl:
        assert self._control is not None, "runtime not started"
        return self._control

    @property
    def intake(self) -> EventIntake:
        return self

    def event_rows(self, info: RequestInfo, *, is_server: bool, injected_params: dict[str, Any]) -> row.EventRows:
        config = self.config
        return row.EventRows(
            info,
            self.ip_policy,
            is_server=is_server,
            url_filter=self.url_filter,
            url_filter_group=config.url_filter_match_group,
            private_prefix=config.prefix_private_hash,
            injected_params=injected_params,
            privacy=self.privacy,
        )

    def build_event(
        self, values: dict[str, Any], info: RequestInfo, *, is_server: bool, injected_params: dict[str, Any]
    ) -> tuple[dict[str, Any], row.Visitor]:
        return self.event_rows(info, is_server=is_server, injected_params=injected_params).build(values)

    def append(self, records: list[Record], family: str = "tracking") -> Awaitable[None]:
        """Write to the spool now (raises SpoolFull); the awaitable returns once the records are durable per
        `Durability` (raises SpoolUnavailable if the fsync fails) and counts them as accepted."""
        assert self.spool is not None, "runtime not started"
        commit = self.spool.write(records)
        tables = [record.table for record in records]
        if commit is None:
            self.metrics.accepted(tables)
            return DURABLE
        return self._accepted_once_durable(commit, tables)

    async def _accepted_once_durable(self, commit: Awaitable[None], tables: list[str]) -> None:
        await commit
        self.metrics.accepted(tables)

    def shipping_status(self) -> dict[str, Any]:
        """The shipper's status: live when it runs here, else the file it writes (cached for a second)."""
        spool = {
            **(self.spool.status() if self.spool is not None else {}),  # bytes, unshipped_bytes, max_bytes, full
            "durability": self.config.durability,
        }
        if self.shipper is not None:
            return {**self.shipper.status(), "spool": spool}
        now = time.monotonic()
        if now - self._status_cache[0] > 1.0:
            try:
                status = orjson.loads((self.spool_root / STATUS_FILE).read_bytes())
            except (OSError, orjson.JSONDecodeError):
                status = {"sinks": {}, "note": "shipper status not written yet"}
            self._status_cache = (now, status)
        return {**self._status_cache[1], "spool": spool}

    def status(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "uptime_seconds": round(time.time() - self.started, 3),
            "worker": self.worker_index,
            "workers": self.config.workers,
            **self.shipping_status(),
        }
