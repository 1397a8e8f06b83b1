"""Helpers of the API and storage tests: constants, the token, scans to publish, a real uvicorn
in a thread and a reader of its event stream. The fixtures that use them are in
`tests/api_tests/conftest.py`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.server import server_config
from scanner_agent.config import Settings
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from scanner_agent.storage import MemberProtector, Store, read_or_create_secret
from tests.helpers.devices import wait_until
from tests.helpers.samples import TODAY, VALID_AIM, VALID_PIPE

GS = "\x1d"
VALID = VALID_AIM.decode("ascii")
"""`samples.VALID_AIM` as text (what the API's JSON bodies carry)."""
OTHER = VALID_PIPE.decode("ascii")
GAP_ORIGIN = "https://gap.hopital.example"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"

SettingsFactory = Callable[..., Settings]


def encrypted_store(url: str, tmp_path: Path) -> Store:
    """A store at `url` whose member numbers are encrypted (the default) with a key in
    `tmp_path`."""
    return Store(url, MemberProtector("encrypted", read_or_create_secret(tmp_path / "k")))


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Until the agent process `proc` answers `GET {url}/v1/health` with 200; fails with its
    log when it exits first or at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the agent did not start:\n{log.read_text()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token_of(app: FastAPI) -> str:
    value: str = app.state.api.token.value
    return value


def auth(app: FastAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(app)}"}


def make_scan(
    context: ParseContext,
    payload: str = VALID,
    device: str = "desk",
    received_at: datetime | None = None,
) -> Scan:
    return Scan(
        received_at=received_at or datetime.now(UTC),
        device_id=device,
        source="serial",
        symbology="]d1" if payload.startswith("]d1") else None,
        attestation=context.parse(payload.encode(), TODAY),
    )


def publish(app: FastAPI, scan: Scan) -> int:
    """Record `scan` as the pipeline does (stored, then published); its bus sequence number."""
    return int(app.state.api.agent.scans.record(scan).seq)


def wait_stored(app: FastAPI, count: int) -> None:
    def written() -> bool:
        status = app.state.api.agent.scans.storage()
        return bool(status.written >= count and status.pending == 0)

    wait_until(written)


class LiveServer:
    """A real uvicorn serving `app` on a free port, in a thread, configured as `serve` does
    (`api.server.server_config`: its protocol and limits)."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = server_config(
            app,
            app.state.api.settings,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=auth(self.app), **kwargs)


LiveFactory = Callable[..., LiveServer]


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


class EventReader:
    """Reads `text/event-stream` into dicts of fields (`id`, `event`, `data`)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def opened(self) -> None:
        """Until the server's `retry:` line: from then on, nothing published is missed."""
        async with asyncio.timeout(10):
            async for line in self.lines:
                if line.startswith("retry:"):
                    return

    async def next(self, n: int = 1) -> list[dict[str, str]]:
        events: list[dict[str, str]] = []
        current: dict[str, str] = {}
        async with asyncio.timeout(10):
            async for line in self.lines:
                if not line:
                    if "event" in current:
                        events.append(current)
                        if len(events) == n:
                            return events
                    current = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    current[name] = value.removeprefix(" ")
        return events


class RawResponse:
    """One HTTP/1.1 answer read off a raw socket: status, lower-case headers (every value of a
    repeated one), body, and whether the server closed the connection after it."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, closed: bool):
        self.status = status
        self.headers = headers
        self.body = body
        self.closed = closed

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n == name.lower()]
        assert len(values) <= 1, f"{name} given {len(values)} times"
        return values[0] if values else None

    def code(self) -> str:
        value: str = json.loads(self.body)["error"]["code"]
        return value


class RawClient:
    """A raw socket to a live server, to send what httpx cannot (repeated Host headers, unknown
    transfer codings, bodies left unfinished). `read()` fails after `timeout` seconds without
    an answer: a bound on a failure, never a measure."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.port = port

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send_head(self, method: str, path: str, headers: list[tuple[str, str]]) -> None:
        """The request line and `headers` (a `Host` is added unless given)."""
        if not any(name.lower() == "host" for name, _ in headers):
            headers = [("Host", f"127.0.0.1:{self.port}"), *headers]
        lines = [f"{method} {path} HTTP/1.1", *(f"{n}: {v}" for n, v in headers), "", ""]
        self.sock.sendall("\r\n".join(lines).encode("latin-1"))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_chunk(self, data: bytes) -> None:
        self.sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def read(self) -> RawResponse:
        """One answer (with a Content-Length, as every JSON answer has), then whether the server
        closed the connection (what follows the answer: end of stream, or the read times out on
        a kept connection)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, f"the server closed without an answer: {data[:200]!r}"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = [
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines)
        ]
        length = int(next(v for n, v in headers if n == "content-length"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            assert chunk, "the server closed in the middle of its answer"
            rest += chunk
        closed = any(n == "connection" and v.lower() == "close" for n, v in headers)
        if closed:
            assert rest[length:] == b""
            # closed with unread data of ours in its buffer, it resets: closed all the same
            with contextlib.suppress(ConnectionResetError):
                assert self.sock.recv(65536) == b"", "data after an answer that closes"
        return RawResponse(int(status_line.split()[1]), headers, rest[:length], closed)
