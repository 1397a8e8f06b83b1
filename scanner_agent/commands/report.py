"""`scanner-agent report`: the non-personal indicators of a week or a period, read from the
configured database (the agent may be stopped; a shared PostgreSQL gives every workstation).

    scanner-agent report [--week 2026-W48 | --from DATE --to DATE] [--by DIMS]
                         [--csv FILE | --json] [--include-test] [--workstation NAME]
                         [--config PATH]

By default the current ISO week (Monday to Sunday, hospital's time zone), as `GET
/v1/indicators`, printed as a table: its title gives the period in French and the workstations
counted, one row per group, then the totals. `--csv FILE` writes the CSV (`-`: standard output),
`--json` prints the API's JSON. Exit status: 0, 1 when the database cannot be read (its code on
standard error), 2 a bad argument or configuration.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    console,
    iso_date,
    settings_from,
)

if TYPE_CHECKING:
    from scanner_agent.indicators import IndicatorReport

_DIMENSION_NAMES = (
    "week, day, workstation, device_id, device_kind, source, decision, reason, reasons, "
    "roc_status, roc_reason, amc_number, error, errors, test"
)
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "report",
        help="print the non-personal indicators of a week (scans by decision, reason...)",
        description="Print the non-personal indicators (scans, codes not read, decode time)\n"
        "of a week or a period, read from the configured database: the agent may be stopped,\n"
        "and a shared PostgreSQL gives every workstation. Without --week, --from or --to: the\n"
        "current ISO week (Monday to Sunday, hospital's time zone). Test attestations are\n"
        "left out unless --include-test.",
        examples=(
            "scanner-agent report",
            "scanner-agent report --week 2026-W48 --by day,decision",
            "scanner-agent report --from 2026-11-01 --to 2026-11-30 --csv november.csv",
            "scanner-agent report --by reason --include-test --json",
        ),
        exit_codes="exit status: 0 printed, 1 the database cannot be read or the CSV file "
        "cannot be written (the code on standard error), 2 a bad argument or configuration",
    )
    parser.add_argument("--week", metavar="WEEK", help="an ISO week, e.g. 2026-W48")
    parser.add_argument(
        "--from",
        dest="start",
        type=iso_date,
        metavar="DATE",
        help="the first day, YYYY-MM-DD (alone: up to today)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=iso_date,
        metavar="DATE",
        help="the last day, included (alone: from the Monday of its week)",
    )
    parser.add_argument(
        "--by",
        metavar="DIMS",
        help="comma-separated dimensions to group by (default week,workstation,decision): "
        + _DIMENSION_NAMES,
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", metavar="FILE", help="write the CSV to FILE (- : standard output)")
    add_json_option(output, "print the JSON of GET /v1/indicators")
    parser.add_argument(
        "--include-test",
        action="store_true",
        help="count test attestations too (a test AMC of the referential, the demo device)",
    )
    parser.add_argument("--workstation", metavar="NAME", help="only this workstation")
    add_config_option(parser)
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace, *, today: date | None = None) -> int:
    import json

    from scanner_agent.decision import local_today
    from scanner_agent.indicators import InvalidQuery, query_for
    from scanner_agent.scans import read_indicators
    from scanner_agent.storage import StorageError

    parser: argparse.ArgumentParser = args.parser
    settings = settings_from(args)
    if today is None:
        today = local_today(settings.parser.timezone)
    try:
        query = query_for(
            today,
            week=args.week,
            start=args.start,
            end=args.end,
            group_by=args.by,
            include_test=args.include_test,
            workstation=args.workstation,
        )
    except InvalidQuery as exc:
        parser.error(str(exc))  # exits with status 2
    try:
        report = read_indicators(settings, query)
    except StorageError as exc:
        print(f"scanner-agent: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the SQLite file's folder cannot be made or opened
        print(f"scanner-agent: storage_unavailable: {exc.strerror}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    elif args.csv == "-":
        sys.stdout.write(report.to_csv())
    elif args.csv:
        try:
            with open(args.csv, "w", encoding="utf-8", newline="") as out:
                out.write(report.to_csv())
        except OSError as exc:
            print(f"scanner-agent: cannot write {args.csv}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"{len(report.rows)} ligne(s) écrite(s) dans {args.csv}", file=sys.stderr)
    else:
        render(report)
    return 0


def french_day(day: date) -> str:
    """`lundi 23 novembre 2026`."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def title(report: IndicatorReport) -> str:
    """The period in French (with its ISO week when it is one) and the workstations counted."""
    from scanner_agent.indicators import iso_week, week_bounds

    query = report.query
    period = f"du {french_day(query.start)} au {french_day(query.end)}"
    week = iso_week(query.start)
    if week_bounds(week) == (query.start, query.end):
        period = f"semaine {week}, {period}"
    elif query.start == query.end:
        period = f"le {french_day(query.start)}"
    stations = ", ".join(report.workstations) if report.workstations else "aucun"
    test = " ; attestations de test comprises" if query.include_test else ""
    return f"Indicateurs {period} ; postes : {stations}{test}"


def render(report: IndicatorReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    from scanner_agent.indicators import MEASURES

    out = console(min_width=100)
    out.print(escape(title(report)), soft_wrap=True)
    table = Table(show_footer=True)
    dims = report.query.group_by
    total = report.total
    for i, dim in enumerate(dims):
        table.add_column(escape(dim), footer="total" if i == 0 else "", overflow="fold")
    mean = total.decode_ms_mean
    footers = (str(total.scans), str(total.unreadable), "" if mean is None else f"{mean:.3f}")
    for measure, footer in zip(MEASURES, footers, strict=True):
        table.add_column(measure, footer=footer, justify="right")
    for row in report.rows:
        cells = [escape(_cell(row.keys.get(d))) for d in dims]
        row_mean = row.decode_ms_mean
        cells += [
            str(row.scans),
            str(row.unreadable),
            "" if row_mean is None else f"{row_mean:.3f}",
        ]
        table.add_row(*cells)
    out.print(table)
    if not report.rows:
        out.print("aucun scan sur cette période")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)
