"""Moved to tracker.http (body, request_info, context); kept while branches that import it here are merged."""

from __future__ import annotations

from starlette.requests import Request

from tracker.events.inputs import RequestInfo
from tracker.http import request_info as _info
from tracker.http.body import DRAIN_BYTES, BodyTooLarge, read_body
from tracker.http.client_ip import TrustedProxies
from tracker.http.context import context

__all__ = ["DRAIN_BYTES", "BodyTooLarge", "peer_address", "read_body", "request_info"]


def peer_address(request: Request, trusted: TrustedProxies | None = None) -> str:
    return context(request.scope).client_ip


def request_info(request: Request, trusted: TrustedProxies | None = None) -> RequestInfo:
    return _info.request_info(request)
