"""`scanner-agent testcard`: write the printable A4 test card (PDF or PNG).

    scanner-agent testcard [--out FILE.pdf|FILE.png] [--dpi N] [--json]

Prints the file written and each code of the card with what the agent must make of it; `--json`
prints the same as one object: `{"out": PATH, "dpi": N, "codes": [{"key", "label", "expect"}]}`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scanner_agent.commands._common import add_command, add_json_option


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "testcard",
        help="write the printable test card (A4, PDF or PNG)",
        description="Write an A4 page of TEST attestations (both layouts, several module sizes)\n"
        "and of codes the agent must refuse (GS1 DataMatrix, QR Code). Print it at 100% (no\n"
        "scaling).",
        examples=(
            "scanner-agent testcard",
            "scanner-agent testcard --out card.png --dpi 600",
            "scanner-agent testcard --out card.pdf --json",
        ),
        exit_codes="exit status: 0 written, 1 the file cannot be written, 2 usage error "
        "(--out not .pdf or .png, --dpi out of 100..1200)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("scanner-agent-testcard.pdf"),
        metavar="FILE.pdf|FILE.png",
        help="where to write (default: %(default)s)",
    )
    parser.add_argument("--dpi", type=int, default=300, help="resolution (default: 300)")
    add_json_option(parser, "print the file written and the card's codes as one JSON object")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    import sys

    from scanner_agent.testcard import TEST_CODES, write_card

    if args.out.suffix.lower() not in (".pdf", ".png"):
        args.parser.error("--out must end in .pdf or .png")
    if not 100 <= args.dpi <= 1200:
        args.parser.error("--dpi must be between 100 and 1200")
    try:
        write_card(args.out, args.dpi)
    except OSError as exc:
        print(f"scanner-agent: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    if args.json:
        codes = [{"key": c.key, "label": c.label, "expect": c.expect} for c in TEST_CODES]
        print(json.dumps({"out": str(args.out), "dpi": args.dpi, "codes": codes},
                         ensure_ascii=False))  # fmt: skip
        return 0
    print(f"test card written to {args.out}: {len(TEST_CODES)} codes, print at 100% (no scaling)")
    for index, code in enumerate(TEST_CODES, start=1):
        print(f"  {index}. {code.label}: expect {code.expect}")
    return 0
