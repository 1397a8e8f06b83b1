"""The guard against requests that would starve the agent or slip past its checks, through a real
uvicorn and raw sockets (httpx cannot send a repeated Host, an unknown transfer coding or a body
left unfinished): the token before the body, transfer codings, the body limits while streaming,
repeated headers, and `Cache-Control: no-store` on everything that may carry a scan."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from tests.helpers.api import GAP_ORIGIN, LiveFactory, RawClient, token_of
from tests.helpers.samples import VALID_PIPE

JSON = ("Content-Type", "application/json")


def bearer(server: object) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token_of(server.app)}")  # type: ignore[attr-defined]


# --- the token, Host and Origin before any byte of the body ----------------------------------


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [(None, "token_missing"), ("Bearer not-the-token-at-all", "token_invalid")],
)
def test_a_wrong_token_is_refused_before_the_body_is_read(
    live: LiveFactory, authorization: str | None, expected: str
):
    server = live()
    auth = [("Authorization", authorization)] if authorization else []
    # A chunked body of which only the first chunk is ever sent: answered at once, or never.
    with RawClient(server.port) as raw:
        raw.send_head("POST", "/v1/parse", [JSON, ("Transfer-Encoding", "chunked"), *auth])
        raw.send_chunk(b'{"payload": "' + b"A" * 1000)
        response = raw.read()
        assert response.status == 401
        assert response.code() == expected
        assert response.closed  # the rest of the body is never read
    # A Content-Length far above any limit, of which nothing is sent: 401, not 413.
    with RawClient(server.port) as raw:
        raw.send_head("POST", "/v1/decode", [JSON, ("Content-Length", str(10**12)), *auth])
        response = raw.read()
        assert response.status == 401
        assert response.code() == expected
        assert response.closed


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Host", "evil.example:8765")], "host_not_allowed"),
        ([("Origin", "https://evil.example")], "origin_not_allowed"),
    ],
)
def test_a_foreign_host_or_origin_is_refused_before_the_body_is_read(
    live: LiveFactory, headers: list[tuple[str, str]], expected: str
):
    server = live()
    with RawClient(server.port) as raw:
        chunked = ("Transfer-Encoding", "chunked")
        raw.send_head("POST", "/v1/parse", [JSON, chunked, bearer(server), *headers])
        raw.send_chunk(b'{"payload": "')
        response = raw.read()
        assert response.code() == expected
        assert response.closed


# --- transfer codings and the limits while streaming -----------------------------------------


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate,chunked", "x-custom, chunked"])
def test_transfer_codings_other_than_chunked_are_refused(live: LiveFactory, coding: str):
    server = live()
    with RawClient(server.port) as raw:
        raw.send_head("POST", "/v1/parse", [JSON, ("Transfer-Encoding", coding), bearer(server)])
        raw.send_chunk(b"\x1f\x8b" + b"\0" * 100)
        response = raw.read()
        assert response.status == 501
        assert response.code() == "unsupported_transfer_encoding"
        assert response.header("content-type") == "application/json"
        assert response.closed


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(live: LiveFactory):
    server = live(api={"max_body_bytes": 4096})
    with RawClient(server.port) as raw:
        raw.send_head("POST", "/v1/parse", [JSON, ("Transfer-Encoding", "chunked"), bearer(server)])
        raw.send_chunk(b'{"payload": "')
        for _ in range(3):
            raw.send_chunk(b"A" * 2048)
        # the body is not finished: the answer comes from the count, not from its end
        response = raw.read()
        assert response.status == 413
        assert response.code() == "payload_too_large"
        assert response.closed


def test_an_upload_over_its_limit_is_refused_while_it_streams(live: LiveFactory):
    server = live(api={"max_upload_bytes": 4096})
    boundary = "b0undary"
    kind = ("Content-Type", f"multipart/form-data; boundary={boundary}")
    with RawClient(server.port) as raw:
        raw.send_head(
            "POST", "/v1/decode", [kind, ("Transfer-Encoding", "chunked"), bearer(server)]
        )
        raw.send_chunk(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
        )
        for _ in range(4):
            raw.send_chunk(b"\x89PNG" + b"\0" * 2044)
        response = raw.read()
        assert response.status == 413
        assert response.code() == "payload_too_large"


def test_a_chunked_body_within_the_limit_is_served(live: LiveFactory):
    server = live()
    body = b'{"payload": "' + VALID_PIPE + b'"}'
    with RawClient(server.port) as raw:
        raw.send_head("POST", "/v1/parse", [JSON, ("Transfer-Encoding", "chunked"), bearer(server)])
        raw.send_chunk(body[:10])
        raw.send_chunk(body[10:])
        raw.send(b"0\r\n\r\n")
        response = raw.read()
        assert response.status == 200
        assert not response.closed


# --- repeated headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repeated",
    [
        [("Host", "127.0.0.1:{port}"), ("Host", "evil.example")],
        [("Host", "127.0.0.1:{port}"), ("Host", "127.0.0.1:{port}")],
        [("Origin", GAP_ORIGIN), ("Origin", "https://evil.example")],
        [("Origin", GAP_ORIGIN), ("Origin", GAP_ORIGIN)],
        [("Authorization", "{bearer}"), ("Authorization", "Bearer other")],
    ],
)
def test_a_repeated_host_origin_or_token_is_refused(
    live: LiveFactory, repeated: list[tuple[str, str]]
):
    server = live()
    token = bearer(server)[1]
    headers = [(n, v.format(port=server.port, bearer=token)) for n, v in repeated]
    if not any(n == "Authorization" for n, _ in headers):
        headers.append(bearer(server))
    for path in ("/v1/health", "/v1/scans"):
        with RawClient(server.port) as raw:
            raw.send_head("GET", path, headers)
            response = raw.read()
            assert response.status == 400
            assert response.code() == "repeated_header"
    once = dict(reversed(headers))  # the first of each
    once.setdefault("Authorization", token)
    with RawClient(server.port) as raw:  # the same headers once each are served
        raw.send_head("GET", "/v1/scans", list(once.items()))
        assert raw.read().status == 200


# --- Cache-Control ---------------------------------------------------------------------------

NO_STORE = [
    ("GET", "/v1/scans"),
    ("GET", "/v1/scans/latest"),
    ("GET", "/v1/scans/next?timeout=0"),
    ("GET", "/v1/scans/abc"),
    ("DELETE", "/v1/scans/abc"),
    ("DELETE", "/v1/scans"),
    ("POST", "/v1/parse"),
    ("POST", "/v1/attestations/validate"),
    ("POST", "/v1/decode"),
    ("GET", "/v1/devices"),
    ("GET", "/v1/health"),
    ("GET", "/metrics"),
    ("GET", "/v1/nowhere"),
]


@pytest.mark.parametrize(("method", "url"), NO_STORE)
def test_answers_that_may_carry_scans_are_never_stored(client: TestClient, method: str, url: str):
    body = {"payload": VALID_PIPE.decode()} if url == "/v1/parse" else None
    response = client.request(method, url, json=body)
    assert response.headers.get_list("cache-control") == ["no-store"]
    anon = client.request(method, url, json=body, headers={"Authorization": "Bearer wrong"})
    if url not in ("/v1/health", "/v1/nowhere"):
        assert anon.status_code == 401
    assert anon.headers.get_list("cache-control") == ["no-store"]


def test_a_stored_scan_read_back_is_never_stored(client: TestClient):
    parsed = client.post("/v1/parse", json={"payload": VALID_PIPE.decode()})
    assert parsed.status_code == 200
    assert parsed.headers["cache-control"] == "no-store"


def test_the_operator_page_keeps_its_own_caching(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"


def test_the_event_stream_is_never_stored(live: LiveFactory):
    server = live()

    async def opened() -> list[str]:
        async with server.client(timeout=15) as client, client.stream("GET", "/v1/events") as r:
            assert r.status_code == 200
            return r.headers.get_list("cache-control")

    assert asyncio.run(opened()) == ["no-store"]
