"""The decoding corpus of issue 14: seeded samples of every kind, shared by the tests
(tests/test_synthetic_corpus.py) and the benchmark (benchmarks/decode.py).

    from tests.helpers.corpus import build
    samples = build(seed=2026, per_kind=60)   # 60 of each frame kind, 15 of each page kind

Kinds (see tests/helpers/synthetic.py for what each degradation does):
- `clean`: a card held to a 720p webcam, any rotation, some perspective, no other harm;
- `mixed`: the random mix of blur, noise, low contrast, JPEG and glare blob of before issue 14;
- `low_light`, `glare`, `shadow`: one uneven light each (dim and noisy; a saturated specular
  spot over part of the code; a hard shadow edge across the code);
- `uneven_combo`: two or three of those with the random mix;
- `a4`: an A4 page scanned at 300 dpi, one or two codes; `a4_uneven`: the same page scanned
  with a fold's shadow and a lamp's fall-off, or photographed by a phone;
- `empty`: 720p frames with no code (desk, card without its code, textured desk, page of text).

Sample `i` of a kind depends only on (seed, kind, i): `build(seed, 10)` is the start of
`build(seed, 60)`, kind by kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.helpers import synthetic
from tests.helpers.synthetic import Corners, Image

FRAME_KINDS = ("clean", "mixed", "low_light", "glare", "shadow", "uneven_combo")
PAGE_KINDS = ("a4", "a4_uneven")
KINDS = (*FRAME_KINDS, *PAGE_KINDS, "empty")
UNEVEN_KINDS = ("low_light", "glare", "shadow", "uneven_combo", "a4_uneven")


@dataclass(frozen=True, slots=True)
class Sample:
    """One image of the corpus: the payloads it holds (none for `empty`), its kind, and a note
    saying how it was made (module size, degradation), to report misses."""

    image: Image
    payloads: list[bytes]
    kind: str
    note: str
    codes: list[Corners]  # where each code's symbol is in the image, in payload order
    index: int  # its number within its kind


def _rng(seed: int, kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, KINDS.index(kind), index])


def _payload(rng: np.random.Generator, index: int) -> bytes:
    return synthetic.fixed_payload(rng) if index % 5 == 4 else synthetic.tagged_payload(rng)


def sample(kind: str, index: int, seed: int = 2026) -> Sample:
    """Sample `index` of `kind` (one of `KINDS`)."""
    rng = _rng(seed, kind, index)
    if kind in FRAME_KINDS:
        payload = _payload(rng, index)
        shot = synthetic.uneven_frame(payload, kind, rng)
        payloads = [payload]
    elif kind in PAGE_KINDS:
        payloads = [synthetic.tagged_payload(rng) for _ in range(1 + index % 2)]
        shot = (synthetic.a4_shot if kind == "a4" else synthetic.a4_uneven)(payloads, rng)
    elif kind == "empty":
        what = synthetic.EMPTY[index % len(synthetic.EMPTY)]
        shot = synthetic.empty_frame(what, rng)
        payloads = []
        return Sample(shot.image, [], kind, f"{what} {shot.degradation.describe()}", [], index)
    else:
        raise ValueError(f"no corpus kind {kind!r}")
    note = f"module={shot.module_px:.1f}px {shot.degradation.describe()}"
    return Sample(shot.image, payloads, kind, note, shot.codes, index)


def counts(per_kind: int, pages: int | None = None, empty: int | None = None) -> dict[str, int]:
    """How many samples of each kind `build` makes: `per_kind` of each frame kind, `pages`
    (default a quarter of `per_kind`, at least 1) of each page kind, `empty` (default half of
    `per_kind`) empty frames."""
    pages = max(1, per_kind // 4) if pages is None else pages
    empty = per_kind // 2 if empty is None else empty
    out = dict.fromkeys(FRAME_KINDS, per_kind)
    out.update(dict.fromkeys(PAGE_KINDS, pages))
    out["empty"] = empty
    return out


def build(
    seed: int = 2026,
    per_kind: int = 60,
    *,
    pages: int | None = None,
    empty: int | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> list[Sample]:
    """The corpus: for each of `kinds` in `KINDS` order, its samples (counts: see `counts`).
    The defaults give 6 x 60 frame codes + 2 x 15 pages (22 or 23 codes each) = 405 codes
    and 30 empty frames."""
    wanted = counts(per_kind, pages, empty)
    return [sample(k, i, seed) for k in KINDS if k in kinds for i in range(wanted[k])]
