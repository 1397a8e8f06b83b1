"""The agent's internal checks: layouts that do not load, storage reachable or not, a layout
folder that cannot read the test card."""

from __future__ import annotations

from pathlib import Path

from scanner_agent.selftest import run_selftest
from tests.helpers.samples import ROOT
from tests.helpers.selftest import codes, make_settings, options


def test_internal_checks_of_files_and_storage(tmp_path: Path) -> None:
    bad_layouts = tmp_path / "layouts"
    bad_layouts.mkdir()
    (bad_layouts / "broken.toml").write_text('name = "x"\nkind = "tagged"\n')
    settings = make_settings(
        tmp_path, parser={"layouts_dirs": [str(bad_layouts)]}, storage={"member_number": "plain"}
    )
    report = run_selftest(settings, options(level="internal", storage=True))
    got = codes(report.checks)
    assert got["layouts_invalid"] == "fail"
    assert "broken.toml" in next(c for c in report.checks if c.code == "layouts_invalid").message
    assert got["storage_ok"] == "pass"
    assert got["no_devices"] == "warn"
    assert "testcard_parsed" not in got  # nothing to parse with
    # storage that cannot be reached: a database file in a folder that is a file
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    settings = make_settings(
        tmp_path,
        storage={"url": f"sqlite:///{blocker}/scans.db", "member_number": "plain"},
    )
    report = run_selftest(settings, options(level="internal", storage=True))
    assert codes(report.checks)["storage_unavailable"] == "fail"


def test_a_layout_folder_without_the_shipped_layouts_cannot_read_the_test_card(
    tmp_path: Path,
) -> None:
    only_fixed = tmp_path / "layouts"
    only_fixed.mkdir()
    (only_fixed / "fixed.toml").write_text((ROOT / "config/layouts/fixed.toml").read_text())
    settings = make_settings(tmp_path, parser={"layouts_dirs": [str(only_fixed)]})
    report = run_selftest(settings, options(level="internal"))
    failed = next(c for c in report.checks if c.code == "testcard_not_parsed")
    assert failed.verdict == "fail"
    assert "tagged-050" in failed.message
    assert "fixed-050" not in failed.message
