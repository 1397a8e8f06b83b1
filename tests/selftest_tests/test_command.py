"""`scanner-agent selftest`: the interactive command driven through a pty, exit statuses, the
readable table and the JSON report, a configuration that cannot be read, an unknown device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner_agent import cli
from scanner_agent.selftest import SelfTestReport
from tests.helpers.devices import PtyScanner
from tests.helpers.samples import ROOT
from tests.helpers.selftest import card_bytes, codes


def test_interactive_cli_driven_through_a_pty(tmp_path: Path, scanner: PtyScanner) -> None:
    config = tmp_path / "agent.toml"
    # the shipped referential is dated: the machine's clock must not make it stale (a warn)
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "data"}"\n'
        "[parser]\nreferential_max_age_days = 36500\n"
        f'[[devices]]\nid = "desk"\ntype = "serial"\nport = "{scanner.link}"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}  # the English prompt
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner_agent.cli", "selftest", "--interactive", "--json",
         "--config", str(config), "--seconds", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = ""
        while not line.startswith(">>>"):  # warnings of libraries may come first
            line = process.stderr.readline().decode()
            assert line, "the self-test ended without prompting"
        assert line.startswith(">>> device 'desk' is open: scan the test card"), line
        scanner.write(card_bytes(keys=("tagged-033", "fixed-050", "gs1")))
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    report = SelfTestReport.model_validate_json(out)
    assert process.returncode == 0, (out, err)
    assert report.level == "interactive"
    assert codes(report.devices[0].checks)["testcard_complete"] == "pass"
    raw = json.loads(out)
    assert set(raw) == {
        "verdict", "level", "lang", "started_at", "duration_ms", "checks", "devices"
    }  # fmt: skip
    assert raw["lang"] == "en"
    assert set(raw["devices"][0]) == {"device_id", "type", "verdict", "checks", "measurements"}
    assert set(raw["devices"][0]["checks"][0]) == {"code", "verdict", "message", "fix", "params"}


# --- the command: exit statuses, tables, a configuration that cannot be read ---------------


def test_cli_exit_status_and_readable_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "data"}"\n'
        '[[devices]]\nid = "wedge"\ntype = "hid_keyboard"\npath = "/dev/null"\n'
    )
    status = cli.main(["selftest", "--internal", "--config", str(config)])
    out = capsys.readouterr().out
    assert status == 1  # keyboard mode: a warning
    assert "WARN" in out
    assert "keyboard_mode" in out
    assert "device wedge (hid_keyboard)" in out
    config.write_text(config.read_text().replace("/dev/null", "/dev/hidraw-absent"))
    # a check that fails is 1 too (2 is a usage error or a configuration that cannot be read)
    assert cli.main(["selftest", "--internal", "--json", "--config", str(config)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "fail"
    assert report["devices"][0]["checks"][0]["code"] == "device_not_found"


def test_cli_reports_a_configuration_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[[devices]]\nid = "x"\ntype = "serial"\nsuffix = "crcr"\nport = "a"\n')
    assert cli.main(["selftest", "--json", "--config", str(config)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "fail"
    assert report["checks"][0]["code"] == "config_invalid"
    assert "suffix" in report["checks"][0]["message"]


def test_cli_refuses_an_unknown_device(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_path}"\n')
    with pytest.raises(SystemExit) as exc:
        cli.main(["selftest", "--device", "nope", "--config", str(config)])
    assert exc.value.code == 2
