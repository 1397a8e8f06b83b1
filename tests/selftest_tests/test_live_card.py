"""The test-card step over the running agent names each code of the card as the command's
checks tell them apart (the API tests run the step itself: `test_api_selftest_card.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

from scanner_agent.attestation import Attestation
from scanner_agent.framing import Frame
from scanner_agent.scan import Scan
from scanner_agent.selftest import GS1_WIRE, match_test_code
from scanner_agent.selftest.live_card import CARD_GROUPS, card_codes
from scanner_agent.testcard import TEST_CODES

NOTHING = Attestation(status="invalid")


def scanned(data: bytes, attestation: Attestation = NOTHING) -> tuple[Frame, Scan]:
    scan = Scan(
        received_at=datetime.now(UTC), device_id="desk", source="serial", attestation=attestation
    )
    return Frame(data=data, symbology=None, received_at=0.0), scan


def wire(key: str) -> bytes:
    code = next(c for c in TEST_CODES if c.key == key)
    return GS1_WIRE if code.symbology == "gs1_datamatrix" else code.payload


def test_the_groups_are_the_codes_the_checks_tell_apart() -> None:
    told = set()
    for code in TEST_CODES:
        match = match_test_code(*scanned(wire(code.key)))
        assert match is not None
        told.add(match.key)
    assert told == set(CARD_GROUPS)


def test_a_code_read_wrongly_once_stays_wrong() -> None:
    # an attestation of the card refused: not as designed (it must read)
    read_well = Attestation(status="valid")
    assert card_codes([scanned(wire("fixed-050"), read_well)])["fixed-050"] == "as_designed"
    outcome = card_codes(
        [
            scanned(wire("fixed-050")),
            scanned(b"not on the card"),
            scanned(wire("fixed-050"), read_well),  # read well afterwards: still wrong once
        ]
    )
    assert outcome == {
        "tagged-050": "missing",
        "fixed-050": "wrong",
        "gs1": "missing",
        "qr": "missing",
    }
