"""`scanner-agent selftest` in French and English: `--lang`, the system locale, the same codes
in `--json` either way, tables whose texts keep their brackets (`[[devices]]`, `[decoder]`,
`[roc]`), colours only on a terminal without NO_COLOR, `--help` with examples and exit codes,
and every check of the package made from the catalogue."""

from __future__ import annotations

import ast
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner_agent import cli
from scanner_agent.commands.selftest import render
from scanner_agent.selftest import SelfTestReport, check
from scanner_agent.selftest.texts import FIXES, MESSAGES
from tests.helpers.samples import ROOT

_LOCALE = ("LC_ALL", "LC_MESSAGES", "LANG", "NO_COLOR")


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """No locale and no NO_COLOR from the machine: each test sets what it needs."""
    for name in _LOCALE:
        monkeypatch.delenv(name, raising=False)


def _config(tmp_path: Path, devices: str = "") -> str:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "data"}"\n'
        "[parser]\nreferential_max_age_days = 36500\n" + devices
    )
    return str(config)


ABSENT = '[[devices]]\nid = "absent"\ntype = "serial"\nport = "/dev/ttyACM-absent"\n'


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = cli.main(["selftest", "--internal", *args])
    return status, capsys.readouterr().out


def test_an_absent_device_in_french_and_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, ABSENT)
    status, french = _run(capsys, "--lang", "fr", "--config", config)
    assert status == 1  # a check fails
    assert "autotest de scanner-agent (interne) : ÉCHEC" in french
    assert "appareil absent (serial) : ÉCHEC" in french
    for header in ("vérification", "constat", "correction"):
        assert header in french
    # (table cells wrap: single words only)
    assert "/dev/ttyACM-absent" in french and "n'existe" in french
    assert "branchez" in french
    assert "\x1b[" not in french  # not a terminal: no colours
    status, english = _run(capsys, "--lang", "en", "--config", config)
    assert status == 1
    assert "scanner-agent self-test (internal): FAIL" in english
    assert "device absent (serial): FAIL" in english
    assert "/dev/ttyACM-absent" in english and "exist" in english
    assert "plug" in english
    assert "vérification" not in english


def test_json_has_the_same_codes_in_both_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, ABSENT)
    reports = {}
    for lang in ("fr", "en"):
        status, out = _run(capsys, "--lang", lang, "--json", "--config", config)
        assert status == 1
        reports[lang] = json.loads(out)
    assert reports["fr"]["lang"] == "fr" and reports["en"]["lang"] == "en"

    def codes(report: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
        checks = report["checks"] + [c for d in report["devices"] for c in d["checks"]]
        return [(c["code"], c["verdict"], sorted(c["params"])) for c in checks]

    assert codes(reports["fr"]) == codes(reports["en"])
    absent = reports["fr"]["devices"][0]["checks"][0]
    assert absent["code"] == "device_not_found"
    assert absent["params"] == {"node": "/dev/ttyACM-absent"}
    assert absent["message"] == "/dev/ttyACM-absent n'existe pas"


@pytest.mark.parametrize(
    ("environ", "args", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, (), "fr"),
        ({"LANG": "en_US.UTF-8"}, (), "en"),
        ({}, (), "en"),
        ({"LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, (), "en"),
        ({"LC_MESSAGES": "fr_FR.UTF-8"}, (), "fr"),
        ({"LANG": "fr_FR.UTF-8"}, ("--lang", "en"), "en"),  # the flag wins
        ({"LANG": "en_US.UTF-8"}, ("--lang", "fr"), "fr"),
    ],
)
def test_the_language_is_the_flag_else_the_system_locale(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    args: tuple[str, ...],
    lang: str,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    status, out = _run(capsys, "--json", "--config", _config(tmp_path), *args)
    assert status == 1  # no device: a warning
    report = json.loads(out)
    assert report["lang"] == lang
    no_devices = next(c for c in report["checks"] if c["code"] == "no_devices")
    expected = {"fr": "aucun appareil n'est configuré", "en": "no device is configured"}
    assert no_devices["message"].startswith(expected[lang])


def test_a_bad_language_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["selftest", "--lang", "de", "--config", _config(tmp_path)])
    assert exc.value.code == 2


def test_a_configuration_that_cannot_be_read_is_2_in_french_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[[devices]]\nid = "x"\ntype = "serial"\nsuffix = "crcr"\nport = "a"\n')
    status, out = _run(capsys, "--lang", "fr", "--json", "--config", str(config))
    assert status == 2
    (invalid,) = json.loads(out)["checks"]
    assert invalid["code"] == "config_invalid"
    assert invalid["message"].startswith("configuration illisible : ")
    assert "suffix" in invalid["params"]["error"]
    assert invalid["fix"].startswith("lancez `scanner-agent config --config FILE`")


def test_no_devices_keeps_its_brackets_in_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    for lang in ("en", "fr"):
        status, out = _run(capsys, "--lang", lang, "--config", config)
        assert status == 1  # no device: a warning
        assert "[[devices]]" in out, out


def _bracketed_report(lang: str) -> SelfTestReport:
    checks = [
        check("no_devices", "warn", "no_devices"),
        check("decoder_failed", "fail", "decoder_failed.error", error="ValueError: [bold]x"),
        check("roc_phase_not_reloaded", "warn", "roc_phase_not_reloaded", error="[roc] phase"),
    ]
    report = SelfTestReport(
        verdict="fail",
        level="internal",
        started_at=datetime.now(UTC),
        duration_ms=1.0,
        checks=checks,
    )
    return report.in_language(lang)  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_texts_with_brackets_are_printed_as_written(lang: str) -> None:
    out = io.StringIO()
    render(_bracketed_report(lang), out)
    text = out.getvalue()
    for written in ("[[devices]]", "[decoder]", "[roc]", "[bold]x"):
        assert written in text, (written, text)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colours_on_a_terminal_only_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    terminal = _Terminal()
    render(_bracketed_report("en"), terminal)
    assert "\x1b[" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = _Terminal()
    render(_bracketed_report("en"), terminal)
    assert "\x1b[" not in terminal.getvalue()
    assert "[[devices]]" in terminal.getvalue()


def test_help_has_examples_lang_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["selftest", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--lang {fr,en}" in out
    assert "examples:" in out and "scanner-agent selftest --lang fr" in out
    assert "exit status: 0 every check passes, 1 a check warns or fails, 2" in out
    assert "%%" not in out


def test_every_check_is_made_from_the_catalogue() -> None:
    """Every message id and fix id written in a `check(...)` call exists in the catalogue (ids
    built at run time are covered by the checks' own tests)."""
    files = sorted((ROOT / "scanner_agent" / "selftest").glob("*.py"))
    files.append(ROOT / "api" / "routes" / "selftest.py")
    calls = 0
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"):
                continue
            calls += 1
            for position, catalogue in ((2, MESSAGES["en"]), (3, FIXES["en"])):
                if len(node.args) <= position:
                    continue
                argument = node.args[position]
                parts = (
                    [argument.body, argument.orelse]
                    if isinstance(argument, ast.IfExp)
                    else [argument]
                )
                for part in parts:  # an f-string or a name: built at run time
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        assert part.value in catalogue, (path.name, node.lineno, part.value)
    assert calls > 60


def test_the_operator_is_prompted_in_the_report_language(tmp_path: Path) -> None:
    from scanner_agent.selftest import run_selftest
    from tests.helpers.selftest import make_settings, options

    settings = make_settings(tmp_path, {"id": "demo", "type": "demo", "interval_s": 0.01})
    prompts: list[str] = []
    report = run_selftest(
        settings, options(level="interactive", seconds=0.5, prompt=prompts.append, lang="fr")
    )
    assert prompts == [
        "l'appareil 'demo' est ouvert : scannez maintenant la carte de test (toutes les "
        "attestations, codes 1 à 6), dans les 0,5 s"
    ]
    assert report.lang == "fr"
    unexpected = next(c for c in report.devices[0].checks if c.code == "unexpected_code")
    assert unexpected.message.endswith("qui ne sont pas sur la carte de test sont arrivés")
