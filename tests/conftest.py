"""Shared fixtures: the shipped layouts and referential, loaded once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from scanner_agent.layouts import Layout, load_layouts
from scanner_agent.parse_context import ParseContext
from scanner_agent.referential import Referential
from tests.helpers.samples import CONFIG, TODAY

if TYPE_CHECKING:
    from tests.helpers.devices import AgentRunner


@pytest.fixture(scope="session")
def layouts() -> list[Layout]:
    return load_layouts([CONFIG / "layouts"])


@pytest.fixture(scope="session")
def referential() -> Referential:
    return Referential.load(CONFIG / "amc_referential.csv")


@pytest.fixture(scope="session")
def context(layouts: list[Layout], referential: Referential) -> ParseContext:
    """The shipped layouts and referential, judging for `TODAY` (whatever the real date: the
    shipped referential's age must not change what tests see)."""
    return ParseContext(layouts, referential, today=lambda: TODAY)


@pytest.fixture
def agents(context: ParseContext) -> Iterator[AgentRunner]:
    """Agents started by the test on device configurations, stopped at its end."""
    from tests.helpers.devices import AgentRunner

    runner = AgentRunner(context)
    yield runner
    runner.stop_all()


# tests/windows runs under Windows CPython (`make test-windows`), not in this pytest run
collect_ignore = ["windows"] if sys.platform != "win32" else []
