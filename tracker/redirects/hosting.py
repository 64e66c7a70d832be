"""Runs the control plane in the process that owns the sinks: its spool, the plane, and its socket server."""

from __future__ import annotations

from pathlib import Path

from tracker.config import Config
from tracker.pipeline.shipper import CONTROL_DIRECTORY, Shipper
from tracker.pipeline.spool import MemorySpool, Spool
from tracker.redirects.control import ControlPlane
from tracker.redirects.rpc import ControlServer, socket_path

OPEN_WAIT_SECONDS = 10.0


class ControlHost:
    def __init__(self, config: Config, shipper: Shipper, memory_spool: MemorySpool | None = None) -> None:
        root = Path(config.spool_directory)
        self.spool: Spool | MemorySpool
        if memory_spool is not None:
            self.spool = memory_spool
        else:
            self.spool = Spool(root / CONTROL_DIRECTORY, durability="fsync", max_bytes=64 * 1024 * 1024)
            self.spool.open()
            self.spool.subscribe(shipper.wakeup)
        self.plane = ControlPlane(config, shipper.sinks, self.spool, root / "control.key")
        self.server = ControlServer(self.plane, socket_path(config.spool_directory))
        self.shipper = shipper

    async def start(self) -> None:
        if self.plane.primary is not None:  # load links once it is open; a store still down is then worth a warning
            await self.shipper.wait_open(self.plane.primary, OPEN_WAIT_SECONDS)
        await self.plane.start()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        await self.plane.stop()
        await self.spool.close()
