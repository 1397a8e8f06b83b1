"""Several workstations, one PostgreSQL: two `scanner-agent serve` processes, each under its own
`[indicators] workstation`, writing to the same `[storage] url`, started together (each makes the
schema at the same time); the indicators read from a third process aggregate both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanner_agent.bus import EventBus
from scanner_agent.indicators import IndicatorQuery
from scanner_agent.scans import ScanService
from tests.helpers.api import encrypted_store, free_port, wait_healthy
from tests.helpers.devices import wait_until
from tests.helpers.samples import VALID_TYPED

pytestmark = pytest.mark.postgres

TOKEN = "indicators-pg-test-token-0123456789"
TYPED: dict[str, Any] = {**VALID_TYPED, "at": "2026-03-01"}


def serve(folder: Path, port: int, storage_url: str, workstation: str) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{folder / "data"}"\nlog_level = "warning"\n'
        f"[api]\nport = {port}\nstore_manual = true\n"
        f"[storage]\nurl = {_toml(storage_url)}\n"
        f"[indicators]\nworkstation = {_toml(workstation)}\n"
    )
    log = (folder / "agent.log").open("ab")
    env = {**os.environ, "SCANNER_AGENT_TOKEN": TOKEN}
    command = [sys.executable, "-m", "scanner_agent.cli", "serve", "--config", str(config)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def around_today(**kwargs: Any) -> IndicatorQuery:
    today = date.today()
    start, end = today - timedelta(days=2), today + timedelta(days=2)
    return IndicatorQuery.of(start, end, ("workstation",), **kwargs)


def test_two_agents_one_database(pg_url: str, tmp_path: Path) -> None:
    ports = {"PC-ACCUEIL-1": free_port(), "PC-URGENCES-2": free_port()}
    procs = {
        name: serve(tmp_path / name, port, pg_url, name) for name, port in ports.items()
    }  # started together: both make the schema at the same time
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        for name, port in ports.items():
            wait_healthy(f"http://127.0.0.1:{port}", procs[name], tmp_path / name / "agent.log")
        entries = {
            "PC-ACCUEIL-1": [TYPED, TYPED, {**TYPED, "amc_number": "07756"}],  # one refused
            "PC-URGENCES-2": [TYPED, {**TYPED, "amc_number": "999999990"}],  # a test card
        }

        def send(name: str) -> None:
            for body in entries[name]:
                url = f"http://127.0.0.1:{ports[name]}/v1/attestations/validate"
                assert httpx.post(url, json=body, headers=headers, timeout=10).status_code == 200

        senders = [threading.Thread(target=send, args=(name,)) for name in entries]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(30)

        # a third process (this one) reads the table both write to
        reader = ScanService(EventBus(), encrypted_store(pg_url, tmp_path))

        def by_workstation(**kwargs: Any) -> dict[str, int]:
            report = reader.indicators(around_today(**kwargs))
            return {r.keys["workstation"]: r.scans for r in report.rows}

        wait_until(
            lambda: by_workstation(include_test=True) == {"PC-ACCUEIL-1": 3, "PC-URGENCES-2": 2},
            timeout=20,
        )
        assert by_workstation() == {"PC-ACCUEIL-1": 3, "PC-URGENCES-2": 1}
        report = reader.indicators(around_today())
        assert report.workstations == ["PC-ACCUEIL-1", "PC-URGENCES-2"]
        assert report.total.scans == 4
        one = reader.indicators(around_today(workstation="PC-URGENCES-2"))
        assert one.total.scans == 1 and one.workstations == ["PC-URGENCES-2"]
        for name, port in ports.items():
            health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).json()
            assert health["storage"]["state"] == "ok", (name, health["storage"])
            assert "error" not in (tmp_path / name / "agent.log").read_text().lower()
        # the scans kept in the shared table: both agents' (the refused entry never recorded)
        listed = httpx.get(
            f"http://127.0.0.1:{ports['PC-ACCUEIL-1']}/v1/scans", headers=headers, timeout=5
        ).json()
        assert len(listed) == 4
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
