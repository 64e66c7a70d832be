"""The tracking answers built from pre-encoded headers send exactly what Starlette's Response sends."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from tracker.http.answers import PIXEL, PIXEL_HEADERS, empty, pixel

CORS = [
    {},
    {"access-control-allow-origin": "*"},
    {"access-control-allow-origin": "https://a.example", "access-control-allow-credentials": "true", "vary": "Origin"},
    {"cache-control": "max-age=5"},  # overrides a pixel header: Starlette's path
]


@pytest.mark.parametrize("headers", CORS)
def test_the_pixel_sends_what_starlette_would(headers: dict[str, str]) -> None:
    expected = Response(PIXEL, media_type="image/gif", headers={**PIXEL_HEADERS, **headers})
    answer = pixel(headers)
    assert (answer.status_code, answer.body, answer.raw_headers) == (200, PIXEL, expected.raw_headers)


@pytest.mark.parametrize("headers", [h for h in CORS if h])
def test_the_empty_answer_sends_what_starlette_would(headers: dict[str, str]) -> None:
    expected = Response(status_code=200, headers=headers)
    answer = empty(headers)
    assert (answer.status_code, answer.body, answer.raw_headers) == (200, b"", expected.raw_headers)


def test_set_cookie_headers_can_be_added_to_an_encoded_answer() -> None:
    answer = empty({"access-control-allow-origin": "*"})
    answer.raw_headers.append((b"set-cookie", b"sid=1"))
    assert answer.headers.getlist("set-cookie") == ["sid=1"]
    assert empty({"access-control-allow-origin": "*"}).headers.getlist("set-cookie") == []  # nothing shared
