"""Byte streams (serial lines, replayed serial traffic, the demo scanner) cut into codes.

- `SuffixFramer`: codes end with CR, LF, CR LF or TAB (what the scanner was set to send).
- `IdleFramer`: no suffix; a code ends after `idle_s` of silence.
- `byte_framer(suffix, idle_ms, max_frame_bytes)`: the one a device's configuration asks for.
"""

from __future__ import annotations

from typing import Literal

from scanner_agent.framing.frame import Accumulator, Frame, held_since

SuffixName = Literal["cr", "lf", "crlf", "tab", "none"]
SUFFIXES: dict[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t"}


class SuffixFramer:
    """Codes terminated by a suffix (`b"\\r"`, `b"\\n"`, `b"\\r\\n"`, `b"\\t"`)."""

    def __init__(self, suffix: bytes, max_frame_bytes: int = 4096) -> None:
        if not suffix:
            raise ValueError("a suffix framer needs a suffix; use IdleFramer for none")
        self.suffix = suffix
        self._acc = Accumulator(max_frame_bytes)
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

    def drop(self) -> int:
        """The device went away: the bytes held never got their suffix; forgotten."""
        tail = b"" if self._acc.overflowed else self._tail  # else part of a discarded rest
        held = self._acc.drop() + len(tail)
        self._tail = b""
        return held

    def flush(self, now: float) -> list[Frame]:
        """At a clean stop: what is held is the last code, sent without its suffix."""
        out: list[Frame] = []
        at = held_since(self._acc.last_at, now)
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
        self._acc = Accumulator(max_frame_bytes)

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
        self._acc.end(held_since(self._acc.last_at, now), out)
        return out

    def drop(self) -> int:
        """The device went away before the idle gap ended the code (`poll` first releases a
        code whose gap has passed): forgotten."""
        return self._acc.drop()

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
