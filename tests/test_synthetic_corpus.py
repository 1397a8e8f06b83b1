"""The decoding corpus of issue 14 (tests/helpers/corpus.py, tests/helpers/synthetic.py): the
same samples for a seed, degradations that hit the code where they say they do, fair codes
(modules of 2 pixels or more, low light with some signal left), and the kinds and counts the
benchmark reports."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from decoders.zxing import DATAMATRIX
from tests.helpers import corpus, synthetic
from tests.helpers.synthetic import Corners, Degradation, Image


def _gray(image: Image) -> Image:
    return image if image.ndim == 2 else np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))


def _inside(shape: tuple[int, ...], code: Corners) -> np.ndarray:
    """A boolean mask of the pixels inside `code`'s quadrilateral."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(code).astype(np.int32), 1)
    return mask.astype(bool)


@pytest.fixture(scope="module")
def small() -> list[corpus.Sample]:
    return corpus.build(7, 4, pages=2, empty=8)


def test_a_seed_gives_the_same_samples_and_another_seed_others() -> None:
    for kind in ("mixed", "uneven_combo", "empty"):
        first, again = corpus.sample(kind, 3, seed=11), corpus.sample(kind, 3, seed=11)
        assert np.array_equal(first.image, again.image)
        assert first.payloads == again.payloads and first.note == again.note
        other = corpus.sample(kind, 3, seed=12)
        assert not np.array_equal(first.image, other.image)


def test_a_smaller_corpus_is_the_start_of_a_larger_one_kind_by_kind() -> None:
    kinds = ("glare", "empty")
    short = corpus.build(5, 2, empty=2, kinds=kinds)
    longer = corpus.build(5, 3, empty=3, kinds=kinds)
    assert [s.kind for s in short] == ["glare", "glare", "empty", "empty"]
    for sample in short:
        match = next(s for s in longer if s.kind == sample.kind and s.index == sample.index)
        assert np.array_equal(sample.image, match.image)


def test_kinds_and_counts_are_the_documented_ones(small: list[corpus.Sample]) -> None:
    assert corpus.KINDS == (
        "clean", "mixed", "low_light", "glare", "shadow", "uneven_combo", "a4", "a4_uneven",
        "empty",
    )  # fmt: skip
    assert [s.kind for s in small] == [
        k for k, n in corpus.counts(4, 2, 8).items() for _ in range(n)
    ]
    default = corpus.counts(60)
    assert default == {**dict.fromkeys(corpus.FRAME_KINDS, 60), "a4": 15, "a4_uneven": 15,
                       "empty": 30}  # fmt: skip
    # pages hold one code, then two, in turn: 15 pages hold 22 codes
    codes = sum(n for k, n in default.items() if k in corpus.FRAME_KINDS)
    codes += sum(n + n // 2 for k, n in default.items() if k in corpus.PAGE_KINDS)
    assert codes >= 300
    assert all(default[k] >= 60 for k in ("low_light", "glare", "shadow", "uneven_combo"))
    for sample in small:
        if sample.kind in corpus.PAGE_KINDS:
            assert len(sample.payloads) == 1 + sample.index % 2
            assert sample.image.shape == synthetic.A4_300DPI
        else:
            assert sample.image.shape == (*synthetic.FRAME_720P, 3)
        if sample.kind in corpus.FRAME_KINDS:
            assert len(sample.payloads) == 1
        assert len(sample.codes) == len(sample.payloads)


def test_empty_samples_hold_no_code_and_no_reader_finds_one(small: list[corpus.Sample]) -> None:
    empty = [s for s in small if s.kind == "empty"]
    assert {s.note.split()[0] for s in empty} == set(synthetic.EMPTY)
    for sample in empty:
        assert sample.payloads == [] and sample.codes == []
        assert zxingcpp.read_barcodes(sample.image, formats=DATAMATRIX) == []


def test_codes_corners_are_where_a_reader_finds_the_symbol(small: list[corpus.Sample]) -> None:
    checked = 0
    for sample in small:
        if sample.kind not in ("clean", "a4"):
            continue
        for result in zxingcpp.read_barcodes(sample.image):
            index = sample.payloads.index(result.bytes)
            p = result.position
            found = np.array([[c.x, c.y] for c in (p.top_left, p.top_right, p.bottom_right,
                                                   p.bottom_left)], np.float32)  # fmt: skip
            ours = sample.codes[index]
            # the same four points, in some order (readers name the corners by the L)
            distance = np.linalg.norm(found[:, None] - ours[None], axis=2).min(axis=1)
            assert distance.max() < 0.08 * synthetic.code_side(ours)
            checked += 1
    assert checked >= 4


def test_modules_are_two_pixels_or_more_and_blur_is_capped(small: list[corpus.Sample]) -> None:
    for sample in small:
        if not sample.payloads:
            continue
        module = float(sample.note.split()[0].removeprefix("module=").removesuffix("px"))
        assert module >= 2.0, sample.note
        blur = next((float(p[5:]) for p in sample.note.split() if p.startswith("blur=")), 0.0)
        assert blur <= 0.4 * module + 1e-6, sample.note


def _clean_frame(seed: int) -> synthetic.Shot:
    return synthetic.uneven_frame(b"AMCTP01 test", "clean", np.random.default_rng(seed))


def test_a_glare_spot_saturates_part_of_the_code_not_all_of_it() -> None:
    for seed in range(6):
        shot = _clean_frame(seed)
        spot = Degradation(spot=0.08)
        out = _gray(
            synthetic.degrade(shot.image, spot, np.random.default_rng(seed), code=shot.codes[0])
        )
        inside = _inside(out.shape, shot.codes[0])
        white = out[inside] >= 250
        was_dark = _gray(shot.image)[inside] < 100
        # dark modules turned white: the spot covers about 8 % of the symbol (with its halo)
        erased = float(np.mean(white & was_dark)) / float(np.mean(was_dark))
        assert 0.05 < erased < 0.2, erased
        # and nothing far from the code is touched
        far = ~_dilated(inside, 2 * int(synthetic.code_side(shot.codes[0])))
        assert np.array_equal(out[far], _gray(shot.image)[far])


def _dilated(mask: np.ndarray, by: int) -> np.ndarray:
    kernel = np.ones((2 * by + 1, 2 * by + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def test_a_hard_shadow_edge_crosses_the_code() -> None:
    for seed in range(6):
        shot = _clean_frame(seed)
        depth = 0.6
        d = Degradation(shadow=depth)
        out = synthetic.degrade(shot.image, d, np.random.default_rng(seed), code=shot.codes[0])
        before, after = _gray(shot.image).astype(float), _gray(out).astype(float)
        inside = _inside(out.shape, shot.codes[0]) & (before > 100)  # the code's light modules
        ratio = after[inside] / before[inside]
        shaded = np.mean(np.abs(ratio - (1 - depth)) < 0.05)
        lit = np.mean(np.abs(ratio - 1) < 0.02)
        # the edge goes through the middle half of the symbol: each side holds 15 % or more
        assert shaded > 0.15 and lit > 0.15 and shaded + lit > 0.95, (shaded, lit)


def test_corpus_glare_and_shadow_samples_are_uneven_inside_the_code() -> None:
    for index in range(4):
        glare = corpus.sample("glare", index)
        gray = _gray(glare.image)
        inside = gray[_inside(gray.shape, glare.codes[0])]
        saturated = float(np.mean(inside >= 250))
        assert 0.02 < saturated < 0.5, glare.note
        shadow = corpus.sample("shadow", index)
        gray = _gray(shadow.image).astype(float)
        mask = _inside(gray.shape, shadow.codes[0])
        # the light modules on either side of the edge: two levels, the darker 40-75 % below
        light = gray[mask & (gray > np.percentile(gray[mask], 50))]
        lo, hi = np.percentile(light, 10), np.percentile(light, 95)
        assert lo < 0.7 * hi, shadow.note


def test_low_light_is_dark_but_keeps_the_code_s_contrast() -> None:
    for index in range(6):
        sample = corpus.sample("low_light", index)
        gray = _gray(sample.image).astype(float)
        assert gray.mean() < 60, sample.note
        inside = gray[_inside(gray.shape, sample.codes[0])]
        assert np.percentile(inside, 95) < 110, sample.note
        # light and dark modules still apart by several times the noise
        noise = float(next(p[6:] for p in sample.note.split() if p.startswith("noise=")))
        assert np.percentile(inside, 90) - np.percentile(inside, 10) > 3 * noise, sample.note


def test_the_uneven_combo_has_two_or_three_kinds_of_light_over_the_mix() -> None:
    seen: set[int] = set()
    for index in range(12):
        note = corpus.sample("uneven_combo", index).note
        present = [p for p in ("gain=", "spot=", "shadow=") if p in note]
        assert len(present) in (2, 3), note
        seen.add(len(present))
    assert seen == {2, 3}


def test_degrade_without_uneven_light_draws_as_before() -> None:
    """The new degradations draw nothing when neutral: noise alone is the first draw of the
    generator, as it was before issue 14 (old seeds keep their images)."""
    image = np.full((60, 80, 3), 128, np.uint8)
    out = synthetic.degrade(image, Degradation(noise=5.0), np.random.default_rng(1))
    noise = np.random.default_rng(1).normal(0, 5.0, size=image.shape).astype(np.float32)
    assert np.array_equal(out, np.clip(128 + noise, 0, 255).astype(np.uint8))
