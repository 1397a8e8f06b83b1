"""The `scanner-agent` command. Each sub-command lives in its own module of `commands/`.

Exit status: 0 success, 1 a refusal or failure the command reports (a payload refused, a device
that fails its self-test), 2 a usage or configuration error; 141 (128 + SIGPIPE) when the reader
of standard output went away (`scanner-agent ... --json | head -1`), quietly, with no traceback;
130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from scanner_agent import __version__
from scanner_agent.errors import ConfigError

# Sub-commands, in the order `--help` lists them; each is the module of `commands/` of the same
# name (`-` read as `_`), whose `register(subparsers)` adds its parser and sets `func` (args ->
# exit status).
COMMANDS = (
    "serve",
    "run",
    "parse",
    "decode",
    "config",
    "referential",
    "token",
    "watch",
    "record",
    "testcard",
    "devices",
    "selftest",
    "report",
    "windows-task",
)

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE_CLOSED = 141
"""Standard output closed by its reader (`| head -1`): 128 + SIGPIPE, as a shell shows a
command the closed pipe killed; no traceback, no message."""

EPILOG = """\
`scanner-agent COMMAND --help` shows each command's options, examples and exit codes.
Commands that print results take --json. Colours only on a terminal, never with NO_COLOR set.

exit status: 0 ok, 1 refused (a code refused, a file not read, a check that fails),
2 usage or configuration error, 141 the reader of the output went away (| head), 130 Ctrl-C"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scanner-agent",
        description="Reads the DataMatrix of AMC tiers-payant attestations and serves them "
        "to the GAP on localhost.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"scanner-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = name.replace("-", "_")
        importlib.import_module(f"scanner_agent.commands.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
    except BrokenPipeError:
        return _pipe_closed()
    except ConfigError as exc:
        print(f"scanner-agent: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return status


def _pipe_closed() -> int:
    """The reader of standard output went away (`scanner-agent ... | head -1`): stop quietly.

    As the Python documentation says (signal, "Note on SIGPIPE"): point standard output at
    devnull, so that the interpreter's last flush at exit does not fail again, and exit with
    128 + SIGPIPE, as a command killed by the closed pipe would.
    """

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (tests capture stdout): nothing to do
        pass
    return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
