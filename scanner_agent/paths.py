"""Where the agent finds its shipped data and keeps its own, by the platform's conventions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "scanner-agent"


def config_dir() -> Path:
    """The folder of shipped data: default.toml, layouts/, amc_referential.csv, udev/, systemd/.

    `SCANNER_AGENT_CONFIG_DIR` wins; then the checkout this package runs from (development,
    editable installs, the Docker image); then `<prefix>/share/scanner-agent/config` (wheels).
    """
    override = os.environ.get("SCANNER_AGENT_CONFIG_DIR")
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parent.parent / "config"
    if (checkout / "default.toml").is_file():
        return checkout
    return Path(sys.prefix) / "share" / APP_NAME / "config"


def default_data_dir() -> Path:
    """Where scans, the token file and logs live: `$XDG_DATA_HOME/scanner-agent` on Linux."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def expand(value: str, data_dir: Path) -> str:
    """Expand `{data_dir}` and `{config_dir}` in a configured path or URL."""
    return value.replace("{data_dir}", str(data_dir)).replace("{config_dir}", str(config_dir()))
