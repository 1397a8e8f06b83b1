"""`scanner-agent devices`: every candidate device of this workstation, configured or not.

    scanner-agent devices [--json] [--config PATH]

Serial ports (USB vendor/product id, serial number, stable /dev/serial/by-id link), HID
interfaces (usage page: 0x8C a HID POS scanner, 0x01/0x06 a keyboard, perhaps a scanner in
keyboard mode) and cameras; on Windows, the keyboards Raw Input sees (the way keyboard-mode
scanners are read there) with the USB ids of their device names. Each is marked with the
configured devices it is, and whether this user may open it (from the node's permissions:
nothing is opened), with the udev rule or group that fixes it when not. Configured devices that
match nothing are listed as missing.
Exit status: 0, or 1 when a configured device is missing or may not be opened.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    console,
    settings_from,
)

if TYPE_CHECKING:
    from scanner_agent.inventory import Discovery, Inventory

_KIND = {
    "serial": "serial",
    "hid_pos": "HID POS",
    "hid_keyboard": "keyboard",
    "hid_other": "HID",
    "raw_keyboard": "keyboard (Raw Input)",
    "camera": "camera",
}

RAW_INPUT_NOTE = (
    "keyboard mode on Windows: Raw Input only listens, the scanner's keys still reach the "
    "focused window (scanner-agent selftest says how to avoid it)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "devices",
        help="list the serial ports, HID devices and cameras of this machine",
        description="List every candidate device (serial ports, HID interfaces, cameras; on\n"
        "Windows the keyboards Raw Input sees), which configured device each one is, and\n"
        "whether this user may open it (nothing is opened), with the udev rule or group that\n"
        "fixes it when not.",
        examples=(
            "scanner-agent devices",
            "scanner-agent devices --config config/examples/demo.toml --json",
        ),
        exit_codes="exit status: 0 every configured device is plugged in and may be opened, "
        "1 a configured device is missing or may not be opened, 2 a configuration error",
    )
    add_config_option(parser)
    add_json_option(parser, "print the list as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, discovery: Discovery | None = None) -> int:
    from scanner_agent.inventory import take_inventory

    settings = settings_from(args)
    inventory = take_inventory(settings, discovery)
    if args.json:
        print(json.dumps(inventory.as_json()))
    else:
        render(inventory)
    configured_problem = any(e.configured and e.access != "ok" for e in inventory.entries)
    return 1 if inventory.missing or configured_problem else 0


def render(inventory: Inventory) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console(min_width=120)
    table = Table(title="devices of this workstation", title_justify="left", expand=True)
    for name in ("kind", "path", "USB id", "serial", "usage", "description", "configured", "open"):
        table.add_column(name, overflow="fold")
    for e in inventory.entries:
        usb = f"{e.vid}:{e.pid}" if e.vid else ""
        usage = f"0x{e.usage_page:02X}/0x{e.usage or 0:02X}" if e.usage_page is not None else ""
        path = e.path + (f"\n{e.by_id}" if e.by_id else "")
        access = "[green]yes[/]" if e.access == "ok" else f"[red]{escape(e.access)}[/]"
        table.add_row(
            escape(_KIND[e.kind]),
            escape(path),
            escape(usb),
            escape(e.serial_number or ""),
            escape(usage),
            escape(e.description),
            escape(", ".join(e.configured) or "-"),
            access,
        )
    if inventory.entries:
        out.print(table)
    else:
        out.print("no serial port, HID device or camera found")
    for e in inventory.entries:
        if e.fix:
            out.print(f"[red]{escape(e.path)}[/]: {escape(e.fix)}")
    for device_id in inventory.missing:
        out.print(f"[red]configured device {escape(repr(device_id))} matches nothing plugged in[/]")
    if any(e.kind == "raw_keyboard" and e.configured for e in inventory.entries):
        out.print(f"[yellow]{escape(RAW_INPUT_NOTE)}[/]")
