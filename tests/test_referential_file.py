"""`ReferentialFile`: a changed file is reloaded, a file that does not load leaves the previous
referential in use with its error standing until a good file replaces it."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from scanner_agent.errors import ConfigError
from scanner_agent.referential import Referential
from scanner_agent.referential_file import ReferentialFile
from tests.helpers.samples import TODAY

GOOD = "amc_number,name,roc,updated\n11111111,A,yes,2026-01-01\n"
OTHER = "amc_number,name,roc,updated\n11111111,A,no,2026-02-01\n22222222,B,yes,2026-02-01\n"
OVERLAP = "amc_number,name,roc\n11111111,A,yes\n11111111,B,no\n"


def replace(path: Path, text: str) -> None:
    """Write `text` as a deployment should: a new file renamed over the old one."""
    new = path.with_suffix(".new")
    new.write_text(text)
    os.replace(new, path)


def test_a_changed_file_is_reloaded_and_handed_on(tmp_path: Path):
    path = tmp_path / "ref.csv"
    path.write_text(GOOD)
    used: list[Referential] = []
    file = ReferentialFile.load(path, on_load=used.append)
    assert file.check() is False  # unchanged: not read again
    replace(path, OTHER)
    assert file.check() is True
    assert used == [file.referential]
    assert file.referential.lookup("11111111", TODAY, "MCO").reason == "not_connected"
    status = file.status(TODAY, 90)
    assert (status.path, status.entries, status.lines) == (str(path), 2, 2)
    assert (status.updated, status.age_days, status.stale) == (date(2026, 2, 1), 28, False)
    assert (status.error, status.load_errors) == (None, 0)
    assert file.status(date(2026, 6, 1), 90).stale is True
    assert file.status(TODAY).stale is False  # no maximum age: never stale


def test_an_edit_in_place_is_seen_too(tmp_path: Path):
    path = tmp_path / "ref.csv"
    path.write_text(GOOD)
    file = ReferentialFile.load(path)
    with path.open("a") as f:
        f.write("33333333,C,yes,2026-01-01\n")
    assert file.check() is True
    assert len(file.referential) == 2


def test_a_bad_file_keeps_the_previous_referential_until_a_good_one_comes(tmp_path: Path):
    path = tmp_path / "ref.csv"
    path.write_text(GOOD)
    used: list[Referential] = []
    file = ReferentialFile.load(path, on_load=used.append)
    before = file.referential
    replace(path, OVERLAP)
    assert file.check() is False
    assert file.referential is before and used == []
    assert file.error is not None and "lines 2 and 3" in file.error and str(path) in file.error
    assert file.check() is False  # the same bad file is not read again
    status = file.status(TODAY, 90)
    assert (status.entries, status.error, status.load_errors) == (1, file.error, 1)
    path.unlink()  # gone: still the previous one, and why
    assert file.check() is False
    assert file.error is not None and "not found" in file.error
    assert file.status(TODAY, 90).load_errors == 2
    path.write_text(OTHER)
    assert file.check() is True
    assert file.error is None and used == [file.referential] and len(file.referential) == 2


def test_a_file_that_does_not_load_at_start_raises(tmp_path: Path):
    path = tmp_path / "ref.csv"
    path.write_text(OVERLAP)
    with pytest.raises(ConfigError, match="lines 2 and 3"):
        ReferentialFile.load(path)
