"""`POST /v1/selftest` through the app: the running agent's devices judged from their live
state (never reopened), the same report shape as `scanner-agent selftest --json`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scans import StorageStatus
from scanner_agent.selftest import CHECKS_FR
from scanner_agent.storage import StorageProblem
from tests.helpers.api import BASE, SettingsFactory, auth, wait_until


@pytest.fixture
def running(
    make_settings: SettingsFactory, context: ParseContext, tmp_path: Path
) -> Iterator[tuple[FastAPI, TestClient]]:
    settings = make_settings(
        devices=[
            {"id": "demo", "type": "demo", "interval_s": 0.05},
            {"id": "desk", "type": "serial", "port": str(tmp_path / "ttyACM-absent")},
            {"id": "wedge", "type": "hid_keyboard", "vid": "0c2e", "enabled": False},
        ],
        pipeline={"reconnect_min_s": 0.05, "reconnect_max_s": 0.1},
        # the shipped referential is dated: the machine's clock must not make it stale (a warn)
        parser={"referential_max_age_days": 36_500},
    )
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as client:
        agent = app.state.api.agent
        wait_until(lambda: agent.device("demo").counters.good_scans > 0)
        wait_until(lambda: agent.device("desk").state == "disconnected")
        yield app, client


def test_the_running_agent_is_tested_from_its_live_state(
    running: tuple[FastAPI, TestClient],
) -> None:
    app, client = running
    opens_before = app.state.api.agent.device("demo").counters.reconnects
    response = client.post("/v1/selftest", json={})
    assert response.status_code == 200
    report = response.json()
    assert set(report) == {
        "verdict", "level", "lang", "started_at", "duration_ms", "checks", "devices"
    }  # fmt: skip
    assert report["lang"] == "en"
    assert report["level"] == "external"
    assert report["verdict"] == "fail"
    agent_checks = {c["code"]: c["verdict"] for c in report["checks"]}
    assert agent_checks["storage_ok"] == "pass"
    assert agent_checks["decoder_ok"] == "pass"
    devices = {d["device_id"]: d for d in report["devices"]}
    assert set(devices) == {"demo", "desk", "wedge"}
    demo = {c["code"]: c["verdict"] for c in devices["demo"]["checks"]}
    assert demo == {"live_state": "pass", "codes_read": "pass"}
    assert devices["demo"]["measurements"]["good_scans"] > 0
    assert devices["demo"]["verdict"] == "pass"
    desk = devices["desk"]
    assert desk["verdict"] == "fail"
    assert desk["checks"][0]["code"] == "device_not_found"
    assert desk["checks"][0]["fix"]
    assert devices["wedge"]["checks"][0]["code"] == "device_disabled"
    # nothing was reopened
    assert app.state.api.agent.device("demo").counters.reconnects == opens_before


def test_one_device_no_body_unknown_device_and_no_token(
    running: tuple[FastAPI, TestClient],
) -> None:
    app, client = running
    one = client.post("/v1/selftest", json={"device": "demo"}).json()
    assert [d["device_id"] for d in one["devices"]] == ["demo"]
    assert one["verdict"] == "pass"
    everything = client.post("/v1/selftest")
    assert everything.status_code == 200
    assert len(everything.json()["devices"]) == 3
    missing = client.post("/v1/selftest", json={"device": "nope"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "device_not_found"
    extra = client.post("/v1/selftest", json={"devices": "demo"})
    assert extra.status_code == 422
    with TestClient(app, base_url=BASE) as anon:
        refused = anon.post("/v1/selftest", json={})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_missing"


def test_storage_failing_fails_the_selftest(
    running: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = running
    scans = app.state.api.agent.scans
    failing = StorageStatus(
        state="error",
        where="sqlite:///scans.db",
        pending=3,
        last_error=StorageProblem("storage_unavailable", "database is locked", datetime.now(UTC)),
    )
    monkeypatch.setattr(scans, "storage", lambda: failing)  # as the service says while it fails
    report = client.post("/v1/selftest", json={"device": "demo"}).json()
    storage = next(c for c in report["checks"] if c["code"] == "storage_unavailable")
    assert storage["verdict"] == "fail"
    assert "3 scan(s) wait" in storage["message"]
    assert report["verdict"] == "fail"


def test_the_report_in_french_has_the_same_codes_and_params(
    running: tuple[FastAPI, TestClient],
) -> None:
    _, client = running
    english = client.post("/v1/selftest", json={"device": "desk"}).json()
    french = client.post("/v1/selftest", json={"device": "desk", "lang": "fr"}).json()
    assert (english["lang"], french["lang"]) == ("en", "fr")

    def stable(report: dict[str, Any]) -> list[tuple[str, str, bool, list[str]]]:
        """Codes, verdicts, whether there is a fix, the names of the parameters (a decode
        time differs from one run to the next)."""
        checks = report["checks"] + [c for d in report["devices"] for c in d["checks"]]
        return [(c["code"], c["verdict"], c["fix"] != "", sorted(c["params"])) for c in checks]

    assert stable(french) == stable(english)
    desk = french["devices"][0]["checks"][0]
    assert desk["code"] == "device_not_found"
    assert desk["fix"] == CHECKS_FR["device_not_found"]
    assert desk["message"].startswith("appareil introuvable : ")
    phase = next(c for c in french["checks"] if c["code"] == "roc_phase")
    assert phase["message"].startswith("Phase ROC : ")
    assert next(c for c in english["checks"] if c["code"] == "roc_phase")["message"].startswith(
        "ROC phase: "
    )


def test_a_language_other_than_fr_or_en_is_refused(running: tuple[FastAPI, TestClient]) -> None:
    _, client = running
    for lang in ("de", "FR", "", None):
        refused = client.post("/v1/selftest", json={"lang": lang})
        assert refused.status_code == 422, lang
        assert refused.json()["error"]["code"] == "invalid_request"
