"""Every command's `--help`: examples that work as written, exit codes, no `%%`, nothing lost.

The commands are read from `cli.COMMANDS` (and each command's own sub-commands), so a command
added there is checked here without editing this file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from scanner_agent import cli
from tests.helpers.samples import ROOT


def _sub_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _all_commands() -> list[tuple[str, ...]]:
    """Every command path: ("parse",), ("referential",), ("referential", "check")..."""
    parser = cli.build_parser()
    found: list[tuple[str, ...]] = []
    for name in cli.COMMANDS:
        command = _sub_commands(parser)[name]
        found.append((name,))
        found += [(name, action) for action in _sub_commands(command)]
    return found


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = cli.build_parser()
    for name in path:
        parser = _sub_commands(parser)[name]
    return parser


def _examples(parser: argparse.ArgumentParser) -> list[str]:
    epilog = parser.epilog or ""
    if "examples:\n" not in epilog:
        return []
    block = epilog.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


COMMANDS = _all_commands()


def test_every_command_is_listed() -> None:
    assert ("referential", "check") in COMMANDS and ("referential", "lookup") in COMMANDS
    assert {path[0] for path in COMMANDS} == set(cli.COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_examples_and_exit_codes(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "%%" not in out
    assert "\nexamples:\n" in out
    assert any(line.startswith("exit status: 0") for line in out.splitlines()), out
    parser = _parser_of(path)
    examples = _examples(parser)
    assert examples
    for example in examples:
        # printed as written: no bracketed word, no % eaten on the way
        assert f"  {example}\n" in out
    assert parser.description and parser.description in out


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_example_is_a_valid_command_line(path: tuple[str, ...]) -> None:
    for example in _examples(_parser_of(path)):
        # the part of a pipeline that is ours (`printf ... | scanner-agent parse -`,
        # `scanner-agent selftest --json | jq ...`), without a `> FILE` redirection; a trailing
        # `# comment` as the shell reads it
        commands = [shlex.split(part, comments=True) for part in example.split(" | ")]
        words = next(words for words in commands if words[0] == "scanner-agent")
        if ">" in words:  # `scanner-agent windows-task ... > task.xml`: the shell's redirection
            words = words[: words.index(">")]
        args = cli.build_parser().parse_args(words[1:])
        assert args.command == path[0]
        if len(path) > 1:
            assert args.action == path[1]


# The examples that end by themselves, run for real as a user would, from the checkout, with
# data (token file, database) in a temporary folder. serve, run, watch and record run until
# stopped or for seconds: their examples are checked as command lines above, and the commands
# themselves in their own tests.
RUN_FOR_REAL = (
    "parse",
    "config",
    "referential",
    "token",
    "testcard",
    "devices",
    "report",
    "windows-task",
)


def _run_example(example: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    scanner_agent = f"{shlex.quote(sys.executable)} -m scanner_agent.cli"
    line = example.replace("scanner-agent", scanner_agent)
    line = line.replace("config/", f"{ROOT}/config/")
    return subprocess.run(
        ["/bin/sh", "-c", line],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_examples_work_as_written(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANNER_AGENT")}
    env["SCANNER_AGENT_AGENT__DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(ROOT)
    ran = 0
    for path in COMMANDS:
        if path[0] not in RUN_FOR_REAL:
            continue
        for example in _examples(_parser_of(path)):
            done = _run_example(example, env, tmp_path)
            # `devices` exits 1 when a configured device is missing: the demo is never missing
            assert done.returncode in (0, 1), (example, done.stderr)
            assert "Traceback" not in done.stderr, (example, done.stderr)
            if " parse " in example and "AMC:07756" in example:
                assert done.returncode == 1  # the example of a refused code
            elif path[0] != "devices":
                assert done.returncode == 0, (example, done.stdout, done.stderr)
            if "--json" in example:
                json.loads(done.stdout)
            ran += 1
    assert ran >= 15
    assert (tmp_path / "card.png").stat().st_size > 0
    assert (tmp_path / "task.xml").read_bytes().startswith(b"<?xml")  # windows-task --out, >


def test_the_top_level_help_says_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "exit status: 0 ok, 1 refused" in out
    assert "141" in out and "NO_COLOR" in out
    for name in cli.COMMANDS:
        assert f"    {name} " in out or f"    {name}\n" in out
