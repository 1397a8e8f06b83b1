"""AIM symbology identifiers (ISO/IEC 15424): `]` + code letter + modifier, sent before the data.

The identifier says what was read; it is not part of the payload. Data Matrix modifiers follow
ISO/IEC 16022: `]d1` is ECC200, `]d2` is GS1 DataMatrix (FNC1 first), never the other way round.
"""

from __future__ import annotations

import re

_AIM = re.compile(rb"\][A-Za-z][0-9A-Za-z]")

DATAMATRIX_ECC200 = "]d1"

# Identifiers under which an attestation may legitimately arrive (ECC200, with or without ECI).
ATTESTATION_SYMBOLOGIES = frozenset({"]d1", "]d4"})
# GS1 application identifiers in first position: product codes, never attestations.
GS1_SYMBOLOGIES = frozenset({"]d2", "]d5", "]C1", "]e0", "]Q3", "]Q5", "]J1"})
# Identifiers whose data may carry ECI escape sequences (`\nnnnnn`).
ECI_SYMBOLOGIES = frozenset({"]d4", "]d5", "]d6", "]Q2", "]Q4", "]Q6"})

_NAMES = {
    "d": "Data Matrix",
    "Q": "QR Code",
    "C": "Code 128",
    "E": "EAN/UPC",
    "e": "GS1 DataBar",
    "A": "Code 39",
    "I": "Interleaved 2 of 5",
    "L": "PDF417",
    "z": "Aztec",
    "J": "DotCode",
    "X": "another symbology",
}

_DATAMATRIX_MODIFIERS = {
    "0": "Data Matrix ECC 000-140 (obsolete)",
    "1": "Data Matrix ECC200",
    "2": "GS1 DataMatrix (FNC1 in first position)",
    "3": "Data Matrix ECC200 (FNC1 in second position)",
    "4": "Data Matrix ECC200 with ECI",
    "5": "GS1 DataMatrix with ECI",
    "6": "Data Matrix ECC200 (FNC1 in second position) with ECI",
}


def split_aim(data: bytes) -> tuple[str | None, bytes]:
    """Split a leading AIM identifier from `data`: `(b"]d1AMC...")` → `("]d1", b"AMC...")`."""
    if len(data) >= 3 and data[0] == 0x5D and _AIM.match(data):
        return data[:3].decode("ascii"), data[3:]
    return None, data


def is_aim(text: str) -> bool:
    return len(text) == 3 and _AIM.fullmatch(text.encode("ascii", "replace")) is not None


def describe(symbology: str | None) -> str:
    """A readable name for an identifier: `]d2` → `GS1 DataMatrix (FNC1 in first position)`."""
    if not symbology:
        return "unknown symbology (no AIM identifier)"
    letter, modifier = symbology[1:2], symbology[2:3]
    if letter == "d":
        return _DATAMATRIX_MODIFIERS.get(modifier, f"Data Matrix ({symbology})")
    return f"{_NAMES.get(letter, 'symbology')} ({symbology})"


def is_datamatrix(symbology: str | None) -> bool:
    return symbology is not None and symbology.startswith("]d")
