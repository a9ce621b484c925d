"""The local server's limits, tried as an attacker and a careless client would: every class of abuse gets a
well-formed answer or a clean close, and the server stays bounded in time, memory and connections.

Each test names the class of failure it guards against. Everything talks to 127.0.0.1 with timeouts.
"""
from __future__ import annotations

import gc
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
import requests

from helpers.authoring import chat
from helpers.dispatch import MAX_LIMITERS
from helpers.faults import MAX_COUNTERS
from helpers.recordings import Recording, write_recording
from helpers.requestlog import MAX_ENTRY_BYTES
from helpers.server import KimiServer, ServerLimits
from helpers.settings import RECORDINGS_DIR, REPLAY_API_KEY

AUTH = {"Authorization": f"Bearer {REPLAY_API_KEY}"}
PARAPHRASE = Recording.from_file(RECORDINGS_DIR / "l08-paraphrase-01.json")
CHAT_BODY = PARAPHRASE.request["body"]


@pytest.fixture
def server(servers):
    """A server of its own for each test: these tests fill its limits."""
    return servers("replay")


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data.replace(b"Host: x\r\n", b"Host: 127.0.0.1:%d\r\n" % port))
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while piece := sock.recv(65536):
            received += piece
    return received


def log_is_strict_json(srv: KimiServer) -> None:
    text = json.dumps(srv.log.entries(), ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # no lone surrogate
    r = requests.get(f"{srv.url}/_course/requests", timeout=5)
    assert r.status_code == 200 and isinstance(r.json()["requests"], list)


def post(srv: KimiServer, raw: bytes, path: str = "/v1/chat/completions") -> requests.Response:
    return requests.post(srv.url + path, data=raw, headers={**AUTH, "Content-Type": "application/json"}, timeout=10)


# ---- bodies the JSON decoder must refuse, and a log that stays strict JSON -------------------------------
@pytest.mark.parametrize("name, raw", [
    ("lone surrogate in content", b'{"model":"kimi-k2.6","messages":[{"role":"user","content":"\\ud800"}]}'),
    ("lone surrogate in a key", b'{"\\udfff":1}'),
    ("NaN", b'{"model":"kimi-k2.6","messages":[],"temperature":NaN}'),
    ("Infinity", b'{"model":"kimi-k2.6","messages":[],"temperature":-Infinity}'),
    ("a number that overflows to infinity", b'{"temperature":1e400}'),
    ("a 5,000-digit number", b'{"n":' + b"9" * 5000 + b"}"),
    ("nested 980 deep", b"[" * 980 + b"]" * 980),
    ("nested 100,000 deep", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
])
def test_bodies_json_cannot_carry_get_a_400_and_the_log_stays_strict(server, name, raw):
    r = post(server, raw)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "not valid JSON" in r.json()["error"]["message"] or "nested" in r.json()["error"]["message"] \
        or "surrogate" in r.json()["error"]["message"]
    log_is_strict_json(server)
    assert server.log.entries()[-1]["status"] == 400


def test_a_long_chunk_line_smuggles_nothing(server):
    """A chunk-size line over 1 KiB (with an extension) is one line: exactly one answer comes back."""
    body = json.dumps(CHAT_BODY, ensure_ascii=False).encode()
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + REPLAY_API_KEY.encode() +
            b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    smuggled = b"GET /_course/requests HTTP/1.1\r\nHost: x\r\n\r\n"
    chunk = b"%x;ext=" % len(body) + b"a" * 1100 + smuggled.replace(b"\r\n", b"") + b"\r\n" + body + b"\r\n0\r\n\r\n"
    data = raw_exchange(server.port, head + chunk)
    assert data.count(b"HTTP/1.1 ") == 1, data[:500]
    assert b'"requests"' not in data


# ---- connections: idle, slow, incomplete, too many ----------------------------------------------------------
def test_a_thousand_idle_and_incomplete_connections_leave_room_for_a_normal_request():
    srv = KimiServer(mode="replay", pace=0, limits=ServerLimits(head_timeout=3, body_timeout=3)).start()
    held: list[socket.socket] = []
    try:
        for i in range(1000):
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            if i % 3 == 1:  # promises a body, sends 4 bytes
                sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"mo")
            elif i % 3 == 2:  # the first header line only
                sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\n")
            held.append(sock)
        deadline = time.monotonic() + 20  # held open: the server has taken every one of them in
        while len(srv._uvicorn.server_state.connections) < len(held) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(srv._uvicorn.server_state.connections) >= len(held)
        started = time.monotonic()
        r = requests.get(srv.base_url + "/models", headers=AUTH, timeout=5)
        assert r.status_code == 200
        assert time.monotonic() - started < 1.0
        # The incomplete ones are dropped after the short timeouts (the idle ones too: they never sent a head).
        time.sleep(4.5)
        closed = 0
        for sock in held:
            sock.settimeout(2)
            try:
                data = sock.recv(4096)
            except (TimeoutError, ConnectionResetError):
                data = b"reset"
            closed += data == b"" or data.startswith(b"HTTP/1.1 4") or data == b"reset"
        assert closed == len(held), f"{len(held) - closed} connections still open"
    finally:
        for sock in held:
            sock.close()
        srv.stop()


def test_a_trickling_client_is_dropped_whatever_the_trickle():
    srv = KimiServer(mode="replay", pace=0, limits=ServerLimits(head_timeout=1.0)).start()
    try:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        sock.sendall(b"GET /v1/models HTTP/1.1\r\n")
        started, answer = time.monotonic(), b""
        try:
            for i in range(40):  # a header line every 0.1 s would keep the old server's thread forever
                sock.sendall(b"X-Trickle-%d: y\r\n" % i)
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 4.5
        assert answer == b"" or b" 408 " in answer.split(b"\r\n")[0], answer[:200]
        sock.close()
    finally:
        srv.stop()


def test_open_connections_are_bounded_with_a_clear_answer():
    srv = KimiServer(mode="replay", pace=0, limits=ServerLimits(max_connections=50)).start()
    held = []
    try:
        for _ in range(50):
            held.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
        time.sleep(0.2)
        one_more = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        answer = one_more.recv(4096)
        one_more.close()
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert "too many open connections" in body["error"]["message"] and "50" in body["error"]["message"]
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert requests.get(srv.base_url + "/models", headers=AUTH, timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()
        srv.stop()


# ---- faults and tiers: stated ranges, bounded state, waits that end ------------------------------------------
@pytest.mark.parametrize("path", [
    "/simulate/slow-999999999s/v1/models", "/simulate/overloaded-" + "9" * 400 + "/v1/models",
    "/simulate/slow-" + "9" * 400 + "s/v1/models", "/limits/tier1-x" + "9" * 400 + "/v1/models",
    "/limits/tier1-x5000/v1/models", "/simulate/overloaded-0/v1/models",
])
def test_numbers_in_specs_have_ranges_and_a_clear_error(server, path):
    r = requests.get(server.url + path, headers=AUTH, timeout=5)
    assert r.status_code == 404, r.text
    message = r.json()["error"]["message"]
    assert r.json()["error"]["type"] == "resource_not_found_error"
    assert any(word in message for word in ("at most", "from 1 to", "goes up to")), message


def test_fault_counters_and_limiters_are_bounded(server):
    with requests.Session() as session:
        for i in range(MAX_COUNTERS + 50):
            session.get(f"{server.url}/simulate/overloaded-1~t{i}/v1/models", headers=AUTH, timeout=5)
        for scale in range(1, MAX_LIMITERS + 20):
            session.get(f"{server.url}/limits/tier5-x{scale}/v1/models", headers=AUTH, timeout=5)
    assert len(server.state.fault_counter._counts) <= MAX_COUNTERS
    assert len(server.state.limiters) <= MAX_LIMITERS


def test_a_slow_answer_ends_when_its_client_leaves(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(b"GET /simulate/slow-60s/v1/models HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n"
                 % (server.port, REPLAY_API_KEY.encode()))
    time.sleep(0.3)
    sock.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and server.log.entries()[-1].get("elapsed_ms") is None:
        time.sleep(0.05)
    entry = server.log.entries()[-1]
    assert entry["simulated"] == "slow" and entry["elapsed_ms"] is not None and entry["elapsed_ms"] < 3000


def test_a_slow_answer_ends_when_the_server_stops():
    srv = KimiServer(mode="replay", pace=0).start()
    thread = threading.Thread(target=lambda: _ignore(lambda: requests.get(
        f"{srv.url}/simulate/slow-60s/v1/models", headers=AUTH, timeout=30)), daemon=True)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 3
    thread.join(5)
    assert not thread.is_alive()


def _ignore(call) -> None:
    try:
        call()
    except requests.RequestException:
        pass


# ---- memory: big bodies to any path, a log bounded in bytes ---------------------------------------------------
def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_forty_8_mib_bodies_leave_memory_growth_under_100_mib(server):
    content = "长" * (8 * 1024 * 1024 // 3 - 200)  # 3 bytes each in UTF-8: just under 8 MiB of JSON
    body = json.dumps({"model": "kimi-k2.6", "messages": [{"role": "user", "content": content}]},
                      ensure_ascii=False).encode()
    assert 7.9 * 2**20 < len(body) <= 8 * 2**20
    paths = ["/v1/chat/completions", "/nowhere", "/simulate/overloaded/v1/chat/completions", "/v1/files"]
    with requests.Session() as session:
        session.post(server.base_url + "/models", data=b"{}", headers=AUTH, timeout=30)  # warm up
        gc.collect()
        before = _rss_mib()
        for i in range(40):
            r = session.post(server.url + paths[i % len(paths)], data=body,
                             headers={**AUTH, "Content-Type": "application/json"}, timeout=30)
            assert r.status_code in (404, 429), r.text[:200]
    gc.collect()
    grown = _rss_mib() - before
    assert grown < 100, f"memory grew by {grown:.0f} MiB"
    logged = [e for e in server.log.entries() if isinstance(e["body"], (dict, str))]
    assert logged and all(len(json.dumps(e["body"], ensure_ascii=False).encode()) <= MAX_ENTRY_BYTES + 100
                          for e in logged)
    shown = json.dumps(server.log.entries()[-4:], ensure_ascii=False)
    assert "shortened" in shown


def test_a_body_over_8_mib_is_a_413(server):
    r = post(server, b'{"a":"' + b"x" * (8 * 2**20 + 10) + b'"}')
    assert r.status_code == 413 and r.json()["error"]["type"] == "invalid_request_error"


# ---- who may talk to the server --------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{"Host": "evil.example"}, {"Host": "127.0.0.1.evil.example:80"},
                                     {"Origin": "http://evil.example"}, {"Origin": "null"}])
def test_foreign_hosts_and_origins_are_refused(server, headers):
    for method, path in (("GET", "/_course/requests"), ("DELETE", "/_course/requests"), ("POST", "/_course/reset"),
                         ("GET", "/v1/models")):
        r = requests.request(method, server.url + path, headers={**AUTH, **headers}, timeout=5)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["type"] == "permission_denied_error"
        assert "requests" not in r.json()


def test_own_origins_are_welcome(server):
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        r = requests.get(server.base_url + "/models", headers={**AUTH, "Host": host,
                                                               "Origin": f"http://{host}"}, timeout=5)
        assert r.status_code == 200


# ---- load: 2,000 requests from 100 clients, a mix of everything -----------------------------------------------
def _mixed_exchanges(tmp: Path) -> list[tuple[str, str, dict | None, dict | None, int, object]]:
    """(method, url path, body, headers, expected status, expected body or 'stream:<text>' or error type)."""
    stream = chat("load-stream", {**CHAT_BODY, "stream": True}, "一二三四五六七八九十")
    write_recording(tmp, stream)
    write_recording(tmp, PARAPHRASE)
    return [
        ("POST", "/v1/chat/completions", CHAT_BODY, AUTH, 200, PARAPHRASE.response["body"]),
        ("POST", "/v1/chat/completions", {**CHAT_BODY, "stream": True}, AUTH, 200, "stream:一二三四五六七八九十"),
        ("POST", "/v1/chat/completions", CHAT_BODY, {"Authorization": "Bearer nope"}, 401,
         "invalid_authentication_error"),
        ("POST", "/v1/chat/completions", {**CHAT_BODY, "temperature": 7}, AUTH, 400, "invalid_request_error"),
        ("POST", "/simulate/overloaded/v1/chat/completions", CHAT_BODY, AUTH, 429, "engine_overloaded_error"),
        ("POST", "/simulate/server_error/v1/chat/completions", CHAT_BODY, AUTH, 500, "unexpected_output"),
        ("POST", "/v1/chat/completions", {**CHAT_BODY, "messages": [{"role": "user", "content": "?"}]}, AUTH, 404,
         "recording_not_found_error"),
        ("GET", "/v2/nothing", None, AUTH, 404, "url.not_found"),
    ]


def test_two_thousand_mixed_requests_from_a_hundred_clients(tmp_path):
    exchanges = _mixed_exchanges(tmp_path)
    srv = KimiServer(mode="replay", recordings_dir=tmp_path, pace=0).start()
    clients, per_client = 100, 20
    together = threading.Barrier(clients)

    def client(c: int) -> list[str]:
        problems = []
        with requests.Session() as session:
            together.wait(timeout=30)
            for i in range(per_client):
                method, path, body, headers, status, expected = exchanges[(c + i) % len(exchanges)]
                marker = f"c{c}-r{i}"
                r = session.request(method, srv.url + path, json=body, headers={**(headers or {}), "X-Mark": marker},
                                    timeout=30)
                if isinstance(expected, str) and expected.startswith("stream:"):
                    sse = r.content.decode("utf-8")  # SSE is UTF-8, whatever requests guesses
                    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                                   for line in sse.split("\n\n") if line.startswith("data: {"))
                    ok = r.status_code == 200 and text == expected[7:] and sse.rstrip().endswith("data: [DONE]")
                elif isinstance(expected, str):
                    answer = r.json()
                    kind = answer["error"] if isinstance(answer["error"], str) else answer["error"]["type"]
                    ok = r.status_code == status and kind == expected
                else:
                    ok = r.status_code == status and r.json() == expected
                if not ok:
                    problems.append(f"{marker} {method} {path}: {r.status_code} {r.text[:100]}")
        return problems

    try:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            problems = [p for result in pool.map(client, range(clients)) for p in result]
        assert not problems, f"{len(problems)} wrong answers, e.g. {problems[:3]}"
        marks = [e["headers"].get("X-Mark") for e in srv.log.entries()]
        assert len(marks) == clients * per_client and len(set(marks)) == len(marks), "lost or duplicated requests"
    finally:
        srv.stop()


def test_three_hundred_clients_leaving_mid_stream_disturb_no_one(tmp_path):
    text = "，".join(str(i) for i in range(1, 41))
    stream = chat("leave-stream", {**CHAT_BODY, "stream": True}, text)
    write_recording(tmp_path, stream)
    srv = KimiServer(mode="replay", recordings_dir=tmp_path, pace=0.5).start()
    body = json.dumps(stream.request["body"], ensure_ascii=False).encode()
    raw = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (srv.port, REPLAY_API_KEY.encode(),
                                                                              len(body))) + body

    def leave(_: int) -> bool:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        sock.sendall(raw)
        got = b""
        while got.count(b"data: ") < 2:
            piece = sock.recv(4096)
            if not piece:
                return False
            got += piece
        sock.close()
        return True

    try:
        client = openai.OpenAI(base_url=srv.base_url, api_key=REPLAY_API_KEY, max_retries=0)
        result: dict = {}

        def bystander() -> None:
            pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(**stream.request["body"])
                      if c.choices]
            result["text"] = "".join(pieces)

        watcher = threading.Thread(target=bystander)
        watcher.start()
        with ThreadPoolExecutor(max_workers=50) as pool:
            left = list(pool.map(leave, range(300)))
        watcher.join(30)
        assert all(left)
        assert result.get("text") == text
        r = requests.post(srv.base_url + "/chat/completions", json={**CHAT_BODY, "stream": True}, headers=AUTH,
                          timeout=10)
        assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]")
    finally:
        srv.stop()
