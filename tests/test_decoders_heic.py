"""HEIC/HEIF phone photos: read through pillow-heif (registered on the first HEIF file only),
by `scanner-agent decode`'s path and by uploads; a damaged one is `corrupt_image`, never an
exception nor `not_an_image`. The photos are encoded here by pillow-heif itself (x265)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from decoders.documents import is_heif
from scanner_agent.file_decoding import FileReport, decode_path, decode_upload
from scanner_agent.parse_context import ParseContext
from tests.helpers.files import heic_bytes
from tests.helpers.files import page_image as page
from tests.helpers.samples import FIXED_OTHER as B
from tests.helpers.samples import TODAY
from tests.helpers.samples import VALID as A

pytest.importorskip("pillow_heif")


def codes_of(report: FileReport) -> list[tuple[int, bytes]]:
    return [(c.page, base64.b64decode(c.payload_b64)) for c in report.codes]


def test_a_heic_photo_is_read(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "IMG_0042.HEIC"
    path.write_bytes(heic_bytes(page(A)))
    report = decode_path(path, context, TODAY)
    assert report.error is None
    assert codes_of(report) == [(1, A)]
    assert report.codes[0].attestation.valid


def test_a_heif_burst_is_read_as_its_primary_image(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "burst.heif"
    path.write_bytes(heic_bytes(page(A), 90, page(B)))
    report = decode_path(path, context, TODAY)
    assert report.error is None
    assert codes_of(report) == [(1, A)]


def test_an_uploaded_heic_gives_the_same_report(context: ParseContext) -> None:
    report = decode_upload(heic_bytes(page(B)), "photo.heic", context, TODAY)
    assert report.error is None
    assert codes_of(report) == [(1, B)]


def _truncated() -> bytes:
    data = heic_bytes(page(A))
    return data[: len(data) * 3 // 4]  # the header whole, the picture cut


def _header_only() -> bytes:
    return heic_bytes(page(A))[:300]  # the ftyp box and part of the meta box


def _garbage_after_ftyp() -> bytes:
    data = heic_bytes(page(A))
    return data[:32] + bytes(range(256)) * 8


@pytest.mark.parametrize("make", [_truncated, _header_only, _garbage_after_ftyp])
def test_a_damaged_heic_is_corrupt_image(tmp_path: Path, context: ParseContext, make) -> None:
    path = tmp_path / "damaged.heic"
    path.write_bytes(make())
    report = decode_path(path, context, TODAY)
    assert report.error is not None
    assert report.error.code == "corrupt_image"
    assert str(path) in report.error.message
    assert report.codes == []


def test_heif_is_told_by_its_brands_not_by_ftyp_alone() -> None:
    assert is_heif(heic_bytes(page(None)))
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
    assert not is_heif(mp4)
    assert not is_heif(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    assert not is_heif(b"")


def test_a_video_in_an_iso_box_is_not_an_image(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64)
    report = decode_path(path, context, TODAY)
    assert report.error is not None
    assert report.error.code == "not_an_image"
