"""The phase of the ROC roll-out through the real app: `/v1/health`'s `roc`, the ROC status of
`/v1/parse`, `/v1/attestations/validate`, stored scans (`/v1/scans`, `/latest`, one by id) and
the SSE replay judged again in the phase in use after the configuration file changed, without a
restart; a bad section keeps the phase with its error in health (degraded) and the self-test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.config import load_settings
from tests.helpers.api import BASE, OTHER, VALID, auth, make_scan, publish, wait_stored, wait_until
from tests.helpers.samples import TODAY

MIRROR = '[roc]\nphase = "supervised"\nmirror_amc = "0775627391"\n'  # VALID's AMC
TEST_MIRROR = '[roc]\nphase = "supervised"\nmirror_amc = "999999990"\n'
NOT_STARTED = '[roc]\nphase = "not_started"\n'
TRUST = '[roc]\nphase = "trust_circle"\n'
UNKNOWN_AMC = "AMCTP01|AMC:0123456789|TC:MU|CSR:|ADH:12345678|DD:20260101|DF:20261231"


def write(path: Path, roc: str) -> None:
    """The configuration file with `roc` as its `[roc]` section, renamed over the old one."""
    head = (
        f'[agent]\ndata_dir = "{path.parent / "data"}"\n'
        "[parser]\nreferential_reload_s = 0.02\nreferential_max_age_days = 36500\n"
    )
    new = path.with_suffix(".new")
    new.write_text(head + roc)
    os.replace(new, path)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """The app of a configuration file (as `serve --config` reads it), the shipped referential."""
    path = tmp_path / "agent.toml"
    write(path, TRUST)
    settings = load_settings(path, env={})
    app = create_app(settings, Agent(settings, today=lambda: TODAY))
    with TestClient(app, base_url=BASE, headers=auth(app)) as client:
        wait_until(lambda: client.get("/v1/health").json()["storage"]["state"] != "starting")
        yield client, path


def health_roc(client: TestClient) -> dict[str, Any]:
    roc: dict[str, Any] = client.get("/v1/health").json()["roc"]
    return roc


def status_of(roc: dict[str, Any]) -> tuple[str, str | None]:
    return roc["status"], roc["reason"]


def parsed(client: TestClient, payload: str) -> tuple[str, str | None]:
    response = client.post("/v1/parse", json={"payload": payload, "at": "2026-03-01"})
    assert response.status_code == 200, response.text
    return status_of(response.json()["roc"])


def changed_to(client: TestClient, path: Path, roc: str, phase: str) -> None:
    write(path, roc)
    wait_until(lambda: health_roc(client)["phase"] == phase)


def test_health_the_parse_and_stored_scans_follow_the_phase_without_restart(
    running: tuple[TestClient, Path],
) -> None:
    client, path = running
    app: FastAPI = client.app  # type: ignore[assignment]
    assert client.get("/v1/health").json()["status"] == "ok"
    assert health_roc(client) == {
        "phase": "trust_circle",
        "mirror_amc": None,
        "mirror_known": None,
        "error": None,
    }
    context = app.state.api.agent.context
    scan = make_scan(context, OTHER)  # AMC 774734488: hors_roc, not_connected
    first = make_scan(context, VALID)  # AMC 0775627391: roc
    publish(app, scan)
    publish(app, first)
    wait_stored(app, 2)

    def stored() -> list[tuple[str, str | None]]:
        listed = client.get("/v1/scans", params={"at": "2026-03-01"}).json()
        one = client.get(f"/v1/scans/{scan.id}", params={"at": "2026-03-01"}).json()
        latest = client.get("/v1/scans/latest", params={"at": "2026-03-01"}).json()
        assert latest["id"] == first.id
        assert status_of(one["attestation"]["roc"]) == status_of(listed[1]["attestation"]["roc"])
        return [status_of(s["attestation"]["roc"]) for s in listed]

    assert stored() == [("roc", None), ("hors_roc", "not_connected")]
    assert parsed(client, VALID) == ("roc", None)

    changed_to(client, path, MIRROR, "supervised")
    assert health_roc(client) == {
        "phase": "supervised",
        "mirror_amc": "0775627391",
        "mirror_known": True,
        "error": None,
    }
    assert stored() == [("roc", None), ("hors_roc", "supervised_production")]
    assert parsed(client, VALID) == ("roc", None)
    assert parsed(client, OTHER) == ("hors_roc", "supervised_production")
    assert parsed(client, UNKNOWN_AMC) == ("hors_roc", "supervised_production")

    changed_to(client, path, NOT_STARTED, "not_started")
    assert stored() == [("hors_roc", "roc_not_started")] * 2
    assert parsed(client, VALID) == ("hors_roc", "roc_not_started")
    unknown = client.post("/v1/parse", json={"payload": UNKNOWN_AMC, "at": "2026-03-01"}).json()
    assert status_of(unknown["roc"]) == ("hors_roc", "roc_not_started")
    assert [r["code"] for r in unknown["reasons"]] == ["amc_unknown"]  # still absent
    typed = client.post(
        "/v1/attestations/validate",
        json={
            "amc_number": "0775627391",
            "convention_types": ["MU"],
            "member_number": "12345678",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
            "at": "2026-03-01",
        },
    )
    assert typed.status_code == 200, typed.text
    assert status_of(typed.json()["roc"]) == ("hors_roc", "roc_not_started")

    changed_to(client, path, TRUST, "trust_circle")
    assert stored() == [("roc", None), ("hors_roc", "not_connected")]


def test_a_bad_section_keeps_the_phase_and_shows_its_error_until_fixed(
    running: tuple[TestClient, Path],
) -> None:
    client, path = running
    changed_to(client, path, TEST_MIRROR, "supervised")
    assert health_roc(client)["mirror_known"] is True
    write(path, '[roc]\nphase = "supervised"\n')  # no mirror AMC
    wait_until(lambda: health_roc(client)["error"] is not None)
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    assert health["roc"]["phase"] == "supervised"
    assert health["roc"]["mirror_amc"] == "999999990"
    assert str(path) in health["roc"]["error"] and "needs mirror_amc" in health["roc"]["error"]
    assert parsed(client, VALID) == ("hors_roc", "supervised_production")  # the phase stays
    report = client.post("/v1/selftest", json={"lang": "fr"}).json()
    checks = {c["code"]: c for c in report["checks"]}
    assert checks["roc_phase"]["message"].startswith(
        "Phase ROC : production sous surveillance avec l'AMC miroir 999999990"
    )
    assert checks["roc_phase_not_reloaded"]["verdict"] == "warn"
    assert "needs mirror_amc" in checks["roc_phase_not_reloaded"]["message"]
    english = client.post("/v1/selftest", json={}).json()
    checks = {c["code"]: c for c in english["checks"]}
    assert checks["roc_phase"]["message"].startswith(
        "ROC phase: production sous surveillance avec l'AMC miroir 999999990"
    )
    assert "needs mirror_amc" in checks["roc_phase_not_reloaded"]["params"]["error"]
    write(path, '[roc]\nphase = "supervised"\nmirror_amc = "0123"\n')  # fixed; mirror unknown
    wait_until(lambda: health_roc(client)["error"] is None)
    assert health_roc(client) == {
        "phase": "supervised",
        "mirror_amc": "0123",
        "mirror_known": False,
        "error": None,
    }
    assert client.get("/v1/health").json()["status"] == "ok"
    codes = {c["code"] for c in client.post("/v1/selftest", json={}).json()["checks"]}
    assert "roc_mirror_unknown" in codes and "roc_phase_not_reloaded" not in codes


def test_the_live_stream_replays_scans_judged_in_the_phase_in_use(
    running: tuple[TestClient, Path],
) -> None:
    client, path = running
    app: FastAPI = client.app  # type: ignore[assignment]
    publish(app, make_scan(app.state.api.agent.context, VALID))
    wait_stored(app, 1)
    text = app.state.api.agent.scans.recent().items[0].json
    judge = app.state.api.hub.judge  # how the SSE replay judges a stored scan: for today
    assert '"roc":{"status":"roc","reason":null' in judge(text)
    changed_to(client, path, NOT_STARTED, "not_started")
    assert '"roc":{"status":"hors_roc","reason":"roc_not_started"' in judge(text)
