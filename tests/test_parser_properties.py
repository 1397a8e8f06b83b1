"""Properties: every valid attestation survives encode → parse; no bytes, and no Unicode text
through any shipped layout (as shipped or loosened), ever make it raise."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner_agent.attestation import FIELD_NAMES, Attestation
from scanner_agent.layouts import Layout, check_unique, layout_from_toml
from scanner_agent.parser import parse_payload, validate_fields
from tests.helpers.payloads import GS, Fields, fixed, tagged
from tests.helpers.samples import CONFIG, TODAY

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


# --- arbitrary Unicode through every shipped layout --------------------------------------
#
# A custom layout or keyboard map can let any character reach the field checks: other scripts'
# digits, superscripts (which `str.isdigit()` accepts and `int()` refuses), fullwidth forms.
# Each shipped layout is tried as shipped and loosened the way a hospital might write its own
# (`\d`, `\w`, `.` in the patterns), with text carried as Latin-1 (the default) or as UTF-8
# (ECI 26); the parse never raises and always ends in a decision.

_LOOSE = {
    "amc_number": r"\d{8,10}",
    "convention_types": r"\w{1,3}",
    "routing_criterion": r".{1,10}",
    "member_number": r".{1,30}",
}
_DECISIONS = ("refused", "not_covered", "check", "covered")
_DIGIT_LIKE = "0123456789\u00b2\u00b3\u00b9\u2070\u2074\u2079\u0660\u0669\u06f5\u0966\uff10\uff19"
_NIR_BODY = "1850578006084"


def _loosened(text: str) -> str:
    """A shipped layout file with other name and header, and loose, non-ASCII-minded patterns."""
    head, *blocks = text.split("[[fields]]")
    head = head.replace('name = "', 'name = "loose-', 1).replace('header = "', 'header = "L', 1)
    out = [head]
    for block in blocks:
        name = next(line.split('"')[1] for line in block.splitlines() if line.startswith("name"))
        lines = [line for line in block.splitlines() if not line.startswith("pattern")]
        if name in _LOOSE:
            lines.append(f"pattern = '{_LOOSE[name]}'")
        out.append("\n".join(lines) + "\n")
    return "[[fields]]".join(out)


def _all_layouts() -> list[Layout]:
    texts = sorted((CONFIG / "layouts").glob("*.toml"))
    shipped = [layout_from_toml(p.read_text(encoding="utf-8"), str(p)) for p in texts]
    loose = [layout_from_toml(_loosened(p.read_text(encoding="utf-8")), str(p)) for p in texts]
    check_unique(shipped + loose)
    return shipped + loose


ALL_LAYOUTS = _all_layouts()
unicode_text = st.text(st.characters(codec="utf-8"), max_size=40)
digit_like = st.text(_DIGIT_LIKE, max_size=12)
value = st.one_of(
    unicode_text,
    digit_like,
    st.builds(lambda key: _NIR_BODY + key, st.text(_DIGIT_LIKE, min_size=2, max_size=2)),
)


@st.composite
def unicode_payload(draw, layout: Layout) -> str:
    """The layout's header, then fields of arbitrary text (tagged: known and unknown tags)."""
    if layout.kind == "fixed":
        return layout.header + "".join(draw(st.lists(value, max_size=8)))
    sep = draw(st.sampled_from(layout.separators))
    tags = [rule.tag or "" for rule in layout.fields]
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(tags), unicode_text), value)))
    return layout.header + "".join(f"{sep}{tag}{layout.tag_separator}{v}" for tag, v in pairs)


def _check(result: object) -> None:
    assert isinstance(result, Attestation)
    assert result.decision in _DECISIONS
    assert (result.status == "valid") == (not result.errors)
    if result.amc_number is not None:  # every layout checks it with [0-9] or \\d
        assert result.amc_number.isascii() and result.amc_number.isdigit()
    result.model_dump(mode="json")


@settings(max_examples=400, deadline=None)
@given(data=st.data(), layout=st.sampled_from(ALL_LAYOUTS), as_utf8=st.booleans())
@example(
    data=None,
    layout=next(x for x in ALL_LAYOUTS if x.name == "loose-tagged"),
    as_utf8=False,
).via("superscript NIR key (Latin-1 \\xb9, read by int() before the fix)")
def test_arbitrary_unicode_through_every_layout_never_raises(context, data, layout, as_utf8):
    text = (
        "LAMCTP01|AMC:0775627391|TC:MU|CSR:|ADH:1850578006084\u00b9\u00b9|DD:20260101|DF:20261231"
        if data is None
        else data.draw(unicode_payload(layout))
    )
    if as_utf8:  # ECI 26 (UTF-8), a backslash in the text escaped as the spec says
        payload = b"\\000026" + text.replace("\\", "\\\\").encode("utf-8")
        result = parse_payload(payload, ALL_LAYOUTS, TODAY, context.referential, symbology="]d4")
    else:
        payload = text.encode("latin-1", "replace")
        result = parse_payload(payload, ALL_LAYOUTS, TODAY, context.referential)
    _check(result)


@settings(max_examples=300, deadline=None)
@given(
    layout=st.sampled_from(ALL_LAYOUTS),
    typed=st.fixed_dictionaries(dict.fromkeys(FIELD_NAMES, value)),
)
def test_arbitrary_unicode_typed_by_hand_never_raises(context, layout, typed):
    _check(validate_fields(typed, layout, TODAY, context.referential))
