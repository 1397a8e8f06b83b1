"""A simulated serial scanner that "reads" sample attestations, for trying the agent without
hardware. Every `interval_s` it sends one code followed by CR, as a serial scanner set for an
AIM prefix and a CR suffix does; the bytes go through the same framer as a real serial line.

The samples are written in the two shipped layouts (`tagged`, GS or `|` separated, and
`fixed`), with validity dates around today, and mix valid cards (one whose member number looks
like a NIR) with cards the agent must refuse (expired dates are still valid cards; a bad AMC
number, an inverted period and a medicine box's GS1 code are refused). All data is made up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from drivers.errors import DeviceLost

GS = "\x1d"


def sample_payloads(today: date) -> list[bytes]:
    """The demo cycle: valid and refused samples, in the shipped layouts."""
    start = date(today.year, 1, 1)
    end = date(today.year, 12, 31)
    dd, df = start.strftime("%Y%m%d"), end.strftime("%Y%m%d")
    old_dd = (start - timedelta(days=365)).strftime("%Y%m%d")
    old_df = (start - timedelta(days=1)).strftime("%Y%m%d")

    def tagged(sep: str, **fields: str) -> str:
        return "AMCTP01" + "".join(f"{sep}{tag}:{value}" for tag, value in fields.items())

    samples = [
        "]d1" + tagged(GS, AMC="0775627391", TC="MU", CSR="", ADH="12345678", DD=dd, DF=df),
        tagged("|", AMC="774734488", TC="SP,IS", CSR="A2", ADH="AB-123/45", DD=dd, DF=df),
        "]d1AMCTPF10775627391MU SP    01 " + dd + df + "87654321",
        "]d1" + tagged(GS, AMC="0434243085", TC="MU", CSR="", ADH="185057800608491", DD=dd, DF=df),
        "]d1" + tagged(GS, AMC="0775627391", TC="MU", CSR="", ADH="555", DD=old_dd, DF=old_df),
        "]d1" + tagged(GS, AMC="07756", TC="MU", CSR="", ADH="42", DD=dd, DF=df),
        "]d1" + tagged(GS, AMC="0775627391", TC="MU", CSR="", ADH="77", DD=df, DF=dd),
        "]d2010340093000001917261231101234",
    ]
    return [s.encode("latin-1") for s in samples]


@dataclass(frozen=True, slots=True)
class DemoParams:
    """How often the demo scanner "reads" a sample, in seconds."""

    interval_s: float = 5.0


class DemoDriver:
    """Sends a sample code and CR every `interval_s`, forever."""

    kind = "demo"

    def __init__(
        self,
        params: DemoParams,
        today: Callable[[], date] = date.today,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.params = params
        self._today = today
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._index = 0
        self._open = False

    @property
    def description(self) -> str:
        return f"demo scanner, one sample every {self.params.interval_s:g} s"

    @property
    def exhausted(self) -> bool:
        return False

    def open(self) -> None:
        self._open = True
        self._next = self._clock()  # the first sample right away

    def read(self, timeout: float) -> bytes | None:
        if not self._open or self._next is None:
            raise DeviceLost("demo scanner is not open")
        wait = self._next - self._clock()
        if wait > timeout:
            self._sleep(max(0.0, timeout))
            return None
        if wait > 0:
            self._sleep(wait)
        samples = sample_payloads(self._today())
        payload = samples[self._index % len(samples)]
        self._index += 1
        self._next += self.params.interval_s
        return payload + b"\r"

    def close(self) -> None:
        self._open = False
