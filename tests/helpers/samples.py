"""The sample payloads, dates and paths every test shares: one copy of each.

Parser tests that must not share the parser's assumptions build their payloads from the spec
text instead (`tests.helpers.payloads`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
TODAY = date(2026, 3, 1)
"""The reference date of tests: never the real clock."""

GS = b"\x1d"
VALID = (
    b"AMCTP01"
    + GS
    + GS.join(
        [b"AMC:0775627391", b"TC:MU", b"CSR:", b"ADH:12345678", b"DD:20260101", b"DF:20261231"]
    )
)
"""A tagged attestation with GS separators, valid from 2026-01-01 to 2026-12-31."""
VALID_AIM = b"]d1" + VALID
VALID_TYPED = {
    "amc_number": "0775627391",
    "convention_types": ["MU"],
    "routing_criterion": "",
    "member_number": "12345678",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
}
"""`VALID` as an agent types it from the printed card (`POST /v1/attestations/validate`)."""
"""The same, as a scanner that sends AIM identifiers sends it."""
VALID_PIPE = b"AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45|DD:20260101|DF:20260630"
"""A tagged attestation whose GS were typed as `|` (keyboard-mode scanners), to 2026-06-30."""
FIXED = b"AMCTPF10775627391MU SP    01 202601012026123112345678"
"""The fixed-position layout."""
FIXED_OTHER = b"AMCTPF10775627391MU SP    01 202601012026123187654321"
"""The fixed-position layout, another member."""
BAD_AMC = b"AMCTP01|AMC:07756|TC:MU|CSR:|ADH:42|DD:20260101|DF:20261231"
"""Well-formed but refused: the AMC number is too short."""
LONG = b"AMCTP01|AMC:0775627391|TC:MU,SP,IS|CSR:ABCDEFGHIJ|ADH:LONG MEMBER 1234567890/ABC-99|DD:20260101|DF:20261231"  # noqa: E501
"""A code longer than one HID POS report (56 data bytes)."""
