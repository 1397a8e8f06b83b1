"""What the self-test tests share: settings with devices in a temporary data folder, the
self-test's options for tests, the codes of a report's checks, a pty scanner that sends as
soon as it is opened, HID recordings, and the test card's codes as a scanner sends them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drivers.discovery import HidInfo
from scanner_agent.config import DeviceConfig, Settings
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.selftest import GS1_WIRE, Options
from scanner_agent.testcard import TEST_CODES
from tests.helpers.devices import PtyScanner
from tests.helpers.samples import TODAY

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


def recording(path: Path, reports: list[bytes], protocol: str = "hid_keyboard") -> Path:
    lines = [json.dumps({"recording": 1, "protocol": protocol})]
    lines += [json.dumps({"t": i * 0.001, "hex": r.hex()}) for i, r in enumerate(reports)]
    path.write_text("\n".join(lines) + "\n")
    return path


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
