"""Data Matrix ECC200 data codewords → bytes, with ECI and FNC1 handled (ISO/IEC 16022, 5.2).

libdmtx 0.7 skips the ECI codeword (241) and emits the ECI number's codewords as if they were
data: a symbol with ECI 899 ("binary") comes out as `b"01\\n" + data`, one with ECI 26 as
`b"\\x1a" + data`. So the libdmtx adapter takes the error-corrected codewords from libdmtx and
decodes them here: all six encodation schemes, ECI, FNC1, Upper Shift and the 05/06 macros.

The result is the ECI-protocol stream of ISO/IEC 15424 (`\\nnnnnn` before each ECI segment, a
backslash doubled) when the symbol has an ECI, the plain bytes otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

_PAD, _LATCH_C40, _LATCH_B256, _FNC1, _STRUCTURED_APPEND, _READER_PROGRAMMING = (
    129, 230, 231, 232, 233, 234
)  # fmt: skip
_UPPER_SHIFT, _MACRO05, _MACRO06, _LATCH_X12, _LATCH_TEXT, _LATCH_EDIFACT, _ECI = (
    235, 236, 237, 238, 239, 240, 241
)  # fmt: skip
_UNLATCH = 254
_GS = 0x1D
_SHIFT2 = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_"
_TEXT_SHIFT3 = b"`ABCDEFGHIJKLMNOPQRSTUVWXYZ{|}~\x7f"
_MACRO_HEADER = {_MACRO05: b"[)>\x1e05\x1d", _MACRO06: b"[)>\x1e06\x1d"}
_MACRO_TRAILER = b"\x1e\x04"

# Data codewords of each ECC200 symbol size (rows, columns): ISO/IEC 16022, Table 7.
DATA_CODEWORDS = {
    (10, 10): 3, (12, 12): 5, (14, 14): 8, (16, 16): 12, (18, 18): 18, (20, 20): 22,
    (22, 22): 30, (24, 24): 36, (26, 26): 44, (32, 32): 62, (36, 36): 86, (40, 40): 114,
    (44, 44): 144, (48, 48): 174, (52, 52): 204, (64, 64): 280, (72, 72): 368, (80, 80): 456,
    (88, 88): 576, (96, 96): 696, (104, 104): 816, (120, 120): 1050, (132, 132): 1304,
    (144, 144): 1558, (8, 18): 5, (8, 32): 10, (12, 26): 16, (12, 36): 22, (16, 36): 32,
    (16, 48): 49,
}  # fmt: skip


class CodewordError(ValueError):
    """The codewords do not form a valid ECC200 data stream."""


@dataclass(frozen=True, slots=True)
class Message:
    data: bytes
    """The bytes, in ECI-protocol form when `eci` is true."""
    eci: bool
    fnc1_first: bool
    """FNC1 in first position: a GS1 Data Matrix."""
    reader_programming: bool = False

    @property
    def symbology(self) -> str:
        base = 2 if self.fnc1_first else 1
        return f"]d{base + 3 if self.eci else base}"


class _Out:
    """Collects segments, so that backslashes can be doubled once we know an ECI is present."""

    def __init__(self) -> None:
        self.segments: list[tuple[int | None, bytearray]] = [(None, bytearray())]

    def push(self, value: int) -> None:
        self.segments[-1][1].append(value & 0xFF)

    def extend(self, data: bytes) -> None:
        self.segments[-1][1].extend(data)

    def eci(self, number: int) -> None:
        self.segments.append((number, bytearray()))

    def result(self, trailer: bytes) -> tuple[bytes, bool]:
        self.extend(trailer)
        if len(self.segments) == 1:
            return bytes(self.segments[0][1]), False
        out = bytearray()
        for number, segment in self.segments:
            if number is not None:
                out += b"\\%06d" % number
            out += bytes(segment).replace(b"\\", b"\\\\")
        return bytes(out), True


def decode_codewords(codewords: bytes) -> Message:
    """Decode the (error-corrected) data codewords of one ECC200 symbol."""
    out = _Out()
    trailer = b""
    fnc1_first = reader_programming = False
    upper = False
    i, n = 0, len(codewords)
    while i < n:
        cw = codewords[i]
        i += 1
        if cw == _PAD:
            break
        if 1 <= cw <= 128:
            out.push(cw - 1 + (128 if upper else 0))
            upper = False
        elif 130 <= cw <= 229:
            out.extend(b"%02d" % (cw - 130))
        elif cw == _FNC1:
            if i == 1 or (i == 4 and codewords[0] == _STRUCTURED_APPEND):
                fnc1_first = True
            else:
                out.push(_GS)
        elif cw == _STRUCTURED_APPEND:
            i += 3  # sequence indicator and two file identification codewords
        elif cw == _READER_PROGRAMMING:
            reader_programming = True
        elif cw == _UPPER_SHIFT:
            upper = True
        elif cw in _MACRO_HEADER:
            out.extend(_MACRO_HEADER[cw])
            trailer = _MACRO_TRAILER
        elif cw == _ECI:
            number, i = _eci_number(codewords, i)
            out.eci(number)
        elif cw in (_LATCH_C40, _LATCH_TEXT):
            i = _c40_text(codewords, i, out, text=cw == _LATCH_TEXT)
        elif cw == _LATCH_X12:
            i = _x12(codewords, i, out)
        elif cw == _LATCH_EDIFACT:
            i = _edifact(codewords, i, out)
        elif cw == _LATCH_B256:
            i = _base256(codewords, i, out)
        elif cw == _UNLATCH and i == n:
            break  # some encoders end with an unlatch in ASCII
        else:
            raise CodewordError(f"codeword {cw} is not valid in ASCII encodation")
    data, eci = out.result(trailer)
    return Message(data, eci, fnc1_first, reader_programming)


def _eci_number(cw: bytes, i: int) -> tuple[int, int]:
    if i >= len(cw):
        raise CodewordError("ECI codeword at the end of the data")
    c1 = cw[i]
    if c1 <= 127:
        return c1 - 1, i + 1
    if c1 <= 191:
        if i + 1 >= len(cw):
            raise CodewordError("truncated ECI number")
        return (c1 - 128) * 254 + (cw[i + 1] - 1) + 127, i + 2
    if i + 2 >= len(cw):
        raise CodewordError("truncated ECI number")
    return (c1 - 192) * 64516 + (cw[i + 1] - 1) * 254 + (cw[i + 2] - 1) + 16383, i + 3


def _triples(cw: bytes, i: int) -> tuple[tuple[int, int, int] | None, int]:
    """The next three C40/Text/X12 values, or None when the segment ends here."""
    if i >= len(cw):
        return None, i
    if cw[i] == _UNLATCH:
        return None, i + 1
    if i + 1 >= len(cw):  # a single codeword left: it is ASCII
        return None, i
    value = cw[i] * 256 + cw[i + 1] - 1
    return (value // 1600, (value // 40) % 40, value % 40), i + 2


def _c40_text(cw: bytes, i: int, out: _Out, *, text: bool) -> int:
    shift, upper = 0, False

    def emit(value: int) -> None:
        nonlocal upper
        out.push(value + (128 if upper else 0))
        upper = False

    while True:
        triple, i = _triples(cw, i)
        if triple is None:
            return i
        for value in triple:
            if shift == 0:
                if value < 3:
                    shift = value + 1
                elif value == 3:
                    emit(0x20)
                elif value < 14:
                    emit(0x30 + value - 4)
                else:
                    emit((0x61 if text else 0x41) + value - 14)
            elif shift == 1:
                emit(value)
                shift = 0
            elif shift == 2:
                if value < len(_SHIFT2):
                    emit(_SHIFT2[value])
                elif value == 27:
                    out.push(_GS)
                elif value == 30:
                    upper = True
                else:
                    raise CodewordError(f"C40/Text shift 2 value {value} is reserved")
                shift = 0
            else:
                if text:
                    emit(_TEXT_SHIFT3[value] if value < len(_TEXT_SHIFT3) else _bad(value))
                else:
                    emit(0x60 + value)
                shift = 0


def _bad(value: int) -> int:
    raise CodewordError(f"value {value} is not valid here")


def _x12(cw: bytes, i: int, out: _Out) -> int:
    specials = {0: 0x0D, 1: 0x2A, 2: 0x3E, 3: 0x20}
    while True:
        triple, i = _triples(cw, i)
        if triple is None:
            return i
        for value in triple:
            if value in specials:
                out.push(specials[value])
            elif value < 14:
                out.push(0x30 + value - 4)
            elif value < 40:
                out.push(0x41 + value - 14)
            else:
                raise CodewordError(f"X12 value {value} is not valid")


def _edifact(cw: bytes, i: int, out: _Out) -> int:
    while i < len(cw):
        if len(cw) - i <= 2:  # fewer than 3 codewords left: back to ASCII
            return i
        chunk = int.from_bytes(cw[i : i + 3], "big")
        i += 3
        for k in range(4):
            value = (chunk >> (18 - 6 * k)) & 0x3F
            if value == 0x1F:  # unlatch: the rest of this codeword group is discarded
                return i - (3 - (k * 6 + 6 + 7) // 8)
            out.push(value | 0x40 if not value & 0x20 else value)
    return i


def _unrandomise_255(value: int, position: int) -> int:
    pseudo = ((149 * position) % 255) + 1
    result = value - pseudo
    return result if result >= 0 else result + 256


def _base256(cw: bytes, i: int, out: _Out) -> int:
    if i >= len(cw):
        raise CodewordError("Base 256 latch at the end of the data")
    d1 = _unrandomise_255(cw[i], i + 1)
    i += 1
    if d1 == 0:
        count = len(cw) - i
    elif d1 < 250:
        count = d1
    else:
        if i >= len(cw):
            raise CodewordError("truncated Base 256 length")
        count = 250 * (d1 - 249) + _unrandomise_255(cw[i], i + 1)
        i += 1
    if i + count > len(cw):
        raise CodewordError("Base 256 segment runs past the data")
    out.extend(bytes(_unrandomise_255(cw[i + k], i + k + 1) for k in range(count)))
    return i + count
