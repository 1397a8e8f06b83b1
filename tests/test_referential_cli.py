"""`scanner-agent referential check FILE` and `referential lookup AMC`: summaries, answers and
exit statuses, through the command's `main`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scanner_agent.attestation import DOMAINS
from scanner_agent.cli import main
from scanner_agent.wording import ROC_REASON_WORDS
from tests.helpers.samples import CONFIG

SHIPPED = str(CONFIG / "amc_referential.csv")


@pytest.fixture
def dated(tmp_path: Path) -> str:
    """The shipped referential, its lines dated 2026-01-01 (the shipped dates move)."""
    shipped = Path(SHIPPED).read_text(encoding="utf-8")
    path = tmp_path / "referential.csv"
    path.write_text(re.sub(r",(yes|no),\d{4}-\d{2}-\d{2},", r",\1,2026-01-01,", shipped))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_summarises_a_good_file(capsys, dated: str):
    status, out, _ = run(capsys, "referential", "check", dated, "--at", "2026-03-01", "--json")
    assert status == 0
    summary = json.loads(out)
    assert summary["ok"] is True and summary["path"] == dated
    assert (summary["entries"], summary["lines"], summary["with_history"]) == (7, 8, 1)
    assert (summary["updated"], summary["age_days"], summary["stale"]) == ("2026-01-01", 59, False)
    # on 2026-03-01: A, C and the test AMC are connected, for every domain
    assert summary["connected"] == 3
    assert summary["by_domain"] == dict.fromkeys(DOMAINS, 3)
    assert summary["hors_roc_mco"] == {
        "connection_ended": 1,
        "not_connected": 2,
        "not_yet_connected": 1,
    }
    assert [t["amc_number"] for t in summary["test_amcs"]] == ["999999990"]
    # later, D is connected for MCO only
    status, out, _ = run(capsys, "referential", "check", dated, "--at", "2026-05-01", "--json")
    by_domain = json.loads(out)["by_domain"]
    assert (by_domain["MCO"], by_domain["SMR"]) == (4, 3)


def test_check_readable_summary_and_staleness(capsys, tmp_path: Path, dated: str):
    status, out, _ = run(capsys, "referential", "check", dated, "--at", "2026-06-01")
    assert status == 0
    assert out.startswith(f"GOOD referential: {dated}")
    assert "7 in 8 line(s) (1 with a history)" in out
    assert "2026-01-01 (151 day(s) before 2026-06-01; STALE: older than 90 days)" in out
    assert "999999990 (AMC DE TEST" in out
    config = tmp_path / "agent.toml"
    config.write_text("[parser]\nreferential_max_age_days = 200\n")
    _, out, _ = run(
        capsys, "referential", "check", dated, "--at", "2026-06-01", "--config", str(config)
    )
    assert "STALE" not in out


def test_check_names_the_lines_of_a_bad_file(capsys, tmp_path: Path):
    bad = tmp_path / "hospital.csv"
    bad.write_text("amc_number,name,roc,roc_from\n1,A,yes,\n2,B,no,\n0001,A,yes,2026-01-01\n")
    status, out, err = run(capsys, "referential", "check", str(bad))
    assert status == 1 and out == ""
    assert err.startswith("BAD referential:") and f"{bad}, lines 2 and 4" in err
    status, out, _ = run(capsys, "referential", "check", str(bad), "--json")
    answer = json.loads(out)
    assert status == 1 and answer["ok"] is False and "lines 2 and 4" in answer["error"]
    status, _, err = run(capsys, "referential", "check", str(tmp_path / "none.csv"))
    assert status == 1 and "not found" in err


def test_lookup_answers_for_one_amc(capsys):
    status, out, _ = run(
        capsys, "referential", "lookup", "900000011", "--at", "2026-05-01", "--domain", "smr",
        "--json",
    )  # fmt: skip
    assert status == 0
    answer = json.loads(out)
    assert {k: answer[k] for k in ("status", "reason", "domain", "gap_codes", "test")} == {
        "status": "hors_roc",
        "reason": "domain_not_in_roc",
        "domain": "SMR",
        "gap_codes": ["EXD"],
        "test": False,
    }
    assert answer["message"] == ROC_REASON_WORDS["domain_not_in_roc"]
    assert answer["name"] == "Mutuelle Exemple D (fictive)"
    assert (answer["source"], answer["line"], answer["at"]) == (SHIPPED, 16, "2026-05-01")
    status, out, _ = run(capsys, "referential", "lookup", "0900000037", "--at", "2026-03-01")
    assert status == 0
    assert (
        out.splitlines()[0] == "AMC 0900000037 on 2026-03-01 for MCO: hors_roc (not_yet_connected)"
    )
    assert ROC_REASON_WORDS["not_yet_connected"] in out and "GAP codes   EXF" in out
    _, out, _ = run(capsys, "referential", "lookup", "999999990", "--at", "2026-03-01")
    assert ": roc\n" in out and "test AMC    yes" in out and "GAP codes   TEST" in out


def test_lookup_with_another_file_an_unknown_amc_and_bad_arguments(capsys, tmp_path: Path):
    mine = tmp_path / "mine.csv"
    mine.write_text("amc_number,name,roc\n42,Mine,no\n")
    status, out, _ = run(capsys, "referential", "lookup", "0042", "--file", str(mine), "--json")
    assert status == 0 and json.loads(out)["reason"] == "not_connected"
    status, out, _ = run(capsys, "referential", "lookup", "43", "--file", str(mine))
    assert status == 1 and "unknown" in out and "absente du référentiel" in out
    for bad in (["--domain", "URG"], ["--at", "01/03/2026"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["referential", "lookup", "42", *bad])
        assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["referential", "lookup", "4A2"])
    assert main(["referential", "lookup", "42", "--file", str(tmp_path / "none.csv")]) == 2


def test_lookup_answers_in_the_configured_phase(capsys, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCANNER_AGENT_ROC__PHASE", '"supervised"')
    monkeypatch.setenv("SCANNER_AGENT_ROC__MIRROR_AMC", '"0999999990"')
    status, out, _ = run(
        capsys, "referential", "lookup", "0775627391", "--at", "2026-03-01", "--json"
    )
    answer = json.loads(out)
    assert status == 0
    assert (answer["status"], answer["reason"], answer["name"]) == (
        "hors_roc",
        "supervised_production",
        "Mutuelle Exemple A (fictive)",
    )
    assert (answer["phase"], answer["mirror_amc"]) == ("supervised", "0999999990")
    assert answer["referential"] == {"status": "roc", "reason": None}
    assert answer["message"] == ROC_REASON_WORDS["supervised_production"]
    status, out, _ = run(capsys, "referential", "lookup", "999999990", "--at", "2026-03-01")
    assert status == 0 and ": roc\n" in out and "test AMC    yes" in out
    assert "ROC phase   supervised: production sous surveillance avec l'AMC miroir" in out
    # an AMC absent from the referential: hors_roc in this phase, and still exit status 1
    status, out, _ = run(capsys, "referential", "lookup", "43", "--json")
    answer = json.loads(out)
    assert status == 1
    assert (answer["status"], answer["referential"]["status"]) == ("hors_roc", "unknown")
    monkeypatch.setenv("SCANNER_AGENT_ROC__PHASE", '"not_started"')
    status, out, _ = run(capsys, "referential", "lookup", "999999990", "--at", "2026-03-01")
    first = "AMC 999999990 on 2026-03-01 for MCO: hors_roc (roc_not_started)"
    assert status == 0 and out.splitlines()[0] == first
    assert "the referential says roc" in out and "name        AMC DE TEST" in out
