"""What scanners send, judged: serial scanners on a pty with good and bad suffixes, noise and
no AIM identifier; a US keyboard scanner on a French layout and a HID POS scanner, from
recorded reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drivers.hid_keyboard import HidKeyboardDriver
from drivers.replay import RecordedHidDevice, TimedChunks
from scanner_agent.config import DeviceConfig, HidKeyboardDevice
from scanner_agent.devices import DriverSetup, hid_keyboard_params
from scanner_agent.framing import KeyboardFramer
from scanner_agent.inventory import Discovery
from scanner_agent.selftest import CHECKS, CHECKS_FR, detected_suffix, run_selftest
from tests.helpers.devices import PtyScanner, hid_pos_reports, typed_reports
from tests.helpers.samples import VALID, VALID_PIPE
from tests.helpers.selftest import (
    KEYBOARD_HID,
    codes,
    make_settings,
    options,
    recording,
    sends_on_open,
)

AIM_VALID = b"]d1" + VALID


@pytest.mark.parametrize(
    ("suffix", "sent", "verdict", "expected"),
    [
        pytest.param("cr", AIM_VALID + b"\r", "pass", {"opened": "pass", "codes_read": "pass",
                     "aim_present": "pass"}, id="good"),
        pytest.param("cr", b"", "pass", {"opened": "pass", "no_data": "pass"}, id="silence"),
        pytest.param("cr", VALID + b"\r", "warn", {"aim_missing": "warn"}, id="no-aim"),
        pytest.param("cr", AIM_VALID + b"\n" + AIM_VALID + b"\n", "fail",
                     {"wrong_suffix": "fail"}, id="lf-for-cr"),
        pytest.param("cr", AIM_VALID + b"\r\n" + AIM_VALID + b"\r\n", "warn",
                     {"wrong_suffix": "warn", "codes_read": "pass"}, id="crlf-for-cr"),
        pytest.param("lf", AIM_VALID + b"\r\n", "pass", {"codes_read": "pass",
                     "wrong_suffix": None, "noise": None}, id="crlf-for-lf"),
        pytest.param("cr", AIM_VALID + AIM_VALID, "fail", {"frame_never_ends": "fail"},
                     id="no-suffix"),
        pytest.param("none", AIM_VALID + b"\r", "warn", {"idle_framing": "warn"}, id="idle"),
        pytest.param("cr", b"\x00\x11\xff" + AIM_VALID + b"\rgarbage line\r", "warn",
                     {"noise": "warn", "codes_refused": "warn"}, id="noise"),
    ],
)  # fmt: skip
def test_serial_scanners_good_and_bad(
    tmp_path: Path,
    scanner: PtyScanner,
    suffix: str,
    sent: bytes,
    verdict: str,
    expected: dict[str, str],
) -> None:
    settings = make_settings(
        tmp_path, {"id": "desk", "type": "serial", "port": str(scanner.link), "suffix": suffix}
    )
    report = run_selftest(settings, options(factory=sends_on_open(scanner, sent)))
    (device,) = report.devices
    got = codes(device.checks)
    assert {k: got.get(k) for k in expected} == expected, device.checks
    assert device.verdict == verdict
    assert report.verdict == verdict
    assert report.exit_status == {"pass": 0, "warn": 1, "fail": 1}[verdict]
    for c in device.checks:  # every problem says how to fix it
        assert c.code in CHECKS
        assert (c.fix != "") == (c.verdict != "pass")
    if "wrong_suffix" in expected and expected["wrong_suffix"] == "fail":
        wrong = next(c for c in device.checks if c.code == "wrong_suffix")
        assert 'suffix = "lf"' in wrong.fix
    if suffix == "none":
        assert 'suffix = "cr"' in next(c for c in device.checks if c.code == "idle_framing").fix
    # the same report in French: the same codes, verdicts and parameters, French words
    (french,) = report.in_language("fr").devices
    assert [(c.code, c.verdict, c.params) for c in french.checks] == [
        (c.code, c.verdict, c.params) for c in device.checks
    ]
    for english_check, french_check in zip(device.checks, french.checks, strict=True):
        assert french_check.message != english_check.message, french_check
        assert (french_check.fix != "") == (english_check.fix != "")
    if "wrong_suffix" in expected and expected["wrong_suffix"] == "fail":
        wrong = next(c for c in french.checks if c.code == "wrong_suffix")
        assert wrong.fix.startswith("mettez suffix = \"lf\" pour l'appareil 'desk'")


def test_the_suffix_a_scanner_sends_is_read_from_its_bytes() -> None:
    assert detected_suffix(b"abc\r\ndef\r\n") == "crlf"
    assert detected_suffix(b"abc\rdef\r") == "cr"
    assert detected_suffix(b"abc\ndef\n") == "lf"
    assert detected_suffix(b"abc\tdef\t") == "tab"
    assert detected_suffix(b"abcdef") is None


def test_a_us_keyboard_scanner_replayed_on_a_french_layout(tmp_path: Path) -> None:
    path = recording(tmp_path / "wedge.jsonl", typed_reports(VALID_PIPE.decode(), "us"))
    settings = make_settings(
        tmp_path,
        {"id": "support", "type": "replay", "path": str(path), "protocol": "hid_keyboard",
         "layout": "fr", "speed": 100},
    )  # fmt: skip
    report = run_selftest(settings, options(seconds=10))
    (device,) = report.devices
    got = codes(device.checks)
    assert got["keyboard_layout_mismatch"] == "warn"
    mismatch = next(c for c in device.checks if c.code == "keyboard_layout_mismatch")
    assert 'layout = "us"' in mismatch.message
    assert mismatch.params == {"layout": "us", "configured": "fr", "device": "support"}
    french = report.in_language("fr").devices[0]
    mismatch = next(c for c in french.checks if c.code == "keyboard_layout_mismatch")
    assert mismatch.message == (
        "le lecteur tape avec la disposition de clavier 'us', pas 'fr' : mettez layout = \"us\" "
        "pour l'appareil 'support' (ou réglez le lecteur sur 'fr' avec ses codes de "
        "configuration)"
    )
    assert mismatch.fix == CHECKS_FR["keyboard_layout_mismatch"]
    assert got["codes_read"] == "pass"
    assert got["aim_missing"] == "warn"
    assert device.verdict == "warn"


def test_a_keyboard_mode_scanner_through_the_real_hid_driver(tmp_path: Path) -> None:
    reports = typed_reports("]d1" + VALID_PIPE.decode(), "us")

    def factory(config: DeviceConfig, decode: Any) -> DriverSetup:
        assert isinstance(config, HidKeyboardDevice)
        device = RecordedHidDevice(TimedChunks([(0.0, r) for r in reports], speed=1000))
        entry = {"path": b"/dev/hidraw8", "vendor_id": 0x0C2E, "product_id": 0x0B61,
                 "usage_page": 1, "usage": 6, "product_string": "Scanner"}  # fmt: skip
        driver = HidKeyboardDriver(
            hid_keyboard_params(config),
            device_factory=lambda: device,
            enumerate=lambda vid, pid: [entry],
        )
        return DriverSetup(
            driver, lambda: KeyboardFramer(config.layout), "hid_keyboard", layout=config.layout
        )

    settings = make_settings(
        tmp_path, {"id": "wedge", "type": "hid_keyboard", "vid": "0c2e", "layout": "fr"}
    )
    found = Discovery(
        serial_ports=lambda: [], hid_devices=lambda: [KEYBOARD_HID], cameras=lambda: [],
        access=lambda path, mode: True, exists=lambda path: True,
    )  # fmt: skip
    report = run_selftest(settings, options(factory=factory, discovery=found, seconds=10))
    got = codes(report.devices[0].checks)
    assert got == {
        "device_present": "pass",
        "keyboard_mode": "warn",
        "opened": "pass",
        "codes_read": "pass",
        "aim_present": "pass",
        "keyboard_layout_mismatch": "warn",
    }


@pytest.mark.parametrize(
    ("aim", "verdict", "check_code"),
    [(b"]d1", "pass", "aim_present"), (b"\0\0\0", "warn", "aim_missing")],
)
def test_a_hid_pos_scanner_replayed_with_and_without_aim(
    tmp_path: Path, aim: bytes, verdict: str, check_code: str
) -> None:
    path = recording(tmp_path / "pos.jsonl", hid_pos_reports(VALID, aim=aim), "hid_pos")
    settings = make_settings(
        tmp_path,
        {"id": "pos", "type": "replay", "path": str(path), "protocol": "hid_pos", "speed": 100},
    )
    report = run_selftest(settings, options(seconds=10))
    (device,) = report.devices
    got = codes(device.checks)
    assert got[check_code] == verdict
    assert got["codes_read"] == "pass"
    assert device.verdict == verdict
