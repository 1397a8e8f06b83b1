"""Options and helpers shared by sub-commands."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from scanner_agent.config import Settings, load_settings


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="a TOML file over the embedded defaults (default: $SCANNER_AGENT_CONFIG, if set)",
    )


def settings_from(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    return load_settings(getattr(args, "config", None), overrides=overrides)


def iso_date(text: str) -> date:
    """argparse type for YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
