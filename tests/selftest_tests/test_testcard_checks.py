"""The interactive level: the operator scans the test card while the self-test waits (fed
through a pty or a recording); exactly the card's codes must arrive."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner_agent.selftest import run_selftest
from scanner_agent.testcard import FIXED, QR_TEXT, TAGGED
from tests.helpers.devices import PtyScanner, typed_reports
from tests.helpers.samples import VALID
from tests.helpers.selftest import card_bytes, codes, make_settings, options, recording


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
