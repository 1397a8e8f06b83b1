"""`scanner-agent selftest`: is this workstation ready? A verdict per device, reasons, fixes.

    scanner-agent selftest [--device ID] [--internal | --interactive] [--seconds S] [--json]
                           [--lang fr|en] [--config PATH]

Levels (UnifiedPOS CheckHealth): `--internal` touches no device; the default (external) opens
each configured device and reads it for `--seconds` (2); `--interactive` asks the operator to
scan the printed test card (`scanner-agent testcard`) within `--seconds` (60) per device.
Run it with the agent stopped (it opens the devices the agent would hold); the running agent's
twin is `POST /v1/selftest`.

Messages and fixes are in French with `--lang fr`, in English with `--lang en`; without the
flag the system locale decides (the first of LC_ALL, LC_MESSAGES, LANG that is set: French
when it starts with `fr`). `--json` prints the same report (with its `lang`): codes, verdicts
and `params` are the same in both languages. Tables go through rich, colours only on a
terminal without NO_COLOR; every text of the report is escaped (a fix's `[[devices]]` or
`[decoder]` is shown as written).

Exit status: 0 every check passes; 1 a check warns or fails; 2 a usage error, or a
configuration that cannot be read (the report then holds one check, `config_invalid`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    console,
    settings_from,
)
from scanner_agent.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from scanner_agent.selftest import Check, Lang, Level, SelfTestReport

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}

EXIT_CODES = (
    "exit status: 0 every check passes, 1 a check warns or fails, 2 usage error or a "
    "configuration that cannot be read (config_invalid)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "selftest",
        help="check the configuration and every device, with a verdict and fixes",
        description="Check the configuration, layouts, referential, decoders and storage, then "
        "open and read each configured device\n(or, with --interactive, wait for the test card "
        "to be scanned). Run it with the agent stopped;\nthe running agent's self-test is "
        "POST /v1/selftest. Messages and fixes in French or English (--lang,\nelse the system "
        "locale); check codes are the same in both.",
        examples=(
            "scanner-agent selftest --internal            # configuration and files, no device",
            "scanner-agent selftest --lang fr             # every device, in French",
            "scanner-agent selftest --device desk --interactive   # scan the test card on desk",
            "scanner-agent selftest --json | jq '.checks[].code'",
        ),
        exit_codes=EXIT_CODES,
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
    parser.add_argument(
        "--lang",
        choices=("fr", "en"),
        help="language of the messages and fixes (default: the system locale, LC_ALL, "
        "LC_MESSAGES or LANG: fr* is French, anything else English)",
    )
    add_json_option(parser, "print the report as JSON (the same codes in either language)")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from scanner_agent.selftest import (
        Options,
        failed_config_report,
        language_from_environ,
        run_selftest,
    )

    if args.seconds is not None and not 0 < args.seconds <= 3600:
        args.parser.error("--seconds must be more than 0 and at most 3600")
    lang: Lang = args.lang or language_from_environ(os.environ)
    level: Level = (
        "internal" if args.internal else "interactive" if args.interactive else "external"
    )
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        report = failed_config_report(exc, level, lang)
    else:
        options = Options(
            level=level, device=args.device, seconds=args.seconds, prompt=_prompt, lang=lang
        )
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
    """The report as tables for a person, in the report's language: agent checks, then one
    table per device. Every text of the report is printed as written (never read as markup)."""
    from rich.text import Text

    from scanner_agent.selftest.texts import label

    lang = report.lang
    screen = console(out, min_width=100)
    head = Text()
    head.append(label("title", lang), style="bold")
    colon = label("colon", lang)
    head.append(f" ({label('level.' + report.level, lang)}){colon}")
    head.append(_verdict(report.verdict, lang).upper(), style=_STYLE[report.verdict])
    head.append(f" {label('in', lang)} {report.duration_ms:.0f} ms")
    screen.print(head)
    screen.print(_table(Text(label("agent", lang)), report.checks, lang))
    for device in report.devices:
        title = Text(f"{label('device', lang)} {device.device_id} ({device.type}){colon}")
        title.append(_verdict(device.verdict, lang).upper(), style=_STYLE[device.verdict])
        screen.print(_table(title, device.checks, lang))
        if device.measurements:
            shown = ", ".join(f"{k} {v}" for k, v in device.measurements.items() if v is not None)
            screen.print(Text(f"  {label('measured', lang)}{colon}{shown}"))


def _verdict(verdict: str, lang: Lang) -> str:
    from scanner_agent.selftest.texts import label

    return label("verdict." + verdict, lang)


def _table(title: Text, checks: list[Check], lang: Lang) -> Table:
    from rich.table import Table
    from rich.text import Text

    from scanner_agent.selftest.texts import label

    table = Table(title=title, title_justify="left", expand=True)
    table.add_column(label("header.verdict", lang), no_wrap=True)
    table.add_column(label("header.check", lang), no_wrap=True)
    table.add_column(label("header.what", lang), ratio=3)
    table.add_column(label("header.fix", lang), ratio=2)
    for c in checks:
        table.add_row(
            Text(_verdict(c.verdict, lang), style=_STYLE[c.verdict]),
            Text(c.code),
            Text(c.message),
            Text(c.fix),
        )
    return table
