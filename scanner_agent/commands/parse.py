"""`scanner-agent parse`: validate one payload, as the GAP would receive it.

    scanner-agent parse [--at YYYY-MM-DD] [--stay-start YYYY-MM-DD --stay-days N] [--json]
                        [--show] [--b64] [PAYLOAD|-]

The payload is read from stdin when omitted or `-` (one trailing newline, as `echo` adds, is
dropped). Exit status: 0 valid, 1 refused, 2 usage error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from datetime import date
from typing import TYPE_CHECKING

from scanner_agent.commands._common import add_config_option, iso_date, settings_from

if TYPE_CHECKING:
    from scanner_agent.attestation import Attestation
    from scanner_agent.parser import Stay


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "parse",
        help="parse and validate one attestation payload",
        description="Parse and validate one attestation payload. Exit status: 0 valid, "
        "1 refused, 2 usage error.",
    )
    parser.add_argument(
        "payload",
        nargs="?",
        default="-",
        metavar="PAYLOAD",
        help="the payload (use | for GS), or - to read raw bytes from stdin",
    )
    parser.add_argument(
        "--at",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="reference date of the validity (default: the stay's start, or today)",
    )
    parser.add_argument(
        "--stay-start", type=iso_date, metavar="YYYY-MM-DD", help="planned admission date"
    )
    parser.add_argument(
        "--stay-days",
        type=int,
        metavar="N",
        help="expected length of the stay in days (0: same day)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--show", action="store_true", help="show the member number unmasked")
    parser.add_argument("--b64", action="store_true", help="PAYLOAD (or stdin) is base64")
    add_config_option(parser)
    parser.set_defaults(func=run, parser=parser)


def read_payload(args: argparse.Namespace) -> bytes:
    if args.payload == "-":
        data = sys.stdin.buffer.read()
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
    else:
        data = os.fsencode(args.payload)
    if args.b64:
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error:
            args.parser.error("the payload is not valid base64")
    return data


def stay_from(args: argparse.Namespace) -> Stay | None:
    from scanner_agent.parser import Stay

    if (args.stay_start is None) != (args.stay_days is None):
        args.parser.error("--stay-start and --stay-days go together")
    if args.stay_start is None:
        return None
    if args.stay_days < 0:
        args.parser.error("--stay-days must be 0 or more")
    return Stay(args.stay_start, args.stay_days)


def run(args: argparse.Namespace) -> int:
    from scanner_agent.parse_context import ParseContext

    stay = stay_from(args)
    at = args.at or (stay.start if stay else date.today())
    data = read_payload(args)
    context = ParseContext.from_settings(settings_from(args))
    result = context.parse(data, at, stay)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(render(result, show=args.show, at=at))
    return 0 if result.valid else 1


def render(result: Attestation, show: bool = False, at: date | None = None) -> str:
    """A readable summary; the member number masked unless `show`."""
    from scanner_agent.attestation import mask

    lines: list[str] = []
    if result.valid:
        lines.append(f"VALID attestation (layout {result.layout})")
    else:
        lines.append("REFUSED" + (f" (layout {result.layout})" if result.layout else ""))
        for issue in result.errors:
            field = f" [{issue.field}]" if issue.field else ""
            lines.append(f"  error {issue.code.value}{field}: {issue.message}")
    if result.amc_number is not None:
        insurer = {
            "roc": "connected to ROC",
            "hors_roc": "not connected to ROC",
            "unknown": "not in the local referential",
        }[result.roc.status]
        name = f"{result.roc.name}, " if result.roc.name else ""
        lines.append(f"  AMC number        {result.amc_number} ({name}{insurer})")
    if result.layout is not None:
        lines.append(f"  Convention types  {', '.join(result.convention_types) or '(none)'}")
        if result.routing_criterion is not None:
            lines.append(f"  Routing (CSR)     {result.routing_criterion or '(empty)'}")
        if result.member_number is not None:
            shown = result.member_number if show else mask(result.member_number)
            hint = "" if show else "   (--show to reveal)"
            lines.append(f"  Member number     {shown}{hint}")
        if result.valid_from or result.valid_to:
            period = f"{result.valid_from or '?'} to {result.valid_to or '?'}"
            state = result.validity.state
            if state:
                period += f": {state.replace('_', ' ')}" + (f" on {at}" if at else "")
            if result.validity.stay:
                period += f"; covers {result.validity.stay} of the stay"
            lines.append(f"  Validity          {period}")
    for warning in result.warnings:
        lines.append(f"  warning {warning.code.value}: {warning.message}")
    return "\n".join(lines)
