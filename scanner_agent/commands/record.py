"""`scanner-agent record`: record what a configured device sends, for support to replay.

    scanner-agent record DEVICE_ID --out FILE [--config PATH] [--duration S]

Writes the device's raw traffic (serial bytes, HID POS or keyboard reports) as JSON lines
`{"t": seconds, "hex": "..."}` until Ctrl-C or `--duration`. Play it back with a `replay`
device (`protocol` = the device's type). The recording holds the codes scanned meanwhile,
member numbers included: scan test cards only, and send it through an approved channel.
Exit status: 0 recorded, 1 the device could not be opened or was lost, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import time

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    settings_from,
)

RECORDABLE = ("serial", "hid_pos", "hid_keyboard")


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


def run(args: argparse.Namespace) -> int:
    from drivers.replay import RecordingWriter
    from scanner_agent.devices import build_driver
    from scanner_agent.errors import DeviceError

    settings = settings_from(args)
    config = next((d for d in settings.devices if d.id == args.device_id), None)
    if config is None:
        known = ", ".join(d.id for d in settings.devices) or "none"
        args.parser.error(f"no device {args.device_id!r} in the configuration (known: {known})")
        return 2
    if config.type not in RECORDABLE:
        args.parser.error(
            f"device {config.id!r} is a {config.type} device; only {', '.join(RECORDABLE)} "
            "devices can be recorded"
        )
        return 2
    driver = build_driver(config).driver
    try:
        driver.open()
    except DeviceError as exc:
        print(f"scanner-agent: {exc}", file=sys.stderr)
        return 1
    print(
        f"recording {config.id} ({driver.description}) to {args.out}; Ctrl-C to stop",
        file=sys.stderr,
    )
    status = 0
    with open(args.out, "w", encoding="utf-8") as out:
        descriptor = getattr(driver, "descriptor", None)
        writer = RecordingWriter(out, config.type, config.id, config.type, descriptor)
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
        except KeyboardInterrupt:
            pass
        except DeviceError as exc:
            print(f"scanner-agent: {exc}", file=sys.stderr)
            status = 1
        finally:
            driver.close()
    print(f"{writer.count} chunk(s) recorded in {args.out}", file=sys.stderr)
    return status
