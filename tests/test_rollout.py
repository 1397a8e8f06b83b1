"""The phase of the ROC roll-out (`scanner_agent.rollout`): the rule for known, unknown and
mirror AMCs, with domains and dated histories, through every path that computes a ROC status
(`decide`, `decide_scan_json`, `parse_payload`, `validate_fields`, `ParseContext`), and the
caches never serving an answer of another phase."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from scanner_agent.attestation import Attestation, Roc
from scanner_agent.config import RocSettings
from scanner_agent.decision import Cover, Stay, decide, decide_scan_json
from scanner_agent.layouts import Layout
from scanner_agent.parse_context import ParseContext
from scanner_agent.parser import manual_layout, parse_payload, validate_fields
from scanner_agent.referential import AmcEntry, Referential
from scanner_agent.rollout import PHASES, TRUST_CIRCLE, Rollout
from scanner_agent.scan import Scan
from tests.helpers.samples import BAD_AMC

UPDATED = date(2026, 6, 1)
REFERENTIAL = Referential(
    [
        AmcEntry("0775627391", "Mutuelle A", True, UPDATED, gap_codes=("MA",)),
        AmcEntry("774734488", "Mutuelle B", False, UPDATED, gap_codes=("MB", "MB2")),
        # D: not connected until 31/03, then connected for MCO only
        AmcEntry("0900000011", "Mutuelle D", False, UPDATED, roc_to=date(2026, 3, 31)),
        AmcEntry(
            "0900000011",
            "Mutuelle D",
            True,
            UPDATED,
            roc_from=date(2026, 4, 1),
            domains=("MCO",),
            gap_codes=("MD",),
        ),
        # the mirror AMC, a test AMC connected for MCO and SMR in 2026 only
        AmcEntry(
            "0999999990",
            "AMC miroir",
            True,
            UPDATED,
            roc_from=date(2026, 1, 1),
            roc_to=date(2026, 12, 31),
            domains=("MCO", "SMR"),
            gap_codes=("TEST",),
            test=True,
        ),
    ]
)
MIRROR = "999999990"  # written without the leading zero the referential has
NOT_STARTED = Rollout("not_started")
SUPERVISED = Rollout("supervised", MIRROR)


def payload(amc: str, start: str = "20260101", end: str = "20261231") -> bytes:
    return f"AMCTP01|AMC:{amc}|TC:MU|CSR:|ADH:12345678|DD:{start}|DF:{end}".encode()


def parsed(layouts: list[Layout], amc: str, rollout: Rollout | None, cover: Cover) -> Attestation:
    return parse_payload(
        payload(amc),
        layouts,
        cover.at,
        REFERENTIAL,
        cover.stay,
        domain=cover.domain,
        today=UPDATED,
        rollout=rollout,
    )


# --- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "mirror", "message"),
    [
        ("started", "", "not a ROC phase"),
        ("supervised", "", "needs mirror_amc"),
        ("trust_circle", "12AB", "not an AMC number"),
        ("not_started", "12345678901", "not an AMC number"),
    ],
)
def test_a_bad_rollout_is_refused(phase: Any, mirror: str, message: str):
    with pytest.raises(ValueError, match=message):
        Rollout(phase, mirror)


def test_the_settings_make_the_rollout_and_the_default_is_the_trust_circle():
    assert Rollout.of(RocSettings()) == TRUST_CIRCLE == Rollout("trust_circle", "")
    assert Rollout.of(RocSettings(phase="supervised", mirror_amc=" 0999999990 ")) == Rollout(
        "supervised", "0999999990"
    )
    assert PHASES == ("not_started", "supervised", "trust_circle")


@pytest.mark.parametrize("amc", ["999999990", "0999999990"])
def test_the_mirror_is_matched_without_leading_zeros(amc: str):
    assert SUPERVISED.is_mirror(amc)
    assert Rollout("supervised", "0999999990").is_mirror(amc)
    assert Rollout("supervised", "0042").is_mirror("42")
    assert Rollout("supervised", "42").is_mirror("000042")
    assert not SUPERVISED.is_mirror("999999991")
    assert not SUPERVISED.is_mirror(None)
    assert not TRUST_CIRCLE.is_mirror(amc)


def test_the_rule_on_the_referential_answer():
    listed = Roc(status="hors_roc", reason="not_connected", name="B", domain="SMR", gap_codes=["X"])
    connected = Roc(status="roc", name="A", domain="MCO", gap_codes=["Y"], test=True)
    unknown = Roc(status="unknown", domain="MCO")
    for roc in (listed, connected, unknown):
        assert TRUST_CIRCLE.apply(roc, "123") is roc
        for rollout in (NOT_STARTED, SUPERVISED):
            assert rollout.apply(roc, None) is roc  # no AMC number: as the referential says
            assert rollout.apply(roc, "") is roc
        started = NOT_STARTED.apply(roc, "123")
        assert (started.status, started.reason) == ("hors_roc", "roc_not_started")
        assert (started.name, started.domain, started.gap_codes, started.test) == (
            roc.name,
            roc.domain,
            roc.gap_codes,
            roc.test,
        )
        other = SUPERVISED.apply(roc, "123")
        assert (other.status, other.reason) == ("hors_roc", "supervised_production")
        assert (other.name, other.gap_codes, other.test) == (roc.name, roc.gap_codes, roc.test)
        assert SUPERVISED.apply(roc, "0999999990") is roc


def test_the_phase_in_french():
    assert SUPERVISED.describe() == "production sous surveillance avec l'AMC miroir 999999990"
    assert NOT_STARTED.describe() == "ROC pas encore démarré"
    assert TRUST_CIRCLE.describe() == "cercle de confiance ROC"


# --- through the decision -----------------------------------------------------------------------

MAY_MCO = Cover(date(2026, 5, 4))
MAY_SMR = Cover(date(2026, 5, 4), domain="SMR")
MARCH_MCO = Cover(date(2026, 3, 2))
NEXT_YEAR = Cover(date(2027, 2, 1), Stay(date(2027, 2, 1), 2), "MCO")


def roc_of(attestation: Attestation) -> tuple[str, str | None, str | None, list[str], bool]:
    r = attestation.roc
    return (r.status, r.reason.value if r.reason else None, r.name, r.gap_codes, r.test)


@pytest.mark.parametrize(
    ("amc", "cover", "trust_circle"),
    [
        ("0775627391", MAY_MCO, ("roc", None, "Mutuelle A", ["MA"], False)),
        ("774734488", MAY_MCO, ("hors_roc", "not_connected", "Mutuelle B", ["MB", "MB2"], False)),
        ("900000011", MAY_MCO, ("roc", None, "Mutuelle D", ["MD"], False)),
        ("900000011", MAY_SMR, ("hors_roc", "domain_not_in_roc", "Mutuelle D", ["MD"], False)),
        ("900000011", MARCH_MCO, ("hors_roc", "not_connected", "Mutuelle D", [], False)),
        ("0123456789", MAY_MCO, ("unknown", None, None, [], False)),
        ("0999999990", MAY_MCO, ("roc", None, "AMC miroir", ["TEST"], True)),
        ("999999990", MAY_SMR, ("roc", None, "AMC miroir", ["TEST"], True)),
        ("0999999990", Cover(date(2026, 5, 4), domain="PSY"), None),
        ("0999999990", NEXT_YEAR, None),
    ],
)
def test_every_phase_for_known_unknown_and_mirror_amcs(
    layouts: list[Layout],
    amc: str,
    cover: Cover,
    trust_circle: tuple[str, str | None, str | None, list[str], bool] | None,
):
    listed = parsed(layouts, amc, None, cover)
    if trust_circle is not None:
        assert roc_of(listed) == trust_circle
    assert roc_of(parsed(layouts, amc, TRUST_CIRCLE, cover)) == roc_of(listed)
    _, _, name, gap_codes, test = roc_of(listed)
    assert roc_of(parsed(layouts, amc, NOT_STARTED, cover)) == (
        "hors_roc",
        "roc_not_started",
        name,
        gap_codes,
        test,
    )
    supervised = roc_of(parsed(layouts, amc, SUPERVISED, cover))
    if SUPERVISED.is_mirror(amc):
        assert supervised == roc_of(listed)  # the mirror: what the referential says
    else:
        assert supervised == ("hors_roc", "supervised_production", name, gap_codes, test)
    # the decision does not depend on the phase: only the ROC status does
    for rollout in (NOT_STARTED, SUPERVISED):
        judged = parsed(layouts, amc, rollout, cover)
        assert (judged.decision, judged.reason_codes()) == (
            listed.decision,
            listed.reason_codes(),
        )
        assert judged.roc.domain == cover.domain


def test_the_mirror_out_of_its_period_or_domain_is_what_the_referential_says(
    layouts: list[Layout],
):
    psy = parsed(layouts, "999999990", SUPERVISED, Cover(date(2026, 5, 4), domain="PSY"))
    assert roc_of(psy) == ("hors_roc", "domain_not_in_roc", "AMC miroir", ["TEST"], True)
    later = parsed(layouts, "999999990", SUPERVISED, NEXT_YEAR)
    assert roc_of(later)[:2] == ("hors_roc", "connection_ended")
    assert later.reason_codes() == ["expired", "stay_not_covered", "test_attestation"]


def test_an_amc_absent_from_the_referential_is_unknown_to_the_decision_in_every_phase(
    layouts: list[Layout],
):
    for rollout in (None, TRUST_CIRCLE, NOT_STARTED, SUPERVISED):
        unknown = parsed(layouts, "0123456789", rollout, MAY_MCO)
        assert unknown.decision == "check"
        assert unknown.reason_codes() == ["amc_unknown"]
        known = parsed(layouts, "774734488", rollout, MAY_MCO)
        assert known.reason_codes() == []
        assert known.decision == "covered"
    # a mirror AMC absent from the referential: unknown, as the referential says
    mirror_unknown = Rollout("supervised", "0123456789")
    unknown = parsed(layouts, "123456789", mirror_unknown, MAY_MCO)
    assert roc_of(unknown) == ("unknown", None, None, [], False)
    assert unknown.reason_codes() == ["amc_unknown"]


def test_a_payload_without_an_amc_number_stays_unknown(layouts: list[Layout]):
    for rollout in (NOT_STARTED, SUPERVISED):
        for data in (BAD_AMC, b"not an attestation"):
            refused = parse_payload(data, layouts, MAY_MCO.at, REFERENTIAL, rollout=rollout)
            assert refused.decision == "refused"
            assert refused.roc.status == "unknown"
            assert refused.roc.reason is None


def test_without_a_referential_every_amc_still_follows_the_phase(layouts: list[Layout]):
    alone = parse_payload(payload("0775627391"), layouts, MAY_MCO.at, rollout=NOT_STARTED)
    assert roc_of(alone) == ("hors_roc", "roc_not_started", None, [], False)
    assert alone.reason_codes() == []  # no referential: nothing is called unknown
    mirror = parse_payload(payload(MIRROR), layouts, MAY_MCO.at, rollout=SUPERVISED)
    assert mirror.roc.status == "unknown"


def test_decide_and_validate_fields_apply_the_phase(layouts: list[Layout]):
    read = parsed(layouts, "0775627391", None, MAY_MCO)
    assert read.roc.status == "roc"
    for rollout, reason in (
        (NOT_STARTED, "roc_not_started"),
        (SUPERVISED, "supervised_production"),
    ):
        again = decide(read, MAY_SMR, REFERENTIAL, today=UPDATED, rollout=rollout)
        assert (again.roc.status, again.roc.reason, again.roc.domain) == ("hors_roc", reason, "SMR")
        typed = validate_fields(
            {
                "amc_number": "0775627391",
                "convention_types": "MU",
                "member_number": "12345678",
                "valid_from": "01/01/2026",
                "valid_to": "31/12/2026",
            },
            manual_layout(layouts),
            MAY_MCO.at,
            REFERENTIAL,
            today=UPDATED,
            rollout=rollout,
        )
        assert typed.valid, typed.errors
        assert (typed.roc.status, typed.roc.reason, typed.roc.gap_codes) == (
            "hors_roc",
            reason,
            ["MA"],
        )
    assert decide(read, MAY_MCO, REFERENTIAL, rollout=TRUST_CIRCLE).roc == read.roc


@pytest.mark.parametrize("amc", ["0775627391", "774734488", "900000011", "0123456789", MIRROR])
@pytest.mark.parametrize("rollout", [None, TRUST_CIRCLE, NOT_STARTED, SUPERVISED])
@pytest.mark.parametrize("cover", [MAY_MCO, MAY_SMR, MARCH_MCO, NEXT_YEAR])
def test_a_stored_scan_judged_again_gives_what_the_model_gives_in_every_phase(
    layouts: list[Layout], amc: str, rollout: Rollout | None, cover: Cover
):
    read = parsed(layouts, amc, None, MAY_MCO)  # stored in the trust circle
    scan = Scan(received_at=datetime.now(UTC), device_id="desk", source="serial", attestation=read)
    text = scan.model_dump_json()
    by_json = decide_scan_json(text, cover, REFERENTIAL, today=UPDATED, rollout=rollout)
    by_model = decide(read, cover, REFERENTIAL, today=UPDATED, rollout=rollout)
    assert json.loads(by_json)["attestation"] == json.loads(by_model.model_dump_json())
    # the path that reads the JSON (a text of another shape) too
    odd = json.dumps(json.loads(text), indent=1)
    assert json.loads(decide_scan_json(odd, cover, REFERENTIAL, today=UPDATED, rollout=rollout))[
        "attestation"
    ] == json.loads(by_model.model_dump_json())


# --- the running context: the phase replaced, no cache serves the previous one ------------------


def test_the_context_judges_with_the_phase_in_use_and_no_cache_serves_another(
    layouts: list[Layout],
):
    context = ParseContext(layouts, REFERENTIAL, today=lambda: date(2026, 5, 4))
    assert context.rollout == TRUST_CIRCLE
    stored = [
        Scan(
            received_at=datetime.now(UTC),
            device_id="desk",
            source="serial",
            attestation=context.parse(payload(amc), date(2026, 5, 4)),
        ).model_dump_json()
        for amc in ("0775627391", MIRROR, "0123456789")
    ]
    cover = context.cover()

    def statuses() -> list[tuple[str, str | None]]:
        judged = [
            json.loads(t)["attestation"]["roc"] for t in context.decide_scan_jsons(stored, cover)
        ]
        one = json.loads(context.decide_scan_json(stored[0], cover))["attestation"]["roc"]
        assert (one["status"], one["reason"]) == (judged[0]["status"], judged[0]["reason"])
        return [(r["status"], r["reason"]) for r in judged]

    def parsed_now(amc: str) -> tuple[str, str | None]:
        roc = context.parse(payload(amc), date(2026, 5, 4)).roc
        return roc.status, roc.reason.value if roc.reason else None

    trust = [("roc", None), ("roc", None), ("unknown", None)]
    assert statuses() == trust
    assert statuses() == trust  # read again: from the cache
    context.rollout = SUPERVISED
    other = ("hors_roc", "supervised_production")
    assert statuses() == [other, ("roc", None), other]
    assert parsed_now("0775627391") == ("hors_roc", "supervised_production")
    context.rollout = NOT_STARTED
    assert statuses() == [("hors_roc", "roc_not_started")] * 3
    assert parsed_now(MIRROR) == ("hors_roc", "roc_not_started")
    decided = context.decide(context.parse(payload(MIRROR), date(2026, 5, 4)), cover)
    assert decided.roc.reason == "roc_not_started"
    context.rollout = TRUST_CIRCLE
    assert statuses() == trust
    assert parsed_now("0775627391") == ("roc", None)


def test_the_context_of_settings_takes_the_roc_section(layouts: list[Layout]):
    from scanner_agent.config import load_settings

    settings = load_settings(
        env={"SCANNER_AGENT_ROC__PHASE": '"supervised"', "SCANNER_AGENT_ROC__MIRROR_AMC": '"42"'}
    )
    context = ParseContext.from_settings(settings, REFERENTIAL)
    assert context.rollout == Rollout("supervised", "42")
