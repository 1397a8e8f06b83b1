"""AIM identifiers and ECI: from what an engine read to what the payload parser expects.

Engines report an ECI-carrying symbol in the ISO/IEC 15424 "ECI protocol" form: the identifier
with its ECI modifier (`]d4`), then `\\nnnnnn` before each ECI segment, a literal backslash
doubled. We keep that form only when an ECI actually changes the character set: a symbol whose
ECIs say "ISO-8859-1" (the default of Data Matrix) or "binary" is returned as plain bytes with
the plain identifier, which is what a scanner sends for it.

Data Matrix modifiers (ISO/IEC 16022, and DMRE, ISO/IEC 21471, as zxing-cpp reports them):
`1` ECC200, `2` FNC1 first (GS1), `3` FNC1 second; `4`-`6` the same with ECI. zxing-cpp 3
reports rectangular-extension (DMRE) symbols with `7`-`C` in the same order; their data means
the same, so they are folded onto `1`-`6`.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(rb"\\(\\|[0-9]{6})")
# ECIs under which the bytes mean what they mean without an ECI: ISO-8859-1 (1 and 3, the
# Data Matrix default), binary (899), and US-ASCII (27, 170).
_TRANSPARENT_ECIS = frozenset({1, 3, 27, 170, 899})
_DMRE_MODIFIERS = dict(zip("789ABC", "123456", strict=True))
_WITH_ECI = {"1": "4", "2": "5", "3": "6"}
_WITHOUT_ECI = {v: k for k, v in _WITH_ECI.items()}


def fold_dmre(symbology: str) -> str:
    """`]d7` (DMRE ECC200) → `]d1`; other identifiers unchanged."""
    if len(symbology) == 3 and symbology[1] == "d" and symbology[2] in _DMRE_MODIFIERS:
        return symbology[:2] + _DMRE_MODIFIERS[symbology[2]]
    return symbology


def eci_values(stream: bytes) -> list[int]:
    """The ECI numbers announced in an ECI-protocol `stream` (without its AIM prefix)."""
    return [int(m.group(1)) for m in _ESCAPE.finditer(stream) if m.group(1) != b"\\"]


def unescape(stream: bytes) -> bytes:
    """Drop the `\\nnnnnn` markers and undouble backslashes."""
    return _ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\" else b"", stream)


def normalise(symbology: str | None, stream: bytes) -> tuple[str | None, bytes]:
    """From an identifier and ECI-protocol data to what `scanner_agent.parser` should get.

    `symbology` is the identifier as read (`]d4`, `]dA`, `]Q2`...) and `stream` the data after
    it, ECI escapes included when the identifier says there is an ECI.
    """
    if symbology is None:
        return None, stream
    symbology = fold_dmre(symbology)
    if not symbology.startswith("]d"):
        return symbology, stream
    modifier = symbology[2]
    if modifier not in _WITHOUT_ECI:  # no ECI: the stream is the bytes
        return symbology, stream
    if all(eci in _TRANSPARENT_ECIS for eci in eci_values(stream)):
        return "]d" + _WITHOUT_ECI[modifier], unescape(stream)
    return symbology, stream


def with_eci(symbology: str) -> str:
    """`]d1` → `]d4`: the modifier of the same Data Matrix kind with an ECI."""
    if symbology.startswith("]d") and symbology[2:3] in _WITH_ECI:
        return "]d" + _WITH_ECI[symbology[2]]
    return symbology
