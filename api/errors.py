"""Error answers: `{"error": {"code": "...", "message": "..."}}` with a stable code.

Clients branch on `code`; the sentence in `message` may change. No stack trace, no payload and no
member number ever goes into an error answer. A few errors add keys beside `code` and `message`
(`already_claimed`: `claimed_by`, `claimed_at`), documented with their route.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

DATE_FIELDS = frozenset({"at", "stay_start", "from", "to"})
"""Fields whose bad value answers 422 `invalid_date` (the reference date and the stay's start of
`/v1/parse`, `/v1/attestations/validate` and the scan reads; the period of `/v1/indicators`);
a bad `domain` answers
`invalid_domain`; anything else `invalid_request`."""


class ErrorDetail(BaseModel):
    code: str
    """Stable: clients branch on it."""
    message: str
    """A sentence for people; may change."""


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """Raised by routes and dependencies; answered as an error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra
        """More keys of the `error` object (JSON values), after `code` and `message`."""


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **(extra or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_bytes(code: str, message: str) -> bytes:
    return bytes(JSONResponse({"error": {"code": code, "message": message}}).body)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _where(loc: tuple[Any, ...]) -> str:
    """`stay_days`, not pydantic's `body.stay_days.function-after[...]`."""
    if len(loc) > 1 and loc[0] in ("body", "query", "header", "path"):
        return str(loc[1])
    return str(loc[0]) if loc else "body"


def _methods_of(app: FastAPI, path: str) -> set[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return methods


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.headers, exc.extra)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = {
            404: "no such endpoint",
            405: "this method is not allowed here",
        }.get(exc.status_code, "the request was refused")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(sorted(_methods_of(app, request.url.path)))
        return error_response(exc.status_code, code, message, headers)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # loc and msg only: pydantic's `input` would echo the request (maybe a payload).
        errors = exc.errors()
        fields = [_where(tuple(e.get("loc", ()))) for e in errors]
        parts = [f"{f}: {e.get('msg', 'invalid')}" for f, e in zip(fields, errors, strict=True)]
        code = "invalid_request"
        if any(f in DATE_FIELDS for f in fields):
            code = "invalid_date"
        elif "domain" in fields:
            code = "invalid_domain"
        return error_response(422, code, "; ".join(parts[:5]) or "invalid request")

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s", type(exc).__name__)
        return error_response(500, "internal_error", "the agent failed to answer; see its log")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)


def responses(*statuses: int, by_ref: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error answers a route may give.

    `by_ref` for routes whose own answers are not JSON (FastAPI would otherwise document the
    errors under the route's media type).
    """
    text = {
        400: "Refused request (bad Host header, token in the URL...)",
        401: "Missing or wrong token or ticket",
        403: "Origin not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Content type not accepted",
        422: "Invalid request",
        503: "Storage or decoder unavailable",
        504: "Timed out",
    }
    if by_ref:
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        return {s: {"content": content, "description": text.get(s, "Error")} for s in statuses}
    return {s: {"model": ErrorBody, "description": text.get(s, "Error")} for s in statuses}
