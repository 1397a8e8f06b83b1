"""`scanner-agent token`: the API token, for IT to configure the GAP.

    scanner-agent token [--config PATH] [--path | --json]

Prints the token (creating the token file, mode 0600, when there is none), or with `--path`
the file it lives in. Nothing is printed but the value, so that scripts can capture it.
`--json` says where the token comes from (`{"source": "file", "token_file": PATH}` or
`{"source": "SCANNER_AGENT_TOKEN", "token_file": null}`) and never prints the secret.
"""

from __future__ import annotations

import argparse
import json
import sys

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    settings_from,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "token",
        help="print the API token (or its file) for the GAP's configuration",
        description="Print the bearer token clients send to the API: SCANNER_AGENT_TOKEN when\n"
        "set, else the token file's content (the file is created on first use, mode 0600).\n"
        "--json prints where the token comes from, never the token itself.",
        examples=(
            "scanner-agent token",
            "scanner-agent token --path",
            "scanner-agent token --json",
        ),
        exit_codes="exit status: 0 printed, 1 --path while the token comes from "
        "SCANNER_AGENT_TOKEN (no file), 2 a configuration error (a token file that cannot be "
        "read or holds no token)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--path", action="store_true", help="print the token file's path instead")
    add_json_option(
        output,
        'where the token comes from, as JSON: {"source": "file" | "SCANNER_AGENT_TOKEN", '
        '"token_file": PATH | null}; never the token',
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.security import TOKEN_ENV, load_token, token_path

    settings = settings_from(args)
    token = load_token(settings)
    if args.json:
        from_env = token.source == TOKEN_ENV
        where = {
            "source": TOKEN_ENV if from_env else "file",
            "token_file": None if from_env else str(token_path(settings)),
        }
        print(json.dumps(where))
        return 0
    if args.path:
        if token.source == TOKEN_ENV:
            print(f"scanner-agent: the token comes from {TOKEN_ENV}, not a file", file=sys.stderr)
            return 1
        print(token_path(settings))
        return 0
    print(token.value)
    return 0
