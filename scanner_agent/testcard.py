"""The printable test card: test attestations a desk scans to check its scanner, plus codes the
agent must refuse. Everything on it is marked TEST and uses a fictitious insurer and member.

The card's payloads are also what the interactive self-test waits for (`TEST_CODES`). Importing
this module for them is cheap: numpy, zxing-cpp and Pillow are imported by the functions that
render the card.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image, ImageFont

DPI = 300
A4_PX = (2480, 3508)  # 210 x 297 mm at 300 dpi
MM = DPI / 25.4

TEST_AMC = "999999990"  # fictitious: listed as a test insurer in the illustrative referential
TEST_MEMBER = "TEST0000001"
_GS = "\x1d"

TAGGED = (
    f"AMCTP01{_GS}AMC:{TEST_AMC}{_GS}TC:MU{_GS}CSR:{_GS}ADH:{TEST_MEMBER}"
    f"{_GS}DD:20200101{_GS}DF:20991231"
).encode("ascii")
TAGGED_PIPES = TAGGED.replace(_GS.encode(), b"|")
FIXED = (
    "AMCTPF1"
    + TEST_AMC.rjust(10, "0")
    + "MU".ljust(9)
    + "".ljust(3)
    + "20200101"
    + "20991231"
    + TEST_MEMBER
).encode("ascii")
GS1_MEDICINE = "(01)03400930000019(17)261231(10)TEST01"


@dataclass(frozen=True, slots=True)
class TestCode:
    """One code of the card: what it holds and what the agent must make of it."""

    key: str
    label: str
    payload: bytes  # for GS1 codes: the element string in HRI form, given to the writer
    symbology: Literal["datamatrix", "gs1_datamatrix", "qrcode"]
    module_mm: float
    refused_with: tuple[str, ...] = ()
    """Empty: a well-formed attestation. Otherwise the error codes the agent may refuse it
    with."""

    @property
    def must_read(self) -> bool:
        return not self.refused_with

    @property
    def expect(self) -> str:
        return "well-formed" if self.must_read else " or ".join(self.refused_with)


# Without an AIM prefix the agent cannot tell a QR Code from a Data Matrix: the QR Code holds
# no attestation, so it is refused either way (wrong_symbology with AIM, not_an_attestation
# without).
QR_TEXT = b"TEST scanner-agent : QR Code, pas une attestation"

TEST_CODES: tuple[TestCode, ...] = (
    TestCode(
        "tagged-050",
        "Attestation TEST, format tagged (GS), module 0,50 mm",
        TAGGED,
        "datamatrix",
        0.50,
    ),
    TestCode(
        "tagged-033",
        "Attestation TEST, format tagged (GS), module 0,33 mm",
        TAGGED,
        "datamatrix",
        0.33,
    ),
    TestCode(
        "tagged-025",
        "Attestation TEST, format tagged (GS), module 0,25 mm",
        TAGGED,
        "datamatrix",
        0.25,
    ),
    TestCode(
        "pipes-033",
        "Attestation TEST, format tagged (|), module 0,33 mm",
        TAGGED_PIPES,
        "datamatrix",
        0.33,
    ),
    TestCode(
        "fixed-050", "Attestation TEST, format fixed, module 0,50 mm", FIXED, "datamatrix", 0.50
    ),
    TestCode(
        "fixed-033", "Attestation TEST, format fixed, module 0,33 mm", FIXED, "datamatrix", 0.33
    ),
    TestCode(
        "gs1",
        "GS1 DataMatrix (boîte de médicament) : doit être REFUSÉ",
        GS1_MEDICINE.encode("ascii"),
        "gs1_datamatrix",
        0.40,
        ("gs1_code",),
    ),
    TestCode(
        "qr",
        "QR Code : doit être REFUSÉ",
        QR_TEXT,
        "qrcode",
        0.40,
        ("wrong_symbology", "not_an_attestation"),
    ),
)


def symbol_image(code: TestCode, dpi: int = DPI) -> np.ndarray:
    """The code rendered black on white at the card's module size (a uint8 grey array)."""
    import numpy as np  # noqa: PLC0415 - rendering only: the codes above are cheap to import
    import zxingcpp  # noqa: PLC0415

    module_px = max(2, round(code.module_mm * dpi / 25.4))
    if code.symbology == "qrcode":
        barcode = zxingcpp.create_barcode(
            code.payload.decode("latin-1"), zxingcpp.BarcodeFormat.QRCode
        )
    elif code.symbology == "gs1_datamatrix":
        barcode = zxingcpp.create_barcode(
            code.payload.decode("ascii"),
            zxingcpp.BarcodeFormat.DataMatrix,
            gs1=True,
            forceSquare=True,
        )
    else:
        # square ECC200 only: left to itself the writer picks rectangular DMRE sizes
        # (ISO 21471, reported as ]d7) that many desk scanners cannot read
        barcode = zxingcpp.create_barcode(
            code.payload.decode("latin-1"), zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True
        )
    return np.array(barcode.to_image(scale=module_px, add_quiet_zones=True), dtype=np.uint8)


_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian, Ubuntu (fonts-dejavu-core)
    "DejaVuSans.ttf",
    "arial.ttf",  # Windows
)


def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """A font with French accents when the system has one; else Pillow's own (ASCII only)."""
    from PIL import ImageFont  # noqa: PLC0415

    for name in _FONTS:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def render_card(dpi: int = DPI) -> Image.Image:
    """The A4 page as a greyscale image at `dpi`."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    scale = dpi / DPI
    width, height = round(A4_PX[0] * scale), round(A4_PX[1] * scale)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin = round(15 * MM * scale)
    (title, accents), (small, _) = _font(round(60 * scale)), _font(round(34 * scale))

    def text(
        xy: tuple[int, int], value: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    ) -> None:
        draw.text(xy, value if accents else _ascii(value), 0, font)

    text((margin, margin), "CARTE DE TEST scanner-agent - NE PAS UTILISER POUR UN PATIENT", title)
    text(
        (margin, margin + round(90 * scale)),
        "Assureur et adhérent fictifs. Les 6 premiers codes doivent être lus ; "
        "les 2 derniers doivent être refusés. Imprimer à 100 %.",
        small,
    )
    columns, top = 2, margin + round(200 * scale)
    cell_w = (width - 2 * margin) // columns
    cell_h = (height - top - margin) // ((len(TEST_CODES) + columns - 1) // columns)
    for index, code in enumerate(TEST_CODES):
        x = margin + (index % columns) * cell_w
        y = top + (index // columns) * cell_h
        symbol = Image.fromarray(symbol_image(code, dpi))
        page.paste(symbol, (x, y))
        below = y + symbol.height + round(12 * scale)
        text((x, below), f"{index + 1}. {code.label}", small)
        outcome = "lu, attestation conforme" if code.must_read else "refusé : " + code.expect
        text((x, below + round(44 * scale)), "attendu : " + outcome, small)
    return page


def card_pdf(dpi: int = DPI) -> bytes:
    """The card as a PDF document (what `write_card` writes to a `.pdf`)."""
    import io  # noqa: PLC0415

    out = io.BytesIO()
    render_card(dpi).save(out, "PDF", resolution=float(dpi))
    return out.getvalue()


def write_card(path: Path, dpi: int = DPI) -> Path:
    """Write the card as PDF or PNG (by the file's extension)."""
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise ValueError(f"{path}: the test card is written as .pdf or .png")
    page = render_card(dpi)
    if suffix == ".pdf":
        page.save(path, "PDF", resolution=float(dpi))
    else:
        page.save(path, "PNG", dpi=(dpi, dpi))
    return path
