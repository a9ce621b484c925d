"""Simulated faults (/simulate/<fault>/v1) and rate-limit tiers (/limits/<tier>/v1), seen from curl, requests
and the openai SDK: the status and error body each client gets, the X-Simulated-Fault label, determinism of
"fail N times", slow answers against client timeouts, dropped connections, errors in the middle of a stream,
and a tier's 429 that says when to try again."""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import uuid

import openai
import pytest
import requests

from helpers.authoring import chat
from helpers.recordings import Recording, write_recording
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

KEY = REPLAY_API_KEY
HELLO = json.loads((RECORDINGS_DIR / "l01-hello-lilei.json").read_text(encoding="utf-8"))
HELLO_BODY = HELLO["request"]["body"]
HELLO_TEXT = HELLO["response"]["body"]["choices"][0]["message"]["content"]
STREAM_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "用三句话介绍长城。"}], "stream": True}
STREAM_TEXT = "长城是中国古代的军事防御工程。它绵延上万里。今天它是世界文化遗产。"

STATUS_FAULTS = {
    # fault: (status, type, part of the message, SDK exception)
    "rate_limit": (429, "rate_limit_reached_error", "request reached organization max RPM", openai.RateLimitError),
    "concurrency": (429, "rate_limit_reached_error", "request reached organization max concurrency", openai.RateLimitError),
    "overloaded": (429, "engine_overloaded_error", "The engine is currently overloaded", openai.RateLimitError),
    "quota": (429, "exceeded_current_quota_error", "You exceeded your current token quota", openai.RateLimitError),
    "server_error": (500, "unexpected_output", "invalid state transition", openai.InternalServerError),
}
CLIENTS = ("curl", "requests", "openai")


@pytest.fixture(scope="module")
def server_options(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings")
    for name in ("l01-hello-lilei", "models-list"):
        write_recording(folder, Recording.from_file(RECORDINGS_DIR / f"{name}.json"))
    write_recording(folder, chat("t-great-wall", STREAM_BODY, STREAM_TEXT))
    return {"recordings_dir": folder}


pytestmark = pytest.mark.usefixtures("fresh")


def tag() -> str:
    return uuid.uuid4().hex[:8]


def log(server) -> list[dict]:
    return requests.get(server.url + "/_course/requests", timeout=5).json()["requests"]


def sdk(base_url: str, **options) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=base_url, api_key=KEY, **options)


def curl(url: str, body: dict, *extra: str) -> tuple[int, int, dict[str, str], bytes]:
    """POST body with curl; return (exit code, status, lower-case headers, body bytes)."""
    cmd = ["curl", "-sS", "-i", "-N", url, "-H", f"Authorization: Bearer {KEY}", "-H", "Content-Type: application/json",
           "--data-binary", "@-", *extra]
    done = subprocess.run(cmd, input=json.dumps(body).encode(), capture_output=True, timeout=30)
    head, _, raw = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return done.returncode, status, headers, raw


def send(client: str, base_url: str, body: dict = HELLO_BODY) -> tuple[int, dict, str | None]:
    """One chat request through `client`: (status, error-or-answer body, X-Simulated-Fault)."""
    if client == "curl":
        code, status, headers, raw = curl(base_url + "/chat/completions", body)
        assert code == 0
        return status, json.loads(raw), headers.get("x-simulated-fault")
    if client == "requests":
        r = requests.post(base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        return r.status_code, r.json(), r.headers.get("X-Simulated-Fault")
    try:
        raw = sdk(base_url).chat.completions.with_raw_response.create(**body)
    except openai.APIStatusError as exc:
        return exc.status_code, {"error": exc.body, "exception": type(exc)}, exc.response.headers.get("x-simulated-fault")
    return raw.status_code, raw.parse().model_dump(), raw.headers.get("x-simulated-fault")


# ---- status faults, from every client ----------------------------------------------------------------------------

@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("fault", list(STATUS_FAULTS))
def test_status_fault_from_each_client(server, fault, client):
    status, type_, part, exc = STATUS_FAULTS[fault]
    got_status, body, label = send(client, f"{server.url}/simulate/{fault}/v1")
    assert got_status == status
    assert label == fault
    assert body["error"]["type"] == type_ and part in body["error"]["message"]
    assert set(body["error"]) == {"message", "type"}
    if client == "openai":
        assert body["exception"] is exc
    assert [e["simulated"] for e in log(server)] == [fault]


def test_rate_limit_messages_say_when_to_retry(server):
    for fault in ("rate_limit", "concurrency"):
        _, body, _ = send("requests", f"{server.url}/simulate/{fault}/v1")
        assert re.search(r"please try again after 1 seconds$", body["error"]["message"])


def test_fault_429s_carry_the_real_cooldown_headers_and_overloaded_none(server):
    # real_429_rate_limit_rpm: Retry-After, X-Retry-After and Msh-Cooldown-Seconds, all 1; real_429_engine_overloaded: none
    cooldown = {"retry-after": "1", "x-retry-after": "1", "msh-cooldown-seconds": "1"}
    for fault, expected in (("rate_limit", cooldown), ("concurrency", cooldown), ("overloaded", {}), ("quota", {})):
        r = requests.post(f"{server.url}/simulate/{fault}/v1/chat/completions", json=HELLO_BODY,
                          headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        got = {k.lower(): v for k, v in r.headers.items() if k.lower() in cooldown}
        assert (r.status_code, got) == (429, expected), fault
        names = {h.lower() for h in r.headers}
        assert "retry-after-ms" not in names and "x-should-retry" not in names
        assert r.headers["Msh-Request-Id"] and r.headers["Msh-Trace-Mode"] == "on"


def test_the_key_is_still_checked_behind_a_fault(server):
    r = requests.post(f"{server.url}/simulate/overloaded/v1/chat/completions", json=HELLO_BODY,
                      headers={"Authorization": "Bearer test-wrong-key-000"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_authentication_error"


# ---- "fail N times, then answer": deterministic --------------------------------------------------------------------

@pytest.mark.parametrize("client", CLIENTS)
def test_overloaded_2_fails_exactly_twice_then_answers(server, client):
    base = f"{server.url}/simulate/overloaded-2~{tag()}/v1"
    results = [send(client, base) for _ in range(4)]
    assert [r[0] for r in results] == [429, 429, 200, 200]
    assert [r[2] for r in results] == ["overloaded", "overloaded", None, None]
    assert results[2][1]["choices"][0]["message"]["content"] == HELLO_TEXT
    assert [e["recording"] for e in log(server)] == [None, None, "l01-hello-lilei", "l01-hello-lilei"]


def test_the_sdk_retries_through_overloaded_2(server):
    client = openai.OpenAI(base_url=f"{server.url}/simulate/overloaded-2~{tag()}/v1", api_key=KEY)  # max_retries=2
    completion = client.chat.completions.create(**HELLO_BODY)
    assert completion.choices[0].message.content == HELLO_TEXT
    entries = log(server)
    assert [e["status"] for e in entries] == [429, 429, 200]
    assert [{k.lower(): v for k, v in e["headers"].items()}["x-stainless-retry-count"] for e in entries] == ["0", "1", "2"]


def test_the_sdk_gives_up_on_overloaded_3(server):
    client = openai.OpenAI(base_url=f"{server.url}/simulate/overloaded-3~{tag()}/v1", api_key=KEY, max_retries=1)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**HELLO_BODY)
    assert [e["status"] for e in log(server)] == [429, 429]


def test_tags_count_separately_and_reset_forgets(server):
    a, b = f"{server.url}/simulate/quota-1~{tag()}/v1", f"{server.url}/simulate/quota-1~{tag()}/v1"
    assert [send("requests", a)[0], send("requests", b)[0], send("requests", a)[0], send("requests", b)[0]] == [429, 429, 200, 200]
    requests.post(server.url + "/_course/reset", timeout=5)
    assert send("requests", a)[0] == 429


def test_counting_holds_under_concurrent_requests(server):
    base = f"{server.url}/simulate/server_error-3~{tag()}/v1"
    statuses: list[int] = []
    lock = threading.Lock()

    def one():
        status = send("requests", base)[0]
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(statuses) == [200] * 7 + [500] * 3


@pytest.mark.parametrize("spec, part", [("teapot", "Unknown simulated fault 'teapot'"),
                                        ("rate_limit-3s", "only 'slow' takes seconds")])
def test_unknown_fault_is_a_clear_404(server, spec, part):
    status, body, _ = send("requests", f"{server.url}/simulate/{spec}/v1")
    assert status == 404 and body["error"]["type"] == "resource_not_found_error"
    assert part in body["error"]["message"]
    if spec == "teapot":
        assert "rate_limit, concurrency, overloaded" in body["error"]["message"]


# ---- slow: against client timeouts -----------------------------------------------------------------------------------

def test_slow_answers_after_the_delay(server):
    started = time.monotonic()
    status, body, label = send("requests", f"{server.url}/simulate/slow-0.4s/v1")
    took = time.monotonic() - started
    assert (status, label) == (200, "slow")
    assert body["choices"][0]["message"]["content"] == HELLO_TEXT
    assert 0.4 <= took < 2


def test_slow_beats_a_short_timeout_in_every_client(server):
    base = f"{server.url}/simulate/slow-3s/v1"
    started = time.monotonic()
    code, status, _, _ = curl(base + "/chat/completions", HELLO_BODY, "--max-time", "0.4")
    assert code == 28 and status == 0  # curl: "Operation timed out", no answer
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(base + "/chat/completions", json=HELLO_BODY, headers={"Authorization": f"Bearer {KEY}"}, timeout=0.4)
    with pytest.raises(openai.APITimeoutError):
        sdk(base, timeout=0.4).chat.completions.create(**HELLO_BODY)
    assert time.monotonic() - started < 2.5  # three timeouts of 0.4 s, not three waits of 3 s
    assert len(log(server)) == 3


def test_slow_streams_normally_after_the_delay(server):
    chunks = list(sdk(f"{server.url}/simulate/slow-0.2s/v1").chat.completions.create(**STREAM_BODY))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == STREAM_TEXT


# ---- disconnect --------------------------------------------------------------------------------------------------------

def test_disconnect_without_an_answer(server):
    base = f"{server.url}/simulate/disconnect/v1"
    code, status, _, raw = curl(base + "/chat/completions", HELLO_BODY)
    assert code == 52 and status == 0 and raw == b""  # curl: "Empty reply from server"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(base + "/chat/completions", json=HELLO_BODY, headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
    with pytest.raises(openai.APIConnectionError) as info:
        sdk(base).chat.completions.create(**HELLO_BODY)
    assert type(info.value) is openai.APIConnectionError
    assert [e["simulated"] for e in log(server)] == ["disconnect"] * 3


def test_disconnect_in_the_middle_of_a_stream(server):
    base = f"{server.url}/simulate/disconnect/v1"
    code, status, headers, raw = curl(base + "/chat/completions", STREAM_BODY)
    assert code == 18 and status == 200  # curl: "Partial file": the stream stopped before its end
    assert headers["x-simulated-fault"] == "disconnect"
    assert raw.startswith(b"data: {") and b"[DONE]" not in raw
    received = []
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.post(base + "/chat/completions", json=STREAM_BODY, headers={"Authorization": f"Bearer {KEY}"},
                           stream=True, timeout=5) as r:
            for line in r.iter_lines():
                received.append(line)
    assert any(line.startswith(b"data: {") for line in received)
    chunks = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in sdk(base).chat.completions.create(**STREAM_BODY):
            chunks.append(chunk)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks and STREAM_TEXT.startswith(text) and text != STREAM_TEXT


# ---- stream_error ---------------------------------------------------------------------------------------------------

def test_stream_error_from_every_client(server):
    base = f"{server.url}/simulate/stream_error/v1"
    code, status, headers, raw = curl(base + "/chat/completions", STREAM_BODY)
    assert (code, status, headers["x-simulated-fault"]) == (0, 200, "stream_error")
    assert headers["content-type"] == "text/event-stream"
    events = raw.decode("utf-8").split("\n\n")
    assert events[-1] == "" and b"[DONE]" not in raw
    last = json.loads(events[-2][len("data: "):])
    assert last == {"error": {"message": "The engine is currently overloaded, please try again later",
                              "type": "engine_overloaded_error"}}
    assert json.loads(events[0][len("data: "):])["choices"][0]["delta"]["role"] == "assistant"

    with requests.post(base + "/chat/completions", json=STREAM_BODY, headers={"Authorization": f"Bearer {KEY}"},
                       stream=True, timeout=5) as r:
        lines = [line for line in r.iter_lines() if line]
    assert r.status_code == 200 and json.loads(lines[-1][len(b"data: "):])["error"]["type"] == "engine_overloaded_error"

    chunks = []
    with pytest.raises(openai.APIError) as info:
        for chunk in sdk(base).chat.completions.create(**STREAM_BODY):
            chunks.append(chunk)
    assert type(info.value) is openai.APIError and info.value.type == "engine_overloaded_error"
    assert 0 < len(chunks) < len(events) - 1


def test_stream_error_needs_a_streaming_request(server):
    status, body, _ = send("requests", f"{server.url}/simulate/stream_error/v1")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert "stream" in body["error"]["message"]


# ---- rate-limit tiers (through HTTP only) -------------------------------------------------------------------------------

RETRY_AFTER = re.compile(r"please try again after (\d+(?:\.\d+)?) seconds")


def burst(url: str, n: int) -> list[requests.Response]:
    with requests.Session() as session:
        return [session.post(url, json=HELLO_BODY, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) for _ in range(n)]


def test_a_tier_refuses_with_a_429_that_says_when(server):
    scale = 60
    url = f"{server.url}/limits/tier0-x{scale}/v1/chat/completions"
    answers = burst(url, 6)  # tier0 allows 3 requests a minute; 6 at once is over any reading of that
    statuses = [r.status_code for r in answers]
    assert statuses[0] == 200 and answers[0].json()["choices"][0]["message"]["content"] == HELLO_TEXT
    assert 429 in statuses and set(statuses) <= {200, 429}
    refused = answers[statuses.index(429)]
    body = refused.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type"}
    assert body["error"]["type"] == "rate_limit_reached_error"
    # Kimi's 1-second cooldown, in real seconds on a clock `scale` times faster: message and headers agree
    wait = float(RETRY_AFTER.search(body["error"]["message"]).group(1))
    assert wait == pytest.approx(1 / scale, rel=0.01)
    for name in ("Retry-After", "X-Retry-After", "Msh-Cooldown-Seconds"):
        assert float(refused.headers[name]) == wait, name
    names = {h.lower() for h in refused.headers}
    assert "x-should-retry" not in names and "x-simulated-fault" not in names
    # a cooldown, not a promise (as live: tier0 said "after 1 seconds" to ~20 retries running); the slot comes at
    # 60/RPM seconds minus half of that, in simulated time
    time.sleep(60 / 3 / 2 / scale + 0.15)
    assert burst(url, 1)[0].status_code == 200


def test_a_tier_from_curl_and_the_sdk(server):
    base = f"{server.url}/limits/tier0-x30/v1"
    code, status, _, raw = curl(base + "/chat/completions", HELLO_BODY)
    assert (code, status) == (0, 200)
    with pytest.raises(openai.RateLimitError) as info:
        for _ in range(6):
            sdk(base).chat.completions.create(**HELLO_BODY)
    assert info.value.type == "rate_limit_reached_error" and RETRY_AFTER.search(info.value.message)


def test_tiers_are_separate_and_an_unknown_tier_is_a_404(server):
    assert 429 in [r.status_code for r in burst(f"{server.url}/limits/tier0-x60/v1/chat/completions", 6)]
    assert burst(f"{server.url}/limits/tier5-x60/v1/chat/completions", 1)[0].status_code == 200
    r = burst(f"{server.url}/limits/tier9/v1/chat/completions", 1)[0]
    assert r.status_code == 404 and r.json()["error"]["type"] == "resource_not_found_error"
