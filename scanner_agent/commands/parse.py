"""`scanner-agent parse`: validate one payload, as the GAP would receive it.

    scanner-agent parse [--at YYYY-MM-DD] [--stay-start YYYY-MM-DD --stay-days N]
                        [--domain MCO|SMR|PSY|HAD] [--json] [--show] [--b64] [PAYLOAD|-]

The payload is read from stdin when omitted or `-` (one trailing newline, as `echo` adds, is
dropped). It is judged for `--at` (default: the stay's start, or today in `parser.timezone`),
the planned stay and the activity `--domain` (default `parser.domain`). Without `--json`, the
decision comes first, in French ("Couverte le 01/03/2026", "À vérifier", "Non couverte",
"Refusée"), then each reason's sentence, the ROC status and the elements.

Exit status: 0 the payload is a well-formed attestation, whatever its decision (read
`decision`: an expired attestation exits 0 too), 1 refused (not a well-formed attestation), 2
usage error. The status says whether the code could be read, as for every command that reads
codes; a script that needs the cover reads `decision` from `--json`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from typing import TYPE_CHECKING

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    domain_name,
    iso_date,
    settings_from,
)

if TYPE_CHECKING:
    from scanner_agent.attestation import Attestation
    from scanner_agent.parser import Stay


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "parse",
        help="parse one attestation payload and judge it (decision, reasons, ROC)",
        description="Parse one attestation payload and judge it for a date, a planned stay\n"
        "and an activity: the decision (covered, check, not_covered, refused) comes first.\n"
        "The payload is read from standard input when omitted or -.",
        examples=(
            "scanner-agent parse 'AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45"
            "|DD:20260101|DF:20261231' --at 2026-03-01",
            "scanner-agent parse 'AMCTPF10775627391MU SP    01 202601012026123112345678' "
            "--stay-start 2026-03-01 --stay-days 3 --domain SMR --json",
            "printf 'AMCTP01|AMC:07756|TC:MU|CSR:|ADH:42|DD:20260101|DF:20261231' "
            "| scanner-agent parse -",
        ),
        exit_codes="exit status: 0 a well-formed attestation, whatever its decision (read "
        "`decision` with --json: an expired attestation exits 0 too), 1 refused (not a "
        "well-formed attestation), 2 usage error",
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
        help="reference date of the validity (default: the stay's start, or today in "
        "parser.timezone)",
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
    parser.add_argument(
        "--domain",
        type=domain_name,
        metavar="MCO|SMR|PSY|HAD",
        help="activity the ROC status is asked for (default: parser.domain, MCO)",
    )
    add_json_option(parser, "print the result as one JSON object")
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
    data = read_payload(args)
    context = ParseContext.from_settings(settings_from(args))
    cover = context.cover(args.at, stay, args.domain)
    result = context.parse(data, cover.at, cover.stay, domain=cover.domain)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(render(result, show=args.show))
    return 0 if result.valid else 1


_VALIDITY_WORDS = {
    "current": "en cours",
    "expired": "expirée",
    "not_yet_valid": "pas encore applicable",
}
_STAY_WORDS = {
    "whole": "séjour entièrement couvert",
    "partial": "séjour couvert en partie seulement",
    "none": "séjour non couvert",
}


def render(result: Attestation, show: bool = False) -> str:
    """A readable summary in French, the decision first; the member number masked unless
    `show`. Only a `covered` attestation is called good for the date: a well-formed payload is
    "conforme", whatever its decision."""
    from scanner_agent.attestation import mask
    from scanner_agent.wording import fr_date, loud_headline, roc_text

    head = loud_headline(result)
    form = "attestation conforme" if result.valid else "code non conforme"
    layout = f" (format {result.layout})" if result.layout else ""
    lines = [f"{head} — {form}{layout}"]
    for reason in result.reasons:
        lines.append(f"  Motif : {reason.message} [{reason.code.value}]")
    for issue in result.errors:
        field = f" [{issue.field}]" if issue.field else ""
        lines.append(f"  Erreur {issue.code.value}{field} : {issue.message}")
    if result.amc_number is not None:
        name = f" ({result.roc.name})" if result.roc.name else ""
        lines.append(f"  N° AMC             {result.amc_number}{name}")
        lines.append(f"  ROC                {roc_text(result.roc)}")
    if result.layout is not None:
        lines.append(f"  Type(s) convention {', '.join(result.convention_types) or '(aucun)'}")
        if result.routing_criterion is not None:
            lines.append(f"  CSR                {result.routing_criterion or '(vide)'}")
        if result.member_number is not None:
            shown = result.member_number if show else mask(result.member_number)
            hint = "" if show else "   (--show pour l'afficher)"
            lines.append(f"  N° adhérent        {shown}{hint}")
        if result.valid_from or result.valid_to:
            start = fr_date(result.valid_from) if result.valid_from else "?"
            end = fr_date(result.valid_to) if result.valid_to else "?"
            period = f"du {start} au {end}"
            state, at = result.validity.state, result.validity.at
            if state and at:
                period += f" ; au {fr_date(at)} : {_VALIDITY_WORDS[state]}"
            if result.validity.stay:
                period += f" ; {_STAY_WORDS[result.validity.stay]}"
            lines.append(f"  Période            {period}")
    for warning in result.warnings:
        lines.append(f"  Avertissement {warning.code.value} : {warning.message}")
    return "\n".join(lines)
