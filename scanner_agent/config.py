"""One validated settings object, from the embedded defaults, a TOML file and the environment.

Precedence, lowest first: `config/default.toml` (documents every key), the file given with
`--config PATH` (or `SCANNER_AGENT_CONFIG`), environment variables `SCANNER_AGENT_<SECTION>__<KEY>`
(for example `SCANNER_AGENT_API__PORT=9000`), then command-line flags. Bad configuration raises
`ConfigError` naming the key and the file it came from.

The `[roc]` section alone is read again while the agent runs (`load_roc_settings`, the same
sources, precedence and errors); the other sections apply at start.

The keys are a contract with deployment scripts: add keys, never rename them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from decoders.base import DEFAULT_PASSES, PASS_NAMES
from scanner_agent import paths
from scanner_agent.errors import ConfigError

ENV_PREFIX = "SCANNER_AGENT_"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Suffix = Literal["cr", "lf", "crlf", "tab", "none"]
KeyboardLayout = Literal["us", "fr"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentSettings(_Section):
    data_dir: str = ""
    """Where scans, the token file and logs live. Empty: the platform's user data folder."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    allowed_origins: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)
    """Host names accepted besides localhost, 127.0.0.1 and ::1 (with the agent's port)."""
    token_file: str = "{data_dir}/api-token"  # noqa: S105 - a path
    ticket_ttl_s: float = Field(default=10, gt=0, le=300)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_wait_s: float = Field(default=60, gt=0, le=3600)
    request_timeout_s: float = Field(default=10, gt=0, le=600)
    """Time a client has to send a whole request (head and body): slow clients are cut off."""
    max_connections: int = Field(default=256, ge=2)
    """Open connections; beyond, the oldest one not being answered is closed."""
    decode_timeout_s: float = Field(default=30, gt=0)
    sse_keepalive_s: float = Field(default=15, gt=0)
    replay_events: int = Field(default=10_000, ge=0)
    store_manual: bool = False
    """Record each well-formed attestation typed by hand (`POST /v1/attestations/validate`) as a
    scan of source `manual`, device `manual`."""

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*" or "*" in origin:
                raise ValueError("wildcards are not allowed; list each origin")
            if not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return [o.lower() for o in origins]


class StorageSettings(_Section):
    url: str = "sqlite:///{data_dir}/scans.db"
    retention_hours: float = Field(default=24, gt=0)
    member_number: Literal["plain", "hashed", "encrypted"] = "encrypted"
    """How member numbers are kept at rest."""
    key_file: str = "{data_dir}/storage.key"
    """The secret for `encrypted` and `hashed`: created on first use, mode 0600."""
    journal: str = "{data_dir}/scans.journal"
    """Scans recorded and not yet in the database, on disk before any client receives them
    (empty: no journal; a scan not yet written is then lost if the agent is killed)."""
    journal_fsync: bool = True
    """Sync the journal to the disk at each scan (survives a power cut, not only a kill)."""


class ParserSettings(_Section):
    layouts_dirs: list[str] = Field(default_factory=lambda: ["{config_dir}/layouts"])
    referential: str = "{config_dir}/amc_referential.csv"
    referential_reload_s: float = Field(default=5.0, ge=0, le=86_400)
    """How often the running agent looks whether the referential changed (0: never)."""
    referential_max_age_days: int = Field(default=90, ge=0, le=36_500)
    """Older than this (its newest `updated` date), the referential is called stale: every
    decision then asks a person to check (`referential_stale`)."""
    domain: str = "MCO"
    """The activity domain asked when the GAP does not say: MCO | SMR | PSY | HAD."""
    timezone: str = "Europe/Paris"
    """The hospital's time zone: a scan read without a date is judged for today there."""

    @field_validator("domain")
    @classmethod
    def _known_domain(cls, domain: str) -> str:
        from scanner_agent.attestation import DOMAINS  # noqa: PLC0415

        if domain.upper() not in DOMAINS:
            raise ValueError(f"{domain!r} is not one of {', '.join(DOMAINS)}")
        return domain.upper()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a time zone (e.g. Europe/Paris)") from None
        return name


class PipelineSettings(_Section):
    duplicate_window_s: float = Field(default=2.0, ge=0)
    queue_size: int = Field(default=1024, ge=1)
    reconnect_min_s: float = Field(default=0.5, gt=0, le=3600)
    """First wait before reopening a device that failed or went away; doubles at each failure."""
    reconnect_max_s: float = Field(default=10.0, gt=0, le=3600)
    """The longest wait between two attempts to reopen a device."""


class DecoderSettings(_Section):
    """Image and PDF decoding (decoders/, `scanner-agent decode`, `POST /v1/decode`)."""

    time_budget_ms: float = Field(default=40, ge=0, le=60_000)
    """Live camera frames only: no further pass is started once this much time went on one
    frame. Files and uploads have no time budget (the same result whatever the machine's load)."""
    passes: list[str] = Field(default_factory=lambda: list(DEFAULT_PASSES))
    """Reads tried in order until one finds a Data Matrix. The names and the default order are
    the decoders' own (`decoders.base.PASS_NAMES`, `DEFAULT_PASSES`): one list, not a copy."""
    libdmtx: bool = True
    libdmtx_timeout_ms: int = Field(default=40, ge=1, le=60_000)
    max_pixels: int = Field(default=60_000_000, gt=0)
    pdf_dpi: int = Field(default=300, ge=50, le=1200)
    max_pages: int = Field(default=50, ge=1)
    """A PDF or multi-page TIFF with more pages is refused (`too_many_pages`), unread."""
    max_concurrent_uploads: int = Field(default=1, ge=1, le=64)
    """Uploads (`POST /v1/decode`) decoded at the same time; one more is answered 503
    `decoder_busy` at once."""

    @field_validator("passes")
    @classmethod
    def _known_passes(cls, passes: list[str]) -> list[str]:
        if not passes:
            raise ValueError('at least one pass is needed (e.g. ["fixed"])')
        unknown = [name for name in passes if name not in PASS_NAMES]
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            raise ValueError(f"unknown pass {names}; the passes are {', '.join(PASS_NAMES)}")
        return passes


RocPhase = Literal["not_started", "supervised", "trust_circle"]


class RocSettings(_Section):
    """The hospital's stage in the ROC roll-out (national guide): read again while running."""

    phase: RocPhase = "trust_circle"
    """`not_started`: every AMC is `hors_roc` (`roc_not_started`); `supervised`: only
    `mirror_amc` can be `roc` (the others `hors_roc`, `supervised_production`);
    `trust_circle`: the referential decides."""
    mirror_amc: str = ""
    """The AMC number of the hospital's mirror AMC (1-10 digits), needed in `supervised`."""

    @field_validator("mirror_amc")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.strip()
        if value and not (value.isascii() and value.isdigit() and len(value) <= 10):
            raise ValueError(f"{value!r} is not an AMC number (1-10 digits)")
        return value

    @model_validator(mode="after")
    def _mirror_when_supervised(self) -> RocSettings:
        if self.phase == "supervised" and not self.mirror_amc:
            raise ValueError(
                'phase "supervised" needs mirror_amc, the AMC number of the mirror AMC'
            )
        return self


class IndicatorSettings(_Section):
    """The non-personal weekly indicators (`GET /v1/indicators`, `scanner-agent report`)."""

    workstation: str = ""
    """This workstation's name in the indicators. Empty: the host name."""
    export_dir: str = ""
    """Where the weekly files `indicators-<ISO week>.csv` and `.json` are written (every Monday
    for the week before, and at start when it is missing). Empty: no export."""
    retention_days: int = Field(default=731, ge=0, le=36_500)
    """Indicator rows older than this many days are deleted (0: kept for ever)."""

    @field_validator("workstation")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}", value):
            raise ValueError(
                f"{value!r} is not a workstation name (letters, digits, _ . @ -, at most 64)"
            )
        return value


class KioskSettings(_Section):
    """The admission kiosk's screen, `/kiosk` (README, "Kiosk")."""

    client: str = Field(default="kiosk", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    """The name the kiosk claims its scans under (`GET /v1/scans/next?claim=`): a desk never
    takes a scan the kiosk took, nor the reverse. One name per kiosk."""
    device: str = Field(default="", pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$")
    """Only the scans of this device (the kiosk's own reader). Empty: every device."""
    result_s: float = Field(default=12, ge=2, le=600)
    """How long the result stays on screen before the kiosk waits for the next attestation."""


class InputsSettings(_Section):
    """Inputs that are not devices: the watched folder (README, "Watched folder")."""

    watch_dir: str = ""
    """A folder whose new files (images, PDF, multi-page TIFF, HEIC/HEIF) are decoded once
    complete, their codes recorded as scans of source `upload`, and the file moved to `done/`
    or `failed/` inside it. Empty: no watched folder."""
    settle_s: float = Field(default=2.0, ge=0, le=3600)
    """A file is complete when its size and time of change have not moved for this long."""
    poll_s: float = Field(default=1.0, gt=0, le=3600)
    """How often the folder is listed."""


class _DeviceBase(_Section):
    id: Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
    enabled: bool = True


class _UsbMatch(BaseModel):
    vid: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{4}$")
    pid: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{4}$")
    serial_number: str | None = None


class _SerialFraming(BaseModel):
    suffix: Suffix = "cr"
    idle_ms: float = Field(default=50, gt=0, le=10_000)
    max_frame_bytes: int = Field(default=4096, ge=64, le=1_048_576)


class SerialDevice(_DeviceBase, _UsbMatch, _SerialFraming):
    type: Literal["serial"]
    port: str = ""
    """`/dev/ttyACM0`, a `/dev/serial/by-id/...` link, `COM3`, a pyserial URL, or empty to find
    the port by `vid`/`pid`."""
    baudrate: int = Field(default=9600, gt=0)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: float = 1
    """1, 1.5 or 2."""

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("stopbits must be 1, 1.5 or 2")
        return value

    @model_validator(mode="after")
    def _port_or_usb_id(self) -> SerialDevice:
        if not self.port and not self.vid:
            raise ValueError("set `port`, or `vid` (and `pid`) to find the port by USB id")
        return self


class HidPosDevice(_DeviceBase, _UsbMatch):
    type: Literal["hid_pos"]
    path: str = ""
    usage_page: int = 0x8C


class HidKeyboardDevice(_DeviceBase, _UsbMatch, _SerialFraming):
    type: Literal["hid_keyboard"]
    path: str = ""
    layout: KeyboardLayout = "us"
    backend: Literal["auto", "hidapi", "evdev", "rawinput"] = "auto"
    """`auto`: Raw Input on Windows (its keyboard collections are opened exclusively: hidapi
    reads nothing there), hidapi elsewhere."""


class CameraDevice(_DeviceBase):
    type: Literal["camera"]
    source: int | str = 0
    """A camera index, a device path (`/dev/video0`) or a video file / URL."""
    fps: float = Field(default=15, gt=0, le=120)
    width: int = Field(default=1280, gt=0)
    height: int = Field(default=720, gt=0)
    gone_after_s: float = Field(default=1.0, gt=0, le=60)
    """A code held in view is one scan; it counts again once out of view this long."""


class ReplayDevice(_DeviceBase, _SerialFraming):
    type: Literal["replay"]
    path: str
    protocol: Literal["serial", "hid_pos", "hid_keyboard"] = "serial"
    layout: KeyboardLayout = "us"
    speed: float = Field(default=1.0, gt=0)
    loop: bool = False


class DemoDevice(_DeviceBase):
    type: Literal["demo"]
    interval_s: float = Field(default=5.0, gt=0)


DeviceConfig = Annotated[
    SerialDevice | HidPosDevice | HidKeyboardDevice | CameraDevice | ReplayDevice | DemoDevice,
    Field(discriminator="type"),
]


class Settings(_Section):
    agent: AgentSettings = Field(default_factory=AgentSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    parser: ParserSettings = Field(default_factory=ParserSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    decoder: DecoderSettings = Field(default_factory=DecoderSettings)
    roc: RocSettings = Field(default_factory=RocSettings)
    indicators: IndicatorSettings = Field(default_factory=IndicatorSettings)
    kiosk: KioskSettings = Field(default_factory=KioskSettings)
    inputs: InputsSettings = Field(default_factory=InputsSettings)
    devices: list[DeviceConfig] = Field(default_factory=list)
    sources: tuple[str, ...] = ()
    """The files these settings were read from, lowest precedence first (for messages)."""

    @field_validator("devices")
    @classmethod
    def _unique_ids(cls, devices: list[DeviceConfig]) -> list[DeviceConfig]:
        seen: set[str] = set()
        for device in devices:
            if device.id in seen:
                raise ValueError(f"two devices have the id {device.id!r}")
            seen.add(device.id)
        return devices

    @property
    def data_dir(self) -> Path:
        return Path(self.agent.data_dir) if self.agent.data_dir else paths.default_data_dir()

    def path(self, value: str) -> Path:
        """A configured path with `{data_dir}` and `{config_dir}` expanded."""
        return Path(paths.expand(value, self.data_dir))

    @property
    def storage_url(self) -> str:
        return paths.expand(self.storage.url, self.data_dir)

    @property
    def layout_dirs(self) -> list[Path]:
        return [self.path(d) for d in self.parser.layouts_dirs]

    @property
    def referential_path(self) -> Path:
        return self.path(self.parser.referential)

    @property
    def workstation(self) -> str:
        """This workstation's name in the indicators: `indicators.workstation`, else the host
        name (its first label, at most 64 characters)."""
        if self.indicators.workstation:
            return self.indicators.workstation
        import socket  # noqa: PLC0415

        host = socket.gethostname().split(".")[0][:64]
        return host or "workstation"


def default_config_file() -> Path:
    return paths.config_dir() / "default.toml"


def load_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the defaults, then `path` (or `$SCANNER_AGENT_CONFIG`), then the environment.

    `overrides` is a nested mapping applied last (command-line flags such as `--port`).
    """
    data, sources = _gather(path, env)
    if overrides:
        _merge(data, dict(overrides))
    data["sources"] = tuple(str(s) for s in sources)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, data, sources)) from exc


def load_roc_settings(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> RocSettings:
    """The `[roc]` section alone, read as `load_settings` reads it (the defaults, then `path` or
    `$SCANNER_AGENT_CONFIG`, then `SCANNER_AGENT_ROC__*`): what the running agent reads again
    when its configuration file changes. `ConfigError` names the key and the files, as
    `load_settings` does (and a file that is not TOML, or is gone); the other sections are not
    validated here."""
    data, sources = _gather(path, env)
    try:
        return RocSettings.model_validate(data.get("roc", {}))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, data, sources, within=("roc",))) from exc


def config_data(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The configuration as read (the defaults, the file, the environment; no flags), merged and
    not validated: to tell which sections changed (`ConfigError` when a file cannot be read)."""
    return _gather(path, env)[0]


def _gather(
    path: str | Path | None, env: Mapping[str, str] | None
) -> tuple[dict[str, Any], list[Path]]:
    """The defaults, then `path` (or `$SCANNER_AGENT_CONFIG`), then the environment, merged;
    and the files read, lowest precedence first."""
    env = os.environ if env is None else env
    sources = [default_config_file()]
    data = _read_toml(sources[0])
    chosen = path or env.get(ENV_PREFIX + "CONFIG")
    if chosen:
        sources.append(Path(chosen))
        _merge(data, _read_toml(Path(chosen)))
    _merge(data, _from_env(env))
    return data, sources


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """`SCANNER_AGENT_API__PORT=9000` → `{"api": {"port": 9000}}`; values are read as TOML."""
    out: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _describe(
    exc: ValidationError,
    data: Mapping[str, Any],
    sources: list[Path],
    within: tuple[str, ...] = (),
) -> str:
    """The errors, each named by its key (`within`: the section the model validated)."""
    where = " and ".join(str(s) for s in sources) + " (and SCANNER_AGENT_* variables)"
    lines = [f"invalid configuration in {where}:"]
    for err in exc.errors():
        loc = [*within, *err["loc"]]
        if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int):
            devices = data.get("devices") or []
            index = loc[1]
            device = (
                devices[index] if index < len(devices) and isinstance(devices[index], dict) else {}
            )
            ident = device.get("id")
            head = f"devices[{index}]" + (f" (id {ident!r})" if ident else "")
            # pydantic inserts the discriminator ("serial", "camera", ...) after the index
            tail = loc[3:] if len(loc) > 2 and loc[2] == device.get("type") else loc[2:]
            key = ".".join([head, *(str(p) for p in tail)])
        else:
            key = ".".join(str(p) for p in loc) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)
