"""End to end: a real `scanner-agent serve` whose configuration file goes from `trust_circle` to
`supervised` to `not_started` while it runs. `/v1/health` shows each phase and a stored scan's
ROC status follows it, without a restart; a bad edit keeps the phase in use and shows its error
until fixed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.api import free_port, wait_healthy
from tests.helpers.devices import wait_until

TYPED = {
    "amc_number": "0775627391",
    "convention_types": ["MU"],
    "member_number": "12345678",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "at": "2026-03-01",
}
"""`samples.VALID` typed by hand (recorded as a scan: `[api] store_manual`)."""


class Served:
    def __init__(self, url: str, token: str, config: Path, log: Path) -> None:
        self.url = url
        self.config = config
        self.log = log
        self.headers = {"Authorization": f"Bearer {token}"}

    def write(self, roc: str) -> None:
        """The configuration file with `roc` as its `[roc]` section, as an editor saves it."""
        data = self.config.parent / "data"
        self.config.write_text(
            f'[agent]\ndata_dir = "{data}"\n[api]\nstore_manual = true\n'
            "[parser]\nreferential_reload_s = 0.05\nreferential_max_age_days = 36500\n" + roc
        )

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = httpx.get(f"{self.url}/v1/health", timeout=10).json()
        return health

    def latest_roc(self) -> tuple[str, str | None]:
        response = httpx.get(
            f"{self.url}/v1/scans/latest",
            params={"at": "2026-03-01"},
            headers=self.headers,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        roc = response.json()["attestation"]["roc"]
        return roc["status"], roc["reason"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = tmp_path / "agent.toml"
    log = tmp_path / "agent.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT_")}
    agent = Served(url, "", config, log)
    agent.write('[roc]\nphase = "trust_circle"\n')
    with log.open("wb") as out:
        command = ["serve", "--config", str(config), "--port", str(port)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "scanner_agent.cli", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_healthy(url, proc, log)
        token = (tmp_path / "data" / "api-token").read_text().strip()
        agent.headers = {"Authorization": f"Bearer {token}"}
        yield agent
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=15)
        assert status in (0, -signal.SIGTERM), log.read_text()


def test_the_phase_changes_while_serve_runs(served: Served) -> None:
    assert served.health()["roc"] == {
        "phase": "trust_circle",
        "mirror_amc": None,
        "mirror_known": None,
        "error": None,
    }
    stored = httpx.post(
        f"{served.url}/v1/attestations/validate", json=TYPED, headers=served.headers, timeout=10
    )
    assert stored.status_code == 200, stored.text
    assert stored.headers["X-Scan-Id"]
    assert served.latest_roc() == ("roc", None)

    served.write('[roc]\nphase = "supervised"\nmirror_amc = "999999990"\n')
    wait_until(lambda: served.health()["roc"]["phase"] == "supervised")
    assert served.health()["roc"] == {
        "phase": "supervised",
        "mirror_amc": "999999990",
        "mirror_known": True,
        "error": None,
    }
    assert served.latest_roc() == ("hors_roc", "supervised_production")

    served.write('[roc]\nphase = "not_started"\n')
    wait_until(lambda: served.health()["roc"]["phase"] == "not_started")
    assert served.latest_roc() == ("hors_roc", "roc_not_started")
    assert served.health()["status"] == "ok"

    served.write('[roc]\nphase = "started"\n')  # not a phase: the one in use stays
    wait_until(lambda: served.health()["roc"]["error"] is not None)
    health = served.health()
    assert health["status"] == "degraded"
    assert health["roc"]["phase"] == "not_started"
    assert "roc.phase" in health["roc"]["error"] and str(served.config) in health["roc"]["error"]
    assert served.latest_roc() == ("hors_roc", "roc_not_started")

    served.write('[roc]\nphase = "trust_circle"\n')
    wait_until(lambda: served.health()["roc"]["error"] is None)
    assert served.health()["roc"]["phase"] == "trust_circle"
    assert served.health()["status"] == "ok"
    assert served.latest_roc() == ("roc", None)
    log = served.log.read_text()
    assert (
        "phase ROC : production sous surveillance avec l'AMC miroir 999999990 (supervised), au "
        "lieu de : cercle de confiance ROC (trust_circle)"
    ) in log
    assert "[roc] not read again, the ROC phase in use stays (not_started)" in log
