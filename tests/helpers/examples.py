"""The sample files of `examples/`, made again from the project's own generators: the
TEST attestation of the printable test card (`scanner_agent.testcard`: the fictitious test AMC
999999990 of the illustrative referential, member number TEST0000001, valid 2020-2099),

- `attestation-test.png`: a card photographed flat (tests/helpers/synthetic.py's `card`), the
  tagged layout;
- `attestation-test.pdf`: a two-page letter drawn with vectors as an insurer's site makes it
  (tests/helpers/pdfs.py's `vector_pdf`), the attestation on page 2, in the fixed layout.

    make examples                                             # write them
    .venv/bin/python -m tests.helpers.examples --check       # exit 1 when they are not up to date

`examples/` holds these two files and nothing else, so that `scanner-agent decode examples/`
reads both and nothing else.

Everything is seeded: the PDF comes out byte for byte the same; the PNG, pixel for pixel (its
compressed bytes may differ with the zlib of another machine). tests/test_examples.py checks
both and decodes them.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from scanner_agent.testcard import FIXED, TAGGED
from tests.helpers import synthetic
from tests.helpers.pdfs import VectorCode, vector_pdf
from tests.helpers.samples import ROOT

FOLDER = ROOT / "examples"
PNG, PDF = "attestation-test.png", "attestation-test.pdf"


def card_png() -> bytes:
    """The TEST attestation (tagged layout) on a card, 856 x 540 pixels, PNG."""
    code = synthetic.datamatrix(TAGGED, 4)
    card = synthetic.card(code, np.random.default_rng(16))
    for row, text in enumerate(("CARTE DE TEST", "NE PAS UTILISER POUR UN PATIENT")):
        cv2.putText(card, text, (150, 40 + row * 34), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2)
    out = io.BytesIO()
    Image.fromarray(card[:, :, ::-1]).save(out, "PNG", optimize=True)
    return out.getvalue()


def letter_pdf() -> bytes:
    """A two-page letter drawn with vectors, the TEST attestation (fixed layout) on page 2."""
    return vector_pdf([[], [VectorCode(FIXED, x_mm=130, y_mm=40, module_mm=0.4)]], seed=16)


def build() -> dict[str, bytes]:
    """Each sample's name and bytes."""
    return {PNG: card_png(), PDF: letter_pdf()}


def outdated(folder: Path = FOLDER) -> list[str]:
    """The samples in `folder` that differ from what `build` makes (PNG: by pixels)."""
    stale = []
    for name, data in build().items():
        path = folder / name
        if not path.exists():
            stale.append(name)
        elif name.endswith(".png"):
            with Image.open(path) as on_disk, Image.open(io.BytesIO(data)) as made:
                if on_disk.mode != made.mode or on_disk.tobytes() != made.tobytes():
                    stale.append(name)
        elif path.read_bytes() != data:
            stale.append(name)
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a sample is outdated")
    args = parser.parse_args()
    if args.check:
        stale = outdated()
        for name in stale:
            print(f"{FOLDER / name}: not up to date (run: make examples)")
        return 1 if stale else 0
    FOLDER.mkdir(exist_ok=True)
    for name, data in build().items():
        (FOLDER / name).write_bytes(data)
        print(f"{FOLDER / name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
