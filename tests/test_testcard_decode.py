"""The test card, rendered, decoded by `scanner-agent decode --json` in a subprocess: every code
found (the QR Code beside the Data Matrix codes included: documents report every code of a
page), read or refused as the card says, and the self-test recognises each one."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from scanner_agent.framing import Frame
from scanner_agent.selftest import GS1_WIRE, match_test_code
from scanner_agent.testcard import TEST_CODES, write_card
from tests.helpers.samples import ROOT


def test_every_card_code_is_found_and_read_or_refused_as_designed(tmp_path: Path) -> None:
    png = write_card(tmp_path / "card.png")
    pdf = write_card(tmp_path / "card.pdf")
    process = subprocess.run(
        [sys.executable, "-m", "scanner_agent.cli", "decode", "--json", "--at", "2026-03-01",
         str(png), str(pdf)],
        capture_output=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    reports = [json.loads(line) for line in process.stdout.splitlines()]
    assert [Path(r["file"]).name for r in reports] == ["card.png", "card.pdf"]
    for report in reports:
        assert report["error"] is None
        assert len(report["codes"]) == len(TEST_CODES)
        matched = []
        for found in report["codes"]:
            data = base64.b64decode(found["payload_b64"])
            code = match_test_code(Frame(data, found["symbology"], 0.0), None)  # type: ignore[arg-type]
            assert code is not None, data[:20]
            matched.append(code.key)
            attestation = found["attestation"]
            if code.must_read:
                assert attestation["status"] == "valid", attestation["errors"]
                assert attestation["member_number"] == "TEST0000001"
                assert attestation["roc"]["status"] == "roc"
            else:
                assert attestation["status"] == "invalid"
                assert {e["code"] for e in attestation["errors"]} & set(code.refused_with)
            if code.symbology == "gs1_datamatrix":
                assert data == GS1_WIRE  # what the self-test expects a scanner to send
                assert found["symbology"] == "]d2"
            if code.symbology == "qrcode":
                assert found["symbology"] == "]Q1"
                assert [e["code"] for e in attestation["errors"]] == ["wrong_symbology"]
        # the three tagged sizes and the `|` variant are one tagged attestation to the
        # self-test (keyboard scanners lose the separators), the two fixed sizes one fixed
        assert Counter(matched) == {"tagged-050": 4, "fixed-050": 2, "gs1": 1, "qr": 1}
