"""`scanner-agent windows-task`: the Task Scheduler task that starts the agent at logon, read back
with ElementTree in the Task Scheduler schema's namespace; and `python -m scanner_agent`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from scanner_agent import cli
from scanner_agent.commands import windows_task
from tests.helpers.samples import ROOT

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
DEMO = str(ROOT / "config" / "examples" / "demo.toml")


def _task(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> ET.Element:
    assert cli.main(["windows-task", *argv]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(out)


def _text(task: ET.Element, path: str) -> str:
    found = task.find(path, NS)
    assert found is not None, path
    return found.text or ""


def test_the_task_starts_the_agent_at_the_users_logon_in_their_session(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    task = _task(capsysbinary, "--user", r"HOPITAL\accueil1")
    assert task.tag == "{http://schemas.microsoft.com/windows/2004/02/mit/task}Task"
    assert task.get("version") == "1.2"
    triggers = task.findall("t:Triggers/*", NS)
    assert [t.tag.split("}")[1] for t in triggers] == ["LogonTrigger"]
    assert _text(task, "t:Triggers/t:LogonTrigger/t:UserId") == r"HOPITAL\accueil1"
    # logonTriggerType extends triggerBaseType: its elements (Enabled) come before UserId
    trigger = [c.tag.split("}")[1] for c in triggers[0]]
    assert trigger == ["Enabled", "UserId"]
    principal = task.find("t:Principals/t:Principal", NS)
    assert principal is not None
    assert _text(principal, "t:UserId") == r"HOPITAL\accueil1"
    assert _text(principal, "t:LogonType") == "InteractiveToken"
    assert _text(principal, "t:RunLevel") == "LeastPrivilege"
    actions = task.find("t:Actions", NS)
    assert actions is not None and actions.get("Context") == principal.get("id") == "Author"


def test_the_settings_restart_it_and_never_stop_it(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    settings = _task(capsysbinary, "--user", "accueil1").find("t:Settings", NS)
    assert settings is not None
    assert _text(settings, "t:RestartOnFailure/t:Interval") == "PT1M"
    count = int(_text(settings, "t:RestartOnFailure/t:Count"))
    assert 1 <= count <= 255  # the schema's unsignedByte, at least 1
    assert _text(settings, "t:ExecutionTimeLimit") == "PT0S"
    assert _text(settings, "t:MultipleInstancesPolicy") == "IgnoreNew"
    assert _text(settings, "t:DisallowStartIfOnBatteries") == "false"
    assert _text(settings, "t:StopIfGoingOnBatteries") == "false"
    assert _text(settings, "t:StartWhenAvailable") == "true"
    assert _text(settings, "t:Enabled") == "true"
    assert 4 <= int(_text(settings, "t:Priority")) <= 6  # "used for interactive tasks"


def test_the_action_runs_this_interpreter_with_the_module_and_an_absolute_config(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "Program Data" / "scanner agent"
    folder.mkdir(parents=True)
    (folder / "agent.toml").write_bytes(Path(DEMO).read_bytes())
    monkeypatch.chdir(folder)
    task = _task(capsysbinary, "--user", "accueil1", "--config", "agent.toml")
    execute = task.find("t:Actions/t:Exec", NS)
    assert execute is not None
    assert [c.tag.split("}")[1] for c in execute] == ["Command", "Arguments"]
    assert _text(execute, "t:Command") == sys.executable
    config = str(folder / "agent.toml")
    # quoted as Windows splits a command line: the path with spaces stays one argument
    assert _text(execute, "t:Arguments") == f'-m scanner_agent serve --config "{config}"'
    without = _task(capsysbinary, "--user", "accueil1").find("t:Actions/t:Exec/t:Arguments", NS)
    assert without is not None and without.text == "-m scanner_agent serve"


def test_windows_quoting_of_the_arguments() -> None:
    line = windows_task.command_line(["--config", r"C:\Program Files\a b\agent.toml", 'x"y'])
    assert line == r'--config "C:\Program Files\a b\agent.toml" x\"y'


def test_a_user_name_is_escaped_and_the_document_is_utf8(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    user = "HÔPITAL\\a&b<c>"
    assert cli.main(["windows-task", "--user", user]) == 0
    out = capsysbinary.readouterr().out
    assert b"a&amp;b&lt;c&gt;" in out and b"a&b<c" not in out
    assert "HÔPITAL".encode() in out  # UTF-8, as the declaration says
    task = ET.fromstring(out)
    assert _text(task, "t:Triggers/t:LogonTrigger/t:UserId") == user
    assert _text(task, "t:Principals/t:Principal/t:UserId") == user


def test_the_user_defaults_to_the_windows_session_only_on_windows() -> None:
    environ = {"USERDOMAIN": "HOPITAL", "USERNAME": "accueil1"}
    assert windows_task.default_user(environ, "win32") == r"HOPITAL\accueil1"
    assert windows_task.default_user({"USERNAME": "accueil1"}, "win32") == "accueil1"
    assert windows_task.default_user({}, "win32") is None
    assert windows_task.default_user(environ, "linux") is None


@pytest.mark.skipif(sys.platform == "win32", reason="--user is optional on Windows")
def test_without_a_user_outside_windows_it_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USERNAME", "accueil1")
    assert cli.main(["windows-task"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--user" in captured.err


def test_out_writes_the_same_bytes(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    assert cli.main(["windows-task", "--user", "accueil1"]) == 0
    printed = capsysbinary.readouterr().out
    target = tmp_path / "task.xml"
    assert cli.main(["windows-task", "--user", "accueil1", "--out", str(target)]) == 0
    assert capsysbinary.readouterr().out == b""
    assert target.read_bytes() == printed


def test_exit_codes_of_a_bad_config_and_an_unwritable_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "nothing.toml")
    assert cli.main(["windows-task", "--user", "u", "--config", missing]) == 2
    assert capsys.readouterr().out == ""
    out = str(tmp_path / "no-such-folder" / "task.xml")
    assert cli.main(["windows-task", "--user", "u", "--out", out]) == 2
    assert "cannot write" in capsys.readouterr().err


def _module(*argv: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, env=env, timeout=120, check=False
    )


def test_python_dash_m_scanner_agent_is_the_command() -> None:
    done = _module("scanner_agent", "windows-task", "--user", "accueil1")
    assert done.returncode == 0, done.stderr
    assert ET.fromstring(done.stdout).tag.endswith("}Task")
    # the same exit statuses as the console script's module
    for argv in (("serve", "--config", "/nonexistent/agent.toml"), ("no-such-command",)):
        as_package = _module("scanner_agent", *argv)
        as_cli = _module("scanner_agent.cli", *argv)
        assert as_package.returncode == as_cli.returncode == 2, as_package.stderr
