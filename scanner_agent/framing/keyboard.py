"""Keyboard-mode scanners: boot keyboard reports typed back into codes with a layout.

`KeyboardFramer` reads each new key press with the configured layout (`keymaps`, beside it) and
with every other known layout, so that the pipeline can tell when the scanner types with a
layout that is not the configured one. `keyboard_reports` makes reports for tests and tools.
"""

from __future__ import annotations

from collections.abc import Iterable

from scanner_agent.framing import keymaps
from scanner_agent.framing.byte_stream import SuffixName
from scanner_agent.framing.frame import Frame, held_since, make_frame
from scanner_agent.framing.keymaps import LayoutName


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
        text = "".join(keymaps.char_for(layout, u, m) for m, u in self._keys)
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
        self._end(held_since(self._last_at, now), out)
        self._held = frozenset()
        return out

    def drop(self) -> int:
        """The device went away before Enter (or the idle gap) ended the code: forgotten."""
        held = 0 if self._overflowed else len(self._keys)
        self._keys.clear()
        self._overflowed = False
        self._last_at = None
        self._held = frozenset()
        return held

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
