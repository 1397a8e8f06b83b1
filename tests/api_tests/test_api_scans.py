"""Scans, parse, devices, health and metrics through the real app (TestClient)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.bus import DeviceEvent
from scanner_agent.cli import main
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import DeviceStatus
from tests.helpers.api import (
    BASE,
    GS,
    OTHER,
    VALID,
    SettingsFactory,
    auth,
    make_scan,
    publish,
    wait_stored,
)

JSON = {"Content-Type": "application/json"}


def test_scans_newest_first_with_filters(client: TestClient, context: ParseContext):
    now = datetime.now(UTC)
    first = make_scan(context, VALID, "desk", now - timedelta(minutes=3))
    second = make_scan(context, OTHER, "kiosk", now - timedelta(minutes=2))
    third = make_scan(context, VALID, "desk", now - timedelta(minutes=1))
    for scan in (first, second, third):
        publish(client.app, scan)  # type: ignore[arg-type]
    wait_stored(client.app, 3)  # type: ignore[arg-type]

    listed = client.get("/v1/scans").json()
    assert [s["id"] for s in listed] == [third.id, second.id, first.id]
    assert listed[0]["attestation"]["member_number"] == "12345678"
    assert [s["id"] for s in client.get("/v1/scans?device=kiosk").json()] == [second.id]
    since = (now - timedelta(minutes=2, seconds=1)).isoformat()
    got = client.get("/v1/scans", params={"since": since}).json()
    assert [s["id"] for s in got] == [third.id, second.id]
    assert len(client.get("/v1/scans?limit=1").json()) == 1
    assert client.get("/v1/scans?limit=0").status_code == 422

    assert client.get("/v1/scans/latest").json()["id"] == third.id
    assert client.get("/v1/scans/latest?device=kiosk").json()["id"] == second.id
    assert client.get(f"/v1/scans/{first.id}").json()["id"] == first.id
    missing = client.get("/v1/scans/latest?device=nobody")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "scan_not_found"
    assert client.get("/v1/scans/unknown-id").json()["error"]["code"] == "scan_not_found"


def test_stored_scans_are_served_after_a_restart(settings: Any, context: ParseContext):
    app = create_app(settings, Agent(settings, context=context))
    scan = make_scan(context)
    with TestClient(app, base_url=BASE, headers=auth(app)):
        publish(app, scan)
        wait_stored(app, 1)
    again = create_app(settings, Agent(settings, context=context))
    with TestClient(again, base_url=BASE, headers=auth(again)) as c:
        assert c.get("/v1/scans/latest").json()["id"] == scan.id  # from the database
        assert c.get(f"/v1/scans/{scan.id}").json()["attestation"]["member_number"] == "12345678"


def test_erasure_of_one_scan_everywhere(client: TestClient, context: ParseContext):
    keep, erase = make_scan(context), make_scan(context, OTHER)
    publish(client.app, keep)  # type: ignore[arg-type]
    publish(client.app, erase)  # type: ignore[arg-type]
    wait_stored(client.app, 2)  # type: ignore[arg-type]
    assert client.delete(f"/v1/scans/{erase.id}").status_code == 204
    assert client.get(f"/v1/scans/{erase.id}").status_code == 404
    assert client.get("/v1/scans/latest").json()["id"] == keep.id  # not the erased one
    assert [s["id"] for s in client.get("/v1/scans").json()] == [keep.id]
    store = client.app.state.api.agent.scans.store  # type: ignore[attr-defined]
    assert store.get(erase.id) is None
    again = client.delete(f"/v1/scans/{erase.id}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "scan_not_found"


def test_erasure_of_all_scans_or_one_devices(client: TestClient, context: ParseContext):
    for device in ("desk", "desk", "kiosk"):
        publish(client.app, make_scan(context, device=device))  # type: ignore[arg-type]
    wait_stored(client.app, 3)  # type: ignore[arg-type]
    assert client.delete("/v1/scans?device=desk").json() == {"deleted": 2}
    assert [s["device_id"] for s in client.get("/v1/scans").json()] == ["kiosk"]
    assert client.delete("/v1/scans").json() == {"deleted": 1}
    assert client.get("/v1/scans").json() == []
    assert client.get("/v1/scans/latest").status_code == 404


def test_scans_past_the_retention_are_not_served(
    make_settings: SettingsFactory, context: ParseContext
):
    settings = make_settings(storage={"retention_hours": 1})
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as c:
        old = make_scan(context, received_at=datetime.now(UTC) - timedelta(hours=2))
        publish(app, old)
        wait_stored(app, 1)
        fresh = make_scan(context, received_at=datetime.now(UTC) - timedelta(minutes=50))
        publish(app, fresh)
        wait_stored(app, 2)
        app.state.api.agent.scans.purge_now()  # the writer also runs it every minute
        assert c.get("/v1/scans/latest").json()["id"] == fresh.id
        assert c.get(f"/v1/scans/{old.id}").status_code == 404
        assert [s["id"] for s in c.get("/v1/scans").json()] == [fresh.id]
        assert app.state.api.agent.scans.store.get(old.id) is None


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    main(["parse", "--json", *args])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.parametrize("payload", [OTHER, "AMCTP01|AMC:12|ADH:1", "garbage", "]d2010123"])
def test_parse_is_the_cli_contract(
    client: TestClient, capsys: pytest.CaptureFixture[str], payload: str
):
    api = client.post("/v1/parse", json={"payload": payload, "at": "2026-03-01"})
    assert api.status_code == 200
    assert api.json() == cli_json(capsys, "--at", "2026-03-01", payload)


def test_parse_bytes_and_stay_as_the_cli(client: TestClient, capsys: pytest.CaptureFixture[str]):
    raw = VALID.encode()
    b64 = base64.b64encode(raw).decode()
    body = {"payload_b64": b64, "stay_start": "2026-12-20", "stay_days": 20}
    api = client.post("/v1/parse", json=body).json()
    assert api == cli_json(capsys, "--b64", "--stay-start", "2026-12-20", "--stay-days", "20", b64)
    assert api["validity"]["stay"] == "partial"
    latin = client.post("/v1/parse", json={"payload_b64": base64.b64encode(b"\xe9\xff").decode()})
    assert latin.json()["errors"][0]["code"] == "not_an_attestation"
    assert GS.encode() in raw


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid_request"),
        ({"payload": "x", "payload_b64": "eA=="}, "invalid_request"),
        ({"payload_b64": "not base64!"}, "invalid_request"),
        ({"payload_b64": "QUJD="}, "invalid_request"),
        ({"payload": "x", "stay_start": "2026-01-01"}, "invalid_request"),
        ({"payload": "x", "stay_start": "2026-01-01", "stay_days": -1}, "invalid_request"),
        ({"payload": "x", "at": "yesterday"}, "invalid_date"),
        ({"payload": "x", "at": "2026-02-30"}, "invalid_date"),
        ({"payload": "x", "at": 1767225600}, "invalid_date"),
        ({"payload": "x", "stay_start": "20260101", "stay_days": 2}, "invalid_date"),
        ({"payload": "x", "domain": "XYZ"}, "invalid_domain"),
        ({"payload": "x", "extra": 1}, "invalid_request"),
        ({"payload": 12}, "invalid_request"),
    ],
)
def test_bad_parse_requests(client: TestClient, body: dict[str, Any], code: str):
    response = client.post("/v1/parse", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert "yesterday" not in response.text  # inputs are not echoed back


def test_bad_json_body(client: TestClient):
    response = client.post("/v1/parse", content=b"{not json", headers=JSON)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_devices(make_settings: SettingsFactory, context: ParseContext):
    device = {"id": "desk", "type": "serial", "port": "/dev/nothing", "enabled": False}
    settings = make_settings(devices=[device])
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as c:
        listed = c.get("/v1/devices").json()
        assert [(d["id"], d["type"]) for d in listed] == [("desk", "serial")]
        one = c.get("/v1/devices/desk").json()
        assert set(one) >= {"state", "last_error", "counters", "diagnostics"}
        missing = c.get("/v1/devices/other")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "device_not_found"
        health = c.get("/v1/health").json()
        assert health["devices"][0]["id"] == "desk"


def test_metrics(client: TestClient, context: ParseContext):
    publish(client.app, make_scan(context, VALID, "desk"))  # type: ignore[arg-type]
    publish(client.app, make_scan(context, "garbage", "desk"))  # type: ignore[arg-type]
    bus = client.app.state.api.agent.bus  # type: ignore[attr-defined]
    status = DeviceStatus(id="desk", type="serial", state="error")
    bus.publish(DeviceEvent(status))
    wait_stored(client.app, 2)  # type: ignore[arg-type]
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text_ = response.text
    assert 'scanner_agent_scans_total{device="desk",outcome="valid"} 1' in text_
    assert 'scanner_agent_scans_total{device="desk",outcome="refused"} 1' in text_
    assert 'scanner_agent_decisions_total{device="desk",decision="covered"} 1' in text_
    assert 'scanner_agent_decisions_total{device="desk",decision="refused"} 1' in text_
    assert 'scanner_agent_device_errors_total{device="desk"} 1' in text_
    assert "scanner_agent_storage_up 1" in text_
    assert 'scanner_agent_decode_seconds_bucket{le="+Inf"} 0' in text_
    assert "12345678" not in text_


def test_a_full_database_does_not_stop_live_clients(client: TestClient, context: ParseContext):
    app = client.app
    store = app.state.api.agent.scans.store  # type: ignore[attr-defined]
    publish(app, make_scan(context))  # type: ignore[arg-type]
    wait_stored(app, 1)  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar()

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(store.engine, "connect", cap)
    store.engine.dispose()
    scans = [make_scan(context) for _ in range(100)]
    for scan in scans:
        publish(app, scan)  # type: ignore[arg-type]
    writer = app.state.api.agent.scans.writer  # type: ignore[attr-defined]
    from tests.helpers.devices import wait_until

    wait_until(lambda: writer.state == "error")
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    assert health["storage"]["state"] == "error"
    assert health["storage"]["error"] == "storage_full"
    assert health["storage"]["pending"] > 0
    assert "scanner_agent_storage_up 0" in client.get("/metrics").text
    assert client.get("/v1/scans/latest").json()["id"] == scans[-1].id  # still served
    assert client.get(f"/v1/scans/{scans[0].id}").status_code == 200

    event.remove(store.engine, "connect", cap)
    store.engine.dispose()
    wait_until(lambda: writer.state == "ok" and writer.pending == 0)
    assert client.get("/v1/health").json()["status"] == "ok"
    assert len(client.get("/v1/scans?limit=1000").json()) == 101


def test_no_member_number_or_payload_in_any_log_line(
    client: TestClient, context: ParseContext, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("DEBUG")
    scan = make_scan(context)
    publish(client.app, scan)  # type: ignore[arg-type]
    wait_stored(client.app, 1)  # type: ignore[arg-type]
    client.get("/v1/scans")
    client.post("/v1/parse", json={"payload": VALID})
    client.post("/v1/parse", json={"payload": "AMCTP01|AMC:1|ADH:987654321|DD:2026|DF:x"})
    client.delete(f"/v1/scans/{scan.id}")
    assert caplog.records  # the agent did log (start, storage...)
    for secret in ("12345678", "987654321", "AMC:0775627391"):
        assert secret not in caplog.text


def test_scans_are_paged_with_a_cursor(client: TestClient, context: ParseContext):
    now = datetime.now(UTC)
    scans = [
        make_scan(context, device="desk", received_at=now - timedelta(seconds=i)) for i in range(5)
    ]
    for scan in scans[:3]:
        publish(client.app, scan)  # type: ignore[arg-type]
    wait_stored(client.app, 3)  # type: ignore[arg-type]
    for scan in scans[3:]:
        publish(client.app, scan)  # type: ignore[arg-type]  # written or not: the same pages
    seen: list[str] = []
    url: str | None = "/v1/scans?device=desk&limit=2"
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        seen += [s["id"] for s in response.json()]
        link = response.headers.get("link")
        cursor = response.headers.get("x-next-cursor")
        assert (link is None) == (cursor is None)
        if link is None:
            break
        url = link.removeprefix("<").split(">;")[0]
        assert link.endswith('>; rel="next"')
        assert f"cursor={cursor}" in url
        assert "device=desk" in url
        assert "limit=2" in url
    assert seen == [s.id for s in scans]
    for bad in ("nonsense", "1~a b", "9" * 17 + "~x"):
        refused = client.get("/v1/scans", params={"cursor": bad})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_cursor"
