"""The Raw Input keyboard reader's pure part, on every platform: `RAWINPUT` buffers as Windows
returns them, built from what a scanner types (`tests.helpers.scancodes`), through the real
parser, the real key-to-report code and `KeyboardFramer`; which keyboards are the scanner; the
hub and the reader with a fake message window (unplug, plug back, several keyboards)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest

from drivers.errors import DeviceError, DeviceLost, DeviceNotFound
from drivers.hid_keyboard import HidKeyboardDriver, HidKeyboardParams
from drivers.rawinput import (
    GIDC_ARRIVAL,
    GIDC_REMOVAL,
    KeyRecord,
    RawInputHub,
    RawInputKeyboard,
    RawKeyboard,
    ScanCodeReports,
    ScannerMatch,
    key_code,
    list_keyboards,
    parse_device_name,
    parse_rawinput,
)
from scanner_agent.config import DeviceConfig
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.framing import KeyboardFramer
from scanner_agent.framing.frame import Frame
from tests.helpers.devices import AgentRunner, next_scan, wait_state
from tests.helpers.samples import VALID, VALID_PIPE
from tests.helpers.scancodes import (
    RI_KEY_BREAK,
    RI_KEY_E0,
    RI_KEY_E1,
    rawinput,
    rawinput_strokes,
    strokes_for,
)

SCANNER, DESK = 0x0001_0047, 0x0001_0041  # handles as Windows shows them
TEXT = VALID.replace(b"\x1d", b"|").decode()  # keyboard-mode scanners type GS as `|`

SCANNER_NAME = (
    "\\\\?\\HID#VID_0C2E&PID_0B61&MI_00#7&1a2b3c&0&0000#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}"
)
SCANNER_2_NAME = (
    "\\\\?\\HID#VID_0C2E&PID_0B61&MI_02#7&1a2b3c&0&0002#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}"
)
DESK_NAME = (
    "\\\\?\\HID#VID_046D&PID_C31C&MI_00#7&2f1e0d&0&0000#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}"
)
PS2_NAME = "\\\\?\\ACPI#PNP0303#4&2f94427b&0#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}"


def keyboard(handle: int, name: str) -> RawKeyboard:
    return RawKeyboard(handle, name, *parse_device_name(name))


def frames_of(buffers: list[bytes], layout: Any, handles: tuple[int, ...] = (SCANNER,)) -> Any:
    reports = ScanCodeReports(handles)
    framer = KeyboardFramer(layout)
    frames: list[Frame] = []
    for i, buffer in enumerate(buffers):
        record = parse_rawinput(buffer)
        assert record is not None
        report = reports.feed(record)
        if report is not None:
            frames += framer.feed(report, i * 0.001)
    return frames, reports


# --- RAWINPUT buffers ---------------------------------------------------------------------------


def test_a_64_bit_rawinput_keyboard_record() -> None:
    buffer = rawinput(0x1234_5678_9ABC, 0x38, RI_KEY_E0 | RI_KEY_BREAK)
    assert len(buffer) == 40  # sizeof(RAWINPUT) for a keyboard on 64-bit Windows
    assert parse_rawinput(buffer, 8) == KeyRecord(0x1234_5678_9ABC, 0x38, RI_KEY_E0 | RI_KEY_BREAK)


def test_a_32_bit_rawinput_and_other_records() -> None:
    assert parse_rawinput(rawinput(0x47, 0x1E, pointer_size=4), 4) == KeyRecord(0x47, 0x1E, 0)
    assert parse_rawinput(rawinput(0x47, 0x1E, type_=0)) is None  # RIM_TYPEMOUSE
    assert parse_rawinput(rawinput(0x47, 0x1E, type_=2)) is None  # RIM_TYPEHID
    assert parse_rawinput(rawinput(0x47, 0x1E)[:30]) is None  # cut short: never a crash
    assert parse_rawinput(b"") is None


def test_scan_codes_to_linux_key_codes() -> None:
    assert key_code(0x1E, 0) == 30  # A
    assert key_code(0x1C, 0) == 28  # Enter
    assert key_code(0x1C, RI_KEY_E0) == 96  # keypad Enter
    assert key_code(0x38, 0) == 56  # left Alt
    assert key_code(0x38, RI_KEY_E0) == 100  # AltGr
    assert key_code(0x1D, RI_KEY_E0) == 97  # right Ctrl
    assert key_code(0x47, 0) == 71  # keypad 7
    assert key_code(0x47, RI_KEY_E0) == 102  # Home
    assert key_code(0x2A, RI_KEY_E0) is None  # a fake shift
    assert key_code(0x1D, RI_KEY_E1) is None  # Pause
    assert key_code(0xFF, 0) is None  # overrun
    assert key_code(0x00, 0) is None
    assert key_code(0x64, 0) is None  # F13: no key a code is typed with


# --- a scanner typing a payload -----------------------------------------------------------------


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_a_scanner_typing_a_payload(layout: Any) -> None:
    buffers = rawinput_strokes(SCANNER, strokes_for(layout, "]d1" + TEXT))
    (frame,), reports = frames_of(buffers, layout)
    assert frame.data == TEXT.encode()
    assert frame.symbology == "]d1"
    assert reports.unknown == 0


def test_azerty_types_its_symbols_with_altgr_an_e0_key() -> None:
    strokes = strokes_for("fr", VALID_PIPE.decode())
    assert (0x38, True, False) in strokes  # AltGr down: E0 38
    (frame,), _ = frames_of(rawinput_strokes(SCANNER, strokes), "fr")
    assert frame.data == VALID_PIPE
    assert frame.alternates[0][0] == "us" and frame.alternates[0][1] != VALID_PIPE


def test_the_desk_keyboard_typing_at_the_same_time_is_ignored() -> None:
    scanner = rawinput_strokes(SCANNER, strokes_for("us", "AMC:0775627391"))
    desk = rawinput_strokes(DESK, strokes_for("us", "password\n"))
    mixed = [b for pair in zip(scanner, desk, strict=False) for b in pair]
    mixed += scanner[len(desk) :]
    (frame,), _ = frames_of(mixed, "us")
    assert frame.data == b"AMC:0775627391"


def test_injected_input_with_a_null_handle_is_not_the_scanner() -> None:
    frames, _ = frames_of(rawinput_strokes(0, strokes_for("us", "AB")), "us")
    assert frames == []


def test_break_and_make_autorepeat_counts_once() -> None:
    a, enter = 0x1E, 0x1C
    buffers = [
        rawinput(SCANNER, a),
        rawinput(SCANNER, a),  # autorepeat: Raw Input repeats the make
        rawinput(SCANNER, a),
        rawinput(SCANNER, a, RI_KEY_BREAK),
        rawinput(SCANNER, a, RI_KEY_BREAK),  # a second break: nothing
        rawinput(SCANNER, a),
        rawinput(SCANNER, a, RI_KEY_BREAK),
        rawinput(SCANNER, enter),
        rawinput(SCANNER, enter, RI_KEY_BREAK),
    ]
    (frame,), _ = frames_of(buffers, "us")
    assert frame.data == b"aa"


def test_right_shift_keypad_enter_and_keypad_digits() -> None:
    buffers = [
        rawinput(SCANNER, 0x36),  # right Shift down
        rawinput(SCANNER, 0x1E),
        rawinput(SCANNER, 0x1E, RI_KEY_BREAK),
        rawinput(SCANNER, 0x36, RI_KEY_BREAK),
        rawinput(SCANNER, 0x4F),  # keypad 1 (Num Lock on)
        rawinput(SCANNER, 0x4F, RI_KEY_BREAK),
        rawinput(SCANNER, 0x35, RI_KEY_E0),  # keypad /
        rawinput(SCANNER, 0x35, RI_KEY_E0 | RI_KEY_BREAK),
        rawinput(SCANNER, 0x1C, RI_KEY_E0),  # keypad Enter ends the code
        rawinput(SCANNER, 0x1C, RI_KEY_E0 | RI_KEY_BREAK),
    ]
    (frame,), _ = frames_of(buffers, "fr")
    assert frame.data == b"Q1/"


def test_fake_shifts_pause_and_unknown_scan_codes_are_ignored_never_fatal() -> None:
    buffers = [
        rawinput(SCANNER, 0x2A, RI_KEY_E0),  # fake shift Windows adds around E0 keys
        rawinput(SCANNER, 0x47, RI_KEY_E0),  # Home: a key, but none a code is typed with
        rawinput(SCANNER, 0x47, RI_KEY_E0 | RI_KEY_BREAK),
        rawinput(SCANNER, 0x2A, RI_KEY_E0 | RI_KEY_BREAK),
        rawinput(SCANNER, 0x1E),
        rawinput(SCANNER, 0x1E, RI_KEY_BREAK),
        rawinput(SCANNER, 0x1D, RI_KEY_E1),  # Pause: E1 1D then 45
        rawinput(SCANNER, 0x45),
        rawinput(SCANNER, 0x45, RI_KEY_BREAK),
        rawinput(SCANNER, 0x7E),  # nothing known
        rawinput(SCANNER, 0xFF),  # overrun
        rawinput(SCANNER, 0x1C),
        rawinput(SCANNER, 0x1C, RI_KEY_BREAK),
    ]
    (frame,), reports = frames_of(buffers, "us")
    assert frame.data == b"a"  # no Shift held: the fake shift changed nothing
    assert reports.unknown == 5  # Home down/up, Num Lock's 45 down/up, 7E


# --- which keyboards are the scanner ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        (SCANNER_NAME, ("0c2e", "0b61", None)),  # a composite's interface: no serial number
        (
            "\\\\?\\HID#VID_0C2E&PID_0B61#SN0042#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}",
            ("0c2e", "0b61", "SN0042"),
        ),
        (  # an id Windows made up: not a serial number
            "\\\\?\\HID#VID_0C2E&PID_0B61#7&1a2b3c&0&0000#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}",
            ("0c2e", "0b61", None),
        ),
        (
            "\\\\?\\HID#VID_0C2E&PID_0B61&Col01#SN0042#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}",
            ("0c2e", "0b61", None),
        ),
        (PS2_NAME, (None, None, None)),
        ("\\\\?\\Root#RDP_KBD#0000#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}", (None, None, None)),
        (
            "\\\\?\\hid#vid_845e&pid_0002#1&2d595ca7&0&0000#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}",
            ("845e", "0002", None),
        ),
    ],
)
def test_parse_device_name(name: str, ids: tuple[str | None, ...]) -> None:
    assert parse_device_name(name) == ids


SEEN = [
    keyboard(DESK, DESK_NAME),
    keyboard(SCANNER, SCANNER_NAME),
    keyboard(0x0001_0049, SCANNER_2_NAME),
    keyboard(0x0001_003F, PS2_NAME),
]


def test_every_interface_of_a_composite_scanner_is_kept_never_the_desk_keyboard() -> None:
    kept = ScannerMatch(vid="0C2E", pid="0b61").choose(SEEN)
    assert [k.handle for k in kept] == [SCANNER, 0x0001_0049]
    assert ScannerMatch(path=SCANNER_NAME.lower()).choose(SEEN) == [SEEN[1]]
    hidapi_path = SCANNER_NAME.replace(
        "{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}", "{4d1e55b2-f16f-11cf-88cb-001111000030}"
    )
    assert ScannerMatch(path=hidapi_path).choose(SEEN) == [SEEN[1]]  # the same collection
    with pytest.raises(DeviceNotFound):
        ScannerMatch(path=SCANNER_NAME.replace("MI_00", "MI_01")).choose(SEEN)
    assert ScannerMatch(vid="046d", pid="c31c").choose(SEEN) == [SEEN[0]]


def test_a_vendor_id_alone_takes_no_keyboard() -> None:
    """Through Raw Input a vendor id alone could take the desk keyboard of the same vendor, and
    every key typed on it: a `pid` (or a `path`) is required."""
    with pytest.raises(DeviceNotFound, match="set `pid` too"):
        ScannerMatch(vid="046d").choose(SEEN)
    assert not ScannerMatch(vid="046d").matches(SEEN[0])


def test_no_scanner_lists_the_keyboards_seen_with_their_ids() -> None:
    with pytest.raises(DeviceNotFound) as raised:
        ScannerMatch(vid="05e0", pid="1200").choose(SEEN)
    message = str(raised.value)
    assert "USB 05e0:1200" in message
    assert f"046d:c31c {DESK_NAME}" in message
    assert f"0c2e:0b61 {SCANNER_NAME}" in message
    assert f"no USB id {PS2_NAME}" in message
    with pytest.raises(DeviceNotFound, match="Raw Input sees: none"):
        ScannerMatch(vid="05e0", pid="1200").choose([])


def test_a_serial_number_the_names_cannot_hold_is_said() -> None:
    with pytest.raises(DeviceNotFound, match=r"hold no such serial number.*set `path`"):
        ScannerMatch(vid="0c2e", pid="0b61", serial_number="S1").choose(SEEN)
    named = keyboard(7, "\\\\?\\HID#VID_0C2E&PID_0B61#S1#{884b96c3-56ef-11d1-bc8c-00a0c91e6bf6}")
    assert ScannerMatch(vid="0c2e", pid="0b61", serial_number="s1").choose([*SEEN, named]) == [
        named
    ]


def test_without_ids_or_path_nothing_is_kept() -> None:
    with pytest.raises(DeviceNotFound, match="set `vid`"):
        ScannerMatch().choose(SEEN)
    assert not ScannerMatch().matches(SEEN[1])


def test_list_keyboards_is_windows_only() -> None:
    with pytest.raises(DeviceError, match="Windows only"):
        list_keyboards()


# --- the hub and the reader, with a fake message window ----------------------------------------


class FakeWindow:
    """Stands for the message-only window: the test delivers what Windows would."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.on_input: Callable[[bytes], None] = lambda b: None
        self.on_change: Callable[[int, int], None] = lambda k, h: None
        self.on_stopped: Callable[[DeviceError], None] = lambda e: None

    def start(
        self,
        on_input: Callable[[bytes], None],
        on_device_change: Callable[[int, int], None],
        on_stopped: Callable[[DeviceError], None],
    ) -> None:
        self.on_input, self.on_change, self.on_stopped = on_input, on_device_change, on_stopped
        self.log.append("start")

    def stop(self) -> None:
        self.log.append("stop")


class Desk:
    """The keyboards of a desk and the one window a process has."""

    def __init__(self) -> None:
        self.keyboards = list(SEEN)
        self.log: list[str] = []
        self.windows: list[FakeWindow] = []
        self.hub = RawInputHub(self.window, self.name_of)

    def window(self) -> FakeWindow:
        self.windows.append(FakeWindow(self.log))
        return self.windows[-1]

    def name_of(self, handle: int) -> str | None:
        return next((k.path for k in self.keyboards if k.handle == handle), None)

    def type(self, handle: int, text: str, layout: Any = "us") -> None:
        for buffer in rawinput_strokes(handle, strokes_for(layout, text)):
            self.windows[-1].on_input(buffer)

    def unplug(self, handle: int) -> None:
        self.keyboards = [k for k in self.keyboards if k.handle != handle]
        self.windows[-1].on_change(GIDC_REMOVAL, handle)

    def plug(self, handle: int, name: str) -> None:
        self.keyboards.append(keyboard(handle, name))
        self.windows[-1].on_change(GIDC_ARRIVAL, handle)


def reader(desk: Desk, **match: Any) -> RawInputKeyboard:
    return RawInputKeyboard(ScannerMatch(**match), lambda: list(desk.keyboards), desk.hub)


def read_reports(keyboard: RawInputKeyboard) -> list[bytes]:
    out = []
    while (report := keyboard.read(0.0)) is not None:
        out.append(report)
    return out


def reports_until_lost(keyboard: RawInputKeyboard) -> tuple[list[bytes], DeviceLost | None]:
    out: list[bytes] = []
    try:
        while (report := keyboard.read(0.0)) is not None:
            out.append(report)
    except DeviceLost as exc:
        return out, exc
    return out, None


def typed(reports: list[bytes], layout: Any = "us") -> list[bytes]:
    framer = KeyboardFramer(layout)
    return [f.data for r in reports for f in framer.feed(r, 1.0)]


def test_unplugged_after_its_last_keys_then_found_again_with_a_new_handle() -> None:
    desk = Desk()
    scanner = reader(desk, vid="0c2e", pid="0b61")
    scanner.open()
    desk.type(SCANNER, "AB\r")
    desk.type(DESK, "xy\r")
    desk.unplug(DESK)  # not the scanner: nothing happens
    desk.unplug(SCANNER)
    reports, lost = reports_until_lost(scanner)
    assert typed(reports) == [b"AB"]  # the keys typed before the unplug came first
    assert "unplugged" in str(lost)
    with pytest.raises(DeviceLost):
        scanner.read(0.0)  # and it stays lost until reopened
    scanner.close()
    assert desk.log == ["start", "stop"]

    desk.keyboards = [k for k in desk.keyboards if k.handle != 0x0001_0049]
    desk.keyboards.append(keyboard(0x0002_0011, SCANNER_NAME))  # plugged back: a new handle
    scanner.open()  # as the device manager does after its back-off
    assert [k.handle for k in scanner.keyboards] == [0x0002_0011]
    desk.type(0x0002_0011, "CD\r")
    desk.type(SCANNER, "EF\r")  # the old handle is gone for good
    assert typed(read_reports(scanner)) == [b"CD"]
    scanner.close()


def test_a_matching_keyboard_arriving_while_open_is_kept_another_is_not() -> None:
    desk = Desk()
    desk.keyboards = [SEEN[0], SEEN[1]]
    scanner = reader(desk, vid="0c2e", pid="0b61")
    scanner.open()
    desk.plug(0x0001_0049, SCANNER_2_NAME)  # the composite's other interface
    desk.plug(0x0003_0001, "\\\\?\\HID#VID_1234&PID_5678#9&1&0&0000#{884b96c3}")
    desk.type(0x0001_0049, "A\r")
    desk.type(0x0003_0001, "B\r")
    assert typed(read_reports(scanner)) == [b"A"]
    assert [k.handle for k in scanner.keyboards] == [SCANNER, 0x0001_0049]
    scanner.close()


def test_two_scanners_share_the_one_window_each_gets_its_keys() -> None:
    desk = Desk()
    first = reader(desk, vid="0c2e", pid="0b61")
    second = reader(desk, vid="046d", pid="c31c")  # say the second scanner's ids are these
    first.open()
    second.open()
    assert desk.log == ["start"]  # one registration per process
    desk.type(SCANNER, "12\r")
    desk.type(DESK, "34\r")
    assert typed(read_reports(first)) == [b"12"]
    assert typed(read_reports(second)) == [b"34"]
    first.close()
    assert desk.log == ["start"]
    desk.type(DESK, "56\r")
    assert typed(read_reports(second)) == [b"56"]
    second.close()
    assert desk.log == ["start", "stop"]
    first.open()
    assert desk.log == ["start", "stop", "start"]
    first.close()


def test_a_failed_window_makes_every_reader_lost_and_the_next_open_starts_another() -> None:
    desk = Desk()
    scanner = reader(desk, vid="0c2e", pid="0b61")
    scanner.open()
    desk.windows[-1].on_stopped(DeviceLost("Raw Input: GetMessageW failed"))
    with pytest.raises(DeviceLost, match="GetMessageW"):
        scanner.read(0.0)
    scanner.close()
    scanner.open()
    assert len(desk.windows) == 2
    desk.type(SCANNER, "Z\r")
    assert typed(read_reports(scanner)) == [b"Z"]
    scanner.close()


def test_no_scanner_at_open_leaves_no_window() -> None:
    desk = Desk()
    scanner = reader(desk, vid="05e0", pid="1200")
    with pytest.raises(DeviceNotFound):
        scanner.open()
    assert desk.log == []
    with pytest.raises(DeviceLost, match="not open"):
        scanner.read(0.0)
    scanner.close()


def test_the_real_hub_exists_on_windows_only() -> None:
    match = ScannerMatch(vid="0c2e", pid="0b61")
    keyboard_reader = RawInputKeyboard(match, lister=lambda: list(SEEN))
    with pytest.raises(DeviceError, match="Windows only"):
        keyboard_reader.open()


# --- the hid_keyboard driver and the agent ------------------------------------------------------


def test_the_driver_says_raw_input_and_the_ids() -> None:
    desk = Desk()
    params = HidKeyboardParams(vid="0c2e", pid="0b61", backend="rawinput", layout="fr")
    driver = HidKeyboardDriver(
        params, rawinput_list=lambda: list(desk.keyboards), rawinput_hub=desk.hub
    )
    driver.open()
    assert driver.description == (
        f"Raw Input USB 0c2e:0b61 {SCANNER_NAME} + {SCANNER_2_NAME} layout fr"
    )
    desk.type(0x0001_0049, "]d1" + TEXT, "fr")
    reports = []
    while (report := driver.read(0.0)) is not None:
        reports.append(report)
    framer = KeyboardFramer("fr")
    (frame,) = [f for r in reports for f in framer.feed(r, 1.0)]
    assert (frame.data, frame.symbology) == (TEXT.encode(), "]d1")
    driver.close()
    assert desk.log == ["start", "stop"]


def test_the_rawinput_backend_elsewhere_than_windows_says_so() -> None:
    driver = HidKeyboardDriver(HidKeyboardParams(vid="0c2e", backend="rawinput"))
    with pytest.raises(DeviceError, match="Windows only"):
        driver.open()


@pytest.fixture
def desk_agent(agents: AgentRunner) -> Callable[[Desk, list[dict[str, Any]]], Any]:
    def start(desk: Desk, devices: list[dict[str, Any]]) -> Any:
        def driver_factory(config: DeviceConfig) -> DriverSetup:
            setup = build_driver(config)
            setup.driver._raw_list = lambda: list(desk.keyboards)  # type: ignore[union-attr]
            setup.driver._raw_hub = desk.hub  # type: ignore[union-attr]
            return setup

        return agents.start(devices, driver_factory, reconnect_max_s=0.1)

    return start


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_through_the_agent_unplugged_and_plugged_back(desk_agent: Any, layout: str) -> None:
    desk = Desk()
    device = {"id": "wedge", "type": "hid_keyboard", "vid": "0c2e", "pid": "0b61",
              "backend": "rawinput", "layout": layout}  # fmt: skip
    agent, sub = desk_agent(desk, [device])
    wait_state(sub, "wedge", "connected")
    desk.type(SCANNER, "]d1" + TEXT, layout)
    scan = next_scan(sub)
    assert scan.source == "hid_keyboard"
    assert scan.attestation.amc_number == "0775627391"
    assert scan.attestation.valid

    for handle in (SCANNER, 0x0001_0049):
        desk.unplug(handle)
    wait_state(sub, "wedge", "disconnected")
    desk.keyboards.append(keyboard(0x0002_0011, SCANNER_NAME))
    wait_state(sub, "wedge", "connected")
    desk.type(0x0002_0011, VALID_PIPE.decode(), layout)
    assert next_scan(sub).attestation.amc_number == "774734488"
    status = agent.device("wedge")
    assert status.counters.reconnects >= 1
    assert "Raw Input" in status.description


def test_through_the_agent_a_device_with_other_ids_gets_nothing(desk_agent: Any) -> None:
    desk = Desk()
    device = {"id": "other", "type": "hid_keyboard", "vid": "05e0", "pid": "1200",
              "backend": "rawinput"}  # fmt: skip
    _agent, sub = desk_agent(desk, [device])
    event = wait_state(sub, "other", "disconnected")
    assert event.status.last_error is not None
    assert event.status.last_error.code == "device_not_found"
    assert "0c2e:0b61" in event.status.last_error.message
    assert desk.windows == []


def test_record_layout_is_the_documented_one() -> None:
    """RAWINPUTHEADER then RAWKEYBOARD, as winuser.h declares them (64-bit)."""
    buffer = rawinput(0xABCD, 0x1E, RI_KEY_BREAK)
    assert struct.unpack_from("<IIQQ", buffer) == (1, 40, 0xABCD, 1)
    assert struct.unpack_from("<HHHHII", buffer, 24) == (0x1E, RI_KEY_BREAK, 0, 0x41, 0x0101, 0)
    assert parse_rawinput(buffer) == KeyRecord(0xABCD, 0x1E, RI_KEY_BREAK)
    assert RI_KEY_E1 == 4
