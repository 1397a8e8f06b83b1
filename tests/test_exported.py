"""Keep `__all__` honest: everything exported exists, and the top-level surface is on purpose."""

from __future__ import annotations

import scanner_agent


def test_exported_members_exist():
    for name in scanner_agent.__all__:
        assert hasattr(scanner_agent, name), name


def test_top_level_surface():
    public = {n for n in dir(scanner_agent) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(scanner_agent, n)).__name__ == "module"}
    assert public - modules == set(scanner_agent.__all__) - {"__version__"}
