"""Keyboard-mode scanners on Windows, with fakes that pretend to be win32: the keyboards Raw Input
sees in `devices` and the inventory, `keyboard_collection_exclusive` for a keyboard collection
hidapi would open, and the keyboard-mode warning that says the keys still reach the focused
window. The same configurations on Linux keep their behaviour."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from drivers.discovery import HidInfo
from drivers.rawinput import RawKeyboard, parse_device_name
from scanner_agent.commands import devices as devices_command
from scanner_agent.config import DeviceConfig, HidKeyboardDevice
from scanner_agent.devices import DriverSetup
from scanner_agent.inventory import Discovery, take_inventory
from scanner_agent.selftest import CHECKS, CHECKS_FR, run_selftest
from scanner_agent.selftest.device_presence import keyboard_checks
from tests.helpers.selftest import codes, make_settings, options


def _raw(handle: int, path: str) -> RawKeyboard:
    return RawKeyboard(handle, path, *parse_device_name(path))


SCANNER_NAME = (
    r"\\?\HID#VID_0C2E&PID_0B61&MI_00#7&1a2b3c&0&0000#{884b96c3-56ef-11d1-bc8c-00a0c91405dd}"
)
DESK_NAME = (
    r"\\?\HID#VID_046D&PID_C31C&MI_00#7&22b4c1&0&0000#{884b96c3-56ef-11d1-bc8c-00a0c91405dd}"
)
SCANNER_RAW = _raw(0x1003F, SCANNER_NAME)
DESK_RAW = _raw(0x10041, DESK_NAME)
# the scanner's keyboard collection as hidapi lists it on Windows (listed, never readable)
SCANNER_HID = HidInfo(
    path=r"\\?\hid#vid_0c2e&pid_0b61&mi_00#7&1a2b3c&0&0000#{4d1e55b2-f16f-11cf-88cb-001111000030}",
    vid="0c2e", pid="0b61", serial_number=None, product="Scanner", manufacturer="Honeywell",
    usage_page=0x01, usage=0x06, interface=0,
)  # fmt: skip


def windows(**extra: Any) -> Discovery:
    values: dict[str, Any] = {
        "serial_ports": lambda: [],
        "hid_devices": lambda: [SCANNER_HID],
        "cameras": lambda: [],
        "keyboards": lambda: [SCANNER_RAW, DESK_RAW],
        "platform": "win32",
    }
    values.update(extra)
    return Discovery(**values)


def linux(**extra: Any) -> Discovery:
    def no_raw_input() -> list[RawKeyboard]:  # pragma: no cover - must not be asked
        raise AssertionError("Raw Input is listed on Windows only")

    values: dict[str, Any] = {
        "serial_ports": lambda: [],
        "hid_devices": lambda: [],
        "cameras": lambda: [],
        "keyboards": no_raw_input,
        "platform": "linux",
    }
    values.update(extra)
    return Discovery(**values)


WEDGE = {"id": "wedge", "type": "hid_keyboard", "vid": "0c2e", "pid": "0b61"}


def test_the_inventory_lists_the_keyboards_raw_input_sees_and_marks_the_scanner(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, WEDGE)
    inventory = take_inventory(settings, windows())
    raw = [e for e in inventory.entries if e.kind == "raw_keyboard"]
    assert [(e.path, e.vid, e.pid, e.configured) for e in raw] == [
        (SCANNER_NAME, "0c2e", "0b61", ("wedge",)),
        (DESK_NAME, "046d", "c31c", ()),
    ]
    # hidapi's keyboard collection is listed, but it is not what `auto` reads on Windows
    (hid,) = [e for e in inventory.entries if e.kind == "hid_keyboard"]
    assert hid.configured == ()
    assert inventory.missing == []
    # by device name too, whatever its case
    by_name = make_settings(
        tmp_path, {"id": "wedge", "type": "hid_keyboard", "path": SCANNER_NAME.lower()}
    )
    entries = take_inventory(by_name, windows()).entries
    assert [e.configured for e in entries if e.kind == "raw_keyboard"] == [("wedge",), ()]


def test_a_scanner_raw_input_does_not_see_is_missing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, WEDGE)
    assert take_inventory(settings, windows(keyboards=lambda: [DESK_RAW])).missing == ["wedge"]
    # a serial number configured must be in the device name, as the driver opens it
    with_serial = make_settings(tmp_path, {**WEDGE, "serial_number": "S1"})
    assert take_inventory(with_serial, windows()).missing == ["wedge"]  # no serial in the name
    named = _raw(7, SCANNER_NAME)
    other = RawKeyboard(named.handle, named.path, named.vid, named.pid, "S2")
    assert take_inventory(with_serial, windows(keyboards=lambda: [other])).missing == ["wedge"]
    same = RawKeyboard(named.handle, named.path, named.vid, named.pid, "S1")
    assert take_inventory(with_serial, windows(keyboards=lambda: [same])).missing == []


def test_on_linux_auto_is_hidapi_as_before(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, WEDGE)
    # not plugged in: missing (an `auto` keyboard is one discovery can see)
    assert take_inventory(settings, linux()).missing == ["wedge"]
    linux_hid = HidInfo("/dev/hidraw2", "0c2e", "0b61", None, "Scanner", "Zebra", 1, 6, 0)
    inventory = take_inventory(settings, linux(hid_devices=lambda: [linux_hid]))
    assert [(e.kind, e.configured) for e in inventory.entries] == [("hid_keyboard", ("wedge",))]
    assert inventory.missing == []


def test_devices_shows_the_raw_input_keyboards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        '[[devices]]\nid = "wedge"\ntype = "hid_keyboard"\nvid = "0c2e"\npid = "0b61"\n'
    )
    args = argparse.Namespace(config=str(config), json=True)
    assert devices_command.run(args, windows()) == 0
    data = json.loads(capsys.readouterr().out)
    raw = [d for d in data["devices"] if d["kind"] == "raw_keyboard"]
    assert [(d["vid"], d["pid"], d["configured"]) for d in raw] == [
        ("0c2e", "0b61", ["wedge"]),
        ("046d", "c31c", []),
    ]
    args = argparse.Namespace(config=str(config), json=False)
    assert devices_command.run(args, windows()) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "keyboard (Raw Input)" in out
    assert "0c2e:0b61" in out and "046d:c31c" in out
    assert "still reach the focused window" in out


def _never_opened(config: DeviceConfig, decode: Any) -> DriverSetup:  # pragma: no cover
    raise AssertionError(f"{config.id} must not be opened")


def test_a_keyboard_collection_through_hidapi_on_windows_fails_and_is_not_opened(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        {**WEDGE, "backend": "hidapi"},
        {"id": "counter", "type": "hid_pos", "vid": "0c2e", "usage_page": 1},
    )
    report = run_selftest(settings, options(factory=_never_opened, discovery=windows()))
    by_id = {d.device_id: d for d in report.devices}
    wedge = {c.code: c for c in by_id["wedge"].checks}
    assert wedge["keyboard_collection_exclusive"].verdict == "fail"
    fix = wedge["keyboard_collection_exclusive"].fix
    assert 'backend = "auto"' in fix and "'wedge'" in fix
    assert "HID POS" in fix and "USB-CDC" in fix and "programming guide" in fix
    counter = {c.code: c for c in by_id["counter"].checks}
    # not opened: the factory would raise, which the self-test reports as device_error
    assert "device_error" not in wedge and "device_error" not in counter
    assert counter["keyboard_collection_exclusive"].verdict == "fail"
    assert SCANNER_HID.path in counter["keyboard_collection_exclusive"].message
    assert "HID POS" in counter["keyboard_collection_exclusive"].fix
    assert report.verdict == "fail" and report.exit_status == 1
    french = report.in_language("fr").devices[0].checks
    fixes = [c.fix for c in french if c.code == "keyboard_collection_exclusive"]
    assert fixes and "guide de programmation du fabricant" in fixes[0]


def test_keyboard_mode_through_raw_input_says_the_keys_reach_the_focused_window(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, WEDGE)
    report = run_selftest(settings, options(level="internal", discovery=windows()))
    checks = {c.code: c for c in report.devices[0].checks}
    assert codes(report.devices[0].checks) == {"device_present": "pass", "keyboard_mode": "warn"}
    assert checks["device_present"].message == f"found as {SCANNER_NAME}"
    mode = checks["keyboard_mode"]
    assert "Raw Input" in mode.message and "still reach the focused window" in mode.message
    assert "HID POS" in mode.fix and "USB-CDC" in mode.fix
    assert "vendor's programming guide" in mode.fix and "GAP field" in mode.fix
    assert "hook" not in (mode.message + mode.fix).lower()
    french = mode.in_language("fr")
    assert "fenêtre active" in french.message and "champ du GAP" in french.fix
    live = keyboard_checks(HidKeyboardDevice.model_validate(WEDGE), "win32", live=True)
    assert [(c.code, c.verdict) for c in live] == [("keyboard_mode", "warn")]
    assert "still reach the focused window" in live[0].message


def test_the_same_configurations_on_linux_do_not_fail(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        {**WEDGE, "backend": "hidapi"},
        {"id": "counter", "type": "hid_pos", "vid": "0c2e", "usage_page": 1},
    )
    linux_hid = HidInfo("/dev/hidraw2", "0c2e", "0b61", None, "Scanner", "Zebra", 1, 6, 0)
    found = linux(hid_devices=lambda: [linux_hid], exists=lambda path: True)
    report = run_selftest(settings, options(level="internal", discovery=found))
    for device in report.devices:
        assert "keyboard_collection_exclusive" not in codes(device.checks)
    wedge = {c.code: c for c in report.devices[0].checks}["keyboard_mode"]
    assert "focused window" not in wedge.message
    config = HidKeyboardDevice.model_validate(WEDGE)
    live = keyboard_checks(config, "linux", live=True)
    assert live[0].message == "the scanner is read in keyboard mode (layout 'us')"


def test_the_code_has_its_generic_fix_in_both_languages() -> None:
    for fixes in (CHECKS, CHECKS_FR):
        fix = fixes["keyboard_collection_exclusive"]
        assert '"auto"' in fix and "HID POS" in fix and "USB-CDC" in fix
