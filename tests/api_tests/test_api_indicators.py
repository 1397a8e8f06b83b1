"""`GET /v1/indicators`: the period (default, week, from/to), grouping, filters, test rows, CSV,
the error codes, and the database read off the event loop."""

from __future__ import annotations

import csv
import io
import threading
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
from scanner_agent.storage import StorageError
from tests.helpers.api import BASE, OTHER, SettingsFactory, auth, make_scan, publish, wait_stored
from tests.helpers.devices import wait_until
from tests.helpers.payloads import Fields, tagged
from tests.helpers.samples import BAD_AMC

# TODAY (tests.helpers.samples) is Sunday 2026-03-01: the current week is 2026-W09.
MONDAY = datetime(2026, 2, 23, 9, 30, tzinfo=UTC)
SUNDAY = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
WEEK_BEFORE = datetime(2026, 2, 18, 10, 0, tzinfo=UTC)  # 2026-W08
REFUSED = BAD_AMC.decode("ascii")
TEST_CARD = tagged(Fields(amc_number="999999990")).decode("latin-1")  # a test AMC


@pytest.fixture
def app(make_settings: SettingsFactory, context: ParseContext) -> FastAPI:
    settings = make_settings(indicators={"workstation": "PC-1"})
    return create_app(settings, Agent(settings, context=context))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE, headers=auth(app)) as test_client:
        yield test_client


def record(app: FastAPI, context: ParseContext, payload: str, at: datetime, device="desk"):
    publish(app, make_scan(context, payload, device, at))


@pytest.fixture
def week(app: FastAPI, client: TestClient, context: ParseContext) -> None:
    """Four scans in 2026-W09 (two covered, one refused, one test), one in 2026-W08."""
    record(app, context, OTHER, MONDAY)
    record(app, context, OTHER, SUNDAY, device="kiosk")
    record(app, context, REFUSED, SUNDAY)
    record(app, context, TEST_CARD, SUNDAY)
    record(app, context, OTHER, WEEK_BEFORE)
    wait_stored(app, 5)


def rows_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["rows"])


def test_by_default_the_current_week_by_workstation_and_decision(client: TestClient, week):
    response = client.get("/v1/indicators")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["from"] == "2026-02-23"
    assert body["to"] == "2026-03-01"
    assert body["group_by"] == ["week", "workstation", "decision"]
    assert body["include_test"] is False
    assert body["filters"] == {}
    assert body["columns"] == [
        "week",
        "workstation",
        "decision",
        "scans",
        "unreadable",
        "decode_ms_mean",
    ]
    assert rows_of(body) == [
        {
            "week": "2026-W09",
            "workstation": "PC-1",
            "decision": "covered",
            "scans": 2,
            "unreadable": 0,
            "decode_ms_mean": None,
        },
        {
            "week": "2026-W09",
            "workstation": "PC-1",
            "decision": "refused",
            "scans": 1,
            "unreadable": 0,
            "decode_ms_mean": None,
        },
    ]
    assert body["totals"] == {"scans": 3, "unreadable": 0, "decode_ms_mean": None}
    assert body["workstations"] == ["PC-1"]


def test_a_week_grouped_by_day_and_device(client: TestClient, week):
    body = client.get(
        "/v1/indicators", params={"week": "2026-W08", "group_by": "day,device_id"}
    ).json()
    assert (body["from"], body["to"]) == ("2026-02-16", "2026-02-22")
    assert [(r["day"], r["device_id"], r["scans"]) for r in rows_of(body)] == [
        ("2026-02-18", "desk", 1)
    ]
    assert body["workstations"] == ["PC-1"]  # named, though not a dimension


def test_a_period_from_to_both_days_included(client: TestClient, week):
    body = client.get(
        "/v1/indicators",
        params={"from": "2026-02-18", "to": "2026-02-23", "group_by": "day"},
    ).json()
    assert [(r["day"], r["scans"]) for r in rows_of(body)] == [
        ("2026-02-18", 1),
        ("2026-02-23", 1),
    ]


def test_no_grouping_one_row_of_totals(client: TestClient, week):
    body = client.get("/v1/indicators", params={"group_by": ""}).json()
    assert body["columns"] == ["scans", "unreadable", "decode_ms_mean"]
    assert body["rows"] == [{"scans": 3, "unreadable": 0, "decode_ms_mean": None}]


def test_test_attestations_only_when_asked(client: TestClient, week):
    params = {"group_by": "amc_number,test"}
    left_out = client.get("/v1/indicators", params=params).json()
    assert "999999990" not in {r["amc_number"] for r in rows_of(left_out)}
    counted = client.get("/v1/indicators", params={**params, "include_test": "true"}).json()
    assert counted["include_test"] is True
    test_rows = [r for r in rows_of(counted) if r["amc_number"] == "999999990"]
    assert [(r["test"], r["scans"]) for r in test_rows] == [(True, 1)]
    assert counted["totals"]["scans"] == left_out["totals"]["scans"] + 1


def test_filters_and_a_scan_counted_under_each_error(client: TestClient, week):
    refused = client.get(
        "/v1/indicators", params={"decision": "refused", "group_by": "error"}
    ).json()
    assert refused["filters"] == {"decision": "refused"}
    assert [(r["error"], r["scans"]) for r in rows_of(refused)] == [("bad_amc_number", 1)]
    kiosk = client.get("/v1/indicators", params={"device_id": "kiosk", "source": "serial"}).json()
    assert kiosk["totals"]["scans"] == 1
    other = client.get("/v1/indicators", params={"workstation": "PC-2"}).json()
    assert other["rows"] == [] and other["totals"]["scans"] == 0


def test_csv_with_accept_text_csv(client: TestClient, week):
    response = client.get(
        "/v1/indicators",
        params={"group_by": "day,decision"},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="indicators-2026-02-23-2026-03-01.csv"'
    )
    assert response.content.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows == [
        ["day", "decision", "scans", "unreadable", "decode_ms_mean"],
        ["2026-02-23", "covered", "1", "0", ""],
        ["2026-03-01", "covered", "1", "0", ""],
        ["2026-03-01", "refused", "1", "0", ""],
    ]


@pytest.mark.parametrize(
    ("accept", "is_csv"),
    [
        ("text/csv", True),
        ("text/csv;q=0.9, application/json;q=0.5", True),
        ("application/json, text/csv;q=0.5", False),
        ("*/*", False),
        ("text/csv;q=0", False),
    ],
)
def test_the_accept_header_decides(client: TestClient, accept: str, is_csv: bool):
    response = client.get("/v1/indicators", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv") is is_csv


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"group_by": "week,patient"}, "invalid_query"),
        ({"from": "2026-03-01", "to": "2026-02-23"}, "invalid_query"),
        ({"week": "2026-W54"}, "invalid_query"),
        ({"week": "48"}, "invalid_query"),
        ({"week": "2025-W53"}, "invalid_query"),
        ({"week": "2026-w48"}, "invalid_query"),
        ({"group_by": "week,,decision"}, "invalid_query"),
        ({"week": "2026-W48", "from": "2026-11-23"}, "invalid_query"),
        ({"source": "fax"}, "invalid_query"),
        ({"decision": "valid"}, "invalid_query"),
        ({"from": "2026-02-30"}, "invalid_date"),
        ({"to": "yesterday"}, "invalid_date"),
        ({"group_by_": "week"}, "unknown_parameter"),
    ],
)
def test_bad_queries_have_stable_codes(client: TestClient, params: dict[str, str], code: str):
    response = client.get("/v1/indicators", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_a_token_is_needed(app: FastAPI, client: TestClient):
    with TestClient(app, base_url=BASE) as anon:
        assert anon.get("/v1/indicators").status_code == 401


def test_a_database_that_cannot_be_read_answers_503_with_its_code(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
):
    store = app.state.api.agent.scans.store

    def unavailable(_query: object) -> list[dict[str, Any]]:
        raise StorageError("the database is unavailable", "storage_unavailable")

    monkeypatch.setattr(store, "indicator_rows", unavailable)
    response = client.get("/v1/indicators", headers={"Accept": "text/csv"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"


def test_read_in_a_worker_thread_even_from_a_local_file(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
):
    store = app.state.api.agent.scans.store
    assert store.reads_are_quick  # a local SQLite file: pages of scans are read in the loop
    seen: list[str] = []
    read = store.indicator_rows

    def spying(query: Any) -> list[dict[str, Any]]:
        seen.append(threading.current_thread().name)
        return read(query)

    monkeypatch.setattr(store, "indicator_rows", spying)
    loop_thread = client.portal.call(lambda: threading.current_thread().name)  # type: ignore[union-attr]
    assert client.get("/v1/indicators").status_code == 200
    assert seen and loop_thread not in seen  # a report may take long: never in the loop


def test_health_shows_the_export(
    make_settings: SettingsFactory, context: ParseContext, client: TestClient, tmp_path: Path
):
    body = client.get("/v1/health").json()
    assert body["indicators"] == {
        "workstation": "PC-1",
        "export_dir": None,
        "last_export": None,
        "error": None,
    }
    out = tmp_path / "export"
    out.mkdir()
    (out / "indicators-2026-W08.csv").write_text("not the week's\n")
    settings = make_settings(indicators={"workstation": "PC-1", "export_dir": str(out)})
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE) as anon:

        def reported() -> bool:
            return anon.get("/v1/health").json()["indicators"]["error"] is not None

        wait_until(reported)
        indicators = anon.get("/v1/health").json()["indicators"]
    assert indicators["export_dir"] == str(out)
    assert indicators["last_export"] is None
    assert indicators["error"]["code"] == "export_conflict"
    assert (out / "indicators-2026-W08.csv").read_text() == "not the week's\n"
    assert (out / "indicators-2026-W08.json").exists()
