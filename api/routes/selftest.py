"""`POST /v1/selftest`: the self-test of the running agent, as `scanner-agent selftest --json`.

The agent holds its devices open (a serial port exclusively), so this does not reopen them: the
configuration, layouts, referential, decoders and storage are checked as by the command's
internal level, and each device is judged from the agent's live state, last error, counters and
diagnostics (level `external`: the agent opened them). A camera's frame rate and decode time
are measured by the command only, with the agent stopped.

With `{"device": ID, "level": "interactive", "seconds": 60}` the request is the test-card step
of that device over the running agent (`live_card_report`): it waits (at most `seconds`, capped
by `api.max_wait_s`) for the device's scans of the printed test card and answers the device's
report (`testcard_complete`, `testcard_incomplete`, `testcard_outcome`, `unexpected_code`,
`no_data`). The scans are delivered as always. A client that goes away stops the wait.

`GET /v1/testcard.pdf` is the printable test card (`scanner-agent testcard --out card.pdf`),
rendered once on first use, so that IT can print it from the operator page.

The body's `lang` ("en" by default, or "fr") is the language of every check's `message` and
`fix`; codes, verdicts and `params` are the same in both.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ApiState, Authenticated, StateDep, done_unless_gone
from api.errors import ApiError, responses
from scanner_agent.agent import NotRunning
from scanner_agent.config import DEVICE_ID_PATTERN
from scanner_agent.selftest import (
    INTERACTIVE_S,
    Check,
    Lang,
    SelfTestReport,
    check,
    live_card_report,
    live_report,
)
from scanner_agent.testcard import card_pdf

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
    level: Literal["external", "interactive"] = "external"
    """`interactive`: the test-card step of `device` (required): wait for its scans of the
    printed test card and judge them."""
    seconds: float | None = Field(default=None, gt=0)
    """Interactive level only: how long to wait for the card (default 60, capped by
    `api.max_wait_s`)."""


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
    responses=responses(404, 422, 503),
)
async def selftest(
    state: StateDep, http: Request, request: Annotated[SelfTestRequest | None, Body()] = None
) -> SelfTestReport:
    request = request or SelfTestRequest()
    device = request.device
    if request.level == "interactive" and device is None:
        raise ApiError(422, "invalid_request", "level interactive: give the device to test")
    if request.level != "interactive" and request.seconds is not None:
        raise ApiError(422, "invalid_request", "seconds: only with level interactive")
    if device is not None and state.agent.device(device) is None:
        raise ApiError(404, "device_not_found", "no device has this id")
    if request.level == "interactive" and device is not None:
        seconds = min(request.seconds or INTERACTIVE_S, state.settings.api.max_wait_s)
        return await _card_step(state, http, device, seconds, request.lang)
    return await run_in_threadpool(_run, state, device, request.lang)


async def _card_step(
    state: ApiState, http: Request, device: str, seconds: float, lang: Lang
) -> SelfTestReport:
    """The device's test-card step in a worker thread; stopped when the client goes away."""
    stop = threading.Event()
    waiting = asyncio.ensure_future(
        run_in_threadpool(live_card_report, state.agent, device, seconds, stop=stop, lang=lang)
    )
    try:
        if await done_unless_gone(http, waiting):
            return waiting.result()
        stop.set()
        return await waiting  # at once: the wait sees `stop` within a poll
    except NotRunning:
        raise ApiError(503, "not_ready", "the agent is starting") from None
    finally:
        stop.set()  # a cancelled request stops the wait too


@functools.cache
def _card() -> bytes:
    return card_pdf()


@router.get(
    "/testcard.pdf",
    summary="The printable test card (PDF, A4; as `scanner-agent testcard --out card.pdf`)",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The test card"},
        **responses(by_ref=True),
    },
)
async def testcard_pdf() -> Response:
    pdf = await run_in_threadpool(_card)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="carte-de-test.pdf"'},
    )
