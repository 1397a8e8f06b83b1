"""`scanner_agent.decision`, pure: the verdict's rules, and the JSON path (a stored scan judged
again) giving exactly what the model path gives."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from scanner_agent.attestation import Roc
from scanner_agent.decision import Cover, Stay, decide, decide_scan_json, stay_cover
from scanner_agent.layouts import Layout
from scanner_agent.parser import parse_payload
from scanner_agent.referential import AmcEntry, Referential
from scanner_agent.scan import Scan
from tests.helpers.samples import BAD_AMC, VALID, VALID_PIPE

FRESH = Referential(
    [
        AmcEntry("0775627391", "Mutuelle A", True, date(2026, 6, 1)),
        AmcEntry("774734488", "Mutuelle B", False, date(2026, 6, 1)),
    ]
)
NIR = b"AMCTP01|AMC:0775627391|TC:MU|CSR:|ADH:1850578006084|DD:20260101|DF:20261231"
UNKNOWN = b"AMCTP01|AMC:0123456789|TC:MU|CSR:|ADH:12345678|DD:20260101|DF:20261231"


@pytest.mark.parametrize(
    ("stay", "cover"),
    [
        (Stay(date(2026, 12, 31), 0), "whole"),  # a same-day stay on the last day
        (Stay(date(2027, 1, 1), 0), "none"),
        (Stay(date(2025, 12, 31), 0), "none"),
        (Stay(date(2025, 12, 31), 1), "partial"),  # admitted the day before, out on the first
        (Stay(date(2026, 12, 31), 1), "partial"),
        (Stay(date(2026, 1, 1), 364), "whole"),
    ],
)
def test_stay_cover_counts_admission_and_discharge_days(stay: Stay, cover: str):
    assert stay_cover(date(2026, 1, 1), date(2026, 12, 31), stay) == cover


def test_reasons_are_listed_most_serious_first(layouts: list[Layout]):
    # expired, the stay not covered, the AMC unknown, a NIR-like number, a stale referential
    payload = b"AMCTP01|AMC:0123456789|TC:MU|CSR:|ADH:1850578006084|DD:20260101|DF:20261231"
    result = parse_payload(
        payload,
        layouts,
        date(2027, 2, 1),
        FRESH,
        Stay(date(2027, 2, 1), 3),
        today=date(2027, 2, 1),
        max_age_days=30,
    )
    assert result.decision == "not_covered"
    assert result.reason_codes() == [
        "expired",
        "stay_not_covered",
        "amc_unknown",
        "member_number_looks_like_nir",
        "referential_stale",
    ]
    assert result.patient_message.startswith("Votre attestation est expirée")


def test_without_a_referential_nothing_is_called_unknown_or_stale(layouts: list[Layout]):
    result = parse_payload(VALID, layouts, date(2026, 3, 1))
    assert result.decision == "covered"
    assert result.roc == Roc(status="unknown", domain="MCO")


def test_a_test_amc_asks_to_check(layouts: list[Layout]):
    class TestAmc:
        updated = None

        def lookup(self, amc_number: str | None, at: date, domain: str) -> Roc:
            return Roc(status="roc", name="Miroir", domain=domain, test=True)

        def is_stale(self, today: date, max_age_days: int) -> bool:
            return False

    result = parse_payload(VALID, layouts, date(2026, 3, 1), TestAmc())
    assert result.decision == "check"
    assert result.reason_codes() == ["test_attestation"]


@pytest.mark.parametrize("payload", [VALID, VALID_PIPE, NIR, UNKNOWN, BAD_AMC])
@pytest.mark.parametrize(
    "cover",
    [
        Cover(date(2026, 3, 1)),
        Cover(date(2027, 3, 1), domain="PSY"),
        Cover(date(2025, 3, 1)),
        Cover(date(2026, 12, 30), Stay(date(2026, 12, 30), 4), "SMR"),
        Cover(date(2026, 3, 1), Stay(date(2027, 3, 1), 2)),
    ],
)
def test_a_stored_scan_judged_again_gives_what_the_model_gives(
    layouts: list[Layout], payload: bytes, cover: Cover
):
    read = parse_payload(payload, layouts, date(2026, 6, 1), FRESH, today=date(2026, 6, 1))
    scan = Scan(received_at=datetime.now(UTC), device_id="desk", source="serial", attestation=read)
    today = date(2026, 10, 1)
    by_json = decide_scan_json(scan.model_dump_json(), cover, FRESH, today=today, max_age_days=90)
    by_model = scan.model_copy(
        update={"attestation": decide(read, cover, FRESH, today=today, max_age_days=90)}
    ).model_dump_json()
    assert json.loads(by_json) == json.loads(by_model)
    assert list(json.loads(by_json)) == list(json.loads(by_model))  # same keys, same order


def test_rows_of_older_versions_and_odd_names_are_judged_as_the_model_would(
    layouts: list[Layout], monkeypatch: pytest.MonkeyPatch
):
    odd = Referential([AmcEntry("0775627391", 'Mutuelle "Ô", \\ ,"roc":{', True, date(2026, 6, 1))])
    read = parse_payload(VALID, layouts, date(2026, 6, 1), odd, today=date(2026, 6, 1))
    scan = Scan(received_at=datetime.now(UTC), device_id="desk", source="serial", attestation=read)
    cover = Cover(date(2027, 1, 2), Stay(date(2027, 1, 2), 1), "SMR")
    expected = json.loads(
        scan.model_copy(
            update={"attestation": decide(read, cover, odd, today=date(2027, 1, 2))}
        ).model_dump_json()
    )
    # as served today, claimed, and as an issue 11 row stored it (no decision, no claim keys)
    served = scan.model_dump_json()
    claimed = served.replace('"claimed_by":null', '"claimed_by":"desk-2"')
    old = json.loads(served)
    for key in ("decision", "reasons", "patient_message", "claimed_by", "claimed_at"):
        old["attestation"].pop(key, None)
        old.pop(key, None)
    del old["attestation"]["validity"]["at"]
    old_text = json.dumps(old, ensure_ascii=False, separators=(",", ":"))

    def parsed(*args: object) -> str:
        raise AssertionError("these texts are judged in place, without reading them as JSON")

    monkeypatch.setattr("scanner_agent.decision._decide_parsed", parsed)
    for text in (served, claimed, old_text):
        judged = json.loads(decide_scan_json(text, cover, odd, today=date(2027, 1, 2)))
        assert judged["attestation"] == expected["attestation"], text
        assert judged["id"] == scan.id
    assert json.loads(decide_scan_json(claimed, cover, odd))["claimed_by"] == "desk-2"
