"""The phase of the ROC roll-out, for IT staff: which phase the agent applies (the phase in the
desk's French words, in either language of the report), and what would make it wrong.

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
    out = [check("roc_phase", "pass", f"roc_phase.{rollout.phase}", phase=rollout.describe())]
    if error is not None:
        out.append(check("roc_phase_not_reloaded", "warn", "roc_phase_not_reloaded", error=error))
    if rollout.phase == "supervised" and referential is not None:
        out.extend(_mirror_checks(rollout.mirror_amc, referential, today, domain))
    return out


def _mirror_checks(mirror: str, referential: Referential, today: date, domain: str) -> list[Check]:
    if not referential.history(mirror):
        return [check("roc_mirror_unknown", "warn", "roc_mirror_unknown", mirror=mirror)]
    if any(referential.lookup(mirror, today, d).status == "roc" for d in DOMAINS):
        return []
    roc = referential.lookup(mirror, today, domain)
    reason = roc.reason.value if roc.reason else roc.status
    return [
        check(
            "roc_mirror_not_connected",
            "warn",
            "roc_mirror_not_connected",
            mirror=mirror,
            name=roc.name or "?",
            date=today.strftime("%d/%m/%Y"),
            reason=str(reason),
        )
    ]


__all__ = ["roc_checks"]
