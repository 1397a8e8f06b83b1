"""Synthetic attestation images: codes made with zxing-cpp's writer, put on card-like
backgrounds and degraded the way cameras, phones and scanners degrade them.

Used by the tests and by `benchmarks/decode.py`; everything is driven by a seeded
`numpy.random.Generator`, so a corpus is the same on every run and every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

Image = npt.NDArray[np.uint8]
GS = "\x1d"

A4_300DPI = (3508, 2480)  # height, width
FRAME_720P = (720, 1280)


def tagged_payload(rng: np.random.Generator, separator: str = GS) -> bytes:
    """A valid payload of the `tagged` layout (spec, "Layout tagged")."""
    amc = rng.choice(["0775627391", "774734488", "0775685365", "0784301123"])
    member = "".join(rng.choice(list("0123456789ABCDEF"), size=int(rng.integers(6, 14))))
    tc = rng.choice(["MU", "SP,IS", "", "MU,SP"])
    fields = [f"AMC:{amc}", f"TC:{tc}", "CSR:", f"ADH:{member}", "DD:20260101", "DF:20261231"]
    return ("AMCTP01" + "".join(separator + f for f in fields)).encode("latin-1")


def fixed_payload(rng: np.random.Generator) -> bytes:
    """A valid payload of the `fixed` layout."""
    member = "".join(rng.choice(list("0123456789"), size=int(rng.integers(6, 16))))
    return f"AMCTPF10775627391MU SP    01 2026010120261231{member}".encode("latin-1")


def datamatrix(
    data: bytes | str, module_px: int = 4, *, gs1: bool = False, binary: bool = False
) -> Image:
    """A square ECC200 symbol, `module_px` pixels a module, with its quiet zone; grayscale.

    `bytes` are written as ISO-8859-1 text, without ECI, as attestations are printed; with
    `binary`, as bytes (zxing-cpp then adds ECI 899, "binary"). A `str` is written as text:
    ISO-8859-1 when it fits, else with the ECI of a character set that holds it.
    """
    kwargs: dict[str, bool] = {"gs1": True} if gs1 else {"forceSquare": True}
    content: bytes | str = data
    if isinstance(data, bytes) and not binary:
        content = data.decode("latin-1")
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix, **kwargs)
    image = np.array(zxingcpp.write_barcode_to_image(barcode, scale=module_px), dtype=np.uint8)
    return image


def qrcode(data: str, module_px: int = 4) -> Image:
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode)
    return np.array(zxingcpp.write_barcode_to_image(barcode, scale=module_px), dtype=np.uint8)


def card(code: Image, rng: np.random.Generator, *, width: int = 856) -> Image:
    """An ID-1 card (85.6 x 54 mm, `width` pixels wide), pale colour, text lines, a logo and
    the code on the right; BGR."""
    height = round(width * 54 / 85.6)
    tint = rng.integers(200, 250, size=3)
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[:] = tint
    # a header band with the insurer's colour, a logo, lines of "text"
    band = rng.integers(40, 200, size=3)
    out[: height // 6] = band
    cv2.circle(out, (width // 10, height // 12), height // 14, (255, 255, 255), -1)
    for row in range(6):
        y = height // 4 + row * height // 10
        length = int(rng.integers(width // 5, width // 2))
        cv2.rectangle(
            out, (width // 20, y), (width // 20 + length, y + height // 40), (60, 60, 60), -1
        )
    side = min(code.shape[0], int(height * 0.7))
    symbol = (
        cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
        if side != code.shape[0]
        else code
    )
    y0 = height - side - height // 12
    x0 = width - side - width // 20
    out[y0 : y0 + side, x0 : x0 + side] = symbol[:, :, None]
    return out


@dataclass(frozen=True, slots=True)
class Degradation:
    """What was done to an image (kept next to it in the benchmark, to report misses)."""

    angle: float = 0.0
    perspective: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    contrast: float = 1.0
    jpeg: int = 0
    glare: float = 0.0

    def describe(self) -> str:
        parts = [f"{k}={v:g}" for k, v in _fields(self) if v != _DEFAULTS[k]]
        return " ".join(parts) or "clean"


def _fields(d: Degradation) -> list[tuple[str, float]]:
    return [(name, float(getattr(d, name))) for name in Degradation.__dataclass_fields__]


_DEFAULTS = dict(_fields(Degradation()))


def place(
    item: Image,
    canvas_shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    angle: float = 0.0,
    perspective: float = 0.0,
    background: Image | None = None,
) -> Image:
    """`item` (BGR) rotated by `angle` degrees, its corners moved by up to `perspective` of its
    size, and put at a random place of a textured desk of `canvas_shape` (BGR out)."""
    h, w = canvas_shape
    if background is None:
        base = rng.integers(40, 140, size=3).astype(np.float32)
        desk = np.empty((h, w, 3), dtype=np.float32)
        desk[:] = base
        grain = cv2.resize(
            rng.normal(0, 12, size=(h // 16 + 1, w // 16 + 1)).astype(np.float32), (w, h)
        )
        desk += grain[:, :, None]
        canvas: Image = np.clip(desk, 0, 255).astype(np.uint8)
    else:
        canvas = background.copy()
    ih, iw = item.shape[:2]
    src = np.array([[0, 0], [iw, 0], [iw, ih], [0, ih]], dtype=np.float32)
    jitter = rng.uniform(-perspective, perspective, size=(4, 2)) * np.array(
        [iw, ih], dtype=np.float32
    )
    dst = src + jitter.astype(np.float32)
    centre = dst.mean(axis=0)
    theta = np.deg2rad(angle)
    rot = np.array(
        [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], dtype=np.float32
    )
    dst = (dst - centre) @ rot.T
    span = dst.max(axis=0) - dst.min(axis=0)
    fit = min(1.0, 0.95 * w / float(span[0]), 0.95 * h / float(span[1]))
    if fit < 1.0:  # the whole card stays in the picture (smaller, as when held further away)
        dst = dst * fit
        span = span * fit
    room = np.array([w, h], dtype=np.float32) - span
    offset = np.array(
        [rng.uniform(0, max(room[0], 1)), rng.uniform(0, max(room[1], 1))], dtype=np.float32
    )
    dst = dst - dst.min(axis=0) + offset
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = np.asarray(cv2.warpPerspective(item, matrix, (w, h), flags=cv2.INTER_LINEAR))
    mask = cv2.warpPerspective(np.full((ih, iw), 255, np.uint8), matrix, (w, h))
    canvas[mask > 127] = warped[mask > 127]
    return canvas


def degrade(image: Image, d: Degradation, rng: np.random.Generator) -> Image:
    """Blur, low contrast, glare, noise and JPEG, in the order a camera applies them."""
    out = image.astype(np.float32)
    if d.blur > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), d.blur), dtype=np.float32)
    if d.contrast != 1.0:
        out = 128 + (out - 128) * d.contrast
    if d.glare > 0:
        h, w = out.shape[:2]
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.3, 0.9) * w
        yy, xx = np.ogrid[:h, :w]
        sigma = min(h, w) * 0.08
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)).astype(np.float32)
        out = (
            out + (255 * d.glare * blob)[..., None] if out.ndim == 3 else out + 255 * d.glare * blob
        )
    if d.noise > 0:
        out = out + rng.normal(0, d.noise, size=out.shape).astype(np.float32)
    result = np.clip(out, 0, 255).astype(np.uint8)
    if d.jpeg:
        ok, encoded = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
        assert ok
        result = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED), dtype=np.uint8)
    return result


def random_degradation(rng: np.random.Generator, severity: float = 1.0) -> Degradation:
    """A mix of degradations as a webcam at a kiosk sees them. `severity` scales every one of
    them (1.0: the benchmark's default corpus; see docs/benchmarks.md)."""
    s = severity
    jpeg = int(rng.choice([0, 0, 85, 60, 40]))
    return Degradation(
        angle=float(rng.uniform(-180, 180)),
        perspective=float(rng.uniform(0, 0.06 * s)),
        blur=float(rng.choice([0, 0, 0.6, 1.0, 1.4]) * s),
        noise=float(rng.choice([0, 0, 3, 6, 10]) * s),
        contrast=float(max(0.2, 1 - rng.choice([0, 0, 0.3, 0.55]) * s)),
        jpeg=max(15, round(100 - (100 - jpeg) * s)) if jpeg else 0,
        glare=float(rng.choice([0, 0, 0, 0.3, 0.5]) * s),
    )


def camera_frame(
    payload: bytes,
    rng: np.random.Generator,
    *,
    module_px: int | None = None,
    degradation: Degradation | None = None,
    severity: float = 1.0,
) -> tuple[Image, Degradation]:
    """A 1280x720 BGR frame of a card held in front of a webcam (`severity`: see
    `random_degradation`)."""
    module_px = module_px or int(rng.choice([2, 3, 3, 4, 4, 5]))
    code = datamatrix(payload, module_px)
    d = degradation or random_degradation(rng, severity)
    if degradation is None:  # a blur wider than ~0.4 module erases the code for any reader
        d = replace(d, blur=min(d.blur, 0.4 * module_px))
    card_width = int(max(code.shape[0] * 2.2, rng.uniform(420, 900)))
    item = card(code, rng, width=card_width)
    frame = place(item, FRAME_720P, rng, angle=d.angle, perspective=d.perspective)
    return degrade(frame, d, rng), d


def a4_page(
    payloads: list[bytes],
    rng: np.random.Generator,
    *,
    skew: float = 1.5,
    degradation: Degradation | None = None,
) -> tuple[Image, Degradation]:
    """An A4 page scanned at 300 dpi (grayscale): lines of text and the codes, each printed
    with 0.4-0.6 mm modules (5-7 pixels), on a letter or an attestation copy."""
    h, w = A4_300DPI
    page = np.full((h, w), 250, dtype=np.uint8)
    for row in range(40):
        y = 300 + row * 75
        length = int(rng.integers(w // 3, w - 400))
        cv2.rectangle(page, (200, y), (200 + length, y + 22), 70, -1)
    for index, payload in enumerate(payloads):
        code = datamatrix(payload, int(rng.integers(5, 8)))
        y0 = 400 + index * (code.shape[0] + 250) + int(rng.integers(0, 200))
        x0 = int(rng.integers(w // 2, w - code.shape[1] - 150))
        page[y0 : y0 + code.shape[0], x0 : x0 + code.shape[1]] = code
    d = degradation or Degradation(
        angle=float(rng.uniform(-skew, skew)),
        blur=float(rng.choice([0, 0.7, 1.0])),
        noise=float(rng.choice([0, 5, 10])),
        contrast=float(rng.choice([1.0, 0.7, 0.5])),
        jpeg=int(rng.choice([0, 75, 50])),
    )
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), d.angle, 1.0)
    page = np.asarray(cv2.warpAffine(page, matrix, (w, h), borderValue=250), dtype=np.uint8)
    return degrade(page, replace(d, angle=0.0), rng), d
