"""The self-test's ROC phase checks (rendered in French here): the phase for IT staff, a
warning when the mirror AMC of a supervised production is absent from the referential or not
connected to ROC there, and when a running agent could not read its changed `[roc]` section
again."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scanner_agent.referential import AmcEntry, Referential
from scanner_agent.rollout import Rollout
from scanner_agent.selftest import CHECKS_FR, run_selftest
from scanner_agent.selftest.roc_checks import (
    MIRROR_NOT_CONNECTED_FIX,
    MIRROR_UNKNOWN_FIX,
    NOT_RELOADED_FIX,
    roc_checks,
)
from tests.helpers.samples import TODAY
from tests.helpers.selftest import codes, make_settings, options

REFERENTIAL = Referential(
    [
        AmcEntry("0999999990", "Miroir", True, TODAY, test=True),
        AmcEntry("42", "Miroir ancien", True, TODAY, roc_to=date(2026, 1, 31)),
        AmcEntry("43", "Miroir non connecté", False, TODAY),
        AmcEntry("44", "Miroir SMR", True, TODAY, domains=("SMR",)),
    ]
)


def as_json(rollout: Rollout, **extra: Any) -> list[dict[str, str]]:
    """The checks in French, without their parameters."""
    checks = roc_checks(rollout, REFERENTIAL, TODAY, **extra)
    return [c.in_language("fr").model_dump(exclude={"params"}) for c in checks]


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        (
            Rollout(),
            "Phase ROC : cercle de confiance ROC (le référentiel AMC décide, AMC par AMC)",
        ),
        (
            Rollout("supervised", "999999990"),
            "Phase ROC : production sous surveillance avec l'AMC miroir 999999990 (les autres "
            "AMC sont hors ROC, motif supervised_production)",
        ),
        (
            Rollout("supervised", "44"),  # connected for SMR only: fine
            "Phase ROC : production sous surveillance avec l'AMC miroir 44 (les autres AMC sont "
            "hors ROC, motif supervised_production)",
        ),
        (
            Rollout("not_started", "123"),  # a mirror AMC unknown, but not used in this phase
            "Phase ROC : ROC pas encore démarré (toutes les AMC sont hors ROC, motif "
            "roc_not_started)",
        ),
    ],
)
def test_the_phase_is_reported_in_french(rollout: Rollout, message: str) -> None:
    assert as_json(rollout) == [
        {"code": "roc_phase", "verdict": "pass", "message": message, "fix": ""}
    ]


def test_a_mirror_absent_from_the_referential_warns() -> None:
    checks = as_json(Rollout("supervised", "0123"))
    assert checks[1] == {
        "code": "roc_mirror_unknown",
        "verdict": "warn",
        "message": "L'AMC miroir 0123 est absente du référentiel AMC local : en production sous "
        "surveillance, aucune AMC ne passe alors en ROC",
        "fix": CHECKS_FR["roc_mirror_unknown"],
    }
    assert len(checks) == 2
    english = roc_checks(Rollout("supervised", "0123"), REFERENTIAL, TODAY)[1]
    assert english.message == (
        "The mirror AMC 0123 is not in the local AMC referential: in supervised production, no "
        "AMC is then handled in ROC"
    )
    assert english.fix == MIRROR_UNKNOWN_FIX
    assert english.params == {"mirror": "0123"}


@pytest.mark.parametrize(
    ("mirror", "reason"), [("43", "not_connected"), ("42", "connection_ended")]
)
def test_a_mirror_not_connected_today_warns(mirror: str, reason: str) -> None:
    checks = as_json(Rollout("supervised", mirror), domain="MCO")
    assert [c["code"] for c in checks] == ["roc_phase", "roc_mirror_not_connected"]
    warning = checks[1]
    assert warning["verdict"] == "warn" and warning["fix"] == CHECKS_FR["roc_mirror_not_connected"]
    assert warning["message"].startswith(f"L'AMC miroir {mirror} (Miroir ")
    assert f"au 01/03/2026 pour aucune activité (motif {reason})" in warning["message"]
    english = roc_checks(Rollout("supervised", mirror), REFERENTIAL, TODAY, domain="MCO")[1]
    assert english.fix == MIRROR_NOT_CONNECTED_FIX
    assert f"on 01/03/2026 for no activity (reason {reason})" in english.message


def test_a_phase_not_read_again_warns_with_the_error() -> None:
    checks = as_json(Rollout("supervised", "999999990"), error="invalid configuration: roc.phase")
    assert [c["code"] for c in checks] == ["roc_phase", "roc_phase_not_reloaded"]
    assert checks[1]["verdict"] == "warn"
    assert checks[1]["fix"] == CHECKS_FR["roc_phase_not_reloaded"]
    assert checks[1]["message"] == (
        "La section [roc] modifiée n'a pas pu être relue : la phase ci-dessus reste appliquée. "
        "invalid configuration: roc.phase"
    )
    english = roc_checks(
        Rollout("supervised", "999999990"), REFERENTIAL, TODAY, error="invalid configuration"
    )[1]
    assert english.fix == NOT_RELOADED_FIX
    assert english.message.startswith("The changed [roc] section could not be read again")


def test_the_self_test_reports_the_configured_phase(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        roc={"phase": "supervised", "mirror_amc": "0123456789"},
        parser={"referential_max_age_days": 36_500},
    )
    report = run_selftest(settings, options(level="internal", lang="fr"))
    found = codes(report.checks)
    assert found["roc_phase"] == "pass"
    assert found["roc_mirror_unknown"] == "warn"
    assert report.verdict == "warn"
    phase = next(c for c in report.checks if c.code == "roc_phase")
    assert "production sous surveillance avec l'AMC miroir 0123456789" in phase.message
    # the shipped referential's test AMC as the mirror: nothing to say
    settings = make_settings(
        tmp_path,
        roc={"phase": "supervised", "mirror_amc": "999999990"},
        parser={"referential_max_age_days": 36_500},
    )
    found = codes(run_selftest(settings, options(level="internal")).checks)
    assert "roc_mirror_unknown" not in found and "roc_mirror_not_connected" not in found
