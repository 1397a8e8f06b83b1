"""The device manager's resilience with drivers that misbehave, and device discovery."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from drivers import discovery
from scanner_agent.agent import Agent
from scanner_agent.bus import DeviceEvent
from scanner_agent.config import DeviceConfig, Settings
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.errors import DeviceNotFound
from scanner_agent.framing import SuffixFramer
from scanner_agent.parse_context import ParseContext
from tests.helpers.devices import next_scan, wait_until
from tests.helpers.samples import TODAY, VALID_PIPE


class BuggyDriver:
    """Reads one code, then fails with an exception no driver should let out; then works."""

    kind = "serial"
    description = "buggy test driver"
    exhausted = False

    def __init__(self) -> None:
        self.opens = 0
        self.reads = 0
        self.lock = threading.Lock()

    def open(self) -> None:
        with self.lock:
            self.opens += 1

    def read(self, timeout: float) -> bytes | None:
        with self.lock:
            self.reads += 1
            reads, opens = self.reads, self.opens
        if reads == 1:
            return VALID_PIPE + b"\r"
        if opens == 1:
            raise RuntimeError("a bug in a driver")
        if reads == 3:
            return VALID_PIPE.replace(b"AB-123", b"XY-999") + b"\r"
        threading.Event().wait(timeout)
        return None

    def close(self) -> None:
        pass


def test_an_unexpected_driver_error_is_reported_and_the_device_reopened(
    context: ParseContext,
) -> None:
    buggy = BuggyDriver()

    def factory(config: DeviceConfig) -> DriverSetup:
        if config.id == "buggy":
            return DriverSetup(buggy, lambda: SuffixFramer(b"\r"), "serial")
        return build_driver(config)

    settings = Settings.model_validate(
        {
            "devices": [
                {"id": "buggy", "type": "serial", "port": "/dev/null-buggy"},
                {"id": "demo", "type": "demo", "interval_s": 0.01},
                {"id": "off", "type": "demo", "enabled": False},
            ],
            "pipeline": {"reconnect_min_s": 0.01, "duplicate_window_s": 0},
        }
    )
    agent = Agent(
        settings, context=context, driver_factory=factory, today=lambda: TODAY, storage=False
    )
    sub = agent.bus.subscribe("t", maxsize=10_000)
    agent.start()
    try:
        members = set()
        while len(members) < 2:
            scan = next_scan(sub)
            if scan.device_id == "buggy":
                members.add(scan.attestation.member_number)
        assert members == {"AB-123/45", "XY-999/45"}
        status = agent.device("buggy")
        assert status is not None
        assert status.counters.reconnects == 1
        assert status.last_error is not None
        assert status.last_error.code == "internal_error"
        wait_until(lambda: agent.device("demo").counters.good_scans > 3)  # type: ignore[union-attr]
        off = agent.device("off")
        assert off is not None
        assert (off.state, off.description) == ("stopped", "disabled")
    finally:
        agent.stop()
    assert {s.state for s in agent.devices()} == {"stopped"}


def test_hid_discovery_labels_pos_and_keyboard_interfaces() -> None:
    entries = [
        {"path": b"/dev/hidraw1", "vendor_id": 0x0C2E, "product_id": 0x0B61, "usage_page": 0x8C,
         "usage": 2, "serial_number": "S1", "product_string": "Scanner", "interface_number": 0},
        {"path": b"/dev/hidraw2", "vendor_id": 0x0C2E, "product_id": 0x0B61, "usage_page": 1,
         "usage": 6, "serial_number": "", "product_string": "Scanner", "interface_number": 1},
        {"path": b"/dev/hidraw3", "vendor_id": 0x046D, "product_id": 0xC52B, "usage_page": 1,
         "usage": 2, "interface_number": 2},
    ]  # fmt: skip
    found = discovery.hid_devices(lambda vid, pid: entries)
    assert [(d.path, d.vid, d.kind) for d in found] == [
        ("/dev/hidraw1", "0c2e", "hid_pos"),
        ("/dev/hidraw2", "0c2e", "hid_keyboard"),
        ("/dev/hidraw3", "046d", "other"),
    ]
    assert found[1].serial_number is None


def test_serial_discovery_gives_the_by_id_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serial.tools import list_ports_common

    master, slave = os.openpty()
    try:
        tty = os.ttyname(slave)
        by_id = tmp_path / "by-id"
        by_id.mkdir()
        (by_id / "usb-Test_Scanner_S1-if00").symlink_to(tty)
        port = list_ports_common.ListPortInfo(tty, skip_link_detection=True)
        port.vid, port.pid, port.serial_number = 0x0C2E, 0x0B61, "S1"
        monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [port])
        (info,) = discovery.serial_ports(str(by_id))
        assert (info.device, info.vid, info.pid, info.serial_number) == (tty, "0c2e", "0b61", "S1")
        assert info.by_id == str(by_id / "usb-Test_Scanner_S1-if00")
    finally:
        os.close(slave)
        os.close(master)


def test_camera_discovery_reads_sysfs(tmp_path: Path) -> None:
    for index, name in ((0, "Integrated Camera"), (2, "USB Document Camera")):
        folder = tmp_path / f"video{index}"
        folder.mkdir()
        (folder / "name").write_text(name + "\n")
    found = discovery.cameras(str(tmp_path))
    assert [(c.source, c.name) for c in found] == [
        ("/dev/video0", "Integrated Camera"),
        ("/dev/video2", "USB Document Camera"),
    ]


def test_build_driver_pairs_each_kind_with_its_framer(tmp_path: Path) -> None:
    settings: Any = Settings.model_validate(
        {
            "devices": [
                {"id": "s", "type": "serial", "port": "loop://", "suffix": "none"},
                {"id": "p", "type": "hid_pos", "vid": "0c2e"},
                {"id": "k", "type": "hid_keyboard", "vid": "0c2e", "layout": "fr"},
                {"id": "c", "type": "camera", "source": 0},
                {"id": "r", "type": "replay", "path": "x.jsonl"},
                {"id": "d", "type": "demo"},
            ]
        }
    )
    kinds = {}
    for config in settings.devices:
        setup = build_driver(config)
        kinds[config.id] = (setup.source, type(setup.driver).__name__, setup.layout)
    assert kinds == {
        "s": ("serial", "SerialDriver", None),
        "p": ("hid_pos", "HidPosDriver", None),
        "k": ("hid_keyboard", "HidKeyboardDriver", "fr"),
        "c": ("camera", "CameraDriver", None),
        "r": ("replay", "ReplayDriver", None),
        "d": ("demo", "DemoDriver", None),
    }
    serial_framer = build_driver(settings.devices[0]).make_framer()
    assert type(serial_framer).__name__ == "IdleFramer"


class AbsentDriver:
    kind = "serial"
    description = "absent"
    exhausted = False

    def __init__(self) -> None:
        self.attempts = 0

    def open(self) -> None:
        self.attempts += 1
        raise DeviceNotFound("serial port /dev/ttyACM9: no such device")

    def read(self, timeout: float) -> bytes | None:  # pragma: no cover - never opened
        return None

    def close(self) -> None:
        pass


def test_an_absent_device_is_retried_without_flooding_the_bus(context: ParseContext) -> None:
    absent = AbsentDriver()
    settings = Settings.model_validate(
        {
            "devices": [{"id": "a", "type": "serial", "port": "/dev/ttyACM9"}],
            "pipeline": {"reconnect_min_s": 0.001, "reconnect_max_s": 0.002},
        }
    )
    agent = Agent(
        settings,
        context=context,
        driver_factory=lambda c: DriverSetup(absent, lambda: SuffixFramer(b"\r"), "serial"),
        storage=False,
    )
    sub = agent.bus.subscribe("t", maxsize=10_000)
    agent.start()
    try:
        wait_until(lambda: absent.attempts >= 20)
    finally:
        agent.stop()
    states = []
    while (event := sub.get_nowait()) is not None:
        assert isinstance(event, DeviceEvent)
        states.append(event.status.state)
    assert states == ["starting", "disconnected", "stopped"]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (errno.ENOENT, "device_not_found"),
        (errno.EACCES, "permission_denied"),
        (errno.EBUSY, "device_busy"),
        (errno.EINVAL, "device_error"),
    ],
)
def test_open_errors_become_the_most_specific_device_error(number: int, expected: str) -> None:
    import serial as pyserial

    from drivers.base import translate_open_error

    # pyserial wraps the OSError: the errno is found through the chain
    try:
        try:
            raise OSError(number, os.strerror(number))
        except OSError as inner:
            raise pyserial.SerialException(f"could not open port: {inner}") from inner
    except pyserial.SerialException as exc:
        error = translate_open_error(exc, "serial port /dev/ttyACM0")
    assert error.code == expected
    assert "/dev/ttyACM0" in str(error)
    if expected == "permission_denied":
        assert "udev" in str(error)
