"""`scanner-agent watch`: run the configured devices and print what they read, until Ctrl-C.

    scanner-agent watch [--config PATH] [--json] [--count N]

Runs until Ctrl-C, `--count` scans, `--duration` seconds, or until every device has ended by
itself (a replay played once, a camera reading a video file): then the last scans, each
device's `stopped` line, and exit status 0.

IT's quick console view of a workstation's scanners: each scan (member number masked, its
decision for today first: "COUVERTE le 03/12/2026", "À VÉRIFIER" with its reason codes,
"NON COUVERTE", "REFUSÉE" with its error codes) and each
device state change (connected, disconnected with the error, diagnostics such as a keyboard
layout mismatch). `--json` prints one JSON object a line, `{"event": "scan" | "device", ...}`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    settings_from,
)

if TYPE_CHECKING:
    from scanner_agent.bus import Event
    from scanner_agent.scan import DeviceStatus, Scan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "watch",
        help="run the configured devices and print each scan and device change",
        description="Run the devices of the configuration and print each scan (member number\n"
        "masked) and each device state change, until Ctrl-C, --count, --duration, or every\n"
        "device has ended (a replay that has finished).",
        examples=(
            "scanner-agent watch --config config/examples/demo.toml --count 3",
            "scanner-agent watch --config config/examples/demo.toml --json --duration 10",
        ),
        exit_codes="exit status: 0 stopped (Ctrl-C, --count, --duration, every device "
        "ended), 1 no device could be set up, 2 no device configured or a configuration error",
    )
    add_config_option(parser)
    add_json_option(parser, 'one JSON object a line, {"event": "scan" | "device", ...}')
    parser.add_argument("--count", type=int, metavar="N", help="stop after N scans")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scanner_agent.agent import Agent
    from scanner_agent.bus import DeviceEvent, ScanEvent

    settings = settings_from(args)
    if not any(d.enabled for d in settings.devices):
        print("no devices configured: add [[devices]] to the configuration", file=sys.stderr)
        return 2
    agent = Agent(settings, storage=False)  # a console view: scans kept in memory only
    sub = agent.bus.subscribe("watch", maxsize=10_000)
    agent.start()
    readers = set(agent.device_readers())
    ended: set[str] = set()
    scans = 0
    deadline = None if args.duration is None else time.monotonic() + args.duration
    try:
        while args.count is None or scans < args.count:
            if readers <= ended:
                break  # every device has ended (a replay played): nothing more will come
            if deadline is not None and time.monotonic() >= deadline:
                break
            event = sub.get(timeout=0.2)
            if event is None:
                continue
            show(event, args.json)
            if isinstance(event, ScanEvent):
                scans += 1
            elif isinstance(event, DeviceEvent) and event.status.state == "stopped":
                # while watching, a reader stops only at its source's end, after its last scan
                ended.add(event.status.id)
        if not readers:  # no device could be set up: show why, then fail
            while (event := sub.get_nowait()) is not None:
                show(event, args.json)
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
    return 0


def show(event: Event, as_json: bool) -> None:
    print(render_json(event) if as_json else render(event), flush=True)


def render(event: Event) -> str:
    from scanner_agent.bus import ClaimEvent, ScanEvent, UnreadableEvent
    from scanner_agent.scan import UNREADABLE_MESSAGE

    if isinstance(event, ScanEvent):
        return render_scan(event.scan)
    if isinstance(event, ClaimEvent):  # only through the API (`serve`)
        return f"scan {event.scan_id} claimed by {event.claimed_by or '(released)'}"
    if isinstance(event, UnreadableEvent):
        return f"device {event.device_id}: {UNREADABLE_MESSAGE}"
    return render_device(event.status)


def render_scan(scan: Scan) -> str:
    from scanner_agent.wording import loud_headline

    a = scan.attestation.masked()
    when = scan.received_at.astimezone().strftime("%H:%M:%S.%f")[:-3]
    head = (
        f"{when} {scan.device_id} ({scan.source}{', ' + scan.symbology if scan.symbology else ''})"
    )
    decision = loud_headline(a)
    if a.valid:
        line = f"{head}: {decision}: {a.layout} AMC {a.amc_number} member {a.member_number}"
        if a.valid_from and a.valid_to:
            line += f" {a.valid_from}..{a.valid_to}"
        if a.reasons:
            line += f" [{', '.join(a.reason_codes())}]"
    else:
        line = f"{head}: {decision}: " + "; ".join(f"{e.code.value}: {e.message}" for e in a.errors)
    for warning in a.warnings:
        line += f"\n    warning {warning.code.value}: {warning.message}"
    return line


def render_device(status: DeviceStatus) -> str:
    line = f"device {status.id} ({status.type}): {status.state}"
    if status.description:
        line += f" - {status.description}"
    if status.state in ("disconnected", "error") and status.last_error:
        line += f" [{status.last_error.code}: {status.last_error.message}]"
    for diagnostic in status.diagnostics:
        line += f"\n    diagnostic {diagnostic.code}: {diagnostic.message}"
    return line


def render_json(event: Event) -> str:
    from scanner_agent.bus import ClaimEvent, DeviceEvent, ScanEvent, UnreadableEvent
    from scanner_agent.scan import CodeUnreadable

    if isinstance(event, ScanEvent):
        scan = event.scan.model_copy(update={"attestation": event.scan.attestation.masked()})
        return json.dumps({"event": "scan", **scan.model_dump(mode="json")}, ensure_ascii=False)
    if isinstance(event, ClaimEvent):  # only through the API (`serve`)
        claim = {"scan_id": event.scan_id, "claimed_by": event.claimed_by}
        at = event.claimed_at.isoformat() if event.claimed_at else None
        return json.dumps({"event": "claim", **claim, "claimed_at": at})
    if isinstance(event, UnreadableEvent):
        notice = CodeUnreadable(
            device_id=event.device_id, at=event.at, positions=[list(p) for p in event.positions]
        )
        return json.dumps({"event": "code_unreadable", **notice.model_dump(mode="json")},
                          ensure_ascii=False)  # fmt: skip
    assert isinstance(event, DeviceEvent)
    return json.dumps({"event": "device", **event.status.model_dump(mode="json")})
