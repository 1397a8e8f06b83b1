"""Symbols decoded from camera frames: a code held in view is one frame, not one per image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from decoders.base import DecodedSymbol, Reading  # cheap: no numpy, no OpenCV
from scanner_agent.framing.frame import Frame


@dataclass(slots=True)
class _InView:
    first_at: float
    last_at: float


@dataclass
class SymbolTracker:
    """Symbols decoded from successive camera frames to frames: one per appearance.

    Each chunk is one frame's `Reading` (or, equally, the list of its symbols).

    A code counts when it comes into view; while it stays (seen again within `gone_after_s`),
    it is the same scan. Gone for longer, it counts again when it comes back.
    """

    gone_after_s: float = 1.0
    _seen: dict[tuple[bytes, str | None], _InView] = field(default_factory=dict)

    def feed(self, chunk: Reading | Sequence[DecodedSymbol], now: float) -> list[Frame]:
        out = self.poll(now)
        symbols = chunk.symbols if isinstance(chunk, Reading) else chunk
        for symbol in symbols:
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

    def drop(self) -> int:
        """A symbol is a frame as soon as it is seen: nothing is ever half held."""
        self._seen.clear()
        return 0

    def deadline(self) -> float | None:
        return None

    def in_view(self) -> int:
        return len(self._seen)
