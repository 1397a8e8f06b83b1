"""Framers: what a device sends, in whatever chunks it arrives, cut into complete codes.

Every framer has the same shape, after httpx's incremental decoders:

    frames = framer.feed(chunk, now)    # the frames this chunk completes
    frames = framer.poll(now)           # the frames that time completes (idle gap), if any
    frames = framer.flush(now)          # whatever is still held, at close
    framer.deadline()                   # when poll() may next release a frame (None: never)

Nothing here reads a clock, a device or a logger: `now` is a monotonic time passed in, so the
50 ms idle gap is tested without sleeping. A `Frame` carries the code's bytes (AIM identifier
split off into `symbology`) and the monotonic time its last byte arrived.

- `SuffixFramer`: codes end with CR, LF, CR LF or TAB (what the scanner was set to send).
- `IdleFramer`: no suffix; a code ends after `idle_s` of silence.
- `HidPosFramer`: 64-byte HID POS scanned-data reports, joined across continuation reports.
- `KeyboardFramer`: boot keyboard reports, keys typed with a layout (and the other layout kept
  aside, so that the pipeline can tell when the scanner's layout is not the configured one).
- `SymbolTracker`: symbols decoded from camera frames; a code held in view is one frame.

A frame longer than `max_frame_bytes` is cut there, marked `truncated`, and the rest of that
code is discarded up to its end: a runaway line never makes a buffer grow without bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from drivers import keymaps
from scanner_agent.aim import split_aim

if TYPE_CHECKING:
    from decoders.base import DecodedSymbol
    from drivers.keymaps import LayoutName

ChunkT_contra = TypeVar("ChunkT_contra", contravariant=True)

SuffixName = Literal["cr", "lf", "crlf", "tab", "none"]
SUFFIXES: dict[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t"}

# Bytes that are never the start of a code: line noise, NUL padding, a stray LF of a CR LF
# suffix when the device is configured for CR. GS (0x1D) is kept: a code that starts with it
# is a GS1 product code, which the parser must see to refuse it by name.
_NOISE = frozenset(set(range(0x00, 0x20)) - {0x1D} | {0x7F, 0xFF})
_LINE_ENDS = b"\r\n"
# An AIM identifier this close to the start of a frame that does not begin with one marks where
# the code really starts (what comes before is noise from plugging in or a line glitch).
_AIM_INSIDE = re.compile(rb"\][A-Za-z][0-9]")
_RESYNC_WINDOW = 32


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete code as a device sent it.

    `received_at` is the monotonic time (`time.monotonic()`) the last byte arrived; the pipeline
    turns it into a wall-clock UTC time. `truncated` frames were cut at `max_frame_bytes`.
    `alternates` holds the same keystrokes read with other keyboard layouts, `(layout, data)`.
    `skipped` counts noise bytes dropped before the code.
    """

    data: bytes
    symbology: str | None
    received_at: float
    truncated: bool = False
    alternates: tuple[tuple[str, bytes], ...] = ()
    skipped: int = 0


class Framer(Protocol[ChunkT_contra]):
    """What a driver's reader loop drives. `ChunkT` is bytes for byte streams and reports."""

    def feed(self, chunk: ChunkT_contra, now: float) -> list[Frame]: ...

    def poll(self, now: float) -> list[Frame]: ...

    def flush(self, now: float) -> list[Frame]: ...

    def deadline(self) -> float | None: ...


def make_frame(
    data: bytes,
    received_at: float,
    truncated: bool = False,
    alternates: tuple[tuple[str, bytes], ...] = (),
) -> Frame | None:
    """A frame from raw code bytes: noise before the code and line ends around it removed, the
    AIM identifier split off. None when nothing but noise is left."""
    start = 0
    while start < len(data) and data[start] in _NOISE:
        start += 1
    body = data[start:].rstrip(_LINE_ENDS)
    if not body:
        return None
    symbology, payload = split_aim(body)
    if symbology is None:
        # printable line noise before an AIM identifier: resynchronise on the identifier
        found = _AIM_INSIDE.search(body, 1, _RESYNC_WINDOW)
        if found is not None:
            start += found.start()
            symbology, payload = split_aim(body[found.start() :])
    return Frame(payload, symbology, received_at, truncated, alternates, skipped=start)


def _held_since(last_at: float | None, now: float) -> float:
    """The time of the last byte of what a framer holds (`now` when it holds nothing)."""
    return now if last_at is None else last_at


# --- byte streams (serial, replayed serial) -----------------------------------------------


class _Accumulator:
    """A bounded buffer: past `limit`, the frame is cut once and the rest of it discarded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buf = bytearray()
        self.overflowed = False
        self.last_at: float | None = None

    def add(self, data: bytes | bytearray, now: float, out: list[Frame]) -> None:
        if not data:
            return
        self.last_at = now
        if self.overflowed:
            return
        room = self.limit - len(self.buf)
        if len(data) <= room:
            self.buf += data
            return
        self.buf += data[:room]
        frame = make_frame(bytes(self.buf), now, truncated=True)
        if frame is not None:
            out.append(frame)
        self.buf.clear()
        self.overflowed = True

    def end(self, now: float, out: list[Frame]) -> None:
        """The code ends here."""
        if not self.overflowed and self.buf:
            frame = make_frame(bytes(self.buf), now)
            if frame is not None:
                out.append(frame)
        self.buf.clear()
        self.overflowed = False
        self.last_at = None


class SuffixFramer:
    """Codes terminated by a suffix (`b"\\r"`, `b"\\n"`, `b"\\r\\n"`, `b"\\t"`)."""

    def __init__(self, suffix: bytes, max_frame_bytes: int = 4096) -> None:
        if not suffix:
            raise ValueError("a suffix framer needs a suffix; use IdleFramer for none")
        self.suffix = suffix
        self._acc = _Accumulator(max_frame_bytes)
        self._tail = b""  # a partial suffix at the end of the last chunk (CR of CR LF)

    def feed(self, chunk: bytes, now: float) -> list[Frame]:
        out: list[Frame] = []
        data = self._tail + chunk
        self._tail = b""
        start = 0
        while True:
            end = data.find(self.suffix, start)
            if end < 0:
                break
            self._acc.add(data[start:end], now, out)
            self._acc.last_at = now
            self._acc.end(now, out)
            start = end + len(self.suffix)
        rest = data[start:]
        # keep back a prefix of the suffix, so that CR | LF split across reads still matches
        for keep in range(len(self.suffix) - 1, 0, -1):
            if rest.endswith(self.suffix[:keep]):
                self._tail = rest[-keep:]
                rest = rest[:-keep]
                break
        self._acc.add(rest, now, out)
        return out

    def poll(self, now: float) -> list[Frame]:
        return []

    def flush(self, now: float) -> list[Frame]:
        """At close: what is held is the last code, sent without its suffix."""
        out: list[Frame] = []
        at = _held_since(self._acc.last_at, now)
        if self._tail:
            self._acc.add(self._tail, at, out)
            self._tail = b""
        self._acc.end(at, out)
        return out

    def deadline(self) -> float | None:
        return None


class IdleFramer:
    """Codes with no suffix: a code ends after `idle_s` seconds without a byte."""

    def __init__(self, idle_s: float = 0.05, max_frame_bytes: int = 4096) -> None:
        if idle_s <= 0:
            raise ValueError("idle_s must be positive")
        self.idle_s = idle_s
        self._acc = _Accumulator(max_frame_bytes)

    def feed(self, chunk: bytes, now: float) -> list[Frame]:
        out = self.poll(now)
        self._acc.add(chunk, now, out)
        return out

    def poll(self, now: float) -> list[Frame]:
        out: list[Frame] = []
        last = self._acc.last_at
        if last is not None and now - last >= self.idle_s:
            self._acc.end(last, out)
        return out

    def flush(self, now: float) -> list[Frame]:
        out: list[Frame] = []
        self._acc.end(_held_since(self._acc.last_at, now), out)
        return out

    def deadline(self) -> float | None:
        last = self._acc.last_at
        return None if last is None else last + self.idle_s


def byte_framer(
    suffix: SuffixName, idle_ms: float = 50, max_frame_bytes: int = 4096
) -> SuffixFramer | IdleFramer:
    """The framer a serial-like device's configuration asks for."""
    if suffix == "none":
        return IdleFramer(idle_ms / 1000, max_frame_bytes)
    return SuffixFramer(SUFFIXES[suffix], max_frame_bytes)


# --- HID POS ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HidPosLayout:
    """Where things are in a scanned-data report (offsets count the report ID byte as 0)."""

    report_id: int = 0x02
    length_offset: int | None = 1
    aim_offset: int | None = 2
    aim_length: int = 3
    data_offset: int = 5
    data_capacity: int = 56
    continued_offset: int | None = 63
    continued_mask: int = 0x01


DEFAULT_HID_POS_LAYOUT = HidPosLayout()


class HidPosFramer:
    """Reassembles HID POS scanned-data reports: join reports until the continuation bit is
    clear. Reports with another report ID (status, feature echoes) are ignored."""

    def __init__(
        self, layout: HidPosLayout = DEFAULT_HID_POS_LAYOUT, max_frame_bytes: int = 4096
    ) -> None:
        self.layout = layout
        self._acc = _Accumulator(max_frame_bytes)
        self._aim = b""
        self.ignored_reports = 0

    def feed(self, chunk: bytes, now: float) -> list[Frame]:
        lay = self.layout
        out: list[Frame] = []
        if not chunk or chunk[0] != lay.report_id:
            self.ignored_reports += 1
            return out
        capacity = max(0, min(lay.data_capacity, len(chunk) - lay.data_offset))
        if lay.length_offset is not None and lay.length_offset < len(chunk):
            count = min(chunk[lay.length_offset], capacity)
            data = chunk[lay.data_offset : lay.data_offset + count]
        else:
            data = chunk[lay.data_offset : lay.data_offset + capacity].rstrip(b"\x00")
        if self._acc.last_at is None and lay.aim_offset is not None:
            aim = chunk[lay.aim_offset : lay.aim_offset + lay.aim_length]
            self._aim = aim if aim[:1] == b"]" and len(aim) == 3 else b""
        continued = (
            lay.continued_offset is not None
            and lay.continued_offset < len(chunk)
            and bool(chunk[lay.continued_offset] & lay.continued_mask)
        )
        self._acc.last_at = now
        self._acc.add(data, now, out)
        if not continued:
            self._end(now, out)
        return out

    def _end(self, now: float, out: list[Frame]) -> None:
        pending: list[Frame] = []
        self._acc.end(now, pending)
        aim = self._aim.decode("ascii") if self._aim else None
        for frame in pending:
            # the AIM identifier came in its own bytes, not in the data
            if frame.symbology is None and aim:
                out.append(Frame(frame.data, aim, frame.received_at, frame.truncated))
            else:
                out.append(frame)
        self._aim = b""

    def poll(self, now: float) -> list[Frame]:
        return []

    def flush(self, now: float) -> list[Frame]:
        """A code whose last report never came: released as it is, marked truncated."""
        out: list[Frame] = []
        if self._acc.last_at is not None and (self._acc.buf or self._acc.overflowed):
            data = bytes(self._acc.buf)
            self._acc.buf.clear()
            frame = make_frame(data, self._acc.last_at, truncated=True)
            if frame is not None:
                aim = self._aim.decode("ascii") if self._aim else None
                out.append(Frame(frame.data, frame.symbology or aim, frame.received_at, True))
        self._acc.end(now, [])
        self._aim = b""
        return out

    def deadline(self) -> float | None:
        return None


# HID report descriptor items (HID 1.11, 6.2.2): (tag, type) in the high 6 bits of the prefix.
_MAIN_INPUT, _GLOBAL_USAGE_PAGE, _GLOBAL_REPORT_SIZE = 0x80, 0x04, 0x74
_GLOBAL_REPORT_ID, _GLOBAL_REPORT_COUNT, _LOCAL_USAGE = 0x84, 0x94, 0x08
_LOCAL_USAGE_MIN, _LOCAL_USAGE_MAX = 0x18, 0x28
_POS_PAGE = 0x8C
_USAGE_SYMBOLOGY_1, _USAGE_DECODED_DATA, _USAGE_DATA_CONTINUED = 0xFB, 0xFE, 0xFF


def hid_pos_layout_from_descriptor(descriptor: Sequence[int]) -> HidPosLayout | None:
    """Offsets of the scanned-data report, read from a HID report descriptor.

    Finds the input fields on usage page 0x8C: Symbology Identifier 1 (0xFB), Decoded Data
    (0xFE) and Decode Data Continued (0xFF). Returns None when the descriptor does not describe
    them (the caller then keeps the default layout). The length byte, which the descriptor does
    not name, is taken as the 8-bit field just before the symbology identifier when there is one.
    """
    fields = _input_fields(bytes(descriptor))
    by_usage: dict[int, tuple[int, int, int, int]] = {}
    for report_id, bit, size, count, page, usages in fields:
        for index, usage in enumerate(usages):
            if page == _POS_PAGE and usage not in by_usage:
                if len(usages) == count:
                    by_usage[usage] = (report_id, bit + index * size, size, 1)
                else:  # one usage for an array of `count` items
                    by_usage[usage] = (report_id, bit + index * size, size, count)
    data = by_usage.get(_USAGE_DECODED_DATA)
    if data is None or data[2] != 8:
        return None
    report_id, data_bit, _, data_count = data
    prefix = 1 if report_id else 0
    aim = by_usage.get(_USAGE_SYMBOLOGY_1)
    aim_offset = prefix + aim[1] // 8 if aim and aim[0] == report_id else None
    continued = by_usage.get(_USAGE_DATA_CONTINUED)
    cont_offset: int | None = None
    cont_mask = 0x01
    if continued and continued[0] == report_id:
        cont_offset = prefix + continued[1] // 8
        cont_mask = 1 << (continued[1] % 8)
    # the length byte: an unnamed 8-bit field right before the AIM bytes (or the data)
    first = aim_offset if aim_offset is not None else prefix + data_bit // 8
    length_offset = first - 1 if first - 1 >= prefix else None
    return HidPosLayout(
        report_id=report_id,
        length_offset=length_offset,
        aim_offset=aim_offset,
        data_offset=prefix + data_bit // 8,
        data_capacity=data_count,
        continued_offset=cont_offset,
        continued_mask=cont_mask,
    )


def _input_fields(
    descriptor: bytes,
) -> list[tuple[int, int, int, int, int, list[int]]]:
    """(report_id, bit offset, size, count, usage page, usages) of each input main item."""
    out: list[tuple[int, int, int, int, int, list[int]]] = []
    page = size = count = report_id = 0
    usages: list[int] = []
    usage_min: int | None = None
    bits: dict[int, int] = {}
    i = 0
    while i < len(descriptor):
        prefix = descriptor[i]
        if prefix == 0xFE:  # long item: skip it
            length = descriptor[i + 1] if i + 1 < len(descriptor) else 0
            i += 3 + length
            continue
        length = (0, 1, 2, 4)[prefix & 0x03]
        value = int.from_bytes(descriptor[i + 1 : i + 1 + length], "little")
        tag = prefix & 0xFC
        i += 1 + length
        if tag == _GLOBAL_USAGE_PAGE:
            page = value
        elif tag == _GLOBAL_REPORT_SIZE:
            size = value
        elif tag == _GLOBAL_REPORT_COUNT:
            count = value
        elif tag == _GLOBAL_REPORT_ID:
            report_id = value
        elif tag == _LOCAL_USAGE:
            usages.append(value & 0xFFFF)
        elif tag == _LOCAL_USAGE_MIN:
            usage_min = value & 0xFFFF
        elif tag == _LOCAL_USAGE_MAX and usage_min is not None:
            usages.extend(range(usage_min, (value & 0xFFFF) + 1))
            usage_min = None
        elif tag in (_MAIN_INPUT, 0x90, 0xB0, 0xA0, 0xC0):  # input, output, feature, collections
            if tag == _MAIN_INPUT:
                offset = bits.get(report_id, 0)
                out.append((report_id, offset, size, count, page, list(usages)))
                bits[report_id] = offset + size * count
            usages = []
            usage_min = None
    return out


# --- keyboard wedge -----------------------------------------------------------------------


class KeyboardFramer:
    """Boot keyboard reports (modifiers, reserved, six key usages) to typed codes.

    A key counts when it appears in a report (a new press); the all-zero release report and
    keys still held count for nothing. Enter (or Tab) ends a code when the suffix says so; with
    suffix `none` a code ends after `idle_s` without a key. Each frame holds the code typed with
    `layout` and, in `alternates`, with every other known layout.
    """

    def __init__(
        self,
        layout: LayoutName = "us",
        suffix: SuffixName = "cr",
        idle_s: float = 0.05,
        max_frame_bytes: int = 4096,
    ) -> None:
        self._keymaps = keymaps
        self.layout: LayoutName = layout
        self.others: tuple[LayoutName, ...] = tuple(x for x in keymaps.LAYOUTS if x != layout)
        if suffix == "tab":
            self._enders = frozenset({keymaps.TAB})
        elif suffix == "none":
            self._enders = frozenset()
        else:  # a scanner types CR, LF or CR LF as Enter
            self._enders = frozenset({keymaps.ENTER, keymaps.KEYPAD_ENTER})
        self.idle_s = idle_s if suffix == "none" else None
        self.max_frame_bytes = max_frame_bytes
        self._keys: list[tuple[int, int]] = []
        self._held: frozenset[int] = frozenset()
        self._last_at: float | None = None
        self._overflowed = False

    def feed(self, chunk: bytes, now: float) -> list[Frame]:
        out = self.poll(now)
        report = chunk[-8:] if len(chunk) > 8 else chunk  # a report ID byte, when present
        if len(report) < 3:
            return out
        modifiers = report[0]
        pressed = [k for k in report[2:8] if k > 0x03]  # 0x01-0x03: rollover / error codes
        new = [k for k in pressed if k not in self._held]
        self._held = frozenset(pressed)
        for usage in new:
            if usage in self._enders:
                self._last_at = now
                self._end(now, out)
                continue
            self._last_at = now
            if self._overflowed:
                continue
            if len(self._keys) >= self.max_frame_bytes:
                out.extend(self._frames(now, truncated=True))
                self._keys.clear()
                self._overflowed = True
                continue
            self._keys.append((modifiers, usage))
        return out

    def _typed(self, layout: LayoutName) -> bytes:
        text = "".join(self._keymaps.char_for(layout, u, m) for m, u in self._keys)
        return text.encode("latin-1", "replace")

    def _frames(self, at: float, truncated: bool = False) -> list[Frame]:
        alternates = tuple((other, self._typed(other)) for other in self.others)
        frame = make_frame(self._typed(self.layout), at, truncated, alternates)
        if frame is None:
            return []
        return [frame]

    def _end(self, at: float, out: list[Frame]) -> None:
        if self._keys and not self._overflowed:
            out.extend(self._frames(at))
        self._keys.clear()
        self._overflowed = False
        self._last_at = None

    def poll(self, now: float) -> list[Frame]:
        out: list[Frame] = []
        if (
            self.idle_s is not None
            and self._last_at is not None
            and now - self._last_at >= self.idle_s
        ):
            self._end(self._last_at, out)
        return out

    def flush(self, now: float) -> list[Frame]:
        out: list[Frame] = []
        self._end(_held_since(self._last_at, now), out)
        self._held = frozenset()
        return out

    def deadline(self) -> float | None:
        if self.idle_s is None or self._last_at is None:
            return None
        return self._last_at + self.idle_s


def keyboard_reports(presses: Iterable[tuple[int, int]]) -> list[bytes]:
    """Boot reports for key presses `(modifiers, usage)`: each press then a release."""
    out: list[bytes] = []
    for modifiers, usage in presses:
        out.append(bytes([modifiers, 0, usage, 0, 0, 0, 0, 0]))
        out.append(bytes(8))
    return out


# --- camera -------------------------------------------------------------------------------


@dataclass(slots=True)
class _InView:
    first_at: float
    last_at: float


@dataclass
class SymbolTracker:
    """Symbols decoded from successive camera frames to frames: one per appearance.

    A code counts when it comes into view; while it stays (seen again within `gone_after_s`),
    it is the same scan. Gone for longer, it counts again when it comes back.
    """

    gone_after_s: float = 1.0
    _seen: dict[tuple[bytes, str | None], _InView] = field(default_factory=dict)

    def feed(self, chunk: Sequence[DecodedSymbol], now: float) -> list[Frame]:
        out = self.poll(now)
        for symbol in chunk:
            key = (symbol.data, symbol.symbology)
            state = self._seen.get(key)
            if state is None:
                self._seen[key] = _InView(now, now)
                out.append(Frame(symbol.data, symbol.symbology, now))
            else:
                state.last_at = now
        return out

    def poll(self, now: float) -> list[Frame]:
        for key in [k for k, s in self._seen.items() if now - s.last_at > self.gone_after_s]:
            del self._seen[key]
        return []

    def flush(self, now: float) -> list[Frame]:
        self._seen.clear()
        return []

    def deadline(self) -> float | None:
        return None

    def in_view(self) -> int:
        return len(self._seen)
