"""The local server: a small ASGI application (Starlette's toolkit) on uvicorn, on 127.0.0.1, speaking Kimi's wire format.

Modes:
    replay       answer from recordings/ (no key, no internet)
    record       forward to the real service and save what comes back as new recordings
    passthrough  forward without saving (used in live mode for simulated faults and the request log)

Besides the API (/v1/...), it serves:
    /simulate/<fault>/v1/...   scripted faults (see helpers.faults)
    /limits/<tier>/v1/...      a published rate-limit tier enforced (see helpers.limits)
    /_course/requests          the log of requests received (GET; DELETE clears it)
    /_course/reset             forget fault counters and limiter state (POST)

What to answer is decided in `helpers.dispatch` (plain values in and out); this module is the thin part that
reads a request off the wire (Starlette's Request), hands it over, and writes the reply back: as JSON (Starlette's
Response), as a paced stream of events, as a dropped connection, or by forwarding it upstream (`helpers.upstream`).
HTTP itself is uvicorn's and h11's (`helpers.transport` adds a head deadline, a connection bound and errors in
Kimi's shape). Routing is the course's own (`dispatch.route_for`): its routes carry data (`/simulate/<fault>/...`),
and every path, even an unknown one, must get the answer the real service gives, not a framework's plain-text 404.

Its limits, all stated in `ServerLimits`: request bodies up to 8 MiB, read within 10 seconds; request heads within
10 seconds; at most 2,000 open connections (fewer where the system allows fewer open files); idle keep-alive
connections closed after 60 seconds; the request log bounded (see helpers.requestlog).

Example:
    >>> server = KimiServer(mode="replay").start()
    >>> server.base_url.startswith("http://127.0.0.1:")
    True
    >>> server.stop()
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import resource
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import upstream as up
from .dispatch import (NOT_FOUND_BODY, SERVER_MODES, DropReply, ForwardReply, Incoming, JsonReply, Reply, ServerState,
                       StreamReply, dispatch)
from .faults import FaultCounter, fault_error
from .limits import RateLimiter
from .recordings import RecordingIndex
from .redact import mask_headers, redact_query, redact_text
from .requestlog import MAX_TEXT, RequestLog, loggable_body_and_size
from .settings import DEFAULT_BASE_URL, RECORDINGS_DIR, REPLAY_API_KEY
from .transport import EOF_EXTENSION, RAW_HEADERS_EXTENSION, CourseH11Protocol, sweep
from .wire import JSON_CONTENT_TYPE, SSE_CONTENT_TYPE, KimiError, invalid_request

__all__ = ["KimiServer", "ServerLimits", "NOT_FOUND_BODY", "SERVER_MODES"]

SERVER_NAME = "kimi-course-local"  # an honest Server header: this is not Kimi's gateway

for _name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # keep notebook output clean: every error is answered
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


def _open_files_limit() -> int:
    """Raise this process's soft limit on open files as far as allowed (at most 4,096); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return 4096 if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True)
class ServerLimits:
    """The bounds the server keeps, whatever its clients do."""

    max_body_bytes: int = 8 * 1024 * 1024
    body_timeout: float = 10.0  # seconds to receive a whole body once the head has arrived
    head_timeout: float = 10.0  # seconds to receive a request's line and headers
    max_connections: int = 2000
    keep_alive: float = 60.0  # seconds an idle keep-alive connection stays open

    def connections_allowed(self) -> int:
        return max(32, min(self.max_connections, _open_files_limit() - 128))


class KimiServer:
    """The local Kimi-compatible server. Start it, use .base_url, stop it when done."""

    def __init__(self, mode: str = "replay", recordings_dir: Path = RECORDINGS_DIR, upstream: str = DEFAULT_BASE_URL,
                 accepted_key: str = REPLAY_API_KEY, pace: float = 0.0, overwrite: bool = False,
                 host: str = "127.0.0.1", port: int = 0, limits: ServerLimits = ServerLimits()):
        if mode not in SERVER_MODES:
            raise ValueError(f"mode must be one of {SERVER_MODES}, not {mode!r}")
        self.mode, self.upstream, self.limits = mode, upstream.rstrip("/"), limits
        self.recordings_dir = Path(recordings_dir)
        self.index = RecordingIndex.load(self.recordings_dir)
        self.log = RequestLog()
        # IPPROTO_TCP named: asyncio then sets TCP_NODELAY on every connection (headers and body are separate
        # writes; with Nagle's algorithm the body would wait ~40 ms for the client's delayed ACK).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self._socket.listen(1024)
        self.state = ServerState(mode, self.index, accepted_key, self.port, pace)
        self._hop_id = os.urandom(8).hex()
        self.forwarder: up.Forwarder | None = None
        self.recorder: up.Recorder | None = None
        if mode != "replay":
            problem = up.self_forwarding_problem(self.upstream, self.port)
            if problem is not None:
                self._socket.close()
                raise ValueError(problem)
            self.forwarder = up.Forwarder(self.upstream, self._hop_id)
            if mode == "record":
                self.recorder = up.Recorder(self.index, self.upstream, overwrite)
        protocol = type("Protocol", (CourseH11Protocol,), {"head_timeout": limits.head_timeout,
                                                           "max_connections": limits.connections_allowed()})
        config = uvicorn.Config(self._asgi, interface="asgi3", http=protocol, ws="none", lifespan="off",
                                log_config=None, proxy_headers=False,
                                access_log=False, server_header=False, date_header=False,
                                timeout_keep_alive=int(limits.keep_alive), timeout_graceful_shutdown=1)
        self._uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: set[asyncio.Event] = set()  # one per answer that waits; set when the server stops
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        return f"KimiServer(mode={self.mode!r}, url={self.url!r}, recordings={len(self.index)})"

    # ---- where it is -----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL clients use, like https://api.moonshot.cn/v1."""
        return f"{self.url}/v1"

    @property
    def pace(self) -> float:
        return self.state.pace

    # ---- life cycle ------------------------------------------------------------------------------------
    def start(self) -> KimiServer:
        """Serve in a background thread; returns once the server answers."""
        self._thread = threading.Thread(target=self._run, name="kimi-local-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if self._failure is not None or not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the local server did not start: {self._failure!r}")
            time.sleep(0.001)
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._failure = exc

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        sweeper = asyncio.ensure_future(sweep(self._uvicorn.server_state.connections))
        try:
            await self._uvicorn.serve(sockets=[self._socket])
        finally:
            sweeper.cancel()
            if self.forwarder is not None:
                await self.forwarder.close()

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        asyncio.run(self._serve())

    def stop(self) -> None:
        """Stop serving: waiting answers end at once, open connections close."""
        self._uvicorn.should_exit = True
        if self._loop is not None and self._loop.is_running():
            try:
                self._loop.call_soon_threadsafe(self._wake_waiting)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def _wake_waiting(self) -> None:
        for event in list(self._waiting):
            event.set()

    def reset(self) -> None:
        """Forget fault counters, limiter state and which of several recordings was served last."""
        self.state.reset()

    @property
    def fault_counter(self) -> FaultCounter:
        return self.state.fault_counter

    @property
    def limiters(self) -> OrderedDict[str, RateLimiter]:
        return self.state.limiters

    def limiter(self, spec_text: str) -> RateLimiter:
        return self.state.limiter(spec_text)

    @property
    def known_models(self) -> list[str]:
        return self.index.models()

    # ---- the adapter: HTTP in, a reply value out, HTTP back ---------------------------------------------
    async def _asgi(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        started = time.monotonic()
        http_request = Request(scope, receive)
        raw_headers = http_request.headers.raw
        names = scope.get("extensions", {}).get(RAW_HEADERS_EXTENSION) or [n for n, _ in raw_headers]
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, (_, v) in zip(names, raw_headers)]
        entry: dict[str, Any] | None = None
        reply: Reply | None = None
        sender = _Sender(scope, receive, send)
        try:
            declared = http_request.headers.get("content-length")
            problem: JsonReply | None
            if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body_bytes:
                raw, problem = b"", _too_large(self.limits.max_body_bytes)
            else:
                raw, problem = await self._read_body(http_request)
            request = Incoming.make(http_request.method, scope["path"], scope["query_string"].decode("latin-1"),
                                    headers, raw, scope.get("http_version", "1.1"))
            if problem is not None:
                reply = problem
            else:
                reply = dispatch(request, self.state, self.log.entries, self.log.clear)
            if request.route.kind != "control" and not (isinstance(reply, JsonReply) and reply.status == 403):
                entry = self.log.add(*self._log_entry(request))
            if entry is not None:
                entry["recording"] = reply.recording
                sender.entry = entry
            await self._answer(reply, request, scope, receive, sender, entry)
        except ClientDisconnect:
            pass
        except Exception as exc:  # never a traceback to the client: a well-formed 500 instead
            if not sender.started:
                body = KimiError(500, "server_error", redact_text(
                    f"local course server error: {exc.__class__.__name__}: {exc}")).body()
                await sender.json(500, json.dumps(body).encode(), {}, close=True)
        finally:
            if reply is not None:
                for release in reply.after:
                    release()
            if entry is not None:
                entry["status"] = sender.status
                entry["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)

    def _log_entry(self, request: Incoming) -> tuple[dict[str, Any], int, bool]:
        """The log's entry for a request, its body's size, and whether the log masks it on reading.

        A short JSON body and the headers are kept as received (the log masks them when it is read); a long or
        non-JSON body is shortened now, so that what the log holds stays small.
        """
        body: Any = request.body
        as_received = request.body_error is None and len(request.raw) <= MAX_TEXT
        if as_received:
            size = len(request.raw) or 4
        elif request.body_error is not None:
            body, size = loggable_body_and_size(request.raw[:20_000].decode("utf-8", errors="replace"))
        else:
            body, size = loggable_body_and_size(body)
        simulated = request.route.spec.split("-")[0].split("~")[0] if request.route.kind == "simulate" else None
        target = request.path + (f"?{redact_query(request.query)}" if request.query else "")
        headers = dict(request.headers)
        return {"method": request.method, "path": target,
                "headers": headers if as_received else mask_headers(headers),
                "body": body, "simulated": simulated, "recording": None}, size, as_received

    async def _read_body(self, http_request: Request) -> tuple[bytes, JsonReply | None]:
        """The body, within the size and time limits; past them, the 408/413 to answer with instead.

        Raises Starlette's ClientDisconnect if the client leaves first.
        """
        limit = self.limits.max_body_bytes
        first = await http_request.receive()  # the usual case: the whole body is already here
        if first["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks: list[bytes] = [first.get("body", b"")]
        total = len(chunks[0])
        if total > limit:
            return b"", _too_large(limit)
        if not first.get("more_body", False):
            return chunks[0], None
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                while True:
                    message = await http_request.receive()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnect()
                    chunk = message.get("body", b"")
                    total += len(chunk)
                    if total > limit:
                        return b"", _too_large(limit)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return b"", JsonReply(408, invalid_request(f"the request body did not arrive within "
                                                       f"{self.limits.body_timeout:g} seconds").body(), close=True)
        return b"".join(chunks), None

    async def _answer(self, reply: Reply, request: Incoming, scope: dict[str, Any], receive: Callable,
                      sender: _Sender, entry: dict[str, Any] | None) -> None:
        if isinstance(reply, JsonReply) and reply.delay <= 0:  # the common case, without a watcher
            await sender.json(reply.status, _encoded(reply.body), reply.headers, reply.close)
            return
        async with _Watch(scope, receive, self._waiting) as watch:
            gone = watch.gone
            if not await _pause(reply.delay, watch):  # the client left, or the server is stopping
                await self._drop(scope)
                return
            if isinstance(reply, JsonReply):
                await sender.json(reply.status, _encoded(reply.body), reply.headers, reply.close)
            elif isinstance(reply, StreamReply):
                await self._stream(reply, scope, sender, watch)
            elif isinstance(reply, DropReply):
                sender.status = -1  # nothing was sent: the client sees the connection close
                await self._drop(scope)
            else:
                await self._forward(reply, request, scope, sender, gone, entry)

    async def _stream(self, reply: StreamReply, scope: dict[str, Any], sender: _Sender, watch: _Watch) -> None:
        events = reply.events
        if reply.ending != "done":
            content = [e for e in events if e.get("data") != "[DONE]"]
            events = content[: max(1, len(content) // 2)]
        await sender.start_stream(reply.status, reply.headers)
        previous = 0.0
        for event in events:
            at = float(event.get("at", previous))
            if reply.timing > 0 and at > previous and not await _pause((at - previous) * reply.timing, watch):
                await self._drop(scope)
                return
            previous = max(previous, at)
            await sender.event(event["data"])
            await asyncio.sleep(0)  # let the loop notice a client that has left, even when nothing is paced
            if watch.gone.is_set():
                return
        if reply.ending == "cut":
            await self._drop(scope)
            return
        if reply.ending == "error":
            await sender.event(fault_error("overloaded").body())
        await sender.end_stream()

    async def _drop(self, scope: dict[str, Any]) -> None:
        """Close the client's connection without (more of) an answer."""
        for connection in list(self._uvicorn.server_state.connections):
            if getattr(connection, "client", None) == scope.get("client"):
                connection.transport.close()
        await asyncio.sleep(0)  # let the close happen before uvicorn looks at the connection again

    async def _forward(self, reply: ForwardReply, request: Incoming, scope: dict[str, Any], sender: _Sender,
                       gone: asyncio.Event, entry: dict[str, Any] | None) -> None:
        assert self.forwarder is not None
        if self._hop_id in up.hops(request.headers):
            err = KimiError(508, "server_error", "[local course server] this request came back to the server that "
                                                 "forwarded it: KIMI_BASE_URL must be the real service, not this server")
            await sender.json(err.status, json.dumps(err.body()).encode(), {}, close=True)
            return
        started = time.monotonic()
        try:
            response = await self.forwarder.open(request.method, reply.api_path, request.query, request.headers,
                                                 request.raw)
        except KimiError as err:
            await sender.json(err.status, json.dumps(err.body()).encode(), {})
            return
        try:
            kept = up.client_headers(dict(response.headers))
            if response.headers.get("content-type", "").startswith(SSE_CONTENT_TYPE):
                await self._relay_stream(response, reply, request, scope, sender, gone, entry, kept, started)
                return
            data = up.redact_bytes(await up.read_limited(response))
            await self._record(request, reply, entry, up.response_record(
                response.status_code, dict(response.headers), data, None, time.monotonic() - started))
            await sender.json(response.status_code, data, {**kept, **reply.label},
                              content_type=response.headers.get("content-type"))
        finally:
            await response.aclose()

    async def _relay_stream(self, response: Any, reply: ForwardReply, request: Incoming, scope: dict[str, Any],
                            sender: _Sender, gone: asyncio.Event, entry: dict[str, Any] | None,
                            kept: dict[str, str], started: float) -> None:
        await sender.start_stream(response.status_code, {**kept, **reply.label})
        events: list[dict[str, Any]] = []
        held: list[bytes] = []
        async for block in up.relay_events(response):
            data = up.event_data(block)
            if reply.fault is not None and len(events) >= up.CUT_AFTER_EVENTS:
                if reply.fault.name == "stream_error":
                    await sender.event(fault_error("overloaded").body())
                    await sender.end_stream()
                else:
                    await self._drop(scope)
                return
            if data == "[DONE]" or held:
                held.append(block)  # the end goes out once the recording is saved
            else:
                await sender.raw_event(block)
            if data is not None:
                events.append({"at": round(time.monotonic() - started, 3), "data": data})
            if gone.is_set():
                return
        if reply.fault is None:
            await self._record(request, reply, entry, up.response_record(
                response.status_code, dict(response.headers), None, events, 0))
        for block in held:
            await sender.raw_event(block)
        await sender.end_stream()

    async def _record(self, request: Incoming, reply: ForwardReply, entry: dict[str, Any] | None,
                      response: dict[str, Any]) -> None:
        if self.recorder is None or reply.fault is not None or not up.should_record(response["status"]):
            return
        what = f"{request.method} {reply.api_path}"
        if request.body_error is not None:
            if entry is not None:
                entry["record_error"] = "not recorded: the request body is not JSON"
            return
        try:
            name = await asyncio.to_thread(self.recorder.save, request.method, reply.api_path, request.query,
                                           request.body, response)
        except Exception as exc:  # the client still gets its answer
            if entry is not None:
                entry["record_error"] = up.report_save_problem(exc, what)
            return
        if entry is not None and name is not None:
            entry["recording"] = name


_FRAMING_HEADERS = ("content-type", "content-length", "transfer-encoding", "connection", "server", "date")


@functools.lru_cache(maxsize=256)
def _encoded_headers(headers: tuple[tuple[str, str], ...], content_type: str
                     ) -> tuple[tuple[bytes, bytes], tuple[tuple[bytes, bytes], ...]]:
    """An answer's Content-Type and its own headers as bytes (a recording's headers are encoded once, not per
    request)."""
    for name, value in headers:
        if name.lower() == "content-type":
            content_type = value
    own = tuple((name.encode("latin-1"), value.encode("latin-1", errors="replace")) for name, value in headers
                if name.lower() not in _FRAMING_HEADERS)
    return (b"Content-Type", content_type.encode("latin-1", errors="replace")), own
_date_cache: tuple[int, bytes] = (0, b"")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _http_date() -> bytes:
    """The Date header's value (RFC 9110's IMF-fixdate, as http.server writes it), formatted once a second.

    Example:
        >>> len(_http_date()), _http_date().endswith(b" GMT")
        (29, True)
    """
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        t = time.gmtime(now)
        text = (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
        _date_cache = (now, text.encode())
    return _date_cache[1]


def _too_large(limit: int) -> JsonReply:
    return JsonReply(413, invalid_request(f"the request body is larger than {limit // (1024 * 1024)} MiB").body(),
                     close=True)


def _encoded(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def _pause(seconds: float, watch: _Watch) -> bool:
    """Wait `seconds`, or less if the client leaves or the server stops; True if the answer should go on."""
    if seconds <= 0:
        return not watch.gone.is_set()
    try:
        await asyncio.wait_for(watch.stop_waiting.wait(), seconds)
    except TimeoutError:
        pass
    return not watch.stop_waiting.is_set()


class _Watch:
    """While an answer waits or streams, two events: `gone` when the client has disconnected or the server stops,
    `stop_waiting` also when the client has stopped sending (it closed its side: it has most likely left)."""

    def __init__(self, scope: dict[str, Any], receive: Callable, waiting: set[asyncio.Event]) -> None:
        self.scope, self.receive, self.waiting = scope, receive, waiting
        self.gone = asyncio.Event()
        self.stop_waiting = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> _Watch:
        self.waiting.update((self.gone, self.stop_waiting))
        self.task = asyncio.ensure_future(self._watch())
        return self

    async def _watch(self) -> None:
        while True:
            if self.scope.get("extensions", {}).get(EOF_EXTENSION):
                self.stop_waiting.set()
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.gone.set()
                self.stop_waiting.set()
                return

    async def __aexit__(self, *exc: Any) -> None:
        self.waiting.difference_update((self.gone, self.stop_waiting))
        if self.task is not None:
            self.task.cancel()


class _Sender:
    """Writes replies: JSON as Starlette Responses, streams as ASGI messages, header names in the case given.

    Header names keep their case (Starlette would lower-case them), so a client sees `Msh-Request-Id` as the real
    service writes it. Streams are written here rather than by Starlette's StreamingResponse, which reads the
    connection itself to notice a client leaving: the course's own watch (`_Watch`) does that, and also ends a paced
    answer when the server stops or the client half-closes.
    """

    def __init__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        self.scope, self.receive, self.send = scope, receive, send
        self._status = 0  # 0: nothing sent yet; -1: the connection was dropped on purpose
        self.entry: dict[str, Any] | None = None  # the request log's entry, given its status as it goes out

    @property
    def status(self) -> int:
        return self._status

    @status.setter
    def status(self, value: int) -> None:
        self._status = value
        if self.entry is not None:
            self.entry["status"] = value

    @property
    def started(self) -> bool:
        return self._status != 0

    @staticmethod
    def _head(headers: dict[str, str], content_type: str, framing: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The response head in the real service's order: Date, Content-Type, the framing (Content-Length or
        Transfer-Encoding, Connection), the answer's own headers, and Server last (there, Cloudflare's)."""
        content, own = _encoded_headers(tuple(headers.items()), content_type)
        return [(b"Date", _http_date()), content, *framing, *own, (b"Server", SERVER_NAME.encode())]

    async def json(self, status: int, data: bytes, headers: dict[str, str], close: bool = False,
                   content_type: str | None = None) -> None:
        response = Response(data, status_code=status)
        framing = [(b"Content-Length", str(len(response.body)).encode())]
        if close:
            framing.append((b"Connection", b"close"))
        response.raw_headers = self._head(headers, content_type or JSON_CONTENT_TYPE, framing)
        self.status = status
        await response(self.scope, self.receive, self.send)

    async def start_stream(self, status: int, headers: dict[str, str]) -> None:
        head = self._head(headers, SSE_CONTENT_TYPE, [(b"Transfer-Encoding", b"chunked")])
        self.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": head})

    async def event(self, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        await self.raw_event(f"data: {text}\n\n".encode())

    async def raw_event(self, block: bytes) -> None:
        await self.send({"type": "http.response.body", "body": block, "more_body": True})

    async def end_stream(self) -> None:
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})
