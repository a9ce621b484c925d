"""Record and passthrough mode in front of fake upstreams on 127.0.0.1: forwarding, recording and secrets.

Every test talks to the real server classes with real clients (requests, openai.OpenAI, raw sockets), offline.
What is promised:

1. a flaky upstream (500 or 429 first, then success): every client gets each upstream answer, and exactly one
   recording is written, the successful one;
2. identical concurrent requests (JSON and streams) all get the whole answer and write one recording each;
3. a recording that cannot be saved goes unnoticed by the client; the log notes it; nothing key-like is printed;
4. query strings and non-JSON bodies reach the upstream as sent; multipart is not recorded, a query is, and replays;
5. a temp file left by a killed write is removed when a server loads the folder; a fresh one is kept;
6. no key, account id, cookie or account header reaches a recording, the log, the output or the client;
7. a forwarding server refuses itself as upstream, and a loop of two servers ends at once in a 508;
8. in passthrough mode stream_error and disconnect act on the live stream;
9. repr() and str() of servers, their parts and the Course never show the key.
"""
from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import httpx2
import openai
import pytest
import requests

from helpers import upstream as upstream_module
from helpers.authoring import chat
from helpers.course import Course
from helpers.recordings import write_recording
from helpers.server import KimiServer
from helpers.settings import DEFAULT_BASE_URL, REPLAY_API_KEY, Settings

KEY = "sk-" + uuid.uuid4().hex  # sk- and 32 letters and digits, like a learner's real key
KEY_LIKE = re.compile(r"sk-[A-Za-z0-9]{20,}")
AUTH = {"Authorization": f"Bearer {KEY}"}
UID, GID = f"uid{uuid.uuid4().hex[:16]}", f"gid{uuid.uuid4().hex[:16]}"  # account headers the upstream sends
UPSTREAM_COOKIE = f"upstream{uuid.uuid4().hex[:16]}"  # the upstream's Set-Cookie value
CLIENT_COOKIE = f"client{uuid.uuid4().hex[:16]}"  # the learner's Cookie value
ORG, AK = "org-8f3a2b9c", "ak-f4c9e1d2"
MODEL = "moonshot-v1-8k"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "你好"}], "temperature": 0.3}
STREAM_BODY = {**BODY, "stream": True}


# ---- a fake Kimi -------------------------------------------------------------------------------------------------
@dataclass
class Seen:
    """One request as the fake upstream received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    raw: bytes
    n: int

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None

    def json(self) -> Any:
        try:
            return json.loads(self.raw)
        except ValueError:
            return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeUpstream

    def log_message(self, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        with self.fake.lock:
            n = len(self.fake.seen) + 1
            seen = Seen(self.command, path, query, list(self.headers.items()), raw, n)
            self.fake.seen.append(seen)
        try:
            self.fake.respond(self, seen)
        except (BrokenPipeError, ConnectionResetError):  # the client left (a cut stream)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    # what the fake sends, like the real service: account headers and a cookie on every answer
    def head(self, status: int, content_type: str, headers: dict[str, str] | None = None,
             length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Msh-Request-Id", "0f8c1d2e-0000-11ef-8000-000000000001")
        self.send_header("Msh-Uid", UID)
        self.send_header("Msh-Gid", GID)
        self.send_header("Set-Cookie", f"sid={UPSTREAM_COOKIE}; Path=/; HttpOnly")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.head(status, "application/json; charset=utf-8", headers, len(data))
        self.wfile.write(data)

    def sse(self, blocks: list[bytes], headers: dict[str, str] | None = None, gap: float = 0.0) -> None:
        """Stream raw SSE blocks (each as sent, e.g. b'data: {...}\\n\\n'), one chunk each."""
        self.head(200, "text/event-stream", headers)
        for block in blocks:
            self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            self.wfile.flush()
            if gap:
                time.sleep(gap)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class FakeUpstream:
    """A tiny Kimi on 127.0.0.1; `respond(handler, seen)` answers each request; every request is kept in .seen."""

    def __init__(self, respond: Callable[[_Handler, Seen], None]) -> None:
        self.respond = respond
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})  # many at once
        self.httpd = server_class(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sse_block(data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def chunk(n: int, content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {"id": f"chatcmpl-live{n}", "object": "chat.completion.chunk", "created": 1764000000 + n, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def completion(n: int, content: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-live{n}", "object": "chat.completion", "created": 1764000000 + n, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14}}


def kimi_chat(pieces: list[str], gap: float = 0.0) -> Callable[[_Handler, Seen], None]:
    """A chat endpoint: the answer is `pieces` joined (numbered by the request), streamed when asked."""

    def respond(handler: _Handler, seen: Seen) -> None:
        body = seen.json() or {}
        if body.get("stream"):
            blocks = [sse_block(chunk(seen.n, p)) for p in pieces]
            handler.sse(blocks + [sse_block(chunk(seen.n, None, "stop")), sse_block("[DONE]")], gap=gap)
        else:
            handler.json(200, completion(seen.n, "".join(pieces)))

    return respond


# ---- fixtures and helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def upstreams():
    made: list[FakeUpstream] = []

    def make(respond: Callable[[_Handler, Seen], None]) -> FakeUpstream:
        fake = FakeUpstream(respond)
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.close()


def recording_files(folder: Path) -> list[Path]:
    """The recordings in a folder (hidden temp files included, so a stray one is seen)."""
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def entries(server: KimiServer, count: int) -> list[dict[str, Any]]:
    """The log once `count` entries have their status (it is filled in just after the answer is written)."""
    deadline = time.monotonic() + 2
    while True:
        got = server.log.entries()
        if (len(got) >= count and all("status" in e for e in got)) or time.monotonic() > deadline:
            return got
        time.sleep(0.005)


def sdk(base_url: str, key: str = KEY, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, **{"max_retries": 0, **kwargs})


def sdk_seeing(base_url: str, seen: list[httpx2.Response], **kwargs: Any) -> openai.OpenAI:
    """An SDK client that keeps every response it received (retries included)."""
    http_client = openai.DefaultHttpx2Client(event_hooks={"response": [seen.append]})
    return sdk(base_url, http_client=http_client, **kwargs)


def stream_lines(response: requests.Response) -> list[str]:
    return [line.decode("utf-8") for line in response.iter_lines() if line]  # SSE is UTF-8 whatever the charset


# ---- 1. a flaky upstream ------------------------------------------------------------------------------------------
SERVER_ERROR = {"error": {"message": "invalid state transition", "type": "unexpected_output"}}
RATE_LIMITED = {"error": {"message": "Your account org-course<ak-course> request reached organization max RPM: 3, "
                                     "please try again after 1 seconds", "type": "rate_limit_reached_error"}}


def flaky(failure: str) -> Callable[[_Handler, Seen], None]:
    """The first request for each body fails (500, or 429 with Retry-After: 1); the next ones succeed."""
    failed: set[bytes] = set()

    def respond(handler: _Handler, seen: Seen) -> None:
        if seen.raw not in failed:
            failed.add(seen.raw)
            if failure == "500":
                handler.json(500, SERVER_ERROR)
            else:
                handler.json(429, RATE_LIMITED, {"Retry-After": "1"})
            return
        handler.json(200, completion(seen.n, f"answer #{seen.n}"))

    return respond


@pytest.mark.parametrize("failure", ["500", "429"])
def test_flaky_upstream_sdk_retries_end_with_the_success_which_alone_is_recorded(tmp_path, upstreams, servers,
                                                                                  failure):
    fake = upstreams(flaky(failure))
    server = servers("record", tmp_path, upstream=fake.base_url)
    received: list[httpx2.Response] = []
    answer = sdk_seeing(server.base_url, received, max_retries=2).chat.completions.create(**BODY)

    assert answer.choices[0].message.content == "answer #2"
    assert len(fake.seen) == 2
    assert [r.status_code for r in received] == [int(failure), 200]  # the SDK saw the upstream's failure, then 200
    (path,) = recording_files(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["response"]["status"] == 200
    assert data["response"]["body"]["choices"][0]["message"]["content"] == "answer #2"
    assert [(e["status"], e["recording"]) for e in entries(server, 2)] == [(int(failure), None), (200, path.stem)]


@pytest.mark.parametrize("failure", ["500", "429"])
def test_flaky_upstream_requests_sees_the_failure_then_the_success(tmp_path, upstreams, servers, failure):
    fake = upstreams(flaky(failure))
    server = servers("record", tmp_path, upstream=fake.base_url)
    url = server.base_url + "/chat/completions"

    first = requests.post(url, json=BODY, headers=AUTH, timeout=10)
    assert first.status_code == int(failure)
    assert first.json() == (SERVER_ERROR if failure == "500" else RATE_LIMITED)
    assert recording_files(tmp_path) == []  # a transient failure is never saved

    second = requests.post(url, json=BODY, headers=AUTH, timeout=10)
    assert second.status_code == 200 and second.json()["choices"][0]["message"]["content"] == "answer #2"
    (path,) = recording_files(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["response"]["status"] == 200 and data["response"]["body"] == second.json()

    third = requests.post(url, json=BODY, headers=AUTH, timeout=10)  # forwarded again, the recording kept
    assert third.json()["choices"][0]["message"]["content"] == "answer #3"
    assert recording_files(tmp_path) == [path] and json.loads(path.read_text(encoding="utf-8")) == data


def test_a_429_reaches_every_client_with_the_upstreams_retry_after(tmp_path, upstreams, servers):
    """The upstream's answer is its status, body and the header that says when to retry."""
    fake = upstreams(flaky("429"))
    server = servers("record", tmp_path, upstream=fake.base_url)
    first = requests.post(server.base_url + "/chat/completions", json=BODY, headers=AUTH, timeout=10)
    assert first.status_code == 429 and first.json() == RATE_LIMITED
    received: list[httpx2.Response] = []
    with pytest.raises(openai.RateLimitError):
        sdk_seeing(server.base_url, received).chat.completions.create(**{**BODY, "temperature": 0.4})
    assert len(fake.seen) == 2
    got = {"requests": first.headers.get("Retry-After"), "SDK": received[0].headers.get("retry-after")}
    assert got == {"requests": "1", "SDK": "1"}, (
        f"the upstream sent Retry-After: 1 with its 429; the clients got {got} (requests saw headers "
        f"{dict(first.headers)})")


# ---- 2. identical requests at once -----------------------------------------------------------------------------
def test_twelve_identical_concurrent_requests_write_one_recording_each(tmp_path, upstreams, servers, capfd):
    answer = kimi_chat(["同时", "到达", "的", "回答"])

    def slow(handler: _Handler, seen: Seen) -> None:
        time.sleep(0.1)  # all twelve are in flight together
        answer(handler, seen)

    fake = upstreams(slow)
    server = servers("record", tmp_path, upstream=fake.base_url)
    url = server.base_url + "/chat/completions"
    barrier = threading.Barrier(24)
    results: dict[tuple[str, int], Any] = {}

    def send(kind: str, i: int) -> None:
        barrier.wait()
        try:
            if kind == "json":
                r = requests.post(url, json=BODY, headers=AUTH, timeout=20)
                results[kind, i] = (r.status_code, r.json())
            else:
                with requests.post(url, json=STREAM_BODY, headers=AUTH, timeout=20, stream=True) as r:
                    results[kind, i] = (r.status_code, stream_lines(r))
        except Exception as exc:  # noqa: BLE001 - reported below
            results[kind, i] = (None, repr(exc))

    threads = [threading.Thread(target=send, args=(kind, i)) for kind in ("json", "stream") for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert len(results) == 24
    for (kind, i), (status, got) in sorted(results.items()):
        assert status == 200, f"{kind} #{i}: {status} {got}"
        if kind == "json":
            assert got["choices"][0]["message"]["content"] == "同时到达的回答"
        else:
            assert got[-1] == "data: [DONE]", f"stream #{i} ended with {got[-1:]}"
            contents = [json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in got[:-1]]
            assert "".join(contents) == "同时到达的回答"
    assert len(fake.seen) == 24
    written = recording_files(tmp_path)
    assert len(written) == 2, [p.name for p in written]
    kinds = sorted("events" in json.loads(p.read_text(encoding="utf-8"))["response"] for p in written)
    assert kinds == [False, True]
    logged = entries(server, 24)
    assert [e["status"] for e in logged] == [200] * 24
    assert not [e for e in logged if "record_error" in e]
    assert sum(1 for e in logged if e["recording"]) == 2
    err = capfd.readouterr().err
    assert "FileExistsError" not in err and "not recorded" not in err, err


# ---- 3. saving fails ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_failing_save_is_not_noticed_by_the_client(tmp_path, upstreams, servers, monkeypatch, capfd, stream):
    calls = []

    def disk_full(folder, recording, overwrite=False):
        calls.append(recording.name)
        raise OSError(28, f"No space left on device while saving for {KEY}")

    monkeypatch.setattr(upstream_module, "write_recording", disk_full)  # as imported where it is used
    fake = upstreams(kimi_chat(["存", "不下"]))
    server = servers("record", tmp_path, upstream=fake.base_url)
    url = server.base_url + "/chat/completions"
    if stream:
        with requests.post(url, json=STREAM_BODY, headers=AUTH, timeout=10, stream=True) as r:
            status, lines = r.status_code, stream_lines(r)
        assert status == 200 and lines[-1] == "data: [DONE]"
        assert "".join(json.loads(x[6:])["choices"][0]["delta"].get("content") or "" for x in lines[:-1]) == "存不下"
    else:
        r = requests.post(url, json=BODY, headers=AUTH, timeout=10)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "存不下"
    assert len(calls) == 1  # the save was tried
    assert recording_files(tmp_path) == []
    (entry,) = entries(server, 1)
    assert entry["status"] == 200 and entry["recording"] is None
    assert "OSError" in entry.get("record_error", ""), entry
    out, err = capfd.readouterr()
    assert err.count("not recorded") == 1, err
    for text in (out, err, json.dumps(entry)):
        assert KEY not in text and not KEY_LIKE.search(text), text


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_a_read_only_folder_is_not_noticed_by_the_client(tmp_path, upstreams, servers, capfd):
    folder = tmp_path / "recordings"
    folder.mkdir()
    fake = upstreams(kimi_chat(["只读"]))
    server = servers("record", folder, upstream=fake.base_url)
    folder.chmod(0o555)
    try:
        r = requests.post(server.base_url + "/chat/completions", json=BODY, headers=AUTH, timeout=10)
    finally:
        folder.chmod(0o755)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "只读"
    assert recording_files(folder) == []
    (entry,) = entries(server, 1)
    assert "record_error" in entry, entry
    out, err = capfd.readouterr()
    assert err.count("not recorded") == 1
    assert KEY not in out + err and not KEY_LIKE.search(out + err)


# ---- 4. query strings and non-JSON bodies ----------------------------------------------------------------------------
def files_api(handler: _Handler, seen: Seen) -> None:
    if seen.method == "GET":
        handler.json(200, {"object": "list", "data": [{"id": "file-1", "object": "file", "purpose": "file-extract",
                                                       "query_seen": seen.query}]})
    else:
        handler.json(200, {"id": "file-2", "object": "file", "bytes": len(seen.raw), "purpose": "file-extract",
                           "status": "ok"})


def test_a_query_string_is_forwarded_recorded_and_replayed(tmp_path, upstreams, servers):
    fake = upstreams(files_api)
    recorder = servers("record", tmp_path, upstream=fake.base_url)
    live = requests.get(recorder.base_url + "/files?purpose=file-extract&x=1", headers=AUTH, timeout=10)
    assert live.status_code == 200
    assert (fake.seen[-1].method, fake.seen[-1].path, fake.seen[-1].query) == ("GET", "/v1/files",
                                                                               "purpose=file-extract&x=1")
    (path,) = recording_files(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert '"query"' in text
    data = json.loads(text)
    assert data["request"]["query"] == "purpose=file-extract&x=1" and data["request"]["path"] == "/v1/files"
    (entry,) = entries(recorder, 1)
    assert entry["path"] == "/v1/files?purpose=file-extract&x=1" and entry["recording"] == path.stem

    replayer = servers("replay", tmp_path)
    offline = {"Authorization": f"Bearer {REPLAY_API_KEY}"}
    replayed = requests.get(replayer.base_url + "/files?purpose=file-extract&x=1", headers=offline, timeout=10)
    assert replayed.status_code == 200 and replayed.json() == live.json()
    other = requests.get(replayer.base_url + "/files?purpose=batch", headers=offline, timeout=10)
    assert other.status_code != 200  # the query is part of what is matched
    assert len(fake.seen) == 1  # replay never went upstream


def test_a_query_string_arrives_byte_for_byte_from_a_raw_socket(tmp_path, upstreams, servers):
    fake = upstreams(files_api)
    server = servers("passthrough", tmp_path, upstream=fake.base_url)
    query = "purpose=file-extract&x=1&name=%E4%BD%A0%20b&path=a%2Fb%3Dc&plus=a+b&flag"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET /v1/files?{query} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                     f"Authorization: Bearer {KEY}\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk_ := sock.recv(65536):
            reply += chunk_
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
    assert fake.seen[-1].query == query


def test_a_multipart_upload_is_forwarded_byte_identical_and_not_recorded(tmp_path, upstreams, servers):
    fake = upstreams(files_api)
    server = servers("record", tmp_path, upstream=fake.base_url)
    content = b"%PDF-1.4\n\xff\xfe\x00\x01 binary \r\n--not-the-boundary\r\n\x80\x81 end"
    r = requests.post(server.base_url + "/files", headers=AUTH, timeout=10, data={"purpose": "file-extract"},
                      files={"file": ("notes.pdf", content, "application/pdf")})
    sent_body, sent_type = r.request.body, r.request.headers["Content-Type"]
    assert sent_type.startswith("multipart/form-data; boundary=")
    assert r.status_code == 200, r.text
    assert r.json()["bytes"] == len(sent_body)
    seen = fake.seen[-1]
    assert (seen.method, seen.path) == ("POST", "/v1/files")
    assert seen.raw == sent_body  # byte for byte
    assert seen.header("Content-Type") == sent_type
    assert recording_files(tmp_path) == []
    (entry,) = entries(server, 1)
    assert entry["status"] == 200 and entry["recording"] is None
    assert "not JSON" in entry.get("record_error", ""), entry


# ---- 5. temp files left by a killed write ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["replay", "record", "passthrough"])
def test_a_stale_temp_file_is_removed_and_a_fresh_one_kept(tmp_path, servers, mode):
    write_recording(tmp_path, chat("l99-kept", BODY, "留下"))
    stale, fresh = tmp_path / ".tmp-abc.json", tmp_path / ".tmp-def.json"
    stale.write_text('{"name": "half a wri', encoding="utf-8")
    fresh.write_text('{"name": "being writ', encoding="utf-8")
    long_ago = time.time() - 120
    os.utime(stale, (long_ago, long_ago))
    kwargs = {} if mode == "replay" else {"upstream": "http://127.0.0.1:9/v1"}
    server = servers(mode, tmp_path, **kwargs)
    assert not stale.exists()
    assert fresh.exists()  # another writer may be finishing it
    assert len(server.index) == 1
    assert [p.name for p in recording_files(tmp_path)] == [".tmp-def.json", "l99-kept.json"]


# ---- 6. secrets -------------------------------------------------------------------------------------------------
ACCOUNT_429 = {"error": {"message": f"Your account {ORG}<{AK}> request reached organization max RPM: 3, "
                                    "please try again after 1 seconds", "type": "rate_limit_reached_error"}}
ECHO_HEADERS = {"X-Echo-Key": KEY, "Server-Timing": f"inner; dur=42; desc={KEY}"}


def echoing(handler: _Handler, seen: Seen) -> None:
    """Echoes the key back everywhere it can: JSON bodies, response headers, stream events; a 429 names an account."""
    body = seen.json()
    if body is None:  # not JSON: quoted back in an error
        handler.json(400, {"error": {"message": f"Invalid request: cannot parse {seen.raw.decode(errors='replace')}",
                                     "type": "invalid_request_error"}}, ECHO_HEADERS)
        return
    prompt = body["messages"][-1]["content"]
    if prompt == "rate limit me":
        handler.json(429, ACCOUNT_429, {"Retry-After": "1"})
        return
    echo = f"you said {prompt!r} with {seen.header('Authorization')} and query {seen.query!r}"
    if body.get("stream"):
        blocks = [sse_block(chunk(seen.n, piece)) for piece in (echo[:30], echo[30:], f" again {KEY}")]
        handler.sse(blocks + [sse_block(chunk(seen.n, None, "stop")), sse_block("[DONE]")], ECHO_HEADERS)
    else:
        handler.json(200, completion(seen.n, echo), ECHO_HEADERS)


def received_text(response: requests.Response) -> str:
    head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{head}\n\n{response.content.decode('utf-8', errors='replace')}"


def leaks(where: str, text: str) -> list[str]:
    found = [f"{where}: key-like {m!r}" for m in KEY_LIKE.findall(text)]
    for secret, what in ((KEY, "the key"), (ORG, "the org id"), (AK, "the ak id"), (CLIENT_COOKIE, "the cookie"),
                         (UPSTREAM_COOKIE, "the upstream's cookie"), (UID, "Msh-Uid"), (GID, "Msh-Gid")):
        if secret in text:
            at = text.index(secret)
            found.append(f"{where}: {what} in …{text[max(0, at - 80):at + len(secret) + 20]!r}…")
    return found


def test_no_secret_reaches_disk_the_log_the_output_or_the_client(tmp_path, upstreams, servers, capfd):
    fake = upstreams(echoing)
    server = servers("record", tmp_path, upstream=fake.base_url)
    headers = {**AUTH, "Proxy-Authorization": f"Bearer {KEY}", "Api-Key": KEY, "X-Api-Key": KEY,
               "Cookie": f"session={CLIENT_COOKIE}; key={KEY}"}
    url = f"{server.base_url}/chat/completions?api_key={KEY}"
    secret_prompt = {**BODY, "messages": [{"role": "user", "content": f"my key is {KEY}, keep it safe"}]}
    received: dict[str, str] = {}

    plain = requests.post(url, json=secret_prompt, headers=headers, timeout=10)
    received["requests JSON"] = received_text(plain)
    with requests.post(url, json={**secret_prompt, "stream": True}, headers=headers, timeout=10, stream=True) as r:
        received["requests stream"] = received_text(r)
    limited = requests.post(url, json={**BODY, "messages": [{"role": "user", "content": "rate limit me"}]},
                            headers=headers, timeout=10)
    received["requests 429"] = received_text(limited)
    not_json = requests.post(f"{server.base_url}/files?api_key={KEY}", data=f"key={KEY}".encode(),
                             headers={**headers, "Content-Type": "text/plain"}, timeout=10)
    received["requests non-JSON"] = received_text(not_json)

    client = sdk(server.base_url, default_headers={k: v for k, v in headers.items() if k != "Authorization"},
                 default_query={"api_key": KEY})
    raw = client.chat.completions.with_raw_response.create(**{**secret_prompt, "temperature": 0.4})
    received["SDK JSON"] = "\n".join(f"{k}: {v}" for k, v in raw.headers.items()) + raw.parse().model_dump_json()
    chunks = list(client.chat.completions.create(**{**secret_prompt, "temperature": 0.4, "stream": True}))
    received["SDK stream"] = "".join(c.model_dump_json() for c in chunks)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(**{**BODY, "temperature": 0.4,
                                          "messages": [{"role": "user", "content": "rate limit me"}]})
    received["SDK 429"] = f"{info.value}\n{json.dumps(info.value.body)}\n{dict(info.value.response.headers)}"
    received["GET /_course/requests"] = requests.get(server.url + "/_course/requests", timeout=10).text

    # the key the learner sends in Authorization still reaches the upstream, on every request
    assert len(fake.seen) == 7
    assert [s.header("Authorization") for s in fake.seen] == [f"Bearer {KEY}"] * 7
    # the exchanges happened as meant
    assert plain.status_code == 200 and limited.status_code == 429 and not_json.status_code == 400
    written = recording_files(tmp_path)
    assert len(written) == 4, [p.name for p in written]  # JSON and stream, from requests and from the SDK

    found: list[str] = []
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            found += leaks(f"recording {path.name}", path.read_text(encoding="utf-8", errors="replace"))
    found += leaks("server.log.entries()", json.dumps(server.log.entries(), ensure_ascii=False))
    out, err = capfd.readouterr()
    found += leaks("stdout", out) + leaks("stderr", err)
    for where, text in received.items():
        found += leaks(f"client got ({where})", text)
    assert not found, "secrets leaked:\n" + "\n".join(found)

    # placeholders keep the shape of what they replace
    assert "sk-***" in plain.text and "sk-***" in received["SDK stream"]
    assert "org-course<ak-course>" in limited.json()["error"]["message"]
    assert all("sk-***" in p.read_text(encoding="utf-8") for p in written)
    assert "api_key=***" in json.dumps(server.log.entries())


def test_a_key_in_a_last_stream_event_without_a_blank_line_is_redacted(tmp_path, upstreams, servers):
    def unterminated(handler: _Handler, seen: Seen) -> None:  # the stream ends without the final blank line
        handler.sse([sse_block(chunk(seen.n, "first")), f"data: {json.dumps(chunk(seen.n, KEY))}".encode()])

    fake = upstreams(unterminated)
    server = servers("passthrough", tmp_path, upstream=fake.base_url)
    with requests.post(server.base_url + "/chat/completions", json=STREAM_BODY, headers=AUTH, timeout=10,
                       stream=True) as r:
        text = r.content.decode()
    assert r.status_code == 200 and "first" in text
    assert KEY not in text and not KEY_LIKE.search(text), f"the client got the key in the stream's last event: {text!r}"
    assert len(fake.seen) == 1


# ---- 7. forwarding to itself ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["passthrough", "record"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_forwarding_server_refuses_itself_as_upstream(tmp_path, mode, host):
    port = free_port()
    with pytest.raises(ValueError) as info:
        KimiServer(mode, tmp_path, upstream=f"http://{host}:{port}/v1", port=port, pace=0)
    message = str(info.value)
    assert "KIMI_BASE_URL" in message and DEFAULT_BASE_URL in message, message
    with socket.socket() as sock:  # the refused server let go of its port
        sock.bind(("127.0.0.1", port))


def loop_of_two(tmp_path: Path, servers, placeholder: str) -> tuple[KimiServer, KimiServer]:
    a = servers("passthrough", tmp_path / "a", upstream=placeholder)
    b = servers("passthrough", tmp_path / "b", upstream=a.base_url)
    a.forwarder.upstream = b.base_url.rstrip("/")
    return a, b


@pytest.mark.parametrize("placeholder", ["http://127.0.0.1:9/v1", DEFAULT_BASE_URL], ids=["local", "real-service"])
def test_a_loop_of_two_servers_is_a_508_at_once(tmp_path, servers, placeholder):
    a, b = loop_of_two(tmp_path, servers, placeholder)
    started = time.monotonic()
    try:
        r = requests.post(a.base_url + "/chat/completions", json=BODY, headers=AUTH, timeout=5)
        status, body = r.status_code, r.json()
    except requests.RequestException as exc:
        status, body = None, repr(exc)
    took = time.monotonic() - started
    hits = len(a.log.entries()) + len(b.log.entries())
    assert status == 508, (f"got {status} {body!r} after {took:.1f} s; the loop made {len(a.log.entries())} "
                           f"requests to A and {len(b.log.entries())} to B")
    assert took < 3
    assert body["error"]["type"] == "server_error" and set(body["error"]) == {"message", "type"}
    assert "KIMI_BASE_URL" in body["error"]["message"]
    assert hits <= 4, f"{hits} requests for one"
    with pytest.raises(openai.APIStatusError) as info:  # the SDK too
        sdk(a.base_url).chat.completions.create(**BODY)
    assert info.value.status_code == 508


# ---- 8. faults on the live stream -----------------------------------------------------------------------------
LIVE_PIECES = [f"live{i} " for i in range(10)]
RECORDED_PROMPT = {**STREAM_BODY, "messages": [{"role": "user", "content": "recorded prompt"}]}
UNRECORDED_PROMPT = {**STREAM_BODY, "messages": [{"role": "user", "content": "never recorded"}]}


@pytest.fixture
def live(tmp_path, upstreams, servers):
    write_recording(tmp_path, chat("l99-recorded-stream", RECORDED_PROMPT, "RECORDED ANSWER"))
    fake = upstreams(kimi_chat(LIVE_PIECES, gap=0.01))
    server = servers("passthrough", tmp_path, upstream=fake.base_url)
    assert len(server.index) == 1
    return fake, server


@pytest.mark.parametrize("prompt", [RECORDED_PROMPT, UNRECORDED_PROMPT], ids=["recorded", "unrecorded"])
def test_stream_error_acts_on_the_live_stream(live, prompt):
    fake, server = live
    got: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for c in sdk(f"{server.url}/simulate/stream_error/v1").chat.completions.create(**prompt):
            got.append(c.choices[0].delta.content or "")
    assert type(info.value) is openai.APIError, f"{type(info.value).__name__}: {info.value}"
    assert set(info.value.body) == {"message", "type"}, info.value.body
    assert 1 <= len(got) < len(LIVE_PIECES) and all(g.startswith("live") for g in got), got
    assert len(fake.seen) == 1

    with requests.post(f"{server.url}/simulate/stream_error/v1/chat/completions", json=prompt, headers=AUTH,
                       timeout=10, stream=True) as r:
        lines = stream_lines(r)
        assert r.status_code == 200 and r.headers["X-Simulated-Fault"] == "stream_error"
    datas = [json.loads(line[6:]) for line in lines]
    assert 1 <= len(datas) - 1 < len(LIVE_PIECES)
    assert all("live" in d["choices"][0]["delta"]["content"] for d in datas[:-1])
    last = datas[-1]
    assert set(last) == {"error"} and set(last["error"]) == {"message", "type"}, last
    assert "RECORDED ANSWER" not in json.dumps(datas)


@pytest.mark.parametrize("prompt", [RECORDED_PROMPT, UNRECORDED_PROMPT], ids=["recorded", "unrecorded"])
def test_disconnect_breaks_the_live_stream(live, prompt):
    fake, server = live
    got: list[str] = []
    with pytest.raises((openai.APIConnectionError, httpx2.TransportError)) as info:
        for c in sdk(f"{server.url}/simulate/disconnect/v1").chat.completions.create(**prompt):
            got.append(c.choices[0].delta.content or "")
    assert 1 <= len(got) < len(LIVE_PIECES) and all(g.startswith("live") for g in got), (got, info.value)
    assert len(fake.seen) == 1

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.post(f"{server.url}/simulate/disconnect/v1/chat/completions", json=prompt, headers=AUTH,
                           timeout=10, stream=True) as r:
            assert r.headers["X-Simulated-Fault"] == "disconnect"
            for _ in r.iter_lines():
                pass


def test_stream_error_without_stream_is_a_400(live):
    fake, server = live
    r = requests.post(f"{server.url}/simulate/stream_error/v1/chat/completions", json=BODY, headers=AUTH, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert "stream" in r.json()["error"]["message"]
    assert fake.seen == []


# ---- 9. repr and str ----------------------------------------------------------------------------------------------
def test_repr_and_str_never_show_the_key(tmp_path, upstreams, servers):
    fake = upstreams(echoing)
    shown: dict[str, str] = {}
    for mode in ("replay", "record", "passthrough"):
        kwargs = {} if mode == "replay" else {"upstream": fake.base_url}
        server = servers(mode, tmp_path / mode, accepted_key=KEY, **kwargs)
        secret_prompt = {**BODY, "messages": [{"role": "user", "content": f"my key is {KEY}"}]}
        r = requests.post(server.base_url + "/chat/completions", json=secret_prompt, headers=AUTH, timeout=10)
        assert r.status_code == (404 if mode == "replay" else 200), r.text  # replay: the key was accepted, no match
        parts = {"server": server, "state": server.state, "recorder": server.recorder, "forwarder": server.forwarder,
                 "index": server.index}
        for name, obj in parts.items():
            if obj is not None:
                shown[f"repr({mode} {name})"], shown[f"str({mode} {name})"] = repr(obj), str(obj)
        for course_mode in ("live", "record"):
            settings = Settings(course_mode, KEY, DEFAULT_BASE_URL, MODEL, recordings_dir=tmp_path / mode)
            course = Course(settings, server.base_url, KEY, server)
            shown[f"repr(Course {course_mode} on {mode})"], shown[f"str(Course {course_mode} on {mode})"] = \
                repr(course), str(course)
    assert len(fake.seen) == 2
    assert any("recorder" in k for k in shown) and any("forwarder" in k for k in shown)
    found = [f"{where}: {text[:300]}" for where, text in shown.items() if KEY in text or KEY_LIKE.search(text)]
    assert not found, "\n".join(found)
    assert "<set, hidden>" in shown["repr(Course live on record)"]
