"""`POST /v1/attestations/validate`: an attestation typed by hand, checked and judged as a
payload is by `/v1/parse`, through the real API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.layouts import Layout
from scanner_agent.parse_context import ParseContext
from scanner_agent.referential import Referential
from tests.helpers.api import BASE, VALID, SettingsFactory, auth
from tests.helpers.samples import VALID_TYPED

URL = "/v1/attestations/validate"
TYPED: dict[str, Any] = dict(VALID_TYPED)
AT = {"at": "2026-03-01"}


@pytest.fixture
def context(layouts: list[Layout], referential: Referential) -> ParseContext:
    """The shipped referential, never called stale: the decisions below do not depend on the
    day the tests run."""
    return ParseContext(layouts, referential, max_age_days=None)


@pytest.fixture
def storing(make_settings: SettingsFactory, context: ParseContext) -> Iterator[TestClient]:
    """The real app with `[api] store_manual = true`."""
    settings = make_settings(api={"store_manual": True})
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as test_client:
        yield test_client


def typed(**changes: Any) -> dict[str, Any]:
    """`TYPED` with some elements changed; `None` leaves an element out."""
    body = {**TYPED, **AT, **changes}
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"amc_number": "07756"}, "bad_amc_number", "amc_number"),
        ({"amc_number": "0775 627 391"}, "bad_amc_number", "amc_number"),
        ({"amc_number": None}, "missing_field", "amc_number"),
        ({"amc_number": "  "}, "missing_field", "amc_number"),
        ({"convention_types": ["mu"]}, "bad_convention_type", "convention_types"),
        ({"convention_types": "MU;SP;IS;AA;BB;CC"}, "bad_convention_type", "convention_types"),
        ({"routing_criterion": "A-2"}, "bad_routing_criterion", "routing_criterion"),
        ({"member_number": "ab#12"}, "bad_member_number", "member_number"),
        ({"member_number": ""}, "missing_field", "member_number"),
        ({"valid_from": "31/02/2026"}, "bad_date", "valid_from"),
        ({"valid_from": "2026-1-1"}, "bad_date", "valid_from"),
        ({"valid_from": None}, "missing_field", "valid_from"),
        ({"valid_to": "20261231"}, "bad_date", "valid_to"),
        ({"valid_to": "2025-12-31"}, "period_inverted", "valid_to"),
    ],
)
def test_each_bad_element_is_refused_with_its_code_and_field(
    client: TestClient, changes: dict[str, Any], code: str, field: str
) -> None:
    response = client.post(URL, json=typed(**changes))
    assert response.status_code == 200
    out = response.json()
    assert out["status"] == "invalid"
    assert [(e["code"], e["field"]) for e in out["errors"]] == [(code, field)]
    assert out["decision"] == "refused"
    assert [r["code"] for r in out["reasons"]] == ["invalid_payload"]
    assert out["validity"] == {"state": None, "stay": None, "at": None}
    assert out["layout"] == "manual"
    assert "X-Scan-Id" not in response.headers


def test_every_bad_element_at_once_in_element_order(client: TestClient) -> None:
    body = {
        "amc_number": "1",
        "convention_types": "x",
        "routing_criterion": "?",
        "member_number": "#",
        "valid_from": "hier",
        "valid_to": "demain",
    }
    out = client.post(URL, json=body).json()
    assert [(e["code"], e["field"]) for e in out["errors"]] == [
        ("bad_amc_number", "amc_number"),
        ("bad_convention_type", "convention_types"),
        ("bad_routing_criterion", "routing_criterion"),
        ("bad_member_number", "member_number"),
        ("bad_date", "valid_from"),
        ("bad_date", "valid_to"),
    ]
    # the member number's error never repeats what was typed
    assert "#" not in out["errors"][3]["message"]


def test_a_typed_attestation_is_judged_as_its_scanned_code(client: TestClient) -> None:
    manual = client.post(URL, json=typed()).json()
    scanned = client.post("/v1/parse", json={"payload": VALID, **AT}).json()
    assert manual["layout"] == "manual"
    assert {**manual, "layout": "tagged"} == scanned
    assert manual["decision"] == "covered"
    assert manual["reasons"] == []
    assert manual["roc"]["status"] == "roc"
    assert manual["validity"] == {"state": "current", "stay": None, "at": "2026-03-01"}


def test_card_dates_listed_codes_and_spaces_are_read_as_typed(client: TestClient) -> None:
    out = client.post(
        URL,
        json=typed(
            amc_number=" 0775627391 ",
            convention_types="MU ; SP,",
            routing_criterion="A2",
            valid_from="01/01/2026",
            valid_to=" 31/12/2026",
        ),
    ).json()
    assert out["status"] == "valid", out["errors"]
    assert out["amc_number"] == "0775627391"
    assert out["convention_types"] == ["MU", "SP"]
    assert out["routing_criterion"] == "A2"
    assert (out["valid_from"], out["valid_to"]) == ("2026-01-01", "2026-12-31")
    # no convention type, no routing criterion: both may be left out, as on a card
    bare = client.post(URL, json=typed(convention_types=None, routing_criterion=None)).json()
    assert bare["status"] == "valid"
    assert bare["convention_types"] == []


def test_expired_is_not_covered(client: TestClient) -> None:
    out = client.post(URL, json=typed(at="2027-01-05")).json()
    assert out["status"] == "valid"
    assert out["decision"] == "not_covered"
    assert [r["code"] for r in out["reasons"]] == ["expired"]
    assert out["validity"]["state"] == "expired"
    assert "expirée" in out["patient_message"]


def test_a_stay_partly_covered_asks_a_check(client: TestClient) -> None:
    out = client.post(URL, json=typed(at=None, stay_start="2026-12-30", stay_days=5)).json()
    assert out["validity"] == {"state": "current", "stay": "partial", "at": "2026-12-30"}
    assert out["decision"] == "check"
    assert [r["code"] for r in out["reasons"]] == ["stay_partly_covered"]


def test_a_member_number_like_a_nir_asks_a_check(client: TestClient) -> None:
    out = client.post(URL, json=typed(member_number="185057800608491")).json()
    assert out["status"] == "valid"
    assert [w["code"] for w in out["warnings"]] == ["member_number_looks_like_nir"]
    assert out["decision"] == "check"
    assert [r["code"] for r in out["reasons"]] == ["member_number_looks_like_nir"]


def test_an_amc_absent_from_the_referential_asks_a_check(client: TestClient) -> None:
    out = client.post(URL, json=typed(amc_number="0123456789")).json()
    assert out["roc"]["status"] == "unknown"
    assert out["decision"] == "check"
    assert [r["code"] for r in out["reasons"]] == ["amc_unknown"]
    assert "0123456789" in out["reasons"][0]["message"]


def test_the_domain_is_asked_and_reported(client: TestClient) -> None:
    assert client.post(URL, json=typed()).json()["roc"]["domain"] == "MCO"
    assert client.post(URL, json=typed(domain="psy")).json()["roc"]["domain"] == "PSY"
    # Exemple D is connected to ROC from 2026-04-01, for MCO only
    d = typed(amc_number="0900000011", at="2026-06-01")
    assert client.post(URL, json=d).json()["roc"]["status"] == "roc"
    psy = client.post(URL, json={**d, "domain": "PSY"}).json()["roc"]
    assert (psy["status"], psy["reason"], psy["gap_codes"]) == (
        "hors_roc",
        "domain_not_in_roc",
        ["EXD"],
    )
    before = client.post(URL, json={**d, "at": "2026-03-01"}).json()["roc"]
    assert (before["status"], before["reason"]) == ("hors_roc", "not_connected")


def test_the_test_amc_asks_a_check(client: TestClient) -> None:
    out = client.post(URL, json=typed(amc_number="999999990")).json()
    assert out["roc"]["test"] is True
    assert out["decision"] == "check"
    assert [r["code"] for r in out["reasons"]] == ["test_attestation"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (typed(amc_nubmer="0775627391"), "invalid_request"),
        ({**typed(), "amc_number": None}, "invalid_request"),
        (typed(amc_number=775627391), "invalid_request"),
        (typed(convention_types=[1]), "invalid_request"),
        (typed(convention_types=["MU"] * 11), "invalid_request"),
        (typed(member_number="1" * 65), "invalid_request"),
        (typed(valid_to={"d": 1}), "invalid_request"),
        (typed(at="01/03/2026"), "invalid_date"),
        (typed(stay_start="2026-03-01"), "invalid_request"),
        (typed(domain="XYZ"), "invalid_domain"),
        ([TYPED], "invalid_request"),
    ],
)
def test_a_body_of_another_shape_is_a_422_with_a_stable_code(
    client: TestClient, body: object, code: str
) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_nothing_is_stored_by_default(client: TestClient) -> None:
    response = client.post(URL, json=typed())
    assert response.status_code == 200
    assert "X-Scan-Id" not in response.headers
    assert client.get("/v1/scans").json() == []


def test_store_manual_records_a_scan_of_source_manual(storing: TestClient) -> None:
    response = storing.post(URL, json=typed(at="2027-01-05"))
    scan_id = response.headers["X-Scan-Id"]
    assert response.json()["decision"] == "not_covered"  # the body is the attestation
    scan = storing.get(f"/v1/scans/{scan_id}", params=AT).json()
    assert (scan["source"], scan["device_id"], scan["symbology"]) == ("manual", "manual", None)
    assert scan["attestation"]["layout"] == "manual"
    assert scan["attestation"]["member_number"] == "12345678"
    assert scan["attestation"]["valid_to"] == "2026-12-31"
    assert scan["attestation"]["decision"] == "covered"  # judged again for the date read
    assert [s["id"] for s in storing.get("/v1/scans").json()] == [scan_id]
    # a refused entry is a form to correct: answered, never recorded
    refused = storing.post(URL, json=typed(amc_number="1"))
    assert refused.json()["decision"] == "refused"
    assert "X-Scan-Id" not in refused.headers
    assert len(storing.get("/v1/scans").json()) == 1


def test_the_route_is_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"][URL]["post"]
    assert "X-Scan-Id" in post["responses"]["200"]["headers"]
    assert {"422", "401"} <= set(post["responses"])
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(body["properties"]) == {*TYPED, "at", "stay_start", "stay_days", "domain"}
    assert body["additionalProperties"] is False
