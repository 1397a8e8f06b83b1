"""Key presses and releases back to boot keyboard reports, for the keyboard backends that see
keys rather than reports (evdev on Linux, Raw Input on Windows).

Both name a key by its Linux input key code (`linux/input-event-codes.h`): evdev gives them, and
Raw Input's scan codes (set 1) become them in `drivers.rawinput`. `BootReports` keeps which keys
and modifiers are down and makes the 8-byte report a scanner's keyboard interface would have
sent (modifiers, reserved, six key usages), so every backend feeds the same `KeyboardFramer`.
"""

from __future__ import annotations

# Linux input key codes (linux/input-event-codes.h) back to HID usages (HID usage tables 0x07).
KEY_TO_USAGE: dict[int, int] = {
    30: 0x04, 48: 0x05, 46: 0x06, 32: 0x07, 18: 0x08, 33: 0x09, 34: 0x0A, 35: 0x0B, 23: 0x0C,
    36: 0x0D, 37: 0x0E, 38: 0x0F, 50: 0x10, 49: 0x11, 24: 0x12, 25: 0x13, 16: 0x14, 19: 0x15,
    31: 0x16, 20: 0x17, 22: 0x18, 47: 0x19, 17: 0x1A, 45: 0x1B, 21: 0x1C, 44: 0x1D,
    2: 0x1E, 3: 0x1F, 4: 0x20, 5: 0x21, 6: 0x22, 7: 0x23, 8: 0x24, 9: 0x25, 10: 0x26, 11: 0x27,
    28: 0x28, 1: 0x29, 14: 0x2A, 15: 0x2B, 57: 0x2C, 12: 0x2D, 13: 0x2E, 26: 0x2F, 27: 0x30,
    43: 0x31, 39: 0x33, 40: 0x34, 41: 0x35, 51: 0x36, 52: 0x37, 53: 0x38, 86: 0x64,
    98: 0x54, 55: 0x55, 74: 0x56, 78: 0x57, 96: 0x58, 79: 0x59, 80: 0x5A, 81: 0x5B, 75: 0x5C,
    76: 0x5D, 77: 0x5E, 71: 0x5F, 72: 0x60, 73: 0x61, 82: 0x62, 83: 0x63,
}  # fmt: skip
KEY_TO_MODIFIER: dict[int, int] = {
    29: 0x01, 42: 0x02, 56: 0x04, 125: 0x08, 97: 0x10, 54: 0x20, 100: 0x40, 126: 0x80,
}  # fmt: skip


class BootReports:
    """Key state to boot reports: `key(code, pressed)` returns the report a change makes.

    A modifier changes the state only (the next key's report carries it); a key pressed again
    while down (autorepeat) or released while up makes no report. `unknown` counts the events
    of keys neither table knows (ignored: a scanner types none of them for a code).
    """

    def __init__(self) -> None:
        self.modifiers = 0
        self.keys: list[int] = []
        self.unknown = 0

    def reset(self) -> None:
        self.modifiers, self.keys = 0, []

    def key(self, code: int, pressed: bool) -> bytes | None:
        bit = KEY_TO_MODIFIER.get(code)
        if bit is not None:
            self.modifiers = self.modifiers | bit if pressed else self.modifiers & ~bit
            return None
        usage = KEY_TO_USAGE.get(code)
        if usage is None:
            self.unknown += 1
            return None
        if pressed and usage not in self.keys:
            self.keys.append(usage)
        elif not pressed and usage in self.keys:
            self.keys.remove(usage)
        else:
            return None
        keys = (self.keys + [0] * 6)[:6]
        return bytes([self.modifiers, 0, *keys])
