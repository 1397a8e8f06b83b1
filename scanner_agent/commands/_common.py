"""Options and helpers shared by sub-commands.

Every command module is imported to register its parser, for `--help` and for every command:
at the top of a module, import only the standard library and this module; import what `run`
needs (the configuration, pydantic, rich, the agent, the decoders) inside `run`.
tests/test_cli_startup.py keeps registration free of them.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanner_agent.config import Settings


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
