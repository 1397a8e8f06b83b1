"""The reasons table: every check code with a fix is in the README's troubleshooting section."""

from __future__ import annotations

from scanner_agent.selftest import CHECKS
from tests.helpers.samples import ROOT


def test_every_check_with_a_fix_is_in_the_readme_troubleshooting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Self-test reasons") :]
    for code, fix in CHECKS.items():
        if fix:
            assert f"`{code}`" in section, code
