"""Files are decoded deterministically: the same files give the same codes (bytes, pages,
positions) and the same errors on an idle machine, on a machine whose every core is busy, and
whatever the decoder's clock says, through every path a file takes (`decode_path`,
`read_upload`, `scanner-agent decode`)."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

import decoders
import decoders.documents
from decoders import DecodeOptions, Decoder
from scanner_agent.file_decoding import decode_path, for_documents, read_upload
from scanner_agent.parse_context import ParseContext
from tests.helpers import synthetic
from tests.helpers.cpu import CpuHog
from tests.helpers.samples import FIXED_OTHER as B
from tests.helpers.samples import TODAY
from tests.helpers.samples import VALID as A


def _card(
    payload: bytes, module_px: int, blur: float, contrast: float, shadow: float
) -> Image.Image:
    """A card photographed badly: blurred, low contrast, the code's right part in a hard
    shadow (`shadow`: the light left there, 1 = none). Read by zxing-cpp's later passes, not its
    first (checked below), never by libdmtx (whose search is bounded by a wall-clock limit)."""
    code = synthetic.datamatrix(payload, module_px)
    image = synthetic.card(code, np.random.default_rng(1), width=700)
    degradation = synthetic.Degradation(blur=blur, contrast=contrast, noise=3)
    image = synthetic.degrade(image, degradation, np.random.default_rng(2)).astype(np.float32)
    image[:, int(image.shape[1] * 0.88) :] *= shadow
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)[:, :, ::-1])


def _files(folder: Path) -> list[Path]:
    shadowed = _card(A, 3, blur=0.8, contrast=0.5, shadow=0.45)
    blurred = _card(B, 4, blur=2.0, contrast=0.3, shadow=1.0)
    small = _card(A, 2, blur=1.2, contrast=0.5, shadow=1.0)
    shadowed.save(folder / "shadow.png")
    blurred.save(folder / "blur.jpg", "JPEG", quality=95)
    # a scanned letter (its pages JPEG-compressed by Pillow), read from its native 300 dpi
    first, *rest = [
        _card(A, 4, blur=0.8, contrast=0.5, shadow=0.45),
        _card(B, 4, blur=2.0, contrast=0.3, shadow=1.0),
        _card(A, 3, blur=1.6, contrast=0.5, shadow=1.0),
    ]
    first.save(folder / "letter.pdf", "PDF", save_all=True, append_images=rest, resolution=300)
    cut = io.BytesIO()
    small.save(cut, "PNG")
    (folder / "cut.png").write_bytes(cut.getvalue()[:2000])
    return [folder / name for name in ("shadow.png", "blur.jpg", "letter.pdf", "cut.png")]


EXPECTED = {
    "shadow.png": [(1, A)],
    "blur.jpg": [(1, B)],
    "letter.pdf": [(1, A), (2, B), (3, A)],
    "cut.png": [],
}


def _read_everything(
    files: list[Path], context: ParseContext, decoder: Decoder | None = None
) -> Any:
    """What each path of a file gives: the symbols with their positions and the decoder pass
    that read them, the error's code, and the file report (without its time)."""
    out = {}
    for path in files:
        read = read_upload(path.read_bytes(), path.name, DecodeOptions(), decoder)
        report = decode_path(path, context, TODAY, DecodeOptions(), decoder).model_dump(mode="json")
        del report["ms"]
        out[path.name] = {
            "symbols": [(s.page, s.data, s.symbology, s.position, s.decoder) for s in read.symbols],
            "error": read.error.code if read.error else None,
            "report": report,
        }
    return out


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return _files(tmp_path)


def _check_the_files_are_hard(results: Any) -> None:
    """The files hold what they are meant to: codes that only the later passes read."""
    for name, expected in EXPECTED.items():
        assert [(page, data) for page, data, *_ in results[name]["symbols"]] == expected, name
    labels = [label for r in results.values() for *_, label in r["symbols"]]
    assert all(label.startswith("zxing+") for label in labels)  # never libdmtx
    assert set(labels) - {"zxing+fixed"}  # not the first pass only
    assert results["cut.png"]["error"] == "corrupt_image"


def test_files_give_the_same_result_idle_and_on_a_saturated_machine(
    files: list[Path], context: ParseContext
) -> None:
    idle = _read_everything(files, context)
    _check_the_files_are_hard(idle)
    with CpuHog() as hog:
        loaded = _read_everything(files, context)
        assert hog.running == hog.count  # every core was busy until the end
    assert loaded == idle


def _jumping_clock() -> Any:
    """A clock that moves three hours at each call."""
    ticks = itertools.count()
    return lambda: next(ticks) * 3 * 3600.0


def test_a_clock_jumping_hours_changes_nothing_for_files(
    files: list[Path], context: ParseContext
) -> None:
    real = _read_everything(files, context, Decoder(for_documents(DecodeOptions())))
    jumping = Decoder(for_documents(DecodeOptions()), clock=_jumping_clock())
    assert _read_everything(files, context, jumping) == real
    _check_the_files_are_hard(real)
    # the clock is really asked: a camera's decoder (a time budget) gives up after one pass
    image = np.asarray(Image.open(files[0]).convert("L"))
    camera = Decoder(DecodeOptions(time_budget_ms=40), clock=_jumping_clock())
    assert camera.read(image).symbols == []
    assert Decoder(for_documents(DecodeOptions()), clock=_jumping_clock()).read(image).symbols


def test_a_decoder_with_a_time_budget_is_refused_for_files(
    files: list[Path], context: ParseContext
) -> None:
    camera = Decoder(DecodeOptions(time_budget_ms=40))
    with pytest.raises(ValueError, match="time budget"):
        decode_path(files[0], context, TODAY, decoder=camera)
    with pytest.raises(ValueError, match="time budget"):
        read_upload(files[0].read_bytes(), "x.png", decoder=camera)
    with pytest.raises(ValueError, match="time budget"):
        decoders.decode_file(files[0], decoder=camera)
    # options with a budget (the camera's, from the configuration) lose it for files
    assert decoders.decode_file(files[0], DecodeOptions(time_budget_ms=0.001)) != []


class _Recorded(Decoder):
    built: ClassVar[list[DecodeOptions]] = []

    def __init__(self, options: DecodeOptions | None = None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        _Recorded.built.append(self.options)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[DecodeOptions]:
    """The options of every Decoder built from now on (by the CLI, the uploads, the files)."""
    _Recorded.built = []
    monkeypatch.setattr(decoders, "Decoder", _Recorded)
    monkeypatch.setattr(decoders.documents, "Decoder", _Recorded)
    return _Recorded.built


def test_the_cli_decodes_without_time_budget(
    files: list[Path], recorded: list[DecodeOptions], capsys: pytest.CaptureFixture[str]
) -> None:
    from scanner_agent.cli import main

    main(["decode", "--json", "--at", "2026-03-01", *(str(p) for p in files[:2])])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [len(line["codes"]) for line in lines] == [1, 1]
    assert recorded and all(o.time_budget_ms is None for o in recorded)


def test_uploads_and_files_decode_without_time_budget(
    files: list[Path], context: ParseContext, recorded: list[DecodeOptions]
) -> None:
    camera_options = DecodeOptions(time_budget_ms=40)  # as `decode_options(settings)` gives
    read_upload(files[0].read_bytes(), "a.png", camera_options)
    decode_path(files[0], context, TODAY, camera_options)
    decoders.decode_file(files[0], camera_options)
    decoders.decode_bytes(files[0].read_bytes(), "a.png", camera_options)
    assert len(recorded) == 4
    assert all(o.time_budget_ms is None for o in recorded)
