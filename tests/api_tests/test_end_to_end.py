"""Every device kind end to end: bytes (or reports, or video frames, or a file) go into the real
driver of a running agent, and the parsed scan comes out of the API of a real uvicorn.

Nothing is injected between the device and the API: the devices are configured exactly as in a
hospital's agent.toml, built by the agent's own driver factory, decoded by the real decoders.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import zxingcpp

from tests.helpers.api import LiveFactory, auth, wait_until
from tests.helpers.devices import hid_pos_reports, replay_recording, typed_reports
from tests.helpers.samples import BAD_AMC, FIXED, LONG, VALID

FAST_RECONNECT = {"reconnect_min_s": 0.05, "reconnect_max_s": 0.2}


def scans_of(server: Any, device: str, count: int = 1, timeout: float = 20) -> list[dict[str, Any]]:
    """The device's scans through `GET /v1/scans`, once `count` of them are there (oldest first)."""
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        nonlocal found
        response = httpx.get(
            f"{server.url}/v1/scans", params={"device": device}, headers=auth(server.app), timeout=5
        )
        assert response.status_code == 200, response.text
        found = response.json()
        return len(found) >= count

    wait_until(enough, timeout)
    return list(reversed(found))


def device_status(server: Any, device: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/v1/devices/{device}", headers=auth(server.app), timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_serial_scanner_bytes_to_api(live: LiveFactory, pty: tuple[int, str]) -> None:
    master, path = pty
    server = live(
        devices=[{"id": "desk", "type": "serial", "port": path, "suffix": "cr"}],
        pipeline=FAST_RECONNECT,
    )
    wait_until(lambda: device_status(server, "desk")["state"] == "connected")
    # a code cut at odd places, the end of it and the start of a refused one in one write
    wire = b"]d1" + VALID + b"\r" + BAD_AMC + b"\r"
    for piece in (wire[:5], wire[5:40], wire[40:]):
        os.write(master, piece)
        time.sleep(0.01)
    first, second = scans_of(server, "desk", 2)
    assert first["source"] == "serial"
    assert first["symbology"] == "]d1"
    assert first["attestation"]["status"] == "valid"
    assert first["attestation"]["amc_number"] == "0775627391"
    assert second["attestation"]["errors"][0]["code"] == "bad_amc_number"
    counters = device_status(server, "desk")["counters"]
    assert (counters["good_scans"], counters["refused_scans"]) == (1, 1)


def test_serial_next_waits_for_the_scan(live: LiveFactory, pty: tuple[int, str]) -> None:
    master, path = pty
    server = live(devices=[{"id": "kiosk", "type": "serial", "port": path, "suffix": "crlf"}])
    wait_until(lambda: device_status(server, "kiosk")["state"] == "connected")
    with httpx.Client(base_url=server.url, headers=auth(server.app), timeout=30) as client:
        import threading

        answers: list[httpx.Response] = []
        waiter = threading.Thread(
            target=lambda: answers.append(
                client.get("/v1/scans/next", params={"timeout": 20, "device": "kiosk"})
            ),
        )
        waiter.start()
        time.sleep(0.3)  # the kiosk is waiting: "present your attestation"
        os.write(master, FIXED + b"\r\n")
        waiter.join(30)
    assert answers and answers[0].status_code == 200
    scan = answers[0].json()
    assert scan["device_id"] == "kiosk"
    assert scan["attestation"]["layout"] == "fixed"
    assert scan["attestation"]["convention_types"] == ["MU", "SP"]


def test_hid_pos_reports_to_api(live: LiveFactory, tmp_path: Path) -> None:
    path = replay_recording(tmp_path / "hidpos.jsonl", "hid_pos", hid_pos_reports(LONG))
    server = live(devices=[{"id": "pos", "type": "replay", "protocol": "hid_pos", "path": path}])
    (scan,) = scans_of(server, "pos")
    assert scan["source"] == "replay"
    assert scan["symbology"] == "]d1"
    # 3 reports joined across the continuation bit
    assert scan["attestation"]["status"] == "valid", scan["attestation"]["errors"]
    assert scan["attestation"]["routing_criterion"] == "ABCDEFGHIJ"


def test_keyboard_wedge_on_the_wrong_layout_to_api(live: LiveFactory, tmp_path: Path) -> None:
    # a scanner set for a US keyboard, configured as AZERTY on this desk; GS cannot be typed
    typed = typed_reports(
        "AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45|DD:20260101|DF:20260630", "us"
    )
    path = replay_recording(tmp_path / "wedge.jsonl", "hid_keyboard", typed)
    server = live(
        devices=[
            {
                "id": "wedge",
                "type": "replay",
                "protocol": "hid_keyboard",
                "layout": "fr",
                "path": path,
            }
        ],
    )
    (scan,) = scans_of(server, "wedge")
    attestation = scan["attestation"]
    assert attestation["status"] == "valid"
    assert attestation["member_number"] == "AB-123/45"
    assert "keyboard_layout_mismatch" in [w["code"] for w in attestation["warnings"]]
    diagnostics = device_status(server, "wedge")["diagnostics"]
    assert any(
        "us" in d["message"].lower() or "qwerty" in d["message"].lower() for d in diagnostics
    )


def _video(path: Path, payload: bytes) -> str:
    symbol = np.array(
        zxingcpp.create_barcode(
            payload.decode("latin-1"), zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True
        ).to_image(scale=6)
    )
    frame = np.full((720, 1280, 3), 190, np.uint8)
    h, w = symbol.shape
    frame[200 : 200 + h, 500 : 500 + w] = cv2.cvtColor(symbol, cv2.COLOR_GRAY2BGR)
    blank = np.full((720, 1280, 3), 190, np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, (1280, 720))
    assert writer.isOpened()
    for image in [blank] * 10 + [frame] * 40 + [blank] * 10:
        writer.write(image)
    writer.release()
    return str(path)


def test_camera_frames_to_api(live: LiveFactory, tmp_path: Path) -> None:
    video = _video(tmp_path / "desk.avi", VALID)
    server = live(devices=[{"id": "cam", "type": "camera", "source": video, "fps": 30}])
    scans = scans_of(server, "cam")
    time.sleep(1.0)  # the code stays in view for 40 frames: still one scan
    scans = scans_of(server, "cam")
    assert len(scans) == 1
    assert scans[0]["source"] == "camera"
    assert scans[0]["attestation"]["status"] == "valid"
    assert scans[0]["attestation"]["member_number"] == "12345678"


def test_a_code_seen_but_unreadable_then_read_on_the_event_stream(
    live: LiveFactory, tmp_path: Path
) -> None:
    """A camera (a video file OpenCV opens like one) shows a Data Matrix located but unreadable
    (its middle blanked), then the same card readable: `/v1/events` says `code_unreadable`,
    then gives the scan; the device counts it, and so does /metrics."""
    import asyncio

    from tests.helpers.api import EventReader
    from tests.helpers.devices import camera_video, damaged_datamatrix
    from tests.helpers.synthetic import datamatrix

    video = tmp_path / "desk.avi"  # not there yet: the camera waits for it
    server = live(
        devices=[{"id": "cam", "type": "camera", "source": str(video), "fps": 30}],
        pipeline=FAST_RECONNECT,
    )

    async def events() -> list[dict[str, str]]:
        async with (
            server.client(timeout=30) as client,
            client.stream("GET", "/v1/events") as response,
        ):
            reader = EventReader(response)
            await reader.opened()
            camera_video(
                video,
                [(None, 3), (damaged_datamatrix(VALID), 45), (np.array(datamatrix(VALID, 6)), 30)],
            )
            seen: list[dict[str, str]] = []
            while not any(e["event"] == "scan" for e in seen):
                seen += await reader.next()
            return [e for e in seen if e["event"] != "device"]

    got = asyncio.run(events())
    assert got[0]["event"] == "code_unreadable"
    assert got[-1]["event"] == "scan"
    notice = json.loads(got[0]["data"])
    assert set(notice) == {"device_id", "at", "message", "positions"}
    assert notice["device_id"] == "cam"
    assert notice["message"] == "code détecté mais illisible : rapprochez / éclairez"
    assert len(notice["positions"]) == 1 and len(notice["positions"][0]) == 4
    assert "12345678" not in got[0]["data"]  # nothing personal in it
    scan = json.loads(got[-1]["data"])
    assert (scan["device_id"], scan["attestation"]["member_number"]) == ("cam", "12345678")
    assert notice["at"] <= scan["received_at"]
    counters = device_status(server, "cam")["counters"]
    assert counters["unreadable_codes"] == sum(e["event"] == "code_unreadable" for e in got)
    assert counters["frames_read"] == counters["frames_decoded"] + counters["frames_skipped"]
    metrics = httpx.get(f"{server.url}/metrics", headers=auth(server.app), timeout=5).text
    unreadable = counters["unreadable_codes"]
    assert f'scanner_agent_unreadable_codes_total{{device="cam"}} {unreadable}' in metrics


def test_demo_scanner_to_api(live: LiveFactory) -> None:
    server = live(devices=[{"id": "demo", "type": "demo", "interval_s": 0.05}])
    scans = scans_of(server, "demo", 3)
    assert {s["source"] for s in scans} == {"demo"}
    assert all(s["attestation"]["status"] in ("valid", "invalid") for s in scans)


def test_uploaded_file_to_api(live: LiveFactory, tmp_path: Path) -> None:
    server = live()
    video = _video(tmp_path / "x.avi", FIXED)  # reuse the frame maker: one still from it
    capture = cv2.VideoCapture(video)
    for _ in range(15):
        ok, frame = capture.read()
    capture.release()
    assert ok
    ok, png = cv2.imencode(".png", frame)
    assert ok
    response = httpx.post(
        f"{server.url}/v1/decode",
        headers=auth(server.app),
        timeout=30,
        files={"file": ("mail.png", png.tobytes(), "image/png")},
    )
    assert response.status_code == 200, response.text
    (scan,) = scans_of(server, "upload")
    assert scan["source"] == "upload"
    assert scan["attestation"]["layout"] == "fixed"
