"""The decoder stack on generated codes: exact bytes back (GS included), through degradations,
with the right AIM identifier; negatives; the time budget with an injected clock."""

from __future__ import annotations

import numpy as np
import pytest

import decoders
from decoders import DecodedSymbol, DecodeOptions, Decoder, decode_image, libdmtx
from decoders._codewords import decode_codewords
from decoders._eci import normalise
from scanner_agent.attestation import ErrorCode
from scanner_agent.parse_context import ParseContext
from tests.helpers import synthetic
from tests.helpers.samples import FIXED, TODAY
from tests.helpers.samples import VALID as TAGGED
from tests.helpers.samples import VALID_PIPE as PIPES

GS1 = "(01)03400930000019(17)261231(10)AB12"


def frame(payload: bytes, seed: int, **degradation: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = synthetic.Degradation(**degradation)  # type: ignore[arg-type]
    image, _ = synthetic.camera_frame(payload, rng, module_px=4, degradation=d)
    return image


def payloads(symbols: list[DecodedSymbol]) -> list[bytes]:
    return [s.data for s in symbols]


def test_public_surface_is_what_all_says() -> None:
    for name in decoders.__all__:
        assert hasattr(decoders, name), name
    assert {"decode_image", "Decoder", "DecodeOptions", "DecodedSymbol"} <= set(decoders.__all__)


@pytest.mark.parametrize("payload", [TAGGED, PIPES, FIXED], ids=["gs", "pipes", "fixed"])
def test_clean_card_gives_exact_bytes_and_ecc200(payload: bytes) -> None:
    [symbol] = decode_image(frame(payload, 1))
    assert symbol.data == payload
    assert symbol.symbology == "]d1"
    assert symbol.format == "DataMatrix"
    assert symbol.page == 1
    assert len(symbol.position) == 4


DEGRADATIONS = {
    "rotation": {"angle": 137.0},
    "perspective": {"angle": 20.0, "perspective": 0.06},
    "blur": {"angle": 10.0, "blur": 1.2},
    "noise": {"angle": -30.0, "noise": 12.0},
    "low_contrast": {"angle": 45.0, "contrast": 0.35},
    "jpeg": {"angle": 75.0, "jpeg": 35},
    "glare": {"angle": 5.0, "glare": 0.5},
}


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_degraded_frames_still_give_the_exact_bytes(name: str) -> None:
    image = frame(TAGGED, 7, **DEGRADATIONS[name])
    assert TAGGED in payloads(Decoder().decode(image))


def test_small_modules_are_read_through_the_upscale_pass() -> None:
    rng = np.random.default_rng(3)
    code = synthetic.datamatrix(TAGGED, module_px=1)
    canvas = np.full((300, 400), 235, np.uint8)
    canvas[100 : 100 + code.shape[0], 150 : 150 + code.shape[1]] = code
    canvas = synthetic.degrade(canvas, synthetic.Degradation(blur=0.4, noise=3), rng)
    only_upscale = DecodeOptions(passes=("upscale",), libdmtx=False)
    assert payloads(Decoder(only_upscale).decode(canvas)) == [TAGGED]
    # positions are given in the caller's pixels, not in the upscaled image's
    [symbol] = Decoder(only_upscale).decode(canvas)
    xs = [x for x, _ in symbol.position]
    assert min(xs) >= 140
    assert max(xs) <= 160 + code.shape[1]


def test_gray_bgr_and_bgra_frames_give_the_same_result() -> None:
    bgr = frame(TAGGED, 2, angle=12.0)
    gray = np.ascontiguousarray(bgr[:, :, 1])
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    decoder = Decoder()  # one decoder, frame after frame, buffers reused
    for image in (bgr, gray, bgra, bgr):
        assert payloads(decoder.decode(image)) == [TAGGED]


def test_two_codes_in_one_image_are_both_reported() -> None:
    a = synthetic.datamatrix(TAGGED, 4)
    b = synthetic.datamatrix(FIXED, 4)
    canvas = np.full((400, 800), 240, np.uint8)
    canvas[50 : 50 + a.shape[0], 50 : 50 + a.shape[1]] = a
    canvas[60 : 60 + b.shape[0], 450 : 450 + b.shape[1]] = b
    assert sorted(payloads(decode_image(canvas))) == sorted([TAGGED, FIXED])


def test_gs1_datamatrix_is_reported_as_such_and_refused(context: ParseContext) -> None:
    canvas = np.pad(synthetic.datamatrix(GS1, 4, gs1=True), 30, constant_values=255)
    [symbol] = decode_image(canvas)
    assert symbol.symbology == "]d2"
    result = context.parse(symbol.data, TODAY, symbology=symbol.symbology)
    assert not result.valid
    assert result.error_codes() == [ErrorCode.GS1_CODE.value]


def test_qr_code_is_reported_and_refused_as_wrong_symbology(context: ParseContext) -> None:
    canvas = np.pad(synthetic.qrcode(TAGGED.decode("latin-1"), 4), 30, constant_values=255)
    [symbol] = decode_image(canvas)
    assert symbol.format == "QRCode"
    assert symbol.symbology == "]Q1"
    result = context.parse(symbol.data, TODAY, symbology=symbol.symbology)
    assert result.error_codes() == [ErrorCode.WRONG_SYMBOLOGY.value]


def test_image_without_code_gives_nothing() -> None:
    rng = np.random.default_rng(5)
    image = synthetic.place(synthetic.card(np.full((40, 40), 230, np.uint8), rng),
                            synthetic.FRAME_720P, rng)  # fmt: skip
    assert decode_image(image) == []


# --- ECI ----------------------------------------------------------------------------------


def test_non_latin1_payload_reaches_the_parser_as_eci_escapes(context: ParseContext) -> None:
    text = TAGGED.decode().replace("ADH:12345678", "ADH:ÉLISE-Ω7")
    canvas = np.pad(synthetic.datamatrix(text, 4), 30, constant_values=255)
    [symbol] = decode_image(canvas)
    assert symbol.symbology == "]d4"
    # `\nnnnnn` then the bytes in that ECI's character set: exactly the text written
    assert symbol.data[:1] == b"\\"
    eci = int(symbol.data[1:7])
    charsets = {26: "utf-8", 9: "iso8859-7", 17: "iso8859-15", 4: "iso8859-2"}
    assert symbol.data[7:].decode(charsets[eci]) == text
    # the parser reads the text (a member number with É and Ω is then refused as such)
    result = context.parse(symbol.data, TODAY, symbology=symbol.symbology)
    assert result.error_codes() == ["bad_member_number"]
    assert result.amc_number == "0775627391"


def test_binary_eci_is_plain_bytes_with_ecc200() -> None:
    data = b"AMCTP01\x1dADH:A\\B"  # a backslash, which the ECI protocol doubles
    canvas = np.pad(synthetic.datamatrix(data, 4, binary=True), 30, constant_values=255)
    [symbol] = decode_image(canvas)
    assert (symbol.symbology, symbol.data) == ("]d1", data)
    assert symbol.extra.get("aim_read") == "]d4"


def test_normalise_keeps_escapes_for_a_real_character_set_and_folds_dmre() -> None:
    assert normalise("]d4", b"\\000026AB\\\\C") == ("]d4", b"\\000026AB\\\\C")
    assert normalise("]d4", b"\\000003AB\\\\C") == ("]d1", b"AB\\C")
    assert normalise("]d7", b"ABC") == ("]d1", b"ABC")
    assert normalise("]dA", b"\\000899ABC") == ("]d1", b"ABC")
    assert normalise("]Q1", b"x") == ("]Q1", b"x")


# --- libdmtx ------------------------------------------------------------------------------


@pytest.mark.skipif(not libdmtx.AVAILABLE, reason="libdmtx0b is not installed")
@pytest.mark.parametrize(
    ("content", "binary", "symbology", "expected"),
    [
        (TAGGED, False, "]d1", TAGGED),
        (TAGGED, True, "]d1", TAGGED),  # ECI 899: libdmtx alone would give b"01\n" + payload
        ("AMCTP01\x1dADH:Élise€", False, "]d4", None),
    ],
    ids=["plain", "binary-eci", "latin9-eci"],
)
def test_libdmtx_gives_the_same_bytes_and_identifier_as_zxing(
    content: bytes | str, binary: bool, symbology: str, expected: bytes | None
) -> None:
    canvas = np.pad(synthetic.datamatrix(content, 4, binary=binary), 30, constant_values=255)
    [ours] = libdmtx.decode(canvas, timeout_ms=2000)
    [theirs] = decode_image(canvas, DecodeOptions(libdmtx=False))
    assert (ours.symbology, ours.data) == (theirs.symbology, theirs.data)
    assert ours.symbology == symbology
    if expected is not None:
        assert ours.data == expected


@pytest.mark.skipif(not libdmtx.AVAILABLE, reason="libdmtx0b is not installed")
@pytest.mark.parametrize(
    "content",
    [
        "lower case text goes into the Text encodation 123",  # Text
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEF",  # C40
        "*>ABC>DEF*GHI>JKL*MNO>PQR*STU>",  # X12
        ".:/ABC.:/DEF.:/GHI.:/JKL.:/MNO.:/PQ",  # EDIFACT
        bytes(range(128, 200)),  # Base 256
        "0123456789" * 5,  # ASCII digit pairs
    ],
    ids=["text", "c40", "x12", "edifact", "base256", "digits"],
)
def test_codeword_decoder_agrees_with_zxing_on_every_encodation(content: str | bytes) -> None:
    canvas = np.pad(synthetic.datamatrix(content, 4), 30, constant_values=255)
    [ours] = libdmtx.decode(canvas, timeout_ms=2000)
    [theirs] = decode_image(canvas, DecodeOptions(libdmtx=False))
    assert (ours.symbology, ours.data) == (theirs.symbology, theirs.data)


@pytest.mark.skipif(not libdmtx.AVAILABLE, reason="libdmtx0b is not installed")
def test_libdmtx_derives_gs1_from_fnc1_first() -> None:
    canvas = np.pad(synthetic.datamatrix(GS1, 4, gs1=True), 30, constant_values=255)
    [symbol] = libdmtx.decode(canvas, timeout_ms=2000)
    assert symbol.symbology == "]d2"
    assert symbol.data.startswith(b"0103400930000019")


def test_codeword_decoder_handles_the_encodation_schemes() -> None:
    # ASCII digits pair (130+12), C40 latch "AIM", unlatch, ASCII "a", pad
    c40 = bytes([230, 0x5B, 0x0B, 254]) + bytes([98, 129])
    message = decode_codewords(bytes([142]) + c40)
    assert message.data == b"12AIMa"
    assert message.symbology == "]d1"
    # FNC1 first: GS1; FNC1 later: GS
    assert decode_codewords(bytes([232, 142, 232, 66])).symbology == "]d2"
    assert decode_codewords(bytes([66, 232, 66])).data == b"A\x1dA"
    # ECI 26 then UTF-8 bytes through Upper Shift
    eci = decode_codewords(bytes([241, 27, 66, 235, 0xC3 - 127]))
    assert (eci.symbology, eci.data) == ("]d4", b"\\000026A\xc3")


# --- time budget --------------------------------------------------------------------------


class FakeClock:
    """Each reading advances time by `step` seconds: every pass looks `step` long."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_no_pass_starts_once_the_budget_is_spent() -> None:
    blank = np.full((120, 160), 200, np.uint8)
    options = DecodeOptions(time_budget_ms=25, passes=("fixed", "local", "equalize", "otsu"))
    decoder = Decoder(options, clock=FakeClock(0.010))
    assert decoder.decode(blank) == []
    # 10 ms per clock reading: the first pass always runs, then only while under 25 ms
    assert decoder.last_passes[0] == "fixed"
    assert "otsu" not in decoder.last_passes
    assert "libdmtx" not in decoder.last_passes  # nothing left for it


def test_every_pass_and_libdmtx_run_when_time_allows_and_nothing_is_found() -> None:
    blank = np.full((120, 160), 200, np.uint8)
    passes = ("fixed", "local", "equalize", "otsu")
    decoder = Decoder(DecodeOptions(time_budget_ms=1000, passes=passes), clock=FakeClock(0.0))
    decoder.decode(blank)
    expected = [*passes, "other_formats", *(["libdmtx"] if libdmtx.AVAILABLE else [])]
    assert decoder.last_passes == expected
    no_other = DecodeOptions(time_budget_ms=1000, passes=passes, all_formats=False, libdmtx=False)
    decoder = Decoder(no_other, clock=FakeClock(0.0))
    decoder.decode(blank)
    assert decoder.last_passes == list(passes)


class CancelAfter:
    """A cancel token set once it has been asked `calls` times (the work checks it between
    steps)."""

    def __init__(self, calls: int) -> None:
        self.left = calls

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0


def test_a_cancelled_decode_starts_no_further_pass() -> None:
    blank = np.full((120, 160), 200, np.uint8)
    passes = ("fixed", "local", "equalize", "refine", "otsu")
    decoder = Decoder(DecodeOptions(time_budget_ms=1000, passes=passes), clock=FakeClock(0.0))
    decoder.decode(blank, cancel=CancelAfter(2))
    assert decoder.last_passes == ["fixed", "local", "equalize"]  # no other_formats, libdmtx
    decoder.decode(blank, cancel=CancelAfter(0))
    assert decoder.last_passes == ["fixed"]  # the first pass was already running
    decoder.decode(blank, cancel=CancelAfter(1000))
    assert decoder.last_passes[: len(passes)] == list(passes)


def test_passes_stop_at_the_first_datamatrix() -> None:
    decoder = Decoder(DecodeOptions(passes=("fixed", "local", "upscale")), clock=FakeClock(0.0))
    assert payloads(decoder.decode(frame(TAGGED, 1))) == [TAGGED]
    assert decoder.last_passes == ["fixed"]


def test_unknown_pass_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown decoder pass"):
        DecodeOptions(passes=("fixed", "magic"))


def test_read_reports_a_located_symbol_it_cannot_read_as_unreadable() -> None:
    """A Data Matrix whose finder pattern is intact but whose data is wiped out is located by
    zxing-cpp and read by no pass: `read` says so, `decode` has no symbol for it."""
    code = synthetic.datamatrix(synthetic.tagged_payload(np.random.default_rng(3)), 6)
    damaged = code.copy()
    h, w = damaged.shape
    damaged[h // 4 : h - h // 4, w // 4 : w - w // 4] = 255  # the middle blank, the edges kept
    image = np.pad(damaged, 40, constant_values=255)
    decoder = Decoder(DecodeOptions(libdmtx=False, all_formats=False))
    reading = decoder.read(image)
    assert reading.symbols == []
    assert len(reading.unreadable) == 1
    xs = [x for x, _ in reading.unreadable[0].position]
    ys = [y for _, y in reading.unreadable[0].position]
    assert min(xs) >= 30 and max(xs) <= 40 + w + 10  # where the code is
    assert min(ys) >= 30 and max(ys) <= 40 + h + 10
    # the same code intact: read, and not reported unreadable
    clean = decoder.read(np.pad(code, 40, constant_values=255))
    assert [s.data for s in clean.symbols] and clean.unreadable == []


def test_files_have_no_time_budget_by_default() -> None:
    """No budget: every pass runs however slow the clock says the machine is."""
    passes = ("fixed", "local", "equalize", "otsu")
    decoder = Decoder(
        DecodeOptions(passes=passes, all_formats=False, libdmtx=False), clock=FakeClock(10.0)
    )
    decoder.decode(np.full((200, 200), 255, np.uint8))
    assert decoder.last_passes == list(passes)


def test_without_a_budget_a_clock_that_jumps_hours_reads_exactly_what_a_normal_clock_reads() -> (
    None
):
    """Files: nothing in the cascade (passes, refine, libdmtx) depends on the wall clock, so a
    saturated machine (here: a clock that says hours pass between two readings) reads the
    same codes, the same unreadable places, with the same passes, as an idle one."""
    rng = np.random.default_rng(2027)
    images = []
    for _ in range(10):
        image, _ = synthetic.camera_frame(synthetic.tagged_payload(rng), rng, severity=1.3)
        images.append(image)
    images.append(damaged_code(6))  # located, read by no pass: every pass, then libdmtx
    normal, jumping = Decoder(), Decoder(clock=FakeClock(3 * 3600.0))
    for image in images:
        a, b = normal.read(image), jumping.read(image)
        assert (a.symbols, a.unreadable, a.passes) == (b.symbols, b.unreadable, b.passes)
    assert all(normal.read(image).symbols for image in images[:-1])
    last = normal.read(images[-1])
    assert last.passes[-1] == "libdmtx"
    assert last.passes[: len(DecodeOptions().passes)] == list(DecodeOptions().passes)


def damaged_code(module_px: int) -> np.ndarray:
    """A Data Matrix whose finder pattern is intact but whose middle is wiped out."""
    code = synthetic.datamatrix(synthetic.tagged_payload(np.random.default_rng(3)), module_px)
    h, w = code.shape
    code[h // 4 : h - h // 4, w // 4 : w - w // 4] = 255
    return np.pad(code, 40, constant_values=255)


def test_a_page_with_a_code_read_reports_unread_codes_of_its_size_not_specks() -> None:
    """A photo of a letter whose code is read: a code of the same size beside it, damaged, is
    reported; a place far smaller than the code read (a line's end, a letter) is not."""
    read = synthetic.datamatrix(TAGGED, 6)
    h, w = read.shape
    page = np.full((h + 80, 2 * w + 200), 255, np.uint8)
    page[40 : 40 + h, 40 : 40 + w] = read
    page[40 : 40 + h, w + 160 : 2 * w + 160] = damaged_code(6)[40:-40, 40:-40]
    decoder = Decoder(DecodeOptions(libdmtx=False, all_formats=False))
    reading = decoder.read(page)
    assert [s.data for s in reading.symbols] == [TAGGED]
    assert len(reading.unreadable) == 1  # the damaged one: a code of the document's size
    from decoders.cascade import _unreadable

    code = DecodedSymbol(b"x", "]d1", "DataMatrix", position=((0, 0), (99, 0), (99, 99), (0, 99)))
    speck = ((300, 300), (330, 300), (330, 330), (300, 330))  # a third of its side
    half = ((500, 500), (560, 500), (560, 560), (500, 560))  # more than half
    assert [u.position for u in _unreadable([speck, half], [], [code], 1)] == [half]
    assert [u.position for u in _unreadable([speck], [], [], 1)] == [speck]  # nothing read: kept


@pytest.mark.skipif(not libdmtx.AVAILABLE, reason="libdmtx0b is not installed")
def test_libdmtx_reports_the_region_it_found_but_could_not_decode() -> None:
    image = damaged_code(4)
    symbols, unread = libdmtx.decode_seeded(image)
    assert symbols == []
    [corners] = unread
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    assert min(xs) >= 30 and max(xs) <= image.shape[1] - 30  # the symbol, not the quiet zone
    assert min(ys) >= 30 and max(ys) <= image.shape[0] - 30
    # a crop of it gives the same place in the caller's pixels
    crop_symbols, crop_unread = libdmtx.decode_seeded(image[20:, 10:], offset=(10, 20))
    assert crop_symbols == []
    for (a, b), (c, d) in zip(crop_unread[0], corners, strict=True):
        assert abs(a - c) <= 3 and abs(b - d) <= 3


@pytest.mark.skipif(not libdmtx.AVAILABLE, reason="libdmtx0b is not installed")
def test_unreadable_is_one_place_for_both_engines_and_none_where_a_code_was_read() -> None:
    """zxing-cpp located it and libdmtx found its region: one `Unreadable` for the place."""
    reading = Decoder().read(damaged_code(4))
    assert reading.passes[-1] == "libdmtx"
    assert [u.evidence for u in reading.unreadable] == ["zxing"]
    # libdmtx's evidence alone (zxing-cpp's candidates not given) is kept as such
    from decoders.cascade import _unreadable

    [corners] = libdmtx.decode_seeded(damaged_code(4))[1]
    assert [u.evidence for u in _unreadable([], [corners, corners], [], 1)] == ["libdmtx"]
    read = DecodedSymbol(b"x", "]d1", "DataMatrix", position=corners)
    assert _unreadable([], [corners], [read], 1) == []
    # a clean code: read, nothing unreadable
    clean = Decoder().read(np.pad(synthetic.datamatrix(TAGGED, 4), 40, constant_values=255))
    assert clean.symbols and clean.unreadable == []
