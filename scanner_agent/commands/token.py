"""`scanner-agent token`: the API token, for IT to configure the GAP.

    scanner-agent token [--config PATH] [--path]

Prints the token (creating the token file, mode 0600, when there is none), or with `--path`
the file it lives in. Nothing is printed but the value, so that scripts can capture it.
"""

from __future__ import annotations

import argparse
import sys

from scanner_agent.commands._common import add_config_option, settings_from


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "token",
        help="print the API token (or its file) for the GAP's configuration",
        description="Print the bearer token clients send to the API: SCANNER_AGENT_TOKEN when "
        "set, else the token file's content (the file is created on first use, mode 0600).",
    )
    parser.add_argument("--path", action="store_true", help="print the token file's path instead")
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.security import TOKEN_ENV, load_token, token_path

    settings = settings_from(args)
    token = load_token(settings)
    if args.path:
        if token.source == TOKEN_ENV:
            print(f"scanner-agent: the token comes from {TOKEN_ENV}, not a file", file=sys.stderr)
            return 1
        print(token_path(settings))
        return 0
    print(token.value)
    return 0
