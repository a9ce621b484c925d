"""Forwarding and recording: the local server in front of the real service (record and passthrough mode).

A request is forwarded as it was sent (method, path, query string, body bytes, headers but the hop-by-hop ones),
and the answer comes back to the client as the service sent it, a stream relayed event by event. In record mode
the exchange is also saved as a recording, under these rules (plain functions, tested without a network):

- only answers that will be the same next time are saved: not 401/403 (a refused key), not 429 or 5xx (a retry
  may succeed, and the success is what should be kept); a later successful answer is saved instead;
- one recording per request per run: twelve identical requests at once write one file;
- an existing recording is replaced only when overwriting was asked for (KIMI_RECORD_OVERWRITE=1);
- only JSON bodies (or none) are saved; a multipart upload is forwarded but not recorded;
- keys, account ids and secret headers are removed wherever they appear, before anything is written;
- saving can fail (a full disk, a read-only folder): the client still gets its answer, and the problem is
  noted in the request log and printed once, redacted.

Example:
    >>> should_record(200), should_record(400), should_record(429), should_record(503), should_record(401)
    (True, True, False, False, False)
"""
from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from .recordings import Recording, RecordingIndex, recording_filename, redact_exchange, scrub_headers, write_recording
from .redact import redact_text
from .settings import is_local_url
from .wire import KimiError

HOP_BY_HOP = frozenset({"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive",
                        "te", "trailer", "upgrade", "proxy-connection", "proxy-authorization"})
HOP_HEADER = "X-Kimi-Course-Hops"  # ids of the course servers a request passed; a server seeing its own is in a loop
MAX_UPSTREAM_BYTES = 64 * 1024 * 1024
CUT_AFTER_EVENTS = 3  # a live stream with a stream_error or disconnect fault stops after this many events


def should_record(status: int) -> bool:
    """Whether an answer with this status is worth keeping as a recording."""
    return status not in (401, 403, 429) and status < 500


def upstream_url(upstream: str, api_path: str, query: str) -> str:
    """The real service's URL for a /v1/... path.

    Example:
        >>> upstream_url("https://api.moonshot.cn/v1", "/v1/files", "purpose=file-extract")
        'https://api.moonshot.cn/v1/files?purpose=file-extract'
    """
    url = upstream.rstrip("/") + api_path[len("/v1"):]
    return f"{url}?{query}" if query else url


def hops(headers: tuple[tuple[str, str], ...]) -> list[str]:
    """The course servers this request has already passed through."""
    return [hop.strip() for name, value in headers if name.lower() == HOP_HEADER.lower()
            for hop in value.split(",") if hop.strip()]


def forwarded_headers(headers: tuple[tuple[str, str], ...], hop_id: str | None) -> list[tuple[str, str]]:
    """The client's headers as they go upstream: hop-by-hop ones dropped, no compression asked for.

    `hop_id` (given only when the upstream is another local server) is added to the list of servers passed.
    """
    kept = [(name, value) for name, value in headers
            if name.lower() not in HOP_BY_HOP and name.lower() != HOP_HEADER.lower()]
    kept.append(("Accept-Encoding", "identity"))
    if hop_id is not None:
        kept.append((HOP_HEADER, ", ".join([*hops(headers), hop_id])))
    return kept


def self_forwarding_problem(upstream: str, own_port: int) -> str | None:
    """Why forwarding to `upstream` would reach this same server, or None."""
    if not is_local_url(upstream):
        return None
    host = upstream.split("//", 1)[-1].split("/", 1)[0]
    port_text = host.rsplit(":", 1)[1] if ":" in host.replace("[::1]", "") else ("443" if upstream.startswith("https")
                                                                                 else "80")
    if port_text.isdigit() and int(port_text) == own_port:
        return (f"the upstream {upstream} is this server itself, so every request would be forwarded to itself. "
                "Set KIMI_BASE_URL to the real service (https://api.moonshot.cn/v1, or https://api.moonshot.ai/v1 "
                "for keys from platform.moonshot.ai), or unset it.")
    return None


def parse_sse_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Split received bytes into complete SSE blocks (each ending in a blank line) and the unfinished rest."""
    buffer = buffer.replace(b"\r\n", b"\n")
    *blocks, rest = buffer.split(b"\n\n")
    return [block + b"\n\n" for block in blocks], rest


def event_data(block: bytes) -> Any:
    """The data of one SSE block: parsed JSON, a plain string such as [DONE], or None for a comment-only block."""
    lines = [ln[5:].lstrip() for ln in block.decode("utf-8", errors="replace").split("\n") if ln.startswith("data:")]
    if not lines:
        return None
    text = "\n".join(lines)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass
class Recorder:
    """Saves exchanges into a folder under the rules above; safe to call from many threads."""

    index: RecordingIndex
    upstream: str
    overwrite: bool = False
    saved_keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def save(self, method: str, api_path: str, query: str, body: Any, response: dict[str, Any]) -> str | None:
        """Write one recording, or skip it; returns the name written, or None. Raises OSError if writing fails."""
        request = {"method": method, "path": api_path, "body": body}
        if query:
            request["query"] = query
        request, response = redact_exchange(request, response)
        recording = Recording("", {}, request, response)
        with self.lock:
            if recording.key in self.saved_keys:
                return None
            existing = self.index.find_exact(method, api_path, request.get("body"), request.get("query", ""))
            if existing is not None and not self.overwrite:
                return None
            name = existing.name if existing else recording_filename(method, api_path, request.get("body"),
                                                                      request.get("query", ""))[: -len(".json")]
            host = self.upstream.split("//", 1)[-1].split("/", 1)[0]
            recording.name = name
            recording.source = {"kind": "recorded", "host": host,
                                "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "note": "recorded live through the local server in record mode; "
                                        "secrets and account headers removed"}
            write_recording(self.index.folder, recording, overwrite=existing is not None)
            self.saved_keys.add(recording.key)
            self.index.replace(recording)
            return name


def report_save_problem(exc: BaseException, what: str) -> str:
    """Say once, on stderr and redacted, that a recording could not be saved; returns the text for the log."""
    text = redact_text(f"[local course server] the answer to {what} was passed on but not recorded: "
                       f"{exc.__class__.__name__}: {exc}")
    print(text, file=sys.stderr)
    return text


class Forwarder:
    """The HTTP client side: one httpx2.AsyncClient per server, made in the server's event loop."""

    def __init__(self, upstream: str, hop_id: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hop_id = hop_id  # sent only to a local upstream (another course server), never to the real service
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import httpx2  # the openai SDK's own HTTP stack; only needed with an upstream

            self._client = httpx2.AsyncClient(timeout=httpx2.Timeout(600.0, connect=10.0), follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def open(self, method: str, api_path: str, query: str, headers: tuple[tuple[str, str], ...],
                   raw: bytes) -> Any:
        """Send the request; returns the upstream response with its body not yet read (close it when done)."""
        client = self.client()
        request = client.build_request(method, upstream_url(self.upstream, api_path, query),
                                       headers=forwarded_headers(headers, self.hop_id if is_local_url(self.upstream)
                                                                 else None), content=raw or None)
        try:
            return await client.send(request, stream=True)
        except Exception as exc:  # connection refused, DNS, TLS, timeout: the client gets a clear 502
            host = self.upstream.split("//", 1)[-1].split("/", 1)[0]
            raise KimiError(502, "server_error",
                            f"[local server] could not reach {host}: {exc.__class__.__name__}") from None


async def read_limited(response: Any, limit: int = MAX_UPSTREAM_BYTES) -> bytes:
    data = bytearray()
    async for piece in response.aiter_raw():
        data += piece
        if len(data) > limit:
            raise KimiError(502, "server_error", f"[local server] the upstream answer is larger than {limit} bytes")
    return bytes(data)


def redact_bytes(data: bytes) -> bytes:
    """`redact_text` for bytes on their way to the client (untouched unless something needs redacting)."""
    if b"sk-" in data or b"org-" in data or b"ak-" in data:
        return redact_text(data.decode("utf-8", errors="replace")).encode("utf-8")
    return data


async def relay_events(response: Any) -> AsyncIterator[bytes]:
    """The upstream stream as complete SSE blocks, key-like strings and account ids redacted."""
    buffer = b""
    async for piece in response.aiter_raw():
        blocks, buffer = parse_sse_events(buffer + piece)
        for block in blocks:
            yield redact_bytes(block)
    if buffer.strip():
        yield redact_bytes(buffer + b"\n\n")


def response_record(status: int, headers: dict[str, str], body: bytes | None, events: list[dict[str, Any]] | None,
                    elapsed: float) -> dict[str, Any]:
    """The response part of a recording."""
    kept = scrub_headers(headers)
    if events is not None:
        return {"status": status, "headers": kept, "events": events}
    assert body is not None
    try:
        parsed: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        parsed = body.decode("utf-8", errors="replace")
    return {"status": status, "headers": kept, "elapsed": round(elapsed, 3), "body": parsed}


def client_headers(headers: dict[str, str]) -> dict[str, str]:
    """The upstream's headers as the client gets them: those a recording keeps (so record and replay look alike).

    Example:
        >>> client_headers({"Retry-After": "1", "Set-Cookie": "sid=1", "Msh-Uid": "u", "CF-RAY": "8f0"})
        {'Retry-After': '1'}
    """
    return scrub_headers(headers)


async def in_thread(function: Any, *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)
