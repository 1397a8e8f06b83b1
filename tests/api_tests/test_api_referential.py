"""The AMC referential through the real app: ROC status at a date and for the configured
activity, the test AMC, a file reloaded while the agent runs, a bad file that leaves the previous
referential in use with its error in `/v1/health` until fixed, `/metrics`."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.errors import ConfigError
from tests.helpers.api import BASE, OTHER, VALID, SettingsFactory, auth, wait_until
from tests.helpers.payloads import Fields, tagged
from tests.helpers.samples import TODAY

HEADER = "amc_number,name,roc,updated,roc_from,roc_to,domains,gap_codes,test\n"
# VALID's AMC: not connected in January, connected for MCO from February to June, then ended;
# OTHER's: connected from April; the test AMC.
HISTORY = HEADER + (
    "0775627391,Mutuelle A (fictive),no,2026-02-01,,2026-01-31,,GA,\n"
    "0775627391,Mutuelle A (fictive),yes,2026-02-01,2026-02-01,2026-06-30,MCO,GA;GA2,\n"
    "774734488,Mutuelle B (fictive),yes,2026-02-01,2026-04-01,,,GB,\n"
    "999999990,Miroir (fictive),yes,2026-01-15,,,,TST,yes\n"
)
OVERLAP = HISTORY + "775627391,Mutuelle A bis (fictive),yes,2026-02-01,2026-06-01,,,,\n"
TEST_AMC = tagged(Fields(amc_number="999999990")).decode()


def replace(path: Path, text: str) -> None:
    """A new file renamed over the old one, as a deployment writes it."""
    new = path.with_suffix(".new")
    new.write_text(text)
    os.replace(new, path)


Start = Callable[..., TestClient]


@pytest.fixture
def start(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[Start]:
    """`start(text, **parser)`: the app with its own referential file holding `text` (its context
    built from the settings, as in production), reloaded every 20 ms unless said."""
    clients: list[TestClient] = []

    def run(text: str = HISTORY, **parser: Any) -> TestClient:
        path = tmp_path / "referential.csv"
        path.write_text(text)
        settings = make_settings(
            parser={"referential": str(path), "referential_reload_s": 0.02, **parser}
        )
        app = create_app(settings, Agent(settings, today=lambda: TODAY))
        client = TestClient(app, base_url=BASE, headers=auth(app))
        clients.append(client.__enter__())
        wait_until(lambda: client.get("/v1/health").json()["storage"]["state"] != "starting")
        return client

    yield run
    for client in reversed(clients):
        client.__exit__(None, None, None)


def roc(client: TestClient, payload: str, at: str) -> dict[str, Any]:
    response = client.post("/v1/parse", json={"payload": payload, "at": at})
    assert response.status_code == 200, response.text
    attestation: dict[str, Any] = response.json()
    return attestation


def path_of(client: TestClient) -> Path:
    app: FastAPI = client.app  # type: ignore[assignment]
    return Path(app.state.api.settings.referential_path)


def test_roc_status_at_the_date_asked(start: Start):
    client = start()
    answers = {
        ("2026-01-15", VALID): ("hors_roc", "not_connected", ["GA"]),
        ("2026-03-01", VALID): ("roc", None, ["GA", "GA2"]),
        ("2026-08-01", VALID): ("hors_roc", "connection_ended", ["GA", "GA2"]),
        ("2026-03-01", OTHER): ("hors_roc", "not_yet_connected", ["GB"]),
        ("2026-04-01", OTHER): ("roc", None, ["GB"]),
    }
    for (at, payload), (status, reason, codes) in answers.items():
        got = roc(client, payload, at)["roc"]
        assert (got["status"], got["reason"], got["gap_codes"]) == (status, reason, codes), at
        assert got["domain"] == "MCO" and got["test"] is False


def test_the_configured_domain_outside_the_amcs_roc_domains(start: Start):
    client = start(domain="SMR")
    got = roc(client, VALID, "2026-03-01")["roc"]
    assert (got["status"], got["reason"], got["domain"]) == ("hors_roc", "domain_not_in_roc", "SMR")
    assert roc(client, OTHER, "2026-04-01")["roc"]["status"] == "roc"  # every domain


def test_the_test_amc_asks_a_person_to_check(start: Start):
    client = start()
    attestation = roc(client, TEST_AMC, "2026-03-01")
    assert attestation["roc"]["test"] is True
    assert attestation["roc"]["gap_codes"] == ["TST"]
    assert attestation["decision"] == "check"
    assert "test_attestation" in [r["code"] for r in attestation["reasons"]]


def test_health_and_metrics_report_the_referential(start: Start):
    client = start()
    health = client.get("/v1/health").json()
    assert health["status"] == "ok"
    assert health["referential"] == {
        "path": str(path_of(client)),
        "entries": 3,
        "lines": 4,
        "updated": "2026-02-01",
        "age_days": 28,  # to the agent's today, TODAY
        "stale": False,
        "error": None,
    }
    metrics = client.get("/metrics").text
    for line in (
        "scanner_agent_referential_entries 3",
        "scanner_agent_referential_age_days 28",
        "scanner_agent_referential_load_ok 1",
        "scanner_agent_referential_load_errors_total 0",
    ):
        assert line in metrics.splitlines()
    assert "# TYPE scanner_agent_referential_load_errors_total counter" in metrics


def test_stale_and_undated_referentials(start: Start):
    client = start(referential_max_age_days=10)
    assert client.get("/v1/health").json()["referential"]["stale"] is True
    assert client.get("/v1/health").json()["status"] == "ok"  # stale is a reason, not a fault
    replace(path_of(client), "amc_number,name,roc\n1,A,yes\n")
    wait_until(lambda: client.get("/v1/health").json()["referential"]["entries"] == 1)
    referential = client.get("/v1/health").json()["referential"]
    assert (referential["updated"], referential["age_days"], referential["stale"]) == (
        None,
        None,
        False,
    )
    samples = [line.split()[0] for line in client.get("/metrics").text.splitlines()]
    assert "scanner_agent_referential_entries" in samples
    assert "scanner_agent_referential_age_days" not in samples  # no date, no sample


def test_a_changed_file_is_used_without_a_restart(start: Start):
    client = start()
    assert roc(client, VALID, "2026-03-01")["roc"]["status"] == "roc"
    replace(path_of(client), HEADER + "0775627391,Mutuelle A (fictive),no,2026-02-20,,,,GX,\n")
    wait_until(lambda: client.get("/v1/health").json()["referential"]["entries"] == 1)
    got = roc(client, VALID, "2026-03-01")["roc"]
    assert (got["status"], got["reason"], got["gap_codes"]) == ("hors_roc", "not_connected", ["GX"])
    assert roc(client, OTHER, "2026-04-01")["roc"]["status"] == "unknown"
    assert client.get("/v1/health").json()["referential"]["updated"] == "2026-02-20"


def test_a_bad_file_keeps_the_previous_answers_and_shows_its_error_until_fixed(start: Start):
    client = start()
    path = path_of(client)
    replace(path, OVERLAP)
    wait_until(lambda: client.get("/v1/health").json()["referential"]["error"] is not None)
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    error = health["referential"]["error"]
    assert str(path) in error and "lines 3 and 6" in error
    assert health["referential"]["entries"] == 3  # the previous referential, still in use
    got = roc(client, VALID, "2026-08-01")["roc"]
    assert (got["status"], got["reason"]) == ("hors_roc", "connection_ended")
    metrics = client.get("/metrics").text.splitlines()
    assert "scanner_agent_referential_load_ok 0" in metrics
    assert "scanner_agent_referential_load_errors_total 1" in metrics
    # a file that is not there either: still the previous one, and why
    path.unlink()
    wait_until(lambda: "not found" in (client.get("/v1/health").json()["referential"]["error"]))
    assert roc(client, VALID, "2026-03-01")["roc"]["status"] == "roc"
    # fixed
    replace(path, HEADER + "775627391,Mutuelle A (fictive),yes,2026-02-25,,,SMR,,\n")
    wait_until(lambda: client.get("/v1/health").json()["referential"]["error"] is None)
    health = client.get("/v1/health").json()
    assert health["status"] == "ok"
    assert health["referential"]["entries"] == 1
    assert roc(client, VALID, "2026-08-01")["roc"]["reason"] == "domain_not_in_roc"
    assert "scanner_agent_referential_load_ok 1" in client.get("/metrics").text.splitlines()


def test_a_bad_file_at_start_stops_the_agent(make_settings: SettingsFactory, tmp_path: Path):
    path = tmp_path / "referential.csv"
    path.write_text(OVERLAP)
    settings = make_settings(parser={"referential": str(path)})
    with pytest.raises(ConfigError, match="lines 3 and 6"):
        Agent(settings)


def test_reloading_can_be_turned_off(start: Start):
    client = start(referential_reload_s=0)
    assert "referential-reload" not in {t.name for t in threading.enumerate()}
    assert client.get("/v1/health").json()["referential"]["entries"] == 3
