"""`POST /v1/selftest`: the self-test of the running agent, as `scanner-agent selftest --json`.

The agent holds its devices open (a serial port exclusively), so this does not reopen them: the
configuration, layouts, referential, decoders and storage are checked as by the command's
internal level, and each device is judged from the agent's live state, last error, counters and
diagnostics (level `external`: the agent opened them). A camera's frame rate and decode time
are measured by the command only, with the agent stopped. The interactive level (scanning the
test card) belongs to the operator page, which watches `/v1/events` meanwhile.

The body's `lang` ("en" by default, or "fr") is the language of every check's `message` and
`fix`; codes, verdicts and `params` are the same in both.
"""

from __future__ import annotations

import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ApiState, Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.config import DEVICE_ID_PATTERN
from scanner_agent.selftest import Check, Lang, SelfTestReport, check, live_report

router = APIRouter(
    tags=["selftest"], dependencies=Authenticated, responses=responses(400, 401, 403, 413, 415)
)

# One self-test at a time: a second request waits for the first (each takes milliseconds).
_running = threading.Lock()


class SelfTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: str | None = Field(default=None, pattern=DEVICE_ID_PATTERN)
    """Test this device only (its id); all configured devices when omitted."""
    lang: Literal["en", "fr"] = "en"
    """The language of the checks' messages and fixes."""


def _storage_check(state: ApiState) -> Check:
    """The storage as the scans service reports it (the agent holds the database)."""
    status = state.scans.storage()
    problem = status.last_error
    if status.state == "error" and problem is not None:
        return check(
            "storage_unavailable",
            "fail",
            "storage_unavailable.live",
            where=status.where,
            error=f"{problem.code}: {problem.message}",
            pending=status.pending,
        )
    return check("storage_ok", "pass", "storage_ok.live", state=status.state, where=status.where)


def _run(state: ApiState, device: str | None, lang: Lang) -> SelfTestReport:
    with _running:
        return live_report(
            state.agent, device=device, storage_check=lambda: _storage_check(state), lang=lang
        )


@router.post(
    "/selftest",
    summary="Self-test of the agent and its devices (as `scanner-agent selftest --json`)",
    responses=responses(404, 422),
)
async def selftest(
    state: StateDep, request: Annotated[SelfTestRequest | None, Body()] = None
) -> SelfTestReport:
    device = request.device if request is not None else None
    lang: Lang = request.lang if request is not None else "en"
    if device is not None and state.agent.device(device) is None:
        raise ApiError(404, "device_not_found", "no device has this id")
    return await run_in_threadpool(_run, state, device, lang)
