"""`validate_fields`: the six elements typed by hand, checked with a layout's field rules (the
same rules, codes and messages as a payload's) and judged as a payload is."""

from __future__ import annotations

from datetime import date

import pytest

from scanner_agent.layouts import Layout, layout_from_toml
from scanner_agent.parser import manual_layout, parse_payload, validate_fields
from scanner_agent.referential import Referential
from tests.helpers.samples import FIXED, TODAY
from tests.test_layouts import CUSTOM

TYPED = {
    "amc_number": "0775627391",
    "convention_types": "MU, SP",
    "routing_criterion": "01",
    "member_number": "12345678",
    "valid_from": "01/01/2026",
    "valid_to": "2026-12-31",
}
"""`samples.FIXED` as typed from its card."""


def test_the_rules_are_those_of_the_first_tagged_layout(layouts: list[Layout]) -> None:
    assert [layout.name for layout in layouts] == ["fixed", "tagged"]
    assert manual_layout(layouts).name == "tagged"
    assert manual_layout(layouts[:1]).name == "fixed"


def test_a_layout_named_manual_gives_its_rules(layouts: list[Layout]) -> None:
    own = layout_from_toml(CUSTOM.replace('name = "vendor-x"', 'name = "manual"'))
    assert manual_layout([*layouts, own]) is own
    # its AMC numbers have 9 digits: a typed 10-digit number breaks its rule
    result = validate_fields(TYPED, own, TODAY)
    assert ("bad_amc_number", "amc_number") in [(e.code.value, e.field) for e in result.errors]


def test_the_same_attestation_as_its_code(layouts: list[Layout], referential: Referential) -> None:
    scanned = parse_payload(FIXED, layouts, TODAY, referential, max_age_days=None)
    typed = validate_fields(TYPED, manual_layout(layouts), TODAY, referential, max_age_days=None)
    assert typed.layout == "manual"
    assert typed.model_dump(exclude={"layout"}) == scanned.model_dump(exclude={"layout"})
    assert typed.decision == "covered"


def test_the_same_messages_as_a_payload(layouts: list[Layout]) -> None:
    tagged = manual_layout(layouts)
    payload = b"AMCTP01|AMC:07756|TC:mu|CSR:|ADH:1|DD:20260101|DF:20261231"
    parsed = parse_payload(payload, layouts, TODAY)
    typed = validate_fields(
        {**TYPED, "amc_number": "07756", "convention_types": ["mu"], "member_number": "1"},
        tagged,
        TODAY,
    )
    assert typed.errors == parsed.errors


def test_a_list_for_a_single_element_breaks_its_rule(layouts: list[Layout]) -> None:
    result = validate_fields({**TYPED, "amc_number": ["0775627391"]}, layouts[1], TODAY)
    assert [(e.code.value, e.field) for e in result.errors] == [("bad_amc_number", "amc_number")]


def test_an_unknown_element_is_a_programming_error(layouts: list[Layout]) -> None:
    with pytest.raises(ValueError, match="amc_nubmer"):
        validate_fields({"amc_nubmer": "1"}, layouts[1], date(2026, 3, 1))
