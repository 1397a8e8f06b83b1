"""`POST /v1/decode`: the codes of an uploaded image or PDF, each parsed and stored as a scan.

The file is read into symbols (`scanner_agent.file_decoding`, which loads the decoders on the
first upload), then each symbol goes through the agent's pipeline as a frame of device `upload`
(parsed with the pipeline's reference date, recorded by the scans service like any device's
scan). The answer is the file report of `scanner-agent decode --json`, each code with the id of
its scan (`scan_id`), and `unreadable`: the places that look like a Data Matrix but could not
be read (`{page, position}`; the file should be scanned again, better), each counted in the
indicators (source `upload`), as each code is with its share of the decode time. Files are decoded
without a time budget (`file_decoding.for_documents`): the same file, the same answer at any
load.

Long work is bounded: the decode runs on a worker of the state's `DecodePool`
(`[decoder] max_concurrent_uploads`, one by default; when every worker is busy the upload is
answered 503 `decoder_busy` at once, nothing queued). An upload not decoded within
`api.decode_timeout_s` is answered 504 `decode_timeout`, and one whose client went away is
dropped: either way its decode is cancelled (an event the page loop and the decoder's passes
check), so it stops within the page it was on and frees its worker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Authenticated, StateDep, done_unless_gone
from api.errors import ApiError, responses
from scanner_agent.agent import NotRunning
from scanner_agent.errors import DecodeError

if TYPE_CHECKING:
    from scanner_agent.file_decoding import SymbolsRead

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER_S = 2


class ClientGone(Exception):
    """The client of an upload closed its connection before the decode ended."""


router = APIRouter(
    tags=["decode"],
    dependencies=Authenticated,
    responses=responses(400, 401, 403, 413, 415, 422, 503, 504),
)


@router.post(
    "/decode",
    summary="Read the codes of an image or PDF (as `scanner-agent decode --json`)",
    responses={
        200: {
            "description": "The file report: the codes found, each with its attestation and the "
            "id of the scan it was stored as (`scan_id`), `unreadable` (each code seen but not "
            "read: its page and four corners in pixels), and `error` when a later page could "
            "not be read. A file that cannot be read at all is a 422 whose error code says why "
            "(not_an_image, corrupt_pdf, encrypted_pdf...)",
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}}
            },
        }
    },
)
async def decode(
    request: Request,
    state: StateDep,
    file: Annotated[UploadFile, File(description="An image (PNG, JPEG, TIFF...) or a PDF")],
) -> JSONResponse:
    from scanner_agent import file_decoding  # noqa: PLC0415 - the decoders, on the first upload

    data = await file.read()
    name = file.filename or "upload"
    options = file_decoding.for_documents(file_decoding.decode_options(state.settings))
    cancel = threading.Event()
    future = state.decode_pool.submit(
        lambda: file_decoding.read_upload(data, name, options, cancel=cancel)
    )
    if future is None:
        log.info("upload refused: decoder_busy")
        raise ApiError(
            503,
            "decoder_busy",
            "other files are being decoded; send this one again in a moment",
            {"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    started = time.perf_counter()
    counts = state.counts
    try:
        read = await result_of(future, request, state.settings.api.decode_timeout_s)
    except TimeoutError:
        counts.observe_decode(time.perf_counter() - started, "decode_timeout")
        raise ApiError(504, "decode_timeout", "the file took too long to decode") from None
    except ClientGone:
        counts.observe_decode(time.perf_counter() - started, file_decoding.CANCELLED)
        log.info("upload dropped: the client went away")
        raise ApiError(400, "client_gone", "the client closed the connection") from None
    except DecodeError as exc:  # the report normally carries the error; this is the fallback
        counts.observe_decode(time.perf_counter() - started, exc.code)
        raise ApiError(422, exc.code, str(exc)) from None
    finally:
        if not future.done():
            cancel.set()  # timed out, client gone, or this request cancelled: stop decoding
    error = read.error
    counts.observe_decode(time.perf_counter() - started, error.code if error else None)
    if error is not None and not read.symbols:
        # nothing could be read from the file at all: an HTTP error with the file's stable code
        # (a PDF whose later page is damaged still answers 200 with its codes and the error)
        log.info("upload refused: %s", error.code)
        raise ApiError(422, error.code, error.message)
    try:
        scans = await run_in_threadpool(
            lambda: state.agent.take_upload(
                [(s.data, s.symbology) for s in read.symbols],
                decode_ms=read.ms,
                unreadable=len(read.unreadable),
            )
        )
    except NotRunning:
        raise ApiError(503, "not_ready", "the agent is starting") from None
    report = read.report([scan.attestation for scan in scans])
    body: dict[str, Any] = report.model_dump(mode="json")
    for code, scan in zip(body["codes"], scans, strict=True):
        code["scan_id"] = scan.id
    log.info("upload decoded: %d code(s)%s", len(scans), f", {error.code}" if error else "")
    return JSONResponse(body)


async def result_of(future: Future[SymbolsRead], request: Request, timeout_s: float) -> SymbolsRead:
    """The decode's result. Raises TimeoutError after `timeout_s`, ClientGone when the client
    closed its connection first (`done_unless_gone`)."""
    waiting = asyncio.wrap_future(future)
    if await done_unless_gone(request, waiting, timeout_s):
        return waiting.result()
    raise ClientGone
