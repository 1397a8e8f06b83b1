"""API benchmark: requests/s of GET /v1/scans/latest, and bus-to-client latency of scans.

    .venv/bin/python benchmarks/api.py [--seconds 5] [--connections 16] [--scans 200]

Starts the real app under uvicorn (one worker) in a child process with a throwaway data folder,
then measures from this process:

1. requests/s with the token for `GET /v1/scans/latest` (served from memory), side by side with
   `GET /v1/scans?limit=1` (a database read) and `GET /v1/health` (no token, no data);
2. the time from a scan published on the bus to its arrival at each client, at 1 and at 50
   connected clients, for server-sent events (`/v1/events`) side by side with long-polling
   (`/v1/scans/next`), median and p99. The server stamps each scan with the wall clock when it
   publishes it (`received_at`); clients on this machine read the same clock.

The load generator speaks HTTP/1.1 keep-alive over raw asyncio streams: an HTTP client library
would be slower than the server and measure itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from scanner_agent.agent import Agent  # noqa: E402
from scanner_agent.config import load_settings  # noqa: E402
from scanner_agent.scan import Scan  # noqa: E402

PAYLOAD = (
    b"]d1AMCTP01\x1dAMC:0775627391\x1dTC:MU\x1dCSR:\x1dADH:12345678\x1dDD:20260101\x1dDF:20261231"
)


# --- the server (child process) -------------------------------------------------------------


def serve(port: int, data_dir: str, http: str) -> None:
    """Run the app; read `publish N INTERVAL_S` commands on stdin."""
    settings = load_settings(
        env={}, overrides={"agent": {"data_dir": data_dir}, "api": {"port": port}}
    )
    agent = Agent(settings)
    app = create_app(settings, agent)
    attestation = agent.context.parse(PAYLOAD, date(2026, 3, 1))

    def publish(count: int, interval: float) -> None:
        for _ in range(count):
            scan = Scan(
                received_at=datetime.now(UTC),
                device_id="bench",
                source="demo",
                symbology="]d1",
                attestation=attestation,
            )
            agent.scans.record(scan)  # kept, stored, then published, as the pipeline does
            time.sleep(interval)
        print("done", flush=True)

    def commands() -> None:
        for line in sys.stdin:
            words = line.split()
            if words and words[0] == "publish":
                publish(int(words[1]), float(words[2]))
            elif words and words[0] == "clients":
                print(app.state.api.hub.clients, flush=True)

    threading.Thread(target=commands, daemon=True).start()
    loop = "asyncio" if http == "h11" else "auto"
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http=http,  # type: ignore[arg-type]
        loop=loop,
    )
    uvicorn.Server(config).run()


class Server:
    def __init__(self, http: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.data = tempfile.mkdtemp(prefix="scanner-agent-bench-")
        env = {**os.environ, "SCANNER_AGENT_TOKEN": "benchmark-token-0123456789abcdef"}
        self.token = env["SCANNER_AGENT_TOKEN"]
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port), self.data, http],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def command(self, line: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# --- requests per second --------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def hammer(port: int, path: str, token: str | None, seconds: float, conns: int) -> float:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n").encode()
    done = 0
    bad = 0
    stop_at = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal done, bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            writer.write(request)
            status = await _read_response(reader)
            done += 1
            bad += status != 200
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(conns)))
    if bad:
        raise RuntimeError(f"{bad} answers were not 200 for {path}")
    return done / (time.perf_counter() - started)


# --- latency --------------------------------------------------------------------------------


def _latency_ms(data: bytes) -> float:
    received = datetime.fromisoformat(json.loads(data)["received_at"])
    return (time.time() - received.timestamp()) * 1000


async def sse_client(
    port: int, token: str, samples: list[float], ready: asyncio.Event, expected: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    got = 0
    while got < expected:
        line = await reader.readline()  # chunked encoding: size lines and data lines
        if line.startswith(b"data: "):
            samples.append(_latency_ms(line[6:]))
            got += 1
    writer.close()


async def longpoll_client(port: int, token: str, samples: list[float], stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET /v1/scans/next?timeout=10 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    while not stop.is_set():
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(h.split(b":")[1])
                for h in head.split(b"\r\n")
                if h.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = await reader.readexactly(length)
        if head[9:12] == b"200":
            samples.append(_latency_ms(body))
    writer.close()


async def measure_sse(server: Server, clients: int, scans: int, interval: float) -> list[float]:
    samples: list[float] = []
    ready = asyncio.Event()
    tasks = [
        asyncio.create_task(sse_client(server.port, server.token, samples, ready, scans))
        for _ in range(clients)
    ]
    while int(await asyncio.to_thread(server.command, "clients")) < clients:
        await asyncio.sleep(0.1)
    await asyncio.to_thread(server.command, f"publish {scans} {interval}")
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return samples


async def measure_longpoll(
    server: Server, clients: int, scans: int, interval: float
) -> list[float]:
    samples: list[float] = []
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(longpoll_client(server.port, server.token, samples, stop))
        for _ in range(clients)
    ]
    await asyncio.sleep(1)  # every client waiting
    await asyncio.to_thread(server.command, f"publish {scans} {interval}")
    stop.set()
    await asyncio.sleep(0.2)
    await asyncio.to_thread(server.command, "publish 1 0")  # releases the last waiters
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    return samples


def summary(samples: list[float], expected: int) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered):6.2f} ms, p99 {p99:6.2f} ms, "
        f"{len(ordered)}/{expected} scans received"
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; uvicorn http={args.http}"
    )
    server = Server(args.http)
    try:
        server.command("publish 1 0")  # one scan for /latest
        print(
            f"\nrequests/s, one uvicorn worker, {args.connections} keep-alive connections, "
            f"{args.seconds:g} s each"
        )
        for label, path, token in (
            ("GET /v1/scans/latest (memory)", "/v1/scans/latest", server.token),
            ("GET /v1/scans?limit=1 (database)", "/v1/scans?limit=1", server.token),
            ("GET /v1/health (no token)", "/v1/health", None),
        ):
            await hammer(server.port, path, token, 1, args.connections)  # warm-up
            rate = await hammer(server.port, path, token, args.seconds, args.connections)
            print(f"  {label:34} {rate:8.0f} req/s")
        print(f"\nbus -> client latency, {args.scans} scans {args.interval * 1000:g} ms apart")
        for clients in (1, 50):
            sse = await measure_sse(server, clients, args.scans, args.interval)
            print(f"  SSE        {clients:2d} client(s): {summary(sse, clients * args.scans)}")
            poll = await measure_longpoll(server, clients, args.scans, args.interval)
            print(f"  long-poll  {clients:2d} client(s): {summary(poll, clients * args.scans)}")
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument(
        "--http",
        default="auto",
        choices=["auto", "h11", "httptools"],
        help="uvicorn's HTTP parser: auto (httptools and uvloop when installed, as `serve` "
        "runs) or h11 with the asyncio loop (pure Python)",
    )
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between scans")
    asyncio.run(main(parser.parse_args()))
