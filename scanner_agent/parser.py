"""From the raw bytes of a datamatrix to a validated `Attestation`. Pure: no I/O, no clock.

    parse_payload(data, layouts, at=date(2026, 3, 1), referential=ref, stay=Stay(...))

Bad input is never an exception: every refusal is an `Issue` with a stable code in the result.
The parse says whether the payload is well-formed; the parts that depend on the date, the stay
and the activity asked (validity, ROC status, decision) are `scanner_agent.decision`'s.

An attestation typed by hand from the printed card, when its code cannot be read, goes through
the same field rules and the same decision:

    validate_fields({"amc_number": "0775627391", ..., "valid_to": "31/12/2026"},
                    manual_layout(layouts), at=date(2026, 3, 1), referential=ref)
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from scanner_agent.aim import (
    ECI_SYMBOLOGIES,
    GS1_SYMBOLOGIES,
    describe,
    split_aim,
)
from scanner_agent.attestation import (
    FIELD_NAMES,
    Attestation,
    ErrorCode,
    Issue,
    ParseWarning,
    WarningCode,
)
from scanner_agent.decision import (
    DEFAULT_DOMAIN,
    DEFAULT_MAX_AGE_DAYS,
    Cover,
    RocLookup,
    Stay,
    judge,
)
from scanner_agent.layouts import DATE_FIELDS, LIST_FIELDS, FieldRule, Layout
from scanner_agent.nir import looks_like_nir

if TYPE_CHECKING:
    from scanner_agent.rollout import Rollout

MAX_PAYLOAD_BYTES = 512
_GS = 0x1D
_FNC1_CODEWORD = 0xE8  # FNC1 as a raw Data Matrix codeword, sent by some readers in raw mode
_ECI_CHARSETS = {
    1: "latin-1",
    3: "latin-1",
    4: "iso8859-2",
    5: "iso8859-3",
    6: "iso8859-4",
    7: "iso8859-5",
    9: "iso8859-7",
    11: "iso8859-9",
    13: "iso8859-11",
    15: "iso8859-13",
    17: "iso8859-15",
    20: "shift_jis",
    21: "cp1250",
    22: "cp1251",
    23: "cp1252",
    26: "utf-8",
    27: "ascii",
}
_ECI_ESCAPE = re.compile(rb"\\(\\|[0-9]{6})")
# A GS1 element string that starts with a GTIN, sent without AIM identifier or FNC1. The check
# digit is not required: the spec's own example has a made-up GTIN.
_GS1_GTIN = re.compile(r"^(?:\(01\)|01)[0-9]{14}")
_PRODUCT_CODE = "a product code (medicine, medical device), not an attestation"
_LABELS = {
    "amc_number": "the AMC number",
    "convention_types": "the convention type",
    "routing_criterion": "the routing criterion (CSR)",
    "member_number": "the member number",
    "valid_from": "the first day of validity",
    "valid_to": "the last day of validity",
}


__all__ = [
    "MANUAL_LAYOUT",
    "MAX_PAYLOAD_BYTES",
    "Stay",
    "manual_layout",
    "parse_payload",
    "validate_fields",
]


class _Question(NamedTuple):
    """What the decision needs besides the parse (a tuple: one is made for every payload)."""

    cover: Cover
    referential: RocLookup | None
    today: date | None
    max_age_days: int | None
    rollout: Rollout | None = None


def parse_payload(
    data: bytes,
    layouts: Sequence[Layout],
    at: date,
    referential: RocLookup | None = None,
    stay: Stay | None = None,
    symbology: str | None = None,
    *,
    domain: str = DEFAULT_DOMAIN,
    today: date | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    rollout: Rollout | None = None,
) -> Attestation:
    """Parse one payload, and judge it (`scanner_agent.decision`).

    `data` is what the scanner or decoder sent, with or without a leading AIM identifier;
    `symbology` is the identifier when the caller has already stripped it. `at` is the reference
    date of the validity (the planned admission date, or today), `stay` the planned stay,
    `domain` the activity (`MCO`, `SMR`, `PSY`, `HAD`) the ROC status is asked for; `today` is
    the day the referential's age counts to (default `at`); `rollout` the phase of the ROC
    roll-out (None: `trust_circle`).
    """
    question = _Question(Cover(at, stay, domain), referential, today, max_age_days, rollout)
    if symbology is None:
        symbology, data = split_aim(data)
    if len(data) > MAX_PAYLOAD_BYTES:
        return _refused(
            question,
            ErrorCode.PAYLOAD_TOO_LONG,
            f"the payload is {len(data)} bytes long; more than {MAX_PAYLOAD_BYTES} is never "
            "an attestation and is not parsed",
        )
    gs1 = _gs1_reason(data, symbology)
    if gs1:
        return _refused(question, ErrorCode.GS1_CODE, gs1)
    if symbology is not None and not symbology.startswith("]d"):
        return _refused(
            question,
            ErrorCode.WRONG_SYMBOLOGY,
            f"a {describe(symbology)} was read; attestations carry a Data Matrix",
        )
    text, problem = _to_text(data, symbology)
    if text is None:
        return _refused(question, ErrorCode.BAD_ENCODING, problem)
    layout = _match(text, layouts)
    if layout is None:
        return _refused(question, ErrorCode.NOT_AN_ATTESTATION, _not_attestation(data))
    body = text[len(layout.header) :]
    if layout.kind == "tagged":
        raw, issues, warnings = _split_tagged(body, layout)
    else:
        raw, issues, warnings = _split_fixed(body, layout)
    return _validate(layout, raw, issues, warnings, question)


# --- typed by hand -----------------------------------------------------------------------

MANUAL_LAYOUT = "manual"
"""The `layout` of an attestation typed by hand, and the name of a layout file whose field rules
typed fields are checked with, when a hospital adds one (see `manual_layout`)."""
_ISO_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})")
_CARD_DATE = re.compile(r"(?P<d>[0-9]{2})/(?P<m>[0-9]{2})/(?P<y>[0-9]{4})")
_TYPED_LIST = re.compile(r"[,;]")

TypedValue = str | Sequence[str] | None
"""A typed element: text, or (convention types) a list of texts or one text with `,` or `;`."""


def manual_layout(layouts: Sequence[Layout]) -> Layout:
    """The layout whose field rules check typed fields: the one named `manual` if configured,
    else the first tagged layout (its rules are those of the values printed on the card, not of
    fixed-width slots), else the first layout."""
    for layout in layouts:
        if layout.name == MANUAL_LAYOUT:
            return layout
    return next((layout for layout in layouts if layout.kind == "tagged"), layouts[0])


def validate_fields(
    fields: Mapping[str, TypedValue],
    layout: Layout,
    at: date,
    referential: RocLookup | None = None,
    stay: Stay | None = None,
    *,
    domain: str = DEFAULT_DOMAIN,
    today: date | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    rollout: Rollout | None = None,
) -> Attestation:
    """The six elements typed from the printed card, checked with `layout`'s field rules
    (`manual_layout`) and judged as `parse_payload` judges a payload: the same errors per field,
    warnings, ROC status and decision. Its `layout` is `manual`.

    `fields` maps the stable names (`FIELD_NAMES`) to what was typed; spaces around a value are
    dropped, and an element left out, null or blank is empty (`missing_field` when the layout
    requires it). Dates are `YYYY-MM-DD` or, as printed on the card, `DD/MM/YYYY`; convention
    types a list, or one text whose codes are separated by `,` or `;`.
    """
    unknown = sorted(set(fields) - set(FIELD_NAMES))
    if unknown:
        raise ValueError(f"not elements of an attestation: {', '.join(unknown)}")
    question = _Question(Cover(at, stay, domain), referential, today, max_age_days, rollout)
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    for rule in layout.fields:
        value, issue = _typed(rule, fields.get(rule.name))
        if issue is not None:
            issues.append(issue)
        else:
            values[rule.name] = value
    issues.sort(key=lambda i: FIELD_NAMES.index(i.field) if i.field else 0)
    return _attestation(MANUAL_LAYOUT, values, issues, [], question)


def _typed(rule: FieldRule, typed: TypedValue) -> tuple[Any, Issue | None]:
    """One typed element through its rule, as `_value` takes a payload's value."""
    plain = dataclasses.replace(rule, pad="", trim=False, length=None)
    if rule.name in LIST_FIELDS:
        pieces = _TYPED_LIST.split(typed) if isinstance(typed, str) else list(typed or ())
        items = [piece.strip() for piece in pieces if piece.strip()]
        if not items:
            return _value(plain, "")
        return _items(plain, items)
    if typed is not None and not isinstance(typed, str):
        return None, Issue(
            code=rule.bad_code,
            field=rule.name,
            message=f"{_LABELS[rule.name]} is one value, not a list",
        )
    text = (typed or "").strip()
    if rule.name in DATE_FIELDS:
        pattern = _CARD_DATE if _CARD_DATE.fullmatch(text) else _ISO_DATE
        plain = dataclasses.replace(plain, date_pattern=pattern)
    return _value(plain, text)


# --- bytes level --------------------------------------------------------------------------


def _gs1_reason(data: bytes, symbology: str | None) -> str | None:
    if symbology in GS1_SYMBOLOGIES:
        return f"a {describe(symbology)} was read: {_PRODUCT_CODE}"
    if data[:1] in (bytes([_GS]), bytes([_FNC1_CODEWORD])):
        return f"the payload starts with FNC1: a GS1 {_PRODUCT_CODE}"
    head = data[:20].decode("latin-1")
    if _GS1_GTIN.match(head):
        return f"the payload is a GS1 element string, GTIN first: {_PRODUCT_CODE}"
    return None


def _to_text(data: bytes, symbology: str | None) -> tuple[str | None, str]:
    """Bytes to text: ISO-8859-1 unless ECI escapes (`\\nnnnnn`, with `]d4`) say otherwise."""
    if symbology not in ECI_SYMBOLOGIES or b"\\" not in data:
        return data.decode("latin-1"), ""
    parts: list[str] = []
    charset, start = "latin-1", 0
    segment = bytearray()
    for match in _ECI_ESCAPE.finditer(data):
        segment += data[start : match.start()]
        start = match.end()
        if match.group(1) == b"\\":
            segment += b"\\"
            continue
        decoded = _decode(bytes(segment), charset)
        if decoded is None:
            return None, f"the payload is not valid {charset} text"
        parts.append(decoded)
        segment = bytearray()
        eci = int(match.group(1))
        if eci not in _ECI_CHARSETS:
            return None, f"the payload uses ECI {eci}, a character set the agent does not read"
        charset = _ECI_CHARSETS[eci]
    segment += data[start:]
    decoded = _decode(bytes(segment), charset)
    if decoded is None:
        return None, f"the payload is not valid {charset} text"
    parts.append(decoded)
    return "".join(parts), ""


def _decode(data: bytes, charset: str) -> str | None:
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        return None


def _match(text: str, layouts: Sequence[Layout]) -> Layout | None:
    best: Layout | None = None
    for layout in layouts:
        if text.startswith(layout.header) and (
            best is None or len(layout.header) > len(best.header)
        ):
            best = layout
    return best


def escaped_head(data: bytes, limit: int = 8) -> str:
    """The first `limit` bytes, printable ASCII as is and the rest as `\\xNN`."""
    shown = "".join(
        chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in data[:limit]
    )
    return shown + ("…" if len(data) > limit else "")


def _not_attestation(data: bytes) -> str:
    if not data:
        return "the payload is empty"
    return (
        f"no layout matches a payload starting with {escaped_head(data)!s} "
        f"({len(data)} bytes): not an attestation"
    )


# --- layouts ------------------------------------------------------------------------------


_Raw = dict[str, str]


def _split_tagged(body: str, layout: Layout) -> tuple[_Raw, list[Issue], list[ParseWarning]]:
    by_tag = layout.field_by_tag()
    sep = layout.tag_separator
    issues: list[Issue] = []
    warnings: list[ParseWarning] = []
    raw: _Raw = {}
    pairs: list[tuple[str, str]] = []
    pieces = _split_any(body, layout.separators)
    recovered = False
    for index, piece in enumerate(pieces):
        if not piece:
            continue  # the empty piece before the first separator, or doubled separators
        count = piece.count(sep)
        if count == 1:
            tag, value = piece.split(sep, 1)
            pairs.append((tag, value))
        elif count == 0:
            where = "right after the header" if index == 0 else "between two separators"
            issues.append(
                Issue(
                    code=ErrorCode.MALFORMED_FIELD,
                    field=None,
                    message=f"a field {where} has no tag (TAG{sep}value expected)",
                )
            )
        else:
            cut = _cut_at_tags(piece, by_tag, sep)
            if cut is None:
                issues.append(
                    Issue(
                        code=ErrorCode.SEPARATORS_AMBIGUOUS,
                        field=None,
                        message="fields run together without separators and cannot be cut "
                        "unambiguously at the known tags",
                    )
                )
            else:
                recovered = True
                pairs.extend(cut)
    if recovered:
        warnings.append(
            ParseWarning(
                code=WarningCode.SEPARATORS_RECOVERED,
                message="the field separators were lost on the way (keyboard-wedge scanners drop "
                "GS); the fields were cut at their tags",
            )
        )
    seen_unknown: set[str] = set()
    for tag, value in pairs:
        rule = by_tag.get(tag)
        if rule is None:
            if tag not in seen_unknown:
                seen_unknown.add(tag)
                warnings.append(
                    ParseWarning(
                        code=WarningCode.UNKNOWN_FIELD,
                        message=f"field {_shown_tag(tag)} is not part of layout "
                        f"{layout.name} v{layout.version}; it was set aside",
                    )
                )
            continue
        if rule.name in raw:
            issues.append(
                Issue(
                    code=ErrorCode.DUPLICATE_FIELD,
                    field=rule.name,
                    message=f"tag {tag} appears more than once",
                )
            )
            continue
        raw[rule.name] = value
    for rule in layout.fields:
        if rule.name not in raw:
            issues.append(
                Issue(
                    code=ErrorCode.MISSING_FIELD,
                    field=rule.name,
                    message=f"tag {rule.tag} ({_LABELS[rule.name]}) is missing; "
                    "every label is present on an attestation, even when empty",
                )
            )
    return raw, issues, warnings


def _shown_tag(tag: str) -> str:
    return escaped_head(tag.encode("latin-1", "replace"), 12)


def _split_any(text: str, separators: tuple[str, ...]) -> list[str]:
    if len(separators) == 1:
        return text.split(separators[0])
    first = separators[0]
    for other in separators[1:]:
        text = text.replace(other, first)
    return text.split(first)


def _cut_at_tags(
    piece: str, by_tag: dict[str, FieldRule], sep: str
) -> list[tuple[str, str]] | None:
    """Cut `TAG:valueTAG:value...` at the known tags; None when that is ambiguous.

    Values never contain the tag separator, so each separator ends a tag; the tag is the one known
    tag the text before it ends with. No such tag, or two, and the cut is ambiguous.
    """
    colons = [i for i, c in enumerate(piece) if c == sep]
    pairs: list[tuple[str, str]] = []
    tag = piece[: colons[0]]
    for previous, colon in itertools.pairwise(colons):
        segment = piece[previous + 1 : colon]
        candidates = [t for t in by_tag if segment.endswith(t)]
        if len(candidates) != 1:
            return None
        next_tag = candidates[0]
        pairs.append((tag, segment[: len(segment) - len(next_tag)]))
        tag = next_tag
    pairs.append((tag, piece[colons[-1] + 1 :]))
    return pairs


def _split_fixed(body: str, layout: Layout) -> tuple[_Raw, list[Issue], list[ParseWarning]]:
    raw: _Raw = {}
    issues: list[Issue] = []
    pos = 0
    for rule in layout.fields:
        if rule.length is None:
            raw[rule.name] = body[pos:]
            pos = len(body)
            continue
        if pos + rule.length > len(body):
            issues.append(
                Issue(
                    code=ErrorCode.MISSING_FIELD,
                    field=rule.name,
                    message=f"the payload ends before {_LABELS[rule.name]} "
                    f"({rule.length} characters expected)",
                )
            )
            pos = len(body)
            continue
        raw[rule.name] = body[pos : pos + rule.length]
        pos += rule.length
    if pos < len(body):
        issues.append(
            Issue(
                code=ErrorCode.MALFORMED_FIELD,
                field=None,
                message=f"{len(body) - pos} characters follow the last field of {layout.name}",
            )
        )
    return raw, issues, []


# --- values -------------------------------------------------------------------------------


def _validate(
    layout: Layout,
    raw: _Raw,
    issues: list[Issue],
    warnings: list[ParseWarning],
    question: _Question,
) -> Attestation:
    values: dict[str, Any] = {}
    for rule in layout.fields:
        if rule.name in raw:
            value, issue = _value(rule, raw[rule.name])
            if issue is not None:
                issues.append(issue)
            else:
                values[rule.name] = value
    return _attestation(layout.name, values, issues, warnings, question)


def _attestation(
    layout_name: str,
    values: dict[str, Any],
    issues: list[Issue],
    warnings: list[ParseWarning],
    question: _Question,
) -> Attestation:
    """The checks across fields (period, NIR-like member number), then the decision."""
    valid_from, valid_to = values.get("valid_from"), values.get("valid_to")
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        issues.append(
            Issue(
                code=ErrorCode.PERIOD_INVERTED,
                field="valid_to",
                message=f"the validity ends ({valid_to.isoformat()}) before it starts "
                f"({valid_from.isoformat()})",
            )
        )
    member = values.get("member_number")
    if member and looks_like_nir(member):
        warnings.append(
            ParseWarning(
                code=WarningCode.MEMBER_NUMBER_LOOKS_LIKE_NIR,
                message="the member number looks like a social security number (NIR); "
                "send it to the AMC as printed, never replace it with the patient's NIR",
            )
        )
    amc = values.get("amc_number")
    valid = not issues
    verdict = judge(
        well_formed=valid,
        valid_from=valid_from,
        valid_to=valid_to,
        amc_number=amc,
        warnings=[w.code.value for w in warnings],
        cover=question.cover,
        referential=question.referential,
        today=question.today,
        max_age_days=question.max_age_days,
        rollout=question.rollout,
    )
    return Attestation.model_construct(
        status="valid" if valid else "invalid",
        layout=layout_name,
        amc_number=amc,
        convention_types=values.get("convention_types", []),
        routing_criterion=values.get("routing_criterion"),
        member_number=member,
        valid_from=valid_from,
        valid_to=valid_to,
        warnings=warnings,
        errors=issues,
        **verdict.as_update(),
    )


def _value(rule: FieldRule, text: str) -> tuple[Any, Issue | None]:
    if rule.pad:
        text = text.rstrip(rule.pad)
    if rule.trim:
        text = text.strip(" ")
    label = _LABELS[rule.name]
    if not text.strip(" "):
        if rule.required:
            return None, Issue(
                code=ErrorCode.MISSING_FIELD, field=rule.name, message=f"{label} is empty"
            )
        return ([] if rule.list_separator or rule.slot_length else ""), None
    if rule.date_pattern is not None:
        return _date(rule, text)
    if rule.list_separator or rule.slot_length:
        if rule.slot_length:
            size = rule.slot_length
            items = [text[i : i + size].rstrip(rule.pad or " ") for i in range(0, len(text), size)]
            items = [item for item in items if item]
        else:
            assert rule.list_separator is not None
            items = text.split(rule.list_separator)
        return _items(rule, items)
    if rule.pattern is not None and not rule.pattern.fullmatch(text):
        shown = "" if rule.name == "member_number" else f" {_shown(text)}"
        return None, Issue(
            code=rule.bad_code,
            field=rule.name,
            message=f"{label}{shown} does not match {rule.pattern.pattern}",
        )
    return text, None


def _items(rule: FieldRule, items: list[str]) -> tuple[list[str] | None, Issue | None]:
    """A list element's items checked: how many, and each against the pattern."""
    if len(items) > rule.max_items:
        return None, Issue(
            code=rule.bad_code,
            field=rule.name,
            message=f"{len(items)} convention types given; at most {rule.max_items}",
        )
    for item in items:
        if rule.pattern is not None and not rule.pattern.fullmatch(item):
            return None, Issue(
                code=rule.bad_code,
                field=rule.name,
                message=f"{_LABELS[rule.name]} {_shown(item)} does not match "
                f"{rule.pattern.pattern}",
            )
    return items, None


def _shown(text: str) -> str:
    return repr(text[:16] + ("…" if len(text) > 16 else ""))


def _date(rule: FieldRule, text: str) -> tuple[date | None, Issue | None]:
    assert rule.date_pattern is not None
    match = rule.date_pattern.fullmatch(text)
    if match:
        try:
            return date(int(match["y"]), int(match["m"]), int(match["d"])), None
        except ValueError:
            pass
    return None, Issue(
        code=ErrorCode.BAD_DATE,
        field=rule.name,
        message=f"{_LABELS[rule.name]} {_shown(text)} is not a real calendar date",
    )


def _refused(question: _Question, code: ErrorCode, message: str) -> Attestation:
    verdict = judge(
        well_formed=False,
        valid_from=None,
        valid_to=None,
        amc_number=None,
        warnings=(),
        cover=question.cover,
        referential=None,
    )
    return Attestation.model_construct(
        status="invalid",
        layout=None,
        amc_number=None,
        convention_types=[],
        routing_criterion=None,
        member_number=None,
        valid_from=None,
        valid_to=None,
        warnings=[],
        errors=[Issue(code=code, field=None, message=message)],
        **verdict.as_update(),
    )
