"""The local server under abuse: malformed HTTP never takes it down, a load of 1,000 requests at 50 concurrent
clients gets the right answers, and a client that leaves mid-stream disturbs no one.

Everything talks to 127.0.0.1 over raw sockets or http.client, with socket timeouts, so a hang fails fast.
"""
from __future__ import annotations

import http.client
import io
import json
import socket
import string
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.authoring import chat
from helpers.recordings import Recording, write_recording
from helpers.server import NOT_FOUND_BODY, KimiServer
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

TIMEOUT = 10  # seconds: no single exchange may take longer
AUTH = f"Bearer {REPLAY_API_KEY}"


def _load(name: str) -> Recording:
    return Recording.from_file(RECORDINGS_DIR / f"{name}.json")


PARAPHRASE = _load("l08-paraphrase-01")  # the lab's own requests: stable recordings this file relies on
HELLO = _load("l01-hello-lilei")
MODELS = _load("models-list")
BALANCE = _load("balance")


# ---- raw HTTP plumbing ---------------------------------------------------------------------------------
def exchange(port: int, data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send raw bytes, half-close, and read everything the server says until it closes.

    `Host: x` in the bytes becomes this server's own address (the server refuses any other Host)."""
    data = data.replace(b"Host: x\r\n", b"Host: 127.0.0.1:%d\r\n" % port)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may answer (and close) before it has read everything, e.g. huge headers
            pass
        received = bytearray()
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server kept the connection open for {timeout} s: {bytes(received[:300])!r}")
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:  # closing with unread input resets; what arrived before still counts
                break
            except TimeoutError:
                raise AssertionError(f"the server went silent for {timeout} s: {bytes(received[:300])!r}") from None
            if not piece:
                break
            received += piece
    return bytes(received)


class _KeptOpen(io.BytesIO):
    def close(self) -> None:  # http.client closes its file when the body is read; we still want the rest
        pass


class _BytesSocket:
    def __init__(self, data: bytes):
        self.stream = _KeptOpen(data)

    def makefile(self, *args, **kwargs):
        return self.stream


def parse_response(data: bytes, method: str = "GET") -> tuple[http.client.HTTPResponse, bytes, bytes]:
    """The first HTTP response in `data` (http.client's own parser), its body, and whatever follows it."""
    fake = _BytesSocket(data)
    response = http.client.HTTPResponse(fake, method=method)  # type: ignore[arg-type]
    response.begin()
    body = response.read()  # raises IncompleteRead when the body is shorter than announced
    rest = fake.stream.read()
    return response, body, rest


def assert_well_formed(data: bytes, request: bytes) -> None:
    """A complete HTTP response; a JSON error in Kimi's shape (or the gateway's for unknown paths); no traceback."""
    first_line = request.split(b"\n", 1)[0].decode("latin-1")
    if not data:
        # An empty first line is not a request (RFC 9112 §2.2 lets a server ignore it): nothing to answer.
        assert not first_line.split(), f"no answer at all to {request[:200]!r}"
        return
    # A HEAD answer has no body, unless the request line was too garbled for the server to see it was HEAD.
    sent_head = first_line.split()[:1] == ["HEAD"]
    for method in (["HEAD", "GET"] if sent_head else ["GET"]):
        try:
            response, body, rest = parse_response(data, method)
        except (http.client.HTTPException, ValueError) as exc:
            problem = f"not a complete HTTP response ({exc!r})"
            continue
        if rest == b"" or rest.startswith(b"HTTP/1."):  # nothing more, or the answer to what followed
            break
        problem = f"bytes after the response that are not one: {rest[:200]!r}"
    else:
        raise AssertionError(f"{problem}: {data[:300]!r}")
    assert 200 <= response.status < 600
    assert b"Traceback" not in data
    simulated = response.getheader("X-Simulated-Fault")
    assert response.status != 500 or simulated, f"a server error on bad input: {body[:300]!r}"
    content_type = response.getheader("Content-Type", "")
    if method == "HEAD":
        assert body == b""
        assert content_type.startswith("application/json")
        return
    if content_type.startswith("text/event-stream"):  # a valid streaming request: SSE, not an error
        assert response.status == 200 and b"data: " in body
        return
    assert content_type.startswith("application/json"), content_type
    assert int(response.getheader("Content-Length")) == len(body)
    parsed = json.loads(body.decode("utf-8"))
    if response.status < 400:
        return
    assert isinstance(parsed, dict) and "error" in parsed, parsed
    if isinstance(parsed["error"], dict):  # Kimi's API error shape
        assert set(parsed["error"]) == {"message", "type"}, parsed
        assert isinstance(parsed["error"]["message"], str) and parsed["error"]["message"]
        assert isinstance(parsed["error"]["type"], str) and parsed["error"]["type"]
    else:  # the gateway's answer for a path outside the API
        assert response.status == 404
        assert {k: v for k, v in parsed.items() if k != "method"} == NOT_FOUND_BODY, parsed


def assert_still_serving(server: KimiServer) -> None:
    """A normal client still gets the right answers."""
    with requests.Session() as session:
        r = session.post(f"{server.base_url}/chat/completions", json=PARAPHRASE.request["body"],
                         headers={"Authorization": AUTH}, timeout=TIMEOUT)
        assert r.status_code == 200 and r.json() == PARAPHRASE.response["body"]
        r = session.get(f"{server.base_url}/models", headers={"Authorization": AUTH}, timeout=TIMEOUT)
        assert r.status_code == 200 and r.json() == MODELS.response["body"]


def request_bytes(method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"",
                  version: str = "HTTP/1.1") -> bytes:
    if not any(k.lower() == "host" for k, _ in headers):
        headers = [("Host", "x"), *headers]
    head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8") + body


def json_post(path: str, body: bytes, extra: list[tuple[str, str]] | None = None) -> bytes:
    headers = [("Host", "x"), ("Authorization", AUTH), ("Content-Type", "application/json"),
               ("Content-Length", str(len(body)))] + (extra or [])
    return request_bytes("POST", path, headers, body)


# ---- named cases: what each kind of bad input gets -----------------------------------------------------
CHAT = "/v1/chat/completions"
GOOD = json.dumps(PARAPHRASE.request["body"], ensure_ascii=False).encode("utf-8")


def _chunked(body: bytes, size: int = 7) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)) + b"0\r\n\r\n"


NAMED_CASES = {
    # name: (raw request, expected status, expected error type or "gateway")
    "garbage request line": (b"hello world\r\n\r\n", 400, "invalid_request_error"),
    "one word": (b"GARBAGE\r\n\r\n", 400, "invalid_request_error"),
    "too many words": (b"GET / HTTP/1.1 extra\r\n\r\n", 400, "invalid_request_error"),
    "HTTP/0.9 style": (b"GET /\r\n\r\n", 400, "invalid_request_error"),
    "bad version": (b"GET /v1/models FOO/1.1\r\n\r\n", 400, "invalid_request_error"),
    "HTTP/2 on the wire": (b"GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n", 505, "invalid_request_error"),
    "binary request line": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "invalid_request_error"),
    "odd method": (b"FROB /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 501, "invalid_request_error"),
    "lower-case method": (b"post /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n", 501, "invalid_request_error"),
    "unknown path": (b"GET /v2/everything HTTP/1.1\r\nHost: x\r\n\r\n", 404, "gateway"),
    "unknown course path": (b"GET /_course/nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "gateway"),
    "non-UTF-8 path": (b"GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH.encode() + b"\r\n\r\n",
                       400, "invalid_request_error"),
    "no key": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 401, "invalid_authentication_error"),
    "non-UTF-8 key": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
                      401, "invalid_authentication_error"),
    "huge header": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
                    431, "invalid_request_error"),
    "too many headers": (b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n",
                         431, "invalid_request_error"),
    "huge request line": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "invalid_request_error"),
    "Content-Length not a number": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Content-Length", "ten")]),
                                    400, "invalid_request_error"),
    "Content-Length negative": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Content-Length", "-5")]),
                                400, "invalid_request_error"),
    "Content-Length enormous": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Content-Length", "9" * 30)]),
                                400, "invalid_request_error"),
    "Content-Length too large": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Content-Length", "9" * 9)]),
                                 413, "invalid_request_error"),
    "two Content-Lengths": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Content-Length", "3"),
                                                         ("Content-Length", "5")], b"abcde"), 400, "invalid_request_error"),
    "truncated body": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Content-Length", str(len(GOOD)))],
                                     GOOD[: len(GOOD) // 2]), 400, "invalid_request_error"),
    "non-UTF-8 body": (json_post(CHAT, b"\xff\xfe{\x80}"), 400, "invalid_request_error"),
    "body not JSON": (json_post(CHAT, b"model=kimi"), 400, "invalid_request_error"),
    "body a JSON list": (json_post(CHAT, b"[]"), 400, "invalid_request_error"),
    "JSON nested too deep": (json_post(CHAT, b"[" * 100_000 + b"]" * 100_000), 400, "invalid_request_error"),
    "chunked body": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Transfer-Encoding", "chunked")],
                                   _chunked(GOOD)), 200, None),
    "chunk size not hex": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Transfer-Encoding", "chunked")],
                                         b"zz\r\nhello\r\n0\r\n\r\n"), 400, "invalid_request_error"),
    "chunk size negative": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Transfer-Encoding", "chunked")],
                                          b"-5\r\nhello\r\n0\r\n\r\n"), 400, "invalid_request_error"),
    "chunk size enormous": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Transfer-Encoding", "chunked")],
                                          b"ffffffffffff\r\nhello\r\n0\r\n\r\n"), 400, "invalid_request_error"),
    "chunked body cut short": (request_bytes("POST", CHAT, [("Authorization", AUTH), ("Transfer-Encoding", "chunked")],
                                             b"50\r\nhello"), 400, "invalid_request_error"),
    "unknown fault": (json_post("/simulate/nonsense/v1/chat/completions", GOOD), 404, "resource_not_found_error"),
    "unknown tier": (json_post("/limits/tier9/v1/chat/completions", GOOD), 404, "resource_not_found_error"),
    "temperature out of range": (json_post(CHAT, json.dumps({**PARAPHRASE.request["body"], "temperature": 1e999}).encode()),
                                 400, "invalid_request_error"),
}


@pytest.mark.parametrize("name", list(NAMED_CASES))
def test_named_bad_input_gets_a_well_formed_answer(server, name):
    raw, status, error_type = NAMED_CASES[name]
    data = exchange(server.port, raw)
    assert_well_formed(data, raw)
    response, body, _ = parse_response(data)
    assert response.status == status, body[:300]
    parsed = json.loads(body)
    if error_type == "gateway":
        assert parsed["error"] == "url.not_found"
    elif error_type is None:
        assert parsed == PARAPHRASE.response["body"]
    else:
        assert parsed["error"]["type"] == error_type, parsed


def test_a_blank_connection_gets_no_answer_and_no_harm(server):
    assert exchange(server.port, b"") == b""  # nothing sent: a clean close
    for raw in (b"\r\n", b"\r\n\r\n", b"   \r\n"):  # no request line: a clean close or a well-formed 400
        data = exchange(server.port, raw)
        if data:
            response, body, _ = parse_response(data)
            assert response.status == 400 and json.loads(body)["error"]["type"] == "invalid_request_error"
    assert_still_serving(server)


# ---- the barrage: property-based -----------------------------------------------------------------------
PATHS = ["/v1/chat/completions", "/v1/models", "/v1/users/me/balance", "/v1/tokenizers/estimate-token-count",
         "/v1/files", "/v1/", "/v1", "/", "/v2/chat/completions", "/_course/health", "/_course/limits", "/_course/zzz",
         "/simulate/overloaded/v1/chat/completions", "/simulate/quota-2~fuzz/v1/chat/completions",
         "/simulate/stream_error/v1/chat/completions", "/simulate/nonsense/v1/models", "/simulate//v1/models",
         "/limits/tier1-x60/v1/chat/completions", "/limits/tier0-x60/v1/models", "/limits/tier9/v1/models",
         "/limits/", "*", "http://127.0.0.1/v1/models", "//v1/models", "/v1/../v1/models"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FROB", "get", "P-O-S-T"]
VERSIONS = ["HTTP/1.1"] * 12 + ["HTTP/1.0", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1", "http/1.1", "HTTP/x.y",
            "HTTP/1.1.1", "", "HTTP/1.1 extra"]
CHAT_FIELDS = ["model", "messages", "temperature", "stream", "n", "top_p", "thinking", "max_tokens", "tools", "extra"]

safe_bytes = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
chat_bodies = (
    st.builds(lambda k, v: {**PARAPHRASE.request["body"], k: v}, st.sampled_from(CHAT_FIELDS), json_values)
    | st.sampled_from(CHAT_FIELDS).map(lambda k: {f: v for f, v in PARAPHRASE.request["body"].items() if f != k})
    | st.just(PARAPHRASE.request["body"]))
chat_json = chat_bodies.map(lambda b: json.dumps(b, ensure_ascii=False).encode("utf-8"))
bodies = st.one_of(
    chat_json, chat_json, chat_json, chat_json,  # weighted: most bodies get as far as the request checks
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.binary(max_size=60).map(lambda b: b"\xff\xfe" + b),  # never UTF-8
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
    st.just(b""),
)
header_names = st.sampled_from(["Host", "Authorization", "Content-Type", "Accept", "Expect", "Connection", "Cookie",
                                "X-Custom", "Transfer-Encoding", "Accept-Encoding", "User-Agent"]) | st.text(
    alphabet=string.ascii_letters + string.digits + "-_.!", min_size=1, max_size=20)
header_values = st.sampled_from([
    AUTH.encode(), b"Bearer", b"Bearer ", b"Basic Zm9vOmJhcg==", b"100-continue", b"close", b"keep-alive", b"chunked",
    b"gzip, chunked", b"application/json", "\u4f60\u597d".encode(), b"\xff\xfe\xfd", b"",
]) | safe_bytes
headers_lists = st.lists(st.tuples(header_names.map(str.encode), header_values), max_size=8)
big_headers = st.sampled_from(["none"] * 8 + ["huge", "many"]).flatmap(lambda kind: {
    "none": st.just([]),
    "huge": st.integers(60_000, 70_000).map(lambda n: [(b"X-Big", b"v" * n)]),
    "many": st.integers(90, 130).map(lambda n: [(b"X-H%d" % i, b"1") for i in range(n)]),
}[kind])
FRAMINGS = ["exact"] * 8 + ["none", "short", "long", "not-a-number", "negative", "duplicate",
            "chunked", "chunked-garbage"]


@st.composite
def http_requests(draw) -> bytes:
    """A request that is wrong somewhere: request line, headers, framing or body (sometimes nowhere)."""
    if draw(st.integers(0, 9)) == 0:  # pure garbage, sometimes with an HTTP-looking tail
        junk = draw(st.binary(min_size=1, max_size=400))
        return junk + draw(st.sampled_from([b"", b"\r\n\r\n", b" / HTTP/1.1\r\n\r\n"]))
    method = draw(st.sampled_from(["POST"] * 8 + ["GET"] * 4 + METHODS + [""]))  # "": any word
    method = method or draw(st.text(alphabet=string.ascii_letters + "-_!", min_size=1, max_size=10))
    path = draw(st.sampled_from([CHAT] * 6 + PATHS)).encode()
    tail = draw(st.sampled_from([b""] * 6 + [b"?a=1", b"/extra", b"%00", None]))  # None: random bytes
    path += tail if tail is not None else draw(safe_bytes).replace(b" ", b"")
    version = draw(st.sampled_from(VERSIONS))
    line = method.encode() + b" " + path + (b" " + version.encode() if version else b"") + b"\r\n"
    headers: list[tuple[bytes, bytes]] = [(b"Host", b"x")] if draw(st.integers(0, 9)) else []
    if draw(st.booleans()):
        headers.append((b"Authorization", AUTH.encode()))
    headers += draw(headers_lists) + draw(big_headers)
    body = draw(bodies)
    framing = draw(st.sampled_from(FRAMINGS))
    if framing == "exact":
        headers.append((b"Content-Length", b"%d" % len(body)))
    elif framing == "short":
        headers.append((b"Content-Length", b"%d" % (len(body) // 2)))
    elif framing == "long":
        headers.append((b"Content-Length", b"%d" % (len(body) + draw(st.integers(1, 1000)))))
    elif framing == "not-a-number":
        headers.append((b"Content-Length", draw(st.sampled_from([b"ten", b"1e3", b"", b"0x10", "\u0663".encode(), b" 5 5"]))))
    elif framing == "negative":
        headers.append((b"Content-Length", b"-%d" % draw(st.integers(1, 10**6))))
    elif framing == "duplicate":
        headers += [(b"Content-Length", b"%d" % len(body)), (b"Content-Length", b"%d" % (len(body) + 1))]
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = _chunked(body, draw(st.integers(1, 50)))
    elif framing == "chunked-garbage":
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = draw(st.sampled_from([b"-1\r\n", b"zz\r\n", b"0x5\r\n", b"5\r\n", b"ffffffffffffffffffff\r\n", b""])) + body
    head = line + b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n"
    return head + body


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.function_scoped_fixture])
@given(raw=http_requests())
def test_bad_input_never_takes_the_server_down(server, raw):
    assert_well_formed(exchange(server.port, raw), raw)


def test_after_the_barrage_a_normal_request_succeeds(server):
    """Runs after the property test above on the same server (pytest keeps file order)."""
    assert_still_serving(server)
    assert server._thread is not None and server._thread.is_alive()


# ---- load: 1,000 requests, 50 clients at once -------------------------------------------------------------
def _expected_exchanges() -> list[tuple[str, str, dict | None, str, int, dict]]:
    """(method, path, body, key, expected status, expected body): answers and errors, all known in advance."""
    hot = {**PARAPHRASE.request["body"], "temperature": 1.5}
    return [
        ("POST", "/v1/chat/completions", PARAPHRASE.request["body"], AUTH, 200, PARAPHRASE.response["body"]),
        ("POST", "/v1/chat/completions", HELLO.request["body"], AUTH, 200, HELLO.response["body"]),
        ("GET", "/v1/models", None, AUTH, 200, MODELS.response["body"]),
        ("GET", "/v1/users/me/balance", None, AUTH, 200, BALANCE.response["body"]),
        ("POST", "/v1/chat/completions", HELLO.request["body"], "Bearer wrong-key", 401,
         {"error": {"message": "Invalid Authentication", "type": "invalid_authentication_error"}}),
        ("POST", "/v1/chat/completions", hot, AUTH, 400,
         {"error": {"message": "invalid temperature: only 1 is allowed for this model",
                    "type": "invalid_request_error"}}),
    ]


def test_a_thousand_requests_from_fifty_clients_all_get_the_right_answer():
    clients, per_client = 50, 20
    exchanges = _expected_exchanges()
    srv = KimiServer(mode="replay", pace=0).start()
    start_together = threading.Barrier(clients)

    def client(c: int) -> list[str]:
        problems = []
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=TIMEOUT)  # one keep-alive connection
        try:
            start_together.wait(timeout=TIMEOUT)
            for i in range(per_client):
                method, path, body, key, status, expected = exchanges[(c + i) % len(exchanges)]
                data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
                headers = {"Authorization": key, **({"Content-Type": "application/json"} if data else {})}
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                answer = json.loads(response.read())
                if response.status != status or answer != expected:
                    problems.append(f"client {c} request {i} {method} {path}: {response.status} {str(answer)[:120]}")
        finally:
            conn.close()
        return problems

    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(client, range(clients)))
        took = time.monotonic() - started
        problems = [p for r in results for p in r]
        assert not problems, f"{len(problems)} wrong answers, e.g. {problems[:3]}"
        log = srv.log.entries()
        assert len(log) == clients * per_client
        assert all(e.get("status") for e in log), "every request was answered"
        assert took < 30, f"1,000 requests took {took:.1f} s"
    finally:
        srv.stop()


def test_answers_are_not_held_back_by_nagle(server):
    """Headers and body are separate writes: without TCP_NODELAY each answer waits ~40 ms for a delayed ACK."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    body = json.dumps(PARAPHRASE.request["body"], ensure_ascii=False).encode("utf-8")
    took = []
    try:
        for _ in range(30):
            started = time.perf_counter()
            conn.request("POST", CHAT, body=body, headers={"Authorization": AUTH, "Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read()) == PARAPHRASE.response["body"]
            took.append(time.perf_counter() - started)
    finally:
        conn.close()
    assert sorted(took)[len(took) // 2] < 0.02, f"median {sorted(took)[len(took) // 2] * 1000:.1f} ms per request"


# ---- a client that leaves mid-stream --------------------------------------------------------------------
STREAM_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "数到二十"}], "stream": True}
STREAM_TEXT = "，".join(str(i) for i in range(1, 21)) + "。" + "这就是从一数到二十，每个数之间用逗号隔开。" * 3


@pytest.fixture
def stream_server(tmp_path: Path, servers):
    stream = chat("robust-stream", STREAM_BODY, STREAM_TEXT)
    plain = chat("robust-plain", {**STREAM_BODY, "stream": False}, STREAM_TEXT, elapsed=0.05)
    for recording in (stream, plain):
        write_recording(tmp_path, recording)
    return servers(mode="replay", recordings_dir=tmp_path, pace=1.0), stream, plain


def _stream_text(response: requests.Response) -> tuple[str, bool]:
    text, done = [], False
    for raw_line in response.iter_lines():  # bytes: SSE is UTF-8 whatever requests guesses from the Content-Type
        line = raw_line.decode("utf-8")
        if not line.startswith("data: "):
            continue
        data = line[len("data: "):]
        if data == "[DONE]":
            done = True
            continue
        for choice in json.loads(data)["choices"]:
            text.append(choice["delta"].get("content") or "")
    return "".join(text), done


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_client_leaving_mid_stream_disturbs_no_one(stream_server, how):
    srv, stream, plain = stream_server
    duration = stream.response["events"][-1]["at"]  # seconds the full stream takes at pace 1
    assert duration > 1.5, "the stream must be long enough to leave in the middle"
    url = f"{srv.base_url}/chat/completions"

    # Client B streams the whole answer while client A leaves in the middle of the same stream.
    bystander: dict = {}

    def watch() -> None:
        with requests.post(url, json=STREAM_BODY, headers={"Authorization": AUTH, "X-Client": "B"},
                           stream=True, timeout=TIMEOUT) as r:
            bystander["status"] = r.status_code
            bystander["text"], bystander["done"] = _stream_text(r)

    b = threading.Thread(target=watch)
    b.start()

    body = json.dumps(STREAM_BODY, ensure_ascii=False).encode("utf-8")
    raw = json_post("/v1/chat/completions", body, [("X-Client", "A")])
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    sock.sendall(raw.replace(b"Host: x\r\n", b"Host: 127.0.0.1:%d\r\n" % srv.port))
    received = b""
    while received.count(b"data: ") < 3:  # the headers and a few events: the stream is under way
        piece = sock.recv(4096)
        assert piece, "the stream ended before the client could leave"
        received += piece
    assert received.startswith(b"HTTP/1.1 200")
    if how == "reset":  # leave rudely: RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    left_at = time.monotonic()

    # The next requests, on new connections, get complete and correct answers at once.
    r = requests.post(url, json=plain.request["body"], headers={"Authorization": AUTH}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == plain.response["body"]
    assert time.monotonic() - left_at < 1.0
    with requests.post(url, json=STREAM_BODY, headers={"Authorization": AUTH}, stream=True, timeout=TIMEOUT) as r:
        assert r.status_code == 200
        assert _stream_text(r) == (STREAM_TEXT, True)

    b.join(TIMEOUT)
    assert not b.is_alive()
    assert bystander == {"status": 200, "text": STREAM_TEXT, "done": True}

    # The server noticed A had gone and stopped streaming to it, well before the stream's end.
    entry_a = next(e for e in srv.log.entries() if e["headers"].get("X-Client") == "A")
    assert entry_a["status"] == 200 and entry_a.get("elapsed_ms") is not None
    assert entry_a["elapsed_ms"] / 1000 < duration - 0.5, entry_a["elapsed_ms"]


def test_limits_time_scale_cannot_slow_time_down():
    """A scale below 1 would make every replayed delay longer: refused with Kimi's error shape."""
    import requests

    from helpers.server import KimiServer
    from helpers.settings import REPLAY_API_KEY

    server = KimiServer(mode="replay", pace=0).start()
    try:
        r = requests.get(f"{server.url}/limits/tier1-x0.001/v1/models",
                         headers={"Authorization": f"Bearer {REPLAY_API_KEY}"}, timeout=5)
        assert r.status_code == 404
        assert r.json()["error"]["type"] == "resource_not_found_error"
        assert "1 or more" in r.json()["error"]["message"]
    finally:
        server.stop()
