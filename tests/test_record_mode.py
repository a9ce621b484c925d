"""Record and passthrough mode against a fake upstream started here: a tiny http.server on 127.0.0.1 that answers
like Kimi (JSON and SSE) and, like the real service, sends account headers (Msh-Uid, Msh-Gid) and a cookie.

What is promised: recordings are written without Authorization, account headers or cookies; the key appears
nowhere in the written files; files are written atomically; an existing recording is never replaced unless
overwriting was asked for; a recorded exchange replays identically; passthrough forwards without writing."""
from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest
import requests

from helpers import recordings as rec_mod
from helpers.authoring import chat
from helpers.recordings import write_recording
from helpers.server import KimiServer
from helpers.settings import REPLAY_API_KEY

SECRET_KEY = f"test-upstream-key-{uuid.uuid4().hex}"  # what a learner's real key would be; never written anywhere
UID, GID, COOKIE = f"uid-{uuid.uuid4().hex[:12]}", f"gid-{uuid.uuid4().hex[:12]}", f"sid={uuid.uuid4().hex}"
BODY = {"model": "moonshot-v1-8k", "messages": [{"role": "user", "content": "你好"}], "temperature": 0.3}
STREAM_BODY = {**BODY, "stream": True}
UPSTREAM_PIECES = ["你好", "！我是", "Kimi。"]


class FakeKimi(BaseHTTPRequestHandler):
    """Answers like Kimi. Each chat answer is numbered, so a second recording of the same request differs."""

    protocol_version = "HTTP/1.1"
    seen: list[dict]
    counter: list[int]

    def log_message(self, *args):
        pass

    def _headers(self, status: int, content_type: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Msh-Request-Id", "0f8c1d2e-0000-11ef-8000-000000000001")
        self.send_header("Server-Timing", "inner; dur=42")
        self.send_header("Msh-Uid", UID)
        self.send_header("Msh-Gid", GID)
        self.send_header("Set-Cookie", f"{COOKIE}; Path=/; HttpOnly")
        self.send_header("X-Cdn-Noise", "hit")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _json(self, status: int, body) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self._headers(status, "application/json; charset=utf-8", len(data))
        self.wfile.write(data)

    def do_GET(self):
        self.seen.append({"method": "GET", "path": self.path, "authorization": self.headers.get("Authorization")})
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "moonshot-v1-8k", "object": "model", "owned_by": "moonshot"}]})
        else:
            self._json(404, {"error": {"message": "not found", "type": "resource_not_found_error"}})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(raw)
        self.seen.append({"method": "POST", "path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
        if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            self._json(401, {"error": {"message": "Invalid Authentication", "type": "invalid_authentication_error"}})
            return
        if body.get("temperature", 0) > 1:
            self._json(400, {"error": {"message": "Invalid request: temperature must be between 0 and 1",
                                       "type": "invalid_request_error"}})
            return
        self.counter[0] += 1
        n = self.counter[0]
        base = {"id": f"chatcmpl-fake{n}", "created": 1764000000 + n, "model": body["model"]}
        usage = {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14}
        text = "".join(UPSTREAM_PIECES) + f"#{n}"
        if not body.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
            return
        self._headers(200, "text/event-stream")
        chunk = {**base, "object": "chat.completion.chunk"}
        events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
        events += [{**chunk, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
                   for p in UPSTREAM_PIECES + [f"#{n}"]]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "usage": usage}]})
        for event in [json.dumps(e, ensure_ascii=False) for e in events] + ["[DONE]"]:
            data = f"data: {event}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def upstream():
    handler = type("Handler", (FakeKimi,), {"seen": [], "counter": [0]})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.seen = handler.seen
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client(server: KimiServer, key: str = SECRET_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)


def files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def assert_no_secrets(folder: Path) -> None:
    for path in files(folder):
        text = path.read_text(encoding="utf-8")
        for secret in (SECRET_KEY, UID, GID, COOKIE, "Bearer"):
            assert secret not in text, f"{secret!r} written in {path.name}"
        assert not re.search(r"(?i)msh-uid|msh-gid|set-cookie|authorization|cookie", text), path.name
        data = json.loads(text)
        assert set(data["request"]) == {"method", "path", "body"}  # no request headers at all


# ---- record mode -------------------------------------------------------------------------------------------------

def test_record_writes_a_scrubbed_recording_and_forwards_the_key(tmp_path, upstream, servers):
    server = servers("record", tmp_path, upstream=upstream.base_url)
    raw = client(server).chat.completions.with_raw_response.create(**BODY)
    assert raw.parse().choices[0].message.content == "你好！我是Kimi。#1"
    # the client got the real answer, already without the account headers
    assert raw.headers["msh-request-id"] == "0f8c1d2e-0000-11ef-8000-000000000001"
    for name in ("msh-uid", "msh-gid", "set-cookie", "x-cdn-noise"):
        assert name not in raw.headers
    # the key went upstream, where it belongs
    assert upstream.seen[-1]["authorization"] == f"Bearer {SECRET_KEY}" and upstream.seen[-1]["body"] == BODY

    written = files(tmp_path)
    assert len(written) == 1 and re.fullmatch(r"chat-completions-[0-9a-f]{10}\.json", written[0].name)
    data = json.loads(written[0].read_text(encoding="utf-8"))
    assert data["request"] == {"method": "POST", "path": "/v1/chat/completions", "body": BODY}
    assert data["response"]["status"] == 200
    assert data["response"]["headers"] == {"Content-Type": "application/json; charset=utf-8",
                                           "Msh-Request-Id": "0f8c1d2e-0000-11ef-8000-000000000001",
                                           "Server-Timing": "inner; dur=42"}
    assert data["response"]["body"]["choices"][0]["message"]["content"] == "你好！我是Kimi。#1"
    assert data["response"]["elapsed"] >= 0
    assert data["source"]["kind"] == "recorded"
    assert data["source"]["host"] == upstream.base_url.split("//")[1].split("/")[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["source"]["recorded_at"])
    assert_no_secrets(tmp_path)


def test_record_a_stream(tmp_path, upstream, servers):
    server = servers("record", tmp_path, upstream=upstream.base_url)
    chunks = list(client(server).chat.completions.create(**STREAM_BODY))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "你好！我是Kimi。#1"
    assert chunks[-1].choices[0].usage == {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14}
    (path,) = files(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    events = data["response"]["events"]
    assert data["response"]["headers"]["Content-Type"] == "text/event-stream"
    assert events[-1]["data"] == "[DONE]" and len(events) == 7
    assert events[0]["data"]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    times = [e["at"] for e in events]
    assert times == sorted(times)
    assert_no_secrets(tmp_path)


def test_record_writes_atomically(tmp_path, upstream, servers, monkeypatch):
    moves = []
    real_replace = rec_mod.os.replace

    def spy(src, dst):
        moves.append((Path(src), Path(dst), Path(src).read_text(encoding="utf-8")))
        return real_replace(src, dst)

    monkeypatch.setattr(rec_mod.os, "replace", spy)
    server = servers("record", tmp_path, upstream=upstream.base_url)
    client(server).chat.completions.create(**BODY)
    (src, dst, text), = moves
    assert src.parent == dst.parent == tmp_path and src.name.startswith(".tmp-")
    assert json.loads(text)["request"]["body"] == BODY  # complete before it was moved into place
    assert files(tmp_path) == [dst]


def test_an_existing_recording_is_never_overwritten(tmp_path, upstream, servers):
    server = servers("record", tmp_path, upstream=upstream.base_url)
    client(server).chat.completions.create(**BODY)
    (path,) = files(tmp_path)
    before = path.read_bytes()
    second = client(server).chat.completions.create(**BODY)
    assert second.choices[0].message.content.endswith("#2")  # the live answer still reaches the client
    assert files(tmp_path) == [path] and path.read_bytes() == before
    # a new server over the same folder doesn't replace it either
    again = servers("record", tmp_path, upstream=upstream.base_url)
    client(again).chat.completions.create(**BODY)
    assert files(tmp_path) == [path] and path.read_bytes() == before


def test_a_handwritten_recording_of_the_same_request_is_kept(tmp_path, upstream, servers):
    handwritten = write_recording(tmp_path, chat("l99-hello", BODY, "手写的回答"))
    before = handwritten.read_bytes()
    server = servers("record", tmp_path, upstream=upstream.base_url)
    client(server).chat.completions.create(**BODY)
    assert files(tmp_path) == [handwritten] and handwritten.read_bytes() == before


def test_overwrite_replaces_under_the_same_name(tmp_path, upstream, servers):
    handwritten = write_recording(tmp_path, chat("l99-hello", BODY, "手写的回答"))
    server = servers("record", tmp_path, upstream=upstream.base_url, overwrite=True)
    client(server).chat.completions.create(**BODY)
    client(server).chat.completions.create(**BODY)
    assert files(tmp_path) == [handwritten]
    data = json.loads(handwritten.read_text(encoding="utf-8"))
    assert data["name"] == "l99-hello" and data["source"]["kind"] == "recorded"
    # One recording per request per run: the second identical request is forwarded but doesn't rewrite it.
    assert data["response"]["body"]["choices"][0]["message"]["content"] == "你好！我是Kimi。#1"
    assert_no_secrets(tmp_path)


def test_errors_are_recorded_but_a_refused_key_is_not(tmp_path, upstream, servers):
    server = servers("record", tmp_path, upstream=upstream.base_url)
    with pytest.raises(openai.AuthenticationError):
        client(server, key="test-wrong-key-000").chat.completions.create(**BODY)
    assert files(tmp_path) == []
    with pytest.raises(openai.BadRequestError):
        client(server).chat.completions.create(**{**BODY, "temperature": 1.5})
    (path,) = files(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["response"]["status"] == 400 and data["response"]["body"]["error"]["type"] == "invalid_request_error"
    assert_no_secrets(tmp_path)


def test_an_unreachable_upstream_is_a_502_and_writes_nothing(tmp_path, servers):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = servers("record", tmp_path, upstream=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(openai.InternalServerError) as info:
        client(server).chat.completions.create(**BODY)
    assert info.value.status_code == 502 and info.value.type == "server_error"
    assert "could not reach" in info.value.message and SECRET_KEY not in info.value.message
    assert files(tmp_path) == []


def test_a_recorded_exchange_replays_identically(tmp_path, upstream, servers):
    recorder = servers("record", tmp_path, upstream=upstream.base_url)
    models = requests.get(recorder.base_url + "/models", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10)
    live_raw = client(recorder).chat.completions.with_raw_response.create(**BODY)
    live = live_raw.parse()
    live_chunks = list(client(recorder).chat.completions.create(**STREAM_BODY))
    assert len(files(tmp_path)) == 3

    replayer = servers("replay", tmp_path, pace=0)
    offline = client(replayer, key=REPLAY_API_KEY)
    replayed_raw = offline.chat.completions.with_raw_response.create(**BODY)
    assert replayed_raw.parse().model_dump() == live.model_dump()
    for name in ("content-type", "msh-request-id", "server-timing"):
        assert replayed_raw.headers[name] == live_raw.headers[name]
    replayed_chunks = list(offline.chat.completions.create(**STREAM_BODY))
    assert [c.model_dump() for c in replayed_chunks] == [c.model_dump() for c in live_chunks]
    replayed_models = requests.get(replayer.base_url + "/models", headers={"Authorization": f"Bearer {REPLAY_API_KEY}"},
                                   timeout=10)
    assert replayed_models.json() == models.json()
    assert len(upstream.seen) == 3  # replay never went upstream
    assert_no_secrets(tmp_path)


# ---- passthrough ---------------------------------------------------------------------------------------------------

def test_passthrough_forwards_without_writing(tmp_path, upstream, servers):
    folder = tmp_path / "recordings"
    folder.mkdir()
    server = servers("passthrough", folder, upstream=upstream.base_url)
    completion = client(server).chat.completions.create(**BODY)
    chunks = list(client(server).chat.completions.create(**STREAM_BODY))
    assert completion.choices[0].message.content == "你好！我是Kimi。#1"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "你好！我是Kimi。#2"
    assert [s["authorization"] for s in upstream.seen] == [f"Bearer {SECRET_KEY}"] * 2
    assert files(folder) == []
    # the local log still shows what was sent, key masked
    entries = requests.get(server.url + "/_course/requests", timeout=5).json()["requests"]
    assert [e["status"] for e in entries] == [200, 200]
    assert SECRET_KEY not in json.dumps(entries)


def test_faults_work_in_front_of_the_real_service(tmp_path, upstream, servers):
    server = servers("passthrough", tmp_path, upstream=upstream.base_url)
    faulty = openai.OpenAI(base_url=f"{server.url}/simulate/overloaded-1~pt/v1", api_key=SECRET_KEY, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        faulty.chat.completions.create(**BODY)
    assert upstream.seen == []  # the simulated failure never reached the service
    assert faulty.chat.completions.create(**BODY).choices[0].message.content == "你好！我是Kimi。#1"
    assert files(tmp_path) == []
