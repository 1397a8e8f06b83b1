"""`scanner-agent selftest`: is this workstation ready? A verdict per device, reasons, fixes.

    scanner-agent selftest [--device ID] [--internal | --interactive] [--seconds S] [--json]
                           [--config PATH]

Levels (UnifiedPOS CheckHealth): `--internal` touches no device; the default (external) opens
each configured device and reads it for `--seconds` (2); `--interactive` asks the operator to
scan the printed test card (`scanner-agent testcard`) within `--seconds` (60) per device.
Run it with the agent stopped (it opens the devices the agent would hold); the running agent's
twin is `POST /v1/selftest`. Exit status: 0 all pass, 1 some warn, 2 some fail (a configuration
that cannot be read is a fail too, reported as `config_invalid`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from scanner_agent.commands._common import add_config_option, settings_from
from scanner_agent.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

    from scanner_agent.selftest import Check, Level, SelfTestReport

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "selftest",
        help="check the configuration and every device, with a verdict and fixes",
        description="Check the configuration, layouts, referential, decoders and storage, then "
        "open and read each configured device (or, with --interactive, wait for the test card "
        "to be scanned). Exit status: 0 all pass, 1 some warn, 2 some fail.",
    )
    add_config_option(parser)
    parser.add_argument("--device", metavar="ID", help="test this device only")
    level = parser.add_mutually_exclusive_group()
    level.add_argument(
        "--internal", action="store_true", help="open no device (configuration and files only)"
    )
    level.add_argument(
        "--interactive",
        action="store_true",
        help="ask the operator to scan the printed test card on each device",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        metavar="S",
        help="how long each device is read (default: 2; 60 with --interactive)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from scanner_agent.selftest import Options, failed_config_report, run_selftest

    if args.seconds is not None and not 0 < args.seconds <= 3600:
        args.parser.error("--seconds must be more than 0 and at most 3600")
    level: Level = (
        "internal" if args.internal else "interactive" if args.interactive else "external"
    )
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        report = failed_config_report(exc, level)
    else:
        options = Options(level=level, device=args.device, seconds=args.seconds, prompt=_prompt)
        try:
            report = run_selftest(settings, options)
        except ConfigError as exc:  # an unknown --device
            args.parser.error(str(exc))
    if args.json:
        print(report.model_dump_json())
    else:
        render(report, sys.stdout)
    return report.exit_status


def _prompt(message: str) -> None:
    print(f">>> {message}", file=sys.stderr, flush=True)


def render(report: SelfTestReport, out: TextIO) -> None:
    """The report as tables for a person: agent checks, then one table per device."""
    from rich.console import Console

    console = Console(file=out, width=max(100, Console(file=out).width), highlight=False)
    console.print(
        f"[bold]scanner-agent self-test[/bold] ({report.level}): "
        f"[{_STYLE[report.verdict]}]{report.verdict.upper()}[/] in {report.duration_ms:.0f} ms"
    )
    console.print(_table("agent", report.checks))
    for device in report.devices:
        title = (
            f"device {device.device_id} ({device.type}): "
            f"[{_STYLE[device.verdict]}]{device.verdict.upper()}[/]"
        )
        console.print(_table(title, device.checks))
        if device.measurements:
            shown = ", ".join(f"{k} {v}" for k, v in device.measurements.items() if v is not None)
            console.print(f"  measured: {shown}")


def _table(title: str, checks: list[Check]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("what", ratio=3)
    table.add_column("fix", ratio=2)
    for c in checks:
        table.add_row(f"[{_STYLE[c.verdict]}]{c.verdict}[/]", c.code, c.message, c.fix)
    return table
