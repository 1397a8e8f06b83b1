"""The shape every decoder shares: an image array and options in, `DecodedSymbol`s out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DecodedSymbol:
    """One code found in an image.

    `data` holds the exact bytes of the symbol (GS kept as 0x1D), never a display text: the
    payload spec, not the decoder, decides the character set. `symbology` is the AIM identifier
    (`]d1`, `]d2` for GS1 DataMatrix, `]Q1`...), `format` a readable name ("DataMatrix").
    """

    data: bytes
    symbology: str | None
    format: str
    position: tuple[tuple[int, int], ...] = ()
    page: int = 1
    decoder: str = ""
    extra: dict[str, str] = field(default_factory=dict)
