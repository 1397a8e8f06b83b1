"""Counting from every source, end to end: bytes into a real device (a pty, recorded HID reports,
a video file), a file into `POST /v1/decode`, an entry into `POST /v1/attestations/validate`;
the indicators out of the scans service (`agent.scans.indicators`), with the table they are
written to."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.indicators import IndicatorQuery, IndicatorReport
from scanner_agent.parse_context import ParseContext
from tests.helpers import samples
from tests.helpers.api import BASE, VALID, LiveFactory, SettingsFactory, auth
from tests.helpers.devices import (
    PtyScanner,
    camera_video,
    damaged_datamatrix,
    hid_pos_reports,
    replay_recording,
    typed_reports,
    wait_until,
)
from tests.helpers.files import datamatrix_png, unreadable_card
from tests.helpers.samples import LONG, VALID_AIM, VALID_PIPE, VALID_TYPED
from tests.helpers.synthetic import datamatrix

FAST_RECONNECT = {"reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
BY_SOURCE = ("source", "device_id", "device_kind", "workstation")


def around_today(group_by: Any = BY_SOURCE, **filters: Any) -> IndicatorQuery:
    """The days around today (the machine's clock, the hospital's zone may differ by one)."""
    today = date.today()
    return IndicatorQuery.of(
        today - timedelta(days=2), today + timedelta(days=2), group_by, **filters
    )


def by_source(report: IndicatorReport) -> dict[str, tuple[int, int]]:
    """(scans, codes seen but not read) by source."""
    out: dict[str, tuple[int, int]] = {}
    for row in report.rows:
        scans, unread = out.get(row.keys["source"], (0, 0))
        out[row.keys["source"]] = (scans + row.scans, unread + row.unreadable)
    return out


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    device = PtyScanner(tmp_path)
    yield device
    device.unplug()


def test_every_device_is_counted(live: LiveFactory, tmp_path: Path, scanner: PtyScanner) -> None:
    """A serial scanner on a pty, a HID POS scanner and a keyboard-mode one (recorded reports
    replayed through their real drivers), a camera (a video: a card it cannot read, then one it
    reads): each scan counted once under its source, each code seen and not read too, with the
    time the agent took."""
    video = camera_video(
        tmp_path / "desk.avi",
        [
            (None, 3),
            (damaged_datamatrix(samples.VALID), 45),
            (np.array(datamatrix(samples.VALID, 6)), 30),
        ],
    )
    pos = replay_recording(tmp_path / "pos.jsonl", "hid_pos", hid_pos_reports(LONG))
    keys = replay_recording(
        tmp_path / "kbd.jsonl", "hid_keyboard", typed_reports(VALID_PIPE.decode(), "us")
    )
    server = live(
        devices=[
            {"id": "desk", "type": "serial", "port": str(scanner.link), "suffix": "crlf"},
            {"id": "pos", "type": "replay", "path": pos, "protocol": "hid_pos", "speed": 50},
            {"id": "kbd", "type": "replay", "path": keys, "protocol": "hid_keyboard",
             "layout": "us", "speed": 50},
            {"id": "cam", "type": "camera", "source": str(video), "fps": 30},
        ],
        pipeline=FAST_RECONNECT,
        indicators={"workstation": "PC-E2E"},
    )  # fmt: skip
    agent: Agent = server.app.state.api.agent

    wait_until(lambda: agent.device("desk").state == "connected")  # type: ignore[union-attr]
    scanner.write(VALID_AIM + b"\r\n")
    wait_until(lambda: agent.device("cam").state == "stopped", timeout=30)  # type: ignore[union-attr]

    expected = {"serial": (1, 0), "hid": (1, 0), "keyboard": (1, 0)}
    wait_until(
        lambda: expected.items() <= by_source(agent.scans.indicators(around_today())).items()
    )
    report = agent.scans.indicators(around_today())
    counts = by_source(report)
    cam = agent.device("cam")
    assert cam is not None and cam.counters.unreadable_codes >= 1
    # one place per sighting: the device's counter and the indicators agree
    assert counts == {**expected, "camera": (1, cam.counters.unreadable_codes)}
    assert report.workstations == ["PC-E2E"]
    kinds = {(r.keys["device_id"], r.keys["device_kind"]) for r in report.rows}
    assert kinds == {("desk", "serial"), ("pos", "replay"), ("kbd", "replay"), ("cam", "camera")}
    measured = {r.keys["source"]: r.decode_ms_mean for r in report.rows if r.scans}
    assert all(ms is not None and ms > 0 for ms in measured.values()), measured
    # the same, once written to the table
    assert agent.scans.writer is not None
    wait_until(lambda: not agent.scans.writer.pending_indicators())  # type: ignore[union-attr]
    assert by_source(agent.scans.indicators(around_today())) == counts


def test_an_upload_is_counted_with_its_codes_not_read(client: TestClient) -> None:
    agent: Agent = client.app.state.api.agent  # type: ignore[attr-defined]
    good = client.post(
        "/v1/decode", files={"file": ("mail.png", datamatrix_png(VALID), "image/png")}
    )
    assert good.status_code == 200 and len(good.json()["codes"]) == 1
    out = io.BytesIO()
    unreadable_card().save(out, "PNG")
    dim = client.post("/v1/decode", files={"file": ("dim.png", out.getvalue(), "image/png")})
    assert len(dim.json()["unreadable"]) == 1
    report = agent.scans.indicators(around_today())
    assert by_source(report) == {"upload": (1, 1)}
    [scan_row] = [r for r in report.rows if r.scans]
    assert scan_row.keys["device_id"] == "upload" and scan_row.keys["device_kind"] == "upload"
    ms = scan_row.decode_ms_mean
    assert ms is not None and ms >= good.json()["ms"]  # the file's decode, then the parse


TYPED: dict[str, Any] = {**VALID_TYPED, "at": "2026-03-01"}


@pytest.mark.parametrize("store_manual", [False, True])
def test_typed_entries_are_counted_kept_or_not(
    make_settings: SettingsFactory, context: ParseContext, store_manual: bool
) -> None:
    """Kept as scans (`store_manual`) or not, every entry is counted under `manual`, refused
    ones included; the test AMC's with test=true, left out of the default report."""
    settings = make_settings(api={"store_manual": store_manual})
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as client:
        url = "/v1/attestations/validate"
        covered = client.post(url, json=TYPED)
        refused = client.post(url, json={**TYPED, "amc_number": "07756"})
        a_test = client.post(url, json={**TYPED, "amc_number": "999999990"})
        assert [r.json()["decision"] for r in (covered, refused, a_test)] == [
            "covered",
            "refused",
            "check",
        ]
        assert ("X-Scan-Id" in covered.headers) is store_manual
        assert "X-Scan-Id" not in refused.headers
        scans = app.state.api.agent.scans
        group = ("source", "decision", "errors", "amc_number", "test")
        report = scans.indicators(around_today(group))
        assert [(r.keys["decision"], r.keys["errors"], r.scans) for r in report.rows] == [
            ("covered", None, 1),
            ("refused", "bad_amc_number", 1),
        ]
        assert {r.keys["source"] for r in report.rows} == {"manual"}
        every = scans.indicators(around_today(group, include_test=True))
        tested = [r for r in every.rows if r.keys["test"]]
        assert [(r.keys["amc_number"], r.keys["decision"], r.scans) for r in tested] == [
            ("999999990", "check", 1)
        ]
        assert every.total.scans == 3
        kept = client.get("/v1/scans").json()
        assert len(kept) == (2 if store_manual else 0)  # the refused one never


def test_a_test_scan_through_a_device_is_left_out(live: LiveFactory, scanner: PtyScanner) -> None:
    """A card of the referential's test AMC read by a desk's scanner: counted with test=true,
    shown only when asked."""
    test_card = VALID_PIPE.replace(b"AMC:774734488", b"AMC:999999990")
    server = live(
        devices=[{"id": "desk", "type": "serial", "port": str(scanner.link), "suffix": "crlf"}],
        pipeline=FAST_RECONNECT,
    )
    agent: Agent = server.app.state.api.agent
    wait_until(lambda: agent.device("desk").state == "connected")  # type: ignore[union-attr]
    scanner.write(test_card + b"\r\n" + VALID_AIM + b"\r\n")
    wait_until(lambda: agent.scans.indicators(around_today(include_test=True)).total.scans == 2)
    assert agent.scans.indicators(around_today()).total.scans == 1
    with_tests = agent.scans.indicators(around_today(("test",), include_test=True))
    assert {r.keys["test"]: r.scans for r in with_tests.rows} == {False: 1, True: 1}


def test_the_pipeline_hands_its_times_and_sightings_to_the_scans_service(
    context: ParseContext,
) -> None:
    """A camera frame's decode time plus the parse, in the scan's indicator; a sighting of two
    places not read, two codes counted (none is a scan); a duplicate, nothing."""
    from scanner_agent.bus import EventBus
    from scanner_agent.framing import Frame
    from scanner_agent.indicators import IndicatorCounter
    from scanner_agent.pipeline import DeviceStates, Incoming, Pipeline
    from scanner_agent.scan import DeviceStatus
    from scanner_agent.scans import ScanService

    bus = EventBus()
    scans = ScanService(bus, counter=IndicatorCounter("PC-1", kinds={"cam": "camera"}))
    pipeline = Pipeline(
        context,
        bus,
        DeviceStates(bus, [DeviceStatus(id="cam", type="camera")]),
        deliver=scans.record,
        count_unreadable=scans.count_unreadable,
        today=lambda: date(2026, 3, 1),
    )
    now = time.monotonic()
    places = (((0, 0), (9, 0), (9, 9), (0, 9)), ((20, 0), (29, 0), (29, 9), (20, 9)))
    sighting = Frame(b"", None, now, unreadable=places)
    assert pipeline.process(Incoming("cam", "camera", sighting)) is None
    assert pipeline.process(Incoming("cam", "camera", Frame(VALID_PIPE, None, now, decode_ms=40)))
    assert pipeline.process(Incoming("cam", "camera", Frame(VALID_PIPE, None, now))) is None
    report = scans.indicators(around_today(("source",)))
    [row] = report.rows
    assert (row.keys["source"], row.scans, row.unreadable) == ("camera", 1, 2)
    assert row.decode_ms_mean is not None and row.decode_ms_mean >= 40
