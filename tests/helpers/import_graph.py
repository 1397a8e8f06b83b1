"""The import graph of a source tree, read with `ast` (nothing is imported), and the edges that
break a layering rule.

    rules = {"drivers": Rule(forbidden={"scanner_agent", "api"})}
    problems = forbidden_imports(ROOT, rules)   # ["drivers/x.py:12: drivers.x imports ..."]

Every import counts: at module level, inside functions, under `if TYPE_CHECKING:`, in `try`
blocks, and `importlib.import_module("...")` / `__import__("...")` with a literal name.
Relative imports are resolved against the importing module's package; one that climbs above
its top-level package is reported too.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Rule:
    """What the modules of one top-level package must not import (top-level package names),
    except in the modules listed in `exempt` (dotted names; a package exempts its submodules)."""

    forbidden: frozenset[str]
    exempt: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class ImportEdge:
    module: str
    """The importing module, dotted (`drivers.hid_pos`)."""
    target: str
    """The imported module, dotted and absolute (`scanner_agent.framing`)."""
    path: Path
    line: int


class RelativeImportError(ValueError):
    """A relative import that climbs above the top-level package."""


def module_name(root: Path, path: Path) -> str:
    """`drivers/hid_pos.py` -> `drivers.hid_pos`; `drivers/__init__.py` -> `drivers`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module `from {'.' * level}{name} import ...` names inside `module`."""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 >= len(parts):
        top = module.split(".", maxsplit=1)[0]
        raise RelativeImportError(f"{'.' * level}{name or ''} climbs above the package {top}")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(root: Path, path: Path) -> Iterator[ImportEdge | tuple[int, str]]:
    """The imports of one file; `(line, message)` for a relative import that cannot resolve."""
    module = module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield ImportEdge(module, alias.name, path, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield ImportEdge(module, node.module or "", path, node.lineno)
                continue
            try:
                target = resolve_relative(module, is_package, node.level, node.module)
            except RelativeImportError as exc:
                yield (node.lineno, str(exc))
                continue
            yield ImportEdge(module, target, path, node.lineno)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            # a relative name needs `package=`, which nothing here uses: absolute names only
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and not first.value.startswith(".")
            ):
                yield ImportEdge(module, first.value, path, node.lineno)


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "import_module"
        and isinstance(func.value, ast.Name)
        and func.value.id == "importlib"
    )


def _exempt(module: str, exempt: Collection[str]) -> bool:
    return any(module == e or module.startswith(e + ".") for e in exempt)


def forbidden_imports(root: Path, rules: Mapping[str, Rule]) -> list[str]:
    """`path:line: what` for every import that breaks a rule, in file order."""
    problems: list[str] = []
    for package, rule in rules.items():
        for path in sorted((root / package).rglob("*.py")):
            shown = path.relative_to(root)
            for edge in imports_of(root, path):
                if isinstance(edge, tuple):
                    line, message = edge
                    problems.append(f"{shown}:{line}: relative import {message}")
                    continue
                if _exempt(edge.module, rule.exempt):
                    continue
                top = edge.target.split(".")[0]
                if top in rule.forbidden:
                    problems.append(
                        f"{shown}:{edge.line}: {edge.module} imports {edge.target} "
                        f"({package} must not import {top})"
                    )
    return problems
