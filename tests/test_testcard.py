"""The printable test card: every code on it reads back as designed, in PNG and in PDF."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from scanner_agent.testcard import TEST_CODES, render_card, write_card
from tests.helpers.samples import TODAY


def read_all(image: np.ndarray) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, try_downscale=False)


@pytest.fixture(scope="module")
def card() -> np.ndarray:
    return np.array(render_card())


def expected_payloads() -> Counter[bytes]:
    return Counter(c.payload for c in TEST_CODES if c.symbology != "gs1_datamatrix")


def test_every_code_is_on_the_card_and_reads_back_exactly(card):
    found = read_all(card)
    assert len(found) == len(TEST_CODES)
    payloads = Counter(b.bytes for b in found if b.symbology_identifier != "]d2")
    assert payloads == expected_payloads()
    # square ECC200 symbols only (no DMRE, ]d7), a GS1 DataMatrix and a QR Code
    assert sorted(b.symbology_identifier for b in found) == [
        "]Q1",
        "]d1",
        "]d1",
        "]d1",
        "]d1",
        "]d1",
        "]d1",
        "]d2",
    ]


@pytest.mark.parametrize("with_aim", [True, False])
def test_the_agent_reads_what_it_should_and_refuses_what_it_should(card, context, with_aim):
    outcomes = Counter()
    for barcode in read_all(card):
        symbology = barcode.symbology_identifier if with_aim else None
        result = context.parse(barcode.bytes, TODAY, symbology=symbology)
        outcomes["valid" if result.valid else result.errors[0].code.value] += 1
        if result.valid:
            assert result.member_number == "TEST0000001"
            assert result.roc.status == "roc"
            assert "fictive" in (result.roc.name or "")
            assert result.validity.state == "current"
    refused = "wrong_symbology" if with_aim else "not_an_attestation"
    assert outcomes == Counter({"valid": 6, "gs1_code": 1, refused: 1})
    # and the card's own promise matches
    for code in TEST_CODES:
        if not code.must_read:
            assert refused in code.refused_with or "gs1_code" in code.refused_with


def test_module_sizes_are_as_labelled(card):
    by_key = {c.key: c for c in TEST_CODES}
    sizes = {}
    for barcode in read_all(card):
        if barcode.bytes == by_key["tagged-050"].payload:
            pos = barcode.position
            sizes.setdefault("tagged", []).append(abs(pos.top_right.x - pos.top_left.x))
    # three tagged symbols of the same version at 0.50, 0.33 and 0.25 mm: widths in that ratio
    widths = sorted(sizes["tagged"])
    assert widths[2] / widths[0] == pytest.approx(0.50 / 0.25, rel=0.15)


def test_pdf_card_renders_and_reads_back(tmp_path):
    path = write_card(tmp_path / "card.pdf")
    pdf = pypdfium2.PdfDocument(path)
    assert len(pdf) == 1
    width_pt, height_pt = pdf[0].get_size()
    assert (round(width_pt / 72 * 25.4), round(height_pt / 72 * 25.4)) == (210, 297)  # A4
    bitmap = pdf[0].render(scale=300 / 72, grayscale=True).to_pil()
    found = read_all(np.array(bitmap.convert("L")))
    assert len(found) == len(TEST_CODES)


def test_cli_writes_png_and_refuses_other_extensions(tmp_path):
    out = tmp_path / "card.png"
    p = subprocess.run(
        [sys.executable, "-m", "scanner_agent.cli", "testcard", "--out", str(out)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    image = Image.open(out)
    assert image.size == (2480, 3508)
    assert b"8 codes" in p.stdout
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner_agent.cli",
            "testcard",
            "--out",
            str(tmp_path / "card.jpg"),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert p.returncode == 2
