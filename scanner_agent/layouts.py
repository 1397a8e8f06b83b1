"""Payload layouts: data files that say how the six elements sit in a datamatrix.

The byte layout of the Inter-AMC specification is not public, so the agent never hard-codes one.
Each `*.toml` file in the configured folders describes one layout:

    name = "tagged"            # unique; reported as the parse result's `layout`
    version = 1
    kind = "tagged"            # "tagged" (TAG:value fields) or "fixed" (fields by position)
    header = "AMCTP01"         # the payload starts with this (after any AIM identifier)
    separators = ["\\u001d", "|"]  # tagged: between fields
    tag_separator = ":"        # tagged: between a tag and its value

    [[fields]]                 # one table for each of the six elements, in payload order
    name = "amc_number"        # amc_number | convention_types | routing_criterion |
                               # member_number | valid_from | valid_to
    tag = "AMC"                # tagged layouts
    length = 10                # fixed layouts: a number of characters, or "rest"
    pattern = "[0-9]{8,10}"    # regular expression the whole value (each list item) must match,
                               # compiled with re.ASCII: \\d, \\w, \\s and case folding are ASCII
    required = true            # an empty value is `missing_field`
    trim = false               # strip spaces around the value
    pad = " "                  # fixed layouts: padding stripped from the right of the value
    list_separator = ","       # the value is a list split on this (tagged)
    slot_length = 3            # the value is a list of fixed-width slots (fixed)
    max_items = 5              # at most this many list items
    date_format = "YYYYMMDD"   # the value is a date (YYYY, MM, DD and literal characters)

A file that breaks these rules is refused at start with a message naming the file and key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scanner_agent.attestation import FIELD_NAMES, ErrorCode
from scanner_agent.errors import ConfigError

LIST_FIELDS = frozenset({"convention_types"})
DATE_FIELDS = frozenset({"valid_from", "valid_to"})

# Each element's error code when its value breaks its rule.
BAD_VALUE_CODE: dict[str, ErrorCode] = {
    "amc_number": ErrorCode.BAD_AMC_NUMBER,
    "convention_types": ErrorCode.BAD_CONVENTION_TYPE,
    "routing_criterion": ErrorCode.BAD_ROUTING_CRITERION,
    "member_number": ErrorCode.BAD_MEMBER_NUMBER,
    "valid_from": ErrorCode.BAD_DATE,
    "valid_to": ErrorCode.BAD_DATE,
}

# A layout's patterns match ASCII only: Python's `\d` otherwise matches the digits of every script
# (and `\w`, `\s`, case-insensitive matching every letter), which a custom layout or keyboard map
# could let through to code that reads numbers with `int()`.
PATTERN_FLAGS = re.ASCII

_DATE_TOKENS = {"YYYY": r"(?P<y>[0-9]{4})", "MM": r"(?P<m>[0-9]{2})", "DD": r"(?P<d>[0-9]{2})"}


class _FieldFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    tag: str | None = Field(default=None, min_length=1, pattern=r"^[^:|\x1d]+$")
    length: int | Literal["rest"] | None = None
    pattern: str | None = None
    required: bool = False
    trim: bool = False
    pad: str = Field(default="", max_length=1)
    list_separator: str | None = Field(default=None, min_length=1)
    slot_length: int | None = Field(default=None, gt=0)
    max_items: int = Field(default=1, gt=0)
    date_format: str | None = None

    @field_validator("name")
    @classmethod
    def _element(cls, name: str) -> str:
        if name not in FIELD_NAMES:
            raise ValueError(f"{name!r} is not an element; use one of {', '.join(FIELD_NAMES)}")
        return name

    @model_validator(mode="after")
    def _coherent(self) -> _FieldFile:
        if isinstance(self.length, int) and self.length <= 0:
            raise ValueError("length must be a positive number or 'rest'")
        if self.name in DATE_FIELDS and not self.date_format:
            raise ValueError(f"{self.name} needs a date_format")
        if self.date_format and not all(t in self.date_format for t in _DATE_TOKENS):
            raise ValueError("date_format must contain YYYY, MM and DD")
        if self.name in LIST_FIELDS and not (self.list_separator or self.slot_length):
            raise ValueError(f"{self.name} is a list: give list_separator or slot_length")
        if self.name not in LIST_FIELDS and (self.list_separator or self.slot_length):
            raise ValueError(f"{self.name} is a single value: no list_separator or slot_length")
        if self.pattern is not None:
            try:
                re.compile(self.pattern, PATTERN_FLAGS)
            except (re.error, ValueError) as exc:  # ValueError: (?u) with re.ASCII
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return self


class _LayoutFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    version: int = Field(ge=1)
    kind: Literal["tagged", "fixed"]
    description: str = ""
    header: str = Field(min_length=1)
    separators: list[str] = Field(default_factory=list)
    tag_separator: str = ":"
    fields: list[_FieldFile]

    @model_validator(mode="after")
    def _coherent(self) -> _LayoutFile:
        names = [f.name for f in self.fields]
        missing = [n for n in FIELD_NAMES if n not in names]
        if missing:
            raise ValueError(f"fields must describe every element; missing: {', '.join(missing)}")
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"an element is described twice: {', '.join(doubled)}")
        if self.kind == "tagged":
            if not self.separators:
                raise ValueError("a tagged layout needs separators")
            tags = [f.tag for f in self.fields]
            if any(t is None for t in tags):
                raise ValueError("every field of a tagged layout needs a tag")
            if len(set(tags)) != len(tags):
                raise ValueError("two fields share a tag")
            if any(f.length is not None for f in self.fields):
                raise ValueError("length is for fixed layouts")
        else:
            if any(f.length is None for f in self.fields):
                raise ValueError("every field of a fixed layout needs a length")
            rest = [f.name for f in self.fields if f.length == "rest"]
            if rest and rest != [self.fields[-1].name]:
                raise ValueError('only the last field of a fixed layout may have length = "rest"')
            if any(f.tag for f in self.fields):
                raise ValueError("tag is for tagged layouts")
        return self


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One element's place and rule in a layout, compiled."""

    name: str
    tag: str | None
    length: int | None  # None: the rest of the payload (fixed) or delimited (tagged)
    pattern: re.Pattern[str] | None
    required: bool
    trim: bool
    pad: str
    list_separator: str | None
    slot_length: int | None
    max_items: int
    date_pattern: re.Pattern[str] | None
    bad_code: ErrorCode


@dataclass(frozen=True, slots=True)
class Layout:
    """A compiled layout. Built by `load_layouts`, or `layout_from_toml` for one text."""

    name: str
    version: int
    kind: Literal["tagged", "fixed"]
    header: str
    fields: tuple[FieldRule, ...]
    separators: tuple[str, ...] = ()
    tag_separator: str = ":"
    description: str = ""
    source: str = ""

    def field_by_tag(self) -> dict[str, FieldRule]:
        return {f.tag: f for f in self.fields if f.tag is not None}


def _compile_date(fmt: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(fmt):
        token = fmt[i : i + 4] if fmt[i : i + 4] == "YYYY" else fmt[i : i + 2]
        if token in _DATE_TOKENS:
            out.append(_DATE_TOKENS[token])
            i += len(token)
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return re.compile("".join(out))


def _compile(spec: _LayoutFile, source: str) -> Layout:
    rules = tuple(
        FieldRule(
            name=f.name,
            tag=f.tag,
            length=f.length if isinstance(f.length, int) else None,
            pattern=re.compile(f.pattern, PATTERN_FLAGS) if f.pattern else None,
            required=f.required,
            trim=f.trim,
            pad=f.pad,
            list_separator=f.list_separator,
            slot_length=f.slot_length,
            max_items=f.max_items,
            date_pattern=_compile_date(f.date_format) if f.date_format else None,
            bad_code=BAD_VALUE_CODE[f.name],
        )
        for f in spec.fields
    )
    return Layout(
        name=spec.name,
        version=spec.version,
        kind=spec.kind,
        header=spec.header,
        fields=rules,
        separators=tuple(spec.separators),
        tag_separator=spec.tag_separator,
        description=spec.description,
        source=source,
    )


def layout_from_toml(text: str, source: str = "<layout>") -> Layout:
    """Compile one layout from its TOML text; `ConfigError` names the source and the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"layout file {source}: not valid TOML: {exc}") from exc
    try:
        spec = _LayoutFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'layout'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"layout file {source} is refused: {problems}") from exc
    return _compile(spec, source)


def load_layouts(folders: Iterable[Path]) -> list[Layout]:
    """Read every `*.toml` file of `folders`, in order. Names and headers must be unique."""
    layouts: list[Layout] = []
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"layout folder not found: {folder} (parser.layouts_dirs)")
        for path in sorted(folder.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"layout file {path} cannot be read: {exc}") from exc
            layouts.append(layout_from_toml(text, str(path)))
    check_unique(layouts)
    if not layouts:
        raise ConfigError("no layout file found in " + ", ".join(str(f) for f in folders))
    return layouts


def check_unique(layouts: list[Layout]) -> None:
    for attr in ("name", "header"):
        seen: dict[str, Layout] = {}
        for layout in layouts:
            key = getattr(layout, attr)
            if key in seen:
                raise ConfigError(
                    f"layouts {seen[key].source} and {layout.source} have the same {attr} {key!r}"
                )
            seen[key] = layout
