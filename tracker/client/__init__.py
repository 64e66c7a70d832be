"""Clients of a tracker server: the acknowledged LZ4 event stream (/tr/{v}/ws)."""

from tracker.client.stream import ACK_SUBPROTOCOL, Batch, ClientStats, StreamClient, StreamError, with_eid

__all__ = ["ACK_SUBPROTOCOL", "Batch", "ClientStats", "StreamClient", "StreamError", "with_eid"]
