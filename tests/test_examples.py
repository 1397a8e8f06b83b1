"""`examples/`: the sample image and PDF are what tests/helpers/examples.py makes today, small,
alone in their folder, and `scanner-agent decode examples/` reads both, with the decisions the
README shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scanner_agent.testcard import TEST_AMC, TEST_MEMBER
from tests.helpers import examples
from tests.helpers.samples import ROOT

EXAMPLES = ROOT / "examples"
DECODE = (sys.executable, "-m", "scanner_agent.cli", "decode")


def test_the_samples_are_up_to_date_and_small() -> None:
    assert examples.outdated() == [], "run: make examples"
    samples = sorted(EXAMPLES.iterdir())  # nothing else: `decode examples/` reads only them
    assert [p.name for p in samples] == ["attestation-test.pdf", "attestation-test.png"]
    assert sum(p.stat().st_size for p in samples) < 200_000


def test_a_changed_sample_is_outdated(tmp_path: Path) -> None:
    for name, data in examples.build().items():
        (tmp_path / name).write_bytes(data)
    assert examples.outdated(tmp_path) == []
    pdf = tmp_path / "attestation-test.pdf"
    pdf.write_bytes(pdf.read_bytes().replace(b"0 g", b"1 g", 1))
    (tmp_path / "attestation-test.png").unlink()
    assert examples.outdated(tmp_path) == ["attestation-test.png", "attestation-test.pdf"]


def test_decode_reads_both_samples_as_test_attestations() -> None:
    result = subprocess.run(
        [*DECODE, "--jsonl", "--at", "2026-03-01", "examples/"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["page"], r["status"], r["decision"]) for r in rows] == [
        (str(Path("examples/attestation-test.pdf")), 2, "code", "check"),
        (str(Path("examples/attestation-test.png")), 1, "code", "check"),
    ]
    for row in rows:
        assert row["headline"] == "À vérifier le 01/03/2026"
        assert "test_attestation" in row["reasons"]  # never covered: a TEST attestation
        assert row["amc_number"].lstrip("0") == TEST_AMC
        assert row["member_number"] == "•" * (len(TEST_MEMBER) - 2) + TEST_MEMBER[-2:]
        assert (row["valid_from"], row["valid_to"]) == ("2020-01-01", "2099-12-31")
    assert TEST_MEMBER not in result.stdout
