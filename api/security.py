"""Who may talk to the agent: token, tickets, Host and Origin checks, content types, sizes.

The agent is a local service that any web page open on the desk could try to reach, so:

- `Guard` (ASGI middleware, before any route and before any byte of the body is read) refuses
  a repeated Host, Origin, Authorization, Content-Type or Content-Length header, a Host header
  that is not one of the agent's own names with its port (DNS rebinding), a foreign `Origin` on
  every method (403), a token in the URL, a transfer coding other than plain `chunked`, a
  state-changing request without the right token or that is not `application/json` or
  `multipart/form-data` (so that no "simple" cross-site form post gets through), and bodies
  over the size limits, counted while they stream in whatever their framing. It answers CORS
  and Private Network Access preflights for allowed origins only, never sends
  `Access-Control-Allow-Origin: *`, and marks every `/v1/...` and `/metrics` answer
  `Cache-Control: no-store`.
- `Token`: the bearer token, from `SCANNER_AGENT_TOKEN` or a 0600 file created on first start,
  compared in constant time.
- `TicketBook`: single-use tickets, valid a few seconds, that open one event stream (a browser's
  EventSource cannot send an Authorization header).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_bytes
from scanner_agent.config import Settings
from scanner_agent.errors import ConfigError
from scanner_agent.storage import tighten_mode

log = logging.getLogger(__name__)

TOKEN_ENV = "SCANNER_AGENT_TOKEN"  # noqa: S105 - the variable's name
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
# The methods the API routes that change state. (PUT and PATCH reach no route: 405.)
STATE_CHANGING = frozenset({"POST", "DELETE"})
ACCEPTED_TYPES = frozenset({"application/json", "multipart/form-data"})
# Query parameters that would carry a secret: refused whatever their value.
SECRET_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "auth", "authorization", "bearer"}
)
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "authorization, content-type, last-event-id"
# Headers that a request may carry once: a second Host or Origin would be read by one layer and
# not by another.
SINGLE_HEADERS = (b"host", b"origin", b"authorization", b"content-type", b"content-length")


# --- the token --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    source: str
    """`SCANNER_AGENT_TOKEN` or the file's path."""

    def matches(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self.value.encode())


def token_path(settings: Settings) -> Path:
    return settings.path(settings.api.token_file)


def load_token(settings: Settings, env: dict[str, str] | None = None, create: bool = True) -> Token:
    """The token from the environment, else from the token file (created when missing)."""
    environ = os.environ if env is None else env
    value = environ.get(TOKEN_ENV, "").strip()
    if value:
        if len(value) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"{TOKEN_ENV} is too short (at least {MIN_TOKEN_LENGTH} characters)")
        return Token(value, TOKEN_ENV)
    path = token_path(settings)
    if not path.exists() and create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile: read theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
            log.info("created the API token file %s (mode 0600)", path)
    try:
        tighten_mode(path)
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"api.token_file: cannot read {path}: {exc.strerror}") from exc
    if len(value) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"api.token_file: {path} holds no token of {MIN_TOKEN_LENGTH}+ characters"
        )
    return Token(value, str(path))


# --- tickets ----------------------------------------------------------------------------------


class TicketBook:
    """Single-use tickets for one event stream each. Thread-safe; the clock is injectable."""

    def __init__(
        self, ttl_s: float, clock: Callable[[], float] = time.monotonic, limit: int = 1000
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.limit = limit
        self._tickets: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        now = self.clock()
        ticket = secrets.token_urlsafe(24)
        with self._lock:
            self._tickets = {t: exp for t, exp in self._tickets.items() if exp > now}
            if len(self._tickets) >= self.limit:  # a client asking in a loop: keep the newest
                oldest = min(self._tickets, key=self._tickets.__getitem__)
                del self._tickets[oldest]
            self._tickets[ticket] = now + self.ttl_s
        return ticket

    def redeem(self, ticket: str) -> None:
        """Use `ticket` up; raises `ApiError` when it is unknown, used or expired."""
        with self._lock:
            expires = self._tickets.pop(ticket, None)
        if expires is None:
            raise ApiError(401, "ticket_invalid", "unknown or already used ticket")
        if self.clock() > expires:
            raise ApiError(401, "ticket_expired", "the ticket expired; ask for a new one")


# --- the guard --------------------------------------------------------------------------------


def allowed_hosts(settings: Settings, port: int) -> frozenset[str]:
    names = {*LOOPBACK_NAMES, *(h.lower() for h in settings.api.allowed_hosts)}
    host = settings.api.host.lower()
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 - a name to compare, not a bind
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    return frozenset(f"{name}:{port}" for name in names)


def own_origins(hosts: frozenset[str]) -> frozenset[str]:
    return frozenset(f"http://{host}" for host in hosts)


class Guard:
    """ASGI middleware: every check that does not need a route (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: frozenset[str],
        origins: frozenset[str],
        token: Token,
        max_body_bytes: int,
        max_upload_bytes: int,
        upload_paths: frozenset[str] = frozenset({"/v1/decode"}),
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = origins
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the API has none: nothing to guard, nothing to reach
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        refusal = self._check(scope)
        if refusal is not None:
            await refusal.send(send)
            return
        headers = _headers(scope)
        cors = self._cors(headers)
        method: str = scope["method"]
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, headers, cors)
            return
        limit = self.max_upload_bytes if scope["path"] in self.upload_paths else self.max_body_bytes
        no_store = scope["path"].startswith("/v1/") or scope["path"] == "/metrics"
        size = 0
        over = False  # the body went over the limit: the app reads no more of it
        started = False  # the app began its answer
        answered = False  # the guard answered 413 instead: the app is muted

        async def limited_receive() -> Message:
            nonlocal size, over, answered
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:  # counted as it comes, whatever the framing
                    over = True
                    if not started:
                        answered = True
                        await _too_large(limit, cors).send(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
                extra = list(cors)
                if no_store:
                    extra.append((b"cache-control", b"no-store"))
                if extra:
                    kept = [
                        (name, value)
                        for name, value in message.get("headers", [])
                        if not (no_store and name.lower() == b"cache-control")
                    ]
                    message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _check(self, scope: Scope) -> Refusal | None:
        """Why this request is refused from its head alone (no byte of its body read), if it is."""
        headers = _headers(scope)
        method: str = scope["method"]
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        close = [(b"connection", b"close")] if has_body else []  # never read what follows
        names = [name.lower() for name, _ in scope["headers"]]
        for single in SINGLE_HEADERS:
            if names.count(single) > 1:
                shown = single.decode()
                return Refusal(400, "repeated_header", f"the {shown} header is given twice", close)
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return Refusal(400, "host_not_allowed", "this Host header is not the agent's", close)
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return Refusal(
                403, "origin_not_allowed", "this web origin may not call the agent", close
            )
        cors = self._cors(headers)
        if self._secret_in_query(scope.get("query_string", b"")):
            return Refusal(
                400,
                "token_in_url",
                "tokens never go in URLs: send `Authorization: Bearer ...` (or use a ticket)",
                [*cors, *close],
            )
        coding = headers.get("transfer-encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            return Refusal(
                501,
                "unsupported_transfer_encoding",
                "send the body plainly, with Content-Length or `Transfer-Encoding: chunked`",
                [*cors, *close],
            )
        if method in STATE_CHANGING and _routed(scope):
            # Every one of them needs the token: checked here, before the body is read.
            problem = self._token_problem(headers.get("authorization", ""))
            if problem is not None:
                code, message = problem
                return Refusal(
                    401, code, message, [*cors, *close, (b"www-authenticate", b"Bearer")]
                )
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if (media or has_body) and media not in ACCEPTED_TYPES:
                return Refusal(
                    415,
                    "unsupported_media_type",
                    "send application/json (or multipart/form-data for uploads)",
                    [*cors, *close],
                )
        limit = self.max_upload_bytes if scope["path"] in self.upload_paths else self.max_body_bytes
        length = headers.get("content-length")
        if length is not None and coding is None:
            if not length.isascii() or not length.isdigit():
                return Refusal(400, "bad_request", "bad Content-Length", [*cors, *close])
            if int(length) > limit:
                return _too_large(limit, cors)
        return None

    def _token_problem(self, authorization: str) -> tuple[str, str] | None:
        """As `HTTPBearer` then `deps.require_token` would say it, or None for the right token."""
        scheme, _, credentials = authorization.partition(" ")
        if not (scheme and credentials) or scheme.lower() != "bearer":
            return "token_missing", "send `Authorization: Bearer <token>`"
        if not self.token.matches(credentials):
            return "token_invalid", "wrong token"
        return None

    def _cors(self, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
        """The CORS headers of an allowed `Origin` (none without one)."""
        origin = headers.get("origin")
        if origin is None:
            return []
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]

    def _secret_in_query(self, query: bytes) -> bool:
        if not query:
            return False
        text = query.decode("latin-1")
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name.lower() in SECRET_PARAMS or (value and self.token.matches(value)):
                return True
        return self.token.value in text

    async def _preflight(
        self, send: Send, headers: dict[str, str], cors: list[tuple[bytes, bytes]]
    ) -> None:
        if not cors:  # a preflight without Origin is not from a browser: nothing to allow
            await _refuse(send, 403, "origin_not_allowed", "preflight without an allowed Origin")
            return
        out = [
            *cors,
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        if headers.get("access-control-request-private-network", "").lower() == "true":
            out.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})


@dataclass(frozen=True)
class Refusal:
    """An error answer of the guard, sent before the app sees the request."""

    status: int
    code: str
    message: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, send: Send) -> None:
        await _refuse(send, self.status, self.code, self.message, self.headers)


def _too_large(limit: int, cors: list[tuple[bytes, bytes]]) -> Refusal:
    return Refusal(
        413,
        "payload_too_large",
        f"the body exceeds {limit} bytes",
        [*cors, (b"connection", b"close")],  # the rest of the body is never read
    )


def _routed(scope: Scope) -> bool:
    """Whether a route takes this method on this path (else routing answers 404 or 405)."""
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", None)
    if routes is None:
        return True
    return any(route.matches(scope)[0] == Match.FULL for route in routes)


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name: the first of a repeated one (`Guard._check`
    refuses the repeats that matter), but every `Transfer-Encoding` joined, as HTTP reads it."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name not in out:
            out[name] = value
        elif name == "transfer-encoding":
            out[name] = f"{out[name]}, {value}"
    return out


async def _refuse(
    send: Send,
    status: int,
    code: str,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = error_bytes(code, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
