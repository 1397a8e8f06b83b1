"""PDF pages: rendered at a fixed 300 dpi (as before issue 14) against the rendering of
`decoders.documents` (a scanned page at its image's resolution, a vector page first at a draft
resolution and again at 300 dpi only when that reads no Data Matrix), side by side in one run.

    .venv/bin/python benchmarks/pdf.py                   # 6 pages of each kind, drafts 150 and 200
    taskset -c 0 .venv/bin/python benchmarks/pdf.py --pages 3 --drafts 150 200

Kinds: A4 pages scanned at 150, 200 and 300 dpi (tests/helpers/synthetic.py's `a4_page`:
one code of 0.4-0.6 mm modules, skew, blur, noise, low contrast, JPEG; resized to the scanner's
resolution and embedded with Pillow), A4 pages drawn with vectors (the code as rectangles,
modules of 0.25-0.5 mm, tests/helpers/pdfs.py), and pages of both kinds without a code.
Per page: render + decode, in ms; recall = codes whose exact bytes came back. Numbers go to
docs/benchmarks.md, "PDF pages".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decoders import DecodeOptions, Decoder, documents
from scanner_agent.file_decoding import for_documents
from tests.helpers import synthetic
from tests.helpers.pdfs import VectorCode, scanned_pdf, vector_pdf


@dataclass
class Doc:
    kind: str
    data: bytes
    payloads: list[bytes]  # the codes of its one page


def corpus(pages: int, seed: int) -> list[Doc]:
    rng = np.random.default_rng(seed)
    docs = []
    for dpi in (150, 200, 300):
        for i in range(pages + 1):
            payloads = [] if i == pages else [synthetic.tagged_payload(rng)]
            image, _ = synthetic.a4_page(payloads, rng)
            if dpi != 300:
                h, w = image.shape
                size = (round(w * dpi / 300), round(h * dpi / 300))
                image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
            kind = f"scan {dpi} dpi" + (" (no code)" if not payloads else "")
            docs.append(Doc(kind, scanned_pdf([Image.fromarray(image)], dpi), payloads))
    for i in range(pages + 1):
        payloads = [] if i == pages else [synthetic.tagged_payload(rng)]
        module = float(rng.choice([0.25, 0.3, 0.35, 0.4, 0.5]))
        codes = [VectorCode(p, float(rng.uniform(125, 170)), float(rng.uniform(20, 230)), module)
                 for p in payloads]  # fmt: skip
        kind = "vector" + (" (no code)" if not payloads else "")
        docs.append(Doc(kind, vector_pdf([codes], seed=i), payloads))
    return docs


Method = Callable[[Doc, Decoder], list[bytes]]


def fixed_300(doc: Doc, decoder: Decoder) -> list[bytes]:
    """The rendering before issue 14: every page at 300 dpi."""
    document = pdfium.PdfDocument(doc.data)
    page = document[0]
    bitmap = page.render(scale=300 / 72, grayscale=True)
    pixels = bitmap.to_numpy()
    pixels = np.array(pixels[..., 0] if pixels.ndim == 3 else pixels)
    bitmap.close()
    page.close()
    document.close()
    return [s.data for s in decoder.read(pixels).symbols]


def sized(doc: Doc, decoder: Decoder) -> list[bytes]:
    """`decoders.documents`: the resolution the page needs."""
    pages = documents.read_pages_from_bytes(doc.data, doc.kind, decoder.options)
    return [s.data for page in pages for s in page.read(decoder).symbols]


def run(method: Method, doc: Doc) -> tuple[float, int]:
    decoder = Decoder(for_documents(DecodeOptions()))
    start = time.perf_counter()
    found = method(doc, decoder)
    ms = (time.perf_counter() - start) * 1000
    return ms, sum(p in found for p in doc.payloads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6, help="pages with a code, per kind")
    parser.add_argument("--drafts", type=int, nargs="+", default=[150, 200])
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    docs = corpus(args.pages, args.seed)
    counting = _count_renders()
    methods: list[tuple[str, Method]] = [("fixed 300 dpi", fixed_300)]
    for draft in args.drafts:
        methods.append((f"sized (draft {draft})", _with_draft(draft)))
    rows: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for doc in docs:
        for name, method in methods:  # side by side, page after page
            counting.clear()
            ms, read = run(method, doc)
            rows.setdefault((doc.kind, name), []).append((ms, read, len(counting)))
    print(f"cpu: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(
        f"{'kind':<24} {'rendering':<20} {'recall':>9} {'mean ms':>8} {'p95 ms':>8} {'renders':>8}"
    )
    for (kind, name), values in rows.items():
        codes = sum(len(d.payloads) for d in docs if d.kind == kind)
        read = sum(v[1] for v in values)
        times = sorted(v[0] for v in values)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        recall = f"{read}/{codes}" if codes else "-"
        renders = sum(v[2] for v in values) / len(values)
        print(f"{kind:<24} {name:<20} {recall:>9} {statistics.mean(times):>8.0f} {p95:>8.0f} "
              f"{renders:>8.1f}")  # fmt: skip


def _with_draft(draft: int) -> Method:
    def method(doc: Doc, decoder: Decoder) -> list[bytes]:
        saved = documents.PDF_DRAFT_DPI
        documents.PDF_DRAFT_DPI = draft
        try:
            return sized(doc, decoder)
        finally:
            documents.PDF_DRAFT_DPI = saved

    return method


def _count_renders() -> list[int]:
    seen: list[int] = []
    real = pdfium.PdfPage.render

    def render(self: pdfium.PdfPage, *args: object, **kwargs: object) -> pdfium.PdfBitmap:
        seen.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    pdfium.PdfPage.render = render  # type: ignore[method-assign]
    return seen


if __name__ == "__main__":
    main()
