"""`scanner-agent referential`: check a hospital's AMC referential file, look one AMC up.

    scanner-agent referential check FILE [--at YYYY-MM-DD] [--json] [--config PATH]
    scanner-agent referential lookup AMC [--at YYYY-MM-DD] [--domain D] [--file FILE] [--json]
                                         [--config PATH]

`check` loads FILE as the agent would and prints a summary: AMCs and lines, its `updated` date
and age (stale or not, against `parser.referential_max_age_days`), the AMCs connected to ROC on
`--at` (default today in `parser.timezone`) in all and by activity domain, the test AMCs.
Exit status: 0 the file loads, 1 it does not (the error names the file and the lines).

`lookup` answers for one AMC with the configured referential (or `--file`): ROC status at
`--at` for the activity `--domain` (default `parser.domain`) in the configured phase of the ROC
roll-out (`[roc] phase`, as the agent answers: `roc_not_started`, `supervised_production`), the
reason as a code and in French, name, GAP codes, test AMC, and what the referential itself says
when the phase changes it. Exit status: 0 the AMC is in the referential, 1 it is not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    iso_date,
    settings_from,
)

if TYPE_CHECKING:
    from datetime import date

    from scanner_agent.attestation import Roc
    from scanner_agent.config import Settings
    from scanner_agent.referential import Referential

CHECK_EXAMPLES = (
    "scanner-agent referential check config/amc_referential.csv",
    "scanner-agent referential check config/amc_referential.csv --at 2026-12-04 --json",
)
LOOKUP_EXAMPLES = (
    "scanner-agent referential lookup 0775627391",
    "scanner-agent referential lookup 774734488 --domain SMR --json",
    "scanner-agent referential lookup 0775627391 --file config/amc_referential.csv",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "referential",
        help="check an AMC referential file, or look one AMC up",
        description="Check a hospital's AMC referential file (check FILE), or answer for one\n"
        "AMC with the configured referential (lookup AMC).",
        examples=(CHECK_EXAMPLES[0], LOOKUP_EXAMPLES[0]),
        exit_codes="exit status: 0 ok, 1 check: the file does not load; lookup: the AMC is "
        "not in the referential, 2 usage error",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    check = add_command(
        actions,
        "check",
        help="validate a referential file and print a summary",
        description="Load FILE as the agent would and print a summary: AMCs and lines, its\n"
        "`updated` date and age, the AMCs connected to ROC on --at, by activity, the test AMCs.",
        examples=CHECK_EXAMPLES,
        exit_codes="exit status: 0 the file loads, 1 it does not (the message names the "
        "lines), 2 usage error",
    )
    check.add_argument("file", metavar="FILE", type=Path, help="the CSV file to check")
    check.add_argument(
        "--at",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="the day the AMCs connected to ROC are counted for (default: today)",
    )
    add_json_option(check, "print the summary as one JSON object")
    add_config_option(check)
    check.set_defaults(func=run_check)

    lookup = add_command(
        actions,
        "lookup",
        help="the ROC status of one AMC at a date, for an activity",
        description="Answer for one AMC with the configured referential, in the configured\n"
        "phase of the ROC roll-out: ROC status, reason, name, GAP codes, test AMC.",
        examples=LOOKUP_EXAMPLES,
        exit_codes="exit status: 0 the AMC is in the referential, 1 it is not, 2 usage error",
    )
    lookup.add_argument("amc", metavar="AMC", help="the AMC number (leading zeros optional)")
    lookup.add_argument(
        "--at", type=iso_date, metavar="YYYY-MM-DD", help="the reference date (default: today)"
    )
    lookup.add_argument(
        "--domain",
        metavar="D",
        help="the activity domain: MCO, SMR, PSY or HAD (default: parser.domain)",
    )
    lookup.add_argument(
        "--file", type=Path, metavar="FILE", help="this referential instead of parser.referential"
    )
    add_json_option(lookup, "print the answer as one JSON object")
    add_config_option(lookup)
    lookup.set_defaults(func=run_lookup, parser=lookup)


def _today(settings: Settings) -> date:
    from scanner_agent.decision import local_today

    return local_today(settings.parser.timezone)


# --- check ------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    from scanner_agent.errors import ConfigError
    from scanner_agent.referential import Referential

    settings = settings_from(args)
    try:
        referential = Referential.load(args.file)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "path": str(args.file), "error": str(exc)}))
        else:
            print(f"BAD referential: {exc}", file=sys.stderr)
        return 1
    at = args.at or _today(settings)
    summary = summarize(referential, at, settings.parser.referential_max_age_days)
    if args.json:
        print(json.dumps({"ok": True, "path": str(args.file), **summary}, ensure_ascii=False))
    else:
        print(render_summary(str(args.file), summary))
    return 0


def summarize(referential: Referential, at: date, max_age_days: int) -> dict[str, Any]:
    """What `check` prints: sizes, date and age, AMCs connected to ROC at `at` (in all and by
    domain), the `hors_roc` reasons for MCO, test AMCs, AMCs with GAP codes."""
    from scanner_agent.attestation import DOMAINS

    by_domain = dict.fromkeys(DOMAINS, 0)
    reasons: dict[str, int] = {}
    connected = 0
    tests = []
    for lines in referential:
        number = lines[-1].amc_number
        answers = {d: referential.lookup(number, at, d) for d in DOMAINS}
        for d, roc in answers.items():
            by_domain[d] += roc.status == "roc"
        connected += any(roc.status == "roc" for roc in answers.values())
        first = next(iter(answers.values()))
        if first.reason is not None:
            reasons[first.reason.value] = reasons.get(first.reason.value, 0) + 1
        if lines[-1].test:
            tests.append({"amc_number": number, "name": lines[-1].name})
    age = referential.age_days(at)
    return {
        "entries": len(referential),
        "lines": referential.lines,
        "with_history": sum(len(lines) > 1 for lines in referential),
        "updated": referential.updated.isoformat() if referential.updated else None,
        "age_days": age,
        "stale": referential.is_stale(at, max_age_days),
        "max_age_days": max_age_days,
        "at": at.isoformat(),
        "connected": connected,
        "by_domain": by_domain,
        "hors_roc_mco": dict(sorted(reasons.items())),
        "test_amcs": tests,
        "with_gap_codes": sum(any(e.gap_codes for e in lines) for lines in referential),
    }


def render_summary(path: str, s: dict[str, Any]) -> str:
    history = f" ({s['with_history']} with a history)" if s["with_history"] else ""
    if s["updated"]:
        stale = f"; STALE: older than {s['max_age_days']} days" if s["stale"] else ""
        updated = f"{s['updated']} ({s['age_days']} day(s) before {s['at']}{stale})"
    else:
        updated = "not said (no `updated` column or date)"
    domains = ", ".join(f"{d} {n}" for d, n in s["by_domain"].items())
    hors = ", ".join(f"{r} {n}" for r, n in s["hors_roc_mco"].items()) or "none"
    tests = ", ".join(f"{t['amc_number']} ({t['name']})" for t in s["test_amcs"]) or "none"
    return "\n".join(
        [
            f"GOOD referential: {path}",
            f"  AMCs              {s['entries']} in {s['lines']} line(s){history}",
            f"  updated           {updated}",
            f"  connected to ROC  {s['connected']} AMC(s) on {s['at']}; by domain: {domains}",
            f"  hors ROC (MCO)    {hors}",
            f"  test AMC          {tests}",
            f"  with GAP codes    {s['with_gap_codes']} AMC(s)",
        ]
    )


# --- lookup -----------------------------------------------------------------------------------


def run_lookup(args: argparse.Namespace) -> int:
    from scanner_agent.attestation import DOMAINS
    from scanner_agent.referential import Referential
    from scanner_agent.rollout import Rollout

    settings = settings_from(args)
    domain = (args.domain or settings.parser.domain).upper()
    if domain not in DOMAINS:
        args.parser.error(f"--domain must be one of {', '.join(DOMAINS)}, not {args.domain!r}")
    if not (args.amc.isascii() and args.amc.isdigit()):
        args.parser.error(f"the AMC number must be digits, not {args.amc!r}")
    path = args.file or settings.referential_path
    referential = Referential.load(path)
    at = args.at or _today(settings)
    listed = referential.lookup(args.amc, at, domain)
    rollout = Rollout.of(settings.roc)
    roc = rollout.apply(listed, args.amc)
    entry = referential.get(args.amc, at)
    answer = {
        "amc_number": args.amc,
        "at": at.isoformat(),
        **roc.model_dump(mode="json"),
        "message": roc_text(roc),
        "source": str(path),
        "line": entry.line if entry else None,
        "phase": rollout.phase,
        "mirror_amc": rollout.mirror_amc or None,
        "referential": {
            "status": listed.status,
            "reason": listed.reason.value if listed.reason else None,
        },
    }
    if args.json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        print(render_answer(answer, rollout.describe()))
    return 0 if entry is not None else 1


def roc_text(roc: Roc) -> str:
    """The answer in French, for a desk."""
    from scanner_agent.wording import ROC_REASON_WORDS

    if roc.status == "roc":
        return "AMC connectée à ROC à cette date pour cette activité"
    if roc.status == "unknown":
        return "AMC absente du référentiel local"
    assert roc.reason is not None
    return ROC_REASON_WORDS[roc.reason]


def render_answer(a: dict[str, Any], phase: str = "") -> str:
    reason = f" ({a['reason']})" if a["reason"] else ""
    lines = [
        f"AMC {a['amc_number']} on {a['at']} for {a['domain']}: {a['status']}{reason}",
        f"  {a['message']}",
    ]
    if a.get("phase", "trust_circle") != "trust_circle":
        listed = a["referential"]
        said = listed["status"] + (f" ({listed['reason']})" if listed["reason"] else "")
        lines.append(f"  ROC phase   {a['phase']}: {phase}; the referential says {said}")
    if a["line"] is not None:
        lines += [
            f"  name        {a['name']}",
            f"  GAP codes   {';'.join(a['gap_codes']) or '(none)'}",
            f"  test AMC    {'yes' if a['test'] else 'no'}",
            f"  from        {a['source']}, line {a['line']}",
        ]
    return "\n".join(lines)
