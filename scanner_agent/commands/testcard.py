"""`scanner-agent testcard`: write the printable A4 test card (PDF or PNG)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "testcard",
        help="write the printable test card (A4, PDF or PNG)",
        description="Write an A4 page of TEST attestations (both layouts, several module sizes) "
        "and of codes the agent must refuse (GS1 DataMatrix, QR Code). Print it at 100%%.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("scanner-agent-testcard.pdf"),
        metavar="FILE.pdf|FILE.png",
        help="where to write (default: %(default)s)",
    )
    parser.add_argument("--dpi", type=int, default=300, help="resolution (default: 300)")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from scanner_agent.testcard import TEST_CODES, write_card

    if args.out.suffix.lower() not in (".pdf", ".png"):
        args.parser.error("--out must end in .pdf or .png")
    if not 100 <= args.dpi <= 1200:
        args.parser.error("--dpi must be between 100 and 1200")
    write_card(args.out, args.dpi)
    print(f"test card written to {args.out}: {len(TEST_CODES)} codes, print at 100% (no scaling)")
    for index, code in enumerate(TEST_CODES, start=1):
        print(f"  {index}. {code.label}: expect {code.expect}")
    return 0
