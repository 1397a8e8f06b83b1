"""The words people read for a decision and a ROC status, in the CLI and the self-test: French,
as the desk reads them (the operator page has its own, in `api/static/i18n/`).

    headline(attestation)     # "Couverte le 01/03/2026", "À vérifier le 01/03/2026", "Refusée"
    loud_headline(attestation)  # "COUVERTE le 01/03/2026": the CLI's lines start with it
    roc_text(attestation.roc) # "hors ROC : AMC non connectée à ROC ; codes GAP : M12, M13"
    tally(["covered", "check", "check"])   # "1 couverte, 2 à vérifier, 0 non couverte, 0 refusée"

Only `covered` is an attestation good for the date asked: no word here calls any other one
"valide". A payload that is well-formed (`status: valid`) is "conforme" or "lue".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import get_args

from scanner_agent.attestation import Attestation, Decision, Roc, RocReason

DECISION_WORDS: dict[str, str] = {
    "covered": "Couverte",
    "check": "À vérifier",
    "not_covered": "Non couverte",
    "refused": "Refusée",
}
"""Each decision in one or two words: the attestation is covered, to check, not covered, or the
code was refused (not a well-formed attestation)."""

ROC_WORDS: dict[str, str] = {
    "roc": "ROC",
    "hors_roc": "hors ROC",
    "unknown": "inconnu (AMC absente du référentiel local)",
}

ROC_REASON_WORDS: dict[RocReason, str] = {  # the CLI's words (`parse`, `referential lookup`)
    RocReason.NOT_CONNECTED: "AMC non connectée à ROC",
    RocReason.NOT_YET_CONNECTED: "AMC pas encore connectée à ROC à cette date",
    RocReason.CONNECTION_ENDED: "connexion de l'AMC à ROC terminée à cette date",
    RocReason.DOMAIN_NOT_IN_ROC: "activité hors du périmètre ROC de l'AMC",
    RocReason.ROC_NOT_STARTED: "ROC pas encore démarré dans l'établissement",
    RocReason.SUPERVISED_PRODUCTION: "production ROC sous surveillance : seule l'AMC miroir "
    "passe en ROC",
}

UNREADABLE_CODE = "code détecté mais illisible : rescannez en meilleure qualité (300 dpi)"
"""A Data Matrix seen in a file but not read (`decode`'s lines and rows)."""

_PLURAL = {"covered": "couvertes", "not_covered": "non couvertes", "refused": "refusées"}


def fr_date(iso: object) -> str:
    """A date (or its ISO text) as French desks write it: 01/03/2026."""
    text = str(iso)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:]}/{text[5:7]}/{text[:4]}"
    return text


def headline(attestation: Attestation) -> str:
    """The decision in words, with the date it was asked for (none for a refused code)."""
    word = DECISION_WORDS[attestation.decision]
    at = attestation.validity.at
    return f"{word} le {fr_date(at)}" if at is not None else word


def loud_headline(attestation: Attestation) -> str:
    """`headline` with the decision in capitals, to stand out at the start of a line:
    "NON COUVERTE le 05/01/2027"."""
    word = DECISION_WORDS[attestation.decision]
    return headline(attestation).replace(word, word.upper(), 1)


def roc_text(roc: Roc) -> str:
    """The ROC status with its reason, the activity asked and the GAP codes to pre-select."""
    text = ROC_WORDS[roc.status]
    if roc.reason is not None:
        text += f" : {ROC_REASON_WORDS.get(roc.reason, roc.reason.value)} ({roc.reason.value})"
    if roc.domain:
        text += f" ; activité {roc.domain}"
    if roc.gap_codes:
        text += f" ; codes GAP : {', '.join(roc.gap_codes)}"
    if roc.test:
        text += " ; AMC de test"
    return text


def tally(decisions: Iterable[str]) -> str:
    """How many of each decision, in the table's order: "1 couverte, 2 à vérifier, …"."""
    counts = Counter(decisions)
    parts = []
    for decision in get_args(Decision)[::-1]:
        n = counts[decision]
        word = DECISION_WORDS[decision].lower()
        if n > 1 and decision in _PLURAL:
            word = _PLURAL[decision]
        parts.append(f"{n} {word}")
    return ", ".join(parts)


__all__ = [
    "DECISION_WORDS",
    "ROC_REASON_WORDS",
    "ROC_WORDS",
    "fr_date",
    "headline",
    "loud_headline",
    "roc_text",
    "tally",
]
