"""The Windows tests: run by a Windows CPython under Wine (`make test-windows`, which runs
`tests/windows/wine_env.py`), never by the Linux pytest run (`tests/conftest.py` leaves this
folder out there).

`windows_agent` starts the whole agent (`scanner_agent.cli.main`, `serve`) in a child process of
this Windows Python, on a free port, with a token and a data folder of the test's own, and stops
it at the end of the test.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if sys.platform != "win32":
    # pytest on Linux given this folder by name: there is nothing it can run here
    collect_ignore_glob = ["*.py"]
else:
    # pytest's output goes to a Windows file read as UTF-8 on the Linux side
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")  # type: ignore[union-attr]

START_TIMEOUT_S = 120.0
"""Under Wine on a loaded 2-core machine the agent takes a few seconds to answer."""
START_AGENT = "from scanner_agent.cli import main; raise SystemExit(main())"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WindowsAgent:
    """One agent process started by a test."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, token: bool = True, timeout: float = 10.0) -> tuple[int, Any]:
        """GET `path` on the agent: status and JSON body."""
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, what: str, found: Callable[[], Any], timeout: float = 60.0) -> Any:
        """The first truthy `found()` (an `OSError` counts as not yet); fails with the agent's
        log if the agent stops or at the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the agent stopped (exit {self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                value = found()
            except OSError:
                value = None
            if value:
                return value
            time.sleep(0.3)
        pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.log_tail()}")

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
        """/v1/health once the agent answers it."""

        def health() -> Any:
            status, body = self.get("/v1/health", token=False, timeout=5)
            return body if status == 200 else None

        return self.wait_for(f"{self.url}/v1/health", health, timeout)  # type: ignore[no-any-return]

    def device(self, device_id: str) -> dict[str, Any]:
        status, body = self.get(f"/v1/devices/{device_id}")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def scans(self, device_id: str | None = None) -> list[dict[str, Any]]:
        status, body = self.get("/v1/scans" + (f"?device={device_id}" if device_id else ""))
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@pytest.fixture
def windows_agent(tmp_path: Path) -> Iterator[Callable[[str], WindowsAgent]]:
    """`start(devices_toml)`: the agent serving with those `[[devices]]` tables (TOML text),
    healthy; every agent started is stopped at the end of the test."""
    started: list[WindowsAgent] = []

    def start(devices: str) -> WindowsAgent:
        index = len(started)
        data = tmp_path / f"agent-{index}"
        data.mkdir()
        port = free_port()
        config = data / "agent.toml"
        config.write_text(
            f"[agent]\ndata_dir = '{data}'\n\n[api]\nport = {port}\n\n{devices}\n",
            encoding="utf-8",
        )
        token = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT_")}
        env["SCANNER_AGENT_TOKEN"] = token
        log = data / "agent.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", START_AGENT, "serve", "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=data,
            )
        agent = WindowsAgent(process, port, token, log)
        started.append(agent)
        agent.wait_healthy()
        return agent

    yield start
    for agent in started:
        agent.stop()
