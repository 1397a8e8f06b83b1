"""Colours only on a terminal and never with `NO_COLOR`; texts printed through rich that are not
markup are printed as they are (`[HD]`, `[[devices]]` are not eaten as markup).

The colour cases run the real command in its own process, its standard output a pseudo-terminal
or a pipe: `devices` with a configured device that matches nothing prints that line in red.
"""

from __future__ import annotations

import errno
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.discovery import CameraInfo, HidInfo
from scanner_agent import cli
from tests.helpers.samples import ROOT

ESC = "\x1b["
MISSING = '[[devices]]\nid = "gone"\ntype = "serial"\nvid = "1eab"\npid = "0001"\n'


def _run_devices(tmp_path: Path, *, terminal: bool, no_color: bool) -> str:
    config = tmp_path / "agent.toml"
    config.write_text(MISSING)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT")}
    env.pop("NO_COLOR", None)
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", COLUMNS="160")
    env["SCANNER_AGENT_AGENT__DATA_DIR"] = str(tmp_path / "data")
    if no_color:
        env["NO_COLOR"] = "1"
    command = [sys.executable, "-m", "scanner_agent.cli", "devices", "--config", str(config)]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60,
                              check=False)  # fmt: skip
        assert done.returncode == 1, done.stderr
        return done.stdout
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(command, stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: the terminal's other end is closed
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 1
    finally:
        os.close(master)
    return b"".join(chunks).decode()


def test_colours_on_a_terminal(tmp_path: Path) -> None:
    out = _run_devices(tmp_path, terminal=True, no_color=False)
    assert "configured device 'gone' matches nothing plugged in" in out
    assert ESC in out


def test_no_colours_on_a_terminal_with_no_color(tmp_path: Path) -> None:
    out = _run_devices(tmp_path, terminal=True, no_color=True)
    assert "configured device 'gone' matches nothing plugged in" in out
    assert ESC not in out


def test_no_colours_through_a_pipe(tmp_path: Path) -> None:
    out = _run_devices(tmp_path, terminal=False, no_color=False)
    assert "configured device 'gone' matches nothing plugged in" in out
    assert ESC not in out


def test_bracketed_words_are_printed_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    camera = CameraInfo("/dev/video0", "Cam [HD]")
    hid = HidInfo("/dev/hidraw1", "0c2e", "0b61", "[S1]", "Scanner", "[bold]Acme", 0x8C, 2, 0)
    monkeypatch.setattr("drivers.discovery.serial_ports", lambda: [])
    monkeypatch.setattr("drivers.discovery.hid_devices", lambda: [hid])
    monkeypatch.setattr("drivers.discovery.cameras", lambda: [camera])
    config = tmp_path / "agent.toml"
    config.write_text("")
    cli.main(["devices", "--config", str(config)])
    out = capsys.readouterr().out
    assert "Cam [HD]" in out
    assert "[S1]" in out
    assert "[bold]Acme" in out
