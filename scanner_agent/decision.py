"""The decision an admission needs: is this attestation good for this date, this stay, this
activity? Pure: the reference day and the referential are given.

    cover = Cover(at=date(2026, 3, 2), stay=Stay(date(2026, 3, 2), 5), domain="MCO")
    judged = decide(attestation, cover, referential, today=date(2026, 3, 1))
    judged.decision            # "covered" | "check" | "not_covered" | "refused"
    judged.reasons             # [Reason(code="stay_partly_covered", message="...")]
    judged.patient_message     # a French sentence for a kiosk, without personal data

The parse (`status`, the fields, `errors`, `warnings`) says whether the payload is well-formed;
it does not depend on any date. Everything `decide` computes does: `validity`, `roc`,
`decision`, `reasons` and `patient_message`. A stored scan keeps its parse and is judged again
at every read (`decide_scan_json`), for the date the client asks or for the day of the request.

The decision table (README, "Decision"):

- `refused`: the payload has errors. Reason `invalid_payload`.
- `not_covered`: well-formed, but the reference date is outside the validity period
  (`expired`, `not_yet_valid`) or the planned stay is not covered at all (`stay_not_covered`).
- `check`: well-formed and covering the date, but a person must look: `stay_partly_covered`,
  `test_attestation`, `amc_unknown`, `member_number_looks_like_nir`, `referential_stale`.
- `covered`: none of the above (no reason).

Every reason that applies is listed, most serious first (the order of `ReasonCode`).

The ROC status is the referential's answer in the phase of the ROC roll-out (`rollout`,
`scanner_agent.rollout`: `not_started`, `supervised`, `trust_circle`); the phase changes the
status only, never the decision. `amc_unknown` is asked of the referential itself, whatever the
phase. Verdicts are kept by question, referential and phase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from scanner_agent.attestation import (
    Attestation,
    Decision,
    Reason,
    ReasonCode,
    Roc,
    StayCover,
    Validity,
    ValidityState,
    WarningCode,
)

if TYPE_CHECKING:
    from collections.abc import Collection

    from scanner_agent.rollout import Rollout

DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_DOMAIN = "MCO"
DEFAULT_MAX_AGE_DAYS = 90


@dataclass(frozen=True, slots=True)
class Stay:
    """A planned stay: admission date and expected length in days (0: a same-day stay)."""

    start: date
    days: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class Cover:
    """The question: cover at `at`, over `stay` when one is planned, for the activity `domain`."""

    at: date
    stay: Stay | None = None
    domain: str = DEFAULT_DOMAIN

    @classmethod
    def of(
        cls,
        today: date,
        at: date | None = None,
        stay: Stay | None = None,
        domain: str | None = None,
    ) -> Cover:
        """The question a client asks: `at` defaults to the stay's start, then to `today`."""
        return cls(at or (stay.start if stay else today), stay, domain or DEFAULT_DOMAIN)


class RocLookup(Protocol):
    """What `decide` needs of the referential (`scanner_agent.referential.Referential`)."""

    def lookup(self, amc_number: str | None, at: date, domain: str) -> Roc: ...

    def is_stale(self, today: date, max_age_days: int) -> bool: ...

    @property
    def updated(self) -> date | None: ...

    def __hash__(self) -> int: ...  # verdicts are kept by referential (by identity)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_today(timezone: str = DEFAULT_TIMEZONE) -> date:
    """Today in the hospital's time zone (Europe/Paris unless configured): the default day a
    scan is judged for, whatever the machine's own zone."""
    return datetime.now(_zone(timezone)).date()


# --- the decision -----------------------------------------------------------------------------


class Verdict(NamedTuple):
    """What depends on the question: the parts of an attestation that `decide` computes."""

    validity: Validity
    roc: Roc
    decision: Decision
    reasons: list[Reason]
    patient_message: str

    def as_update(self) -> dict[str, Any]:
        return {
            "validity": self.validity,
            "roc": self.roc,
            "decision": self.decision,
            "reasons": list(self.reasons),  # verdicts may be shared: each result its own list
            "patient_message": self.patient_message,
        }


def decide(
    attestation: Attestation,
    cover: Cover,
    referential: RocLookup | None,
    *,
    today: date | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    rollout: Rollout | None = None,
) -> Attestation:
    """`attestation` judged for `cover`: a copy with its validity, ROC status, decision,
    reasons and patient message computed. `today` is the day the referential's age counts to
    (default: `cover.at`); `max_age_days=None` never calls the referential stale; `rollout` is
    the phase of the ROC roll-out (None: `trust_circle`, the referential decides)."""
    verdict = judge(
        well_formed=attestation.status == "valid",
        valid_from=attestation.valid_from,
        valid_to=attestation.valid_to,
        amc_number=attestation.amc_number,
        warnings=[w.code.value for w in attestation.warnings],
        cover=cover,
        referential=referential,
        today=today,
        max_age_days=max_age_days,
        rollout=rollout,
    )
    return attestation.model_copy(update=verdict.as_update())


def judge(
    *,
    well_formed: bool,
    valid_from: date | None,
    valid_to: date | None,
    amc_number: str | None,
    warnings: Collection[str],
    cover: Cover,
    referential: RocLookup | None,
    today: date | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    rollout: Rollout | None = None,
) -> Verdict:
    """The verdict on a parse's parts (see `decide`). Verdicts are kept: the same insurer and
    period asked the same question (most attestations run for a calendar year) is judged once."""
    return _judged(
        _Asked(
            well_formed and valid_from is not None and valid_to is not None,
            valid_from,
            valid_to,
            amc_number,
            _NIR_LIKE in warnings,
            cover,
            referential,
            today,
            max_age_days,
            rollout,
        )
    )


class _Asked(NamedTuple):
    """What a verdict depends on: the key verdicts (and their JSON) are kept by."""

    well_formed: bool
    valid_from: date | None
    valid_to: date | None
    amc_number: str | None
    nir_like: bool
    cover: Cover
    referential: RocLookup | None
    today: date | None
    max_age_days: int | None
    rollout: Rollout | None
    """The phase of the ROC roll-out: part of the key, so that no cache serves an answer of
    another phase."""


@lru_cache(maxsize=8192)
def _judged(asked: _Asked) -> Verdict:
    (
        well_formed,
        valid_from,
        valid_to,
        amc_number,
        nir_like,
        cover,
        referential,
        today,
        max_age_days,
        rollout,
    ) = asked
    listed = _roc(referential, amc_number, cover)  # what the referential says
    roc = listed if rollout is None else rollout.apply(listed, amc_number)
    if not well_formed or valid_from is None or valid_to is None:
        return Verdict(
            _NO_VALIDITY, roc, "refused", [_INVALID_PAYLOAD], PATIENT_MESSAGES["refused"]
        )
    state = validity_state(valid_from, valid_to, cover.at)
    stay = stay_cover(valid_from, valid_to, cover.stay) if cover.stay is not None else None
    validity = _validity(state, stay, cover.at)
    reasons: list[Reason] = []
    if state == "expired":
        reasons.append(_reason(ReasonCode.EXPIRED, end=_fr(valid_to), at=_fr(cover.at)))
    elif state == "not_yet_valid":
        reasons.append(_reason(ReasonCode.NOT_YET_VALID, start=_fr(valid_from), at=_fr(cover.at)))
    if cover.stay is not None and stay in ("none", "partial"):
        code = ReasonCode.STAY_NOT_COVERED if stay == "none" else ReasonCode.STAY_PARTLY_COVERED
        reasons.append(
            _reason(
                code,
                first=_fr(cover.stay.start),
                last=_fr(cover.stay.end),
                start=_fr(valid_from),
                end=_fr(valid_to),
            )
        )
    if roc.test:
        reasons.append(_reason(ReasonCode.TEST_ATTESTATION))
    if referential is not None and amc_number and listed.status == "unknown":
        reasons.append(_reason(ReasonCode.AMC_UNKNOWN, amc=amc_number))
    if nir_like:
        reasons.append(_reason(ReasonCode.MEMBER_NUMBER_LOOKS_LIKE_NIR))
    if (
        referential is not None
        and max_age_days is not None
        and referential.is_stale(today or cover.at, max_age_days)
    ):
        updated = referential.updated
        reasons.append(
            _reason(
                ReasonCode.REFERENTIAL_STALE,
                updated=_fr(updated) if updated else "?",
                days=str(max_age_days),
            )
        )
    reasons.sort(key=lambda r: _SEVERITY[r.code])
    decision = decision_of(reasons)
    message = PATIENT_MESSAGES[reasons[0].code if decision == "not_covered" else decision]
    return Verdict(validity, roc, decision, reasons, message)


def decision_of(reasons: list[Reason]) -> Decision:
    """The decision a list of reasons makes: the most serious reason's."""
    if not reasons:
        return "covered"
    return _DECISION_OF[reasons[0].code]


def validity_state(valid_from: date, valid_to: date, at: date) -> ValidityState:
    if at < valid_from:
        return "not_yet_valid"
    if at > valid_to:
        return "expired"
    return "current"


def stay_cover(valid_from: date, valid_to: date, stay: Stay) -> StayCover:
    """`whole` when every day of the stay (admission to discharge) is in the period, `none`
    when none is, `partial` otherwise."""
    if valid_from <= stay.start and stay.end <= valid_to:
        return "whole"
    if valid_to < stay.start or stay.end < valid_from:
        return "none"
    return "partial"


def _roc(referential: RocLookup | None, amc_number: str | None, cover: Cover) -> Roc:
    if referential is None or not amc_number:
        return _unknown_roc(cover.domain)
    return referential.lookup(amc_number, cover.at, cover.domain)


# Results are frozen: the parts that recur are built once (a parse costs tens of microseconds,
# and building a model is a few of them).
@lru_cache(maxsize=16)
def _unknown_roc(domain: str) -> Roc:
    return Roc(domain=domain)


@lru_cache(maxsize=4096)
def _validity(state: ValidityState, stay: StayCover | None, at: date) -> Validity:
    return Validity(state=state, stay=stay, at=at)


# --- judging a stored scan again ---------------------------------------------------------------


def decide_scan_json(
    text: str,
    cover: Cover,
    referential: RocLookup | None,
    *,
    today: date | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    rollout: Rollout | None = None,
) -> str:
    """A scan's JSON (as served) with its attestation judged for `cover` (in the phase
    `rollout`); the other keys as they are, in their order.

    A page of scans is judged at every read, so this works on the text: the few values the
    decision needs are read with patterns, and the judged keys are spliced in place of the
    stored ones (`validity`, then `roc` to the end of the attestation). A key is the only
    place where `"validity":{` or `,"roc":{` can appear unescaped in the scan's JSON, so each
    occurs once. A text of another shape is read and written as JSON (`_decide_parsed`)."""
    start = text.find(_ATTESTATION)
    validity = text.find(_VALIDITY, start)
    warnings = text.find(_WARNINGS, validity)
    roc = text.find(_ROC, warnings)
    claim = text.rfind(_CLAIMED_BY)
    end = claim - 1 if claim > roc else len(text) - 2  # the `}` that closes the attestation
    if min(start, validity, warnings, roc) < 0 or text[end : end + 1] != "}":
        return _decide_parsed(text, cover, referential, today, max_age_days, rollout)
    status = _string_at(text, _STATUS_KEY, start, validity)
    valid_from = _string_at(text, _VALID_FROM_KEY, start, validity)
    valid_to = _string_at(text, _VALID_TO_KEY, start, validity)
    rendered = _judged_json(
        _Asked(
            status == "valid" and valid_from is not None and valid_to is not None,
            _date_or_none(valid_from),
            _date_or_none(valid_to),
            _string_at(text, _AMC_KEY, start, validity),
            text.find(_NIR_CODE, warnings, roc) >= 0,
            cover,
            referential,
            today,
            max_age_days,
            rollout,
        )
    )
    return "".join((text[:validity], rendered[0], text[warnings:roc], rendered[1], text[end:]))


def _decide_parsed(
    text: str,
    cover: Cover,
    referential: RocLookup | None,
    today: date | None,
    max_age_days: int | None,
    rollout: Rollout | None,
) -> str:
    scan = json.loads(text)
    attestation = scan["attestation"]
    verdict = judge(
        well_formed=attestation.get("status") == "valid",
        valid_from=_date_or_none(attestation.get("valid_from")),
        valid_to=_date_or_none(attestation.get("valid_to")),
        amc_number=attestation.get("amc_number"),
        warnings=[w.get("code") for w in attestation.get("warnings") or ()],
        cover=cover,
        referential=referential,
        today=today,
        max_age_days=max_age_days,
        rollout=rollout,
    )
    attestation.update(verdict_json(verdict))
    return json.dumps(scan, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=8192)
def _judged_json(asked: _Asked) -> tuple[str, str]:
    """The verdict's two spliced parts: `"validity":{...}` and `,"roc":{...},...` up to the
    end of the attestation, written as `Attestation`'s JSON writes them."""
    verdict = _judged(asked)
    rest = json.dumps(
        {
            "decision": verdict.decision,
            "reasons": [{"code": r.code.value, "message": r.message} for r in verdict.reasons],
            "patient_message": verdict.patient_message,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return (
        _VALIDITY + verdict.validity.model_dump_json()[1:],
        _ROC + verdict.roc.model_dump_json()[1:] + "," + rest[1:-1],
    )


_ATTESTATION = '"attestation":{'
_VALIDITY = '"validity":{'
_WARNINGS = ',"warnings":'
_ROC = ',"roc":{'
_CLAIMED_BY = ',"claimed_by":'
_STATUS_KEY = '"status":"'
_AMC_KEY = '"amc_number":"'
_VALID_FROM_KEY = '"valid_from":"'
_VALID_TO_KEY = '"valid_to":"'
_NIR_CODE = '"code":"member_number_looks_like_nir"'


def _string_at(text: str, key: str, start: int, stop: int) -> str | None:
    """The string value of `key` (written with its opening quote) between `start` and `stop`;
    None when the value is not a string (null). Values read so have no escapes (status, AMC
    number, dates)."""
    found = text.find(key, start, stop)
    if found < 0:
        return None
    begin = found + len(key)
    close = text.find('"', begin, stop)
    return text[begin:close] if close >= 0 else None


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict's keys as the API serves them (the same as `Attestation`'s JSON)."""
    validity = verdict.validity
    roc = verdict.roc
    return {
        "validity": {
            "state": validity.state,
            "stay": validity.stay,
            "at": validity.at.isoformat() if validity.at else None,
        },
        "roc": {
            "status": roc.status,
            "reason": roc.reason.value if roc.reason else None,
            "name": roc.name,
            "domain": roc.domain,
            "gap_codes": list(roc.gap_codes),
            "test": roc.test,
        },
        "decision": verdict.decision,
        "reasons": [{"code": r.code.value, "message": r.message} for r in verdict.reasons],
        "patient_message": verdict.patient_message,
    }


def _date_or_none(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


# --- the words ---------------------------------------------------------------------------------

_SEVERITY = {code: rank for rank, code in enumerate(ReasonCode)}
_DECISION_OF: dict[ReasonCode, Decision] = {
    ReasonCode.INVALID_PAYLOAD: "refused",
    ReasonCode.EXPIRED: "not_covered",
    ReasonCode.NOT_YET_VALID: "not_covered",
    ReasonCode.STAY_NOT_COVERED: "not_covered",
    ReasonCode.STAY_PARTLY_COVERED: "check",
    ReasonCode.TEST_ATTESTATION: "check",
    ReasonCode.AMC_UNKNOWN: "check",
    ReasonCode.MEMBER_NUMBER_LOOKS_LIKE_NIR: "check",
    ReasonCode.REFERENTIAL_STALE: "check",
}

DESK_MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.INVALID_PAYLOAD: "Le code lu n'est pas une attestation conforme (voir les "
    "erreurs) : rescannez-le, ou saisissez l'attestation à la main.",
    ReasonCode.EXPIRED: "Attestation expirée le {end} : elle ne couvre pas le {at}. Demandez "
    "au patient une attestation à jour.",
    ReasonCode.NOT_YET_VALID: "Attestation applicable à partir du {start} seulement : elle "
    "ne couvre pas le {at}.",
    ReasonCode.STAY_NOT_COVERED: "Le séjour prévu du {first} au {last} est entièrement hors "
    "de la période de l'attestation (du {start} au {end}).",
    ReasonCode.STAY_PARTLY_COVERED: "Le séjour prévu du {first} au {last} n'est couvert qu'en "
    "partie (attestation du {start} au {end}) : vérifiez la prise en charge des autres jours.",
    ReasonCode.TEST_ATTESTATION: "AMC de test (miroir) selon le référentiel : attestation de "
    "test, à ne pas utiliser pour un patient.",
    ReasonCode.AMC_UNKNOWN: "AMC {amc} absente du référentiel local : vérifiez l'organisme "
    "et choisissez-le dans la GAP.",
    ReasonCode.MEMBER_NUMBER_LOOKS_LIKE_NIR: "Le numéro d'adhérent ressemble à un NIR : "
    "transmettez-le tel qu'imprimé, ne le remplacez pas par le NIR du patient.",
    ReasonCode.REFERENTIAL_STALE: "Le référentiel AMC local date du {updated} (plus de {days} "
    "jours) : vérifiez le statut ROC de l'AMC auprès de votre service informatique.",
}
"""The desk agent's sentence of each reason. May be reworded; the codes may not."""

PATIENT_MESSAGES: dict[str, str] = {
    "refused": "Votre attestation n'a pas pu être lue : merci de vous présenter à l'accueil.",
    ReasonCode.EXPIRED.value: "Votre attestation est expirée : merci de vous présenter à "
    "l'accueil.",
    ReasonCode.NOT_YET_VALID.value: "Votre attestation ne s'applique pas encore à cette date : "
    "merci de vous présenter à l'accueil.",
    ReasonCode.STAY_NOT_COVERED.value: "Votre attestation ne couvre pas les dates de votre "
    "séjour : merci de vous présenter à l'accueil.",
    "check": "Votre attestation a bien été lue : un agent d'accueil va la vérifier avec vous.",
    "covered": "Votre attestation a bien été lue. Merci !",
}
"""The kiosk's sentence: by decision, and by first reason when not covered. No jargon and no
personal data: a kiosk screen is seen by whoever stands behind the patient."""

_NO_VALIDITY = Validity()
_NIR_LIKE = WarningCode.MEMBER_NUMBER_LOOKS_LIKE_NIR.value
_INVALID_PAYLOAD = Reason(
    code=ReasonCode.INVALID_PAYLOAD, message=DESK_MESSAGES[ReasonCode.INVALID_PAYLOAD]
)


def _reason(code: ReasonCode, **values: str) -> Reason:
    return _reason_of(code, tuple(values.items()))


@lru_cache(maxsize=4096)
def _reason_of(code: ReasonCode, values: tuple[tuple[str, str], ...]) -> Reason:
    """Reasons are frozen, and the same dates recur from scan to scan: each is built once."""
    return Reason.model_construct(code=code, message=DESK_MESSAGES[code].format(**dict(values)))


@lru_cache(maxsize=4096)
def _fr(day: date) -> str:
    """A date as French desks write it: 02/03/2026."""
    return day.strftime("%d/%m/%Y")


__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_TIMEZONE",
    "DESK_MESSAGES",
    "PATIENT_MESSAGES",
    "Cover",
    "RocLookup",
    "Stay",
    "Verdict",
    "decide",
    "decide_scan_json",
    "decision_of",
    "judge",
    "local_today",
    "stay_cover",
    "validity_state",
    "verdict_json",
]
