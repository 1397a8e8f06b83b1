"""Dependencies point one way: drivers and decoders import nothing from the agent or the API, and
the agent's core does not import the API (only its command line starts it).

Checked twice: statically, over every import of every module (`tests.helpers.import_graph`
reads them with `ast`, including imports inside functions and under `if TYPE_CHECKING:`), and
at run time, by importing every module of `drivers` and `decoders` in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.import_graph import (
    Rule,
    forbidden_imports,
    imports_of,
    resolve_relative,
)

ROOT = Path(__file__).resolve().parent.parent
LOWER = frozenset({"scanner_agent", "api"})
RULES = {
    "drivers": Rule(forbidden=LOWER),
    "decoders": Rule(forbidden=LOWER),
    # the command line (`scanner-agent serve`, `token`) starts the API: it sits above both
    "scanner_agent": Rule(
        forbidden=frozenset({"api"}),
        exempt=frozenset({"scanner_agent.cli", "scanner_agent.commands"}),
    ),
}


def test_the_layers_import_only_downwards() -> None:
    assert forbidden_imports(ROOT, RULES) == []


def test_the_rules_cover_real_modules() -> None:
    """A rule over an empty or renamed folder would pass for nothing."""
    for package in RULES:
        modules = list((ROOT / package).rglob("*.py"))
        assert len(modules) > 3, package
    edges = [
        e for e in imports_of(ROOT, ROOT / "drivers" / "replay.py") if not isinstance(e, tuple)
    ]
    assert {"drivers.hid_pos", "drivers.errors"} <= {e.target for e in edges}


def test_importing_drivers_and_decoders_loads_neither_the_agent_nor_the_api() -> None:
    code = textwrap.dedent(
        """
        import importlib, json, pkgutil, sys
        names = []
        for package in ("drivers", "decoders"):
            module = importlib.import_module(package)
            names.append(package)
            for info in pkgutil.walk_packages(module.__path__, package + "."):
                importlib.import_module(info.name)
                names.append(info.name)
        above = sorted(
            m for m in sys.modules if m.split(".")[0] in ("scanner_agent", "api", "tests")
        )
        print(json.dumps({"imported": names, "above": above}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert {"drivers.serial", "drivers.camera", "decoders.documents"} <= set(result["imported"])
    assert result["above"] == []


# --- the checker finds what it must -------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_a_planted_forbidden_import_is_reported_with_its_module_and_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "drivers/__init__.py": "",
            "drivers/ok.py": """\
                from . import errors
                from .errors import DeviceError
                import serial
                """,
            "drivers/errors.py": "class DeviceError(Exception): ...\n",
            "drivers/sub/__init__.py": "from .. import errors\n",
            "drivers/sub/deep.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from scanner_agent.config import SerialDevice


                def later():
                    import api.app
                    return api.app
                """,
            "drivers/dynamic.py": """\
                import importlib


                def load():
                    return importlib.import_module("scanner_agent.framing")
                """,
            "decoders/__init__.py": "",
            "decoders/bad.py": "from scanner_agent.errors import DecodeError as E\n",
            "scanner_agent/__init__.py": "",
            "scanner_agent/core.py": "import api\n",
            "scanner_agent/commands/serve.py": "from api.app import create_app\n",
        },
    )
    assert forbidden_imports(tmp_path, RULES) == [
        "drivers/dynamic.py:5: drivers.dynamic imports scanner_agent.framing "
        "(drivers must not import scanner_agent)",
        "drivers/sub/deep.py:4: drivers.sub.deep imports scanner_agent.config "
        "(drivers must not import scanner_agent)",
        "drivers/sub/deep.py:8: drivers.sub.deep imports api.app (drivers must not import api)",
        "decoders/bad.py:1: decoders.bad imports scanner_agent.errors "
        "(decoders must not import scanner_agent)",
        "scanner_agent/core.py:1: scanner_agent.core imports api "
        "(scanner_agent must not import api)",
    ]


def test_relative_imports_resolve_against_the_package(tmp_path: Path) -> None:
    assert resolve_relative("drivers.hid_pos", False, 1, "errors") == "drivers.errors"
    assert resolve_relative("drivers", True, 1, "errors") == "drivers.errors"
    assert resolve_relative("drivers.sub.deep", False, 2, None) == "drivers"
    assert resolve_relative("a.b.c", False, 2, "d") == "a.d"
    _write(tmp_path, {"drivers/__init__.py": "", "drivers/up.py": "from .. import scanner_agent\n"})
    assert forbidden_imports(tmp_path, {"drivers": Rule(forbidden=LOWER)}) == [
        "drivers/up.py:1: relative import .. climbs above the package drivers"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "import scanner_agent\n",
        "import scanner_agent.errors as errors\n",
        "from scanner_agent import errors\n",
        "try:\n    import api.deps\nexcept ImportError:\n    pass\n",
        "class A:\n    def f(self):\n        from api import app\n",
        "x = __import__('scanner_agent.config')\n",
    ],
)
def test_every_form_of_import_counts(tmp_path: Path, source: str) -> None:
    _write(tmp_path, {"drivers/__init__.py": "", "drivers/m.py": source})
    found = forbidden_imports(tmp_path, {"drivers": Rule(forbidden=LOWER)})
    assert len(found) == 1
    assert found[0].startswith("drivers/m.py:")
