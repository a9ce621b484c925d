"""HTTP on the wire: uvicorn's HTTP/1.1 protocol (h11) with the four things a course server needs on top.

uvicorn and h11 frame HTTP (request line, headers, Content-Length and chunked bodies, keep-alive). This module
adds only what they leave to the application:

- a deadline for a request's head: a client that trickles its headers, or connects and sends nothing, is dropped
  about `head_timeout` seconds later (checked twice a second), however slowly it trickles;
- a bound on open connections: beyond `max_connections` a new connection gets a 503 in Kimi's error shape;
- malformed HTTP gets Kimi's error shape (JSON), with h11's status (400, 431, 501), never a plain-text page;
- a client that half-closes after its request still gets an answer that is ready, then the connection closes
  (an answer that would first wait is not waited for: such a client has most likely left);
- the header names exactly as the client wrote them (`User-Agent` or `user-agent`), for the request log.

Example:
    >>> error_bytes(503, "too many open connections")[:36]
    b'HTTP/1.1 503 Service Unavailable\\r\\nCo'
"""
from __future__ import annotations

import asyncio
import http
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

RAW_HEADERS_EXTENSION = "kimi_course.header_names"  # scope["extensions"][...]: header names as sent
EOF_EXTENSION = "kimi_course.client_eof"  # scope["extensions"][...]: True once the client stopped sending


class _Connection(h11.Connection):
    """h11's connection, remembering the protocol error it raised and the header names as sent."""

    last_error: h11.RemoteProtocolError | None = None
    header_names: list[bytes] = []

    def next_event(self) -> Any:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            self.last_error = exc
            raise
        if isinstance(event, h11.Request):
            self.header_names = [name for name, _ in event.headers.raw_items()]
        return event


def _extensions(scope: Any) -> dict[str, Any]:
    """The scope's extensions, where the protocol leaves what the application may read (ASGI's own place)."""
    extensions: dict[str, Any] = scope.setdefault("extensions", {})
    return extensions


def error_body(status: int, message: str) -> bytes:
    """Kimi's error shape, for what the course server says about HTTP itself."""
    kind = "invalid_request_error" if status < 500 else "server_overloaded_error"
    return json.dumps({"error": {"message": message, "type": kind}}).encode()


def error_bytes(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 response with Kimi's error shape, closing the connection (for when h11 can't be used)."""
    body = error_body(status, message)
    reason = http.HTTPStatus(status).phrase
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


class CourseH11Protocol(H11Protocol):
    """uvicorn's H11Protocol with a head deadline, a connection bound and Kimi-shaped protocol errors."""

    head_timeout: float = 10.0
    max_connections: int = 2000

    conn: _Connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _Connection(h11.SERVER, self.conn._max_incomplete_event_size)
        self.waiting_since: float | None = None  # when this connection began waiting for a request's head
        self._eof = False

    # -- the connection bound and the head deadline --------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(error_bytes(503, f"[local course server] too many open connections (the limit is "
                                             f"{self.max_connections}); close some and try again"))
            transport.close()
            return
        self._arm()

    def _arm(self) -> None:
        if self.waiting_since is None:
            self.waiting_since = self.loop.time()

    def _disarm(self) -> None:
        self.waiting_since = None

    def drop_if_too_slow(self, now: float) -> None:
        """Called about twice a second (see `sweep`): drop this connection if its head is overdue."""
        if self.waiting_since is None or now - self.waiting_since < self.head_timeout:
            return
        self.waiting_since = None
        if self.transport.is_closing():
            return
        if self.conn.trailing_data[0].strip():  # part of a request arrived: say why it is dropped
            self.transport.write(error_bytes(408, f"[local course server] the request's headers did not arrive "
                                                  f"within {self.head_timeout:g} seconds"))
        self.transport.close()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        if self._between_requests():
            self._arm()
        super().data_received(data)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a new request's head has arrived
            self._disarm()
            _extensions(self.scope)[RAW_HEADERS_EXTENSION] = self.conn.header_names

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


    # -- a client that half-closes ------------------------------------------------------------------------
    def eof_received(self) -> bool | None:  # type: ignore[override]
        self._eof = True
        in_progress = not self._between_requests()
        if in_progress and not self.cycle.more_body:
            # The whole request is here: answer it, then close (on_response_complete). An answer that would wait
            # (a slow fault, paced replay) stops waiting: a client that has closed its side has most likely left.
            _extensions(self.scope)[EOF_EXTENSION] = True
            self.cycle.message_event.set()
            return True
        if in_progress or self.conn.trailing_data[0].strip():
            self.conn.receive_data(b"")  # tell h11 the input ended: an unfinished request is an error
            self.handle_events()
            return True
        return None  # nothing pending: close

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._eof and not self.transport.is_closing():
            self._unset_keepalive_if_required()
            self.transport.close()

    # -- protocol errors in Kimi's shape ----------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        error = self.conn.last_error
        status = error.error_status_hint if error is not None else 400
        detail = str(error).split(": bytearray(")[0] if error is not None and str(error) else "malformed HTTP request"
        body = error_body(status, f"Invalid request: {detail}")
        headers = [(b"Content-Type", b"application/json; charset=utf-8"), (b"Content-Length", b"%d" % len(body)),
                   (b"Connection", b"close")]
        try:
            reason = http.HTTPStatus(status).phrase.encode()
            self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers, reason=reason)) or b"")
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # an answer was already under way: all that is left is to close
            pass
        self.transport.close()


async def sweep(connections: set[Any], every: float = 0.5) -> None:
    """Drop connections whose request head is overdue; runs beside the server until cancelled.

    One sweep for all connections instead of a timer per request: the deadline costs nothing per request.
    """
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for connection in list(connections):
            if isinstance(connection, CourseH11Protocol):
                connection.drop_if_too_slow(now)
