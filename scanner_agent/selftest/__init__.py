"""The IT self-test: is this workstation ready to read attestations? Levels after UnifiedPOS
CheckHealth:

- **internal**: nothing is opened. The configuration, the layouts, the referential, the
  decoders (a test-card symbol rendered and decoded), the storage (reachable), and for each
  configured device whether it is plugged in and may be opened (permissions), plus what its
  configuration says (keyboard mode).
- **external**: each configured device is opened and read for a short while (`seconds`); what
  arrives is framed and parsed exactly as the agent does (the device's own framer, then the
  pipeline, whose diagnostics, such as a keyboard layout mismatch, are reported), and the raw
  bytes are examined for a wrong suffix, noise and the AIM identifier. A camera's real frame
  rate, resolution and decode time are measured.
- **interactive**: the operator scans the printed test card (`scanner-agent testcard`) within a
  time limit; exactly the card's codes must arrive, each read or refused as designed.

The report (`SelfTestReport`, the JSON of `scanner-agent selftest --json` and of
`POST /v1/selftest`) has a verdict (pass, warn, fail) for the whole and for each device, and a
list of checks, each with a stable `code`, a `verdict`, a `message`, a `fix` and the `params`
they are made of. Messages and fixes are in the report's `lang` ("en" or "fr"): each check is
made once from a message id of the catalogue (`texts`) and rendered in either language
(`SelfTestReport.in_language`). Clients and the operator page branch on codes; `CHECKS` gives
every code with its generic fix (the README's troubleshooting table is made of it),
`CHECKS_FR` the same in French.

While the agent runs, its devices are open (a serial port exclusively): the self-test of a
running agent (`live_report`) does not reopen them. It reports each device from the agent's own
state, last error, counters and diagnostics instead, and measures nothing it would have to open.

The modules, one per kind of check:

- `report`: the report's models (`Check`, `DeviceReport`, `SelfTestReport`), verdicts and how
  they combine, `check(code, verdict, message)`.
- `reasons`: `CHECKS`, every check code with its generic fix (the README's reasons table),
  and `CHECKS_FR`, the same fixes in French.
- `texts`: the catalogue of message and fix templates in English and French, the command's
  labels, and the language of the system locale (`language_from_environ`).
- `options`: `Options`, how a self-test runs (everything with a side effect injectable).
- `agent_checks`: the agent's internal checks (configuration, layouts, referential, decoders).
- `roc_checks`: the phase of the ROC roll-out, in French, and its mirror AMC.
- `storage_check`: the storage reachable or not.
- `device_presence`: a device present and openable, checked without opening it.
- `device_reading`: a device opened and read as the agent would (`Observed`).
- `traffic_checks`: what a scanner sent (suffix, noise, AIM, refused codes, diagnostics).
- `camera_checks`: a camera's frame rate, resolution and decode time.
- `testcard_checks`: the test card parsed (internal) and scanned (interactive).
- `run`: `run_selftest`, the self-test of an agent that is not running (the command).
- `live`: `live_report`, the self-test of a running agent (`POST /v1/selftest`).
- `live_card`: `live_card_report`, the test-card step of one device of a running agent
  (`POST /v1/selftest` with `level: "interactive"`).
"""

from scanner_agent.selftest.live import live_report
from scanner_agent.selftest.live_card import live_card_report
from scanner_agent.selftest.options import INTERACTIVE_S, Options
from scanner_agent.selftest.reasons import CHECKS, CHECKS_FR
from scanner_agent.selftest.report import (
    CONFIG_INVALID_STATUS,
    EXIT_STATUS,
    LEVELS,
    Check,
    DeviceReport,
    Level,
    SelfTestReport,
    Verdict,
    check,
    failed_config_report,
    worst,
)
from scanner_agent.selftest.run import run_selftest
from scanner_agent.selftest.testcard_checks import GS1_WIRE, match_test_code
from scanner_agent.selftest.texts import LANGS, Lang, language_from_environ
from scanner_agent.selftest.traffic_checks import detected_suffix

__all__ = [
    "CHECKS",
    "CHECKS_FR",
    "CONFIG_INVALID_STATUS",
    "EXIT_STATUS",
    "GS1_WIRE",
    "INTERACTIVE_S",
    "LANGS",
    "LEVELS",
    "Check",
    "DeviceReport",
    "Lang",
    "Level",
    "Options",
    "SelfTestReport",
    "Verdict",
    "check",
    "detected_suffix",
    "failed_config_report",
    "language_from_environ",
    "live_card_report",
    "live_report",
    "match_test_code",
    "run_selftest",
    "worst",
]
