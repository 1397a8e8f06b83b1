"""Every example of attestation-payload.md, and every rule it states, as a test."""

from __future__ import annotations

from datetime import date

import pytest

from scanner_agent.attestation import WarningCode
from scanner_agent.parser import MAX_PAYLOAD_BYTES, Stay, parse_payload
from tests.helpers.payloads import GS, Fields, fixed, tagged
from tests.helpers.samples import TODAY
from tests.helpers.samples import VALID_AIM as VALID_TAGGED


def parse(context, data: bytes, at: date = TODAY, stay: Stay | None = None, symbology=None):
    return parse_payload(data, context.layouts, at, context.referential, stay, symbology)


def codes(result) -> list[str]:
    return result.error_codes()


# --- the table of examples -----------------------------------------------------------------


def test_example_tagged_with_aim_and_gs(context):
    r = parse(context, VALID_TAGGED)
    assert r.status == "valid"
    assert r.layout == "tagged"
    assert r.amc_number == "0775627391"
    assert r.convention_types == ["MU"]
    assert r.routing_criterion == ""
    assert r.member_number == "12345678"
    assert (r.valid_from, r.valid_to) == (date(2026, 1, 1), date(2026, 12, 31))
    assert r.errors == [] and r.warnings == []


def test_example_tagged_with_pipes(context):
    r = parse(
        context, b"AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45|DD:20260101|DF:20260630"
    )
    assert r.status == "valid"
    assert r.amc_number == "774734488"  # nine digits: leading zeros are never added
    assert r.convention_types == ["SP", "IS"]
    assert r.routing_criterion == "A2"
    assert r.member_number == "AB-123/45"
    assert r.valid_to == date(2026, 6, 30)


def test_example_fixed(context):
    r = parse(context, b"AMCTPF10775627391MU SP    01 202601012026123112345678")
    assert r.status == "valid"
    assert r.layout == "fixed"
    assert r.amc_number == "0775627391"
    assert r.convention_types == ["MU", "SP"]
    assert r.routing_criterion == "01"
    assert r.member_number == "12345678"
    assert (r.valid_from, r.valid_to) == (date(2026, 1, 1), date(2026, 12, 31))


def test_example_member_number_looks_like_nir(context):
    r = parse(context, tagged(Fields(member_number="1850578006084 91")))
    assert r.status == "valid"
    assert r.member_number == "1850578006084 91"  # kept as printed, never replaced
    assert r.warning_codes() == [WarningCode.MEMBER_NUMBER_LOOKS_LIKE_NIR]


def test_example_bad_amc_number(context):
    r = parse(context, tagged(Fields(amc_number="07756")))
    assert r.status == "invalid"
    assert codes(r) == ["bad_amc_number"]
    assert r.errors[0].field == "amc_number"
    assert r.amc_number is None


def test_example_missing_csr(context):
    r = parse(context, b"AMCTP01\x1dAMC:0775627391\x1dTC:MU\x1dADH:1\x1dDD:20260101\x1dDF:20261231")
    assert codes(r) == ["missing_field"]
    assert r.errors[0].field == "routing_criterion"


def test_example_period_inverted(context):
    r = parse(context, tagged(Fields(valid_from=date(2026, 12, 31), valid_to=date(2026, 1, 1))))
    assert codes(r) == ["period_inverted"]


def test_example_bad_date(context):
    r = parse(context, VALID_TAGGED.replace(b"DD:20260101", b"DD:20260230"))
    assert codes(r) == ["bad_date"]
    assert r.errors[0].field == "valid_from"


def test_example_gs1(context):
    r = parse(context, b"]d2010340093000001917261231101234")
    assert codes(r) == ["gs1_code"]
    assert "GS1" in r.errors[0].message


# --- rules stated in the text ----------------------------------------------------------------


@pytest.mark.parametrize("sep", [GS, "|"])
def test_fields_in_any_order(context, sep):
    order = ["DF", "ADH", "TC", "AMC", "DD", "CSR"]
    r = parse(context, tagged(Fields(routing_criterion="Z9"), sep=sep, order=order))
    assert r.status == "valid"
    assert r.routing_criterion == "Z9"


def test_mixed_separators(context):
    data = b"AMCTP01|AMC:0775627391\x1dTC:MU|CSR:\x1dADH:12|DD:20260101|DF:20261231"
    assert parse(context, data).status == "valid"


def test_duplicate_tag_is_an_error(context):
    r = parse(context, VALID_TAGGED + b"\x1dTC:SP")
    assert codes(r) == ["duplicate_field"]
    assert r.errors[0].field == "convention_types"


def test_unknown_tag_is_a_warning_and_set_aside(context):
    r = parse(context, VALID_TAGGED + b"\x1dXYZ:whatever\x1dXYZ:again")
    assert r.status == "valid"
    assert r.warning_codes() == ["unknown_field"]  # once, however often the tag appears
    assert "whatever" not in r.warnings[0].message


def test_separators_lost_are_recovered_with_a_warning(context):
    r = parse(context, b"AMCTP01AMC:0775627391TC:MUCSR:ADH:12345DD:20260101DF:20261231")
    assert r.status == "valid"
    assert r.warning_codes() == ["separators_recovered"]
    assert r.convention_types == ["MU"]
    assert r.routing_criterion == ""
    assert r.member_number == "12345"


def test_separators_lost_with_values_that_end_like_tags(context):
    # the CSR value "ADH" and the member number "DD" end exactly like tags: still unambiguous,
    # because values never hold the ":" that ends a tag
    data = b"AMCTP01AMC:0775627391TC:SP,ISCSR:ADHADH:DDDD:20260101DF:20261231"
    r = parse(context, data)
    assert r.status == "valid", r.errors
    assert (r.routing_criterion, r.member_number) == ("ADH", "DD")


def test_separators_lost_around_an_unknown_tag_is_ambiguous(context):
    data = b"AMCTP01AMC:0775627391TC:MUXX:1CSR:ADH:12345DD:20260101DF:20261231"
    r = parse(context, data)
    assert "separators_ambiguous" in codes(r)


def test_labels_always_present_even_when_empty(context):
    r = parse(context, tagged(Fields(convention_types=[], routing_criterion="")))
    assert r.status == "valid"
    assert r.convention_types == []
    assert r.routing_criterion == ""


@pytest.mark.parametrize("field", ["amc_number", "member_number"])
def test_required_values_must_be_filled(context, field):
    r = parse(context, tagged(Fields(**{field: ""})))
    assert codes(r) == ["missing_field"]
    assert r.errors[0].field == field


def test_empty_dates_are_missing(context):
    data = VALID_TAGGED.replace(b"DF:20261231", b"DF:")
    r = parse(context, data)
    assert codes(r) == ["missing_field"]
    assert r.errors[0].field == "valid_to"


@pytest.mark.parametrize(
    ("amc", "ok"),
    [
        ("12345678", True),
        ("1234567890", True),
        ("0000000001", True),
        ("1234567", False),
        ("12345678901", False),
        ("12345678A", False),
        (" 12345678", False),
    ],
)
def test_amc_number_rule(context, amc, ok):
    assert (parse(context, tagged(Fields(amc_number=amc))).status == "valid") is ok


@pytest.mark.parametrize(
    ("codes_", "ok"),
    [
        (["MU"], True),
        (["ABC"], True),
        (["A1", "B2", "C3", "D4", "E5"], True),
        (["A1", "B2", "C3", "D4", "E5", "F6"], False),
        (["M"], False),
        (["ABCD"], False),
        (["mu"], False),
        (["MU", ""], False),
    ],
)
def test_convention_type_rule(context, codes_, ok):
    r = parse(context, tagged(Fields(convention_types=codes_)))
    assert (r.status == "valid") is ok
    if not ok:
        assert codes(r) == ["bad_convention_type"]


@pytest.mark.parametrize(
    ("csr", "ok"), [("A", True), ("ABCDEFGHIJ", True), ("ABCDEFGHIJK", False), ("a2", False)]
)
def test_routing_criterion_rule(context, csr, ok):
    r = parse(context, tagged(Fields(routing_criterion=csr)))
    assert (r.status == "valid") is ok
    if not ok:
        assert codes(r) == ["bad_routing_criterion"]


@pytest.mark.parametrize(
    ("member", "ok", "expected"),
    [
        ("AB 12.3-4/5", True, "AB 12.3-4/5"),
        ("  12345  ", True, "12345"),
        ("X" * 30, True, "X" * 30),
        ("X" * 31, False, None),
        ("12_34", False, None),
        ("abc", False, None),
    ],
)
def test_member_number_rule(context, member, ok, expected):
    r = parse(context, tagged(Fields(member_number=member)))
    assert (r.status == "valid") is ok
    assert r.member_number == expected
    if not ok:
        assert codes(r) == ["bad_member_number"]
        assert member.strip() not in r.errors[0].message  # personal data stays out of messages


@pytest.mark.parametrize("bad", ["2026011", "202601011", "20261301", "20260229", "2026-01-01"])
def test_dates_must_be_real_calendar_dates(context, bad):
    r = parse(context, VALID_TAGGED.replace(b"DF:20261231", b"DF:" + bad.encode()))
    assert codes(r) == ["bad_date"]


def test_leap_day_is_a_date(context):
    r = parse(context, tagged(Fields(valid_from=date(2028, 2, 29), valid_to=date(2028, 3, 1))))
    assert r.status == "valid"


def test_same_day_period_is_not_inverted(context):
    day = date(2026, 5, 5)
    assert parse(context, tagged(Fields(valid_from=day, valid_to=day))).status == "valid"


def test_several_errors_are_all_reported(context):
    r = parse(context, tagged(Fields(amc_number="1", member_number="é", convention_types=["x"])))
    assert sorted(codes(r)) == ["bad_amc_number", "bad_convention_type", "bad_member_number"]


# --- bytes level -----------------------------------------------------------------------------


def test_payload_over_512_bytes_is_refused_unparsed(context):
    data = VALID_TAGGED + b"\x1dZZ:" + b"A" * MAX_PAYLOAD_BYTES
    r = parse(context, data)
    assert codes(r) == ["payload_too_long"]
    assert r.layout is None


def test_payload_of_exactly_512_bytes_is_parsed(context):
    base = tagged(Fields())
    data = base + b"|ZZ:" + b"A" * (MAX_PAYLOAD_BYTES - len(base) - 4)
    assert len(data) == MAX_PAYLOAD_BYTES
    assert parse(context, data).status == "valid"


@pytest.mark.parametrize(
    "data",
    [
        b"]d2" + b"0103400930000019",
        b"]d5" + b"01034009300000191726",
        b"\x1d0103400930000019",
        b"\xe80103400930000019",
        b"]C10103400930000019",
        b"010340093000001917261231101234",
        b"(01)03400930000019(17)261231",
    ],
)
def test_gs1_codes_are_refused_as_such(context, data):
    assert codes(parse(context, data)) == ["gs1_code"]


def test_a_short_digit_string_is_not_called_gs1(context):
    assert codes(parse(context, b"0103400930")) == ["not_an_attestation"]


@pytest.mark.parametrize("aim", ["]Q1", "]C0", "]E0"])
def test_other_symbologies_are_refused(context, aim):
    r = parse(context, tagged(Fields(), aim=aim))
    assert codes(r) == ["wrong_symbology"]


def test_symbology_given_apart_from_the_data(context):
    assert parse(context, tagged(Fields()), symbology="]d1").status == "valid"
    assert codes(parse(context, tagged(Fields()), symbology="]Q1")) == ["wrong_symbology"]


def test_fixed_layout_with_aim(context):
    assert parse(context, fixed(Fields(), aim="]d1")).layout == "fixed"


def test_not_an_attestation_shows_only_the_first_bytes_escaped(context):
    secret = b"\x01\x02PATIENT-DUPONT-1234567890"
    r = parse(context, secret)
    assert codes(r) == ["not_an_attestation"]
    message = r.errors[0].message
    assert "\\x01\\x02" in message
    assert "DUPONT" not in message and "1234567890" not in message


def test_empty_payload_is_not_an_attestation(context):
    assert codes(parse(context, b"")) == ["not_an_attestation"]


def test_unknown_version_of_a_known_header_is_not_an_attestation(context):
    r = parse(context, VALID_TAGGED.replace(b"AMCTP01", b"AMCTP02"))
    assert codes(r) == ["not_an_attestation"]


def test_iso_8859_1_without_eci(context):
    # bytes that are not UTF-8 decode as ISO-8859-1: "É" is refused as a member number character,
    # not as an encoding error
    r = parse(context, tagged(Fields()).replace(b"ADH:12345678", b"ADH:\xc9LISE"))
    assert codes(r) == ["bad_member_number"]


def test_utf8_with_eci_26(context):
    # ]d4: ECI 26 (UTF-8) escape, then a payload; a doubled backslash stands for one
    data = b"]d4\\000026" + tagged(Fields(member_number="AB/12"))
    assert parse(context, data).status == "valid"


def test_invalid_utf8_under_eci_26_is_bad_encoding(context):
    data = b"]d4\\000026" + tagged(Fields()) + b"\xff"
    assert codes(parse(context, data)) == ["bad_encoding"]


def test_unknown_eci_is_bad_encoding(context):
    assert codes(parse(context, b"]d4\\000899" + tagged(Fields()))) == ["bad_encoding"]


# --- fixed layout specifics ----------------------------------------------------------------


def test_fixed_truncated_is_missing_fields(context):
    r = parse(context, b"AMCTPF10775627391MU SP    01 2026010120")
    assert "missing_field" in codes(r)
    assert {e.field for e in r.errors} >= {"valid_to", "member_number"}


def test_fixed_blank_slots_mean_no_convention_types(context):
    r = parse(context, fixed(Fields(convention_types=[], routing_criterion="")))
    assert r.status == "valid"
    assert r.convention_types == [] and r.routing_criterion == ""


def test_fixed_bad_amc(context):
    r = parse(context, b"AMCTPF1077562739XMU SP    01 202601012026123112345678")
    assert codes(r) == ["bad_amc_number"]


# --- validity and stay ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (date(2025, 12, 31), "not_yet_valid"),
        (date(2026, 1, 1), "current"),
        (date(2026, 12, 31), "current"),
        (date(2027, 1, 1), "expired"),
    ],
)
def test_validity_state_against_reference_date(context, at, state):
    assert parse(context, tagged(Fields()), at=at).validity.state == state


@pytest.mark.parametrize(
    ("start", "days", "cover"),
    [
        (date(2026, 3, 1), 10, "whole"),
        (date(2026, 12, 25), 6, "whole"),
        (date(2026, 12, 25), 7, "partial"),
        (date(2025, 12, 30), 5, "partial"),
        (date(2027, 1, 1), 3, "none"),
        (date(2025, 12, 1), 10, "none"),
        (date(2026, 12, 31), 0, "whole"),
    ],
)
def test_stay_cover(context, start, days, cover):
    r = parse(context, tagged(Fields()), stay=Stay(start, days))
    assert r.validity.stay == cover


def test_no_stay_no_cover(context):
    assert parse(context, tagged(Fields())).validity.stay is None


def test_invalid_payload_has_no_validity(context):
    r = parse(context, tagged(Fields(amc_number="1")), stay=Stay(TODAY, 1))
    assert r.validity.state is None and r.validity.stay is None


# --- referential ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amc", "status"),
    [
        ("0775627391", "roc"),
        ("775627391", "roc"),
        ("0774734488", "hors_roc"),
        ("0434243085", "roc"),
        ("434243085", "roc"),
        ("12345678", "unknown"),
    ],
)
def test_roc_status_from_referential_with_or_without_leading_zeros(context, amc, status):
    r = parse(context, tagged(Fields(amc_number=amc)))
    assert r.roc.status == status
    assert (r.roc.name is None) is (status == "unknown")


def test_without_referential_roc_is_unknown(layouts):
    r = parse_payload(tagged(Fields()), layouts, TODAY)
    assert r.roc.status == "unknown"
