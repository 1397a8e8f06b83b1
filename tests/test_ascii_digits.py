"""Only ASCII digits are digits: `str.isdigit()`, `isdecimal()` and `isnumeric()` accept other
scripts' digits and superscripts, which `int()` reads or refuses. Every call of them in the code
is paired with `isascii()` on the same line (the checks themselves are tested with the modules
that use them: test_nir, test_referential, test_layouts, test_parser_properties)."""

from __future__ import annotations

import re

from tests.helpers.samples import ROOT

_DIGIT_CHECK = re.compile(r"\.(isdigit|isdecimal|isnumeric)\(\)")


def test_every_digit_check_is_ascii_only() -> None:
    bare = []
    for package in ("scanner_agent", "drivers", "decoders", "api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _DIGIT_CHECK.search(line) and ".isascii()" not in line:
                    bare.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert bare == []


def test_the_check_finds_a_bare_call() -> None:
    assert _DIGIT_CHECK.search("if key.isdigit():")
    assert _DIGIT_CHECK.search("n.isnumeric() or n.isdecimal()")
