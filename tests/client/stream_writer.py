"""A client process for the kill-the-client test: streams batches until it is killed, journaling what it sent
(before sending) and what the server acknowledged, as an app that must resend after a crash would.

python -m tests.client.stream_writer URL JOURNAL_DIR
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import orjson

from tracker.client import Batch, StreamClient

BATCH = 100


def batch_events(index: int, eids: list[str]) -> list[dict[str, object]]:
    return [{"eid": eid, "ename": "crash-test", "params": {"batch": index}} for eid in eids]


async def main(url: str, journal: Path) -> None:
    sent = (journal / "sent.jsonl").open("ab", buffering=0)
    acked = (journal / "acked.txt").open("ab", buffering=0)

    async def record_ack(index: int, batch: Batch) -> None:
        await batch.acked.wait()
        acked.write(f"{index}\n".encode())

    waiting: set[asyncio.Task[None]] = set()
    async with StreamClient(url, max_in_flight=8) as client:
        index = 0
        while True:
            eids = [str(uuid.uuid1()) for _ in range(BATCH)]
            sent.write(orjson.dumps({"batch": index, "eids": eids}) + b"\n")
            batch = await client.send_batch(batch_events(index, eids))
            task = asyncio.get_running_loop().create_task(record_ack(index, batch))
            waiting.add(task)
            task.add_done_callback(waiting.discard)
            index += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
