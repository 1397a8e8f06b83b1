"""Fixtures of the self-test tests: a serial scanner on a pseudo-terminal. Helpers they use are
in `tests.helpers.selftest`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.devices import PtyScanner


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    device = PtyScanner(tmp_path)
    yield device
    device.unplug()
