"""`POST /v1/decode`: the codes of an uploaded image or PDF, each parsed and stored as a scan."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent import file_decoding
from scanner_agent.bus import ScanEvent
from scanner_agent.errors import DecodeError
from scanner_agent.scan import Scan

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["decode"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 413, 415, 422, 504),
)

UPLOAD_DEVICE = "upload"


@router.post(
    "/decode",
    summary="Read the codes of an image or PDF (as `scanner-agent decode --json`)",
    responses={
        200: {
            "description": "The file report: the codes found, each with its attestation "
            "(and `error` when a later page could not be read). A file that cannot be read at "
            "all is a 422 whose error code says why (not_an_image, corrupt_pdf, encrypted_pdf...)",
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}}
            },
        }
    },
)
async def decode(
    state: StateDep,
    file: Annotated[UploadFile, File(description="An image (PNG, JPEG, TIFF...) or a PDF")],
) -> JSONResponse:
    data = await file.read()
    name = file.filename or "upload"
    options = file_decoding.for_documents(file_decoding.decode_options(state.settings))
    started = time.perf_counter()
    try:
        report = await asyncio.wait_for(
            run_in_threadpool(
                file_decoding.decode_upload, data, name, state.agent.context, date.today(), options
            ),
            timeout=state.settings.api.decode_timeout_s,
        )
    except TimeoutError:
        state.metrics.observe_decode(time.perf_counter() - started, "decode_timeout")
        raise ApiError(504, "decode_timeout", "the file took too long to decode") from None
    except DecodeError as exc:  # the report normally carries the error; this is the fallback
        state.metrics.observe_decode(time.perf_counter() - started, exc.code)
        raise ApiError(422, exc.code, str(exc)) from None
    error = report.error
    state.metrics.observe_decode(time.perf_counter() - started, error.code if error else None)
    if error is not None and not report.codes:
        # nothing could be read from the file at all: an HTTP error with the file's stable code
        # (a PDF whose later page is damaged still answers 200 with its codes and the error)
        log.info("upload refused: %s", error.code)
        raise ApiError(422, error.code, error.message)
    now = datetime.now(UTC)
    for code in report.codes:
        scan = Scan(
            received_at=now,
            device_id=UPLOAD_DEVICE,
            source="upload",
            symbology=code.symbology,
            attestation=code.attestation,
        )
        state.agent.bus.publish(ScanEvent(scan))
    log.info("upload decoded: %d code(s)%s", len(report.codes), f", {error.code}" if error else "")
    return JSONResponse(report.model_dump(mode="json"))
