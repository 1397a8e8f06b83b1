"""The IT self-test: is this workstation ready to read attestations? Levels after UnifiedPOS
CheckHealth:

- **internal**: nothing is opened. The configuration, the layouts, the referential, the
  decoders (a test-card symbol rendered and decoded), the storage (reachable), and for each
  configured device whether it is plugged in and may be opened (permissions), plus what its
  configuration says (keyboard mode).
- **external**: each configured device is opened and read for a short while (`seconds`); what
  arrives is framed and parsed exactly as the agent does (the device's own framer, then the
  pipeline, whose diagnostics, such as a keyboard layout mismatch, are reported), and the raw
  bytes are examined for a wrong suffix, noise and the AIM identifier. A camera's real frame
  rate, resolution and decode time are measured.
- **interactive**: the operator scans the printed test card (`scanner-agent testcard`) within a
  time limit; exactly the card's codes must arrive, each read or refused as designed.

The report (`SelfTestReport`, the JSON of `scanner-agent selftest --json` and of
`POST /v1/selftest`) has a verdict (pass, warn, fail) for the whole and for each device, and a
list of checks, each with a stable `code`, a `verdict`, a `message` and a `fix`. Clients and
the operator page branch on codes; `CHECKS` gives every code with its generic fix (the README's
troubleshooting table is made of it).

While the agent runs, its devices are open (a serial port exclusively): the self-test of a
running agent (`live_report`) does not reopen them. It reports each device from the agent's own
state, last error, counters and diagnostics instead, and measures nothing it would have to open.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from scanner_agent.aim import describe as describe_symbology
from scanner_agent.attestation import Attestation
from scanner_agent.bus import EventBus
from scanner_agent.config import (
    CameraDevice,
    DeviceConfig,
    HidKeyboardDevice,
    HidPosDevice,
    ReplayDevice,
    SerialDevice,
    Settings,
)
from scanner_agent.devices import DriverSetup, build_driver
from scanner_agent.errors import ConfigError, DeviceError, ScannerAgentError
from scanner_agent.framing import SUFFIXES, Frame
from scanner_agent.inventory import Discovery, check_access, device_node, take_inventory
from scanner_agent.parse_context import ParseContext
from scanner_agent.pipeline import KEYBOARD_LAYOUT_MISMATCH, DeviceStates, Incoming, Pipeline
from scanner_agent.scan import DeviceStatus, Scan
from scanner_agent.testcard import FIXED, GS1_MEDICINE, TAGGED, TEST_CODES, TestCode

Verdict = Literal["pass", "warn", "fail"]
Level = Literal["internal", "external", "interactive"]
LEVELS: tuple[Level, ...] = ("internal", "external", "interactive")
_RANK = {"pass": 0, "warn": 1, "fail": 2}

EXIT_STATUS = {"pass": 0, "warn": 1, "fail": 2}

UDEV_FIX = (
    "install config/udev/99-scanner-agent.rules into /etc/udev/rules.d/, run `sudo udevadm "
    "control --reload && sudo udevadm trigger`, add the agent's user to plugdev (`sudo usermod "
    "-aG plugdev USER`) and log in again"
)

# Every check code, with its generic fix ("" for a pass). Codes are never renamed.
CHECKS: dict[str, str] = {
    # agent level (internal)
    "config_ok": "",
    "config_invalid": "run `scanner-agent config --config FILE`: the message names the key and "
    "the file; fix it until it passes",
    "layouts_loaded": "",
    "layouts_invalid": "the message names the layout file and key; fix it or remove the folder "
    "from parser.layouts_dirs",
    "referential_loaded": "",
    "referential_invalid": "the message names the CSV line; fix it (columns amc_number,name,"
    "roc,updated) or point parser.referential at a good file",
    "testcard_parsed": "",
    "testcard_not_parsed": "the layouts in parser.layouts_dirs must include the shipped ones "
    "(config/layouts): keep {config_dir}/layouts in the list",
    "decoder_ok": "",
    "decoder_failed": "reinstall the agent (zxing-cpp, OpenCV); check the [decoder] section",
    "libdmtx_missing": "install the system library libdmtx (Debian/Ubuntu: `sudo apt-get "
    "install libdmtx0b`), or set decoder.libdmtx = false",
    "storage_ok": "",
    "storage_unavailable": "check storage.url and that the data folder (agent.data_dir) is "
    "writable by the agent's user; for PostgreSQL, that the server is up and reachable",
    "no_devices": "add a [[devices]] table per scanner or camera; `scanner-agent devices` "
    "lists what this workstation has",
    # device level
    "device_disabled": "",
    "device_present": "",
    "device_not_found": "plug the device in; check `port` / `vid` / `pid` / `path` / `source` "
    "against `scanner-agent devices`",
    "permission_denied": UDEV_FIX,
    "device_busy": "another program holds the device: close it (a terminal program, "
    "ModemManager, a second agent; `fuser -v /dev/ttyACM0` names it). To test the devices of a "
    "running agent, call POST /v1/selftest instead",
    "device_error": "read the message; unplug and plug the device back in",
    "opened": "",
    "no_data": "scan a code within the time limit; check the scanner is in the configured mode "
    "(serial, HID POS or keyboard) and beeps when it reads",
    "codes_read": "",
    "codes_refused": "look at the error codes: `not_an_attestation` on every code usually means "
    "a framing or layout problem (see the other checks)",
    "noise": "bytes that belong to no code arrive (line noise, a wrong baud rate or parity, "
    "ModemManager probing the port): check baudrate/parity against the scanner's settings and "
    "install the udev rule (ID_MM_DEVICE_IGNORE)",
    "wrong_suffix": "set `suffix` to what the scanner sends, or program the scanner's suffix "
    "with its setup codes",
    "frame_never_ends": 'the scanner sends no suffix: set suffix = "none" (codes end after '
    "idle_ms of silence), or better, program the scanner to send CR",
    "idle_framing": "the scanner ends its codes with a suffix: set `suffix` to it; idle framing "
    "can split a code when the link stalls",
    "aim_present": "",
    "aim_missing": "enable the AIM symbology identifier on the scanner ('transmit AIM ID' setup "
    "code): without it a QR Code or a GS1 code cannot be refused by its symbology",
    "keyboard_layout_mismatch": "set `layout` to the scanner's layout, or scan the scanner's "
    "keyboard-layout setup code",
    "keyboard_mode": 'switch the scanner to HID POS (type = "hid_pos") or USB serial '
    '(type = "serial") with its setup codes: keyboard mode loses GS separators and depends '
    "on the keyboard layout",
    "separators_lost": "the scanner drops GS (keyboard mode): the scans are still read; HID POS "
    "or serial mode keeps GS",
    "frames_dropped": "the scan queue overflowed or codes were too long: see the device's last "
    "error; raise pipeline.queue_size or check the suffix",
    "camera_no_frames": "check the camera is not used by another program (a video call) and "
    "that the user is in the video group",
    "camera_measured": "",
    "camera_resolution": "the camera gives fewer pixels than configured: lower `width`/`height` "
    "to what it gives, or use a camera that reaches it (small codes need pixels)",
    "camera_frame_rate": "the camera or the decoder cannot keep up: lower `fps`, `width` and "
    "`height`, or decoder.time_budget_ms",
    "camera_decode_slow": "decoding takes longer than the time between frames: lower `fps` or "
    "the resolution, or decoder.time_budget_ms",
    "live_state": "",
    "not_measured_live": "",
    "testcard_complete": "",
    "testcard_incomplete": "scan every attestation of the test card (codes 1 to 6) within the "
    "time limit; a code that does not read at all: check the module size your scanner supports",
    "testcard_outcome": "a test-card code was not read or refused as designed: see the message",
    "unexpected_code": "scan the test card only during the interactive self-test",
}

# The card's GS1 DataMatrix as a scanner sends it (element strings, no parentheses; only the
# last one is variable-length, so no GS is needed).
GS1_WIRE = GS1_MEDICINE.replace("(01)", "01").replace("(17)", "17").replace("(10)", "10").encode()


class Check(BaseModel):
    code: str
    verdict: Verdict
    message: str
    fix: str = ""


class DeviceReport(BaseModel):
    device_id: str
    type: str
    verdict: Verdict = "pass"
    checks: list[Check] = Field(default_factory=list)
    measurements: dict[str, Any] = Field(default_factory=dict)


class SelfTestReport(BaseModel):
    verdict: Verdict
    level: Level
    started_at: datetime
    duration_ms: float
    checks: list[Check] = Field(default_factory=list)
    devices: list[DeviceReport] = Field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.verdict]


def worst(verdicts: Iterable[str]) -> Verdict:
    result: Verdict = "pass"
    for v in verdicts:
        if _RANK[v] > _RANK[result]:
            result = v  # type: ignore[assignment]
    return result


def check(code: str, verdict: Verdict, message: str, fix: str | None = None) -> Check:
    """A check; its fix is the generic one of `CHECKS` unless a more precise one is given."""
    if code not in CHECKS:  # pragma: no cover - a programming error
        raise KeyError(f"unknown self-test check code {code!r}")
    return Check(
        code=code,
        verdict=verdict,
        message=message,
        fix="" if verdict == "pass" else (fix or CHECKS[code]),
    )


def _finish(device: DeviceReport) -> DeviceReport:
    device.verdict = worst(c.verdict for c in device.checks)
    return device


# --- options ------------------------------------------------------------------------------


Prompt = Callable[[str], None]
DecodeFunction = Callable[[Any], list[Any]]
SelfTestFactory = Callable[[DeviceConfig, DecodeFunction], DriverSetup]


def default_factory(config: DeviceConfig, decode: DecodeFunction) -> DriverSetup:
    return build_driver(config, decode=decode)


@dataclass
class Options:
    """How the self-test runs; everything with a side effect is injectable."""

    level: Level = "external"
    device: str | None = None
    seconds: float | None = None
    """How long each device is read: default 2 s (external), 60 s (interactive)."""
    prompt: Prompt = lambda message: None
    factory: SelfTestFactory = default_factory
    discovery: Discovery = field(default_factory=Discovery)
    today: Callable[[], date] = date.today
    monotonic: Callable[[], float] = time.monotonic
    storage: bool = True
    """Check that the storage is reachable (opens the database)."""

    def read_seconds(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return 60.0 if self.level == "interactive" else 2.0


# --- internal: the agent ------------------------------------------------------------------


def agent_checks(
    settings: Settings, options: Options, storage_check: Callable[[], Check] | None = None
) -> tuple[list[Check], ParseContext | None]:
    """Layouts, referential, the test card's payloads, decoders, storage; the parse context
    when layouts and referential loaded."""
    from scanner_agent.layouts import load_layouts  # noqa: PLC0415
    from scanner_agent.referential import Referential  # noqa: PLC0415

    checks = [check("config_ok", "pass", "configuration read from " + " + ".join(settings.sources))]
    layouts = referential = None
    try:
        layouts = load_layouts(settings.layout_dirs)
        names = ", ".join(layout.name for layout in layouts)
        checks.append(check("layouts_loaded", "pass", f"{len(layouts)} layout(s): {names}"))
    except ConfigError as exc:
        checks.append(check("layouts_invalid", "fail", str(exc)))
    try:
        referential = Referential.load(settings.referential_path)
        checks.append(
            check("referential_loaded", "pass", f"AMC referential {settings.referential_path}")
        )
    except ConfigError as exc:
        checks.append(check("referential_invalid", "fail", str(exc)))
    context = None
    if layouts is not None and referential is not None:
        context = ParseContext(layouts, referential)
        checks.append(_testcard_parse_check(context, options.today()))
    checks.extend(_decoder_checks(settings))
    if storage_check is not None:
        checks.append(storage_check())
    elif options.storage:
        checks.append(_storage_check(settings))
    if not any(d.enabled for d in settings.devices):
        checks.append(check("no_devices", "warn", "no device is configured (or all are disabled)"))
    return checks, context


_CARD_SYMBOLOGY = {"datamatrix": "]d1", "gs1_datamatrix": "]d2", "qrcode": "]Q1"}


def _testcard_parse_check(context: ParseContext, today: date) -> Check:
    wrong = []
    for code in TEST_CODES:
        payload = GS1_WIRE if code.symbology == "gs1_datamatrix" else code.payload
        result = context.parse(payload, today, symbology=_CARD_SYMBOLOGY[code.symbology])
        if not _outcome_ok(code, result):
            got = "valid" if result.valid else ",".join(result.error_codes())
            wrong.append(f"{code.key} (expected {code.expect}, got {got})")
    if wrong:
        return check(
            "testcard_not_parsed", "fail", "test-card codes parse wrongly: " + "; ".join(wrong)
        )
    return check(
        "testcard_parsed", "pass", f"the {len(TEST_CODES)} test-card codes parse as designed"
    )


def _outcome_ok(code: TestCode, result: Attestation) -> bool:
    if code.must_read:
        return result.valid
    return not result.valid and bool(set(result.error_codes()) & set(code.refused_with))


def _decoder_checks(settings: Settings) -> list[Check]:
    from decoders import Decoder, libdmtx  # noqa: PLC0415
    from scanner_agent.file_decoding import decode_options  # noqa: PLC0415
    from scanner_agent.testcard import symbol_image  # noqa: PLC0415

    out = []
    try:
        image = symbol_image(TEST_CODES[1])  # the 0.33 mm tagged attestation
        decoder = Decoder(decode_options(settings))
        start = time.perf_counter()
        symbols = decoder.decode(image)
        ms = (time.perf_counter() - start) * 1000
        if any(s.data == TEST_CODES[1].payload for s in symbols):
            out.append(check("decoder_ok", "pass", f"a test-card symbol decoded in {ms:.1f} ms"))
        else:
            out.append(check("decoder_failed", "fail", "a test-card symbol was not decoded"))
    except Exception as exc:  # any failure of the decoders is this check's verdict
        out.append(
            check("decoder_failed", "fail", f"the decoders failed: {type(exc).__name__}: {exc}")
        )
    if settings.decoder.libdmtx and not libdmtx.AVAILABLE:
        out.append(
            check(
                "libdmtx_missing", "warn", "libdmtx (the second-opinion decoder) cannot be loaded"
            )
        )
    return out


def _storage_check(settings: Settings) -> Check:
    from scanner_agent.storage import Store  # noqa: PLC0415

    store = None
    try:
        store = Store.from_settings(settings)
        store.ping()
    except (ScannerAgentError, OSError) as exc:
        code = getattr(exc, "code", "storage_unavailable")
        return check(
            "storage_unavailable",
            "fail",
            f"storage {settings.storage_url.split('@')[-1]}: {code}: {exc}",
        )
    finally:
        if store is not None:
            store.close()
    return check("storage_ok", "pass", f"storage reachable: {store.describe()}")


# --- internal: each device, without opening it --------------------------------------------


def _node(config: DeviceConfig) -> str | None:
    """The device node or file a configuration names directly, if any."""
    if isinstance(config, SerialDevice):
        return config.port or None
    if isinstance(config, HidPosDevice | HidKeyboardDevice):
        return config.path or None
    if isinstance(config, CameraDevice):
        source = config.source
        if isinstance(source, int) or source.isdigit():
            return f"/dev/video{int(source)}" if os.name == "posix" else None
        return source
    if isinstance(config, ReplayDevice):
        return config.path
    return None


def static_checks(config: DeviceConfig, options: Options, inventory: Any | None) -> list[Check]:
    """Presence, permissions and configuration advice, without opening the device."""
    checks: list[Check] = []
    node = _node(config)
    if node is not None:
        node = device_node(node)
    kind = "camera" if config.type == "camera" else ("serial" if config.type == "serial" else "hid")
    if node is not None and node.startswith("/dev/"):
        access, fix = check_access(node, kind, options.discovery.access, options.discovery.exists)
        if access == "not_found":
            checks.append(check("device_not_found", "fail", f"{node} does not exist", fix))
        elif access == "permission_denied":
            checks.append(check("permission_denied", "fail", f"this user may not open {node}", fix))
        else:
            checks.append(check("device_present", "pass", f"{node} is there and may be opened"))
    elif node is not None and "://" not in node and not os.path.exists(node):
        checks.append(check("device_not_found", "fail", f"{node} does not exist"))
    elif (
        node is None
        and inventory is not None
        and config.type in ("serial", "hid_pos", "hid_keyboard")
    ):
        found = [e for e in inventory.entries if config.id in e.configured]
        if not found:
            checks.append(
                check(
                    "device_not_found", "fail", f"no plugged-in device matches {_usb_text(config)}"
                )
            )
        else:
            entry = found[0]
            if entry.access == "permission_denied":
                checks.append(
                    check(
                        "permission_denied",
                        "fail",
                        f"this user may not open {entry.path}",
                        entry.fix,
                    )
                )
            else:
                checks.append(check("device_present", "pass", f"found as {entry.path}"))
    if isinstance(config, HidKeyboardDevice):
        checks.append(
            check(
                "keyboard_mode",
                "warn",
                f"the scanner is read in keyboard mode (layout {config.layout!r}): GS separators "
                "are lost and the keyboard layout must match",
            )
        )
    return checks


def _usb_text(config: DeviceConfig) -> str:
    vid = getattr(config, "vid", None) or "*"
    pid = getattr(config, "pid", None) or "*"
    serial = getattr(config, "serial_number", None)
    text = f"USB id {vid}:{pid}"
    if isinstance(config, HidPosDevice) and not getattr(config, "vid", None):
        text = f"usage page 0x{config.usage_page:02X}"
    return text + (f" serial {serial}" if serial else "")


# --- external and interactive: reading the device -----------------------------------------


@dataclass
class _Observed:
    """What one device sent during the test."""

    raw: bytearray = field(default_factory=bytearray)
    chunks: int = 0
    scans: list[tuple[Frame, Scan]] = field(default_factory=list)
    unterminated: list[Frame] = field(default_factory=list)
    skipped: int = 0
    elapsed_s: float = 0.0
    first_code_s: float | None = None
    complete_s: float | None = None
    status: DeviceStatus | None = None


class FrameProbe:
    """Wraps a camera's decode function: counts frames, keeps their size, times decoding."""

    def __init__(self, decode: DecodeFunction) -> None:
        self._decode = decode
        self.frames = 0
        self.shape: tuple[int, ...] | None = None
        self.decode_ms: list[float] = []

    def __call__(self, frame: Any) -> list[Any]:
        self.frames += 1
        self.shape = tuple(np.asarray(frame).shape)
        start = time.perf_counter()
        try:
            return self._decode(frame)
        finally:
            self.decode_ms.append((time.perf_counter() - start) * 1000)


def _camera_decoder(settings: Settings) -> DecodeFunction:
    from decoders import Decoder  # noqa: PLC0415
    from scanner_agent.file_decoding import decode_options  # noqa: PLC0415

    decoder = Decoder(decode_options(settings))
    decode: DecodeFunction = decoder.decode
    return decode


def _protocol(config: DeviceConfig) -> str:
    return config.protocol if isinstance(config, ReplayDevice) else config.type


def _read(
    config: DeviceConfig,
    setup: DriverSetup,
    context: ParseContext,
    options: Options,
    seconds: float,
    done: Callable[[list[tuple[Frame, Scan]]], bool] = lambda scans: False,
    opened: Callable[[], None] = lambda: None,
) -> _Observed:
    """Open, read for `seconds` (or until `done`), frame and parse as the agent would."""
    bus = EventBus()
    states = DeviceStates(bus, [DeviceStatus(id=config.id, type=config.type)])
    pipeline = Pipeline(context, bus, states, duplicate_window_s=0, today=options.today)
    layout = setup.layout
    seen = _Observed()
    driver = setup.driver
    monotonic = options.monotonic
    driver.open()  # DeviceError goes to the caller
    try:
        opened()
        framer = setup.make_framer()
        start = monotonic()
        deadline = start + seconds

        def take(frames: Sequence[Frame]) -> None:
            for frame in frames:
                seen.skipped += frame.skipped
                scan = pipeline.process(Incoming(config.id, setup.source, frame, layout))
                if scan is not None:
                    seen.scans.append((frame, scan))
                    if seen.first_code_s is None:
                        seen.first_code_s = monotonic() - start

        while True:
            now = monotonic()
            if now >= deadline or driver.exhausted:
                break
            timeout = min(0.1, deadline - now)
            held = framer.deadline()
            if held is not None:
                timeout = max(0.0, min(timeout, held - now))
            chunk = driver.read(timeout)
            now = monotonic()
            if chunk is not None:
                seen.chunks += 1
                if isinstance(chunk, bytes | bytearray) and _protocol(config) == "serial":
                    seen.raw += chunk
                take(framer.feed(chunk, now))
            else:
                take(framer.poll(now))
            if seen.scans and done(seen.scans):
                seen.complete_s = monotonic() - start
                break
        seen.elapsed_s = monotonic() - start
        leftover = framer.flush(monotonic())
        if (
            _protocol(config) in ("serial", "hid_keyboard")
            and getattr(config, "suffix", "none") != "none"
        ):
            seen.unterminated = leftover  # bytes the configured suffix never ended
        else:
            take(leftover)
    finally:
        with contextlib.suppress(Exception):
            driver.close()
    seen.status = states.get(config.id)
    return seen


def _open_failure(exc: BaseException) -> Check:
    code = exc.code if isinstance(exc, DeviceError) else "device_error"
    message = str(exc) or type(exc).__name__
    if code == "permission_denied":
        return check("permission_denied", "fail", message)
    if code == "device_busy":
        return check("device_busy", "fail", message)
    if code in ("device_not_found", "device_lost"):
        return check("device_not_found", "fail", message)
    return check("device_error", "fail", f"{code}: {message}")


def detected_suffix(raw: bytes) -> str | None:
    """The line end a scanner sends, from the raw bytes: cr, lf, crlf, tab, or None."""
    crlf = raw.count(b"\r\n")
    counts = {
        "crlf": crlf,
        "cr": raw.count(b"\r") - crlf,
        "lf": raw.count(b"\n") - crlf,
        "tab": raw.count(b"\t"),
    }
    name, count = max(counts.items(), key=lambda item: item[1])
    return name if count else None


def _traffic_checks(config: DeviceConfig, seen: _Observed, interactive: bool) -> list[Check]:
    out: list[Check] = []
    scans = [scan for _, scan in seen.scans]
    suffix = getattr(config, "suffix", None)
    if seen.chunks == 0:
        if interactive:
            out.append(check("no_data", "fail", f"nothing arrived within {seen.elapsed_s:.0f} s"))
        else:
            out.append(
                check(
                    "no_data",
                    "pass",
                    f"opened and read for {seen.elapsed_s:.1f} s: nothing was scanned meanwhile "
                    "(expected; scan the test card with --interactive to check reading)",
                )
            )
        return out
    # framing of byte streams: the raw bytes say which suffix the scanner really sends
    sent = detected_suffix(bytes(seen.raw)) if _protocol(config) == "serial" else None
    if _protocol(config) == "serial" and suffix is not None:
        label = {"cr": "CR", "lf": "LF", "crlf": "CR LF", "tab": "TAB"}
        if suffix == "none" and sent is not None:
            out.append(
                check(
                    "idle_framing",
                    "warn",
                    f"the scanner ends its codes with {label[sent]} but the device uses idle "
                    "framing (suffix = none)",
                    f'set suffix = "{sent}" for device {config.id!r}',
                )
            )
        elif (
            suffix != "none"
            and sent is not None
            and sent != suffix
            and not (suffix == "cr" and sent == "crlf")
            and not (suffix == "lf" and sent == "crlf")  # the CR is stripped: harmless
        ):
            out.append(
                check(
                    "wrong_suffix",
                    "fail" if seen.unterminated else "warn",
                    f"the scanner ends its codes with {label[sent]}, the device is configured for "
                    f"{label[suffix]}" + (": codes never end" if seen.unterminated else ""),
                    f'set suffix = "{sent}" for device {config.id!r} (or program the scanner to '
                    f"send {label[suffix]})",
                )
            )
        elif suffix == "cr" and sent == "crlf":
            out.append(
                check(
                    "wrong_suffix",
                    "warn",
                    "the scanner ends its codes with CR LF, the device is configured for CR: "
                    "each LF is left over before the next code",
                    f'set suffix = "crlf" for device {config.id!r}',
                )
            )
        elif sent is None and seen.unterminated:
            out.append(
                check(
                    "frame_never_ends",
                    "fail",
                    f"{len(seen.raw)} byte(s) arrived and no {SUFFIXES[suffix]!r} ever ended "
                    "a code",
                    f'set suffix = "none" for device {config.id!r}, or program the scanner to '
                    "send CR after each code",
                )
            )
    elif seen.unterminated:
        out.append(
            check(
                "frame_never_ends",
                "fail",
                "keys arrived that no Enter (or Tab) ended: the scanner sends another suffix",
                f'set suffix = "none" for device {config.id!r}, or program the scanner to '
                "send Enter after each code",
            )
        )
    if any(b"\r" in f.data or b"\n" in f.data for f, _ in seen.scans):
        out.append(
            check(
                "wrong_suffix",
                "warn",
                "line ends are left inside codes: the scanner sends another suffix than the "
                "configured one",
            )
        )
    noise = seen.skipped
    if sent == "crlf" and suffix == "cr":
        noise -= len(seen.scans)  # the other half of each CR LF, already reported
    if noise > 0:
        out.append(check("noise", "warn", f"{noise} byte(s) before codes belonged to no code"))
    if scans:
        valid = sum(1 for s in scans if s.attestation.valid)
        refused = [s for s in scans if not s.attestation.valid]
        out.append(
            check("codes_read", "pass", f"{len(scans)} code(s) read, {valid} valid attestation(s)")
        )
        if refused and not interactive:
            codes = sorted({c for s in refused for c in s.attestation.error_codes()})
            out.append(
                check(
                    "codes_refused",
                    "warn",
                    f"{len(refused)} code(s) refused: {', '.join(codes)}",
                )
            )
        with_aim = sorted({s.symbology for s in scans if s.symbology})
        if config.type != "camera":
            if all(s.symbology for s in scans):
                names = ", ".join(f"{a} ({describe_symbology(a)})" for a in with_aim)
                out.append(check("aim_present", "pass", f"AIM identifiers sent: {names}"))
            else:
                out.append(
                    check(
                        "aim_missing",
                        "warn",
                        "the scanner sends no AIM symbology identifier (]d1) before its codes",
                    )
                )
        if any(
            "separators_recovered" in [w.code.value for w in s.attestation.warnings] for s in scans
        ):
            out.append(
                check(
                    "separators_lost",
                    "warn",
                    "GS separators were lost; fields were cut at their tags",
                )
            )
    status = seen.status
    if status is not None:
        for diagnostic in status.diagnostics:
            if diagnostic.code == KEYBOARD_LAYOUT_MISMATCH:
                out.append(check("keyboard_layout_mismatch", "warn", diagnostic.message))
        if status.counters.frames_dropped:
            out.append(
                check(
                    "frames_dropped",
                    "warn",
                    f"{status.counters.frames_dropped} frame(s) dropped (too long)",
                )
            )
    return out


def _camera_checks(
    config: CameraDevice, probe: FrameProbe, seen: _Observed
) -> tuple[list[Check], dict[str, Any]]:
    measurements: dict[str, Any] = {"frames": probe.frames, "seconds": round(seen.elapsed_s, 3)}
    if probe.frames == 0:
        return [
            check("camera_no_frames", "fail", f"no frame within {seen.elapsed_s:.1f} s")
        ], measurements
    height, width = (probe.shape or (0, 0))[:2]
    fps = probe.frames / seen.elapsed_s if seen.elapsed_s > 0 else 0.0
    ms = sorted(probe.decode_ms)
    mean_ms = sum(ms) / len(ms)
    measurements.update(
        {
            "width": width,
            "height": height,
            "fps": round(fps, 2),
            "decode_ms_mean": round(mean_ms, 2),
            "decode_ms_max": round(ms[-1], 2),
        }
    )
    out = [
        check(
            "camera_measured",
            "pass",
            f"{width}x{height} at {fps:.1f} frames/s (configured {config.fps:g}); decoding "
            f"{mean_ms:.1f} ms a frame on average, {ms[-1]:.1f} ms at most",
        )
    ]
    if width < config.width or height < config.height:
        out.append(
            check(
                "camera_resolution",
                "warn",
                f"the camera gives {width}x{height}, the configuration asks "
                f"{config.width}x{config.height}",
                f"set width = {width}, height = {height} for device {config.id!r}, or use a "
                "camera that gives the configured size",
            )
        )
    if probe.frames >= 5 and fps < 0.5 * config.fps:
        out.append(
            check(
                "camera_frame_rate",
                "warn",
                f"{fps:.1f} frames/s, half the configured {config.fps:g} or less",
            )
        )
    if mean_ms > 1000 / config.fps:
        out.append(
            check(
                "camera_decode_slow",
                "warn",
                f"decoding takes {mean_ms:.0f} ms a frame, more than the "
                f"{1000 / config.fps:.0f} ms between frames",
            )
        )
    return out, measurements


# --- interactive: the test card -----------------------------------------------------------


def _norm(data: bytes) -> bytes:
    """A code with GS and `|` removed: how the card's codes are recognised whatever separators a
    keyboard-mode scanner kept."""
    return data.replace(b"\x1d", b"").replace(b"|", b"")


_EXPECTED = {_norm(TAGGED): "tagged", _norm(FIXED): "fixed"}


def match_test_code(frame: Frame, scan: Scan) -> TestCode | None:
    """The test-card code a scan is, whatever separators or keyboard layout it came through."""
    candidates = [frame.data] + [d for _, d in frame.alternates]
    candidates += [d[3:] for d in list(candidates) if d[:1] == b"]"]
    normal = {_norm(d) for d in candidates}
    for code in TEST_CODES:
        if code.symbology == "gs1_datamatrix":
            if GS1_WIRE in normal:
                return code
        elif _norm(code.payload) in normal:
            return code
    return None


def _card_done(scans: list[tuple[Frame, Scan]]) -> bool:
    got = {
        _norm(code.payload) for f, s in scans if (code := match_test_code(f, s)) and code.must_read
    }
    return set(_EXPECTED) <= got


def _card_checks(seen: _Observed, seconds: float) -> tuple[list[Check], dict[str, Any]]:
    out: list[Check] = []
    got: set[bytes] = set()
    unexpected = 0
    wrong = []
    for frame, scan in seen.scans:
        code = match_test_code(frame, scan)
        if code is None:
            unexpected += 1
            continue
        if code.must_read:
            got.add(_norm(code.payload))
        if not _outcome_ok(code, scan.attestation):
            outcome = (
                "valid" if scan.attestation.valid else ",".join(scan.attestation.error_codes())
            )
            wrong.append(f"{code.label}: expected {code.expect}, got {outcome}")
    measurements: dict[str, Any] = {
        "codes": len(seen.scans),
        "first_code_s": None if seen.first_code_s is None else round(seen.first_code_s, 2),
        "complete_s": None if seen.complete_s is None else round(seen.complete_s, 2),
    }
    if unexpected:
        out.append(
            check(
                "unexpected_code",
                "fail",
                f"{unexpected} code(s) that are not on the test card arrived",
            )
        )
    if wrong:
        out.append(check("testcard_outcome", "fail", "; ".join(wrong)))
    missing = [name for key, name in _EXPECTED.items() if key not in got]
    if missing and seen.chunks:
        out.append(
            check(
                "testcard_incomplete",
                "fail" if not got else "warn",
                f"not read within {seconds:g} s: the {' and '.join(missing)} "
                "attestation(s) of the card",
            )
        )
    elif not missing:
        out.append(
            check(
                "testcard_complete",
                "pass",
                f"the test card's attestations read in {seen.complete_s or seen.elapsed_s:.1f} s "
                f"(first code after {seen.first_code_s or 0:.1f} s)",
            )
        )
    return out, measurements


# --- the device report --------------------------------------------------------------------


def device_report(
    config: DeviceConfig,
    settings: Settings,
    context: ParseContext | None,
    options: Options,
    inventory: Any | None = None,
) -> DeviceReport:
    report = DeviceReport(device_id=config.id, type=config.type)
    if not config.enabled:
        report.checks.append(
            check("device_disabled", "pass", "disabled in the configuration: not tested")
        )
        return report
    report.checks.extend(static_checks(config, options, inventory))
    if options.level == "internal" or context is None:
        return _finish(report)
    if any(c.code in ("device_not_found", "permission_denied") for c in report.checks):
        return _finish(report)
    probe = FrameProbe(_camera_decoder(settings)) if isinstance(config, CameraDevice) else None
    try:
        setup = options.factory(config, probe if probe is not None else _no_decode)
    except Exception as exc:
        report.checks.append(_open_failure(exc))
        return _finish(report)
    interactive = options.level == "interactive"
    seconds = options.read_seconds()

    def ready() -> None:
        if interactive:
            options.prompt(
                f"device {config.id!r} is open: scan the test card now (every attestation, "
                f"codes 1 to 6), within {seconds:g} s"
            )

    try:
        seen = _read(
            config, setup, context, options, seconds, _card_done if interactive else _never, ready
        )
    except Exception as exc:
        report.checks.append(_open_failure(exc))
        return _finish(report)
    report.checks.append(check("opened", "pass", f"opened: {setup.driver.description}"))
    report.measurements["read_s"] = round(seen.elapsed_s, 3)
    report.measurements["codes"] = len(seen.scans)
    if probe is not None and isinstance(config, CameraDevice):
        checks, measured = _camera_checks(config, probe, seen)
        report.checks.extend(checks)
        report.measurements.update(measured)
    report.checks.extend(_traffic_checks(config, seen, interactive))
    if interactive:
        checks, measured = _card_checks(seen, seconds)
        report.checks.extend(checks)
        report.measurements.update(measured)
    return _finish(report)


def _guarded(
    config: DeviceConfig,
    settings: Settings,
    context: ParseContext | None,
    options: Options,
    inventory: Any | None,
) -> DeviceReport:
    """A device's report; a bug in testing one device fails that device, not the self-test."""
    try:
        return device_report(config, settings, context, options, inventory)
    except Exception as exc:
        report = DeviceReport(device_id=config.id, type=config.type)
        report.checks.append(
            check("device_error", "fail", f"the self-test failed: {type(exc).__name__}: {exc}")
        )
        return _finish(report)


def _no_decode(frame: Any) -> list[Any]:  # pragma: no cover - only cameras decode
    return []


def _never(scans: list[tuple[Frame, Scan]]) -> bool:
    return False


def _selected(settings: Settings, device: str | None) -> list[DeviceConfig]:
    if device is None:
        return list(settings.devices)
    found = [d for d in settings.devices if d.id == device]
    if not found:
        known = ", ".join(d.id for d in settings.devices) or "none"
        raise ConfigError(f"no device {device!r} in the configuration (known: {known})")
    return found


def run_selftest(settings: Settings, options: Options | None = None) -> SelfTestReport:
    """The self-test of a configuration whose devices are not open (the agent not running)."""
    options = options or Options()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    devices = _selected(settings, options.device)
    checks, context = agent_checks(settings, options)
    inventory = None
    with contextlib.suppress(Exception):  # discovery is advice; a broken enumeration is not fatal
        inventory = take_inventory(settings, options.discovery)
    if options.level == "interactive":
        reports = [_guarded(d, settings, context, options, inventory) for d in devices]
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(devices)))) as pool:
            reports = list(
                pool.map(lambda d: _guarded(d, settings, context, options, inventory), devices)
            )
    return _report(options.level, started, clock, checks, reports)


def failed_config_report(exc: ConfigError, level: Level) -> SelfTestReport:
    """The report when the configuration itself cannot be read."""
    return SelfTestReport(
        verdict="fail",
        level=level,
        started_at=datetime.now(UTC),
        duration_ms=0.0,
        checks=[check("config_invalid", "fail", str(exc))],
    )


def _report(
    level: Level, started: datetime, clock: float, checks: list[Check], devices: list[DeviceReport]
) -> SelfTestReport:
    verdict = worst([c.verdict for c in checks] + [d.verdict for d in devices])
    return SelfTestReport(
        verdict=verdict,
        level=level,
        started_at=started,
        duration_ms=round((time.perf_counter() - clock) * 1000, 1),
        checks=checks,
        devices=devices,
    )


# --- the running agent --------------------------------------------------------------------


def live_report(
    agent: Any,
    *,
    device: str | None = None,
    storage_check: Callable[[], Check] | None = None,
    options: Options | None = None,
) -> SelfTestReport:
    """The self-test of a running agent (`POST /v1/selftest`): internal checks, then each
    device from the agent's live state, last error, counters and diagnostics, without reopening
    what the agent holds. Level `external`: the devices were opened (by the agent)."""
    options = options or Options(level="external", storage=False)
    settings: Settings = agent.settings
    started = datetime.now(UTC)
    clock = time.perf_counter()
    configs = _selected(settings, device)
    checks, _ = agent_checks(settings, options, storage_check)
    reports = []
    for config in configs:
        report = DeviceReport(device_id=config.id, type=config.type)
        status: DeviceStatus | None = agent.device(config.id)
        if not config.enabled:
            report.checks.append(check("device_disabled", "pass", "disabled in the configuration"))
            reports.append(report)
            continue
        report.checks.extend(_live_checks(config, status))
        if status is not None:
            report.measurements = {
                "state": status.state,
                **status.counters.model_dump(mode="json"),
            }
        reports.append(_finish(report))
    return _report("external", started, clock, checks, reports)


def _live_checks(config: DeviceConfig, status: DeviceStatus | None) -> list[Check]:
    out: list[Check] = []
    if status is None or status.state in ("stopped", "starting"):
        state = status.state if status else "unknown"
        out.append(
            check(
                "device_error", "warn" if state == "starting" else "fail", f"the device is {state}"
            )
        )
        return out
    if status.state == "connected":
        out.append(check("live_state", "pass", f"held open by the agent: {status.description}"))
    elif status.last_error is not None:
        out.append(_open_failure(_as_error(status.last_error.code, status.last_error.message)))
    else:
        out.append(check("device_error", "fail", f"the device is {status.state}"))
    counters = status.counters
    if counters.last_seen is None:
        out.append(check("no_data", "pass", "nothing scanned since the agent started"))
    else:
        out.append(
            check(
                "codes_read",
                "pass",
                f"{counters.good_scans} valid, {counters.refused_scans} refused since the "
                "agent started",
            )
        )
    if counters.frames_dropped:
        out.append(check("frames_dropped", "warn", f"{counters.frames_dropped} frame(s) dropped"))
    for diagnostic in status.diagnostics:
        if diagnostic.code == KEYBOARD_LAYOUT_MISMATCH:
            out.append(check("keyboard_layout_mismatch", "warn", diagnostic.message))
    if isinstance(config, HidKeyboardDevice):
        out.append(
            check(
                "keyboard_mode",
                "warn",
                f"the scanner is read in keyboard mode (layout {config.layout!r})",
            )
        )
    if isinstance(config, CameraDevice):
        out.append(
            check(
                "not_measured_live",
                "pass",
                "the frame rate and decode time are measured by `scanner-agent selftest` with the "
                "agent stopped (the running agent holds the camera)",
            )
        )
    return out


def _as_error(code: str, message: str) -> DeviceError:
    error = DeviceError(message)
    error.code = code
    return error


__all__ = [
    "CHECKS",
    "EXIT_STATUS",
    "GS1_WIRE",
    "LEVELS",
    "Check",
    "DeviceReport",
    "Options",
    "SelfTestReport",
    "detected_suffix",
    "failed_config_report",
    "live_report",
    "match_test_code",
    "run_selftest",
    "worst",
]
