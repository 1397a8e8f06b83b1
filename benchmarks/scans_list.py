"""Benchmark of `GET /v1/scans?limit=100` over a database of N stored scans.

    .venv/bin/python benchmarks/scans_list.py [--scans 1000 10000] [--requests 3000]
    /work/main/.venv/bin/python benchmarks/scans_list.py --root /work/main   # another tree

For each N: fills a throwaway SQLite database (the default `encrypted` member numbers) with N
scans through the tree's own `Store`, starts the real app of that tree under uvicorn (one
worker, httptools and uvloop as `serve` runs) in a child process, and measures from this
process, with `--connections` keep-alive connections and a bounded number of requests:

- the first page, `GET /v1/scans?limit=100`;
- a deep page: the page in the middle of the scans, the 50th at most (at 10,000 scans: scans
  4,901 to 5,000, newest first), reached through the cursors of the `X-Next-Cursor` headers (a
  tree without a cursor reports it as not available);
- every page in turn, first to last, through their cursors: at 10,000 scans (100 pages) more
  pages than the store keeps (64) and more rows than it keeps served (4,096), so that every
  request is a query, its rows rendered and their member numbers decrypted: the cost of a page
  read right after a scan was written or erased, when nothing read before can serve it; at
  1,000 scans (10 pages) they are kept after the first round, as a polled page is;
- `GET /v1/health`, as a reference for what the HTTP stack alone costs on the machine at the
  moment (the machine may be shared: compare rows of the same run).

It prints requests/s and the p50 and p99 latency of each. The load generator speaks HTTP/1.1
over raw asyncio streams (an HTTP client library would be slower than the server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PAYLOAD = (
    b"]d1AMCTP01\x1dAMC:0775627391\x1dTC:MU\x1dCSR:\x1dADH:12345678\x1dDD:20260101\x1dDF:20261231"
)
TOKEN = "benchmark-token-0123456789abcdef"
DEEP_PAGE = 50


def _settings(data_dir: str, port: int = 8765) -> object:
    from scanner_agent.config import load_settings  # noqa: PLC0415

    return load_settings(env={}, overrides={"agent": {"data_dir": data_dir}, "api": {"port": port}})


def fill(data_dir: str, count: int) -> None:
    """`count` scans in the database, received over the last hours (within the retention)."""
    try:
        from scanner_agent.parse_context import ParseContext  # noqa: PLC0415
    except ImportError:  # a tree from before the module was named so
        from scanner_agent.runtime import ParseContext  # type: ignore[import-not-found,no-redef] # noqa: PLC0415
    from scanner_agent.scan import Scan  # noqa: PLC0415
    from scanner_agent.storage import Store, Stored  # noqa: PLC0415

    settings = _settings(data_dir)
    context = ParseContext.from_settings(settings)  # type: ignore[arg-type]
    attestation = context.parse(PAYLOAD, date(2026, 3, 1))
    store = Store.from_settings(settings)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    items = [
        Stored(
            1,
            i + 1,
            Scan(
                received_at=now - timedelta(hours=12) + timedelta(seconds=i * 2),
                device_id=("desk", "kiosk", "upload")[i % 3],
                source="serial",
                symbology="]d1",
                attestation=attestation,
            ),
        )
        for i in range(count)
    ]
    for start in range(0, count, 1000):
        store.add(items[start : start + 1000])
    store.close()


def serve(port: int, data_dir: str) -> None:
    import uvicorn  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415

    app = create_app(_settings(data_dir, port))  # type: ignore[arg-type]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, workers=1)  # fmt: skip
    uvicorn.Server(config).run()


class Server:
    def __init__(self, root: Path, data_dir: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "SCANNER_AGENT_TOKEN": TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--root", str(root), "--serve", str(self.port), data_dir],
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0][9:12])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


def _get(port: int, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    ).encode()


async def every_page(port: int) -> list[str]:
    """The path of every page, first to last, through the cursors ([] without cursors)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    path: str | None = "/v1/scans?limit=100"
    paths: list[str] = []
    try:
        while path is not None:
            paths.append(path)
            status, headers, _ = await _request(reader, writer, _get(port, path))
            cursor = headers.get(b"x-next-cursor")
            if status != 200 or cursor is None:
                return paths if len(paths) > 1 else []
            path = f"/v1/scans?limit=100&cursor={cursor.decode()}"
    finally:
        writer.close()
    return paths


async def hammer(
    port: int, path: str | list[str], total: int, conns: int
) -> tuple[float, list[float]]:
    """`total` requests of `path` (or of each path of a list in turn) over `conns` connections."""
    requests = [_get(port, p) for p in ([path] if isinstance(path, str) else path)]
    latencies: list[float] = []
    remaining = total

    async def one() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while remaining > 0:
            remaining -= 1
            request = requests[remaining % len(requests)]
            start = time.perf_counter()
            status, _, body = await _request(reader, writer, request)
            latencies.append(time.perf_counter() - start)
            if status != 200 or not body.startswith((b"[{", b'{"status"')):
                raise RuntimeError(f"{path}: status {status}")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(conns)))
    return total / (time.perf_counter() - started), latencies


def _ms(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def measure(root: Path, count: int, requests: int, conns: int) -> None:
    data = tempfile.mkdtemp(prefix="scanner-agent-bench-list-")
    fill(data, count)
    server = Server(root, data)
    try:
        first = "/v1/scans?limit=100"
        page = max(2, min(DEEP_PAGE, count // 200))  # the middle of the scans, at most the 50th
        pages = await every_page(server.port)
        deep = pages[page - 1] if len(pages) >= page else None
        cases: list[tuple[str, str | list[str] | None]] = [
            ("first page", first),
            (f"page {page} (cursor)", deep),
            # every page in turn: more pages than the store keeps, so each read is a query
            (f"all {len(pages)} pages in turn" if pages else "every page in turn", pages or None),
            ("/v1/health (reference)", "/v1/health"),
        ]
        for label, path in cases:
            if not path:
                print(f"  {count:>6} scans  {label:22}  not available (no cursor)")
                continue
            await hammer(server.port, path, max(100, requests // 10), conns)  # warm-up
            rate, latencies = await hammer(server.port, path, requests, conns)
            p50 = statistics.median(latencies) * 1000
            print(
                f"  {count:>6} scans  {label:22} {rate:8.0f} req/s   p50 {p50:6.2f} ms   "
                f"p99 {_ms(latencies, 0.99):6.2f} ms"
            )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"))
    parser.add_argument("--scans", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root))
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.machine(),
    )  # fmt: skip
    print(
        f"tree {args.root}; {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"GET /v1/scans?limit=100, one uvicorn worker, {args.connections} connections, "
        f"{args.requests} requests each"
    )
    for count in args.scans:
        asyncio.run(measure(args.root, count, args.requests, args.connections))


if __name__ == "__main__":
    main()
