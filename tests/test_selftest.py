"""The self-test against scanners that behave well and badly: pseudo-terminal serial scanners,
recorded HID keyboard reports, a video file as camera; its internal level; the interactive
level fed through a pty while it waits; and the report's shape and exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from drivers.discovery import HidInfo
from drivers.hid_keyboard import HidKeyboardDriver
from drivers.replay import RecordedHidDevice, TimedChunks
from scanner_agent import cli
from scanner_agent.config import DeviceConfig, HidKeyboardDevice, Settings
from scanner_agent.devices import DriverSetup, build_driver, hid_keyboard_params
from scanner_agent.framing import KeyboardFramer
from scanner_agent.inventory import Discovery
from scanner_agent.selftest import (
    CHECKS,
    GS1_WIRE,
    Options,
    SelfTestReport,
    detected_suffix,
    run_selftest,
)
from scanner_agent.testcard import FIXED, QR_TEXT, TAGGED, TEST_CODES, symbol_image
from tests.helpers.devices import PtyScanner, hid_pos_reports, typed_reports
from tests.helpers.samples import ROOT, TODAY, VALID, VALID_PIPE

KEYBOARD_HID = HidInfo(
    path="/dev/hidraw8", vid="0c2e", pid="0b61", serial_number="S1", product="Scanner",
    manufacturer="Honeywell", usage_page=0x01, usage=0x06, interface=1,
)  # fmt: skip


def make_settings(tmp_path: Path, *devices: dict[str, Any], **sections: Any) -> Settings:
    return Settings.model_validate(
        {"agent": {"data_dir": str(tmp_path / "data")}, "devices": list(devices), **sections}
    )


def options(**extra: Any) -> Options:
    """No storage check (one test covers it), the reference date of the tests."""
    values: dict[str, Any] = {"storage": False, "today": lambda: TODAY, "seconds": 1.0}
    values.update(extra)
    return Options(**values)


def codes(report_checks: list[Any]) -> dict[str, str]:
    return {c.code: c.verdict for c in report_checks}


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    device = PtyScanner(tmp_path)
    yield device
    device.unplug()


def sends_on_open(scanner: PtyScanner, data: bytes) -> Any:
    """A factory whose serial driver is the real one on the pty; the scanner sends `data` as
    soon as the port is open (pyserial flushes what came before)."""

    def factory(config: DeviceConfig, decode: Any) -> DriverSetup:
        setup = build_driver(config, decode=decode)
        real_open = setup.driver.open

        def open_then_send() -> None:
            real_open()
            if data:
                scanner.write(data)

        setup.driver.open = open_then_send
        return setup

    return factory


# --- serial scanners on a pty ---------------------------------------------------------------

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
    assert report.exit_status == {"pass": 0, "warn": 1, "fail": 2}[verdict]
    for c in device.checks:  # every problem says how to fix it
        assert c.code in CHECKS
        assert (c.fix != "") == (c.verdict != "pass")
    if "wrong_suffix" in expected and expected["wrong_suffix"] == "fail":
        wrong = next(c for c in device.checks if c.code == "wrong_suffix")
        assert 'suffix = "lf"' in wrong.fix
    if suffix == "none":
        assert 'suffix = "cr"' in next(c for c in device.checks if c.code == "idle_framing").fix


def test_the_suffix_a_scanner_sends_is_read_from_its_bytes() -> None:
    assert detected_suffix(b"abc\r\ndef\r\n") == "crlf"
    assert detected_suffix(b"abc\rdef\r") == "cr"
    assert detected_suffix(b"abc\ndef\n") == "lf"
    assert detected_suffix(b"abc\tdef\t") == "tab"
    assert detected_suffix(b"abcdef") is None


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
    assert report.exit_status == 2


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


# --- internal level -------------------------------------------------------------------------


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
        "testcard_parsed": "pass",
        "decoder_ok": "pass",
    }


def test_internal_checks_of_files_and_storage(tmp_path: Path) -> None:
    bad_layouts = tmp_path / "layouts"
    bad_layouts.mkdir()
    (bad_layouts / "broken.toml").write_text('name = "x"\nkind = "tagged"\n')
    settings = make_settings(
        tmp_path, parser={"layouts_dirs": [str(bad_layouts)]}, storage={"member_number": "plain"}
    )
    report = run_selftest(settings, options(level="internal", storage=True))
    got = codes(report.checks)
    assert got["layouts_invalid"] == "fail"
    assert "broken.toml" in next(c for c in report.checks if c.code == "layouts_invalid").message
    assert got["storage_ok"] == "pass"
    assert got["no_devices"] == "warn"
    assert "testcard_parsed" not in got  # nothing to parse with
    # storage that cannot be reached: a database file in a folder that is a file
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    settings = make_settings(
        tmp_path,
        storage={"url": f"sqlite:///{blocker}/scans.db", "member_number": "plain"},
    )
    report = run_selftest(settings, options(level="internal", storage=True))
    assert codes(report.checks)["storage_unavailable"] == "fail"


def test_a_layout_folder_without_the_shipped_layouts_cannot_read_the_test_card(
    tmp_path: Path,
) -> None:
    only_fixed = tmp_path / "layouts"
    only_fixed.mkdir()
    (only_fixed / "fixed.toml").write_text((ROOT / "config/layouts/fixed.toml").read_text())
    settings = make_settings(tmp_path, parser={"layouts_dirs": [str(only_fixed)]})
    report = run_selftest(settings, options(level="internal"))
    failed = next(c for c in report.checks if c.code == "testcard_not_parsed")
    assert failed.verdict == "fail"
    assert "tagged-050" in failed.message
    assert "fixed-050" not in failed.message


# --- HID keyboard: a US scanner on a French layout, from recorded reports -------------------


def recording(path: Path, reports: list[bytes], protocol: str = "hid_keyboard") -> Path:
    lines = [json.dumps({"recording": 1, "protocol": protocol})]
    lines += [json.dumps({"t": i * 0.001, "hex": r.hex()}) for i, r in enumerate(reports)]
    path.write_text("\n".join(lines) + "\n")
    return path


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


# --- a video file as camera -----------------------------------------------------------------


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


# --- interactive: the operator scans the test card -----------------------------------------


def card_bytes(*, keys: tuple[str, ...], suffix: bytes = b"\r") -> bytes:
    by_key = {c.key: c for c in TEST_CODES}
    out = b""
    for key in keys:
        code = by_key[key]
        if code.symbology == "gs1_datamatrix":
            out += b"]d2" + GS1_WIRE + suffix
        elif code.symbology == "qrcode":
            out += b"]Q1" + code.payload + suffix
        else:
            out += b"]d1" + code.payload + suffix
    return out


def test_interactive_passes_when_exactly_the_card_arrives(
    tmp_path: Path, scanner: PtyScanner
) -> None:
    prompts: list[str] = []

    def operator(message: str) -> None:  # scans while the self-test waits
        prompts.append(message)
        scanner.write(card_bytes(keys=("tagged-050", "qr", "gs1", "fixed-033")))

    settings = make_settings(tmp_path, {"id": "desk", "type": "serial", "port": str(scanner.link)})
    report = run_selftest(settings, options(level="interactive", prompt=operator, seconds=30))
    (device,) = report.devices
    assert len(prompts) == 1
    assert "'desk'" in prompts[0]
    got = codes(device.checks)
    assert got["testcard_complete"] == "pass"
    assert device.verdict == "pass", device.checks
    assert device.measurements["codes"] == 4
    assert device.measurements["complete_s"] is not None
    assert device.measurements["first_code_s"] <= device.measurements["complete_s"]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (b"]d1" + VALID + b"\r" + card_bytes(keys=("tagged-025", "fixed-050")),
         {"unexpected_code": "fail"}),
        (card_bytes(keys=("tagged-033",)), {"testcard_incomplete": "warn"}),
        (b"", {"no_data": "fail"}),
    ],
    ids=["another-code", "incomplete", "nothing"],
)  # fmt: skip
def test_interactive_fails_on_other_codes_missing_codes_or_silence(
    tmp_path: Path, scanner: PtyScanner, sent: bytes, expected: dict[str, str]
) -> None:
    settings = make_settings(tmp_path, {"id": "desk", "type": "serial", "port": str(scanner.link)})
    report = run_selftest(
        settings,
        options(level="interactive", prompt=lambda m: sent and scanner.write(sent), seconds=1.0),
    )
    got = codes(report.devices[0].checks)
    assert {k: got.get(k) for k in expected} == expected
    assert report.verdict != "pass"


def test_interactive_card_through_a_keyboard_scanner_loses_gs_but_matches(
    tmp_path: Path,
) -> None:
    text = "]d1" + TAGGED.replace(b"\x1d", b"").decode() + "\r" + "]d1" + FIXED.decode() + "\r"
    path = recording(tmp_path / "card.jsonl", typed_reports(text, "us", enter=False))
    settings = make_settings(
        tmp_path,
        {"id": "wedge", "type": "replay", "path": str(path), "protocol": "hid_keyboard",
         "layout": "fr", "speed": 100},
    )  # fmt: skip
    report = run_selftest(settings, options(level="interactive", seconds=10))
    got = codes(report.devices[0].checks)
    assert got["testcard_complete"] == "pass"
    assert got["keyboard_layout_mismatch"] == "warn"
    assert got["separators_lost"] == "warn"
    assert "unexpected_code" not in got


def test_the_qr_code_of_the_card_is_recognised_without_aim() -> None:
    from scanner_agent.framing import Frame
    from scanner_agent.selftest import match_test_code

    code = match_test_code(Frame(QR_TEXT, None, 0.0), None)  # type: ignore[arg-type]
    assert code is not None
    assert code.key == "qr"


def test_interactive_cli_driven_through_a_pty(tmp_path: Path, scanner: PtyScanner) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[[devices]]\nid = "desk"\ntype = "serial"\nport = "{scanner.link}"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner_agent.cli", "selftest", "--interactive", "--json",
         "--config", str(config), "--seconds", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = ""
        while not line.startswith(">>>"):  # warnings of libraries may come first
            line = process.stderr.readline().decode()
            assert line, "the self-test ended without prompting"
        assert line.startswith(">>> device 'desk' is open: scan the test card"), line
        scanner.write(card_bytes(keys=("tagged-033", "fixed-050", "gs1")))
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    report = SelfTestReport.model_validate_json(out)
    assert process.returncode == 0, (out, err)
    assert report.level == "interactive"
    assert codes(report.devices[0].checks)["testcard_complete"] == "pass"
    raw = json.loads(out)
    assert set(raw) == {"verdict", "level", "started_at", "duration_ms", "checks", "devices"}
    assert set(raw["devices"][0]) == {"device_id", "type", "verdict", "checks", "measurements"}
    assert set(raw["devices"][0]["checks"][0]) == {"code", "verdict", "message", "fix"}


# --- the command: exit statuses, tables, a configuration that cannot be read ---------------


def test_cli_exit_status_and_readable_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "data"}"\n'
        '[[devices]]\nid = "wedge"\ntype = "hid_keyboard"\npath = "/dev/null"\n'
    )
    status = cli.main(["selftest", "--internal", "--config", str(config)])
    out = capsys.readouterr().out
    assert status == 1  # keyboard mode: a warning
    assert "WARN" in out
    assert "keyboard_mode" in out
    assert "device wedge (hid_keyboard)" in out
    config.write_text(config.read_text().replace("/dev/null", "/dev/hidraw-absent"))
    assert cli.main(["selftest", "--internal", "--json", "--config", str(config)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["devices"][0]["checks"][0]["code"] == "device_not_found"


def test_cli_reports_a_configuration_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[[devices]]\nid = "x"\ntype = "serial"\nsuffix = "crcr"\nport = "a"\n')
    assert cli.main(["selftest", "--json", "--config", str(config)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "fail"
    assert report["checks"][0]["code"] == "config_invalid"
    assert "suffix" in report["checks"][0]["message"]


def test_cli_refuses_an_unknown_device(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_path}"\n')
    with pytest.raises(SystemExit) as exc:
        cli.main(["selftest", "--device", "nope", "--config", str(config)])
    assert exc.value.code == 2


def test_every_check_with_a_fix_is_in_the_readme_troubleshooting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Self-test reasons") :]
    for code, fix in CHECKS.items():
        if fix:
            assert f"`{code}`" in section, code
