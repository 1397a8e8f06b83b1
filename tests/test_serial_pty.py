"""Serial scanners through real pseudo-terminals: pyserial opens the slave end, the test writes
to the master end as the scanner would. End to end: bytes in, the parsed scan out of the bus."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.serial import SerialDriver, SerialParams
from scanner_agent.errors import DeviceBusy, DeviceLost, DeviceNotFound
from tests.helpers.devices import AgentRunner, PtyScanner, next_scan, wait_state, wait_until
from tests.helpers.samples import BAD_AMC, VALID, VALID_PIPE


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    device = PtyScanner(tmp_path)
    yield device
    device.unplug()


@pytest.fixture
def run_agent(agents: AgentRunner) -> Any:
    return lambda *devices, **pipeline: agents.start(devices, **pipeline)


def serial(port: Path | str, **extra: Any) -> dict[str, Any]:
    return {"id": "desk", "type": "serial", "port": str(port), **extra}


def test_a_code_split_at_odd_places(scanner: PtyScanner, run_agent: Any) -> None:
    _, sub = run_agent(serial(scanner.link, suffix="crlf"))
    wait_state(sub, "desk", "connected")
    wire = b"]d1" + VALID + b"\r\n"
    for piece in (wire[:1], wire[1:2], wire[2:17], wire[17:-1], wire[-1:]):
        scanner.write(piece)
        time.sleep(0.005)  # separate reads, not a timing assertion
    scan = next_scan(sub)
    assert scan.symbology == "]d1"
    assert scan.attestation.valid
    assert scan.attestation.member_number == "12345678"
    assert scan.source == "serial"
    assert scan.device_id == "desk"


def test_two_codes_in_one_write(scanner: PtyScanner, run_agent: Any) -> None:
    agent, sub = run_agent(serial(scanner.link))
    wait_state(sub, "desk", "connected")
    scanner.write(b"]d1" + VALID + b"\r" + VALID_PIPE + b"\r")
    first, second = next_scan(sub), next_scan(sub)
    assert first.attestation.amc_number == "0775627391"
    assert second.attestation.amc_number == "774734488"
    assert second.symbology is None
    counters = agent.device("desk").counters
    assert (counters.good_scans, counters.refused_scans) == (2, 0)


@pytest.mark.parametrize(
    ("suffix", "end"), [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n"), ("tab", b"\t")]
)
def test_every_suffix(scanner: PtyScanner, run_agent: Any, suffix: str, end: bytes) -> None:
    _, sub = run_agent(serial(scanner.link, suffix=suffix))
    wait_state(sub, "desk", "connected")
    scanner.write(VALID_PIPE + end + BAD_AMC + end)
    assert next_scan(sub).attestation.valid
    refused = next_scan(sub).attestation
    assert refused.error_codes() == ["bad_amc_number"]


def test_idle_framing(scanner: PtyScanner, run_agent: Any) -> None:
    _, sub = run_agent(serial(scanner.link, suffix="none", idle_ms=30))
    wait_state(sub, "desk", "connected")
    scanner.write(b"]d1" + VALID)
    scan = next_scan(sub)
    assert scan.attestation.valid
    assert scan.symbology == "]d1"
    scanner.write(VALID_PIPE)
    assert next_scan(sub).attestation.amc_number == "774734488"


def test_aim_prefix_and_noise_before_a_code(scanner: PtyScanner, run_agent: Any) -> None:
    _, sub = run_agent(serial(scanner.link))
    wait_state(sub, "desk", "connected")
    scanner.write(b"\x00\x00\xff\n]d1" + VALID + b"\r")
    scan = next_scan(sub)
    assert scan.symbology == "]d1"
    assert scan.attestation.valid


def test_gs1_product_code_is_refused_by_name(scanner: PtyScanner, run_agent: Any) -> None:
    _, sub = run_agent(serial(scanner.link))
    wait_state(sub, "desk", "connected")
    scanner.write(b"]d2010340093000001917261231101234\r")
    scan = next_scan(sub)
    assert scan.symbology == "]d2"
    assert scan.attestation.error_codes() == ["gs1_code"]


def test_overlong_line_is_cut_and_reported(scanner: PtyScanner, run_agent: Any) -> None:
    agent, sub = run_agent(serial(scanner.link, max_frame_bytes=128))
    wait_state(sub, "desk", "connected")
    scanner.write(b"Z" * 300 + b"\r" + VALID_PIPE + b"\r")
    refused = next_scan(sub)
    assert refused.attestation.error_codes() == ["payload_too_long"]
    assert next_scan(sub).attestation.valid  # the line after it is read normally
    counters = agent.device("desk").counters
    assert counters.frames_dropped == 1
    assert counters.refused_scans == 1


def test_duplicates_within_the_window_are_one_scan(scanner: PtyScanner, run_agent: Any) -> None:
    agent, sub = run_agent(serial(scanner.link), duplicate_window_s=30)
    wait_state(sub, "desk", "connected")
    scanner.write(VALID_PIPE + b"\r" + VALID_PIPE + b"\r" + VALID + b"\r")
    assert next_scan(sub).attestation.amc_number == "774734488"
    assert next_scan(sub).attestation.amc_number == "0775627391"  # not the duplicate
    assert agent.device("desk").counters.good_scans == 2


def test_unplugged_then_plugged_back_on_another_pty(scanner: PtyScanner, run_agent: Any) -> None:
    agent, sub = run_agent(serial(scanner.link))
    wait_state(sub, "desk", "connected")
    scanner.write(VALID_PIPE + b"\r")
    assert next_scan(sub).attestation.valid
    first_tty = os.readlink(scanner.link)

    scanner.unplug()
    lost = wait_state(sub, "desk", "disconnected")
    assert lost.status.last_error is not None
    assert lost.status.last_error.code in ("device_lost", "device_not_found")

    scanner.plug()  # the by-id link now points at a new pty
    wait_state(sub, "desk", "connected")
    scanner.write(b"]d1" + VALID + b"\r")
    assert next_scan(sub).attestation.amc_number == "0775627391"
    status = agent.device("desk")
    assert status.state == "connected"
    assert status.counters.reconnects == 1
    assert status.counters.good_scans == 2
    assert first_tty  # (the pty number may or may not be reused; the link is what matters)


def test_a_half_code_cut_off_by_an_unplug_is_dropped_never_a_scan(
    scanner: PtyScanner, run_agent: Any
) -> None:
    agent, sub = run_agent(serial(scanner.link))
    wait_state(sub, "desk", "connected")
    half = VALID_PIPE[:30]
    scanner.write(half)  # the scanner is unplugged before the rest and the suffix come
    reader = agent._manager.readers["desk"]
    wait_until(lambda: reader._framer is not None and len(reader._framer._acc.buf) == len(half))

    scanner.unplug()
    wait_state(sub, "desk", "disconnected")
    scanner.plug()
    wait_state(sub, "desk", "connected")
    scanner.write(b"]d1" + VALID + b"\r")

    scan = next_scan(sub)  # the first scan since the unplug: the half code never became one
    assert scan.attestation.amc_number == "0775627391"
    status = agent.device("desk")
    assert (status.counters.good_scans, status.counters.refused_scans) == (1, 0)
    assert status.counters.frames_dropped == 1
    (diagnostic,) = status.diagnostics
    assert diagnostic.code == "frame_incomplete"
    assert f"{len(half)} bytes" in diagnostic.message
    assert status.last_error is not None
    assert status.last_error.code in ("device_lost", "device_not_found")


def test_a_device_absent_at_start_is_opened_when_it_appears(tmp_path: Path, run_agent: Any) -> None:
    link = tmp_path / "later"
    _, sub = run_agent(serial(link))
    problem = wait_state(sub, "desk", "disconnected").status.last_error
    assert problem is not None
    assert problem.code == "device_not_found"
    scanner = PtyScanner(tmp_path, "later")
    try:
        wait_state(sub, "desk", "connected")
        scanner.write(VALID_PIPE + b"\r")
        assert next_scan(sub).attestation.valid
    finally:
        scanner.unplug()


def test_one_device_failing_never_stops_another(scanner: PtyScanner, run_agent: Any) -> None:
    agent, sub = run_agent(
        {"id": "gone", "type": "serial", "port": "/dev/nonexistent-scanner"},
        serial(scanner.link),
    )
    wait_state(sub, "desk", "connected")
    scanner.write(VALID_PIPE + b"\r")
    scan = next_scan(sub)
    assert scan.device_id == "desk"
    gone = agent.device("gone")
    assert gone is not None
    assert gone.state in ("disconnected", "starting")
    assert gone.last_error is not None
    assert gone.last_error.code == "device_not_found"


def test_stop_flushes_a_code_without_suffix(scanner: PtyScanner, agents: AgentRunner) -> None:
    agent = agents.make([serial(scanner.link)])
    sub = agent.bus.subscribe("test")
    agent.start()
    wait_state(sub, "desk", "connected")
    scanner.write(VALID_PIPE)  # the scanner's suffix never comes
    reader = agent._manager.readers["desk"]  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until the reader holds the bytes
        framer = reader._framer
        if framer is not None and len(framer._acc.buf) == len(VALID_PIPE):  # type: ignore[attr-defined]
            break
        time.sleep(0.01)
    agent.stop()
    assert next_scan(sub).attestation.amc_number == "774734488"
    status = agent.device("desk")
    assert status is not None
    assert status.state == "stopped"


# --- the driver alone ----------------------------------------------------------------------


def test_driver_reads_through_a_pyserial_url() -> None:
    driver = SerialDriver(SerialParams(port="loop://"))
    driver.open()
    try:
        driver._port.write(b"HELLO\r")
        assert driver.read(1.0) == b"HELLO\r"
        assert driver.read(0.01) is None
    finally:
        driver.close()


def test_driver_errors_are_translated_and_chained(tmp_path: Path) -> None:
    driver = SerialDriver(SerialParams(port=str(tmp_path / "none")))
    with pytest.raises(DeviceNotFound) as info:
        driver.open()
    assert info.value.__cause__ is not None


def test_driver_reports_a_lost_pty(scanner: PtyScanner) -> None:
    driver = SerialDriver(SerialParams(port=str(scanner.link)))
    driver.open()
    try:
        scanner.unplug()
        with pytest.raises(DeviceLost) as info:
            read_until_error(driver)
        assert info.value.__cause__ is not None
    finally:
        driver.close()


def test_a_port_held_by_another_reader_is_busy(scanner: PtyScanner) -> None:
    params = SerialParams(port=str(scanner.link))
    first, second = SerialDriver(params), SerialDriver(params)
    first.open()
    try:
        with pytest.raises(DeviceBusy, match="in use"):
            second.open()
    finally:
        first.close()
    second.open()  # free again once the first lets go
    second.close()


def read_until_error(driver: SerialDriver) -> None:
    for _ in range(10):
        driver.read(0.5)


def test_port_found_by_usb_id(monkeypatch: pytest.MonkeyPatch, scanner: PtyScanner) -> None:
    from serial.tools import list_ports_common

    info = list_ports_common.ListPortInfo(str(scanner.link), skip_link_detection=True)
    info.vid, info.pid, info.serial_number = 0x0C2E, 0x0B61, "A1"
    other = list_ports_common.ListPortInfo("/dev/ttyS0", skip_link_detection=True)
    monkeypatch.setattr("drivers.serial.list_ports.comports", lambda: [other, info])
    driver = SerialDriver(SerialParams(vid="0c2e", pid="0b61"))
    driver.open()
    try:
        assert str(scanner.link) in driver.description
        scanner.write(b"ABC\r")
        assert driver.read(2.0) == b"ABC\r"
    finally:
        driver.close()
    missing = SerialDriver(SerialParams(vid="1234"))
    with pytest.raises(DeviceNotFound, match="1234"):
        missing.open()
