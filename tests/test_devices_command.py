"""`scanner-agent devices`: discovery fed by injected enumerations, matched to the
configuration, with permissions and their fixes; the table and the JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from drivers.discovery import CameraInfo, HidInfo, SerialPortInfo
from scanner_agent import cli
from scanner_agent.config import Settings
from scanner_agent.device_access import check_access
from scanner_agent.inventory import Discovery, take_inventory

SERIAL = SerialPortInfo(
    device="/dev/ttyACM0", vid="0c2e", pid="0b61", serial_number="S1",
    description="Honeywell scanner", by_id="/dev/serial/by-id/usb-Honeywell_Scanner_S1-if00",
)  # fmt: skip
MODEM = SerialPortInfo("/dev/ttyUSB0", "067b", "2303", None, "USB-serial adapter", None)
POS = HidInfo("/dev/hidraw1", "0c2e", "0b61", "S1", "Scanner", "Honeywell", 0x8C, 0x02, 0)
KEYBOARD = HidInfo("/dev/hidraw2", "05e0", "1200", None, "Scanner", "Zebra", 0x01, 0x06, 1)
MOUSE = HidInfo("/dev/hidraw3", "046d", "c52b", None, "Receiver", "Logitech", 0x01, 0x02, 2)
CAMERA = CameraInfo("/dev/video0", "Integrated Camera")
LOCKED = {"/dev/hidraw2", "/dev/video0"}


def discovery(**extra: Any) -> Discovery:
    values: dict[str, Any] = {
        "serial_ports": lambda: [SERIAL, MODEM],
        "hid_devices": lambda: [POS, KEYBOARD, MOUSE],
        "cameras": lambda: [CAMERA],
        "access": lambda path, mode: path not in LOCKED,
        "exists": lambda path: True,
    }
    values.update(extra)
    return Discovery(**values)


DEVICES = [
    {"id": "desk", "type": "serial", "port": "", "vid": "0c2e", "pid": "0b61"},
    {"id": "by-id", "type": "serial", "port": "/dev/serial/by-id/usb-Honeywell_Scanner_S1-if00"},
    {"id": "counter", "type": "hid_pos"},
    {"id": "wedge", "type": "hid_keyboard", "vid": "05e0"},
    {"id": "kiosk", "type": "camera", "source": 0},
    {"id": "gone", "type": "serial", "vid": "1eab"},
    {"id": "replay", "type": "replay", "path": "x.jsonl"},
]


def test_every_candidate_is_listed_matched_and_checked() -> None:
    settings = Settings.model_validate({"devices": DEVICES})
    inventory = take_inventory(settings, discovery())
    by_path = {e.path: e for e in inventory.entries}
    assert [(e.kind, e.path) for e in inventory.entries] == [
        ("serial", "/dev/ttyACM0"),
        ("serial", "/dev/ttyUSB0"),
        ("hid_pos", "/dev/hidraw1"),
        ("hid_keyboard", "/dev/hidraw2"),
        ("hid_other", "/dev/hidraw3"),
        ("camera", "/dev/video0"),
    ]
    # by USB id, and by the stable link discovery gave
    assert by_path["/dev/ttyACM0"].configured == ("desk", "by-id")
    assert by_path["/dev/ttyACM0"].by_id == SERIAL.by_id
    assert by_path["/dev/ttyUSB0"].configured == ()
    assert by_path["/dev/hidraw1"].configured == ("counter",)
    assert by_path["/dev/hidraw2"].configured == ("wedge",)
    assert by_path["/dev/hidraw3"].configured == ()
    assert by_path["/dev/video0"].configured == ("kiosk",)
    assert (by_path["/dev/hidraw2"].access, by_path["/dev/video0"].access) == (
        "permission_denied",
        "permission_denied",
    )
    fix = by_path["/dev/hidraw2"].fix or ""
    assert "99-scanner-agent.rules" in fix
    assert "plugdev" in fix
    assert "video" in (by_path["/dev/video0"].fix or "")
    assert by_path["/dev/ttyACM0"].access == "ok"
    assert by_path["/dev/ttyACM0"].fix is None
    # configured devices found nowhere (replays are not hardware)
    assert inventory.missing == ["gone"]


def test_a_by_id_link_matches_its_port(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        tty = os.ttyname(slave)
        link = tmp_path / "usb-Scanner-if00"
        link.symlink_to(tty)
        port = SerialPortInfo(tty, None, None, None, "pty", str(link))
        settings = Settings.model_validate(
            {"devices": [{"id": "desk", "type": "serial", "port": str(link)}]}
        )
        found = discovery(serial_ports=lambda: [port], hid_devices=list, cameras=list)
        inventory = take_inventory(settings, found)
        assert inventory.entries[0].configured == ("desk",)
        assert inventory.missing == []
    finally:
        os.close(slave)
        os.close(master)


def test_access_of_real_nodes(tmp_path: Path) -> None:
    assert check_access("/dev/null", "serial") == ("ok", None)
    state, fix = check_access("/dev/ttyACM-not-here", "serial")
    assert state == "not_found"
    assert "scanner-agent devices" in (fix or "")
    assert check_access("COM3", "serial") == ("ok", None)  # only opening tells, on Windows
    denied, fix = check_access("/dev/null", "serial", access=lambda p, m: False)
    assert denied == "permission_denied"
    assert "dialout" in (fix or "") or "plugdev" in (fix or "")


@pytest.fixture
def injected(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's default discovery, fed by injected enumerations."""
    monkeypatch.setattr("drivers.discovery.serial_ports", lambda: [SERIAL, MODEM])
    monkeypatch.setattr("drivers.discovery.hid_devices", lambda: [POS, KEYBOARD, MOUSE])
    monkeypatch.setattr("drivers.discovery.cameras", lambda: [CAMERA])


def test_the_command_prints_json_and_a_table(
    tmp_path: Path, injected: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[[devices]]\nid = "counter"\ntype = "hid_pos"\n')
    assert cli.main(["devices", "--json", "--config", str(config)]) == 1  # nodes do not exist
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"devices", "missing"}
    assert [d["kind"] for d in data["devices"]] == [
        "serial", "serial", "hid_pos", "hid_keyboard", "hid_other", "camera",
    ]  # fmt: skip
    pos = data["devices"][2]
    assert (pos["usage_page"], pos["configured"], pos["access"]) == (0x8C, ["counter"], "not_found")
    assert set(pos) == {
        "kind", "path", "description", "vid", "pid", "serial_number", "by_id", "usage_page",
        "usage", "configured", "access", "fix",
    }  # fmt: skip
    config.write_text("")
    status = cli.main(["devices", "--config", str(config)])
    out = capsys.readouterr().out
    assert status == 0  # nothing configured: nothing missing
    for text in ("HID POS", "keyboard", "0x8C/0x02", "0c2e:0b61", "Integrated Camera", "usb-Hon"):
        assert text in out, text


def test_the_fix_names_the_group_a_node_already_belongs_to(tmp_path: Path) -> None:
    import grp

    from scanner_agent.device_access import permission_fix

    node = tmp_path / "ttyACM0"
    node.write_text("")
    mine = set(os.getgroups())
    other = next((g for g in grp.getgrall() if g.gr_gid not in mine and g.gr_name != "root"), None)
    if other is None:  # pragma: no cover - depends on the machine
        pytest.skip("every group of this machine is one of this user's")
    os.chown(node, -1, other.gr_gid)
    node.chmod(0o660)
    fix = permission_fix(str(node), "serial")
    assert f"sudo usermod -aG {other.gr_name} " in fix
    node.chmod(0o600)  # the group may not open it: the udev rule is what fixes it
    fix = permission_fix(str(node), "serial")
    assert "99-scanner-agent.rules" in fix
    assert "mode 0600" in fix
    assert "dialout" in fix


def test_libusb_paths_are_checked_on_their_usb_device_node() -> None:
    from scanner_agent.device_access import device_node

    assert device_node("0001:0004:00") == "/dev/bus/usb/001/004"
    assert device_node("0003:0011:01") == "/dev/bus/usb/003/017"
    assert device_node("/dev/hidraw1") == "/dev/hidraw1"
    asked: list[str] = []

    def access(path: str, mode: int) -> bool:
        asked.append(path)
        return False

    pos = HidInfo("0001:0004:00", "0c2e", "0b61", None, "Scanner", "Honeywell", 0x8C, 2, 0)
    found = discovery(serial_ports=list, hid_devices=lambda: [pos], cameras=list, access=access)
    (entry,) = take_inventory(Settings.model_validate({}), found).entries
    assert asked == ["/dev/bus/usb/001/004"]
    assert entry.access == "permission_denied"
    assert "/dev/bus/usb/001/004" in (entry.fix or "")
