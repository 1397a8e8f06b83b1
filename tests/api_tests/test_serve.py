"""`scanner-agent serve` as `make run` starts it: loopback only, then a clean stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from scanner_agent.commands.serve import is_loopback


# `scanner_agent.cli` is what the console script runs; `scanner_agent` (its `__main__`) is what
# the Windows logon task runs (`python -m scanner_agent serve`, see `windows-task`)
@pytest.mark.parametrize("module", ["scanner_agent.cli", "scanner_agent"])
def test_serve_listens_on_loopback_and_stops_cleanly(tmp_path: Path, module: str):
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_path / "data"}"\n')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "serve",
            "--config",
            str(config),
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = ""
        for line in proc.stderr:
            if "API on" in line:  # the line that names the addresses
                break
        urls = re.findall(r"http://[^\s,;]+", line)
        assert urls, line
        assert all("127.0.0.1" in u or "[::1]" in u for u in urls)
        port = urls[0].rsplit(":", 1)[1]
        health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=10)
        assert health.status_code == 200
        token = (tmp_path / "data" / "api-token").read_text().strip()
        scans = httpx.get(
            f"http://127.0.0.1:{port}/v1/scans",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert scans.json() == []
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal (systemd counts it as clean)
    assert status in (0, -signal.SIGTERM)
    assert proc.stderr is not None
    assert "Application shutdown complete" in proc.stderr.read()


def test_loopback_addresses():
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.10")
    assert not is_loopback("scanner-pc.hopital.local")
