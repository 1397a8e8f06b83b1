"""HID POS scanned-data reports joined into codes.

Where the symbology identifier, the data and the continuation bit sit in a report
(`HidPosLayout`) is the driver's knowledge: `drivers.hid_pos_layout` reads it from the device's
report descriptor, and the driver hands it to the framer it is paired with.
"""

from __future__ import annotations

from drivers.hid_pos_layout import (
    DEFAULT_HID_POS_LAYOUT,
    HidPosLayout,
    hid_pos_layout_from_descriptor,
)
from scanner_agent.framing.frame import Accumulator, Frame, make_frame

__all__ = [
    "DEFAULT_HID_POS_LAYOUT",
    "HidPosFramer",
    "HidPosLayout",
    "hid_pos_layout_from_descriptor",
]


class HidPosFramer:
    """Reassembles HID POS scanned-data reports: join reports until the continuation bit is
    clear. Reports with another report ID (status, feature echoes) are ignored."""

    def __init__(
        self, layout: HidPosLayout = DEFAULT_HID_POS_LAYOUT, max_frame_bytes: int = 4096
    ) -> None:
        self.layout = layout
        self._acc = Accumulator(max_frame_bytes)
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

    def drop(self) -> int:
        """The device went away before the code's last report: forgotten."""
        self._aim = b""
        return self._acc.drop()

    def flush(self, now: float) -> list[Frame]:
        """At a clean stop, a code whose last report never came: released as it is, marked
        truncated."""
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
