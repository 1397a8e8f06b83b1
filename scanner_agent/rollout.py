"""The hospital's stage in the ROC roll-out (the national guide's phases), and what it does to
an AMC's ROC status. Pure: the referential's answer is given.

    rollout = Rollout("supervised", mirror_amc="999999990")      # or Rollout.of(settings.roc)
    rollout.apply(referential.lookup(amc, at, domain), amc)      # the status a desk is given

The three phases (`[roc] phase`):

- `not_started`: ROC is not open yet. Every AMC number, known to the referential or not, is
  `hors_roc` with reason `roc_not_started`.
- `supervised` ("production sous surveillance"): the hospital exchanges through ROC with its
  mirror AMC only. The mirror AMC (`[roc] mirror_amc`, leading zeros ignored as the referential
  ignores them) gets what the referential says; every other AMC number is `hors_roc` with
  reason `supervised_production`.
- `trust_circle` (the default): the referential decides, AMC by AMC.

A `hors_roc` answer of a phase keeps the referential line's `name`, `gap_codes` and `test`
(the GAP pre-selects the insurer with them, for the non-ROC circuit above all); an AMC absent
from the referential has none. A payload without an AMC number stays `unknown`. Whether an AMC
is in the referential (the decision's `amc_unknown`) is the referential's answer, before the
phase: `scanner_agent.decision` asks it apart.

`Rollout` is frozen and hashable: the decision's caches keep verdicts by it, so an answer of
one phase is never served for another.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from scanner_agent.attestation import Roc, RocReason
from scanner_agent.referential import amc_key

if TYPE_CHECKING:
    from scanner_agent.config import RocPhase, RocSettings

PHASES: tuple[str, ...] = ("not_started", "supervised", "trust_circle")
"""The phases, in the order a hospital goes through them."""
DEFAULT_PHASE = "trust_circle"
PHASE_REASONS: tuple[RocReason, ...] = (RocReason.ROC_NOT_STARTED, RocReason.SUPERVISED_PRODUCTION)
"""The `hors_roc` reasons a phase gives (the others come from the referential's lines)."""

PHASE_WORDS: dict[str, str] = {
    "not_started": "ROC pas encore démarré",
    "supervised": "production sous surveillance",
    "trust_circle": "cercle de confiance ROC",
}
"""Each phase in French, for IT staff (the self-test, the CLI)."""


@dataclass(frozen=True, slots=True)
class Rollout:
    """A phase of the ROC roll-out and the mirror AMC's number ("" when none). `ValueError`
    for an unknown phase, a mirror AMC that is not 1-10 digits, or `supervised` without one."""

    phase: RocPhase = "trust_circle"
    mirror_amc: str = ""

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"{self.phase!r} is not a ROC phase ({', '.join(PHASES)})")
        mirror = self.mirror_amc
        if mirror and not (mirror.isascii() and mirror.isdigit() and len(mirror) <= 10):
            raise ValueError(f"{mirror!r} is not an AMC number (1-10 digits)")
        if self.phase == "supervised" and not mirror:
            raise ValueError(
                'phase "supervised" needs mirror_amc, the AMC number of the mirror AMC'
            )

    @classmethod
    def of(cls, settings: RocSettings) -> Rollout:
        """The rollout of a validated `[roc]` section."""
        return cls(settings.phase, settings.mirror_amc)

    def is_mirror(self, amc_number: str | None) -> bool:
        """Whether `amc_number` is the mirror AMC's (leading zeros ignored)."""
        return bool(amc_number and self.mirror_amc) and amc_key(amc_number or "") == amc_key(
            self.mirror_amc
        )

    def apply(self, roc: Roc, amc_number: str | None) -> Roc:
        """The ROC status of `amc_number` in this phase, from the referential's answer `roc`."""
        if not amc_number or self.phase == "trust_circle":
            return roc
        if self.phase == "supervised":
            if self.is_mirror(amc_number):
                return roc
            return _hors_roc(RocReason.SUPERVISED_PRODUCTION, roc)
        return _hors_roc(RocReason.ROC_NOT_STARTED, roc)

    def describe(self) -> str:
        """The phase in French: "production sous surveillance avec l'AMC miroir 123456789"."""
        text = PHASE_WORDS[self.phase]
        if self.phase == "supervised":
            text += f" avec l'AMC miroir {self.mirror_amc}"
        return text


TRUST_CIRCLE = Rollout()
"""The default phase: the referential decides."""


def _hors_roc(reason: RocReason, roc: Roc) -> Roc:
    return _hors_roc_of(reason, roc.name, roc.domain, tuple(roc.gap_codes), roc.test)


@lru_cache(maxsize=4096)
def _hors_roc_of(
    reason: RocReason, name: str | None, domain: str | None, gap_codes: tuple[str, ...], test: bool
) -> Roc:
    """Answers are frozen, and the same insurers recur: each is built once."""
    return Roc(
        status="hors_roc",
        reason=reason,
        name=name,
        domain=domain,
        gap_codes=list(gap_codes),
        test=test,
    )


__all__ = ["DEFAULT_PHASE", "PHASES", "PHASE_REASONS", "PHASE_WORDS", "TRUST_CIRCLE", "Rollout"]
