from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scanner_agent.errors import ConfigError
from scanner_agent.referential import Referential, parse_referential
from tests.helpers.samples import CONFIG


def test_shipped_file_is_marked_illustrative():
    text = (CONFIG / "amc_referential.csv").read_text()
    assert "ILLUSTRATIVE" in text.splitlines()[0]
    assert all("fictive" in e.name for e in parse_referential(text))


def test_leading_zeros_do_not_matter():
    ref = Referential(
        parse_referential("amc_number,name,roc,updated\n0434243085,X,oui,2026-02-03\n")
    )
    assert ref.lookup("434243085").status == "roc"
    assert ref.lookup("0434243085").name == "X"
    assert ref.lookup("00434243085").status == "roc"
    assert ref.get("434243085").updated == date(2026, 2, 3)


def test_roc_flags_and_unknown():
    ref = Referential(parse_referential("amc_number,name,roc\n11111111,A,no\n22222222,B,TRUE\n"))
    assert ref.lookup("11111111").status == "hors_roc"
    assert ref.lookup("22222222").status == "roc"
    assert ref.lookup("33333333").status == "unknown"
    assert ref.lookup(None).status == "unknown"


def test_columns_in_any_order_with_comments_and_bom(tmp_path: Path):
    path = tmp_path / "ref.csv"
    path.write_text('\ufeff# comment\nname,roc,amc_number\n"Mutuelle, Test",yes,12345678\n')
    ref = Referential.load(path)
    assert ref.lookup("12345678").name == "Mutuelle, Test"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("amc,name\n1,A\n", "header"),
        ("amc_number,name,roc\n12AB,A,yes\n", "line 2: amc_number"),
        ("# c\namc_number,name,roc\n1234,A,maybe\n", "line 3: roc"),
        ("amc_number,name,roc,updated\n1234,A,yes,31/12/2026\n", "updated"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text, message):
    path = tmp_path / "ref.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        Referential.load(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        Referential.load(tmp_path / "none.csv")
