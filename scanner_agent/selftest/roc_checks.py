"""The phase of the ROC roll-out, for IT staff: which phase the agent applies (in French, as the
desk's words), and what would make it wrong.

    roc_checks(rollout, referential, today)        # [Check(code="roc_phase", ...), ...]
    roc_checks(rollout, referential, today, error="...")   # the running agent's last read failed

- `roc_phase` (pass): "Phase ROC : production sous surveillance avec l'AMC miroir 123456789 ...";
- `roc_mirror_unknown` (warn): supervised, and the mirror AMC is not in the referential;
- `roc_mirror_not_connected` (warn): supervised, and the referential does not connect the
  mirror AMC to ROC today (`roc=no`, or its period is over or not begun), for any activity;
- `roc_phase_not_reloaded` (warn): the running agent could not read its changed `[roc]` section
  again; the phase it applies is the previous one.
"""

from __future__ import annotations

from datetime import date

from scanner_agent.attestation import DOMAINS
from scanner_agent.referential import Referential
from scanner_agent.rollout import Rollout
from scanner_agent.selftest.reasons import CHECKS
from scanner_agent.selftest.report import Check, check

_CONSEQUENCE = {
    "trust_circle": "le référentiel AMC décide, AMC par AMC",
    "supervised": "les autres AMC sont hors ROC, motif supervised_production",
    "not_started": "toutes les AMC sont hors ROC, motif roc_not_started",
}
_NO_ROC = "en production sous surveillance, aucune AMC ne passe alors en ROC"

MIRROR_UNKNOWN_FIX = CHECKS["roc_mirror_unknown"]
MIRROR_NOT_CONNECTED_FIX = CHECKS["roc_mirror_not_connected"]
NOT_RELOADED_FIX = CHECKS["roc_phase_not_reloaded"]
"""The fixes of the ROC phase's checks (`reasons.CHECKS`, the README's reasons table)."""


def roc_checks(
    rollout: Rollout,
    referential: Referential | None,
    today: date,
    *,
    domain: str = "MCO",
    error: str | None = None,
) -> list[Check]:
    """The phase's checks: the phase in use, the mirror AMC in `referential` on `today` when
    supervised (nothing said of it when the referential did not load), and `error`, why the
    running agent's `[roc]` section did not read again."""
    out = [
        check(
            "roc_phase",
            "pass",
            f"Phase ROC : {rollout.describe()} ({_CONSEQUENCE[rollout.phase]})",
        )
    ]
    if error is not None:
        out.append(
            check(
                "roc_phase_not_reloaded",
                "warn",
                "La section [roc] modifiée n'a pas pu être relue : la phase ci-dessus reste "
                f"appliquée. {error}",
                NOT_RELOADED_FIX,
            )
        )
    if rollout.phase == "supervised" and referential is not None:
        out.extend(_mirror_checks(rollout.mirror_amc, referential, today, domain))
    return out


def _mirror_checks(mirror: str, referential: Referential, today: date, domain: str) -> list[Check]:
    if not referential.history(mirror):
        return [
            check(
                "roc_mirror_unknown",
                "warn",
                f"L'AMC miroir {mirror} est absente du référentiel AMC local : {_NO_ROC}",
                MIRROR_UNKNOWN_FIX,
            )
        ]
    if any(referential.lookup(mirror, today, d).status == "roc" for d in DOMAINS):
        return []
    roc = referential.lookup(mirror, today, domain)
    reason = roc.reason.value if roc.reason else roc.status
    return [
        check(
            "roc_mirror_not_connected",
            "warn",
            f"L'AMC miroir {mirror} ({roc.name}) n'est connectée à ROC dans le référentiel AMC "
            f"local au {today.strftime('%d/%m/%Y')} pour aucune activité (motif {reason}) : "
            f"{_NO_ROC}",
            MIRROR_NOT_CONNECTED_FIX,
        )
    ]


__all__ = ["roc_checks"]
