"""Recognising a French social security number (NIR) where a member number should be.

A NIR is 13 characters (sex, year, month, department, commune, order number) and a 2-digit key
equal to 97 - (number mod 97). For Corsica the department `2A`/`2B` counts as 19/18 in the key.
The member number must never be replaced by the NIR, so the GAP is warned when it looks like one.

Only ASCII digits count: `str.isdigit` also accepts superscripts and the digits of other
scripts, which a custom layout or keyboard map can let through and `int()` refuses or reads.
"""

from __future__ import annotations

import re

_NIR13 = re.compile(
    r"[1-478]"  # sex / kind (3, 4: people born abroad awaiting a number; 7, 8: temporary)
    r"[0-9]{2}"  # year of birth
    r"(?:0[1-9]|1[0-2]|[2-9][0-9])"  # month (20-99: unknown or special cases)
    r"(?:[0-9]{2}|2[AB])"  # department, Corsica included
    r"[0-9]{6}"  # commune (or country) and order number
)
_KEY = re.compile(r"[0-9]{2}")
_SEPARATORS = str.maketrans("", "", " .-/")


def _key_number(nir13: str) -> int:
    return int(nir13.replace("2A", "19").replace("2B", "18"))


def nir_key(nir13: str) -> int:
    """The control key of a 13-character NIR: `nir_key("1850578006084") == 91`."""
    return 97 - _key_number(nir13) % 97


def looks_like_nir(value: str) -> bool:
    """True when `value` (spaces, dots, dashes ignored) is a 13-character NIR, or a 15-character
    NIR whose key is right. A 15-digit number with a wrong key is not a NIR."""
    compact = value.upper().translate(_SEPARATORS)
    if len(compact) == 13:
        return _NIR13.fullmatch(compact) is not None
    if len(compact) == 15:
        body, key = compact[:13], compact[13:]
        return (
            _NIR13.fullmatch(body) is not None
            and _KEY.fullmatch(key) is not None
            and int(key) == nir_key(body)
        )
    return False
