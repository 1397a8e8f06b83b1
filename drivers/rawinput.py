"""Keyboard-mode scanners on Windows, through the Raw Input API (issue 18).

Windows opens keyboard HID collections exclusively: hidapi cannot read their input reports. A
message-only window registered for Raw Input (usage page 1, usage 6, `RIDEV_INPUTSINK |
RIDEV_DEVNOTIFY`) receives `WM_INPUT` for every keyboard, with the device's handle, so that the
scanner's keys are kept and the desk keyboard's ignored. The keys still reach the focused
window: Raw Input only listens.

This module imports on every platform (ctypes' Windows parts are touched on Windows only), so
that its pure part, `RAWKEYBOARD` records to boot keyboard reports, is tested everywhere.

Contract (other parts rely on it):

- `RawKeyboard(handle, path, vid, pid, serial_number)`: a keyboard Raw Input sees.
- `list_keyboards() -> list[RawKeyboard]`: every keyboard Raw Input sees (Windows only;
  `DeviceError` elsewhere).
- `parse_device_name(path) -> (vid, pid, serial_number)`: the USB ids in a Raw Input device
  name, `\\\\?\\HID#VID_0C2E&PID_0B61&MI_00#7&1a2b3c&0&0000#{884b96c3-...}`; `None` for what the
  name does not hold (a serial number appears only when the device is not a composite's
  interface: `\\\\?\\HID#VID_..&PID_..#<serial>#{...}` is not guaranteed either, see the code).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from drivers.errors import DeviceError


@dataclass(frozen=True, slots=True)
class RawKeyboard:
    """A keyboard as Raw Input sees it: its handle (what `WM_INPUT` records carry), its device
    name and the USB ids read from that name (lowercase hex, 4 digits; None when absent)."""

    handle: int
    path: str
    vid: str | None
    pid: str | None
    serial_number: str | None


_IDS = re.compile(r"VID_([0-9A-F]{4})&PID_([0-9A-F]{4})", re.IGNORECASE)


def parse_device_name(path: str) -> tuple[str | None, str | None, str | None]:
    """`(vid, pid, serial_number)` read from a Raw Input device name (lowercase hex ids)."""
    found = _IDS.search(path)
    if found is None:
        return None, None, None
    return found.group(1).lower(), found.group(2).lower(), None


def list_keyboards() -> list[RawKeyboard]:
    """Every keyboard Raw Input sees on this Windows session."""
    if sys.platform != "win32":
        raise DeviceError("Raw Input exists on Windows only")
    raise NotImplementedError("issue 18: the Win32 part")  # replaced by the driver's branch


__all__ = ["RawKeyboard", "list_keyboards", "parse_device_name"]
