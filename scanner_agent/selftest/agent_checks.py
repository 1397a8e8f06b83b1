"""Internal checks of the agent itself, nothing opened: configuration, layouts, referential,
the phase of the ROC roll-out, the test card's payloads parsed, the decoders (a test-card symbol
rendered and decoded), the storage, and whether any device is configured.

`agent_checks` returns the checks and the parse context the device checks read with (None
when the layouts or the referential did not load).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from scanner_agent.config import Settings
from scanner_agent.errors import ConfigError
from scanner_agent.parse_context import ParseContext
from scanner_agent.referential import Referential
from scanner_agent.rollout import Rollout
from scanner_agent.selftest.options import Options
from scanner_agent.selftest.report import Check, check
from scanner_agent.selftest.roc_checks import roc_checks
from scanner_agent.selftest.storage_check import check_storage
from scanner_agent.selftest.testcard_checks import testcard_parse_check
from scanner_agent.testcard import TEST_CODES


def agent_checks(
    settings: Settings,
    options: Options,
    storage_check: Callable[[], Check] | None = None,
    *,
    rollout: Rollout | None = None,
    rollout_error: str | None = None,
) -> tuple[list[Check], ParseContext | None]:
    """Layouts, referential, the ROC phase, the test card's payloads, decoders, storage; the
    parse context when layouts and referential loaded. `rollout` is the phase a running agent
    applies (default: the settings'), `rollout_error` why its `[roc]` section did not read
    again."""
    from scanner_agent.layouts import load_layouts  # noqa: PLC0415

    checks = [check("config_ok", "pass", "config_ok", sources=" + ".join(settings.sources))]
    layouts = referential = None
    try:
        layouts = load_layouts(settings.layout_dirs)
        names = ", ".join(layout.name for layout in layouts)
        checks.append(
            check("layouts_loaded", "pass", "layouts_loaded", count=len(layouts), names=names)
        )
    except ConfigError as exc:
        checks.append(check("layouts_invalid", "fail", "layouts_invalid", error=str(exc)))
    try:
        referential = Referential.load(settings.referential_path)
        checks.extend(_referential_checks(settings, referential, options.today()))
    except ConfigError as exc:
        checks.append(check("referential_invalid", "fail", "referential_invalid", error=str(exc)))
    rollout = rollout if rollout is not None else Rollout.of(settings.roc)
    checks.extend(
        roc_checks(
            rollout,
            referential,
            options.today(),
            domain=settings.parser.domain,
            error=rollout_error,
        )
    )
    context = None
    if layouts is not None and referential is not None:
        context = ParseContext(layouts, referential, rollout=rollout)
        checks.append(testcard_parse_check(context, options.today()))
    checks.extend(_decoder_checks(settings))
    if storage_check is not None:
        checks.append(storage_check())
    elif options.storage:
        checks.append(check_storage(settings))
    if not any(d.enabled for d in settings.devices):
        checks.append(check("no_devices", "warn", "no_devices"))
    return checks, context


def _referential_checks(settings: Settings, referential: Referential, today: date) -> list[Check]:
    """The referential's path, size, date and age; a warning when it is stale."""
    updated, age = referential.updated, referential.age_days(today)
    facts: dict[str, str | int | float] = {
        "path": str(settings.referential_path),
        "amcs": len(referential),
        "lines": referential.lines,
    }
    if updated:
        what = "referential_loaded"
        facts.update(updated=str(updated), age=age if age is not None else "?")
    else:
        what = "referential_loaded.undated"
    checks = [check("referential_loaded", "pass", what, **facts)]
    max_age = settings.parser.referential_max_age_days
    if referential.is_stale(today, max_age):
        checks.append(
            check(
                "referential_stale",
                "warn",
                "referential_stale",
                updated=str(updated),
                age=age if age is not None else "?",
                max_age=max_age,
            )
        )
    return checks


def _decoder_checks(settings: Settings) -> list[Check]:
    from decoders import Decoder, libdmtx  # noqa: PLC0415
    from scanner_agent.file_decoding import decode_options  # noqa: PLC0415
    from scanner_agent.testcard import symbol_image  # noqa: PLC0415

    out = []
    try:
        image = symbol_image(TEST_CODES[1])  # the 0.33 mm tagged attestation
        decoder = Decoder(decode_options(settings))
        start = time.perf_counter()
        symbols = decoder.decode(image)
        ms = (time.perf_counter() - start) * 1000
        if any(s.data == TEST_CODES[1].payload for s in symbols):
            out.append(check("decoder_ok", "pass", "decoder_ok", ms=round(ms, 2)))
        else:
            out.append(check("decoder_failed", "fail", "decoder_failed"))
    except Exception as exc:  # any failure of the decoders is this check's verdict
        error = f"{type(exc).__name__}: {exc}"
        out.append(check("decoder_failed", "fail", "decoder_failed.error", error=error))
    if settings.decoder.libdmtx and not libdmtx.AVAILABLE:
        out.append(check("libdmtx_missing", "warn", "libdmtx_missing"))
    return out
