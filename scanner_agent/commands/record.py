"""`scanner-agent record`: record what a configured device sends, for support to replay.

    scanner-agent record DEVICE_ID --out FILE [--config PATH] [--duration S] [--json]

Writes the device's raw traffic (serial bytes, HID POS or keyboard reports) as JSON lines
`{"t": seconds, "hex": "..."}` until Ctrl-C, `--duration` or the end of a replay. Any device
but a camera: serial, HID POS, keyboard-mode, the demo scanner (recorded as the serial scanner
it simulates: protocol `serial`, codes ended by CR) and a replay (as its `protocol`). Play it
back with a `replay` device (`protocol` = the header's `protocol`). The recording holds the
codes scanned meanwhile, member numbers included: scan test cards only, and send it through an
approved channel. `--json` prints `{"device_id", "out", "protocol", "chunks"}` at the end.
Exit status: 0 recorded, 1 the device could not be opened or was lost or the file cannot be
written, 2 usage error (no such device, a camera).
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
    from scanner_agent.config import DeviceConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "record",
        help="record a device's raw traffic for replay by support",
        description="Record the raw traffic of a configured device (serial, HID POS,\n"
        "keyboard-mode, demo or replay) as JSON lines, until Ctrl-C or --duration; play it\n"
        "back with a `replay` device. Scan test cards only: the recording holds what is\n"
        "scanned.",
        examples=(
            "scanner-agent record demo --config config/examples/demo.toml --out demo.jsonl "
            "--duration 10",
            "scanner-agent record demo --config config/examples/demo.toml --out demo.jsonl "
            "--duration 4 --json",
        ),
        exit_codes="exit status: 0 recorded, 1 the device could not be opened or was lost, "
        "or the file cannot be written, 2 usage error (no such device, a camera)",
    )
    parser.add_argument("device_id", metavar="DEVICE_ID", help="the id of a configured device")
    parser.add_argument("--out", required=True, metavar="FILE", help="the recording to write")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    add_json_option(
        parser,
        'print what was recorded as one JSON object: {"device_id", "out", "protocol", "chunks"}',
    )
    add_config_option(parser)
    parser.set_defaults(func=run, parser=parser)


def recorded_protocol(config: DeviceConfig) -> str | None:
    """The protocol a device's traffic is recorded as (a `replay` device's `protocol`); None
    for a camera, whose frames are images, not traffic (a camera replays a video file)."""
    if config.type in ("serial", "hid_pos", "hid_keyboard"):
        return config.type
    if config.type == "demo":
        return "serial"  # a simulated serial scanner: each code and CR, as bytes
    if config.type == "replay":
        return config.protocol
    return None


def run(args: argparse.Namespace) -> int:
    from drivers.replay import RecordingWriter
    from scanner_agent.devices import build_driver
    from scanner_agent.errors import DeviceError

    parser: argparse.ArgumentParser = args.parser
    settings = settings_from(args)
    config = next((d for d in settings.devices if d.id == args.device_id), None)
    if config is None:
        known = ", ".join(d.id for d in settings.devices) or "none"
        parser.error(f"no device {args.device_id!r} in the configuration (known: {known})")
    protocol = recorded_protocol(config)
    if protocol is None:
        parser.error(
            f"device {config.id!r} is a camera: it sends images, not traffic to record; "
            "save a video and play it with the camera's `source` instead"
        )
    driver = build_driver(config).driver
    try:
        driver.open()
    except DeviceError as exc:
        print(f"scanner-agent: {exc}", file=sys.stderr)
        return 1
    try:
        out = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        driver.close()
        print(f"scanner-agent: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(
        f"recording {config.id} ({driver.description}) to {args.out}; Ctrl-C to stop",
        file=sys.stderr,
    )
    status = 0
    with out:
        descriptor = getattr(driver, "descriptor", None)
        writer = RecordingWriter(out, protocol, config.id, config.type, descriptor)
        start = time.monotonic()
        deadline = None if args.duration is None else start + args.duration
        try:
            while deadline is None or time.monotonic() < deadline:
                timeout = (
                    0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
                )
                chunk = driver.read(timeout)
                if chunk:
                    writer.write(time.monotonic() - start, bytes(chunk))
                if driver.exhausted:  # a replay played to its end
                    break
        except KeyboardInterrupt:
            pass
        except DeviceError as exc:
            print(f"scanner-agent: {exc}", file=sys.stderr)
            status = 1
        finally:
            driver.close()
    print(f"{writer.count} chunk(s) recorded in {args.out}", file=sys.stderr)
    if args.json:
        summary = {
            "device_id": config.id,
            "out": str(args.out),
            "protocol": protocol,
            "chunks": writer.count,
        }
        print(json.dumps(summary))
    return status
