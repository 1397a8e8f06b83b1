"""Properties: every valid attestation survives encode → parse; no bytes ever make it raise."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner_agent.parser import parse_payload
from tests.helpers.payloads import GS, Fields, fixed, tagged
from tests.helpers.samples import TODAY

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
code = st.text(ALNUM, min_size=2, max_size=3)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
member = (
    st.text(ALNUM + " ./-", min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda s: s != "" and " " not in s[:1] + s[-1:])
)


@st.composite
def fields(draw, max_codes: int = 5, max_csr: int = 10, amc_len=(8, 10)) -> Fields:
    start = draw(dates)
    return Fields(
        amc_number=draw(st.text("0123456789", min_size=amc_len[0], max_size=amc_len[1])),
        convention_types=draw(st.lists(code, max_size=max_codes)),
        routing_criterion=draw(st.text(ALNUM, max_size=max_csr)),
        member_number=draw(member),
        valid_from=start,
        valid_to=start + timedelta(days=draw(st.integers(0, 3650))),
    )


def same(result, f: Fields) -> None:
    assert result.status == "valid", result.errors
    assert result.convention_types == f.convention_types
    assert result.routing_criterion == f.routing_criterion
    assert result.member_number == f.member_number
    assert (result.valid_from, result.valid_to) == (f.valid_from, f.valid_to)


@settings(max_examples=300, deadline=None)
@given(
    f=fields(),
    sep=st.sampled_from([GS, "|"]),
    aim=st.sampled_from(["", "]d1"]),
    order=st.permutations(["AMC", "TC", "CSR", "ADH", "DD", "DF"]),
)
def test_tagged_round_trip(layouts, f, sep, aim, order):
    result = parse_payload(tagged(f, sep=sep, aim=aim, order=order), layouts, TODAY)
    same(result, f)
    assert result.amc_number == f.amc_number
    assert result.warning_codes() in ([], ["member_number_looks_like_nir"])


@settings(max_examples=200, deadline=None)
@given(f=fields())
def test_tagged_round_trip_without_separators(layouts, f):
    result = parse_payload(tagged(f, sep=""), layouts, TODAY)
    # cutting at the tags is unambiguous for the shipped layout whatever the values are
    same(result, f)
    assert "separators_recovered" in result.warning_codes()


@settings(max_examples=300, deadline=None)
@given(f=fields(max_codes=3, max_csr=3), aim=st.sampled_from(["", "]d1"]))
def test_fixed_round_trip(layouts, f, aim):
    result = parse_payload(fixed(f, aim=aim), layouts, TODAY)
    same(result, f)
    assert result.layout == "fixed"
    assert result.amc_number == f.amc_number.rjust(10, "0")


def _insert(payload: bytes, index: int, extra: bytes) -> bytes:
    return payload[:index] + extra + payload[index:]


payload_like = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from([b"AMCTP01", b"AMCTPF1", b"]d1AMCTP01", b"]d4"]),
        st.binary(max_size=200),
    ),
    st.builds(lambda f, cut: tagged(f)[:cut], fields(), st.integers(0, 120)),
    st.builds(
        lambda f, i, b: _insert(tagged(f), i, b),
        fields(),
        st.integers(0, 100),
        st.binary(min_size=1, max_size=4),
    ),
)


@settings(max_examples=1500, deadline=None)
@given(data=payload_like, at=dates)
def test_arbitrary_bytes_never_raise(context, data, at):
    result = parse_payload(data, context.layouts, at, context.referential)
    assert result.status in ("valid", "invalid")
    assert (result.status == "valid") == (not result.errors)
    if result.status == "invalid":
        assert result.errors and all(e.code and e.message for e in result.errors)
    else:
        assert result.validity.state in ("current", "expired", "not_yet_valid")
    result.model_dump(mode="json")  # always serialisable
