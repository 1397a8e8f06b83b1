"""What a keyboard-mode scanner sends to Windows, as scan codes (set 1): for the Raw Input tests
on every platform (`RAWINPUT` buffers) and under Wine (`SendInput` with `KEYEVENTF_SCANCODE`).

The keys come from the project's own layouts (`keymaps.keys_for`: which key, with which
modifiers, types each character on `us` or `fr`); the scan code of each key is read from the
table below, written from Microsoft's "USB HID to PS/2 Scan Code Translation Table" (Keyboard
Scan Code Specification, appendix C), independently of the driver's own mapping, so that a
test checks the driver's mapping rather than repeats it.
"""

from __future__ import annotations

import struct

from scanner_agent.framing import keymaps

# HID usage (page 0x07) → (set 1 make code, E0-prefixed)
USAGE_TO_SCAN: dict[int, tuple[int, bool]] = {
    0x04: (0x1E, False), 0x05: (0x30, False), 0x06: (0x2E, False), 0x07: (0x20, False),
    0x08: (0x12, False), 0x09: (0x21, False), 0x0A: (0x22, False), 0x0B: (0x23, False),
    0x0C: (0x17, False), 0x0D: (0x24, False), 0x0E: (0x25, False), 0x0F: (0x26, False),
    0x10: (0x32, False), 0x11: (0x31, False), 0x12: (0x18, False), 0x13: (0x19, False),
    0x14: (0x10, False), 0x15: (0x13, False), 0x16: (0x1F, False), 0x17: (0x14, False),
    0x18: (0x16, False), 0x19: (0x2F, False), 0x1A: (0x11, False), 0x1B: (0x2D, False),
    0x1C: (0x15, False), 0x1D: (0x2C, False),
    0x1E: (0x02, False), 0x1F: (0x03, False), 0x20: (0x04, False), 0x21: (0x05, False),
    0x22: (0x06, False), 0x23: (0x07, False), 0x24: (0x08, False), 0x25: (0x09, False),
    0x26: (0x0A, False), 0x27: (0x0B, False),
    0x28: (0x1C, False), 0x29: (0x01, False), 0x2A: (0x0E, False), 0x2B: (0x0F, False),
    0x2C: (0x39, False), 0x2D: (0x0C, False), 0x2E: (0x0D, False), 0x2F: (0x1A, False),
    0x30: (0x1B, False), 0x31: (0x2B, False), 0x32: (0x2B, False), 0x33: (0x27, False),
    0x34: (0x28, False), 0x35: (0x29, False), 0x36: (0x33, False), 0x37: (0x34, False),
    0x38: (0x35, False), 0x64: (0x56, False),
    0x54: (0x35, True), 0x55: (0x37, False), 0x56: (0x4A, False), 0x57: (0x4E, False),
    0x58: (0x1C, True), 0x59: (0x4F, False), 0x5A: (0x50, False), 0x5B: (0x51, False),
    0x5C: (0x4B, False), 0x5D: (0x4C, False), 0x5E: (0x4D, False), 0x5F: (0x47, False),
    0x60: (0x48, False), 0x61: (0x49, False), 0x62: (0x52, False), 0x63: (0x53, False),
}  # fmt: skip
# Modifier bit of a boot report → (set 1 make code, E0-prefixed)
MODIFIER_TO_SCAN: dict[int, tuple[int, bool]] = {
    keymaps.LEFT_CTRL: (0x1D, False),
    keymaps.LEFT_SHIFT: (0x2A, False),
    keymaps.LEFT_ALT: (0x38, False),
    keymaps.LEFT_GUI: (0x5B, True),
    keymaps.RIGHT_CTRL: (0x1D, True),
    keymaps.RIGHT_SHIFT: (0x36, False),
    keymaps.RIGHT_ALT: (0x38, True),  # AltGr
    keymaps.RIGHT_GUI: (0x5C, True),
}

KeyStroke = tuple[int, bool, bool]
"""(make code, E0-prefixed, released)"""


def strokes_for(layout: keymaps.LayoutName, text: str, enter: bool = True) -> list[KeyStroke]:
    """The key strokes a scanner set for `layout` sends to type `text` (and Enter): for each
    character its modifiers down, the key down and up, the modifiers up."""
    out: list[KeyStroke] = []
    for modifiers, usage in keymaps.keys_for(layout, text + ("\r" if enter else "")):
        held = [MODIFIER_TO_SCAN[bit] for bit in MODIFIER_TO_SCAN if modifiers & bit]
        out += [(code, e0, False) for code, e0 in held]
        code, e0 = USAGE_TO_SCAN[usage]
        out += [(code, e0, False), (code, e0, True)]
        out += [(code, e0, True) for code, e0 in reversed(held)]
    return out


RI_KEY_BREAK, RI_KEY_E0, RI_KEY_E1 = 1, 2, 4


def rawinput(
    handle: int,
    make_code: int,
    flags: int = 0,
    pointer_size: int = 8,
    type_: int = 1,
) -> bytes:
    """A `RAWINPUT` as `GetRawInputData` returns it: `RAWINPUTHEADER` (dwType, dwSize, hDevice,
    wParam: 24 bytes on 64-bit Windows, 16 on 32-bit) then `RAWKEYBOARD` (MakeCode, Flags,
    Reserved, VKey, Message, ExtraInformation)."""
    pointer = "Q" if pointer_size == 8 else "I"
    size = 8 + 2 * pointer_size + 16
    message = 0x0101 if flags & RI_KEY_BREAK else 0x0100  # WM_KEYUP / WM_KEYDOWN
    header = struct.pack(f"<II{pointer}{pointer}", type_, size, handle, 1)  # wParam RIM_INPUTSINK
    return header + struct.pack("<HHHHII", make_code, flags, 0, 0x41, message, 0)


def rawinput_strokes(handle: int, strokes: list[KeyStroke]) -> list[bytes]:
    return [
        rawinput(handle, code, (RI_KEY_E0 if e0 else 0) | (RI_KEY_BREAK if up else 0))
        for code, e0, up in strokes
    ]
