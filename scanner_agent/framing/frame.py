"""The frame every framer returns, the `Framer` protocol, and what the framers share.

`make_frame` turns raw code bytes into a `Frame` (noise before the code and line ends around it
removed, the AIM identifier split off); `Accumulator` is the bounded buffer that cuts a runaway
code at `max_frame_bytes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, TypeVar

from scanner_agent.aim import split_aim

ChunkT_contra = TypeVar("ChunkT_contra", contravariant=True)

Corners = tuple[tuple[int, int], ...]
"""Where something is in a camera frame: its corners, in pixels."""

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

    `unreadable` (cameras): not a code but a sighting. A place that looks like a Data Matrix
    was seen and could not be read (its corners in the frame, one entry per place); `data` is
    empty. The pipeline publishes it as a `code_unreadable` event, never as a scan.

    `decode_ms` (cameras): the milliseconds the image's decode took (`Reading.ms`), counted in
    the scan's indicator with the parse; None for the devices that send the code as bytes.
    """

    data: bytes
    symbology: str | None
    received_at: float
    truncated: bool = False
    alternates: tuple[tuple[str, bytes], ...] = ()
    skipped: int = 0
    unreadable: tuple[Corners, ...] = ()
    decode_ms: float | None = None


class Framer(Protocol[ChunkT_contra]):
    """What a driver's reader loop drives. `ChunkT` is bytes for byte streams and reports."""

    def feed(self, chunk: ChunkT_contra, now: float) -> list[Frame]: ...

    def poll(self, now: float) -> list[Frame]: ...

    def flush(self, now: float) -> list[Frame]: ...

    def drop(self) -> int:
        """The device went away: forget what is held (a code cut off by the unplug, never a
        scan) and return how many bytes (keys, for keyboards) that was; 0 when nothing."""
        ...

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


def held_since(last_at: float | None, now: float) -> float:
    """The time of the last byte of what a framer holds (`now` when it holds nothing)."""
    return now if last_at is None else last_at


class Accumulator:
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

    def drop(self) -> int:
        """Forget the code being gathered; the number of its bytes (0 for the discarded rest of
        a code already cut at `limit`)."""
        held = 0 if self.overflowed else len(self.buf)
        self.buf.clear()
        self.overflowed = False
        self.last_at = None
        return held

    def end(self, now: float, out: list[Frame]) -> None:
        """The code ends here."""
        if not self.overflowed and self.buf:
            frame = make_frame(bytes(self.buf), now)
            if frame is not None:
                out.append(frame)
        self.buf.clear()
        self.overflowed = False
        self.last_at = None
