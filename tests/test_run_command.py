"""`scanner-agent run --no-api`: devices, pipeline and the scans service without HTTP; scans
are stored in the configured database, and SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers.devices import wait_until


def stored_rows(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM scans").fetchone()[0])
        except sqlite3.OperationalError:  # the table is not made yet
            return 0


def test_run_without_the_api_stores_the_scans_of_a_demo_device(tmp_path: Path):
    data = tmp_path / "data"
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{data}"\n\n'
        '[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 0.05\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner_agent.cli", "run", "--no-api", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: stored_rows(data / "scans.db") >= 3, timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    assert "without the API" in err
    assert "stopped;" in err
    assert not (data / "api-token").exists()  # no API: no token made
    with sqlite3.connect(data / "scans.db") as conn:
        devices = {row[0] for row in conn.execute("SELECT DISTINCT device_id FROM scans")}
        sources = {row[0] for row in conn.execute("SELECT DISTINCT source FROM scans")}
    assert devices == {"demo"}
    assert sources == {"demo"}
