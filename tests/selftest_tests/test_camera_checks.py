"""A video file as camera: frame rate, resolution and decode time measured; a camera that gives
no frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner_agent.selftest import run_selftest
from scanner_agent.testcard import TEST_CODES, symbol_image
from tests.helpers.selftest import codes, make_settings, options


def card_video(path: Path, frames: int = 12) -> Path:
    """A MJPG AVI at 640x480 showing two test-card attestations."""
    frame = np.full((480, 640), 255, np.uint8)
    for index, code in enumerate((TEST_CODES[0], TEST_CODES[4])):
        symbol = symbol_image(code, dpi=150)
        h, w = symbol.shape
        frame[40 : 40 + h, 20 + index * 320 : 20 + index * 320 + w] = symbol
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, (640, 480))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


@pytest.mark.parametrize(("width", "height", "verdict"), [(640, 480, "pass"), (1280, 720, "warn")])
def test_a_camera_is_measured_frame_rate_resolution_and_decode_time(
    tmp_path: Path, width: int, height: int, verdict: str
) -> None:
    video = card_video(tmp_path / "card.avi")
    settings = make_settings(
        tmp_path,
        {"id": "kiosk", "type": "camera", "source": str(video), "fps": 120, "width": width,
         "height": height},
    )  # fmt: skip
    report = run_selftest(settings, options(seconds=30))
    (device,) = report.devices
    m = device.measurements
    assert (m["width"], m["height"], m["frames"]) == (640, 480, 12)
    assert m["fps"] > 0
    assert m["decode_ms_mean"] > 0
    assert m["decode_ms_max"] >= m["decode_ms_mean"]
    got = codes(device.checks)
    assert got["camera_measured"] == "pass"
    assert got["codes_read"] == "pass"
    assert m["codes"] == 2  # each code once while it stays in view
    assert "aim_missing" not in got  # the decoder knows the symbology
    if verdict == "warn":
        resolution = next(c for c in device.checks if c.code == "camera_resolution")
        assert "width = 640, height = 480" in resolution.fix
        assert got["camera_resolution"] == "warn"
    else:
        assert "camera_resolution" not in got
    assert device.verdict in (verdict, "warn")  # a slow machine may add camera_decode_slow


def test_a_camera_that_gives_no_frame_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter.fourcc(*"MJPG"), 30, (64, 48))
    writer.release()
    settings = make_settings(tmp_path, {"id": "kiosk", "type": "camera", "source": str(empty)})
    report = run_selftest(settings, options(seconds=5))
    got = codes(report.devices[0].checks)
    assert (got["opened"], got["camera_no_frames"]) == ("pass", "fail")
    assert report.verdict == "fail"


def test_frames_skipped_by_a_slow_decoder_are_reported_by_the_camera_checks() -> None:
    from decoders.base import Reading
    from drivers.camera import FrameCounts
    from scanner_agent.config import CameraDevice
    from scanner_agent.selftest.camera_checks import FrameProbe, camera_checks
    from scanner_agent.selftest.device_reading import Observed

    config = CameraDevice(id="kiosk", type="camera", source=0, fps=30, width=64, height=48)
    probe = FrameProbe(lambda frame: Reading([]))
    for _ in range(10):
        probe(np.zeros((48, 64), np.uint8))
    counts = FrameCounts(read=30, decoded=10, skipped=20, decode_ms_total=1000.0)
    checks, m = camera_checks(config, probe, Observed(elapsed_s=1.0), counts)
    assert (m["frames"], m["frames_decoded"], m["frames_skipped"]) == (30, 10, 20)
    assert (m["fps"], m["decode_fps"], m["decode_ms_mean"]) == (30.0, 10.0, 100.0)
    slow = next(c for c in checks if c.code == "camera_decode_slow")
    assert slow.verdict == "warn"
    assert "20 of 30 frames skipped" in slow.message
    # the same camera keeping up: no warning
    quick = FrameCounts(read=30, decoded=30, skipped=0, decode_ms_total=300.0)
    checks, _ = camera_checks(config, probe, Observed(elapsed_s=1.0), quick)
    assert "camera_decode_slow" not in codes(checks)
    assert "camera_frame_rate" not in codes(checks)
