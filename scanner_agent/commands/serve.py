"""`scanner-agent serve`: run the agent and its localhost API.

    scanner-agent serve [--config PATH] [--host H] [--port P]

Listens on 127.0.0.1 and ::1 by default. Any other address must be configured explicitly
(`[api] host`, or `--host`); the API still refuses Host headers that are not in its allow-list.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from scanner_agent.commands._common import add_command, add_config_option, settings_from

if TYPE_CHECKING:
    import socket

EXIT_CODES = (
    "exit status: 0 stopped (Ctrl-C, SIGTERM), 2 a configuration error or the address cannot "
    "be listened on"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "serve",
        help="run the agent: devices, storage and the localhost API",
        description="Start the configured devices and serve scans on the localhost API\n"
        "(see README, 'API'). Stops on Ctrl-C or SIGTERM. It prints no results (its log goes\n"
        "to standard error), so it has no --json.",
        examples=(
            "scanner-agent serve",
            "scanner-agent serve --config config/examples/demo.toml --port 9000",
        ),
        exit_codes=EXIT_CODES,
    )
    add_config_option(parser)
    parser.add_argument("--host", help="address to listen on (default: [api] host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: [api] port, 8765; 0: any free)")
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets: both loopbacks for the default, else exactly `host`."""
    import socket

    targets = ["127.0.0.1", "::1"] if host in ("127.0.0.1", "localhost") else [host]
    sockets: list[socket.socket] = []
    for address in targets:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this machine
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((address.strip("[]"), port))
        except OSError:
            sock.close()
            if address == "::1" and sockets:
                continue  # IPv6 loopback unavailable: IPv4 alone is fine
            raise
        port = port or sock.getsockname()[1]  # the free port the first bind chose, for both
        sock.listen(128)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn  # only `serve` pays for the web stack

    from api.app import create_app
    from api.server import server_config

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = settings_from(args, {"api": overrides} if overrides else None)
    logging.basicConfig(
        level=settings.agent.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    host = settings.api.host
    if not is_loopback(host):
        log = logging.getLogger("scanner_agent.serve")
        log.warning("listening on %s: reachable from the network, as configured", host)
    try:
        sockets = bind(host, settings.api.port)
    except OSError as exc:
        print(f"scanner-agent: cannot listen on {host}:{settings.api.port}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    port = sockets[0].getsockname()[1]
    if port != settings.api.port:
        settings = settings_from(args, {"api": {**overrides, "port": port}})
    app = create_app(settings)
    token = app.state.api.token
    where = ", ".join(_address(s) for s in sockets)
    print(f"scanner-agent: API on {where}; token from {token.source}", file=sys.stderr)
    config = server_config(app, settings, log_level=settings.agent.log_level)
    uvicorn.Server(config).run(sockets=sockets)
    return 0


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
