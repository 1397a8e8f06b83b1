"""Schemathesis against the served OpenAPI schema: generated requests (valid and not) must get
documented answers, never a 500, and bodies that match the schema."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.config import load_settings
from scanner_agent.layouts import load_layouts
from scanner_agent.parse_context import ParseContext
from scanner_agent.referential import Referential
from tests.helpers.api import BASE, PORT, auth
from tests.helpers.samples import CONFIG

# The event stream never ends and /next waits: both are tested on a real server instead.
ENDLESS = r"^/v1/(events|scans/next)$"
HOST = {"Host": f"127.0.0.1:{PORT}"}

_data = tempfile.mkdtemp(prefix="scanner-agent-schema-")
_settings = load_settings(env={}, overrides={"agent": {"data_dir": _data}, "api": {"port": PORT}})
_context = ParseContext(
    load_layouts([CONFIG / "layouts"]), Referential.load(CONFIG / "amc_referential.csv")
)
app = create_app(_settings, Agent(_settings, context=_context))
schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=HOST).exclude(
    path_regex=ENDLESS, method="GET"
)
# Whether an uploaded file is an image cannot be said in OpenAPI: for /v1/decode a "valid" file
# may be refused (422 not_an_image) and an "invalid" one (a number as the file) is just bytes.
# Every other check (no 500, documented status and body) still runs there.
CONTENT_BLIND = [checks.positive_data_acceptance, checks.negative_data_rejection]
# Neither can whether a period ends after it starts, or whether a week is given with `from` and
# `to`: /v1/indicators may refuse a "valid" request (422 invalid_query).
PERIOD_BLIND = [checks.positive_data_acceptance]
# Nor that /v1/selftest's level `interactive` needs a `device` and that `seconds` goes only with
# it (422 invalid_request otherwise).
LEVEL_BLIND = [checks.positive_data_acceptance]


@pytest.fixture(scope="module", autouse=True)
def _running() -> Iterator[None]:
    with TestClient(app, base_url=BASE):  # the lifespan: hub and storage started
        yield
    shutil.rmtree(_data, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples on every run: CI never fails by the draw
)
def test_the_api_matches_its_schema(case: schemathesis.Case) -> None:
    excluded = {
        "/v1/decode": CONTENT_BLIND,
        "/v1/indicators": PERIOD_BLIND,
        "/v1/selftest": LEVEL_BLIND,
    }.get(case.path)
    headers = dict(HOST)
    # a generated token is replaced by the real one, but a case that drops the header on
    # purpose (a negative case: "Authorization is required") must go out without it
    if case.headers and "Authorization" in case.headers:
        headers.update(auth(app))
    case.call_and_validate(headers=headers, excluded_checks=excluded)


def test_the_schema_is_served_and_names_every_endpoint(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert set(served["paths"]) == {
        "/v1/health",
        "/v1/devices",
        "/v1/devices/{device_id}",
        "/v1/scans",
        "/v1/scans/latest",
        "/v1/scans/next",
        "/v1/scans/{scan_id}",
        "/v1/scans/{scan_id}/claim",
        "/v1/events",
        "/v1/events/ticket",
        "/v1/parse",
        "/v1/attestations/validate",
        "/v1/decode",
        "/v1/selftest",
        "/v1/testcard.pdf",
        "/v1/indicators",
        "/metrics",
    }
    assert "HTTPBearer" in served["components"]["securitySchemes"]
