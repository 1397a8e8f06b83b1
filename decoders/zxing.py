"""zxing-cpp, the first decoder: fast, reads every matrix code, reports AIM identifiers.

We read with `TextMode.HexECI`, so that `text` carries zxing-cpp's `bytesECI()`: the
ISO/IEC 15424 ECI-protocol stream, AIM identifier with its ECI modifier first (`]d4\\000026...`).
`Barcode.bytes` alone loses the ECI (and `symbology_identifier` says `]d1` for a `]d4`
symbol), and `Barcode.text` in the default mode rewrites GS as `<GS>`: neither is what the
payload parser must see. `decoders._eci.normalise` turns the stream into the parser's input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import zxingcpp

from decoders import _eci
from decoders.base import DecodedSymbol

DATAMATRIX = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.DataMatrix)
# Matrix codes a card or a letter may carry besides the attestation: read so that "a QR code"
# can be told apart from "nothing".
MATRIX = zxingcpp.barcode_formats_from_str("DataMatrix,QRCode,MicroQRCode,Aztec,PDF417")
OTHER_MATRIX = zxingcpp.barcode_formats_from_str("QRCode,MicroQRCode,Aztec,PDF417")

BINARIZERS = {
    "local_average": zxingcpp.Binarizer.LocalAverage,
    "global_histogram": zxingcpp.Binarizer.GlobalHistogram,
    "bool_cast": zxingcpp.Binarizer.BoolCast,
    "fixed": zxingcpp.Binarizer.FixedThreshold,
}


Corners = tuple[tuple[int, int], ...]


def decode(
    image: npt.NDArray[np.uint8],
    *,
    formats: zxingcpp.BarcodeFormats = MATRIX,
    binarizer: str = "local_average",
    try_downscale: bool = True,
    try_invert: bool = True,
    scale: float = 1.0,
    offset: tuple[int, int] = (0, 0),
    label: str = "zxing",
) -> list[DecodedSymbol]:
    """Every code zxing-cpp finds in a grayscale (or BGR) image.

    `image` may be a transformed part of the caller's image: `scale` times larger, its top-left
    corner at `offset` in the caller's image. Positions are always in the caller's pixels.
    """
    found, _ = decode_with_candidates(
        image,
        formats=formats,
        binarizer=binarizer,
        try_downscale=try_downscale,
        try_invert=try_invert,
        scale=scale,
        offset=offset,
        label=label,
    )
    return found


def decode_with_candidates(
    image: npt.NDArray[np.uint8],
    *,
    formats: zxingcpp.BarcodeFormats = MATRIX,
    binarizer: str = "local_average",
    try_downscale: bool = True,
    try_invert: bool = True,
    scale: float = 1.0,
    offset: tuple[int, int] = (0, 0),
    label: str = "zxing",
) -> tuple[list[DecodedSymbol], list[Corners]]:
    """`decode`, plus the corners of the Data Matrix symbols zxing-cpp located but could not
    read (checksum errors): where a closer look (`cascade`'s `refine` pass) is worth it."""
    results = zxingcpp.read_barcodes(
        image,
        formats=formats,
        try_rotate=True,
        try_downscale=try_downscale,
        try_invert=try_invert,
        text_mode=zxingcpp.TextMode.HexECI,
        binarizer=BINARIZERS[binarizer],
        return_errors=True,
    )
    found: list[DecodedSymbol] = []
    candidates: list[Corners] = []
    for result in results:
        if result.valid:
            found.append(_symbol(result, scale, offset, label))
        elif result.format == zxingcpp.BarcodeFormat.DataMatrix:
            candidates.append(_corners(result, scale, offset))
    return found, candidates


def _corners(result: zxingcpp.Barcode, scale: float, offset: tuple[int, int]) -> Corners:
    p = result.position
    points = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    return tuple((round(c.x / scale) + offset[0], round(c.y / scale) + offset[1]) for c in points)


def _symbol(
    result: zxingcpp.Barcode, scale: float, offset: tuple[int, int], label: str
) -> DecodedSymbol:
    stream = bytes.fromhex(result.text)
    identifier: str | None
    if len(stream) >= 3 and stream[:1] == b"]":
        identifier, stream = stream[:3].decode("ascii"), stream[3:]
    else:  # no identifier in the stream (should not happen with HexECI): the plain bytes
        identifier, stream = result.symbology_identifier or None, result.bytes
    symbology, data = _eci.normalise(identifier, stream)
    raw_extra = result.extra
    extra = {str(k): str(v) for k, v in raw_extra.items()} if isinstance(raw_extra, dict) else {}
    if identifier is not None and identifier != symbology:
        extra["aim_read"] = identifier
    return DecodedSymbol(
        data=data,
        symbology=symbology,
        format=_format_name(result.format),
        position=_corners(result, scale, offset),
        decoder=label,
        extra=extra,
    )


def _format_name(fmt: zxingcpp.BarcodeFormat) -> str:
    """`BarcodeFormat.DataMatrix` → `DataMatrix`."""
    return str(fmt.name) if hasattr(fmt, "name") else str(fmt).rsplit(".", 1)[-1]
