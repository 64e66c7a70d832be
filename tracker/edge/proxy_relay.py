"""The response leg of the reverse proxy: the upstream's answer relayed to the client as it arrives, and its
connection handed back to aiohttp's pool only when reusing it is safe: the request body went out whole and the
response was read whole. Otherwise the connection is closed, so no next request can land mid-exchange.

A short answer (Content-Length up to SHORT_BODY_BYTES) whose body lags its head is awaited whole and sent as
one message, as nginx's proxy_buffering does: no pump task, no disconnect watcher and, on Granian, no streamed
response for a few bytes that arrived a moment after the head. The client's departure is still watched
(ClientWatch), and an upstream that stalls or breaks before the end gets a 504 or 502 instead of a cut answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from starlette.types import Send

from tracker.edge.proxy_body import ClientWatch, RequestBody
from tracker.edge.proxy_headers import Headers, response_headers
from tracker.http.answers import send_json_error

log = logging.getLogger("tracker.edge.proxy")
SHORT_BODY_BYTES = 64 * 1024  # aiohttp's read buffer limit: it never pauses reading below this


async def relay(
    response: aiohttp.ClientResponse, send: Send, body: RequestBody, extra: Headers, target: str, watch: ClientWatch
) -> bool:
    headers = response_headers(response.raw_headers)
    if extra:
        present = {n for n, _ in headers}
        headers += [(n, v) for n, v in extra if n not in present]  # the upstream's own values win
    content = response.content
    try:
        if not content.is_eof() and 0 < (response.content_length or 0) <= SHORT_BODY_BYTES:
            try:
                await content.wait_eof()
            except (TimeoutError, aiohttp.ServerTimeoutError):
                await send_json_error(send, 504, "upstream timed out")
                return False
            except aiohttp.ClientError as error:
                log.warning("upstream response broke off", extra={"target": target, "error": repr(error)[:300]})
                await send_json_error(send, 502, "upstream failed")
                return False
        watch.disarm()  # from here on the relay watches the client itself
        if content.is_eof():  # the whole body is here already (small answers): no disconnect to watch for
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            await send({"type": "http.response.body", "body": content.read_nowait()})
            return True
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        pump = asyncio.ensure_future(_pump(content.iter_any(), send))
        gone = asyncio.ensure_future(body.until_disconnect())
        try:
            await asyncio.wait((pump, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when this task is cancelled (shutdown): neither helper may outlive it
            gone.cancel()
            if not pump.done():
                pump.cancel()
                response.close()  # the upstream sees its connection close and can stop producing
                await asyncio.gather(pump, return_exceptions=True)
        return not pump.cancelled() and pump.result() is None
    except (TimeoutError, aiohttp.ServerTimeoutError):
        log.warning("upstream response stalled", extra={"target": target})
        # after the head, the only honest signal left is to cut the response short
    except aiohttp.ClientError as error:
        log.warning("upstream response broke off", extra={"target": target, "error": repr(error)[:300]})
    finally:
        if body.sent_whole:
            response.release()  # aiohttp pools it only if the response was read whole, else closes it
        else:  # the upstream answered before taking the whole body: the connection is mid-request
            response.close()
    return False


async def _pump(chunks: AsyncIterator[bytes], send: Send) -> None:
    async for chunk in chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
