"""Keyboard layouts: which character a HID key usage types, with Shift or AltGr, per layout.

A usage code names a key *position* (0x04 is the key a US keyboard labels `A`), not a
character. A scanner in keyboard mode turns each character of the code into the key that types
it on the layout the scanner is set for; reading the keys back with the same layout gives the
code. Read with the other layout, `1234567890` becomes `&é"'(-è_çà` and `a`/`q`, `z`/`w`,
`m`/`;` swap: the most common field complaint with keyboard-wedge scanners in France.

Each layout maps a usage to `(plain, shift, altgr)`, `""` where the key types nothing. Dead keys
(`^` and `¨` on AZERTY) are read as the character they show: a scanner never composes accents.
Keypad keys (scanners in "numeric keypad" mode) type the same on every layout (Num Lock on).

Used by `KeyboardFramer` (`keyboard.py`, beside this module) to type reports back into codes,
and by tests to type a code into reports (`keys_for`). The keyboard driver does not need it:
it hands the framer raw boot reports.
"""

from __future__ import annotations

from typing import Literal

LayoutName = Literal["us", "fr"]
LAYOUTS: tuple[LayoutName, ...] = ("us", "fr")

ENTER = 0x28
KEYPAD_ENTER = 0x58
TAB = 0x2B

# Modifier bits of byte 0 of a boot keyboard report.
LEFT_CTRL, LEFT_SHIFT, LEFT_ALT, LEFT_GUI = 0x01, 0x02, 0x04, 0x08
RIGHT_CTRL, RIGHT_SHIFT, RIGHT_ALT, RIGHT_GUI = 0x10, 0x20, 0x40, 0x80
SHIFT = LEFT_SHIFT | RIGHT_SHIFT
ALTGR = RIGHT_ALT
CTRL = LEFT_CTRL | RIGHT_CTRL

KeyChars = tuple[str, str, str]

_KEYPAD: dict[int, KeyChars] = {
    0x54: ("/", "/", ""),
    0x55: ("*", "*", ""),
    0x56: ("-", "-", ""),
    0x57: ("+", "+", ""),
    **{0x59 + i: (str(i + 1), str(i + 1), "") for i in range(9)},
    0x62: ("0", "0", ""),
    0x63: (".", ".", ""),
}

_COMMON: dict[int, KeyChars] = {0x2C: (" ", " ", ""), **_KEYPAD}


def _letters(order: str) -> dict[int, KeyChars]:
    return {0x04 + i: (c, c.upper(), "") for i, c in enumerate(order)}


_US: dict[int, KeyChars] = {
    **_letters("abcdefghijklmnopqrstuvwxyz"),
    **{
        0x1E + i: (d, s, "")
        for i, (d, s) in enumerate(zip("1234567890", "!@#$%^&*()", strict=True))
    },
    0x2D: ("-", "_", ""),
    0x2E: ("=", "+", ""),
    0x2F: ("[", "{", ""),
    0x30: ("]", "}", ""),
    0x31: ("\\", "|", ""),
    0x32: ("#", "~", ""),
    0x33: (";", ":", ""),
    0x34: ("'", '"', ""),
    0x35: ("`", "~", ""),
    0x36: (",", "<", ""),
    0x37: (".", ">", ""),
    0x38: ("/", "?", ""),
    0x64: ("\\", "|", ""),
    **_COMMON,
}

# French AZERTY (the PC "fr" layout): letters moved (A<->Q, Z<->W, M on the US `;` key, `,`
# on the US `m` key), digits shifted on the top row, AltGr on the top row for ~#{[|`\^@]}.
_FR_LETTERS = _letters("qbcdefghijkl,noparstuvzxyw")
_FR_LETTERS[0x10] = (",", "?", "")  # the US `m` key
_FR: dict[int, KeyChars] = {
    **_FR_LETTERS,
    0x1E: ("&", "1", ""),
    0x1F: ("é", "2", "~"),
    0x20: ('"', "3", "#"),
    0x21: ("'", "4", "{"),
    0x22: ("(", "5", "["),
    0x23: ("-", "6", "|"),
    0x24: ("è", "7", "`"),
    0x25: ("_", "8", "\\"),
    0x26: ("ç", "9", "^"),
    0x27: ("à", "0", "@"),
    0x2D: (")", "°", "]"),
    0x2E: ("=", "+", "}"),
    0x2F: ("^", "¨", ""),
    0x30: ("$", "£", "¤"),
    0x31: ("*", "µ", ""),
    0x32: ("*", "µ", ""),
    0x33: ("m", "M", ""),
    0x34: ("ù", "%", ""),
    0x35: ("²", "", ""),
    0x36: (";", ".", ""),
    0x37: (":", "/", ""),
    0x38: ("!", "§", ""),
    0x64: ("<", ">", ""),
    **_COMMON,
}

KEYMAPS: dict[LayoutName, dict[int, KeyChars]] = {"us": _US, "fr": _FR}


def other_layout(layout: LayoutName) -> LayoutName:
    return "fr" if layout == "us" else "us"


def char_for(layout: LayoutName, usage: int, modifiers: int) -> str:
    """The character `usage` types on `layout` with `modifiers` held; `""` for none.

    Ctrl (alone) types nothing. Ctrl+Alt is read as AltGr, as Windows does.
    """
    keys = KEYMAPS[layout].get(usage)
    if keys is None:
        return ""
    plain, shifted, altgr = keys
    alt_gr = bool(modifiers & ALTGR) or (bool(modifiers & CTRL) and bool(modifiers & LEFT_ALT))
    if alt_gr:
        return altgr
    if modifiers & (CTRL | LEFT_ALT | LEFT_GUI | RIGHT_GUI):
        return ""
    return shifted if modifiers & SHIFT else plain


def keys_for(layout: LayoutName, text: str) -> list[tuple[int, int]]:
    """The (modifiers, usage) presses that type `text` on `layout` (for tests and the demo).

    Raises `ValueError` for a character the layout cannot type (GS, for one).
    """
    reverse: dict[str, tuple[int, int]] = {}
    for usage, (plain, shifted, altgr) in sorted(KEYMAPS[layout].items(), reverse=True):
        # sorted in reverse so the main keys win over keypad and duplicate keys
        if usage in _KEYPAD:
            continue
        for char, mods in ((altgr, ALTGR), (shifted, LEFT_SHIFT), (plain, 0)):
            if char:
                reverse[char] = (mods, usage)
    out: list[tuple[int, int]] = []
    for char in text:
        if char in {"\r", "\n"}:
            out.append((0, ENTER))
        elif char == "\t":
            out.append((0, TAB))
        elif char in reverse:
            out.append(reverse[char])
        else:
            raise ValueError(f"{char!r} cannot be typed on the {layout!r} layout")
    return out
