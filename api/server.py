"""The HTTP server under the API: uvicorn, with a protocol that bounds slow and idle clients.

    config = server_config(app, settings, log_level="info")
    uvicorn.Server(config).run(sockets=sockets)

`SlowClientProtocol` is uvicorn's httptools protocol with three changes:

- a request must arrive whole, head and body, within `api.request_timeout_s` of the connection's
  opening (or of the previous answer on a kept connection). Past it, a request begun gets 408
  `request_timeout` and the connection is closed; a connection that sent nothing is closed.
  Once a request is received whole (an event stream, a long poll) no deadline applies.
- at most `api.max_connections` connections are open. A connection beyond it evicts the oldest
  one that is not being answered (still sending its head, or idle between requests); if every
  one is being answered, it gets 503 `too_busy`. Only requests received whole are being answered,
  and the guard answers anyone without the token at once, so the slots no slow or idle client
  can take stay for health and for the token holder's requests.
- uvicorn's own refusals (a request it cannot parse) answer in the API's JSON error format
  (400 `bad_request`), never in plain text.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import error_bytes
from scanner_agent.config import Settings

REASONS = {400: b"Bad Request", 408: b"Request Timeout", 503: b"Service Unavailable"}
_OPENINGS = itertools.count()  # the order connections were opened in (the loop's clock ties)


class SlowClientProtocol(HttpToolsProtocol):
    """See the module docstring; `protocol_for(settings)` gives the class with its limits."""

    request_timeout_s: float = 10.0
    max_connections: int = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._begun = False  # bytes of a request not yet received whole
        self._opened = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = next(_OPENINGS)
        self._arm()
        if len(self.connections) > self.max_connections:
            idle = [
                c
                for c in self.connections
                if isinstance(c, SlowClientProtocol) and c is not self and not c.answering
            ]
            if idle:
                min(idle, key=lambda c: c._opened).close()
            else:
                self._answer(503, "too_busy", "too many connections are being answered")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._begun = True
        super().data_received(data)

    def on_message_complete(self) -> None:
        self._begun = False
        self._disarm()  # received whole: what the app does with it is not a slow client's doing
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection

    def send_400_response(self, msg: str) -> None:
        self._answer(400, "bad_request", "the request is not well-formed HTTP")

    @property
    def answering(self) -> bool:
        """A request received whole is being answered (not to be evicted)."""
        return self.cycle is not None and not self.cycle.response_complete and not self._begun

    def close(self) -> None:
        self._disarm()
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle  # on a kept connection, the previous request's until a head is read
        started = cycle is not None and not cycle.response_complete and cycle.response_started
        if self._begun and not started:
            self._answer(408, "request_timeout", "the request took too long to arrive")
        else:
            self.close()

    def _answer(self, status: int, code: str, message: str) -> None:
        """An error answer written straight to the connection, which is then closed."""
        body = error_bytes(code, message)
        head = (
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"cache-control: no-store\r\nconnection: close\r\n\r\n"
        ) % (status, REASONS[status], len(body))
        if self.cycle is not None:  # the app, if it runs, reads and answers no more
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(head + body)
        self.close()


def protocol_for(settings: Settings) -> type[SlowClientProtocol]:
    """`SlowClientProtocol` with `settings`' limits."""
    return type(
        "AgentHttpProtocol",
        (SlowClientProtocol,),
        {
            "request_timeout_s": settings.api.request_timeout_s,
            "max_connections": settings.api.max_connections,
        },
    )


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration of the agent: its protocol, no WebSocket, no access log."""
    defaults: dict[str, Any] = {
        "access_log": False,  # an access log would record query strings
        "server_header": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 3,
        # The API has no WebSocket (events are SSE): without a WebSocket protocol uvicorn neither
        # imports wsproto at start nor honours an upgrade; such a request is plain HTTP and meets
        # the same guard as any other.
        "ws": "none",
        "http": protocol_for(settings),
        "limit_concurrency": None,  # the protocol's max_connections, answered in JSON
    }
    return uvicorn.Config(app, **{**defaults, **options})
