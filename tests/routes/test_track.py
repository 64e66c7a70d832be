"""Tracking routes on a real Hypercorn server (loopback) with the memory sink: /tr/, /str/, /img/."""

from __future__ import annotations

import httpx
import orjson
import pytest

from tests.inprocess import InProcessServer
from tracker.events.ids import parse_uuid

VID = "14fb0860-b4bf-11e9-8971-7b80435315ac"
EID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def find(server: InProcessServer, **match: object) -> list[dict]:
    rows = server.rows("events")
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def test_preflight_answers_the_go_headers(client: httpx.Client) -> None:
    response = client.options("/tr/v1/tr/")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-max-age"] == "1728000"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_url_tuple_get_stores_the_event_and_issues_first_party_cookies(
    server: InProcessServer, client: httpx.Client
) -> None:
    response = client.get("/tr/v1/tr/ename/Tuple_Get/etyp/view", headers={"user-agent": "UA-1"})
    assert response.status_code == 200 and response.content == b""
    cookies = response.headers.get_list("set-cookie")
    vid_cookie = next(c for c in cookies if c.startswith("vid="))
    assert "SameSite=Lax" in vid_cookie and "Path=/" in vid_cookie and "Secure" not in vid_cookie
    sid_cookie = next(c for c in cookies if c.startswith("sid="))
    assert "HttpOnly" not in sid_cookie and "HttpOnly" not in vid_cookie  # the Go browser client reads both
    vid = vid_cookie.split(";")[0].split("=", 1)[1]
    [row] = find(server, ename="tuple_get")
    assert row["vid"] == vid and parse_uuid(row["eid"]) and row["etyp"] == "view"
    assert row["ua"] == "UA-1" and row["ip"] == "127.0.0.1" and row["iphash"]


def test_cookies_are_read_back_and_not_reissued(server: InProcessServer, client: httpx.Client) -> None:
    response = client.get("/tr/v1/tr/ename/returning", headers={"cookie": f"vid={VID}; sid={VID}"})
    assert not any(c.startswith("vid=") for c in response.headers.get_list("set-cookie"))
    [row] = find(server, ename="returning")
    assert row["vid"] == VID and row["sid"] == VID


def test_query_utm_and_igqp(server: InProcessServer, client: httpx.Client) -> None:
    client.get("/tr/v1/tr/ename/q1?utm_source=Google&page=2")
    client.get("/tr/v1/tr/ename/q2?utm_source=Google&page=2&igqp=1")
    [one] = find(server, ename="q1")
    [two] = find(server, ename="q2")
    assert one["source"] == "google" and one["params"] == {"page": 2}
    assert "source" not in two or two["source"] == ""
    assert two["params"] == {}


def test_post_json_object_array_and_form(server: InProcessServer, client: httpx.Client) -> None:
    assert client.post("/tr/v1/tr/", json={"ename": "posted", "vid": VID, "cflags": 1024}).status_code == 200
    batch = [{"ename": "batched", "params": {"n": i}} for i in range(3)]
    assert client.post("/tr/v1/tr/", content=orjson.dumps(batch)).status_code == 200
    form = client.post("/tr/v1/tr/", data={"ename": "formed", "utm_campaign": "Winter"})
    assert form.status_code == 200
    [posted] = find(server, ename="posted")
    assert posted["cflags"] == 1024 and posted["vid"] == VID
    assert sorted(r["params"]["n"] for r in find(server, ename="batched")) == [0, 1, 2]
    [formed] = find(server, ename="formed")
    assert formed["campaign"] == "winter"


def test_batch_with_bad_events_stores_the_good_ones_and_names_the_bad(
    server: InProcessServer, client: httpx.Client
) -> None:
    batch = [
        {"ename": "mixed_ok"},
        {"ename": "mixed_bad", "duration": "forever"},
        "not an object",
        {"ename": "mixed_ok"},
    ]
    response = client.post("/tr/v1/tr/", content=orjson.dumps(batch))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "duration"), (2, "body")]
    assert len(find(server, ename="mixed_ok")) == 2 and not find(server, ename="mixed_bad")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{nope", "body"),
        (b'"just a string"', "body"),
        (b'{"lat": 1}', "lon"),
        (b'{"params": "[1]"}', "params"),
        (orjson.dumps([{"duration": "x"}]), "duration"),
        (orjson.dumps([{"ver": "x"}, 5]), "body"),
    ],
)
def test_bad_input_gets_400_naming_the_field(client: httpx.Client, content: bytes, field: str) -> None:
    response = client.post("/tr/v1/tr/", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()["error"]


def test_limits_body_size_and_batch_length(client: httpx.Client) -> None:
    big = client.post("/tr/v1/tr/", content=b"[" + b"{}," * 40000 + b"{}]")
    assert big.status_code == 413 and big.json()["field"] == "body"
    many = client.post("/tr/v1/tr/", content=orjson.dumps([{}] * 51))
    assert many.status_code == 400 and "limit is 50" in many.json()["error"]


def test_server_side_event_answers_its_id_without_cookies(server: InProcessServer, client: httpx.Client) -> None:
    response = client.post("/tr/v1/str/", json={"eid": EID, "ename": "server_side"})
    assert response.status_code == 200 and response.json() == EID
    assert response.headers["content-type"] == "application/json"
    assert "set-cookie" not in response.headers
    [row] = find(server, eid=EID)
    assert row["ename"] == "server_side" and "ua" not in row


def test_pixel_is_a_gif_with_no_cache_even_for_bad_input(server: InProcessServer, client: httpx.Client) -> None:
    response = client.get("/tr/v1/img/ename/opened/x.gif")
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    assert len(response.content) == 35 and response.content.startswith(b"GIF89a")
    assert "no-store" in response.headers["cache-control"]
    assert any(c.startswith("vid=") for c in response.headers.get_list("set-cookie"))
    assert find(server, ename="opened")
    bad = client.post("/tr/v1/img/", content=b"{broken")
    assert bad.status_code == 200 and bad.content.startswith(b"GIF89a")


def test_origin_is_echoed_so_credentialed_requests_work(client: httpx.Client) -> None:
    response = client.get("/tr/v1/tr/ename/cors", headers={"origin": "https://shop.example"})
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["vary"] == "Origin"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server: InProcessServer, client: httpx.Client) -> None:
    client.get("/tr/v1/tr/ename/spoof", headers={"x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.6"})
    [row] = find(server, ename="spoof")
    assert row["ip"] == "127.0.0.1"


def test_head_and_delete_write_nothing(server: InProcessServer, client: httpx.Client) -> None:
    assert client.head("/tr/v1/tr/ename/headed").status_code == 200
    assert client.delete("/tr/v1/tr/ename/deleted").status_code == 200
    assert not find(server, ename="headed") and not find(server, ename="deleted")


DEEP = "[" * 300 + "]" * 300  # orjson reads it (1024 levels) but cannot write it (254)


@pytest.mark.parametrize(
    ("path", "field", "request_args"),
    [
        ("/tr/v1/tr/", "params", {"content": '{"params": {"a": ' + DEEP + "}}"}),
        ("/tr/v1/str/", "params", {"content": '{"ename": "x", "params": {"a": ' + DEEP + "}}"}),
        ("/tr/v1/tr/", "targets", {"content": '{"targets": {"a": ' + DEEP + "}}"}),
        ("/tr/v1/tr/ename/deep_query", "params", {"params": {"deep": DEEP}}),
        ("/tr/v1/tr/ename/deep_user", "params", {"headers": {"user": '{"params": {"a": ' + DEEP + "}}"}}),
    ],
)
def test_json_nested_deeper_than_storage_takes_is_a_400_naming_the_field(
    server: InProcessServer, client: httpx.Client, path: str, field: str, request_args: dict
) -> None:
    method = "POST" if "content" in request_args else "GET"
    response = client.request(method, path, **request_args)
    assert response.status_code == 400 and response.json()["field"] == field, response.text
    pixel = client.get("/tr/v1/img/ename/deep_pixel", params={"deep": DEEP})
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert client.get("/tr/v1/tr/ename/after_deep").status_code == 200
