"""`scanner-agent run`: run the agent, with or without its localhost API.

    scanner-agent run [--config PATH] [--no-api] [--host H] [--port P]

Without `--no-api` it does exactly what `serve` does. With `--no-api` it runs the configured
devices, the pipeline and the scans service (scans are stored in the configured database, kept
for the retention) without listening on any port, until Ctrl-C or SIGTERM; another program reads
the database, or a later `serve` serves what was stored.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from scanner_agent.commands._common import add_command, add_config_option, settings_from

log = logging.getLogger("scanner_agent.run")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from scanner_agent.commands.serve import EXIT_CODES

    parser = add_command(
        sub,
        "run",
        help="run the agent: devices and storage, with the localhost API unless --no-api",
        description="Start the configured devices and store their scans; serve them on the\n"
        "localhost API as `serve` does, unless --no-api. Stops on Ctrl-C or SIGTERM. It prints\n"
        "no results (its log goes to standard error), so it has no --json.",
        examples=(
            "scanner-agent run --no-api --config config/examples/demo.toml",
            "scanner-agent run --config config/examples/demo.toml --port 0",
        ),
        exit_codes=EXIT_CODES,
    )
    add_config_option(parser)
    parser.add_argument(
        "--no-api", action="store_true", help="no HTTP: devices, pipeline and storage only"
    )
    parser.add_argument("--host", help="address to listen on (default: [api] host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: [api] port, 8765; 0: any free)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.no_api:
        from scanner_agent.commands import serve

        return serve.run(args)
    from scanner_agent.agent import Agent

    settings = settings_from(args)
    logging.basicConfig(
        level=settings.agent.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    agent = Agent(settings)
    try:
        agent.start()
        where = agent.scans.storage().where
        print(
            f"scanner-agent: running {len(settings.devices)} device(s) without the API; "
            f"scans stored in {where}",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        agent.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    status = agent.scans.storage()
    print(
        f"scanner-agent: stopped; {status.written} scan(s) written, {status.pending} not written",
        file=sys.stderr,
    )
    return 0
