"""The region finder (`decoders.regions`): on seeded frames of every kind of the corpus, the
code is inside a returned region; frames without a code give few or none; the boxes are sane
whatever the input's shape."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from decoders.regions import Region, RegionFinder, find_regions
from tests.helpers import corpus, synthetic
from tests.helpers.samples import VALID

SEED = 2026
PER_KIND = 6


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _holds(region: Region, corners: np.ndarray) -> bool:
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    return bool(region.x0 <= x0 and region.y0 <= y0 and region.x1 >= x1 and region.y1 >= y1)


def _sane(regions: list[Region], height: int, width: int, max_regions: int = 4) -> None:
    assert len(regions) <= max_regions
    for r in regions:
        assert 0 <= r.x0 < r.x1 <= width and 0 <= r.y0 < r.y1 <= height, r
        assert 0.0 <= r.score <= 1.0, r
    assert [r.score for r in regions] == sorted((r.score for r in regions), reverse=True)
    for i, a in enumerate(regions):
        for b in regions[i + 1 :]:
            assert not (a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1), (a, b)


@pytest.mark.parametrize("kind", corpus.FRAME_KINDS)
def test_the_code_of_every_degraded_frame_is_in_a_region(kind: str) -> None:
    finder = RegionFinder()  # one finder for all the frames, as a camera keeps one
    for index in range(PER_KIND):
        sample = corpus.sample(kind, index, SEED)
        gray = _gray(sample.image)
        regions = finder.find(gray)
        _sane(regions, *gray.shape)
        (code,) = sample.codes
        assert any(_holds(r, code) for r in regions), f"{kind} #{index}: {sample.note}"
        # the region is about the code, not the whole frame
        holding = next(r for r in regions if _holds(r, code))
        assert holding.width * holding.height < gray.size / 4


@pytest.mark.parametrize("kind", corpus.PAGE_KINDS)
def test_the_codes_of_an_a4_page_are_found(kind: str) -> None:
    for index in range(2):
        sample = corpus.sample(kind, index, SEED)
        gray = _gray(sample.image)
        regions = find_regions(gray)
        _sane(regions, *gray.shape)
        for code in sample.codes:
            assert any(_holds(r, code) for r in regions), f"{kind} #{index}: {sample.note}"


def test_frames_without_a_code_give_few_regions_and_a_bare_desk_none() -> None:
    finder = RegionFinder()
    total = 0
    for index in range(16):  # desk, card without code, textured desk, page of text, in turn
        sample = corpus.sample("empty", index, SEED)
        gray = _gray(sample.image)
        regions = finder.find(gray)
        _sane(regions, *gray.shape)
        if synthetic.EMPTY[index % len(synthetic.EMPTY)] in ("desk", "texture"):
            assert regions == [], sample.note
        total += len(regions)
    assert total <= 4


def test_a_flat_image_and_pure_noise_give_no_region() -> None:
    rng = np.random.default_rng(1)
    assert find_regions(np.full((720, 1280), 128, np.uint8)) == []
    noise = np.clip(rng.normal(60, 8, size=(720, 1280)), 0, 255).astype(np.uint8)
    assert find_regions(noise) == []


def test_a_code_on_a_plain_background_comes_first_with_a_high_score() -> None:
    code = synthetic.datamatrix(VALID, 3)
    frame = np.full((720, 1280), 200, np.uint8)
    frame[300 : 300 + code.shape[0], 500 : 500 + code.shape[1]] = code
    corners = synthetic.symbol_corners(code) + np.array([500, 300], np.float32)
    regions = find_regions(frame)
    assert regions and _holds(regions[0], corners)
    assert regions[0].score > 0.5
    # and a margin, not the whole frame
    assert regions[0].width < 2 * code.shape[1]


def test_low_light_and_a_hard_shadow_across_the_code_still_give_its_region() -> None:
    code = synthetic.datamatrix(VALID, 4)
    frame = np.full((720, 1280), 220.0, np.float32)
    frame[200 : 200 + code.shape[0], 400 : 400 + code.shape[1]] = code
    corners = synthetic.symbol_corners(code) + np.array([400, 200], np.float32)
    frame[:, 400 + code.shape[1] // 2 :] *= 0.35  # a shadow edge through the middle
    frame *= 0.25  # then dim light and sensor noise
    frame += np.random.default_rng(3).normal(0, 4, size=frame.shape)
    gray = np.clip(frame, 0, 255).astype(np.uint8)
    assert any(_holds(r, corners) for r in find_regions(gray))


def test_max_regions_is_respected_and_boxes_stay_in_the_image() -> None:
    code = synthetic.datamatrix(VALID, 2)
    frame = np.full((720, 1280), 230, np.uint8)
    for x in (0, 400, 800):  # three codes, one against the left border
        frame[0 : code.shape[0], x : x + code.shape[1]] = code
    regions = find_regions(frame, max_regions=2)
    _sane(regions, 720, 1280, max_regions=2)
    assert len(regions) == 2
    assert len(find_regions(frame)) == 3
    assert find_regions(frame, max_regions=0) == []


@pytest.mark.parametrize(
    "shape",
    [
        (0, 0),
        (0, 100),
        (1, 1),
        (1, 500),
        (500, 1),
        (7, 9),
        (31, 33),
        (32, 32),
        (33, 65),
        (101, 203),
        (250, 17),
        (719, 1281),
        (1001, 999),
    ],
)
def test_any_shape_gives_sane_boxes_and_never_raises(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    gray = rng.integers(0, 256, size=shape, dtype=np.uint8)
    regions = find_regions(gray)
    _sane(regions, *shape)
    if 0 in shape:
        assert regions == []


def test_a_small_image_is_one_region_the_whole_image() -> None:
    """Too small to judge (a crop): the decoder reads it whole."""
    assert find_regions(np.zeros((20, 300), np.uint8)) == [Region(0, 0, 300, 20, 0.0)]


def test_colour_and_other_inputs_are_taken_as_grayscale() -> None:
    code = synthetic.datamatrix(VALID, 3)
    frame = np.full((360, 640), 210, np.uint8)
    frame[100 : 100 + code.shape[0], 200 : 200 + code.shape[1]] = code
    expected = find_regions(frame)
    assert expected
    assert find_regions(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)) == expected
    assert find_regions(frame[:, :, None]) == expected
    assert find_regions(frame.astype(np.float32)) == expected
    assert find_regions(np.zeros((4, 4, 4, 4), np.uint8)) == []


def test_a_finder_reused_over_frames_of_changing_sizes_gives_what_a_new_one_gives() -> None:
    finder = RegionFinder()
    frames = [_gray(corpus.sample("mixed", i, SEED).image) for i in range(3)]
    frames.insert(1, _gray(corpus.sample("a4", 0, SEED).image))
    frames.append(frames[0][:401, :777].copy())
    for frame in frames + frames:
        assert finder.find(frame) == find_regions(frame)
