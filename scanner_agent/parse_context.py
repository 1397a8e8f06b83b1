"""What every command needs once the configuration is read: layouts and referential, loaded once,
and the rules of the decision (time zone, default activity domain, referential age).

    context = ParseContext.from_settings(settings)
    context.parse(data, at=context.today())                  # parsed and judged for today
    cover = context.cover(at=None, stay=Stay(day, 3), domain="SMR")
    context.decide(attestation, cover)                       # judged again for another question
    context.decide_scan_json(text, cover)                    # a stored scan's JSON, judged again
    context.validate_fields({"amc_number": "0775627391", ...}, at=context.today())  # typed

`referential` and `rollout` (the phase of the ROC roll-out, `scanner_agent.rollout`) may be
replaced while the agent runs (a reloaded file, a changed `[roc]` section): every decision after
the assignment uses the new one, and no judged text of the previous one is served again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from scanner_agent.attestation import Attestation
from scanner_agent.config import Settings
from scanner_agent.decision import (
    DEFAULT_DOMAIN,
    DEFAULT_MAX_AGE_DAYS,
    DEFAULT_TIMEZONE,
    Cover,
    decide,
    decide_scan_json,
    local_today,
)
from scanner_agent.layouts import Layout, load_layouts
from scanner_agent.parser import Stay, TypedValue, manual_layout, parse_payload, validate_fields
from scanner_agent.referential import Referential
from scanner_agent.rollout import TRUST_CIRCLE, Rollout

JUDGED_QUESTIONS = 4
JUDGED_CACHE = 2048
"""How many judged scan texts `ParseContext.decide_scan_jsons` keeps, for each of the last
`JUDGED_QUESTIONS` questions (at most a dozen megabytes)."""


class ParseContext:
    """Loaded layouts and referential, and the decision's settings."""

    __slots__ = (
        "_generation",
        "_judged",
        "_referential",
        "_rollout",
        "_today",
        "domain",
        "layouts",
        "max_age_days",
        "timezone",
    )

    def __init__(
        self,
        layouts: Sequence[Layout],
        referential: Referential,
        *,
        domain: str = DEFAULT_DOMAIN,
        timezone: str = DEFAULT_TIMEZONE,
        max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
        today: Callable[[], date] | None = None,
        rollout: Rollout = TRUST_CIRCLE,
    ) -> None:
        self.layouts = layouts
        self._referential = referential
        self._rollout = rollout
        self._generation = 0
        self._judged: dict[tuple[Cover, int, Rollout, date], dict[str, str]] = {}
        self.domain = domain
        """The activity domain asked when the client does not say (`parser.domain`)."""
        self.timezone = timezone
        self.max_age_days = max_age_days
        self._today = today
        """A fixed clock for tests and tools; by default today in `timezone`."""

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        referential: Referential | None = None,
        *,
        today: Callable[[], date] | None = None,
    ) -> ParseContext:
        """The context of `settings` (`referential`: one already loaded, else read its file;
        `today` fixes the clock, for tests and tools)."""
        p = settings.parser
        if referential is None:
            referential = Referential.load(settings.referential_path)
        return cls(
            layouts=load_layouts(settings.layout_dirs),
            referential=referential,
            domain=p.domain,
            timezone=p.timezone,
            max_age_days=p.referential_max_age_days,
            today=today,
            rollout=Rollout.of(settings.roc),
        )

    @property
    def referential(self) -> Referential:
        return self._referential

    @referential.setter
    def referential(self, referential: Referential) -> None:
        """Replace the referential (a reloaded file): decisions from now on use it."""
        self._referential = referential
        self._generation += 1

    @property
    def rollout(self) -> Rollout:
        """The phase of the ROC roll-out every decision applies (`[roc]`)."""
        return self._rollout

    @rollout.setter
    def rollout(self, rollout: Rollout) -> None:
        """Change the phase (a changed `[roc]` section): decisions from now on apply it."""
        self._rollout = rollout

    def today(self) -> date:
        """Today in the hospital's time zone: the day a scan is judged for by default."""
        return self._today() if self._today is not None else local_today(self.timezone)

    def cover(
        self,
        at: date | None = None,
        stay: Stay | None = None,
        domain: str | None = None,
        *,
        today: date | None = None,
    ) -> Cover:
        """The question a client asks; what it leaves out is today, no stay, `self.domain`."""
        return Cover.of(today or self.today(), at, stay, domain or self.domain)

    def parse(
        self,
        data: bytes,
        at: date,
        stay: Stay | None = None,
        symbology: str | None = None,
        domain: str | None = None,
    ) -> Attestation:
        return parse_payload(
            data,
            self.layouts,
            at,
            self.referential,
            stay,
            symbology,
            domain=domain or self.domain,
            today=self.today(),
            max_age_days=self.max_age_days,
            rollout=self._rollout,
        )

    def validate_fields(
        self,
        fields: Mapping[str, TypedValue],
        at: date,
        stay: Stay | None = None,
        domain: str | None = None,
    ) -> Attestation:
        """The six elements typed by hand, checked with `manual_layout`'s rules and judged as
        `parse` judges a payload (`scanner_agent.parser.validate_fields`)."""
        return validate_fields(
            fields,
            manual_layout(self.layouts),
            at,
            self.referential,
            stay,
            domain=domain or self.domain,
            today=self.today(),
            max_age_days=self.max_age_days,
            rollout=self._rollout,
        )

    def decide(self, attestation: Attestation, cover: Cover) -> Attestation:
        """`attestation` judged for `cover` with the current referential."""
        return decide(
            attestation,
            cover,
            self.referential,
            today=self.today(),
            max_age_days=self.max_age_days,
            rollout=self._rollout,
        )

    def decide_scan_json(self, text: str, cover: Cover) -> str:
        """A scan's served JSON with its attestation judged for `cover`."""
        return self.decide_scan_jsons((text,), cover)[0]

    def decide_scan_jsons(self, texts: Iterable[str], cover: Cover) -> list[str]:
        """Scans' served JSON texts, each judged for `cover` (today as the day the referential's
        age counts to). The answers of the last `JUDGED_QUESTIONS` questions are kept, up to
        `JUDGED_CACHE` texts each: a page read again for the same question (a desk polling
        the first page) costs one dictionary lookup a scan."""
        today = self.today()
        generation, rollout = self._generation, self._rollout
        referential = self._referential
        question = (cover, generation, rollout, today)
        judged = self._judged.get(question)
        if judged is None:
            while len(self._judged) >= JUDGED_QUESTIONS:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del self._judged[next(iter(self._judged))]
            judged = self._judged[question] = {}
        out = []
        for text in texts:
            answer = judged.get(text)
            if answer is None:
                answer = decide_scan_json(
                    text,
                    cover,
                    referential,
                    today=today,
                    max_age_days=self.max_age_days,
                    rollout=rollout,
                )
                if len(judged) >= JUDGED_CACHE:
                    with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                        del judged[next(iter(judged))]
                judged[text] = answer
            out.append(answer)
        return out
