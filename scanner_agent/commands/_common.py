"""Options and helpers shared by sub-commands.

Every command module is imported to register its parser, for `--help` and for every command:
at the top of a module, import only the standard library and this module; import what `run`
needs (the configuration, pydantic, rich, the agent, the decoders) inside `run`.
tests/test_cli_startup.py keeps registration free of them.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from scanner_agent.config import Settings

EXIT_CODES = (
    "exit status: 0 ok, 1 refused (a code refused, a file not read, a check that fails), "
    "2 usage or configuration error"
)


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    examples: tuple[str, ...],
    exit_codes: str = EXIT_CODES,
) -> argparse.ArgumentParser:
    """A sub-command's parser, with its examples and exit codes at the end of `--help`.

    `description` and the examples are printed as written (no `%` formatting, line breaks
    kept); only each argument's `help` is %-formatted by argparse.
    """
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) + f"\n\n{exit_codes}"
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_json_option(parser: argparse._ActionsContainer, what: str = "JSON on stdout") -> None:
    parser.add_argument("--json", action="store_true", help=what)


def color_enabled(stream: IO[str] | None = None) -> bool:
    """Colours only on a terminal, and never when `NO_COLOR` is set (https://no-color.org)."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def console(stream: IO[str] | None = None, *, min_width: int = 0) -> Console:
    """A rich console for `stream` (stdout by default) that follows `color_enabled`.

    Print text that is not markup with `rich.markup.escape` (or `Text`): rich reads `[decoder]`
    or `[[devices]]` as markup and would drop them.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit with status 1; `scanner_agent.cli.main` ends every command
            # quietly the same way (141, see `cli.EXIT_PIPE_CLOSED`)
            self.quiet = True
            raise BrokenPipeError

    stream = stream or sys.stdout
    colour = color_enabled(stream)
    out = _Console(
        file=stream,
        no_color=not colour,
        color_system="auto" if colour else None,
        highlight=False,
    )
    if min_width and out.width < min_width:
        out.width = min_width
    return out


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="a TOML file over the embedded defaults (default: $SCANNER_AGENT_CONFIG, if set)",
    )


def settings_from(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    from scanner_agent.config import load_settings

    return load_settings(getattr(args, "config", None), overrides=overrides)


def iso_date(text: str) -> date:
    """argparse type for YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def domain_name(text: str) -> str:
    """argparse type for an activity domain (MCO, SMR, PSY, HAD; any case)."""
    from scanner_agent.attestation import DOMAINS

    if text.upper() not in DOMAINS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(DOMAINS)}")
    return text.upper()
