"""The local server: a small HTTP server on 127.0.0.1 that speaks Kimi's wire format.

Modes:
    replay       answer from recordings/ (no key, no internet)
    record       forward to the real service and save what comes back as new recordings
    passthrough  forward without saving (used in live mode for simulated faults and the request log)

Besides the API (/v1/...), it serves:
    /simulate/<fault>/v1/...   scripted faults (see helpers.faults)
    /limits/<tier>/v1/...      a published rate-limit tier enforced (see helpers.limits)
    /_course/requests          the log of requests received (GET; DELETE clears it)
    /_course/reset             forget fault counters and limiter state (POST)

Example:
    >>> from helpers.server import KimiServer
    >>> server = KimiServer(mode="replay").start()
    >>> server.base_url.startswith("http://127.0.0.1:")
    True
    >>> server.stop()
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import faults as fault_mod
from .limits import RateLimiter, parse_limits_spec
from .recordings import Recording, RecordingIndex, canonical_json, recording_filename, scrub_headers, write_recording
from .settings import DEFAULT_BASE_URL, RECORDINGS_DIR, REPLAY_API_KEY
from .wire import (JSON_CONTENT_TYPE, SSE_CONTENT_TYPE, KimiError, check_chat_request, check_messages,
                   invalid_request, parse_bearer, parse_json_body, request_id_for)

MAX_BODY_BYTES = 8 * 1024 * 1024
LOG_LIMIT = 2000
SERVER_MODES = ("replay", "record", "passthrough")
# Kimi's gateway answer for a path that is not part of the API.
NOT_FOUND_BODY = {"code": 5, "error": "url.not_found", "message": "没找到对象", "scode": "0x5", "status": False}


class RequestLog:
    """What the server received: method, path, headers (secrets masked) and body, in order."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._next = 1

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry["n"] = self._next
            self._next += 1
            self._entries.append(entry)
            del self._entries[:-LOG_LIMIT]
        return entry

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def mask_headers(headers) -> dict[str, str]:
    """Request headers as sent, with the key replaced: 'Bearer sk-…' becomes 'Bearer ***'."""
    out = {}
    for name, value in headers.items():
        low = name.lower()
        if low == "authorization":
            scheme = value.strip().split(" ", 1)[0] if value.strip() else ""
            out[name] = f"{scheme} ***".strip() if " " in value.strip() else "***"
        elif low in ("cookie", "x-api-key"):
            out[name] = "***"
        else:
            out[name] = value
    return out


class _Reply(Exception):
    """Internal: stop handling and send this status/body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


class KimiServer:
    """The local Kimi-compatible server. Start it, use .base_url, stop it when done."""

    def __init__(self, mode: str = "replay", recordings_dir: Path = RECORDINGS_DIR, upstream: str = DEFAULT_BASE_URL,
                 accepted_key: str = REPLAY_API_KEY, pace: float = 0.0, overwrite: bool = False,
                 host: str = "127.0.0.1", port: int = 0):
        if mode not in SERVER_MODES:
            raise ValueError(f"mode must be one of {SERVER_MODES}, not {mode!r}")
        self.mode, self.upstream, self.accepted_key = mode, upstream.rstrip("/"), accepted_key
        self.pace, self.overwrite = pace, overwrite
        self.recordings_dir = Path(recordings_dir)
        self.index = RecordingIndex.load(self.recordings_dir)
        self.log = RequestLog()
        self.fault_counter = fault_mod.FaultCounter()
        self.limiters: dict[str, RateLimiter] = {}
        self._limiters_lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.kimi = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL clients use, like https://api.moonshot.cn/v1."""
        return f"{self.url}/v1"

    def start(self) -> "KimiServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kimi-local-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        self.fault_counter.reset()
        self.index.reset()
        with self._limiters_lock:
            self.limiters.clear()

    def limiter(self, spec_text: str) -> RateLimiter:
        spec = parse_limits_spec(spec_text)
        with self._limiters_lock:
            if spec_text not in self.limiters:
                self.limiters[spec_text] = RateLimiter(spec)
            return self.limiters[spec_text]

    @property
    def known_models(self) -> list[str]:
        return self.index.models()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    kimi: KimiServer

    def handle_error(self, request, client_address) -> None:  # a client that vanished is not news
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle's algorithm the body then waits for the client's
    # delayed ACK, adding ~40 ms to every answer (and to every stream event). TCP_NODELAY sends at once.
    disable_nagle_algorithm = True

    # Always answer with a status line and headers: http.server answers "HTTP/0.9" (its default for a garbled
    # request line, or a line that claims it) with a bare body, which no client can tell from an answer.
    @property
    def request_version(self) -> str:
        return self._request_version

    @request_version.setter
    def request_version(self, value: str) -> None:
        self._request_version = "HTTP/1.0" if value == "HTTP/0.9" else value

    def version_string(self) -> str:  # an honest Server header: this is not Kimi's gateway
        return "kimi-course-local"
    timeout = 60  # a client that sends half a request is dropped, not waited on forever

    # ---- plumbing -------------------------------------------------------------------------
    @property
    def kimi(self) -> KimiServer:
        return self.server.kimi  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # keep notebook output clean
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, huge headers): answer in Kimi's error shape, not HTML."""
        try:
            body = KimiError(code, "invalid_request_error", f"Invalid request: {message or 'malformed HTTP request'}").body()
            self._send_json(code, body, {}, close=True)
        except OSError:
            pass

    def _send_json(self, status: int, body: Any, headers: dict[str, str], close: bool = False) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        merged = {"Content-Type": JSON_CONTENT_TYPE, **headers}
        for name, value in merged.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._status = status

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    token = line.split(b";")[0].strip()
                    if not token or token.strip(b"0123456789abcdefABCDEF"):  # hex digits only: no "-5", "0x5"
                        raise ValueError(token)
                    size = int(token, 16)
                except ValueError:
                    raise _Reply(400, invalid_request("bad chunked encoding").body(), {"Connection": "close"}) from None
                if size == 0:
                    self.rfile.readline(1024)
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise _Reply(413, invalid_request("the request body is too large").body(), {"Connection": "close"})
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        if len(set(self.headers.get_all("Content-Length") or [])) > 1:
            raise _Reply(400, invalid_request("conflicting Content-Length headers").body(), {"Connection": "close"})
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _Reply(400, invalid_request("Content-Length is not a number").body(), {"Connection": "close"}) from None
        if length < 0:
            raise _Reply(400, invalid_request("Content-Length is negative").body(), {"Connection": "close"})
        if length > MAX_BODY_BYTES:
            raise _Reply(413, invalid_request("the request body is too large").body(), {"Connection": "close"})
        return self.rfile.read(length)

    # ---- entry points -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        started = time.monotonic()
        self._status = 0
        self._fault_label: dict[str, str] = {}
        self._entry: dict[str, Any] | None = None
        try:
            raw = self._read_body()
            self._route(raw, started)
        except _Reply as reply:
            self._safe_send(reply.status, reply.body, reply.headers)
        except KimiError as err:
            self._safe_send(err.status, err.body(), {"Msh-Request-Id": request_id_for(self.path + err.message)})
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except Exception as exc:  # never a traceback to the client: a well-formed 500 instead
            body = KimiError(500, "server_error", f"local course server error: {exc.__class__.__name__}: {exc}").body()
            self._safe_send(500, body, {"Connection": "close"})  # the rest of the request may be unread
        finally:
            if self._entry is not None:
                self._entry["status"] = self._status
                self._entry["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)

    def _safe_send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if self._status:  # headers already went out (a stream): nothing more can be said
            self.close_connection = True
            return
        try:
            close = headers.pop("Connection", "") == "close"
            self._send_json(status, body, headers, close=close)
        except OSError:
            self.close_connection = True

    # ---- routing ----------------------------------------------------------------------------
    def _route(self, raw: bytes, started: float) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/_course/"):
            self._control(path)
            return
        fault = limits = None
        parts = path.split("/")
        if len(parts) > 2 and parts[1] == "simulate":
            fault = fault_mod.parse_fault_spec(parts[2])
            path = "/" + "/".join(parts[3:])
        elif len(parts) > 2 and parts[1] == "limits":
            limits = self.kimi.limiter(parts[2])
            path = "/" + "/".join(parts[3:])
        body_text = raw.decode("utf-8", errors="replace")
        try:
            logged_body: Any = json.loads(body_text) if body_text.strip() else None
        except (json.JSONDecodeError, RecursionError):  # RecursionError: JSON nested too deep
            logged_body = body_text
        self._entry = self.kimi.log.add({
            "method": self.command, "path": self.path, "headers": mask_headers(self.headers),
            "body": logged_body, "simulated": fault.name if fault else None, "recording": None,
        })
        if not path.startswith("/v1/"):
            raise _Reply(404, {**NOT_FOUND_BODY, "method": self.command})
        if self.kimi.mode == "replay":
            self._check_auth()
        if fault is not None and self.kimi.fault_counter.should_fail(fault):
            if self._apply_fault(fault, path, raw):
                return
        if limits is not None:
            body = parse_json_body(raw) if raw.strip() else None
            tokens = self._token_estimate(path, body)
            limits.admit(tokens)
            try:
                self._serve(path, raw, timing=1.0 / limits.scale)
            finally:
                limits.release()
            return
        self._serve(path, raw, timing=self.kimi.pace)

    def _control(self, path: str) -> None:
        if path == "/_course/requests" and self.command == "GET":
            self._send_json(200, {"requests": self.kimi.log.entries()}, {})
        elif path == "/_course/requests" and self.command == "DELETE":
            self.kimi.log.clear()
            self._send_json(200, {"cleared": True}, {})
        elif path == "/_course/reset" and self.command == "POST":
            self.kimi.reset()
            self._send_json(200, {"reset": True}, {})
        elif path == "/_course/health":
            self._send_json(200, {"ok": True, "mode": self.kimi.mode, "recordings": len(self.kimi.index)}, {})
        elif path == "/_course/limits":
            self._send_json(200, {k: v.stats() for k, v in self.kimi.limiters.items()}, {})
        else:
            raise _Reply(404, {**NOT_FOUND_BODY, "method": self.command})

    def _check_auth(self) -> None:
        key = parse_bearer(self.headers.get("Authorization"))
        if key != self.kimi.accepted_key:
            raise KimiError(401, "invalid_authentication_error", "Invalid Authentication")

    # ---- faults -------------------------------------------------------------------------------
    def _apply_fault(self, fault: fault_mod.FaultSpec, path: str, raw: bytes) -> bool:
        """Act out a fault. Returns True when the answer has been sent (or deliberately not sent)."""
        label = {"X-Simulated-Fault": fault.name}
        if fault.name in fault_mod.STATUS_FAULTS:
            err = fault_mod.fault_error(fault.name)
            raise _Reply(err.status, err.body(), {**label, "Msh-Request-Id": request_id_for(fault.spec + path)})
        if fault.name == "slow":
            time.sleep(fault.seconds or 0)
            self._fault_label = label
            return False
        body = parse_json_body(raw) if raw.strip() else None
        streaming = isinstance(body, dict) and body.get("stream") is True
        if fault.name == "disconnect" and not streaming:
            self.close_connection = True
            self._status = -1  # nothing was sent: the client sees the connection close
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        # stream_error, or disconnect during a stream: play the first half of a recorded stream
        recording = self._find_recording(path, raw, chat=True)
        if not recording.is_stream:
            raise invalid_request(f"the {fault.name} fault needs a streaming request (stream: true)")
        events = recording.response["events"]
        content_events = [e for e in events if e.get("data") != "[DONE]"]
        cut = max(1, len(content_events) // 2)
        self._start_stream(recording.response, label)
        self._play_events(content_events[:cut], self.kimi.pace)
        if fault.name == "stream_error":
            err = fault_mod.fault_error("overloaded")
            self._write_event(err.body())
            self._end_stream()
        else:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return True

    # ---- serving ------------------------------------------------------------------------------
    def _token_estimate(self, path: str, body: Any) -> int:
        rec = self.kimi.index.find_exact(self.command, path, body)
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

    def _serve(self, path: str, raw: bytes, timing: float) -> None:
        if self.kimi.mode == "replay":
            chat = path == "/v1/chat/completions" and self.command == "POST"
            recording = self._find_recording(path, raw, chat=chat)
            self._replay(recording, timing)
        else:
            self._forward(path, raw)

    def _find_recording(self, path: str, raw: bytes, chat: bool) -> Recording:
        body = parse_json_body(raw) if (raw.strip() or self.command == "POST") else None
        if chat:
            check_chat_request(body, self.kimi.known_models)
        elif path == "/v1/tokenizers/estimate-token-count" and self.command == "POST":
            if not isinstance(body, dict):
                raise invalid_request("the request body must be a JSON object")
            check_messages(body)
        recording = self.kimi.index.find(self.command, path, body)
        if recording is not None:
            if self._entry is not None:
                self._entry["recording"] = recording.name
            return recording
        if not chat and self.kimi.index.nearest(self.command, path, body)[0] is None and path not in (
                "/v1/tokenizers/estimate-token-count", "/v1/models", "/v1/users/me/balance"):
            raise _Reply(404, {**NOT_FOUND_BODY, "method": self.command})
        raise self._miss(path, body)

    def _miss(self, path: str, body: Any) -> KimiError:
        nearest, diffs = self.kimi.index.nearest(self.command, path, body)
        hint = "Record it with a key (make record), or send one of the recorded requests."
        if nearest is None:
            detail = f"there is no recording for {self.command} {path} at all."
        else:
            shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
            detail = f"the nearest recording is '{nearest.name}', which differs in: {shown}."
        return KimiError(404, "recording_not_found_error",
                         f"[local replay server] No recording matches this request: {detail} {hint}")

    def _replay(self, recording: Recording, timing: float) -> None:
        response = recording.response
        if recording.is_stream:
            self._start_stream(response, self._fault_label)
            self._play_events(response["events"], timing)
            self._end_stream()
            return
        delay = float(response.get("elapsed", 0)) * timing
        if delay > 0:
            time.sleep(delay)
        headers = {**response.get("headers", {}), **self._fault_label}
        self._send_json(int(response["status"]), response.get("body"), headers)

    def _start_stream(self, response: dict[str, Any], extra: dict[str, str]) -> None:
        self.send_response(int(response.get("status", 200)))
        headers = {"Content-Type": SSE_CONTENT_TYPE, **response.get("headers", {}), **extra}
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._status = int(response.get("status", 200))

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _write_event(self, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        self._write_chunk(f"data: {text}\n\n".encode("utf-8"))

    def _play_events(self, events: list[dict[str, Any]], timing: float) -> None:
        previous = 0.0
        for event in events:
            at = float(event.get("at", previous))
            if timing > 0 and at > previous:
                time.sleep((at - previous) * timing)
            previous = max(previous, at)
            self._write_event(event["data"])

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # ---- record / passthrough -----------------------------------------------------------------
    def _forward(self, path: str, raw: bytes) -> None:
        import requests  # only needed with a real upstream

        url = self.kimi.upstream + path[len("/v1"):]
        skip = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        headers["Accept-Encoding"] = "identity"
        started = time.monotonic()
        try:
            upstream = requests.request(self.command, url, data=raw or None, headers=headers, stream=True, timeout=(10, 600))
        except requests.RequestException as exc:
            raise KimiError(502, "server_error", f"[local server] could not reach {self.kimi.upstream}: {exc.__class__.__name__}") from None
        with upstream:
            content_type = upstream.headers.get("Content-Type", "")
            kept = scrub_headers(dict(upstream.headers))
            if content_type.startswith(SSE_CONTENT_TYPE):
                events, held = self._relay_stream(upstream, kept, started)
                response: dict[str, Any] = {"status": upstream.status_code, "headers": kept, "events": events}
            else:
                data = upstream.content
                elapsed = round(time.monotonic() - started, 3)
                try:
                    parsed: Any = json.loads(data.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    parsed = data.decode("utf-8", errors="replace")
                response = {"status": upstream.status_code, "headers": kept, "elapsed": elapsed, "body": parsed}
        # Save before the client has the whole answer, so a recording exists once the call returns.
        if self.kimi.mode == "record" and upstream.status_code not in (401, 403):
            self._save(path, raw, response)
        if "events" in response:
            if held:
                self._write_chunk(held)
            self._end_stream()
        else:
            self._send_json(upstream.status_code, response["body"], kept)

    def _relay_stream(self, upstream, kept: dict[str, str], started: float) -> tuple[list[dict[str, Any]], bytes]:
        """Relay the stream as it comes; returns its events and the held-back end ([DONE]), which the caller
        sends (with the stream's end) once the recording is saved."""
        self._start_stream({"status": upstream.status_code, "headers": kept}, {})
        events, buffer, held = [], b"", b""
        for piece in upstream.iter_content(chunk_size=None):
            if not piece:
                continue
            if held or b"data: [DONE]" in piece:
                held += piece
            else:
                self._write_chunk(piece)
            buffer += piece.replace(b"\r\n", b"\n")
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                lines = [ln[5:].lstrip() for ln in block.decode("utf-8").split("\n") if ln.startswith("data:")]
                if not lines:
                    continue
                text = "\n".join(lines)
                try:
                    data: Any = json.loads(text)
                except json.JSONDecodeError:
                    data = text
                events.append({"at": round(time.monotonic() - started, 3), "data": data})
        return events, held

    def _save(self, path: str, raw: bytes, response: dict[str, Any]) -> None:
        """Save what the real service answered. A request already recorded keeps its name and
        is replaced only when overwriting was asked for (KIMI_RECORD_OVERWRITE=1)."""
        body = json.loads(raw) if raw.strip() else None
        existing = self.kimi.index.find_exact(self.command, path, body)
        if existing is not None and not self.kimi.overwrite:
            return
        name = existing.name if existing else recording_filename(self.command, path, body)[: -len(".json")]
        host = self.kimi.upstream.split("//", 1)[-1].split("/", 1)[0]
        source = {"kind": "recorded", "host": host, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "note": "recorded live through the local server in record mode; secrets and account headers removed"}
        recording = Recording(name, source, {"method": self.command, "path": path, "body": body}, response)
        write_recording(self.kimi.recordings_dir, recording, overwrite=existing is not None)
        self.kimi.index.replace(recording)
