"""Slow and idle clients, through a real uvicorn configured as `serve` does and raw sockets:
the deadline of a whole request, the cap on connections that evicts idle ones first, and
uvicorn's own refusals in the API's JSON error format."""

from __future__ import annotations

import socket

import pytest

from scanner_agent.parse_context import ParseContext
from tests.helpers.api import (
    LiveFactory,
    LiveServer,
    RawClient,
    make_scan,
    publish,
    token_of,
    wait_until,
)

FAST = {"request_timeout_s": 1}
PATIENT = {"request_timeout_s": 600}  # no deadline falls within the test, however slow the machine


def bearer(server: LiveServer) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token_of(server.app)}")


def open_connections(server: LiveServer) -> int:
    return len(server.server.server_state.connections)


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_a_head_sent_too_slowly_gets_408_and_is_closed(live: LiveFactory):
    server = live(api=FAST)
    with RawClient(server.port) as raw:
        raw.send(f"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
        response = raw.read()  # the head is never finished: only the deadline answers
        assert response.status == 408
        assert response.code() == "request_timeout"
        assert response.header("content-type") == "application/json"
        assert response.closed


def test_a_body_sent_too_slowly_gets_408_and_is_closed(live: LiveFactory):
    server = live(api=FAST)
    with RawClient(server.port) as raw:
        headers = [("Content-Type", "application/json"), ("Content-Length", "100"), bearer(server)]
        raw.send_head("POST", "/v1/parse", headers)
        raw.send(b'{"payload": "')
        response = raw.read()
        assert response.status == 408
        assert response.code() == "request_timeout"
        assert response.closed


def test_a_connection_that_sends_nothing_is_closed(live: LiveFactory):
    server = live(api=FAST)
    with RawClient(server.port) as raw:
        assert closed_by_server(raw.sock)


def test_a_kept_connection_is_served_again_then_bound_again(live: LiveFactory):
    server = live(api={"request_timeout_s": 3})  # each tiny request arrives well within it
    with RawClient(server.port) as raw:
        for _ in range(2):
            raw.send_head("GET", "/v1/health", [])
            assert raw.read().status == 200
        raw.send(b"GET /v1/health HTTP/1.1\r\n")  # the next one, begun and never finished
        assert raw.read().code() == "request_timeout"


UNPARSABLE = [
    "GET /v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    "NOT HTTP AT ALL\r\n\r\n",
]


@pytest.mark.parametrize("head", UNPARSABLE)
def test_requests_uvicorn_cannot_parse_get_a_json_error(live: LiveFactory, head: str):
    server = live()
    with RawClient(server.port) as raw:
        raw.send(head.encode())
        response = raw.read()
        assert response.status == 400
        assert response.code() == "bad_request"
        assert response.header("content-type") == "application/json"


def test_idle_connections_make_way_for_the_token_holder_and_health(live: LiveFactory):
    server = live(api={"max_connections": 4, **PATIENT})
    idle = [RawClient(server.port) for _ in range(4)]
    try:
        idle[1].send(b"GET /v1/health HTTP/1.1\r\n")  # a slowloris: a head never finished
        wait_until(lambda: open_connections(server) == 4)
        with RawClient(server.port) as holder:
            holder.send_head("GET", "/v1/scans", [bearer(server)])
            assert holder.read().status == 200
        assert closed_by_server(idle[0].sock)  # the oldest idle one made way
        wait_until(lambda: open_connections(server) == 3)  # the holder gone too
        idle.append(RawClient(server.port))
        wait_until(lambda: open_connections(server) == 4)
        with RawClient(server.port) as raw:
            raw.send_head("GET", "/v1/health", [])
            assert raw.read().status == 200
        assert closed_by_server(idle[1].sock)  # then the next oldest, the slowloris
        assert open_connections(server) <= 4
    finally:
        for client in idle:
            client.__exit__()


def answering(server: LiveServer) -> int:
    return sum(1 for c in server.server.server_state.connections if c.answering)


def test_beyond_the_cap_with_every_connection_answered_a_new_one_gets_503(
    live: LiveFactory, context: ParseContext
):
    server = live(api={"max_connections": 2, **PATIENT})
    waiting = [RawClient(server.port) for _ in range(2)]
    try:
        for client in waiting:  # long polls: received whole, being answered
            client.send_head("GET", "/v1/scans/next?timeout=30", [bearer(server)])
        wait_until(lambda: answering(server) == 2)
        with RawClient(server.port) as raw:
            response = raw.read()
            assert response.status == 503
            assert response.code() == "too_busy"
            assert response.closed
        publish(server.app, make_scan(context))  # the long polls are answered as ever
        for client in waiting:
            assert client.read().status == 200
    finally:
        for client in waiting:
            client.__exit__()
