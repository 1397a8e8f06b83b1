"""A reader that closes standard output early (`scanner-agent ... | head -1`) ends every command
quietly: exit status 141 (128 + SIGPIPE), no traceback, nothing on standard error.

Each command runs in a fresh interpreter whose standard output is a pipe nobody reads any more:
the read end is closed before the command starts, so its first write meets the closed pipe
whatever the timing. One case also closes the pipe in the middle of a long output, as `head -1`
does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner_agent.cli import EXIT_PIPE_CLOSED
from tests.helpers.samples import CONFIG, ROOT, VALID_PIPE

DEMO = (
    "[pipeline]\nduplicate_window_s = 0\n"
    '[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 0.001\n'
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT")}
    env["SCANNER_AGENT_AGENT__DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "scanner_agent.cli", *args]


CASES = {
    "config": ["config"],
    "config --json": ["config", "--json"],
    "parse": ["parse", VALID_PIPE.decode()],
    "parse --json": ["parse", "--json", VALID_PIPE.decode()],
    "referential check --json": [
        "referential",
        "check",
        str(CONFIG / "amc_referential.csv"),
        "--json",
    ],
    "referential lookup": ["referential", "lookup", "0775627391"],
    "token --json": ["token", "--json"],
    "devices": ["devices"],
    "devices --json": ["devices", "--json"],
    "report": ["report"],
    "report --json": ["report", "--json"],
    "testcard --json": ["testcard", "--out", "{tmp}/card.png", "--dpi", "100", "--json"],
    "watch --json": ["watch", "--config", "{demo}", "--json", "--count", "5"],
    "selftest --json": ["selftest", "--internal", "--json"],  # the case issue 16 names
    "selftest": ["selftest", "--internal", "--lang", "fr"],
    "decode --jsonl": ["decode", "--jsonl", str(ROOT / "examples")],
    "decode --csv -": ["decode", "--csv", "-", str(ROOT / "examples")],
    "decode": ["decode", str(ROOT / "examples")],
}


@pytest.mark.parametrize("case", CASES)
def test_a_closed_pipe_ends_quietly(case: str, tmp_path: Path) -> None:
    demo = tmp_path / "demo.toml"
    demo.write_text(DEMO)
    args = [a.format(tmp=tmp_path, demo=demo) for a in CASES[case]]
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails
    try:
        done = subprocess.run(
            _command(*args),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert "BrokenPipe" not in done.stderr
    assert done.returncode == EXIT_PIPE_CLOSED, done.stderr


def test_head_closes_the_pipe_in_the_middle_of_a_long_output(tmp_path: Path) -> None:
    demo = tmp_path / "demo.toml"
    demo.write_text(DEMO)
    process = subprocess.Popen(
        _command("watch", "--config", str(demo), "--json", "--count", "1000000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        first = process.stdout.readline()
        assert first.startswith('{"event": ')
        process.stdout.close()  # as `head -1` does once it has its line
        status = process.wait(timeout=60)
        stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert status == EXIT_PIPE_CLOSED
