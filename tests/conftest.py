"""Shared fixtures: the shipped layouts and referential, loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scanner_agent.layouts import Layout, load_layouts
from scanner_agent.referential import Referential
from scanner_agent.runtime import ParseContext

if TYPE_CHECKING:
    from tests.devsupport import AgentRunner

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
TODAY = date(2026, 3, 1)  # the reference date of tests: never the real clock


@pytest.fixture(scope="session")
def layouts() -> list[Layout]:
    return load_layouts([CONFIG / "layouts"])


@pytest.fixture(scope="session")
def referential() -> Referential:
    return Referential.load(CONFIG / "amc_referential.csv")


@pytest.fixture(scope="session")
def context(layouts: list[Layout], referential: Referential) -> ParseContext:
    return ParseContext(layouts, referential)


@pytest.fixture
def agents(context: ParseContext) -> Iterator[AgentRunner]:
    """Agents started by the test on device configurations, stopped at its end."""
    from tests.devsupport import AgentRunner

    runner = AgentRunner(context)
    yield runner
    runner.stop_all()
