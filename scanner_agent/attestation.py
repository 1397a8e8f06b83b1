"""The parse result of one attestation payload: the model the CLI, the API and storage share.

Error and warning codes are a contract: GAP vendors branch on them. Add codes; never rename or
reword a code (the sentences that go with them may change).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorCode(StrEnum):
    """Why a payload was refused. Stable: clients branch on these values."""

    PAYLOAD_TOO_LONG = "payload_too_long"
    GS1_CODE = "gs1_code"
    WRONG_SYMBOLOGY = "wrong_symbology"
    NOT_AN_ATTESTATION = "not_an_attestation"
    BAD_ENCODING = "bad_encoding"
    MALFORMED_FIELD = "malformed_field"
    SEPARATORS_AMBIGUOUS = "separators_ambiguous"
    MISSING_FIELD = "missing_field"
    DUPLICATE_FIELD = "duplicate_field"
    BAD_AMC_NUMBER = "bad_amc_number"
    BAD_CONVENTION_TYPE = "bad_convention_type"
    BAD_ROUTING_CRITERION = "bad_routing_criterion"
    BAD_MEMBER_NUMBER = "bad_member_number"
    BAD_DATE = "bad_date"
    PERIOD_INVERTED = "period_inverted"


class WarningCode(StrEnum):
    """Something the GAP must know about an accepted payload. Stable."""

    MEMBER_NUMBER_LOOKS_LIKE_NIR = "member_number_looks_like_nir"
    SEPARATORS_RECOVERED = "separators_recovered"
    UNKNOWN_FIELD = "unknown_field"
    KEYBOARD_LAYOUT_MISMATCH = "keyboard_layout_mismatch"


ValidityState = Literal["current", "expired", "not_yet_valid"]
StayCover = Literal["whole", "partial", "none"]
RocStatus = Literal["roc", "hors_roc", "unknown"]
Decision = Literal["refused", "not_covered", "check", "covered"]
"""What the desk does with the attestation at the date asked (see `scanner_agent.decision`)."""
DOMAINS: tuple[str, ...] = ("MCO", "SMR", "PSY", "HAD")
"""The activity domains of the national guide: a GAP asks about one of them."""


class RocReason(StrEnum):
    """Why an AMC is `hors_roc` at the date and for the activity asked. Stable."""

    NOT_CONNECTED = "not_connected"
    NOT_YET_CONNECTED = "not_yet_connected"
    CONNECTION_ENDED = "connection_ended"
    DOMAIN_NOT_IN_ROC = "domain_not_in_roc"
    ROC_NOT_STARTED = "roc_not_started"
    """The hospital has not started ROC (`[roc] phase = "not_started"`): every AMC."""
    SUPERVISED_PRODUCTION = "supervised_production"
    """Supervised production (`[roc] phase = "supervised"`): every AMC but the mirror AMC."""


class ReasonCode(StrEnum):
    """Why the decision is not `covered`, most serious first. Stable: clients branch on these.

    `refused` comes with `invalid_payload`; `not_covered` with one of the first four; `check` with
    the others only.
    """

    INVALID_PAYLOAD = "invalid_payload"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    STAY_NOT_COVERED = "stay_not_covered"
    STAY_PARTLY_COVERED = "stay_partly_covered"
    TEST_ATTESTATION = "test_attestation"
    AMC_UNKNOWN = "amc_unknown"
    MEMBER_NUMBER_LOOKS_LIKE_NIR = "member_number_looks_like_nir"
    REFERENTIAL_STALE = "referential_stale"


# The six elements of the attestation, under their stable names.
FIELD_NAMES: tuple[str, ...] = (
    "amc_number",
    "convention_types",
    "routing_criterion",
    "member_number",
    "valid_from",
    "valid_to",
)


class Issue(BaseModel):
    """A refusal reason: a stable code, the field concerned (or null) and a sentence."""

    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    field: str | None = None
    message: str


class ParseWarning(BaseModel):
    """A remark on an accepted payload: a stable code and a sentence."""

    model_config = ConfigDict(frozen=True)

    code: WarningCode
    message: str


class Reason(BaseModel):
    """One reason of a decision: a stable code and a French sentence for the desk agent."""

    model_config = ConfigDict(frozen=True)

    code: ReasonCode
    message: str


class Validity(BaseModel):
    """Cover relative to a reference date and, when given, to a planned stay."""

    model_config = ConfigDict(frozen=True)

    state: ValidityState | None = None
    stay: StayCover | None = None
    at: date | None = None
    """The reference date the state is computed for (null when the payload was refused)."""


class Roc(BaseModel):
    """What the local AMC referential says about the insurer, at the reference date and for the
    activity domain asked."""

    model_config = ConfigDict(frozen=True)

    status: RocStatus = "unknown"
    reason: RocReason | None = None
    """Why `hors_roc` (null otherwise)."""
    name: str | None = None
    domain: str | None = None
    """The activity domain asked (`MCO`, `SMR`, `PSY`, `HAD`)."""
    gap_codes: list[str] = Field(default_factory=list)
    """The codes of the insurer(s) in the GAP's own referential, to pre-select."""
    test: bool = False
    """The hospital's mirror/test AMC."""


class Attestation(BaseModel):
    """The result of parsing one payload, well-formed or not, and its decision at a date.

    `status` is `valid` exactly when `errors` is empty: it says the payload is well-formed, not
    that it covers anything; `decision` says that. Fields that could not be read are null
    (`convention_types` is then an empty list).
    """

    model_config = ConfigDict(frozen=True)

    status: Literal["valid", "invalid"]
    layout: str | None = None
    amc_number: str | None = None
    convention_types: list[str] = Field(default_factory=list)
    routing_criterion: str | None = None
    member_number: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    validity: Validity = Field(default_factory=Validity)
    warnings: list[ParseWarning] = Field(default_factory=list)
    errors: list[Issue] = Field(default_factory=list)
    roc: Roc = Field(default_factory=Roc)
    decision: Decision = "refused"
    """What the desk does: `refused`, `not_covered`, `check` or `covered`. Only `covered` is
    an attestation "valide" for the date asked."""
    reasons: list[Reason] = Field(default_factory=list)
    """Why the decision is not `covered`, most serious first (empty when covered)."""
    patient_message: str = ""
    """One short French sentence for a kiosk screen, without personal data."""

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    def reason_codes(self) -> list[str]:
        return [r.code.value for r in self.reasons]

    def error_codes(self) -> list[str]:
        return [e.code.value for e in self.errors]

    def warning_codes(self) -> list[str]:
        return [w.code.value for w in self.warnings]

    def masked(self) -> Attestation:
        """A copy safe to log or show at a glance: the member number masked."""
        return self.model_copy(update={"member_number": mask(self.member_number)})


def mask(value: str | None, keep: int = 2) -> str | None:
    """Mask personal data: keep the last `keep` characters, `•` for the rest.

    >>> mask("12345678")
    '••••••78'
    """
    if value is None:
        return None
    if len(value) <= keep:
        return "•" * len(value)
    return "•" * (len(value) - keep) + value[-keep:]
