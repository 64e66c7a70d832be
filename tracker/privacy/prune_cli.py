"""`tracker --prune [--logs-only]`: every sink's retention rules and the logs' TTL, page by page, with a progress bar
on a terminal (tqdm, on stderr) and a summary table per sink and table at the end (stdout).

Stopping it (Ctrl-C, SIGTERM) ends the page under way and the run: each page is one statement or transaction, so
what is done stays done and `tracker --prune` again finishes the job. With PruneUpdateConfig the newest row pruned
is written back into the config file as PruneSkipToTimestamp.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from tqdm import tqdm

from tracker.config import Config
from tracker.privacy.prune_config import write_skip_to
from tracker.sinks.base import PruneOptions, PruneReport
from tracker.sinks.registry import build_sinks

COLUMNS = ("sink", "table", "scanned", "deleted", "scrubbed", "kept", "skipped")
INTERRUPTED = 130


class Bars:
    """One bar per sink and table, shown only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.enabled = stream, stream.isatty()
        self.sink = ""
        self._bar: tqdm[None] | None = None
        self._table = ""

    def update(self, table: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None or table != self._table:
            self.close()
            self._table = table
            columns, lines = self._size()
            self._bar = tqdm(
                total=total,
                desc=f"{self.sink} {table}",
                unit="rows",
                file=self.stream,
                leave=False,
                ncols=columns,
                nrows=lines,
            )
        self._bar.total = max(total, done)
        self._bar.n = done
        self._bar.refresh()

    def _size(self) -> tuple[int, int]:
        """The terminal's size; 80x24 where it says 0 (a terminal nobody sized), where tqdm would draw nothing."""
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except OSError:
            return 80, 24
        return size.columns or 80, size.lines or 24

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def options(config: Config, bars: Bars | None = None) -> PruneOptions:
    return PruneOptions(
        skip_to=config.prune_skip_to_timestamp,
        limit=config.prune_limit,
        logs_ttl_seconds=None if config.prune_logs_skip else config.prune_logs_ttl,
        logs_page_size=config.prune_logs_page_size,
        progress=bars.update if bars is not None else None,
    )


def summary(reports: Sequence[PruneReport]) -> str:
    rows: list[tuple[str, ...]] = [COLUMNS]
    for report in reports:
        for table, counts in sorted(report.counts.items()):
            values = (counts.scanned, counts.deleted, counts.scrubbed, counts.kept, counts.skipped)
            rows.append((report.sink, table, *(str(v) for v in values)))
        if not report.counts:
            rows.append((report.sink, "-", *("0" * 5)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    for report in reports:
        if report.limited:
            lines.append(f"{report.sink}: stopped at PruneLimit; run again to go on")
    return "\n".join(lines)


async def run(config: Config, logs_only: bool) -> int:
    settings = {s.sink_name: s for s in config.sinks}
    bars = Bars(sys.stderr)
    reports: list[PruneReport] = []
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        for sink in build_sinks(config):
            bars.sink = sink.name
            await sink.open()
            try:
                reports.append(await sink.prune(settings[sink.name].prune, logs_only, options(config, bars)))
            finally:
                bars.close()
                await sink.close()
    except (asyncio.CancelledError, KeyboardInterrupt):
        print(summary(reports), file=sys.stdout)
        print("prune stopped between pages: run tracker --prune again to finish", file=sys.stderr)
        return INTERRUPTED
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    print(summary(reports))
    newest = max((report.newest for report in reports), default=0)
    if config.prune_update_config and newest > config.prune_skip_to_timestamp:
        write_skip_to(config.source, newest)
        print(f"{config.source}: PruneSkipToTimestamp = {newest}")
    return 0
