"""What every command needs once the configuration is read: layouts and referential, loaded once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scanner_agent.attestation import Attestation
from scanner_agent.config import Settings
from scanner_agent.layouts import Layout, load_layouts
from scanner_agent.parser import Stay, parse_payload
from scanner_agent.referential import Referential


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Loaded layouts and referential: what `parse_payload` needs besides the payload and date."""

    layouts: Sequence[Layout]
    referential: Referential

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseContext:
        return cls(
            layouts=load_layouts(settings.layout_dirs),
            referential=Referential.load(settings.referential_path),
        )

    def parse(
        self,
        data: bytes,
        at: date,
        stay: Stay | None = None,
        symbology: str | None = None,
    ) -> Attestation:
        return parse_payload(data, self.layouts, at, self.referential, stay, symbology)
