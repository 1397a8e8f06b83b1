"""Layouts are data: a hospital adds one as a file; a bad file is refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner_agent.errors import ConfigError
from scanner_agent.layouts import layout_from_toml, load_layouts
from scanner_agent.parser import parse_payload
from tests.helpers.samples import CONFIG, TODAY

# A layout of the kind a GAP vendor would add: another header, other tags, ";" separators,
# dates as DD/MM/YYYY.
CUSTOM = """
name = "vendor-x"
version = 2
kind = "tagged"
header = "VX2"
separators = [";"]
tag_separator = "="

[[fields]]
name = "amc_number"
tag = "N"
pattern = "[0-9]{9}"
required = true

[[fields]]
name = "convention_types"
tag = "C"
list_separator = "+"
pattern = "[A-Z]{2}"
max_items = 2

[[fields]]
name = "routing_criterion"
tag = "R"
pattern = "[0-9]{1,2}"

[[fields]]
name = "member_number"
tag = "M"
pattern = "[0-9]{4,12}"
required = true

[[fields]]
name = "valid_from"
tag = "F"
date_format = "DD/MM/YYYY"
required = true

[[fields]]
name = "valid_to"
tag = "T"
date_format = "DD/MM/YYYY"
required = true
"""


def test_shipped_layouts_load():
    layouts = load_layouts([CONFIG / "layouts"])
    assert sorted(layout.name for layout in layouts) == ["fixed", "tagged"]


def test_a_layout_dropped_in_a_folder_is_used(tmp_path: Path):
    (tmp_path / "vendor-x.toml").write_text(CUSTOM)
    layouts = load_layouts([CONFIG / "layouts", tmp_path])
    r = parse_payload(
        b"VX2;N=774734488;C=MU+SP;R=7;M=000123;F=01/01/2026;T=31/12/2026", layouts, TODAY
    )
    assert r.status == "valid", r.errors
    assert r.layout == "vendor-x"
    assert (r.convention_types, r.routing_criterion, r.member_number) == (
        ["MU", "SP"],
        "7",
        "000123",
    )
    assert r.valid_to.isoformat() == "2026-12-31"
    # the shipped layouts still work beside it
    assert (
        parse_payload(
            b"AMCTPF10775627391MU SP    01 202601012026123112345678", layouts, TODAY
        ).layout
        == "fixed"
    )


def test_custom_date_format_rejects_other_shapes(tmp_path: Path):
    layout = layout_from_toml(CUSTOM)
    r = parse_payload(b"VX2;N=774734488;C=;R=;M=0001;F=2026-01-01;T=31/12/2026", [layout], TODAY)
    assert r.error_codes() == ["bad_date"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('kind = "tagged"', 'kind = "xml"'), "kind"),
        (
            lambda t: t.replace('name = "valid_to"\ntag = "T"', 'name = "valid_until"\ntag = "T"'),
            "fields.5.name",
        ),
        (lambda t: t.split('[[fields]]\nname = "valid_to"')[0], "missing: valid_to"),
        (lambda t: t.replace('pattern = "[0-9]{9}"', 'pattern = "[0-9"'), "regular expression"),
        (lambda t: t.replace('tag = "R"', 'tag = "N"'), "share a tag"),
        (lambda t: t.replace('date_format = "DD/MM/YYYY"', 'date_format = "DD/MM"', 1), "YYYY"),
        (lambda t: t.replace('separators = [";"]', "separators = []"), "separators"),
        (lambda t: t + '\ncolour = "blue"\n', "colour"),
        (lambda t: t.replace("max_items = 2", "max_items = 0"), "max_items"),
        (lambda t: t.replace('list_separator = "+"', ""), "list"),
        (lambda t: t.replace("version = 2", "version = [2"), "not valid TOML"),
    ],
)
def test_bad_layout_files_are_refused_naming_file_and_key(tmp_path: Path, change, message):
    path = tmp_path / "broken.toml"
    path.write_text(change(CUSTOM))
    with pytest.raises(ConfigError) as info:
        load_layouts([tmp_path])
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_fixed_layout_rules(tmp_path: Path):
    text = (CONFIG / "layouts" / "fixed.toml").read_text()
    bad = text.replace('length = "rest"', "length = 5").replace("length = 10", 'length = "rest"')
    with pytest.raises(ConfigError, match="only the last field"):
        layout_from_toml(bad, "x.toml")
    with pytest.raises(ConfigError, match="tag is for tagged layouts"):
        layout_from_toml(text.replace("length = 10\n", 'length = 10\ntag = "A"\n'), "x.toml")


def test_duplicate_names_and_headers_are_refused(tmp_path: Path):
    (tmp_path / "copy.toml").write_text((CONFIG / "layouts" / "tagged.toml").read_text())
    with pytest.raises(ConfigError, match="same name"):
        load_layouts([CONFIG / "layouts", tmp_path])
    (tmp_path / "copy.toml").write_text(
        (CONFIG / "layouts" / "tagged.toml").read_text().replace('name = "tagged"', 'name = "t2"')
    )
    with pytest.raises(ConfigError, match="same header"):
        load_layouts([CONFIG / "layouts", tmp_path])


def test_missing_folder_and_empty_folder(tmp_path: Path):
    with pytest.raises(ConfigError, match="layout folder not found"):
        load_layouts([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="no layout file"):
        load_layouts([tmp_path])


def test_longest_header_wins(tmp_path: Path):
    longer = CUSTOM.replace('header = "VX2"', 'header = "AMCTP01X"').replace(
        'name = "vendor-x"', 'name = "longer"'
    )
    (tmp_path / "longer.toml").write_text(longer)
    layouts = load_layouts([CONFIG / "layouts", tmp_path])
    r = parse_payload(
        b"AMCTP01X;N=774734488;C=;R=;M=0001;F=01/01/2026;T=31/12/2026", layouts, TODAY
    )
    assert r.layout == "longer"


def test_tags_that_end_like_other_tags_make_lost_separators_ambiguous():
    text = CUSTOM.replace('tag = "R"', 'tag = "XN"')  # "XN" ends like "N"
    layout = layout_from_toml(text)
    r = parse_payload(b"VX2N=774734488C=XN=1M=0001F=01/01/2026T=31/12/2026", [layout], TODAY)
    assert "separators_ambiguous" in r.error_codes()


def test_layout_patterns_match_ascii_only():
    """`\\d` and `\\w` in a layout file match ASCII only: another script's digits, superscripts
    or a fullwidth digit are the field's error, not a value."""
    text = (
        CUSTOM.replace('"[0-9]{9}"', "'\\d{9}'")
        .replace('"[A-Z]{2}"', "'(?i)[a-z]{2}'")
        .replace('"[0-9]{4,12}"', "'\\w{4,12}'")
    )
    layout = layout_from_toml(text, "vendor-x.toml")
    good = "VX2;N=077562739;C=MU;R=;M=1234;F=01/01/2026;T=31/12/2026"
    assert parse_payload(good.encode(), [layout], TODAY).status == "valid"
    for bad, code in [
        ("N=077562739", "N=07756273\u0669"),  # Arabic-Indic 9
        ("N=077562739", "N=07756273\uff19"),  # fullwidth 9
        ("M=1234", "M=123\u00e9"),  # a letter \\w would match without re.ASCII
        ("C=MU", "C=M\u212a"),  # the Kelvin sign, "k" when case folding is Unicode
    ]:
        payload = b"\\000026" + good.replace(bad, code).encode()
        result = parse_payload(payload, [layout], TODAY, symbology="]d4")
        assert result.status == "invalid", code
        assert result.decision == "refused"


def test_a_pattern_that_asks_for_unicode_matching_is_refused_at_load():
    text = CUSTOM.replace('"[0-9]{9}"', "'(?u)\\d{9}'")
    with pytest.raises(ConfigError, match=r"vendor-x\.toml.*pattern"):
        layout_from_toml(text, "vendor-x.toml")
