"""Framers: what a device sends, in whatever chunks it arrives, cut into complete codes.

Every framer has the same shape, after httpx's incremental decoders:

    frames = framer.feed(chunk, now)    # the frames this chunk completes
    frames = framer.poll(now)           # the frames that time completes (idle gap), if any
    frames = framer.flush(now)          # whatever is still held, at a clean stop
    dropped = framer.drop()             # the device went away: forget a half code (bytes)
    framer.deadline()                   # when poll() may next release a frame (None: never)

Nothing here reads a clock, a device or a logger: `now` is a monotonic time passed in, so the
50 ms idle gap is tested without sleeping. A `Frame` carries the code's bytes (AIM identifier
split off into `symbology`) and the monotonic time its last byte arrived.

- `byte_stream`: `SuffixFramer` (codes end with CR, LF, CR LF or TAB, what the scanner was set
  to send) and `IdleFramer` (no suffix; a code ends after `idle_s` of silence).
- `hid_pos`: `HidPosFramer`, 64-byte HID POS scanned-data reports joined across continuation
  reports, at the offsets the driver read from the device's report descriptor.
- `keyboard`: `KeyboardFramer`, boot keyboard reports typed with a layout (and the other layout
  kept aside, so that the pipeline can tell when the scanner's layout is not the configured
  one); the layouts themselves are in `keymaps`, beside it.
- `camera`: `SymbolTracker`, symbols decoded from camera frames; a code held in view is one
  frame.
- `frame`: `Frame`, the `Framer` protocol and `make_frame`.

A frame longer than `max_frame_bytes` is cut there, marked `truncated`, and the rest of that
code is discarded up to its end: a runaway line never makes a buffer grow without bound.
"""

from scanner_agent.framing.byte_stream import (
    SUFFIXES,
    IdleFramer,
    SuffixFramer,
    SuffixName,
    byte_framer,
)
from scanner_agent.framing.camera import SymbolTracker
from scanner_agent.framing.frame import Frame, Framer, make_frame
from scanner_agent.framing.hid_pos import (
    DEFAULT_HID_POS_LAYOUT,
    HidPosFramer,
    HidPosLayout,
    hid_pos_layout_from_descriptor,
)
from scanner_agent.framing.keyboard import KeyboardFramer, keyboard_reports

__all__ = [
    "DEFAULT_HID_POS_LAYOUT",
    "SUFFIXES",
    "Frame",
    "Framer",
    "HidPosFramer",
    "HidPosLayout",
    "IdleFramer",
    "KeyboardFramer",
    "SuffixFramer",
    "SuffixName",
    "SymbolTracker",
    "byte_framer",
    "hid_pos_layout_from_descriptor",
    "keyboard_reports",
    "make_frame",
]
