"""Checks against the printed test card (`scanner-agent testcard`).

- internal: `testcard_parse_check` parses every card payload with the configured layouts
  and referential; each must be read or refused as designed.
- interactive: `match_test_code` recognises which card code a scan is (whatever separators
  or keyboard layout it came through), `card_done` says when the card's attestations have
  all arrived, and `card_checks` judges what the operator scanned.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from scanner_agent.attestation import Attestation
from scanner_agent.framing import Frame
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from scanner_agent.selftest.device_reading import Observed
from scanner_agent.selftest.report import Check, check
from scanner_agent.testcard import FIXED, GS1_MEDICINE, TAGGED, TEST_CODES, TestCode

# The card's GS1 DataMatrix as a scanner sends it (element strings, no parentheses; only the
# last one is variable-length, so no GS is needed).
GS1_WIRE = GS1_MEDICINE.replace("(01)", "01").replace("(17)", "17").replace("(10)", "10").encode()


_CARD_SYMBOLOGY = {"datamatrix": "]d1", "gs1_datamatrix": "]d2", "qrcode": "]Q1"}


def testcard_parse_check(context: ParseContext, today: date) -> Check:
    wrong = []
    for code in TEST_CODES:
        payload = GS1_WIRE if code.symbology == "gs1_datamatrix" else code.payload
        result = context.parse(payload, today, symbology=_CARD_SYMBOLOGY[code.symbology])
        if not outcome_ok(code, result):
            wrong.append(_outcome(code, result))
    if wrong:
        return check("testcard_not_parsed", "fail", "testcard_not_parsed", wrong="; ".join(wrong))
    return check("testcard_parsed", "pass", "testcard_parsed", count=len(TEST_CODES))


def _outcome(code: TestCode, result: Attestation) -> str:
    """`key: expected → got` in codes, the same in every language: `well_formed` for an
    attestation read, else the error codes (`|` between the ones expected)."""
    expected = "well_formed" if code.must_read else "|".join(code.refused_with)
    got = "well_formed" if result.valid else ",".join(result.error_codes())
    return f"{code.key}: {expected} → {got}"


def outcome_ok(code: TestCode, result: Attestation) -> bool:
    if code.must_read:
        return result.valid
    return not result.valid and bool(set(result.error_codes()) & set(code.refused_with))


def _norm(data: bytes) -> bytes:
    """A code with GS and `|` removed: how the card's codes are recognised whatever separators a
    keyboard-mode scanner kept."""
    return data.replace(b"\x1d", b"").replace(b"|", b"")


_EXPECTED = {_norm(TAGGED): "tagged", _norm(FIXED): "fixed"}


def match_test_code(frame: Frame, scan: Scan) -> TestCode | None:
    """The test-card code a scan is, whatever separators or keyboard layout it came through."""
    candidates = [frame.data] + [d for _, d in frame.alternates]
    candidates += [d[3:] for d in list(candidates) if d[:1] == b"]"]
    normal = {_norm(d) for d in candidates}
    for code in TEST_CODES:
        if code.symbology == "gs1_datamatrix":
            if GS1_WIRE in normal:
                return code
        elif _norm(code.payload) in normal:
            return code
    return None


def card_done(scans: list[tuple[Frame, Scan]]) -> bool:
    got = {
        _norm(code.payload) for f, s in scans if (code := match_test_code(f, s)) and code.must_read
    }
    return set(_EXPECTED) <= got


def card_checks(seen: Observed, seconds: float) -> tuple[list[Check], dict[str, Any]]:
    out: list[Check] = []
    got: set[bytes] = set()
    unexpected = 0
    wrong = []
    for frame, scan in seen.scans:
        code = match_test_code(frame, scan)
        if code is None:
            unexpected += 1
            continue
        if code.must_read:
            got.add(_norm(code.payload))
        if not outcome_ok(code, scan.attestation):
            wrong.append(_outcome(code, scan.attestation))
    measurements: dict[str, Any] = {
        "codes": len(seen.scans),
        "first_code_s": None if seen.first_code_s is None else round(seen.first_code_s, 2),
        "complete_s": None if seen.complete_s is None else round(seen.complete_s, 2),
    }
    if unexpected:
        out.append(check("unexpected_code", "fail", "unexpected_code", count=unexpected))
    if wrong:
        out.append(check("testcard_outcome", "fail", "testcard_outcome", wrong="; ".join(wrong)))
    missing = [name for key, name in _EXPECTED.items() if key not in got]
    if missing and seen.chunks:
        out.append(
            check(
                "testcard_incomplete",
                "fail" if not got else "warn",
                "testcard_incomplete",
                seconds=seconds,
                missing=", ".join(missing),
            )
        )
    elif not missing:
        out.append(
            check(
                "testcard_complete",
                "pass",
                "testcard_complete",
                complete_s=round(seen.complete_s or seen.elapsed_s, 3),
                first_s=round(seen.first_code_s or 0.0, 3),
            )
        )
    return out, measurements
