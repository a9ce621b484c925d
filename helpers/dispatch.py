"""What the local server answers: one request value in, one reply value out. No sockets here.

`Incoming` is a request as a plain value, its body parsed once. `dispatch(request, state)` runs the policies in
order — where the request may come from, the route, the key, a scripted fault, a rate-limit tier, the request
checks Kimi makes, the replay lookup — each a small function that either lets the request through or returns the
reply. The reply is a value too (`JsonReply`, `StreamReply`, `DropReply`, or `ForwardReply` in record and
passthrough mode), which `helpers.server` turns into HTTP.

Example:
    >>> from helpers.recordings import RecordingIndex
    >>> from helpers.settings import RECORDINGS_DIR
    >>> state = ServerState(mode="replay", index=RecordingIndex.load(RECORDINGS_DIR), accepted_key="sk-replay-offline",
    ...                     port=8000)
    >>> reply = dispatch(Incoming.make("GET", "/v1/models", headers=[("Host", "127.0.0.1:8000")]), state)
    >>> reply.status, reply.body["error"]["type"]
    (401, 'invalid_authentication_error')
    >>> reply = dispatch(Incoming.make("GET", "/v1/models", headers=[("Host", "127.0.0.1:8000"),
    ...                  ("Authorization", "Bearer sk-replay-offline")]), state)
    >>> reply.status, reply.recording
    (200, 'models-list')
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from . import faults as fault_mod
from .language import say
from .limits import RateLimiter, parse_limits_spec
from .recordings import Nearest, Recording, RecordingIndex, canonical_json
from .redact import redact_text
from .wire import KimiError, check_chat_request, check_messages, invalid_request, kimi_headers, parse_bearer, \
    parse_json_body

SERVER_MODES = ("replay", "record", "passthrough")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024  # all header names and values together
MAX_TARGET = 8 * 1024  # characters in the path and query
MAX_LIMITERS = 64  # distinct /limits/<spec> kept; the least recently used is forgotten first
# Kimi's gateway answer for a path that is not part of the API.
NOT_FOUND_BODY = {"code": 5, "error": "url.not_found", "message": "没找到对象", "scode": "0x5", "status": False}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# Endpoints the replay server answers even when nothing is recorded for them (a clear miss, not the gateway 404):
# the ones the course uses, and the documented ones it does not teach (files, context caching), whose paths the real
# service has, so the gateway's "url.not_found" would mislead.
REPLAYED_ENDPOINTS = ("/v1/chat/completions", "/v1/tokenizers/estimate-token-count", "/v1/models",
                      "/v1/users/me/balance")
DOCUMENTED_ENDPOINTS = REPLAYED_ENDPOINTS + ("/v1/files", "/v1/caching")


# ---- the request, as a value ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """Where a path leads: kind is "api", "simulate", "limits", "control" or "other"."""

    kind: str
    api_path: str = ""  # /v1/... for the API routes
    spec: str = ""  # the <fault> or <tier> part


def route_for(path: str) -> Route:
    """Split a path into its route.

    Example:
        >>> route_for("/simulate/overloaded-2~a/v1/chat/completions")
        Route(kind='simulate', api_path='/v1/chat/completions', spec='overloaded-2~a')
        >>> route_for("/v2/x").kind
        'other'
    """
    if path.startswith("/_course/"):
        return Route("control", path)
    parts = path.split("/")
    kind, spec = "api", ""
    if len(parts) > 2 and parts[1] in ("simulate", "limits"):
        kind, spec = parts[1], parts[2]
        path = "/" + "/".join(parts[3:])
    if not path.startswith("/v1/"):
        return Route("other", path, spec)
    return Route(kind, path, spec)


@dataclass(frozen=True)
class Incoming:
    """One request: method, path, query, headers (names as sent), raw body, and the body parsed once.

    `body` is the parsed JSON (None for an empty body); `body_error` is the 400 a body that is not valid JSON gets.
    """

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes
    route: Route
    body: Any = None
    body_error: KimiError | None = None
    http_version: str = "1.1"

    @classmethod
    def make(cls, method: str, path: str, query: str = "", headers: list[tuple[str, str]] | None = None,
             raw: bytes = b"", http_version: str = "1.1") -> Incoming:
        body, error = None, None
        if raw.strip():
            try:
                body = parse_json_body(raw)
            except KimiError as exc:
                error = exc
        return cls(method, path, query, tuple(headers or ()), raw, route_for(path), body, error, http_version)

    def __post_init__(self) -> None:
        # a repeated header: the last value wins
        object.__setattr__(self, "_by_name", {key.lower(): value for key, value in self.headers})

    def header(self, name: str) -> str | None:
        """The last value of a header, whatever the case of its name."""
        by_name: dict[str, str] = self._by_name  # type: ignore[attr-defined]
        return by_name.get(name.lower())

    def json_body(self, required: bool) -> Any:
        """The parsed body; raises the 400 for a body that isn't JSON (or is missing when required)."""
        if self.body_error is not None:
            raise self.body_error
        if required and self.body is None:
            parse_json_body(self.raw)  # raises the "body is empty" 400
        return self.body


# ---- replies, as values ---------------------------------------------------------------------------------
@dataclass
class JsonReply:
    """A JSON answer. `body` is a JSON value or bytes already encoded; `delay` is waited before answering."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False
    recording: str | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class StreamReply:
    """A stream of Server-Sent Events. `events` are {"at": seconds, "data": ...}; gaps play `timing` times as long.

    ending: "done" (as recorded), "error" (the first half, then an error event) or "cut" (the first half, then the
    connection drops).
    """

    status: int
    headers: dict[str, str]
    events: list[dict[str, Any]]
    timing: float
    delay: float = 0.0
    ending: str = "done"
    recording: str | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class DropReply:
    """Close the connection without an answer."""

    delay: float = 0.0
    recording: str | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class ForwardReply:
    """Send the request upstream (record and passthrough mode); `fault` may cut the live stream."""

    api_path: str
    fault: fault_mod.FaultSpec | None = None
    delay: float = 0.0
    label: dict[str, str] = field(default_factory=dict)
    recording: str | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


Reply = JsonReply | StreamReply | DropReply | ForwardReply


# ---- the server's state -------------------------------------------------------------------------------
@dataclass
class ServerState:
    """What dispatch reads and changes: the mode, the recordings, fault counters and rate limiters."""

    mode: str
    index: RecordingIndex
    accepted_key: str = field(repr=False)
    port: int = 0
    pace: float = 0.0
    fault_counter: fault_mod.FaultCounter = field(default_factory=fault_mod.FaultCounter)
    limiters: OrderedDict[str, RateLimiter] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    health: dict[str, Any] = field(default_factory=dict)

    def limiter(self, spec_text: str) -> RateLimiter:
        """The limiter for a tier spec (made on first use; at most MAX_LIMITERS are kept)."""
        spec = parse_limits_spec(spec_text)
        with self.lock:
            limiter = self.limiters.pop(spec_text, None) or RateLimiter(spec)
            self.limiters[spec_text] = limiter
            while len(self.limiters) > MAX_LIMITERS:
                self.limiters.popitem(last=False)
            return limiter

    def reset(self) -> None:
        self.fault_counter.reset()
        self.index.reset()
        with self.lock:
            self.limiters.clear()


# ---- the policies ---------------------------------------------------------------------------------------
def error_reply(err: KimiError, request: Incoming, extra: dict[str, str] | None = None) -> JsonReply:
    """An error with the headers a real one carries (Msh-Request-Id, the trace headers, any cooldown headers)."""
    return JsonReply(err.status, err.body(), {**kimi_headers(request.path + err.message, err.headers), **(extra or {})})


def gateway_not_found(request: Incoming) -> JsonReply:
    return JsonReply(404, {**NOT_FOUND_BODY, "method": request.method})


def refuse_foreign_origin(request: Incoming, port: int) -> JsonReply | None:
    """Only this machine may talk to the server: a Host or Origin naming another site is refused.

    A web page could otherwise make a browser send requests here (DNS rebinding) and read the log of prompts.

    Example:
        >>> bad = Incoming.make("GET", "/v1/models", headers=[("Host", "evil.example:8000")])
        >>> refuse_foreign_origin(bad, 8000).status
        403
        >>> refuse_foreign_origin(Incoming.make("GET", "/", headers=[("Host", "localhost:8000")]), 8000) is None
        True
    """
    allowed = _allowed_hosts(port)
    host = (request.header("Host") or "").strip().lower()
    if host not in allowed:
        return JsonReply(403, KimiError(403, "permission_denied_error",
                                        f"[local course server] requests must name this server as Host "
                                        f"(127.0.0.1:{port}), not {host[:60]!r}").body(), close=True)
    origin = request.header("Origin")
    if origin is not None and origin.strip().lower().removeprefix("http://") not in allowed:
        return JsonReply(403, KimiError(403, "permission_denied_error",
                                        "[local course server] requests from web pages of other sites are refused"
                                        ).body(), close=True)
    return None


@functools.lru_cache(maxsize=64)
def _allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"{host}:{port}" for host in LOOPBACK_HOSTS} | (set(LOOPBACK_HOSTS) if port == 80 else set()))


def check_http(request: Incoming) -> None:
    """What HTTP itself allows here: HTTP/1.x, the usual methods, at most MAX_HEADERS headers."""
    if request.http_version not in ("1.0", "1.1"):
        raise KimiError(505, "invalid_request_error", f"Invalid request: HTTP/{request.http_version[:5]} is not "
                                                      "supported here; use HTTP/1.1")
    if len(request.headers) > MAX_HEADERS:
        raise KimiError(431, "invalid_request_error", f"Invalid request: more than {MAX_HEADERS} headers")
    if sum(len(k) + len(v) for k, v in request.headers) > MAX_HEADER_BYTES:
        raise KimiError(431, "invalid_request_error", f"Invalid request: headers larger than {MAX_HEADER_BYTES} bytes")
    if len(request.path) + len(request.query) > MAX_TARGET:
        raise KimiError(414, "invalid_request_error", f"Invalid request: a URL longer than {MAX_TARGET} characters")
    if request.method not in METHODS:
        raise KimiError(501, "invalid_request_error", f"Invalid request: method {request.method[:20]!r} is not supported")


def check_auth(request: Incoming, accepted_key: str) -> None:
    if parse_bearer(request.header("Authorization")) != accepted_key:
        raise KimiError(401, "invalid_authentication_error", "Invalid Authentication")


def control(request: Incoming, state: ServerState, log_entries: Callable[[], list[dict[str, Any]]],
            clear_log: Callable[[], None]) -> JsonReply:
    """/_course/...: the request log (GET, DELETE), reset (POST), health, limits."""
    path, method = request.route.api_path, request.method
    if path == "/_course/requests" and method == "GET":
        return JsonReply(200, {"requests": log_entries()})
    if path == "/_course/requests" and method == "DELETE":
        clear_log()
        return JsonReply(200, {"cleared": True})
    if path == "/_course/reset" and method == "POST":
        state.reset()
        return JsonReply(200, {"reset": True})
    if path == "/_course/health":
        return JsonReply(200, {"ok": True, "mode": state.mode, "recordings": len(state.index)})
    if path == "/_course/limits":
        with state.lock:
            limiters = list(state.limiters.items())
        return JsonReply(200, {name: limiter.stats() for name, limiter in limiters})
    return gateway_not_found(request)


def is_stream_request(request: Incoming) -> bool:
    return isinstance(request.body, dict) and request.body.get("stream") is True


def fault_reply(fault: fault_mod.FaultSpec, request: Incoming, state: ServerState) -> Reply | None:
    """The answer a scripted fault gives, or None for `slow` (which only delays the normal answer)."""
    label = {"X-Simulated-Fault": fault.name}
    if fault.name in fault_mod.STATUS_FAULTS:
        err = fault_mod.fault_error(fault.name)
        return JsonReply(err.status, err.body(), {**kimi_headers(fault.spec + request.route.api_path, err.headers),
                                                  **label})
    if fault.name == "slow":
        return None
    if fault.name == "disconnect" and not is_stream_request(request):
        return DropReply()
    # stream_error, or disconnect during a stream
    if state.mode != "replay":
        if not is_stream_request(request):
            raise invalid_request(f"the {fault.name} fault needs a streaming request (stream: true)")
        return ForwardReply(request.route.api_path, fault=fault, label=label)
    recording = find_recording(request, state)
    if not recording.is_stream:
        raise invalid_request(f"the {fault.name} fault needs a streaming request (stream: true)")
    return StreamReply(int(recording.response.get("status", 200)), {**recording.response.get("headers", {}), **label},
                       recording.response["events"], state.pace, ending="error" if fault.name == "stream_error" else "cut",
                       recording=recording.name)


def token_estimate(request: Incoming, state: ServerState) -> int:
    """The tokens a request counts against TPM: its recorded usage.total_tokens, or about a third of its size."""
    body = request.body if request.body_error is None else None
    rec = state.index.find_exact(request.method, request.route.api_path, body, request.query)
    usage = None
    if rec is not None:
        if rec.is_stream:
            for event in rec.response["events"]:
                data = event.get("data")
                if isinstance(data, dict):
                    for choice in data.get("choices") or []:
                        usage = choice.get("usage") or usage
        else:
            usage = (rec.response.get("body") or {}).get("usage")
    if usage and isinstance(usage.get("total_tokens"), int):
        return usage["total_tokens"]
    return max(1, len(canonical_json(body)) // 3)


def find_recording(request: Incoming, state: ServerState) -> Recording:
    """The recording for this request, after the checks Kimi makes; a clear 404 when there is none."""
    path, method = request.route.api_path, request.method
    chat = path == "/v1/chat/completions" and method == "POST"
    body = request.json_body(required=method == "POST")
    if chat:
        check_chat_request(body, state.index.models())
    elif path == "/v1/tokenizers/estimate-token-count" and method == "POST":
        if not isinstance(body, dict):
            raise invalid_request("the request body must be a JSON object")
        check_messages(body)
    recording = state.index.find(method, path, body, request.query)
    if recording is not None:
        return recording
    nearest = state.index.nearest(method, path, body)
    if not chat and nearest is None and not _documented(path):
        raise _GatewayNotFound()
    raise miss_error(method, path, nearest)


def _documented(path: str) -> bool:
    return any(path == known or path.startswith(known + "/") for known in DOCUMENTED_ENDPOINTS)


class _GatewayNotFound(Exception):
    """Internal: answer with the gateway's 404, as the real service does for a path it doesn't have."""


MISS_SHOWN = 3  # differences a miss message spells out; the rest are counted
LEARNER_ADVICE = say("To get an answer, undo that change, or switch to live mode to try your own text (your "
                     "MOONSHOT_API_KEY in .env, then restart the kernel: lesson 00).",
                     "要得到回答，就撤销这处改动；或者切换到在线模式，试试你自己的文本（把你的 MOONSHOT_API_KEY "
                     "写进 .env，然后重启内核：见第 00 课）。")
MAINTAINER_ADVICE = say("Course maintainers: `make record`, with a key, records the course's requests anew.",
                        "课程维护者：有 API 密钥时，运行 `make record` 可以重新录制课程的请求。")


def miss_error(method: str, path: str, nearest: Nearest | None) -> KimiError:
    """The 404 `recording_not_found_error` for a request nothing recorded matches: which recording is nearest and
    what differs (the text here and the recorded text side by side), what a learner can do, then what a maintainer
    can. A few hundred characters whatever the request's size, and never a key. Its text is in the language of the
    moment (the server runs in the notebook's process); its type and shape are Kimi's in both.

    Example:
        >>> print(miss_error("GET", "/v1/files", None).message)  # doctest: +ELLIPSIS
        [local replay server] No recording matches this request: there is no recording for GET /v1/files at all. ...
    """
    if nearest is None:
        detail = say(f"there is no recording for {method} {path[:80]} at all.",
                     f"根本没有 {method} {path[:80]} 的录制文件。")
        advice = say("To get an answer, send the request the lesson sends, or switch to live mode (your "
                     "MOONSHOT_API_KEY in .env, then restart the kernel: lesson 00).",
                     "要得到回答，就发送课程里发送的那个请求；或者切换到在线模式（把你的 MOONSHOT_API_KEY 写进 .env，"
                     "然后重启内核：见第 00 课）。")
    else:
        diffs = nearest.differences
        texts = [d.text() for d in diffs[:MISS_SHOWN]]  # each in the language of the moment
        shown = say("; ".join(texts), "；".join(texts))
        if len(diffs) > MISS_SHOWN:
            shown += say(f"; and {len(diffs) - MISS_SHOWN} more", f"；另外还有 {len(diffs) - MISS_SHOWN} 处")
        name = say(f"'{nearest.recording.name}'", f"'{nearest.recording.name}'")
        if nearest.ties:
            more = ", …" if len(nearest.ties) > 3 else ""
            ties = ", ".join(f"'{t}'" for t in nearest.ties[:3]) + more
            name += say(f" (as near: {ties})", f"（同样接近的还有：{ties}）")
        fields = say(f"{len(diffs)} field" + ("s" if len(diffs) != 1 else ""), f"{len(diffs)} 个字段")
        if nearest.sent_messages != nearest.recorded_messages and nearest.recorded_messages is not None:
            name += say(f", with {nearest.recorded_messages} messages ({nearest.sent_messages or 'none'} sent here)",
                        f"，它有 {nearest.recorded_messages} 条消息（这里发送了 {nearest.sent_messages or 0} 条）")
        detail = say(f"the nearest recording is {name.en}, which differs in {fields.en}: {shown.en}.",
                     f"最接近的录制文件是 {name.zh}，两者有 {fields.zh}不同：{shown.zh}。")
        advice = LEARNER_ADVICE
    message = say(f"[local replay server] No recording matches this request: {detail.en} {advice.en} "
                  f"{MAINTAINER_ADVICE.en}",
                  f"[本地回放服务器] 没有与这个请求匹配的录制文件：{detail.zh}{advice.zh}{MAINTAINER_ADVICE.zh}")
    return KimiError(404, "recording_not_found_error", redact_text(str(message)))


def replay(request: Incoming, state: ServerState, timing: float, label: dict[str, str]) -> Reply:
    recording = find_recording(request, state)
    response = recording.response
    headers = {**response.get("headers", {}), **label}
    if recording.is_stream:
        return StreamReply(int(response.get("status", 200)), headers, response["events"], timing,
                           recording=recording.name)
    return JsonReply(int(response["status"]), recording.encoded_body(), headers,
                     delay=float(response.get("elapsed", 0)) * timing, recording=recording.name)


def dispatch(request: Incoming, state: ServerState,
             log_entries: Callable[[], list[dict[str, Any]]] = list, clear_log: Callable[[], None] = lambda: None
             ) -> Reply:
    """The whole server's answer to one request, as a value."""
    route = request.route
    after: list[Callable[[], None]] = []
    try:
        check_http(request)
        refused = refuse_foreign_origin(request, state.port)
        if refused is not None:
            return refused
        if route.kind == "control":
            return control(request, state, log_entries, clear_log)
        if route.kind == "other":
            return gateway_not_found(request)
        fault = fault_mod.parse_fault_spec(route.spec) if route.kind == "simulate" else None
        limiter = state.limiter(route.spec) if route.kind == "limits" else None
        if state.mode == "replay":
            check_auth(request, state.accepted_key)
        label: dict[str, str] = {}
        delay = 0.0
        if fault is not None and state.fault_counter.should_fail(fault):
            reply = fault_reply(fault, request, state)
            if reply is not None:
                return reply
            label, delay = {"X-Simulated-Fault": fault.name}, fault.seconds or 0.0
        timing = state.pace
        if limiter is not None:
            limiter.admit(token_estimate(request, state))
            after.append(limiter.release)
            timing = 1.0 / limiter.scale
        if state.mode != "replay":
            return ForwardReply(route.api_path, delay=delay, label=label, after=after)
        reply = replay(request, state, timing, label)
        reply.delay += delay
        reply.after.extend(after)
        return reply
    except KimiError as err:
        for release in after:
            release()
        return error_reply(err, request)
    except _GatewayNotFound:
        for release in after:
            release()
        return gateway_not_found(request)
