"""`POST /v1/selftest` with `level: "interactive"`: the test-card step of one device over the
running agent. Each test has its own `replay` device whose recording does not exist until the
request waits (the device is disconnected, then plays the recording once, as a scanner the
operator picks up): the request judges what arrives with the command's test-card checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.parse_context import ParseContext
from scanner_agent.selftest import CHECKS
from scanner_agent.selftest.texts import generic_fix, render_message
from tests.helpers.api import BASE, LiveFactory, RawClient, SettingsFactory, auth
from tests.helpers.devices import replay_recording, wait_until
from tests.helpers.samples import VALID_AIM
from tests.helpers.selftest import card_bytes

# the refused codes first: the step ends as soon as the card's attestations are all read
CARD = (
    "gs1",
    "qr",
    "tagged-050",
    "tagged-033",
    "tagged-025",
    "pipes-033",
    "fixed-050",
    "fixed-033",
)
DEVICES = ("complete", "half", "odd", "silent", "capped")


@pytest.fixture
def running(
    make_settings: SettingsFactory, context: ParseContext, tmp_path: Path
) -> Iterator[tuple[FastAPI, TestClient, Path]]:
    settings = make_settings(
        devices=[
            {"id": name, "type": "replay", "path": str(tmp_path / f"{name}.jsonl")}
            for name in DEVICES
        ],
        pipeline={"reconnect_min_s": 0.05, "reconnect_max_s": 0.1},
        api={"max_wait_s": 2},
    )
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as client:
        yield app, client, tmp_path


def scanned_during(
    running: tuple[FastAPI, TestClient, Path], device: str, sent: bytes, **body: Any
) -> httpx.Response:
    """The answer to the device's test-card step while the device sends `sent` (written as its
    recording once the request waits)."""
    app, client, folder = running
    answer: list[httpx.Response] = []
    request = {"device": device, "level": "interactive", **body}
    waiting = threading.Thread(
        target=lambda: answer.append(client.post("/v1/selftest", json=request))
    )
    waiting.start()
    pipeline = app.state.api.agent.pipeline
    wait_until(lambda: pipeline.watching(device) > 0 or not waiting.is_alive())
    partial = folder / f"{device}.tmp"
    replay_recording(partial, "serial", [sent])
    partial.replace(folder / f"{device}.jsonl")
    waiting.join(30)
    assert answer, "the request never answered"
    return answer[0]


def device_checks(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["level"] == "interactive"
    assert report["checks"] == []
    (device,) = report["devices"]
    return {c["code"]: c["verdict"] for c in device["checks"]}


def test_the_whole_card_passes_as_soon_as_it_is_read(
    running: tuple[FastAPI, TestClient, Path],
) -> None:
    response = scanned_during(running, "complete", card_bytes(keys=CARD), seconds=2)
    assert device_checks(response) == {"testcard_complete": "pass"}
    report = response.json()
    assert report["verdict"] == "pass"
    device = report["devices"][0]
    assert device["device_id"] == "complete"
    assert device["measurements"]["complete_s"] is not None
    assert device["measurements"]["card_codes"] == {
        "tagged-050": "as_designed",
        "fixed-050": "as_designed",
        "gs1": "as_designed",
        "qr": "as_designed",
    }
    # the scans were delivered as any scan: the card's AMC is a test one
    app = running[0]
    latest = app.state.api.agent.scans.latest("complete")
    assert latest is not None
    assert latest.device_id == "complete"


def test_half_the_card_is_incomplete_at_the_time_limit(
    running: tuple[FastAPI, TestClient, Path],
) -> None:
    response = scanned_during(running, "half", card_bytes(keys=("tagged-050", "gs1")), seconds=0.5)
    checks = device_checks(response)
    assert checks == {"testcard_incomplete": "warn"}
    device = response.json()["devices"][0]
    incomplete = next(c for c in device["checks"] if c["code"] == "testcard_incomplete")
    assert "fixed" in incomplete["message"]
    assert incomplete["fix"]
    assert device["measurements"]["complete_s"] is None
    assert device["measurements"]["card_codes"] == {
        "tagged-050": "as_designed",
        "fixed-050": "missing",
        "gs1": "as_designed",
        "qr": "missing",
    }


def test_a_code_not_on_the_card_fails(running: tuple[FastAPI, TestClient, Path]) -> None:
    sent = VALID_AIM + b"\r" + card_bytes(keys=("tagged-050", "fixed-050"))
    checks = device_checks(scanned_during(running, "odd", sent, seconds=2))
    assert checks == {"unexpected_code": "fail", "testcard_complete": "pass"}


def test_nothing_scanned_is_no_data(running: tuple[FastAPI, TestClient, Path]) -> None:
    _, client, _ = running
    response = client.post(
        "/v1/selftest", json={"device": "silent", "level": "interactive", "seconds": 0.3}
    )
    # its recording does not exist: the device's last error says why nothing came
    assert device_checks(response) == {"no_data": "fail", "device_not_found": "fail"}
    assert response.json()["verdict"] == "fail"


def test_the_step_speaks_the_language_asked(running: tuple[FastAPI, TestClient, Path]) -> None:
    _, client, _ = running
    body = {"device": "silent", "level": "interactive", "seconds": 0.3, "lang": "fr"}
    report = client.post("/v1/selftest", json=body).json()
    assert report["lang"] == "fr"
    checks = {c["code"]: c for c in report["devices"][0]["checks"]}
    assert checks["no_data"]["message"] == render_message(
        "no_data.interactive", "fr", {"seconds": 0.3}
    )
    assert checks["no_data"]["fix"] == generic_fix("no_data", "fr")
    assert checks["no_data"]["fix"] != CHECKS["no_data"]


def test_the_wait_is_capped_by_max_wait(running: tuple[FastAPI, TestClient, Path]) -> None:
    response = scanned_during(running, "capped", card_bytes(keys=("tagged-050",)), seconds=600)
    assert device_checks(response) == {"testcard_incomplete": "warn"}
    assert response.json()["devices"][0]["measurements"]["seconds"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"level": "interactive"},
        {"level": "interactive", "seconds": 5},
        {"device": "complete", "seconds": 5},
        {"device": "complete", "level": "interactive", "seconds": 0},
        {"device": "complete", "level": "internal"},
        {"device": "complete", "level": "interactive", "wait": 5},
    ],
)
def test_a_bad_body_is_refused(
    running: tuple[FastAPI, TestClient, Path], body: dict[str, Any]
) -> None:
    _, client, _ = running
    response = client.post("/v1/selftest", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_an_unknown_device_is_not_found(running: tuple[FastAPI, TestClient, Path]) -> None:
    _, client, _ = running
    response = client.post(
        "/v1/selftest", json={"device": "nowhere", "level": "interactive", "seconds": 1}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "device_not_found"


def test_a_client_that_goes_away_stops_the_wait(live: LiveFactory, tmp_path: Path) -> None:
    server = live(
        devices=[{"id": "desk", "type": "replay", "path": str(tmp_path / "absent.jsonl")}],
        api={"max_wait_s": 600},
    )
    pipeline = server.app.state.api.agent.pipeline
    body = json.dumps({"device": "desk", "level": "interactive", "seconds": 600}).encode()
    with RawClient(server.port) as raw:
        headers = [*auth(server.app).items(), ("Content-Type", "application/json")]
        raw.send_head("POST", "/v1/selftest", [*headers, ("Content-Length", str(len(body)))])
        raw.send(body)
        wait_until(lambda: pipeline.watching("desk") == 1)
    wait_until(lambda: pipeline.watching("desk") == 0)


def test_the_test_card_is_served_as_a_pdf_with_the_token(
    running: tuple[FastAPI, TestClient, Path],
) -> None:
    app, client, _ = running
    response = client.get("/v1/testcard.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "carte-de-test.pdf" in response.headers["content-disposition"]
    with TestClient(app, base_url=BASE) as anonymous:
        assert anonymous.get("/v1/testcard.pdf").status_code == 401
