"""The decision beside the parse, through the real API: the decision table, each reason, the
patient message, and scans judged again at read for the date, stay and domain asked (section 1
and 2 of issue 12)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.attestation import ReasonCode
from scanner_agent.decision import DESK_MESSAGES, PATIENT_MESSAGES
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from tests.helpers.api import BASE, SettingsFactory, auth, publish
from tests.helpers.samples import BAD_AMC, VALID, VALID_PIPE

REQUEST_DAY = date(2026, 6, 15)
"""The fake 'today' of these tests (Europe/Paris), inside VALID's period 2026-01-01..12-31."""

NIR_PAYLOAD = "AMCTP01|AMC:0775627391|TC:MU|CSR:|ADH:1850578006084|DD:20260101|DF:20261231"
UNKNOWN_AMC = "AMCTP01|AMC:0123456789|TC:MU|CSR:|ADH:12345678|DD:20260101|DF:20261231"


def referential(path: Path, updated: date = REQUEST_DAY) -> Path:
    day = updated.isoformat()
    path.write_text(
        "amc_number,name,roc,updated,roc_from,roc_to,domains,gap_codes,test\n"
        f"0775627391,Mutuelle A,yes,{day},,,MCO;SMR;HAD,MUTA,no\n"
        f"774734488,Mutuelle B,no,{day},,,,MUTB1;MUTB2,\n"
        f"999999990,AMC miroir,yes,{day},2026-01-01,,,,yes\n",
        encoding="utf-8",
    )
    return path


Started = Callable[..., TestClient]


@pytest.fixture
def start(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[Started]:
    """`start(updated=..., today=...)`: the real app on its own referential and clock."""
    clients: list[TestClient] = []

    def run(updated: date = REQUEST_DAY, today: date = REQUEST_DAY) -> TestClient:
        csv = referential(tmp_path / f"ref-{len(clients)}.csv", updated)
        settings = make_settings(parser={"referential": str(csv)})
        context = ParseContext.from_settings(settings, today=lambda: today)
        app = create_app(settings, Agent(settings, context=context))
        client = TestClient(app, base_url=BASE, headers=auth(app)).__enter__()
        clients.append(client)
        return client

    yield run
    for client in clients:
        client.__exit__(None, None, None)


def parse(client: TestClient, payload: str | bytes, **question: Any) -> dict[str, Any]:
    text = payload.decode() if isinstance(payload, bytes) else payload
    response = client.post("/v1/parse", json={"payload": text, **question})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(attestation: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in attestation["reasons"]]


# --- the decision table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "question", "decision", "reasons"),
    [
        (VALID, {}, "covered", []),
        (VALID, {"at": "2027-01-15"}, "not_covered", ["expired"]),
        (VALID, {"at": "2025-12-31"}, "not_covered", ["not_yet_valid"]),
        (
            VALID,
            {"stay_start": "2027-02-01", "stay_days": 3},
            "not_covered",
            ["expired", "stay_not_covered"],
        ),
        (
            VALID,
            {"at": "2026-06-15", "stay_start": "2027-02-01", "stay_days": 3},
            "not_covered",
            ["stay_not_covered"],
        ),
        (VALID, {"stay_start": "2026-12-30", "stay_days": 5}, "check", ["stay_partly_covered"]),
        (VALID, {"stay_start": "2026-12-01", "stay_days": 30}, "covered", []),
        (NIR_PAYLOAD, {}, "check", ["member_number_looks_like_nir"]),
        (UNKNOWN_AMC, {}, "check", ["amc_unknown"]),
        (UNKNOWN_AMC, {"at": "2027-01-15"}, "not_covered", ["expired", "amc_unknown"]),
        (BAD_AMC, {}, "refused", ["invalid_payload"]),
    ],
)
def test_the_decision_table(
    start: Started,
    payload: str | bytes,
    question: dict[str, Any],
    decision: str,
    reasons: list[str],
):
    attestation = parse(start(), payload, **question)
    assert attestation["decision"] == decision
    assert codes(attestation) == reasons
    for reason in attestation["reasons"]:
        assert reason["message"], reason
    assert attestation["status"] == ("invalid" if decision == "refused" else "valid")


def test_a_stale_referential_asks_to_check_and_says_how_old_it_is(start: Started):
    client = start(updated=date(2026, 1, 2))  # 164 days before the request day
    attestation = parse(client, VALID)
    assert attestation["decision"] == "check"
    assert codes(attestation) == ["referential_stale"]
    assert "02/01/2026" in attestation["reasons"][0]["message"]
    fresh = start(updated=date(2026, 3, 17))  # exactly 90 days: not stale yet
    assert parse(fresh, VALID)["decision"] == "covered"


def test_patient_messages_are_plain_french_without_personal_data(start: Started):
    client = start()
    seen = set()
    for payload, question in [
        (VALID, {}),
        (VALID, {"at": "2027-01-15"}),
        (VALID, {"at": "2025-06-01"}),
        (VALID, {"at": "2026-06-15", "stay_start": "2027-02-01", "stay_days": 3}),
        (UNKNOWN_AMC, {}),
        (BAD_AMC, {}),
    ]:
        attestation = parse(client, payload, **question)
        message = attestation["patient_message"]
        seen.add(message)
        assert message in PATIENT_MESSAGES.values()
        for personal in ("12345678", "0775627391", "0123456789", "Mutuelle"):
            assert personal not in message
    assert len(seen) == 6, "each situation has its own sentence"
    expired = parse(client, VALID, at="2027-01-15")["patient_message"]
    assert expired == "Votre attestation est expirée : merci de vous présenter à l'accueil."


def test_nothing_is_called_valide_unless_covered(start: Started):
    client = start()
    for payload, question in [
        (VALID, {"at": "2027-01-15"}),
        (VALID, {"stay_start": "2026-12-30", "stay_days": 5}),
        (UNKNOWN_AMC, {}),
        (BAD_AMC, {}),
    ]:
        attestation = parse(client, payload, **question)
        words = " ".join(
            [attestation["patient_message"], *(r["message"] for r in attestation["reasons"])]
        ).lower()
        assert "valide" not in words and "valid " not in words, words
    for message in DESK_MESSAGES.values():
        assert "valide" not in message.lower()


def test_every_reason_code_has_a_desk_sentence():
    assert set(DESK_MESSAGES) == set(ReasonCode)


def test_roc_status_at_the_date_for_the_activity(start: Started):
    client = start()
    roc = parse(client, VALID)["roc"]
    assert roc == {
        "status": "roc",
        "reason": None,
        "name": "Mutuelle A",
        "domain": "MCO",
        "gap_codes": ["MUTA"],
        "test": False,
    }
    psy = parse(client, VALID, domain="psy")
    assert psy["roc"]["status"] == "hors_roc"
    assert psy["roc"]["reason"] == "domain_not_in_roc" and psy["roc"]["domain"] == "PSY"
    assert psy["decision"] == "covered", "hors ROC is another circuit, not a lack of cover"
    hors = parse(client, VALID_PIPE)["roc"]
    assert hors["status"] == "hors_roc" and hors["reason"] == "not_connected"
    assert hors["gap_codes"] == ["MUTB1", "MUTB2"], "one or several insurers to pre-select"
    assert parse(client, UNKNOWN_AMC)["roc"]["status"] == "unknown"


def test_the_test_amc_asks_to_check(start: Started):
    mirror = "AMCTP01|AMC:999999990|TC:MU|CSR:|ADH:12345678|DD:20260101|DF:20261231"
    attestation = parse(start(), mirror)
    assert attestation["roc"]["test"] is True
    assert attestation["decision"] == "check"
    assert codes(attestation) == ["test_attestation"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"at": "15/06/2026"}, "invalid_date"),
        ({"at": "2026-02-29"}, "invalid_date"),
        ({"stay_start": "tomorrow", "stay_days": 1}, "invalid_date"),
        ({"domain": "ORL"}, "invalid_domain"),
        ({"stay_days": 2}, "invalid_request"),
    ],
)
def test_bad_questions_to_parse_are_422_with_a_stable_code(
    start: Started, body: dict[str, Any], code: str
):
    response = start().post("/v1/parse", json={"payload": VALID.decode(), **body})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


# --- scans judged again at read ---------------------------------------------------------------


def record(app: FastAPI, payload: bytes = VALID, device: str = "desk") -> str:
    """A scan read on 2026-03-01 (judged then), recorded as the pipeline does; its id."""
    context: ParseContext = app.state.api.agent.context
    scan = Scan(
        received_at=datetime.now(UTC),
        device_id=device,
        source="serial",
        attestation=context.parse(payload, date(2026, 3, 1)),
    )
    publish(app, scan)
    return scan.id


def test_a_scan_is_judged_for_the_day_of_the_request_not_the_day_it_was_read(start: Started):
    client = start(today=date(2027, 1, 15), updated=date(2027, 1, 10))
    scan_id = record(client.app)  # type: ignore[arg-type]
    for path in (f"/v1/scans/{scan_id}", "/v1/scans/latest"):
        attestation = client.get(path).json()["attestation"]
        assert attestation["validity"] == {"state": "expired", "stay": None, "at": "2027-01-15"}
        assert attestation["decision"] == "not_covered"
        assert codes(attestation) == ["expired"]
    listed = client.get("/v1/scans").json()[0]["attestation"]
    assert listed["decision"] == "not_covered" and listed["validity"]["at"] == "2027-01-15"


def test_scan_reads_answer_the_question_asked(start: Started):
    client = start(today=date(2027, 1, 15), updated=date(2027, 1, 10))
    scan_id = record(client.app)  # type: ignore[arg-type]
    question = {"at": "2026-06-15", "domain": "SMR"}
    for path in (f"/v1/scans/{scan_id}", "/v1/scans/latest"):
        attestation = client.get(path, params=question).json()["attestation"]
        assert attestation["decision"] == "covered"
        assert attestation["validity"]["at"] == "2026-06-15"
        assert attestation["roc"]["domain"] == "SMR"
    stay = {"stay_start": "2026-12-28", "stay_days": 7}
    attestation = client.get(f"/v1/scans/{scan_id}", params=stay).json()["attestation"]
    assert attestation["validity"] == {"state": "current", "stay": "partial", "at": "2026-12-28"}
    assert codes(attestation) == ["stay_partly_covered"]
    same_day = client.get(f"/v1/scans/{scan_id}", params={"stay_start": "2026-12-31"}).json()
    assert same_day["attestation"]["validity"]["stay"] == "whole"


def test_the_list_judges_every_scan_and_its_next_page_keeps_the_question(start: Started):
    client = start(today=date(2027, 1, 15), updated=date(2027, 1, 10))
    for _ in range(3):
        record(client.app)  # type: ignore[arg-type]
    first = client.get("/v1/scans", params={"limit": 2, "at": "2026-06-15", "domain": "HAD"})
    assert [s["attestation"]["decision"] for s in first.json()] == ["covered", "covered"]
    link = first.headers["Link"]
    assert "at=2026-06-15" in link and "domain=HAD" in link
    url = link[1 : link.index(">")]
    rest = client.get(url).json()
    assert len(rest) == 1
    assert rest[0]["attestation"]["decision"] == "covered"
    assert rest[0]["attestation"]["roc"]["domain"] == "HAD"
    today = client.get("/v1/scans").json()
    assert {s["attestation"]["decision"] for s in today} == {"not_covered"}


def test_next_judges_the_scan_for_the_question(start: Started):
    client = start(today=date(2027, 1, 15), updated=date(2027, 1, 10))
    app: FastAPI = client.app  # type: ignore[assignment]
    import threading

    threading.Timer(0.3, record, args=(app,)).start()
    response = client.get("/v1/scans/next", params={"timeout": 10, "at": "2026-06-15"})
    assert response.status_code == 200
    assert response.json()["attestation"]["decision"] == "covered"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"at": "2026-13-01"}, "invalid_date"),
        ({"at": "1767225600"}, "invalid_date"),
        ({"stay_start": "31/12/2026"}, "invalid_date"),
        ({"domain": "xyz"}, "invalid_domain"),
        ({"stay_days": -1}, "invalid_request"),
    ],
)
def test_bad_questions_to_scan_reads_are_422_with_a_stable_code(
    start: Started, params: dict[str, Any], code: str
):
    client = start()
    scan_id = record(client.app)  # type: ignore[arg-type]
    for path in (f"/v1/scans/{scan_id}", "/v1/scans/latest", "/v1/scans", "/v1/scans/next"):
        response = client.get(path, params={**params, "timeout": 0} if "next" in path else params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == code
