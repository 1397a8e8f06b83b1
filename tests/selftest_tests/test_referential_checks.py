"""The self-test's referential checks: path, AMCs, `updated` date and age; a stale referential
warns with its fix; a bad one fails naming its lines."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from scanner_agent.selftest import CHECKS, run_selftest
from tests.helpers.samples import CONFIG, TODAY
from tests.helpers.selftest import codes, make_settings, options


def dated(tmp_path: Path) -> Path:
    """The shipped referential, its lines dated 2026-01-01."""
    shipped = (CONFIG / "amc_referential.csv").read_text(encoding="utf-8")
    path = tmp_path / "referential.csv"
    path.write_text(re.sub(r",(yes|no),\d{4}-\d{2}-\d{2},", r",\1,2026-01-01,", shipped))
    return path


def test_the_referential_is_described(tmp_path: Path) -> None:
    path = dated(tmp_path)
    settings = make_settings(tmp_path, parser={"referential": str(path)})
    report = run_selftest(settings, options(level="internal"))
    loaded = next(c for c in report.checks if c.code == "referential_loaded")
    assert loaded.verdict == "pass"
    assert loaded.message == (
        f"AMC referential {path}: 7 AMC(s) in 8 line(s), "
        f"updated 2026-01-01 ({(TODAY - date(2026, 1, 1)).days} day(s) ago)"
    )
    assert "referential_stale" not in codes(report.checks)


def test_a_stale_referential_warns_with_its_fix(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, parser={"referential": str(dated(tmp_path)), "referential_max_age_days": 30}
    )
    report = run_selftest(settings, options(level="internal"))
    stale = next(c for c in report.checks if c.code == "referential_stale")
    assert stale.verdict == "warn"
    assert "59 days ago" in stale.message and "referential_max_age_days = 30" in stale.message
    assert stale.fix == CHECKS["referential_stale"] != ""
    assert codes(report.checks)["referential_loaded"] == "pass"


def test_a_bad_referential_fails_naming_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_text("amc_number,name,roc\n1,A,yes\n1,B,yes\n")
    settings = make_settings(tmp_path, parser={"referential": str(path)})
    report = run_selftest(settings, options(level="internal"))
    invalid = next(c for c in report.checks if c.code == "referential_invalid")
    assert invalid.verdict == "fail" and "lines 2 and 3" in invalid.message
    assert "scanner-agent referential check" in invalid.fix
