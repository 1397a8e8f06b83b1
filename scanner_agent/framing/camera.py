"""Symbols decoded from camera frames: a code held in view is one frame, not one per image; a
code seen but unreadable is said once, then again every few seconds while it stays so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from decoders.base import DecodedSymbol, Reading  # cheap: no numpy, no OpenCV
from scanner_agent.framing.frame import Frame

UNREADABLE_REPEAT_S = 3.0
"""While a place that looks like a Data Matrix stays unread, it is said again this often."""


@dataclass(slots=True)
class _InView:
    first_at: float
    last_at: float


@dataclass
class SymbolTracker:
    """Symbols decoded from successive camera frames to frames: one per appearance.

    Each chunk is one frame's `Reading` (or, equally, the list of its symbols); a frame made
    from a `Reading` carries its decode time (`Frame.decode_ms`).

    A code counts when it comes into view; while it stays (seen again within `gone_after_s`),
    it is the same scan. Gone for longer, it counts again when it comes back.

    Seen but unreadable: a frame whose reading has places that look like a Data Matrix
    (`Reading.unreadable`) and no symbol gives a sighting frame (`Frame.unreadable`, no data)
    when such a place appears (none was seen for `gone_after_s`), then at most every
    `unreadable_repeat_s` while it stays unread; never while a code read from this device is
    still in view (read within `gone_after_s`): the desk already has its scan.
    """

    gone_after_s: float = 1.0
    unreadable_repeat_s: float = UNREADABLE_REPEAT_S
    _seen: dict[tuple[bytes, str | None], _InView] = field(default_factory=dict)
    _unread_seen_at: float | None = None
    _unread_said_at: float | None = None

    def feed(self, chunk: Reading | Sequence[DecodedSymbol], now: float) -> list[Frame]:
        out = self.poll(now)
        symbols = chunk.symbols if isinstance(chunk, Reading) else chunk
        ms = (chunk.ms or None) if isinstance(chunk, Reading) else None  # 0: not measured
        for symbol in symbols:
            key = (symbol.data, symbol.symbology)
            state = self._seen.get(key)
            if state is None:
                self._seen[key] = _InView(now, now)
                out.append(Frame(symbol.data, symbol.symbology, now, decode_ms=ms))
            else:
                state.last_at = now
        if symbols:
            self._unread_seen_at = None
        elif isinstance(chunk, Reading) and chunk.unreadable:
            out += self._unreadable(chunk, now)
        return out

    def _unreadable(self, reading: Reading, now: float) -> list[Frame]:
        if self._seen:  # a code of this device was just read: it is not waiting
            return []
        seen_at, said_at = self._unread_seen_at, self._unread_said_at
        self._unread_seen_at = now
        appears = seen_at is None or now - seen_at > self.gone_after_s
        if not appears and said_at is not None and now - said_at < self.unreadable_repeat_s:
            return []
        self._unread_said_at = now
        places = tuple(tuple(place.position) for place in reading.unreadable)
        return [Frame(b"", None, now, unreadable=places, decode_ms=reading.ms or None)]

    def poll(self, now: float) -> list[Frame]:
        for key in [k for k, s in self._seen.items() if now - s.last_at > self.gone_after_s]:
            del self._seen[key]
        return []

    def flush(self, now: float) -> list[Frame]:
        self.drop()
        return []

    def drop(self) -> int:
        """A symbol is a frame as soon as it is seen: nothing is ever half held."""
        self._seen.clear()
        self._unread_seen_at = self._unread_said_at = None
        return 0

    def deadline(self) -> float | None:
        return None

    def in_view(self) -> int:
        return len(self._seen)
