"""The `scanner-agent parse` contract, through a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.helpers.samples import VALID_AIM as VALID

CONTRACT_KEYS = {
    "status",
    "layout",
    "amc_number",
    "convention_types",
    "routing_criterion",
    "member_number",
    "valid_from",
    "valid_to",
    "validity",
    "warnings",
    "errors",
    "roc",
    "decision",
    "reasons",
    "patient_message",
}


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "scanner_agent.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_json_from_stdin_valid():
    p = run("parse", "--json", "--at", "2026-03-01", stdin=VALID)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == CONTRACT_KEYS
    assert out["status"] == "valid"
    assert out["layout"] == "tagged"
    assert out["valid_from"] == "2026-01-01"
    assert out["validity"] == {"state": "current", "stay": None, "at": "2026-03-01"}
    assert out["roc"]["status"] == "roc"
    assert out["roc"]["name"] == "Mutuelle Exemple A (fictive)"
    assert out["roc"]["domain"] == "MCO"
    assert out["member_number"] == "12345678"


def test_dash_reads_stdin_and_one_trailing_newline_is_dropped():
    p = run("parse", "--json", "-", stdin=VALID + b"\n")
    assert p.returncode == 0
    assert json.loads(p.stdout)["valid_to"] == "2026-12-31"


def test_argument_payload_with_pipes_and_stay():
    payload = "AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:AB-123/45|DD:20260101|DF:20260630"
    p = run("parse", "--json", "--stay-start", "2026-06-25", "--stay-days", "10", payload)
    out = json.loads(p.stdout)
    assert p.returncode == 0
    # at = the stay's start; the stay runs past the end of the period
    assert out["validity"] == {"state": "current", "stay": "partial", "at": "2026-06-25"}
    assert out["decision"] == "check"
    # the first reason; the shipped referential may also be stale by the day the test runs
    assert out["reasons"][0]["code"] == "stay_partly_covered"
    p = run("parse", "--json", "--at", "2026-07-01", payload)
    assert json.loads(p.stdout)["validity"]["state"] == "expired"


def test_refused_payload_exits_1_with_codes():
    p = run("parse", "--json", "AMCTP01|AMC:07756|TC:MU|CSR:|ADH:1|DD:20260101|DF:20261231")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["status"] == "invalid"
    assert out["errors"][0]["code"] == "bad_amc_number"
    assert out["errors"][0]["field"] == "amc_number"
    assert out["validity"] == {"state": None, "stay": None, "at": None}
    assert out["decision"] == "refused"
    assert [r["code"] for r in out["reasons"]] == ["invalid_payload"]


def test_empty_stdin_is_not_an_attestation():
    p = run("parse", "--json", stdin=b"")
    assert p.returncode == 1
    assert json.loads(p.stdout)["errors"][0]["code"] == "not_an_attestation"


@pytest.mark.parametrize(
    "args",
    [
        ["parse", "--at", "2026-13-01", "x"],
        ["parse", "--stay-start", "2026-01-01", "x"],
        ["parse", "--stay-days", "3", "x"],
        ["parse", "--bogus"],
        ["parse", "--b64", "!!"],
        ["parse", "--stay-start", "2026-01-01", "--stay-days", "-1", "x"],
        ["parse", "--domain", "XYZ", "x"],
    ],
)
def test_usage_errors_exit_2(args):
    p = run(*args)
    assert p.returncode == 2
    assert p.stderr


def test_b64_input_keeps_exact_bytes():
    import base64

    p = run("parse", "--json", "--b64", base64.b64encode(VALID).decode())
    assert p.returncode == 0
    assert json.loads(p.stdout)["amc_number"] == "0775627391"


def test_human_output_masks_the_member_number_unless_show():
    p = run("parse", "--at", "2026-03-01", stdin=VALID)
    text = p.stdout.decode()
    assert p.returncode == 0
    assert "attestation conforme" in text and "0775627391" in text
    assert "12345678" not in text and "••••••78" in text
    p = run("parse", "--show", stdin=VALID)
    assert "12345678" in p.stdout.decode()


@pytest.fixture
def fresh(tmp_path):
    """A configuration whose referential is never stale: decisions do not depend on the day the
    test runs."""
    path = tmp_path / "fresh.toml"
    path.write_text("[parser]\nreferential_max_age_days = 36500\n")
    return ["--config", str(path)]


ANY_VALID = re.compile(r"\bvalide?s?\b", re.IGNORECASE)


def test_human_output_says_the_decision_first_in_french(fresh):
    p = run("parse", *fresh, "--at", "2026-03-01", stdin=VALID)
    lines = p.stdout.decode().splitlines()
    assert p.returncode == 0
    assert lines[0] == "COUVERTE le 01/03/2026 — attestation conforme (format tagged)"
    assert "  ROC                ROC ; activité MCO" in lines
    assert "  Période            du 01/01/2026 au 31/12/2026 ; au 01/03/2026 : en cours" in lines


def test_an_expired_attestation_is_never_called_valid(fresh):
    p = run("parse", *fresh, "--at", "2027-01-05", stdin=VALID)
    text = p.stdout.decode()
    assert p.returncode == 0  # well-formed: the exit status says the code was read
    assert text.startswith("NON COUVERTE le 05/01/2027")
    assert "Attestation expirée le 31/12/2026" in text and "[expired]" in text
    assert not ANY_VALID.search(text)


def test_human_output_of_a_check_lists_each_reason_and_the_roc_status(fresh):
    payload = "AMCTP01|AMC:774734488|TC:SP,IS|CSR:A2|ADH:185057800608491|DD:20260101|DF:20260630"
    p = run("parse", *fresh, "--stay-start", "2026-06-28", "--stay-days", "5", payload)
    text = p.stdout.decode()
    assert text.startswith("À VÉRIFIER le 28/06/2026 — attestation conforme")
    motifs = [line for line in text.splitlines() if line.startswith("  Motif : ")]
    assert [m.rsplit("[", 1)[1] for m in motifs] == [
        "stay_partly_covered]",
        "member_number_looks_like_nir]",
    ]
    assert (
        "hors ROC : AMC non connectée à ROC (not_connected) ; activité MCO ; codes GAP : EXB, EXB2"
        in text
    )
    assert "séjour couvert en partie seulement" in text
    assert not ANY_VALID.search(text)


def test_domain_is_asked_and_reported():
    p = run("parse", "--json", "--at", "2026-03-01", "--domain", "psy", stdin=VALID)
    assert json.loads(p.stdout)["roc"]["domain"] == "PSY"


def test_human_output_of_a_refusal():
    p = run("parse", "]d2010340093000001917261231101234")
    assert p.returncode == 1
    text = p.stdout.decode()
    assert text.startswith("REFUSÉE — code non conforme")
    assert "gs1_code" in text and "[invalid_payload]" in text


def test_bad_config_exits_2_naming_the_key(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[api]\nport = -1\n")
    p = run("parse", "--config", str(path), "x")
    assert p.returncode == 2
    assert b"api.port" in p.stderr and str(path).encode() in p.stderr


def test_config_command_checks_everything(tmp_path):
    p = run("config")
    assert p.returncode == 0
    assert b"layout tagged v1" in p.stdout and b"layout fixed v1" in p.stdout
    assert "ROC phase: trust_circle (cercle de confiance ROC;" in p.stdout.decode()
    path = tmp_path / "c.toml"
    empty = tmp_path / "layouts"
    empty.mkdir()
    path.write_text(f'[parser]\nlayouts_dirs = ["{empty}"]\n')
    p = run("config", "--config", str(path))
    assert p.returncode == 2
    assert b"no layout file" in p.stderr


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("scanner-agent") or str(
        __import__("pathlib").Path(sys.executable).with_name("scanner-agent")
    )
    p = subprocess.run([exe, "--version"], capture_output=True, timeout=60, check=False)
    assert p.returncode == 0
    assert p.stdout.startswith(b"scanner-agent ")


def test_the_roc_status_follows_the_configured_phase(tmp_path):
    path = tmp_path / "phase.toml"
    path.write_text(
        '[parser]\nreferential_max_age_days = 36500\n[roc]\nphase = "supervised"\n'
        'mirror_amc = "999999990"\n'
    )
    p = run("parse", "--config", str(path), "--json", "--at", "2026-03-01", stdin=VALID)
    result = json.loads(p.stdout)
    assert result["roc"]["status"] == "hors_roc"
    assert result["roc"]["reason"] == "supervised_production"
    assert result["roc"]["name"] == "Mutuelle Exemple A (fictive)"
    assert result["decision"] == "covered"  # the phase changes the circuit, not the cover
    path.write_text('[parser]\nreferential_max_age_days = 36500\n[roc]\nphase = "not_started"\n')
    p = run("parse", "--config", str(path), "--at", "2026-03-01", stdin=VALID)
    assert (
        "  ROC                hors ROC : ROC pas encore démarré dans l'établissement "
        "(roc_not_started) ; activité MCO"
    ) in p.stdout.decode().splitlines()
