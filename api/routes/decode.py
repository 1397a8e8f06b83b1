"""`POST /v1/decode`: the codes of an uploaded image or PDF, each parsed and stored as a scan.

The file is read into symbols (`scanner_agent.file_decoding`, which loads the decoders on the
first upload), then each symbol goes through the agent's pipeline as a frame of device `upload`
(parsed with the pipeline's reference date, recorded by the scans service like any device's
scan). The answer is the file report of `scanner-agent decode --json`, each code with the id of
its scan (`scan_id`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Authenticated, StateDep
from api.errors import ApiError, responses
from scanner_agent.agent import NotRunning
from scanner_agent.errors import DecodeError

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["decode"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 413, 415, 422, 504),
)


@router.post(
    "/decode",
    summary="Read the codes of an image or PDF (as `scanner-agent decode --json`)",
    responses={
        200: {
            "description": "The file report: the codes found, each with its attestation and the "
            "id of the scan it was stored as (`scan_id`), and `error` when a later page could "
            "not be read. A file that cannot be read at all is a 422 whose error code says why "
            "(not_an_image, corrupt_pdf, encrypted_pdf...)",
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
    from scanner_agent import file_decoding  # noqa: PLC0415 - the decoders, on the first upload

    data = await file.read()
    name = file.filename or "upload"
    options = file_decoding.for_documents(file_decoding.decode_options(state.settings))
    started = time.perf_counter()
    counts = state.counts
    try:
        read = await asyncio.wait_for(
            run_in_threadpool(file_decoding.read_upload, data, name, options),
            timeout=state.settings.api.decode_timeout_s,
        )
    except TimeoutError:
        counts.observe_decode(time.perf_counter() - started, "decode_timeout")
        raise ApiError(504, "decode_timeout", "the file took too long to decode") from None
    except DecodeError as exc:  # the report normally carries the error; this is the fallback
        counts.observe_decode(time.perf_counter() - started, exc.code)
        raise ApiError(422, exc.code, str(exc)) from None
    error = read.error
    counts.observe_decode(time.perf_counter() - started, error.code if error else None)
    if error is not None and not read.symbols:
        # nothing could be read from the file at all: an HTTP error with the file's stable code
        # (a PDF whose later page is damaged still answers 200 with its codes and the error)
        log.info("upload refused: %s", error.code)
        raise ApiError(422, error.code, error.message)
    try:
        scans = await run_in_threadpool(
            state.agent.take_upload, [(s.data, s.symbology) for s in read.symbols]
        )
    except NotRunning:
        raise ApiError(503, "not_ready", "the agent is starting") from None
    report = read.report([scan.attestation for scan in scans])
    body: dict[str, Any] = report.model_dump(mode="json")
    for code, scan in zip(body["codes"], scans, strict=True):
        code["scan_id"] = scan.id
    log.info("upload decoded: %d code(s)%s", len(scans), f", {error.code}" if error else "")
    return JSONResponse(body)
