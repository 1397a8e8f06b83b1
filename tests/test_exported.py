"""Keep `__all__` honest: everything exported exists, and each package's surface is on purpose
(every public name it holds, its submodules aside, is in `__all__`)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["scanner_agent", "scanner_agent.selftest"]


@pytest.mark.parametrize("name", PACKAGES)
def test_exported_members_exist(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:
        assert hasattr(package, member), member


@pytest.mark.parametrize("name", PACKAGES)
def test_package_surface(name: str) -> None:
    package = importlib.import_module(name)
    public = {n for n in dir(package) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(package, n)).__name__ == "module"}
    assert public - modules == set(package.__all__) - {"__version__"}
