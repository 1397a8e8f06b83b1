"""`scanner-agent devices`: every candidate device of this workstation, configured or not.

    scanner-agent devices [--json] [--config PATH]

Serial ports (USB vendor/product id, serial number, stable /dev/serial/by-id link), HID
interfaces (usage page: 0x8C a HID POS scanner, 0x01/0x06 a keyboard, perhaps a scanner in
keyboard mode) and cameras; each marked with the configured devices it is, and whether this
user may open it (from the node's permissions: nothing is opened), with the udev rule or group
that fixes it when not. Configured devices that match nothing are listed as missing.
Exit status: 0, or 1 when a configured device is missing or may not be opened.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from scanner_agent.commands._common import add_config_option, settings_from

if TYPE_CHECKING:
    from scanner_agent.inventory import Discovery, Inventory

_KIND = {
    "serial": "serial",
    "hid_pos": "HID POS",
    "hid_keyboard": "keyboard",
    "hid_other": "HID",
    "camera": "camera",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "devices",
        help="list the serial ports, HID devices and cameras of this machine",
        description="List every candidate device (serial ports, HID interfaces, cameras), "
        "which configured device each one is, and whether this user may open it.",
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
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
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=max(120, Console().width), highlight=False)
    table = Table(title="devices of this workstation", title_justify="left", expand=True)
    for name in ("kind", "path", "USB id", "serial", "usage", "description", "configured", "open"):
        table.add_column(name, overflow="fold")
    for e in inventory.entries:
        usb = f"{e.vid}:{e.pid}" if e.vid else ""
        usage = f"0x{e.usage_page:02X}/0x{e.usage or 0:02X}" if e.usage_page is not None else ""
        path = e.path + (f"\n{e.by_id}" if e.by_id else "")
        access = "[green]yes[/]" if e.access == "ok" else f"[red]{e.access}[/]"
        table.add_row(
            _KIND[e.kind],
            path,
            usb,
            e.serial_number or "",
            usage,
            e.description,
            ", ".join(e.configured) or "-",
            access,
        )
    if inventory.entries:
        console.print(table)
    else:
        console.print("no serial port, HID device or camera found")
    for e in inventory.entries:
        if e.fix:
            console.print(f"[red]{e.path}[/]: {e.fix}")
    for device_id in inventory.missing:
        console.print(f"[red]configured device {device_id!r} matches nothing plugged in[/]")
