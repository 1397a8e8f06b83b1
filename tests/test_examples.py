"""`examples/`: the sample image and PDF are what examples/make_examples.py makes today, small,
and `scanner-agent decode` reads both, with the decisions examples/README.md shows."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from scanner_agent.testcard import TEST_AMC, TEST_MEMBER
from tests.helpers.samples import ROOT

EXAMPLES = ROOT / "examples"
DECODE = (sys.executable, "-m", "scanner_agent.cli", "decode")


def make_examples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:  # no examples/__pycache__: `decode examples/` would list it
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


def test_the_samples_are_up_to_date_and_small() -> None:
    module = make_examples()
    assert module.outdated() == [], "run: .venv/bin/python examples/make_examples.py"
    samples = sorted((EXAMPLES / "courrier").iterdir())
    assert [p.name for p in samples] == ["attestation-test.pdf", "attestation-test.png"]
    assert sum(p.stat().st_size for p in samples) < 200_000


def test_a_changed_sample_is_outdated(tmp_path: Path) -> None:
    module = make_examples()
    for name, data in module.build().items():
        (tmp_path / name).write_bytes(data)
    assert module.outdated(tmp_path) == []
    pdf = tmp_path / "attestation-test.pdf"
    pdf.write_bytes(pdf.read_bytes().replace(b"0 g", b"1 g", 1))
    (tmp_path / "attestation-test.png").unlink()
    assert module.outdated(tmp_path) == ["attestation-test.png", "attestation-test.pdf"]


def test_decode_reads_both_samples_as_test_attestations() -> None:
    result = subprocess.run(
        [*DECODE, "--jsonl", "--at", "2026-03-01", "examples/courrier/"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["page"], r["status"], r["decision"]) for r in rows] == [
        (str(Path("examples/courrier/attestation-test.pdf")), 2, "code", "check"),
        (str(Path("examples/courrier/attestation-test.png")), 1, "code", "check"),
    ]
    for row in rows:
        assert row["headline"] == "À vérifier le 01/03/2026"
        assert "test_attestation" in row["reasons"]  # never covered: a TEST attestation
        assert row["amc_number"].lstrip("0") == TEST_AMC
        assert row["member_number"] == "•" * (len(TEST_MEMBER) - 2) + TEST_MEMBER[-2:]
        assert (row["valid_from"], row["valid_to"]) == ("2020-01-01", "2099-12-31")
    assert TEST_MEMBER not in result.stdout
