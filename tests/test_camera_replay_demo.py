"""Camera (a MJPG AVI written by the test), replay (recordings in JSON lines) and demo devices,
end to end through the agent; and the pipeline's own guarantees."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest
import zxingcpp

import decoders.cascade
from decoders.base import DecodedSymbol, Reading
from drivers.camera import CameraDriver, CameraParams
from drivers.demo import sample_payloads
from drivers.replay import RecordingError, read_recording
from scanner_agent.agent import Agent
from scanner_agent.bus import DeviceEvent, EventBus, ScanEvent, Subscription, UnreadableEvent
from scanner_agent.config import DeviceConfig
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.framing import Frame
from scanner_agent.parse_context import ParseContext
from scanner_agent.pipeline import DeviceStates, Incoming, Pipeline
from scanner_agent.scan import DeviceStatus
from tests.helpers.devices import (
    OLD_READER_DESCRIPTOR,
    AgentRunner,
    hid_pos_reports,
    next_scan,
    typed_reports,
    wait_for,
    wait_state,
    wait_until,
)
from tests.helpers.samples import LONG, TODAY, VALID, VALID_PIPE


def zxing_decode(frame: Any) -> Reading:
    """What `Decoder.read` does, minus its pre-processing: zxing-cpp on the frame."""
    return Reading(
        [
            DecodedSymbol(r.bytes, r.symbology_identifier, r.format.name, decoder="zxing-cpp")
            for r in zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.DataMatrix)
        ]
    )


def code_frame(payload: bytes | None, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A grey camera frame, with the DataMatrix of `payload` in it (or none)."""
    width, height = size
    frame = np.full((height, width, 3), 200, np.uint8)
    if payload is not None:
        image = np.array(
            zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix).to_image(scale=5)
        )
        h, w = image.shape
        y, x = (height - h) // 2, (width - w) // 3
        frame[y : y + h, x : x + w] = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return frame


def write_video(path: Path, scenes: list[tuple[bytes | None, int]]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, (640, 480))
    assert writer.isOpened()
    for payload, count in scenes:
        frame = code_frame(payload)
        for _ in range(count):
            writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def start_agent(agents: AgentRunner) -> Any:
    def factory(config: DeviceConfig) -> DriverSetup:
        return build_driver(config, decode=zxing_decode)

    def start(*devices: dict[str, Any], **pipeline: Any) -> tuple[Agent, Subscription]:
        return agents.start(devices, factory, **{"reconnect_max_s": 0.1, **pipeline})

    return start


# --- camera -------------------------------------------------------------------------------


def test_camera_codes_appearing_and_staying_are_one_scan_each(
    tmp_path: Path, start_agent: Any
) -> None:
    video = write_video(
        tmp_path / "desk.avi",
        [(None, 5), (VALID, 25), (None, 5), (VALID_PIPE, 25), (None, 3)],
    )
    agent, sub = start_agent(
        {"id": "cam", "type": "camera", "source": str(video), "fps": 120, "gone_after_s": 1.0},
        duplicate_window_s=0,
    )
    first, second = next_scan(sub), next_scan(sub)
    assert first.source == "camera"
    # zxing-cpp says ]d7 for the rectangular (DMRE) symbol this payload is encoded in
    assert first.symbology is not None
    assert first.symbology.startswith("]d")
    assert first.attestation.amc_number == "0775627391"
    assert second.attestation.amc_number == "774734488"
    wait_until(lambda: agent.device("cam").state == "stopped")
    assert "finished" in agent.device("cam").description
    counters = agent.device("cam").counters
    assert (counters.good_scans, counters.refused_scans) == (2, 0)  # not one per frame


def test_camera_driver_paces_frames_and_ends_with_the_file(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", [(VALID_PIPE, 4)])
    now = [0.0]
    driver = CameraDriver(
        CameraParams(source=str(video), fps=10),
        decode=zxing_decode,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    driver.open()
    reads = []
    while not driver.exhausted:
        reads.append(driver.read(1.0))
    driver.close()
    assert [len(r.symbols) for r in reads if r is not None] == [1, 1, 1, 1]
    # a file plays at its own rate (30 fps), like a live camera: four frames, then its end
    assert now[0] == pytest.approx(4 / 30)
    assert (driver.frames_read, driver.frames_decoded, driver.frames_skipped) == (4, 4, 0)


def numbered_video(path: Path, frames: int, fps: float) -> Path:
    """A MJPG AVI at `fps` whose frame `i` is a flat grey of level `10 + 14 * i`."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (160, 120))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((120, 160, 3), 10 + 14 * i, np.uint8))
    writer.release()
    return path


def play(video: Path, decode_s: float) -> tuple[CameraDriver, list[int], float]:
    """The file played by the driver on a clock of its own, with a decoder that takes
    `decode_s` seconds of that clock per frame: the driver, the numbers of the frames decoded,
    and the time at the end."""
    now = [0.0]
    decoded: list[int] = []

    def slow_decode(frame: Any) -> Reading:
        decoded.append(round((float(frame.mean()) - 10) / 14))
        now[0] += decode_s
        return Reading([])

    driver = CameraDriver(
        CameraParams(source=str(video), fps=30),
        decode=slow_decode,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + max(0.0, s)),
    )
    driver.open()
    while not driver.exhausted:
        driver.read(1.0)
    driver.close()
    return driver, decoded, now[0]


def test_frames_are_skipped_not_queued_when_decoding_is_slower_than_the_file(
    tmp_path: Path,
) -> None:
    video = numbered_video(tmp_path / "n.avi", 16, fps=8)  # a frame every 125 ms
    driver, decoded, _ = play(video, decode_s=0.25)  # decoding takes two frames' time
    # the frame of now is decoded each time, never the backlog: every other frame
    assert decoded == [0, 2, 4, 6, 8, 10, 12, 14]
    counts = driver.frame_counts()
    assert (counts.read, counts.decoded, counts.skipped) == (16, 8, 8)
    assert counts.read == counts.decoded + counts.skipped
    assert counts.decode_ms_total == pytest.approx(8 * 250)
    assert counts.recent_fps == pytest.approx(4.0)  # 8 decoded in 1.75 s of starts
    assert counts.recent_ms == pytest.approx(250)


def test_a_file_decoded_faster_than_it_plays_is_played_at_its_own_rate(tmp_path: Path) -> None:
    video = numbered_video(tmp_path / "n.avi", 16, fps=8)
    driver, decoded, end = play(video, decode_s=0.01)
    assert decoded == list(range(16))  # every frame, in order
    assert (driver.frames_skipped, driver.frames_decoded) == (0, 16)
    assert end == pytest.approx(16 / 8)  # paced at 8 fps (the end found when frame 16 was due)
    assert driver.frame_counts().recent_fps == pytest.approx(8.0)


def test_a_cameras_frame_counts_reach_its_status_and_the_metrics(
    tmp_path: Path, start_agent: Any
) -> None:
    from api.metrics import device_families, render

    video = write_video(tmp_path / "v.avi", [(None, 4), (VALID_PIPE, 8)])
    agent, sub = start_agent({"id": "cam", "type": "camera", "source": str(video), "fps": 30})
    next_scan(sub)
    wait_until(lambda: agent.device("cam").state == "stopped")
    counters = agent.device("cam").counters
    assert counters.frames_read == 12
    assert counters.frames_decoded + counters.frames_skipped == 12
    assert counters.frames_decoded >= 1
    assert counters.decode_ms_mean is not None
    text = render(device_families(agent.devices()))
    decoded = 'scanner_agent_camera_frames_total{device="cam",outcome="decoded"} '
    skipped = 'scanner_agent_camera_frames_total{device="cam",outcome="skipped"} '
    assert decoded + str(counters.frames_decoded) in text
    assert skipped + str(counters.frames_skipped) in text
    assert 'scanner_agent_camera_decode_seconds_total{device="cam"}' in text


class CountingDecoder(decoders.cascade.Decoder):
    """The real decoder, counting the instances made and the frames each one read."""

    made: ClassVar[list[CountingDecoder]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames = 0
        CountingDecoder.made.append(self)

    def read(self, image: Any, page: int = 1, cancel: Any = None) -> Reading:
        self.frames += 1
        return super().read(image, page, cancel)


def test_one_decoder_made_with_the_configured_options_serves_the_whole_stream(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner_agent.config import Settings

    monkeypatch.setattr(decoders.cascade, "Decoder", CountingDecoder)
    monkeypatch.setattr(CountingDecoder, "made", [])
    video = write_video(tmp_path / "v.avi", [(None, 3), (VALID_PIPE, 6), (None, 3)])
    settings = Settings.model_validate(
        {
            "decoder": {"time_budget_ms": 17, "passes": ["fixed", "local"], "libdmtx": False},
            "devices": [{"id": "cam", "type": "camera", "source": str(video), "fps": 120}],
        }
    )
    agent = Agent(settings, context=context, today=lambda: TODAY, storage=False)
    sub = agent.bus.subscribe("test", maxsize=10_000)
    agent.start()
    try:
        assert next_scan(sub).attestation.amc_number == "774734488"
        wait_until(lambda: agent.device("cam").state == "stopped")
    finally:
        agent.stop()
    (decoder,) = CountingDecoder.made  # one decoder, not one per frame
    assert decoder.frames == 12  # every frame of the file, through that one decoder
    options = decoder.options
    assert (options.time_budget_ms, options.passes, options.libdmtx) == (
        17,
        ("fixed", "local"),
        False,
    )


def test_the_cameras_decoder_is_kept_when_it_is_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decoders.base import DecodeOptions
    from scanner_agent.config import CameraDevice

    monkeypatch.setattr(decoders.cascade, "Decoder", CountingDecoder)
    monkeypatch.setattr(CountingDecoder, "made", [])
    video = write_video(tmp_path / "v.avi", [(VALID_PIPE, 2)])
    config = CameraDevice(id="cam", type="camera", source=str(video))
    options = DecodeOptions(time_budget_ms=25)
    driver = build_driver(config, decoder_options=options).driver
    now = [0.0]
    driver._clock = lambda: now[0]  # type: ignore[attr-defined]
    driver._sleep = lambda s: now.__setitem__(0, now[0] + s)  # type: ignore[attr-defined]
    read = []
    for _ in range(2):  # opened, read to its end, closed, opened again (a camera lost)
        driver.open()
        while not driver.exhausted:
            chunk = driver.read(1.0)
            if chunk is not None:
                read.append(chunk)
        driver.close()
    assert [len(r.symbols) for r in read] == [1, 1, 1, 1]
    (decoder,) = CountingDecoder.made
    assert (decoder.frames, decoder.options) == (4, options)


def test_missing_camera_is_not_found(tmp_path: Path) -> None:
    from scanner_agent.errors import DeviceNotFound

    for source in (str(tmp_path / "none.avi"), "/dev/video-none"):
        params = CameraParams(source=source)
        driver = CameraDriver(params, decode=zxing_decode)
        with pytest.raises(DeviceNotFound):
            driver.open()


# --- replay -------------------------------------------------------------------------------


def write_recording(path: Path, protocol: str, chunks: list[bytes], step: float = 0.001) -> Path:
    lines = [json.dumps({"recording": 1, "protocol": protocol})]
    lines += [json.dumps({"t": i * step, "hex": c.hex()}) for i, c in enumerate(chunks)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_replay_serial_bytes_through_the_byte_framer(tmp_path: Path, start_agent: Any) -> None:
    wire = b"]d1" + VALID + b"\r\n" + VALID_PIPE + b"\r\n"
    chunks = [wire[i : i + 7] for i in range(0, len(wire), 7)]  # odd cuts, as a line gives
    path = write_recording(tmp_path / "r.jsonl", "serial", chunks)
    agent, sub = start_agent(
        {"id": "rp", "type": "replay", "path": str(path), "suffix": "crlf", "speed": 100}
    )
    first, second = next_scan(sub), next_scan(sub)
    assert first.source == "replay"
    assert (first.symbology, first.attestation.valid) == ("]d1", True)
    assert second.attestation.amc_number == "774734488"
    wait_until(lambda: agent.device("rp").state == "stopped")


def test_replay_hid_pos_reports_through_the_hid_driver(tmp_path: Path, start_agent: Any) -> None:
    path = write_recording(tmp_path / "p.jsonl", "hid_pos", hid_pos_reports(LONG))
    _, sub = start_agent(
        {"id": "rp", "type": "replay", "path": str(path), "protocol": "hid_pos", "speed": 100}
    )
    scan = next_scan(sub)
    assert scan.attestation.member_number == "LONG MEMBER 1234567890/ABC-99"
    assert scan.symbology == "]d1"


def test_replay_hid_pos_follows_the_recorded_descriptor(tmp_path: Path, start_agent: Any) -> None:
    first = bytes([3, 60]) + LONG[:60] + bytes([0x02, 0])  # continuation in bit 1, report ID 3
    second = bytes([3, len(LONG) - 60]) + LONG[60:].ljust(60, b"\0") + bytes([0, 0])
    path = tmp_path / "old.jsonl"
    header = {"recording": 1, "protocol": "hid_pos", "descriptor": OLD_READER_DESCRIPTOR.hex()}
    lines = [header, {"t": 0, "hex": first.hex()}, {"t": 0.001, "hex": second.hex()}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert read_recording(path).descriptor == OLD_READER_DESCRIPTOR
    _, sub = start_agent(
        {"id": "rp", "type": "replay", "path": str(path), "protocol": "hid_pos", "speed": 100}
    )
    scan = next_scan(sub)
    assert scan.attestation.member_number == "LONG MEMBER 1234567890/ABC-99"
    assert scan.symbology is None


def test_replay_keyboard_reports_with_the_layout_mismatch(tmp_path: Path, start_agent: Any) -> None:
    reports = typed_reports(VALID_PIPE.decode(), "us")
    path = write_recording(tmp_path / "k.jsonl", "hid_keyboard", reports)
    agent, sub = start_agent(
        {"id": "rp", "type": "replay", "path": str(path), "protocol": "hid_keyboard",
         "layout": "fr", "speed": 100}
    )  # fmt: skip
    scan = next_scan(sub)
    assert scan.attestation.valid
    assert "keyboard_layout_mismatch" in scan.attestation.warning_codes()
    assert agent.device("rp").diagnostics[0].code == "keyboard_layout_mismatch"


def test_replay_loops(tmp_path: Path, start_agent: Any) -> None:
    path = write_recording(tmp_path / "l.jsonl", "serial", [VALID_PIPE + b"\r"])
    _, sub = start_agent(
        {"id": "rp", "type": "replay", "path": str(path), "speed": 50, "loop": True},
        duplicate_window_s=0,
    )
    assert next_scan(sub).attestation.valid
    assert next_scan(sub).attestation.valid  # played again, one (scaled) second later


def test_bad_recordings_name_the_line(tmp_path: Path) -> None:
    cases = {
        "not JSON": "{\"t\": 0, \"hex\": \"41\"}\nnot json\n",
        "hexadecimal": "{\"t\": 0, \"hex\": \"zz\"}\n",
        "back in time": "{\"t\": 1, \"hex\": \"41\"}\n{\"t\": 0.5, \"hex\": \"42\"}\n",
        "no \"hex\"": "{\"t\": 0}\n",
    }  # fmt: skip
    for expected, text in cases.items():
        path = tmp_path / "bad.jsonl"
        path.write_text(text)
        with pytest.raises(RecordingError, match=expected):
            read_recording(path)


def test_a_broken_recording_marks_the_device_in_error(tmp_path: Path, start_agent: Any) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("garbage\n")
    _, sub = start_agent({"id": "rp", "type": "replay", "path": str(path)})
    event = wait_state(sub, "rp", "error")
    assert event.status.last_error is not None
    assert event.status.last_error.code == "bad_recording"
    assert "line 1" in event.status.last_error.message


# --- demo ---------------------------------------------------------------------------------


def test_demo_scanner_mixes_valid_and_refused_samples(start_agent: Any) -> None:
    _agent, sub = start_agent(
        {"id": "demo", "type": "demo", "interval_s": 0.01}, duplicate_window_s=0
    )
    count = len(sample_payloads(TODAY))
    scans = [next_scan(sub) for _ in range(count)]
    assert {s.source for s in scans} == {"demo"}
    valid = [s for s in scans if s.attestation.valid]
    refused = {c for s in scans for c in s.attestation.error_codes()}
    assert len(valid) >= 4
    assert {"bad_amc_number", "period_inverted", "gs1_code"} <= refused
    assert any("member_number_looks_like_nir" in s.attestation.warning_codes() for s in valid)
    assert {s.attestation.layout for s in valid} == {"tagged", "fixed"}


def test_demo_samples_are_current_whatever_the_year() -> None:
    from scanner_agent.config import load_settings

    context = ParseContext.from_settings(load_settings(env={}))
    for today in (date(2027, 6, 1), date(2031, 12, 31)):
        states = [context.parse(p, at=today).validity.state for p in sample_payloads(today)]
        assert states.count("current") >= 4


# --- pipeline -----------------------------------------------------------------------------


def make_pipeline(context: ParseContext, **options: Any) -> tuple[Pipeline, Subscription]:
    bus = EventBus()
    states = DeviceStates(bus, [DeviceStatus(id="d", type="serial")])
    sub = bus.subscribe("t", maxsize=10_000)
    return Pipeline(context, bus, states, today=lambda: TODAY, **options), sub


def test_received_at_is_the_wall_time_of_the_last_byte(context: ParseContext) -> None:
    pipeline, _ = make_pipeline(
        context, wall_clock=lambda: 1_800_000_000.0, monotonic=lambda: 500.0
    )
    frame = Frame(VALID_PIPE, None, received_at=499.75)  # its last byte came 250 ms ago
    scan = pipeline.process(Incoming("d", "serial", frame))
    assert scan is not None
    assert scan.received_at == datetime.fromtimestamp(1_799_999_999.75, UTC)


def test_duplicate_window_is_per_device_and_payload(context: ParseContext) -> None:
    pipeline, _ = make_pipeline(context, duplicate_window_s=2.0)
    pipeline.states.add(DeviceStatus(id="e", type="serial"))

    def scan(device: str, data: bytes, t: float) -> bool:
        return pipeline.process(Incoming(device, "serial", Frame(data, None, t))) is not None

    assert scan("d", VALID_PIPE, 10.0)
    assert not scan("d", VALID_PIPE, 11.0)  # same device, same payload, within 2 s
    assert scan("e", VALID_PIPE, 11.1)  # another device
    assert scan("d", VALID, 11.2)  # another payload
    assert not scan("d", VALID_PIPE, 12.5)  # held: 1.5 s after the last sighting
    assert scan("d", VALID_PIPE, 15.0)
    assert pipeline.duplicates == 2


def test_queue_overflow_is_counted_and_reported(context: ParseContext) -> None:
    pipeline, sub = make_pipeline(context, queue_size=2)  # not started: nothing drains
    frames = [Incoming("d", "serial", Frame(VALID_PIPE, None, float(i))) for i in range(5)]
    accepted = [pipeline.submit(f) for f in frames]
    assert accepted == [True, True, False, False, False]
    status = pipeline.states.get("d")
    assert status is not None
    assert status.counters.frames_dropped == 3
    assert status.last_error is not None
    assert status.last_error.code == "queue_overflow"
    event = wait_for(sub, lambda e: isinstance(e, DeviceEvent), timeout=1)
    assert isinstance(event, DeviceEvent)
    pipeline.start()
    pipeline.stop()  # what was queued is still processed
    assert wait_for(sub, lambda e: isinstance(e, ScanEvent), timeout=5)


def test_a_pipeline_bug_does_not_stop_later_frames(
    context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, sub = make_pipeline(context)
    original = pipeline.context.parse
    calls = []

    def flaky(data: bytes, **kwargs: Any) -> Any:
        calls.append(data)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return original(data, **kwargs)

    monkeypatch.setattr(pipeline, "context", type("C", (), {"parse": staticmethod(flaky)})())
    pipeline.start()
    pipeline.submit(Incoming("d", "serial", Frame(b"FIRST", None, 1.0)))
    pipeline.submit(Incoming("d", "serial", Frame(VALID_PIPE, None, 2.0)))
    event = wait_for(sub, lambda e: isinstance(e, ScanEvent), timeout=5)
    pipeline.stop()
    assert isinstance(event, ScanEvent)
    assert event.scan.attestation.valid
    status = pipeline.states.get("d")
    assert status is not None
    assert status.counters.frames_dropped == 1  # the frame it failed on is counted, not lost


def test_logs_never_hold_the_member_number(
    context: ParseContext, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline, _ = make_pipeline(context)
    with caplog.at_level("DEBUG"):
        pipeline.process(Incoming("d", "serial", Frame(VALID, "]d1", 1.0)))
    assert "12345678" not in caplog.text
    assert "••••••78" in caplog.text


def test_a_code_seen_but_unreadable_is_published_and_counted_never_a_scan(
    context: ParseContext,
) -> None:
    pipeline, sub = make_pipeline(
        context, wall_clock=lambda: 1_800_000_000.0, monotonic=lambda: 500.0
    )
    place = ((10, 10), (50, 10), (50, 50), (10, 50))
    sighting = Frame(b"", None, received_at=499.5, unreadable=(place,))
    assert pipeline.process(Incoming("d", "camera", sighting)) is None
    assert pipeline.process(Incoming("d", "camera", Frame(VALID_PIPE, "]d1", 499.75)))
    first = wait_for(sub, lambda e: True, timeout=1)
    assert isinstance(first, UnreadableEvent)
    assert (first.device_id, first.positions) == ("d", (place,))
    assert first.at == datetime.fromtimestamp(1_799_999_999.5, UTC)
    second = wait_for(sub, lambda e: True, timeout=1)
    assert isinstance(second, ScanEvent)  # in the order the device saw them
    assert second.seq > first.seq
    status = pipeline.states.get("d")
    assert status is not None
    counters = status.counters
    assert (counters.unreadable_codes, counters.good_scans, counters.refused_scans) == (1, 1, 0)
