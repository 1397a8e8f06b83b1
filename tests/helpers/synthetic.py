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
Corners = npt.NDArray[np.float32]  # 4 x 2: (x, y) of TL, TR, BR, BL
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
    return card_with_code(code, rng, width=width)[0]


def symbol_corners(code: Image) -> Corners:
    """The corners of the symbol in `code` (its dark modules' bounding box, without the quiet
    zone): top-left, top-right, bottom-right, bottom-left, as (x, y) float32."""
    rows = np.flatnonzero(code.min(axis=1) < 128)
    cols = np.flatnonzero(code.min(axis=0) < 128)
    if not len(rows):  # no symbol (a blank patch): the whole patch
        rows, cols = np.array([0, code.shape[0] - 1]), np.array([0, code.shape[1] - 1])
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32)


def card_with_code(
    code: Image, rng: np.random.Generator, *, width: int = 856
) -> tuple[Image, Corners]:
    """`card`, and the corners of the code's symbol on it (see `symbol_corners`)."""
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
    return out, symbol_corners(np.asarray(symbol, np.uint8)) + np.array([x0, y0], np.float32)


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
    # uneven light (issue 14); all neutral by default, and then `degrade` draws nothing for them
    gain: float = 1.0  # exposure: the scene's light times `gain` (< 1: underexposed)
    gamma: float = 1.0  # then (v / 255) ** gamma (> 1: darker mid-tones, as a dim sensor)
    spot: float = 0.0  # specular glare: the fraction of the code's area saturated to white
    shadow: float = 0.0  # a half-plane across the code darker by this fraction (0.4-0.75)
    shadow_edge: float = 0.0  # width of the shadow's edge, pixels (0: sharp)
    gradient: float = 0.0  # a lamp's fall-off: the far side of the image darker by this fraction
    fold: float = 0.0  # a fold's shadow: a soft band across the code darker by this fraction

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
    return place_with_matrix(
        item, canvas_shape, rng, angle=angle, perspective=perspective, background=background
    )[0]


def desk(canvas_shape: tuple[int, int], rng: np.random.Generator) -> Image:
    """The plain desk `place` puts things on: a colour and a coarse grain (BGR)."""
    h, w = canvas_shape
    base = rng.integers(40, 140, size=3).astype(np.float32)
    out = np.empty((h, w, 3), dtype=np.float32)
    out[:] = base
    grain = cv2.resize(
        rng.normal(0, 12, size=(h // 16 + 1, w // 16 + 1)).astype(np.float32), (w, h)
    )
    out += grain[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def map_points(matrix: npt.NDArray[np.float64], points: Corners) -> Corners:
    """`points` (n x 2) moved by the 3 x 3 perspective `matrix`."""
    moved = cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float32), matrix)
    return np.asarray(moved, dtype=np.float32).reshape(-1, 2)


def place_with_matrix(
    item: Image,
    canvas_shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    angle: float = 0.0,
    perspective: float = 0.0,
    background: Image | None = None,
) -> tuple[Image, npt.NDArray[np.float64]]:
    """`place`, and the 3 x 3 matrix that took `item`'s pixels to the canvas (give it to
    `map_points` to find where a point of the item landed)."""
    h, w = canvas_shape
    canvas: Image = desk(canvas_shape, rng) if background is None else background.copy()
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
    return canvas, np.asarray(matrix, dtype=np.float64)


def degrade(
    image: Image, d: Degradation, rng: np.random.Generator, *, code: Corners | None = None
) -> Image:
    """The degradations of `d`, in the order light, optics and a camera apply them: the scene's
    shadows (`shadow`, `fold`, `gradient`), blur, low contrast, the old random glare blob,
    exposure (`gain`, `gamma`), the specular `spot`, noise and JPEG.

    `code` (the symbol's corners in `image`, see `place_with_matrix` and `map_points`) is where
    `spot`, `shadow` and `fold` are aimed: they cross the code, not merely the picture; without
    it they are aimed at the middle of the image. The neutral values draw nothing from `rng`,
    so the degradations of before issue 14 give the same images as they did.
    """
    out = image.astype(np.float32)
    h, w = out.shape[:2]
    box = code if code is not None else _middle(h, w)
    light = np.ones((h, w), np.float32)
    if d.gradient > 0:
        light *= _gradient(h, w, d.gradient, rng)
    if d.fold > 0:
        light *= _fold(h, w, box, d.fold, rng)
    if d.shadow > 0:
        light *= _shadow(h, w, box, d.shadow, d.shadow_edge, rng)
    if d.gradient > 0 or d.fold > 0 or d.shadow > 0:
        out = out * (light[..., None] if out.ndim == 3 else light)
    if d.blur > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), d.blur), dtype=np.float32)
    if d.contrast != 1.0:
        out = 128 + (out - 128) * d.contrast
    if d.glare > 0:
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.3, 0.9) * w
        yy, xx = np.ogrid[:h, :w]
        sigma = min(h, w) * 0.08
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)).astype(np.float32)
        out = (
            out + (255 * d.glare * blob)[..., None] if out.ndim == 3 else out + 255 * d.glare * blob
        )
    if d.gain != 1.0 or d.gamma != 1.0:
        out = np.clip(out * d.gain, 0, 255)
        if d.gamma != 1.0:
            out = 255 * (out / 255) ** d.gamma
    if d.spot > 0:
        spot = _spot(h, w, box, d.spot, rng)
        out = out + (spot[..., None] if out.ndim == 3 else spot)
    if d.noise > 0:
        out = out + rng.normal(0, d.noise, size=out.shape).astype(np.float32)
    result = np.clip(out, 0, 255).astype(np.uint8)
    if d.jpeg:
        ok, encoded = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
        assert ok
        result = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED), dtype=np.uint8)
    return result


def _middle(h: int, w: int) -> Corners:
    side = min(h, w) / 4
    x0, y0 = w / 2 - side / 2, h / 2 - side / 2
    return np.array(
        [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], np.float32
    )


def code_side(code: Corners) -> float:
    """The mean length of the symbol's four sides, pixels."""
    return float(np.mean(np.linalg.norm(code - np.roll(code, 1, axis=0), axis=1)))


def _inside(
    code: Corners,
    rng: np.random.Generator,
    low: float,
    high: float,
    v_range: tuple[float, float] | None = None,
) -> npt.NDArray[np.float32]:
    """A point of the code at (u, v) of its sides (u along the top, v down the left side),
    u drawn in [low, high], v too or in `v_range`."""
    if v_range is None:
        u, v = rng.uniform(low, high, size=2)
    else:
        u, v = rng.uniform(low, high), rng.uniform(*v_range)
    top = code[0] + (code[1] - code[0]) * u
    bottom = code[3] + (code[2] - code[3]) * u
    return np.asarray(top + (bottom - top) * v, dtype=np.float32)


def _spot(
    h: int, w: int, code: Corners, fraction: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A specular reflection: light added around a point of the code, so strong that a disc of
    `fraction` of the code's area is white whatever was printed there; beyond that disc the
    light falls off within 0.2-0.5 of its radius (a glossy card's sharp highlight; the modules
    there keep their contrast unless they clip)."""
    side = code_side(code)
    radius = side * float(np.sqrt(fraction / np.pi))
    # the white disc stays off the symbol's edges (the solid L and the clock tracks of the
    # finder pattern): a highlight there hides where the symbol is, which no reader recovers
    margin = 0.1 + radius / side
    cx, cy = _inside(code, rng, margin, 1 - margin)
    fall = radius * float(rng.uniform(0.2, 0.5))  # light / e beyond the disc at about `fall`
    sigma2 = radius * fall
    r2 = (np.arange(h, dtype=np.float32)[:, None] - cy) ** 2 + (
        np.arange(w, dtype=np.float32)[None, :] - cx
    ) ** 2
    # 280 (white over black) at `radius`, more inside; exponent capped (float32 range)
    return np.asarray(280 * np.exp(np.minimum(-(r2 - radius**2) / (2 * sigma2), 20)), np.float32)


def _signed_distance(
    h: int, w: int, through: npt.NDArray[np.float32], angle: float
) -> npt.NDArray[np.float32]:
    """Distance (pixels) of every pixel to the line through `through` at `angle` radians."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    nx, ny = -np.sin(angle), np.cos(angle)
    return np.asarray((xx - through[0]) * nx + (yy - through[1]) * ny, dtype=np.float32)


def _shadow(
    h: int, w: int, code: Corners, depth: float, edge: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A hard shadow (a hand, a phone, the camera's arm): a half-plane whose edge goes through
    the middle half of the code, darker by `depth`, the edge `edge` pixels wide."""
    through = _inside(code, rng, 0.3, 0.7)
    distance = _signed_distance(h, w, through, float(rng.uniform(0, np.pi)))
    if rng.random() < 0.5:
        distance = -distance
    inside = (
        (distance > 0).astype(np.float32)
        if edge <= 0
        else np.clip(0.5 + distance / edge, 0, 1).astype(np.float32)
    )
    return 1 - depth * inside


def _fold(
    h: int, w: int, code: Corners, depth: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """The shadow of a fold in a page: a soft band, nearly horizontal or vertical, across the
    code, darkest (by `depth`) along its middle; 0.3-1 code wide."""
    through = _inside(code, rng, 0.25, 0.75)
    angle = float(rng.choice([0.0, np.pi / 2]) + rng.uniform(-0.05, 0.05))
    distance = _signed_distance(h, w, through, angle)
    width = code_side(code) * float(rng.uniform(0.3, 1.0))
    return np.asarray(1 - depth * np.exp(-((distance / (width / 2)) ** 2)), dtype=np.float32)


def _gradient(h: int, w: int, depth: float, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A lamp beside the page: light falling off linearly in a random direction, the far side
    darker by `depth`."""
    angle = float(rng.uniform(0, 2 * np.pi))
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    ramp = (xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    return np.asarray(1 - depth * ramp, dtype=np.float32)


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
    shot = a4_shot(payloads, rng, skew=skew, degradation=degradation)
    return shot.image, shot.degradation


# --- uneven light (issue 14): frames and pages that know where their codes are ---------------


@dataclass(frozen=True, slots=True)
class Shot:
    """A generated image, what was done to it, and where its codes' symbols are in it."""

    image: Image
    degradation: Degradation
    codes: list[Corners]  # one per code, in the image (empty: nothing to read)
    module_px: float  # the smallest code's module in the image, pixels (0: no code)


UNEVEN = ("low_light", "glare", "shadow", "uneven_combo")
COMBO_SEVERITY = 0.6  # the random mix under combined uneven light: `random_degradation` scaled
EMPTY = ("desk", "card", "texture", "text")


def low_light(rng: np.random.Generator) -> Degradation:
    """A dim, underexposed frame: the card's white comes out at 35-90 (of 255), mid-tones
    darkened by a gamma of 1-1.5, then sensor noise of 4-10 (at most a fifth of that white)."""
    white = float(rng.uniform(35, 90))
    gamma = float(rng.uniform(1.0, 1.5))
    gain = 255 * (white / 255) ** (1 / gamma) / 235
    noise = min(float(rng.uniform(4, 10)), white / 5)
    return Degradation(gain=gain, gamma=gamma, noise=noise)


def glare_spot(rng: np.random.Generator) -> Degradation:
    """A specular reflection on the code: 3-10 % of its area saturated white, a short halo."""
    return Degradation(spot=float(rng.uniform(0.03, 0.10)))


def hard_shadow(rng: np.random.Generator, module_px: float) -> Degradation:
    """A half-plane 40-75 % darker whose edge crosses the code: sharp half of the time, else
    soft over up to 1.5 module."""
    edge = 0.0 if rng.random() < 0.5 else float(rng.uniform(1.0, 1.5 * module_px))
    return Degradation(shadow=float(rng.uniform(0.4, 0.75)), shadow_edge=edge)


def uneven_degradation(kind: str, rng: np.random.Generator, module_px: float) -> Degradation:
    """The degradation of a frame of `kind` (one of `UNEVEN`): the geometry of a held card
    (any rotation, up to 6 % perspective) and a light blur/noise/JPEG, plus the kind's light;
    `uneven_combo` puts two or three of low light, glare spot and hard shadow together over
    the full random mix of `random_degradation` (its old glare blob left out)."""
    if kind == "uneven_combo":
        base = replace(random_degradation(rng, COMBO_SEVERITY), glare=0.0)
        chosen = rng.permutation(3)[: 3 if rng.random() < 1 / 3 else 2]  # a third triples
        if 0 in chosen:  # in the dark, the mix's harshest contrast and JPEG would leave nothing
            jpeg = max(base.jpeg, 60) if base.jpeg else 0
            base = replace(base, contrast=max(base.contrast, 0.7), jpeg=jpeg)
    else:
        base = Degradation(
            angle=float(rng.uniform(-180, 180)),
            perspective=float(rng.uniform(0, 0.06)),
            blur=float(rng.choice([0, 0, 0.6, 1.0])),
            noise=float(rng.choice([0, 0, 3, 5])),
            jpeg=int(rng.choice([0, 0, 85, 70])),
        )
        chosen = np.array([UNEVEN.index(kind)])
    d = base
    for which in sorted(int(c) for c in chosen):
        if which == 0:
            dim = low_light(rng)
            d = replace(d, gain=dim.gain, gamma=dim.gamma, noise=max(d.noise, dim.noise))
        elif which == 1:
            d = replace(d, spot=glare_spot(rng).spot)
        else:
            dark = hard_shadow(rng, module_px)
            d = replace(d, shadow=dark.shadow, shadow_edge=dark.shadow_edge)
    if kind == "uneven_combo" and 0 in chosen:
        # in the dark, the other harms are milder, or nothing would be left to read: the white
        # at 60-95 with a gamma of 1-1.2, a shadow of 40-50 %, a glare spot of 3-7 %, and
        # noise at most a fifth of the darkest white
        white = float(rng.uniform(60, 95))
        gamma = float(rng.uniform(1.0, 1.2))
        shadow = min(d.shadow, float(rng.uniform(0.4, 0.5))) if d.shadow else 0.0
        d = replace(d, spot=min(d.spot, 0.07))
        darkest = 255 * (white * (1 - shadow) / 255) ** gamma
        d = replace(
            d,
            gain=255 * (white / 255) ** (1 / gamma) / 235,
            gamma=gamma,
            shadow=shadow,
            noise=min(d.noise, darkest / 5),
        )
    return replace(d, blur=min(d.blur, 0.4 * module_px))


def _held_card(
    code: Image | None,
    module_px: int,
    d: Degradation,
    rng: np.random.Generator,
    background: Image | None = None,
) -> tuple[Image, Corners | None, float]:
    """A card (with `code`, or a blank patch) placed in a 720p frame; the code's corners in
    the frame and its module there. Cards are drawn again until the module is 2 pixels or
    more (a card held so far away that it is smaller is not readable in principle)."""
    patch = code if code is not None else np.full((160, 160), 235, np.uint8)
    while True:
        width = int(max(patch.shape[0] * 2.2, rng.uniform(380, 700)))
        item, corners = card_with_code(patch, rng, width=width)
        frame, matrix = place_with_matrix(
            item, FRAME_720P, rng, angle=d.angle, perspective=d.perspective, background=background
        )
        moved = map_points(matrix, corners)
        module = module_px * code_side(moved) / code_side(corners)
        if code is None or module >= 2.0:
            return frame, (moved if code is not None else None), module


def uneven_frame(
    payload: bytes, kind: str, rng: np.random.Generator, *, module_px: int | None = None
) -> Shot:
    """A 1280x720 BGR frame of a card held in front of a webcam under the light of `kind`
    (one of `UNEVEN`, or "clean": geometry only, or "mixed": `random_degradation`). Modules
    of 2-5 pixels; 3-5 under combined uneven light (2-pixel modules blurred, noisy, shaded and
    with a glare spot are beyond any reader)."""
    sizes = [3, 3, 4, 4, 5] if kind == "uneven_combo" else [2, 3, 3, 4, 4, 5]
    module_px = module_px or int(rng.choice(sizes))
    code = datamatrix(payload, module_px)
    if kind == "clean":
        d = Degradation(
            angle=float(rng.uniform(-180, 180)), perspective=float(rng.uniform(0, 0.06))
        )
    elif kind == "mixed":
        d = random_degradation(rng)
        d = replace(d, blur=min(d.blur, 0.4 * module_px))
    else:
        d = uneven_degradation(kind, rng, module_px)
    frame, corners, module = _held_card(code, module_px, d, rng)
    assert corners is not None
    d = replace(d, blur=min(d.blur, 0.4 * module))
    return Shot(degrade(frame, d, rng, code=corners), d, [corners], module)


def texture(shape: tuple[int, int], rng: np.random.Generator) -> Image:
    """A busy desk (BGR): wood grain, a woven cloth or a keyboard-like grid of keys."""
    h, w = shape
    style = int(rng.integers(0, 3))
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    if style == 0:  # wood: wavy stripes
        period = float(rng.uniform(6, 20))
        wave = np.sin((yy + 15 * np.sin(xx / float(rng.uniform(40, 120)))) * 2 * np.pi / period)
        gray = 110 + 40 * wave + rng.normal(0, 8, size=(h, w))
    elif style == 1:  # cloth: a fine weave
        period = float(rng.uniform(3, 8))
        gray = 120 + 45 * np.sign(np.sin(xx * np.pi / period) * np.sin(yy * np.pi / period))
        gray = gray + rng.normal(0, 10, size=(h, w))
    else:  # keys: dark squares on a pale frame
        key = int(rng.integers(30, 70))
        gray = np.where(((xx % key) < key * 0.85) & ((yy % key) < key * 0.85), 40.0, 200.0)
        gray = gray + rng.normal(0, 6, size=(h, w))
    tint = rng.uniform(0.7, 1.1, size=3).astype(np.float32)
    return np.asarray(np.clip(gray[..., None] * tint, 0, 255), dtype=np.uint8)


def text_page(shape: tuple[int, int], rng: np.random.Generator) -> Image:
    """A page of printed text filling the frame (a letter held to the camera), BGR."""
    h, w = shape
    page = np.full((h, w), int(rng.integers(215, 250)), np.uint8)
    size = float(rng.uniform(0.45, 0.9))
    line = int(30 * size) + 6
    words = ["Madame", "Monsieur", "attestation", "droits", "mutuelle", "tiers", "payant"]
    words += ["2026", "adherent"]
    words += ["contrat", "garanties", "hospitalisation", "AMC"]
    for y in range(int(rng.integers(20, 60)), h - 10, line):
        text = " ".join(str(rng.choice(words)) for _ in range(int(rng.integers(4, 16))))
        x = int(rng.integers(10, 60))
        thickness = 1 + int(size > 0.7)
        cv2.putText(page, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, 30, thickness, cv2.LINE_AA)
    page = cv2.warpAffine(
        page,  # type: ignore[assignment]
        cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-8, 8)), 1.1),
        (w, h),
        borderValue=90,
    )
    return np.asarray(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def empty_frame(kind: str, rng: np.random.Generator) -> Shot:
    """A 1280x720 BGR frame with no code (one of `EMPTY`): the desk alone, a card without its
    code on the desk, a textured desk, a page of text; under a light drawn at random (even,
    low, a glare spot or a hard shadow)."""
    light = int(rng.integers(0, 4))
    d = Degradation(
        blur=float(rng.choice([0, 0.6, 1.0])),
        noise=float(rng.choice([0, 3, 6])),
        jpeg=int(rng.choice([0, 85, 60])),
    )
    if light == 1:
        dim = low_light(rng)
        d = replace(d, gain=dim.gain, gamma=dim.gamma, noise=max(d.noise, dim.noise))
    elif light == 2:
        d = replace(d, spot=glare_spot(rng).spot)
    elif light == 3:
        dark = hard_shadow(rng, 3)
        d = replace(d, shadow=dark.shadow, shadow_edge=dark.shadow_edge)
    if kind == "desk":
        frame = desk(FRAME_720P, rng)
    elif kind == "card":
        d = replace(d, angle=float(rng.uniform(-180, 180)), perspective=float(rng.uniform(0, 0.06)))
        frame = _held_card(None, 3, d, rng)[0]
    elif kind == "texture":
        frame = texture(FRAME_720P, rng)
    elif kind == "text":
        frame = text_page(FRAME_720P, rng)
    else:
        raise ValueError(f"no empty frame of kind {kind!r}")
    return Shot(degrade(frame, d, rng), d, [], 0.0)


def _printed_page(
    payloads: list[bytes], rng: np.random.Generator, *, margin: int = 0
) -> tuple[Image, list[Corners], int]:
    """`a4_page`'s page before it is scanned: text lines and the codes, their corners, and the
    smallest module (pixels). `margin`: modules of blank paper around each code besides its
    one-module quiet zone (0: the text lines may run up to the quiet zone)."""
    h, w = A4_300DPI
    page = np.full((h, w), 250, dtype=np.uint8)
    for row in range(40):
        y = 300 + row * 75
        length = int(rng.integers(w // 3, w - 400))
        cv2.rectangle(page, (200, y), (200 + length, y + 22), 70, -1)
    corners: list[Corners] = []
    smallest = 99
    for index, payload in enumerate(payloads):
        module = int(rng.integers(5, 8))
        smallest = min(smallest, module)
        code = datamatrix(payload, module)
        y0 = 400 + index * (code.shape[0] + 250) + int(rng.integers(0, 200))
        x0 = int(rng.integers(w // 2, w - code.shape[1] - 150))
        m = margin * module
        page[max(y0 - m, 0) : y0 + code.shape[0] + m, max(x0 - m, 0) : x0 + code.shape[1] + m] = 250
        page[y0 : y0 + code.shape[0], x0 : x0 + code.shape[1]] = code
        corners.append(symbol_corners(code) + np.array([x0, y0], np.float32))
    return page, corners, smallest


def a4_uneven(payloads: list[bytes], rng: np.random.Generator) -> Shot:
    """An A4 page at 300 dpi (3508 x 2480, grayscale) under uneven light: scanned with a fold's
    shadow across a code and a lamp's fall-off, or photographed by a phone (the page at a
    slant on a dark desk, a lamp's fall-off, a hard shadow across a code or a glare spot on
    it, noise and JPEG). The codes have 3 modules of blank paper around them, as printed
    attestations do."""
    h, w = A4_300DPI
    page, corners, module = _printed_page(payloads, rng, margin=3)
    target = int(rng.integers(0, len(corners)))
    phone = bool(rng.random() < 0.5)
    if not phone:
        angle = float(rng.uniform(-1.5, 1.5))
        matrix = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
        page = np.asarray(cv2.warpAffine(page, matrix[:2], (w, h), borderValue=250), np.uint8)
        d = Degradation(
            angle=angle,
            gradient=float(rng.uniform(0.25, 0.55)),
            fold=float(rng.uniform(0.3, 0.6)),
            blur=float(rng.choice([0, 0.7, 1.0])),
            noise=float(rng.choice([0, 4, 8])),
            jpeg=int(rng.choice([0, 75, 50])),
        )
        scale = 1.0
    else:
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        scale = float(rng.uniform(0.8, 0.95))
        dst = (src - [w / 2, h / 2]) * scale + [w / 2, h / 2]
        dst = (dst + rng.uniform(-0.04, 0.04, size=(4, 2)) * [w, h]).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        page = np.asarray(
            cv2.warpPerspective(page, matrix, (w, h), borderValue=int(rng.integers(30, 90))),
            np.uint8,
        )
        spot = rng.random() < 0.5
        d = Degradation(
            perspective=0.04,
            gradient=float(rng.uniform(0.2, 0.45)),
            blur=float(rng.choice([0.7, 1.0, 1.5])),
            noise=float(rng.choice([3, 5, 8])),
            jpeg=int(rng.choice([90, 80, 60])),
        )
        if spot:
            d = replace(d, spot=glare_spot(rng).spot)
        else:  # under the lamp's fall-off, a shadow of 40-60 %
            dark = hard_shadow(rng, module * scale)
            depth = min(dark.shadow, float(rng.uniform(0.4, 0.6)))
            d = replace(d, shadow=depth, shadow_edge=dark.shadow_edge)
    moved = [map_points(np.asarray(matrix, np.float64), c) for c in corners]
    image = degrade(page, d, rng, code=moved[target])
    smallest = min(
        module * code_side(m) / code_side(c) for m, c in zip(moved, corners, strict=True)
    )
    return Shot(image, d, moved, smallest)


def a4_shot(
    payloads: list[bytes],
    rng: np.random.Generator,
    *,
    skew: float = 1.5,
    degradation: Degradation | None = None,
) -> Shot:
    """`a4_page` as a `Shot`: the same page, and its codes' corners."""
    h, w = A4_300DPI
    page, corners, module = _printed_page(payloads, rng)
    d = degradation or Degradation(
        angle=float(rng.uniform(-skew, skew)),
        blur=float(rng.choice([0, 0.7, 1.0])),
        noise=float(rng.choice([0, 5, 10])),
        contrast=float(rng.choice([1.0, 0.7, 0.5])),
        jpeg=int(rng.choice([0, 75, 50])),
    )
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), d.angle, 1.0)
    page = np.asarray(cv2.warpAffine(page, matrix, (w, h), borderValue=250), dtype=np.uint8)
    moved = [map_points(np.vstack([matrix, [0, 0, 1]]), c) for c in corners]
    image = degrade(page, replace(d, angle=0.0), rng, code=moved[0] if moved else None)
    return Shot(image, d, moved, float(module))
