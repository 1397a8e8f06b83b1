"""HID POS and keyboard-mode scanners: recorded report streams played into the real drivers
(`hid.device()` replaced by a device-like object), then end to end through the agent."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from drivers.hid_keyboard import EvdevKeyboard, HidKeyboardDriver, HidKeyboardParams
from drivers.hid_pos import HidPosDriver, HidPosParams
from drivers.replay import RecordedHidDevice, TimedChunks
from scanner_agent.agent import Agent
from scanner_agent.bus import DeviceEvent, ScanEvent, Subscription
from scanner_agent.config import DeviceConfig
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.errors import DeviceLost, DeviceNotFound, PermissionDenied
from scanner_agent.framing import DEFAULT_HID_POS_LAYOUT, HidPosFramer, KeyboardFramer
from tests.helpers.devices import (
    POS_DESCRIPTOR,
    AgentRunner,
    hid_pos_reports,
    next_scan,
    typed_reports,
    wait_for,
)
from tests.helpers.devices import wait_state as wait_device_state
from tests.helpers.samples import FIXED, LONG, VALID, VALID_PIPE

POS_ENTRY = {
    "path": b"/dev/hidraw7",
    "vendor_id": 0x0C2E,
    "product_id": 0x0B61,
    "serial_number": "S1",
    "product_string": "Test HID POS Scanner",
    "usage_page": 0x8C,
    "usage": 0x02,
    "interface_number": 0,
}
KEYBOARD_ENTRY = {**POS_ENTRY, "path": b"/dev/hidraw8", "usage_page": 0x01, "usage": 0x06}


def recorded(reports: Sequence[bytes], descriptor: Sequence[int] | None = None) -> Any:
    """A device factory giving a device that plays `reports`, as fast as they are read."""
    return lambda: RecordedHidDevice(
        TimedChunks([(0.0, r) for r in reports], speed=1000), descriptor
    )


def enumerate_all(vid: int, pid: int) -> list[dict[str, Any]]:
    return [dict(POS_ENTRY), dict(KEYBOARD_ENTRY)]


def read_all(driver: Any, framer: Any) -> list[Any]:
    frames = []
    while not driver.exhausted:
        chunk = driver.read(0.5)
        if chunk is not None:
            frames += framer.feed(chunk, 1.0)
    return frames + framer.flush(2.0)


# --- drivers alone ------------------------------------------------------------------------


def test_hid_pos_driver_finds_the_scanner_by_usage_page_and_joins_reports() -> None:
    params = HidPosParams()
    reports = hid_pos_reports(LONG) + hid_pos_reports(b"]d1" + VALID, aim=b"\0\0\0")
    driver = HidPosDriver(params, device_factory=recorded(reports), enumerate=enumerate_all)
    driver.open()
    assert "/dev/hidraw7" in driver.description
    assert "Test HID POS Scanner" in driver.description
    frames = read_all(driver, HidPosFramer(driver.layout))
    driver.close()
    assert [(f.data, f.symbology) for f in frames] == [(LONG, "]d1"), (VALID, "]d1")]


def test_hid_pos_driver_reads_offsets_from_the_report_descriptor() -> None:
    params = HidPosParams(vid="0c2e", pid="0b61")
    # a descriptor where the continuation bit sits in bit 1: only the descriptor says so
    descriptor = bytearray(POS_DESCRIPTOR)
    padding_at = descriptor.index(bytes([0x95, 0x07, 0x81, 0x03]))
    descriptor[padding_at:padding_at] = bytes([0x95, 0x01, 0x81, 0x03])  # one padding bit first
    # move the continued usage after that padding bit
    cont = bytes([0x95, 0x01, 0x25, 0x01, 0x09, 0xFF, 0x81, 0x02])
    start = descriptor.index(cont)
    del descriptor[start : start + len(cont)]
    padding_at = descriptor.index(bytes([0x95, 0x01, 0x81, 0x03])) + 4
    descriptor[padding_at:padding_at] = cont
    descriptor = descriptor.replace(
        bytes([0x95, 0x07, 0x81, 0x03]), bytes([0x95, 0x06, 0x81, 0x03])
    )
    reports = [bytearray(r) for r in hid_pos_reports(LONG)]
    for r in reports:
        r[63] = (r[63] & 1) << 1
    driver = HidPosDriver(
        params, device_factory=recorded([bytes(r) for r in reports], list(descriptor)),
        enumerate=enumerate_all,
    )  # fmt: skip
    driver.open()
    assert driver.layout.continued_mask == 0x02
    frames = read_all(driver, HidPosFramer(driver.layout))
    assert [f.data for f in frames] == [LONG]


def test_hid_pos_driver_falls_back_to_the_manual_layout_without_descriptor() -> None:
    params = HidPosParams(path="/replay/x")
    driver = HidPosDriver(params, device_factory=recorded(hid_pos_reports(b"X")))
    driver.open()
    assert driver.layout == DEFAULT_HID_POS_LAYOUT


def test_hid_pos_driver_not_found_names_what_it_looked_for() -> None:
    params = HidPosParams(vid="1234", pid="5678")
    driver = HidPosDriver(params, device_factory=recorded([]), enumerate=lambda v, p: [])
    with pytest.raises(DeviceNotFound, match="1234:5678"):
        driver.open()


def test_two_identical_scanners_need_a_serial_number() -> None:
    two = [dict(POS_ENTRY), {**POS_ENTRY, "path": b"/dev/hidraw9", "serial_number": "S2"}]
    params = HidPosParams(vid="0c2e")
    driver = HidPosDriver(params, device_factory=recorded([]), enumerate=lambda v, p: two)
    with pytest.raises(DeviceNotFound, match="serial_number"):
        driver.open()
    chosen = HidPosParams(vid="0c2e", serial_number="S2")
    driver = HidPosDriver(chosen, device_factory=recorded([]), enumerate=lambda v, p: two)
    driver.open()
    assert "/dev/hidraw9" in driver.description


class VanishingDevice:
    """Plays a few reports, then fails as hidapi does when the scanner is unplugged."""

    def __init__(self, reports: Sequence[bytes]) -> None:
        self.reports = list(reports)

    def open_path(self, path: bytes) -> None:
        pass

    def read(self, max_length: int, timeout_ms: int = 0) -> list[int]:
        if not self.reports:
            raise OSError("read error")
        return list(self.reports.pop(0))

    def close(self) -> None:
        pass


def test_hid_read_error_is_a_lost_device_with_the_cause_chained() -> None:
    params = HidPosParams(path="/x")
    driver = HidPosDriver(params, device_factory=lambda: VanishingDevice([]))
    driver.open()
    with pytest.raises(DeviceLost) as info:
        driver.read(0.1)
    assert isinstance(info.value.__cause__, OSError)


def test_hidraw_without_permission(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:
        def open_path(self, path: bytes) -> None:
            raise OSError("open failed")

    monkeypatch.setattr("drivers._hid.os.path.exists", lambda p: True)
    monkeypatch.setattr("drivers._hid.os.access", lambda p, mode: False)
    params = HidPosParams(path="/dev/hidraw0")
    driver = HidPosDriver(params, device_factory=Refusing)  # type: ignore[arg-type,return-value]
    with pytest.raises(PermissionDenied, match="udev"):
        driver.open()


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_keyboard_driver_finds_the_keyboard_interface(layout: str) -> None:
    params = HidKeyboardParams(vid="0c2e", layout=layout)  # type: ignore[arg-type]
    reports = typed_reports("]d1" + VALID_PIPE.decode(), layout)  # type: ignore[arg-type]
    driver = HidKeyboardDriver(params, device_factory=recorded(reports), enumerate=enumerate_all)
    driver.open()
    assert "/dev/hidraw8" in driver.description
    frames = read_all(driver, KeyboardFramer(layout))  # type: ignore[arg-type]
    assert [(f.data, f.symbology) for f in frames] == [(VALID_PIPE, "]d1")]


class FakeInputDevice:
    """An evdev InputDevice: key events, a grab, a file descriptor that select() accepts."""

    def __init__(self, events: list[tuple[int, int, int]]) -> None:
        self.events = events
        self.grabbed = False
        self._r, self._w = os.pipe()
        os.write(self._w, b"x")  # readable: select() returns at once

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def fileno(self) -> int:
        return self._r

    def read(self) -> list[Any]:
        events, self.events = self.events, []
        return [type("E", (), {"type": t, "code": c, "value": v})() for t, c, v in events]

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)


def test_evdev_backend_grabs_and_turns_key_events_into_reports() -> None:
    # Shift down, a (KEY_A=30) down/up, Shift up, 1 (KEY_1=2) down/up, Enter (28) down/up
    events = [(1, 42, 1), (1, 30, 1), (1, 30, 0), (1, 42, 0), (1, 2, 1), (1, 2, 2), (1, 2, 0),
              (1, 28, 1), (1, 28, 0), (4, 4, 458756)]  # fmt: skip
    device = FakeInputDevice(events)
    keyboard = EvdevKeyboard("/dev/input/by-id/x-event-kbd", opener=lambda path: device)
    keyboard.open()
    assert device.grabbed
    framer = KeyboardFramer("us")
    frames = []
    for _ in range(20):
        report = keyboard.read(0.01)
        if report is not None:
            frames += framer.feed(report, 1.0)
    keyboard.close()
    assert not device.grabbed
    assert [f.data for f in frames] == [b"A1"]


# --- end to end through the agent ---------------------------------------------------------


@pytest.fixture
def hid_agent(agents: AgentRunner) -> Any:
    def start(
        devices: list[dict[str, Any]], factories: dict[str, Any]
    ) -> tuple[Agent, Subscription]:
        def driver_factory(config: DeviceConfig) -> DriverSetup:
            setup = build_driver(config)
            factory = factories.get(config.id)
            if factory is not None:
                setup.driver._reader._factory = factory
                setup.driver._enumerate = enumerate_all
            return setup

        return agents.start(devices, driver_factory, reconnect_max_s=0.1)

    return start


def test_hid_pos_end_to_end(hid_agent: Any) -> None:
    reports = hid_pos_reports(LONG) + hid_pos_reports(VALID)
    _agent, sub = hid_agent([{"id": "pos", "type": "hid_pos"}], {"pos": recorded(reports)})
    first, second = next_scan(sub), next_scan(sub)
    assert first.source == "hid_pos"
    assert first.symbology == "]d1"
    assert first.attestation.member_number == "LONG MEMBER 1234567890/ABC-99"
    assert second.attestation.valid


def test_hid_pos_unplugged_and_back(hid_agent: Any) -> None:
    devices = [VanishingDevice(hid_pos_reports(VALID)), VanishingDevice(hid_pos_reports(LONG))]
    lock = threading.Lock()

    def factory() -> VanishingDevice:
        with lock:
            return devices.pop(0) if devices else VanishingDevice([])

    agent, sub = hid_agent([{"id": "pos", "type": "hid_pos"}], {"pos": factory})
    assert next_scan(sub).attestation.amc_number == "0775627391"
    assert next_scan(sub).attestation.amc_number == "0775627391"  # LONG, after the reconnect
    status = agent.device("pos")
    assert status.counters.reconnects >= 1
    assert status.last_error is not None
    assert status.last_error.code == "device_lost"


def vanishing_then(first: list[bytes], then: list[bytes]) -> Any:
    """A device factory: the first device plays `first` and is unplugged, the next `then`."""
    devices = [VanishingDevice(first), VanishingDevice(then)]
    lock = threading.Lock()

    def factory() -> VanishingDevice:
        with lock:
            return devices.pop(0) if devices else VanishingDevice([])

    return factory


def assert_half_code_dropped(agent: Agent, sub: Subscription, device_id: str) -> None:
    scan = next_scan(sub)  # the first scan: the half code before the unplug never became one
    assert scan.attestation.valid
    status = agent.device(device_id)
    assert (status.counters.good_scans, status.counters.refused_scans) == (1, 0)
    assert status.counters.frames_dropped == 1
    assert [d.code for d in status.diagnostics] == ["frame_incomplete"]


def test_hid_pos_unplugged_in_the_middle_of_a_code(hid_agent: Any) -> None:
    factory = vanishing_then(hid_pos_reports(LONG)[:1], hid_pos_reports(VALID))
    agent, sub = hid_agent([{"id": "pos", "type": "hid_pos"}], {"pos": factory})
    assert_half_code_dropped(agent, sub, "pos")


def test_keyboard_unplugged_before_enter(hid_agent: Any) -> None:
    half = typed_reports("]d1" + VALID_PIPE.decode()[:20], "us", enter=False)
    factory = vanishing_then(half, typed_reports("]d1" + VALID_PIPE.decode(), "us"))
    agent, sub = hid_agent(
        [{"id": "kb", "type": "hid_keyboard", "vid": "0c2e", "layout": "us"}], {"kb": factory}
    )
    assert_half_code_dropped(agent, sub, "kb")


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_keyboard_end_to_end_with_matching_layout(hid_agent: Any, layout: str) -> None:
    text = "]d1" + VALID_PIPE.decode()
    agent, sub = hid_agent(
        [{"id": "kb", "type": "hid_keyboard", "vid": "0c2e", "layout": layout}],
        {"kb": recorded(typed_reports(text, layout))},  # type: ignore[arg-type]
    )
    scan = next_scan(sub)
    assert scan.source == "hid_keyboard"
    assert scan.symbology == "]d1"
    assert scan.attestation.valid
    assert scan.attestation.warning_codes() == []
    assert agent.device("kb").diagnostics == []


@pytest.mark.parametrize(("scanner", "configured"), [("us", "fr"), ("fr", "us")])
def test_keyboard_layout_mismatch_is_read_and_diagnosed(
    hid_agent: Any, scanner: str, configured: str
) -> None:
    text = "]d1" + VALID_PIPE.decode()
    agent, sub = hid_agent(
        [{"id": "kb", "type": "hid_keyboard", "vid": "0c2e", "layout": configured}],
        {"kb": recorded(typed_reports(text, scanner))},  # type: ignore[arg-type]
    )
    scan = next_scan(sub)
    assert scan.attestation.valid
    assert scan.attestation.amc_number == "774734488"
    assert scan.symbology == "]d1"
    assert scan.attestation.warning_codes() == ["keyboard_layout_mismatch"]
    (diagnostic,) = agent.device("kb").diagnostics
    assert diagnostic.code == "keyboard_layout_mismatch"
    assert f'layout = "{scanner}"' in diagnostic.message
    assert agent.device("kb").counters.good_scans == 1


def test_keyboard_mismatch_is_diagnosed_once_and_published(hid_agent: Any) -> None:
    reports = typed_reports(VALID_PIPE.decode(), "us") + typed_reports(
        VALID_PIPE.decode().replace("AB-123", "CD-456"), "us"
    )
    agent, sub = hid_agent(
        [{"id": "kb", "type": "hid_keyboard", "vid": "0c2e", "layout": "fr"}],
        {"kb": recorded(reports)},
    )
    seen: list[Any] = []
    wait_for(sub, lambda e: isinstance(e, ScanEvent), seen=seen)
    wait_for(sub, lambda e: isinstance(e, ScanEvent), seen=seen)
    # the events that publish a diagnostic, not a change of state: "stopped", when the recording
    # ends, may come before the second scan, and carries the diagnostic along
    diagnosed, state = [], None
    for event in seen:
        if isinstance(event, DeviceEvent):
            if event.status.diagnostics and event.status.state == state:
                diagnosed.append(event)
            state = event.status.state
    assert len(diagnosed) == 1
    assert [d.code for d in diagnosed[0].status.diagnostics] == ["keyboard_layout_mismatch"]
    assert len(agent.device("kb").diagnostics) == 1


def test_a_code_that_is_no_attestation_in_either_layout_is_refused_as_read(
    hid_agent: Any,
) -> None:
    agent, sub = hid_agent(
        [{"id": "kb", "type": "hid_keyboard", "vid": "0c2e", "layout": "us"}],
        {"kb": recorded(typed_reports("HELLO WORLD 12", "us"))},
    )
    scan = next_scan(sub)
    assert scan.attestation.error_codes() == ["not_an_attestation"]
    assert agent.device("kb").diagnostics == []


def test_device_states_are_published(hid_agent: Any) -> None:
    _agent, sub = hid_agent(
        [{"id": "pos", "type": "hid_pos", "vid": "9999"}], {}
    )  # nothing plugged: enumerate finds nothing real
    event = wait_device_state(sub, "pos", "disconnected")
    assert event.status.last_error is not None
    assert event.status.last_error.code == "device_not_found"


def test_keyboard_fixed_layout_payload_on_azerty(hid_agent: Any) -> None:
    # digits need Shift on AZERTY, and the fixed layout pads with spaces: all must survive
    agent, sub = hid_agent(
        [{"id": "kb", "type": "hid_keyboard", "vid": "0c2e", "layout": "fr"}],
        {"kb": recorded(typed_reports(FIXED.decode(), "fr"))},
    )
    scan = next_scan(sub)
    assert scan.attestation.valid
    assert scan.attestation.layout == "fixed"
    assert scan.attestation.convention_types == ["MU", "SP"]
    assert agent.device("kb").diagnostics == []


def test_linux_reads_hid_through_hidraw_not_libusb(monkeypatch: pytest.MonkeyPatch) -> None:
    # the PyPI wheel's `hid` goes through libusb (detaching the kernel driver: a keyboard-mode
    # scanner would vanish from the desktop); `hidraw` keeps the kernel's /dev/hidraw* nodes
    from drivers._hid import hidapi_module

    monkeypatch.setattr("sys.platform", "linux")
    assert hidapi_module().__name__ == "hidraw"
    assert isinstance(hidapi_module().enumerate(0, 0), list)  # no device here: an empty list
    monkeypatch.setattr("sys.platform", "win32")
    assert hidapi_module().__name__ == "hid"
