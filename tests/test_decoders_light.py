"""Codes under uneven light (a hard shadow across the code, low light with sensor noise, a
glare spot on the code): the passes made for them read them, and the default cascade reads
them all. The degradations here are quick local ones on a small scene whose code position is
known; the benchmark corpus (`benchmarks/decode.py`) has the full-frame kinds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from decoders import DecodeOptions, Decoder
from tests.helpers import synthetic

Box = tuple[int, int, int, int]


def scene(rng: np.random.Generator, module_px: int) -> tuple[np.ndarray, Box, bytes]:
    """A 480x640 grey card with lines of text and the code at a random place."""
    payload = synthetic.tagged_payload(rng)
    code = synthetic.datamatrix(payload, module_px)
    h, w = 480, 640
    image = np.full((h, w), int(rng.integers(200, 240)), np.uint8)
    for row in range(8):
        y = 30 + row * 50
        cv2.rectangle(image, (20, y), (20 + int(rng.integers(80, 250)), y + 10), 70, -1)
    ch, cw = code.shape
    y0 = int(rng.integers(10, h - ch - 10))
    x0 = int(rng.integers(w // 2 - 40, w - cw - 10))
    image[y0 : y0 + ch, x0 : x0 + cw] = np.minimum(code, image[y0, x0])
    return image, (x0, y0, x0 + cw, y0 + ch), payload


def shadow(image: np.ndarray, box: Box, rng: np.random.Generator, depth: float) -> np.ndarray:
    """A hard shadow edge through the code: one side lit at `depth` of the other."""
    h, w = image.shape
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    cx += rng.uniform(-0.2, 0.2) * (box[2] - box[0])
    theta = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    side = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
    light = np.where(side > 0, 1.0, depth).astype(np.float32)
    light = cv2.GaussianBlur(light, (0, 0), 1.5)
    noise = rng.normal(0, 2, image.shape)
    return np.clip(image * light + noise, 0, 255).astype(np.uint8)


def low_light(image: np.ndarray, rng: np.random.Generator, level: float) -> np.ndarray:
    """A dim room: every pixel at `level` of its light, plus sensor noise."""
    noisy = image * level + rng.normal(0, 3, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def glare(image: np.ndarray, box: Box, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A specular spot over part of the code, saturating at its middle."""
    h, w = image.shape
    side = box[2] - box[0]
    cx = rng.uniform(box[0], box[2])
    cy = rng.uniform(box[1], box[3])
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    sigma = side * 0.22
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    noise = rng.normal(0, 2, image.shape)
    return np.clip(image + 255 * strength * blob + noise, 0, 255).astype(np.uint8)


def sample(kind: str, seed: int) -> tuple[np.ndarray, bytes]:
    rng = np.random.default_rng(seed)
    module_px = int(rng.choice([2, 3, 4]))
    image, box, payload = scene(rng, module_px)
    if kind == "shadow":
        return shadow(image, box, rng, float(rng.uniform(0.15, 0.35))), payload
    if kind == "low_light":
        return low_light(image, rng, float(rng.uniform(0.06, 0.12))), payload
    if kind == "glare":
        return glare(image, box, rng, float(rng.uniform(0.5, 0.9))), payload
    raise ValueError(kind)


KINDS = ("shadow", "low_light", "glare")


SEEDS = range(8)


def reads(passes: tuple[str, ...], image: np.ndarray, payload: bytes) -> bool:
    options = DecodeOptions(passes=passes, libdmtx=False, all_formats=False)
    return payload in [s.data for s in Decoder(options).decode(image)]


@pytest.mark.parametrize(
    ("kind", "passes"),
    [
        ("shadow", ("gamma", "gamma_upscale")),
        ("low_light", ("gamma", "gamma_upscale")),
        ("glare", ("adaptive",)),
    ],
)
def test_the_pass_made_for_a_kind_of_light_reads_what_the_plain_read_misses(
    kind: str, passes: tuple[str, ...]
) -> None:
    samples = [sample(kind, seed) for seed in SEEDS]
    plain = sum(reads(("local",), image, payload) for image, payload in samples)
    made_for_it = sum(reads(passes, image, payload) for image, payload in samples)
    assert made_for_it == len(samples)
    assert plain < len(samples)  # the degradation is real: zxing-cpp's own binariser misses some


@pytest.mark.parametrize("kind", KINDS)
def test_the_default_cascade_reads_every_code_under_uneven_light(kind: str) -> None:
    decoder = Decoder()  # default passes, no time budget
    for seed in SEEDS:
        image, payload = sample(kind, seed)
        assert payload in [s.data for s in decoder.decode(image)], (kind, seed)


@pytest.mark.parametrize(
    "name",
    ["flatten", "tophat", "gamma", "flatten_upscale", "tophat_upscale", "equalize_upscale",
     "gamma_upscale", "adaptive_upscale"],
)  # fmt: skip
def test_each_new_pass_reads_a_plain_code_and_gives_positions_in_the_callers_pixels(
    name: str,
) -> None:
    rng = np.random.default_rng(11)
    image, box, payload = scene(rng, 3)
    [symbol] = Decoder(DecodeOptions(passes=(name,), libdmtx=False, all_formats=False)).decode(
        image
    )
    assert symbol.data == payload
    xs = [x for x, _ in symbol.position]
    ys = [y for _, y in symbol.position]
    assert box[0] - 4 <= min(xs) and max(xs) <= box[2] + 4
    assert box[1] - 4 <= min(ys) and max(ys) <= box[3] + 4


def test_the_background_is_computed_again_for_each_new_image() -> None:
    """`flatten` and `tophat` share the background of one image: a decoder that reads a dark
    image then a bright one in the same buffer must not divide the second by the first's."""
    decoder = Decoder(DecodeOptions(passes=("flatten", "tophat"), libdmtx=False,
                                    all_formats=False, try_harder=True))  # fmt: skip
    rng = np.random.default_rng(12)
    image, _, payload = scene(rng, 3)
    bgr = np.dstack([image] * 3)  # BGR: grey goes to the decoder's reused buffer
    dark = (bgr // 3).astype(np.uint8)
    assert payload in [s.data for s in decoder.decode(dark)]
    assert payload in [s.data for s in decoder.decode(bgr)]
    assert decoder.last_passes == ["flatten", "tophat"]


# --- regions ------------------------------------------------------------------------------


def empty_frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    card = synthetic.card(np.full((40, 40), 230, np.uint8), rng)
    return synthetic.place(card, synthetic.FRAME_720P, rng)


def test_an_empty_frame_stops_after_the_first_read() -> None:
    """Nothing looks like a code, nothing was located: one cheap read, then stop (camera
    frames); a document still gets its other formats' read."""
    for seed in range(3):
        camera = Decoder(DecodeOptions(time_budget_ms=40))
        reading = camera.read(empty_frame(seed))
        assert (reading.symbols, reading.unreadable, reading.passes) == ([], [], ["fixed"])
        document = Decoder(DecodeOptions(other_formats_too=True))
        assert document.read(empty_frame(seed)).passes == ["fixed", "other_formats"]


def test_passes_on_regions_read_what_the_whole_frame_reads_at_the_same_place() -> None:
    """A code the first read misses is read by the later passes on its region's crop, and its
    corners are given in the frame's pixels, as a whole-frame read gives them."""
    image, payload = sample("shadow", 0)
    frame = np.zeros((720, 1280), np.uint8)
    frame[100:580, 500:1140] = image
    options = DecodeOptions(libdmtx=False, all_formats=False)
    decoder = Decoder(options)
    [in_regions] = decoder.decode(frame)
    assert decoder.last_passes[-1] != "fixed"  # read by a later pass, on a crop
    [whole] = Decoder(DecodeOptions(libdmtx=False, all_formats=False, regions=False)).decode(frame)
    assert in_regions.data == whole.data == payload
    for (ax, ay), (bx, by) in zip(in_regions.position, whole.position, strict=True):
        assert abs(ax - bx) <= 3 and abs(ay - by) <= 3


def test_a_qr_code_on_a_camera_frame_is_reported_from_its_region() -> None:
    qr = synthetic.qrcode("https://example.org/carte", 4)
    frame = empty_frame(4)
    frame[300 : 300 + qr.shape[0], 600 : 600 + qr.shape[1]] = qr[:, :, None]
    [symbol] = Decoder(DecodeOptions(time_budget_ms=40)).decode(frame)
    assert symbol.format == "QRCode"
    xs = [x for x, _ in symbol.position]
    assert min(xs) >= 590 and max(xs) <= 610 + qr.shape[1]


def test_the_corpus_empty_frames_read_nothing_and_report_nothing_unreadable() -> None:
    from tests.helpers import corpus

    camera = Decoder(DecodeOptions(time_budget_ms=40))
    files = Decoder(DecodeOptions(other_formats_too=True))
    for index in range(12):
        image = corpus.sample("empty", index).image
        for decoder in (camera, files):
            reading = decoder.read(image)
            assert (reading.symbols, reading.unreadable) == ([], []), index
