"""Devices that are absent, locked or held by another program, found out without opening them
(the internal level) or when they would not open; a bug while testing one device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner_agent.config import DeviceConfig
from scanner_agent.devices import DriverSetup
from scanner_agent.inventory import Discovery
from scanner_agent.selftest import CHECKS, run_selftest
from tests.helpers.devices import PtyScanner
from tests.helpers.selftest import KEYBOARD_HID, codes, make_settings, options


def test_a_port_held_by_another_program_is_busy(tmp_path: Path, scanner: PtyScanner) -> None:
    import serial

    holder = serial.Serial(str(scanner.link), exclusive=True)
    try:
        settings = make_settings(
            tmp_path, {"id": "desk", "type": "serial", "port": str(scanner.link)}
        )
        report = run_selftest(settings, options())
    finally:
        holder.close()
    got = codes(report.devices[0].checks)
    assert got["device_busy"] == "fail"
    assert "POST /v1/selftest" in CHECKS["device_busy"]
    assert report.exit_status == 1


def test_a_bug_while_testing_one_device_fails_that_device_only(tmp_path: Path) -> None:
    def broken(path: str, mode: int) -> bool:
        raise RuntimeError("a bug")

    settings = make_settings(
        tmp_path,
        {"id": "desk", "type": "serial", "port": "/dev/null"},
        {"id": "demo", "type": "demo", "interval_s": 0.01},
    )
    report = run_selftest(settings, options(discovery=Discovery(access=broken)))
    by_id = {d.device_id: d for d in report.devices}
    assert codes(by_id["desk"].checks) == {"device_error": "fail"}
    assert "RuntimeError" in by_id["desk"].checks[0].message
    assert codes(by_id["demo"].checks)["opened"] == "pass"  # the other device is tested


def test_internal_level_opens_nothing_and_reports_permissions_and_presence(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        {"id": "locked", "type": "serial", "port": "/dev/ttyACM5"},
        {"id": "absent", "type": "serial", "port": "/dev/ttyACM6"},
        {"id": "wedge", "type": "hid_keyboard", "vid": "0c2e", "layout": "fr"},
        {"id": "usb", "type": "serial", "vid": "05e0"},
        {"id": "off", "type": "demo", "enabled": False},
    )
    opened: list[DeviceConfig] = []

    def factory(config: DeviceConfig, decode: Any) -> DriverSetup:  # pragma: no cover
        opened.append(config)
        raise AssertionError("the internal level must not open devices")

    found = Discovery(
        serial_ports=lambda: [],
        hid_devices=lambda: [KEYBOARD_HID],
        cameras=lambda: [],
        access=lambda path, mode: path != "/dev/ttyACM5",
        exists=lambda path: path != "/dev/ttyACM6",
    )
    report = run_selftest(settings, options(level="internal", factory=factory, discovery=found))
    assert opened == []
    assert report.level == "internal"
    by_id = {d.device_id: d for d in report.devices}
    locked = codes(by_id["locked"].checks)
    assert locked == {"permission_denied": "fail"}
    fix = by_id["locked"].checks[0].fix
    assert "99-scanner-agent.rules" in fix
    assert "plugdev" in fix
    assert codes(by_id["absent"].checks) == {"device_not_found": "fail"}
    assert codes(by_id["wedge"].checks) == {"device_present": "pass", "keyboard_mode": "warn"}
    assert "hid_pos" in by_id["wedge"].checks[1].fix
    assert codes(by_id["usb"].checks) == {"device_not_found": "fail"}
    assert "05e0" in by_id["usb"].checks[0].message
    assert codes(by_id["off"].checks) == {"device_disabled": "pass"}
    assert report.verdict == "fail"
    agent = codes(report.checks)
    assert agent == {
        "config_ok": "pass",
        "layouts_loaded": "pass",
        "referential_loaded": "pass",
        "roc_phase": "pass",
        "testcard_parsed": "pass",
        "decoder_ok": "pass",
    }
