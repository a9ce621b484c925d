"""The local server in replay mode, driven by the clients the course teaches: a `curl` subprocess, `requests`,
`openai.OpenAI` (plain, stream, with_raw_response) and `openai.AsyncOpenAI`. Each test asserts what the
client actually received: bodies, headers, SSE bytes, the SDK's exception classes and its retries."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
import uuid
from pathlib import Path

import openai
import pytest
import requests

from helpers.authoring import chat
from helpers.recordings import Recording, write_recording
from helpers.server import KimiServer
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

KEY = REPLAY_API_KEY
# The lab's requests with the course's model (the lab's own models are retired: the server answers them with a 404).
LAB = ["l01-hello-lilei", "l08-paraphrase-01", "l02-what-can-you-do", "models-list", "balance"]
HELLO = json.loads((RECORDINGS_DIR / "l01-hello-lilei.json").read_text(encoding="utf-8"))
HELLO_BODY = HELLO["request"]["body"]
HELLO_TEXT = HELLO["response"]["body"]["choices"][0]["message"]["content"]

STREAM_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "讲一个很短的故事。"}], "stream": True}
STREAM_TEXT = "从前有座山，山里有座庙，庙里有个老和尚在讲故事。"
PACED_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "慢慢数到五。"}], "stream": True}
K2_BODY = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "1+1等于几？"}]}
K2_STREAM_BODY = {**K2_BODY, "stream": True}
K2_REASONING, K2_TEXT = "用户问一个简单的加法。", "1+1等于2。"

# What Kimi sends (tests/captures/real_200_chat_nonstream_kimi_k3.json), plus what HTTP itself adds.
# Nothing that changes how a client behaves: no x-should-retry; Retry-After only where a real 429 has it.
ALLOWED_HEADERS = {"content-type", "msh-request-id", "server-timing", "msh-trace-mode", "x-msh-trace-id", "vary",
                   "date", "server", "content-length", "transfer-encoding"}


@pytest.fixture(scope="module")
def recordings_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recordings")
    for name in LAB:
        write_recording(folder, Recording.from_file(RECORDINGS_DIR / f"{name}.json"))
    write_recording(folder, chat("t-stream", STREAM_BODY, STREAM_TEXT))
    write_recording(folder, chat("t-paced", PACED_BODY, "一，二，三，四，五。", first_token_at=0.2, seconds_per_piece=0.06))
    write_recording(folder, chat("t-k2", K2_BODY, K2_TEXT, reasoning=K2_REASONING))
    write_recording(folder, chat("t-k2-stream", K2_STREAM_BODY, K2_TEXT, reasoning=K2_REASONING))
    return folder


@pytest.fixture(scope="module")
def server_options(recordings_dir):
    return {"recordings_dir": recordings_dir}


pytestmark = pytest.mark.usefixtures("fresh")


def sdk(base_url: str, **options) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=base_url, api_key=options.pop("api_key", KEY), **options)


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def log(server) -> list[dict]:
    return requests.get(server.url + "/_course/requests", timeout=5).json()["requests"]


def curl(url: str, data: str | bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None,
         extra: tuple[str, ...] = ()) -> tuple[int, int, dict[str, str], bytes]:
    """Run curl; return (exit code, status, headers with lower-case names, body bytes)."""
    cmd = ["curl", "-sS", "-i", "-N", "--max-time", "15", url]
    for name, value in (headers if headers is not None else auth()).items():
        cmd += ["-H", f"{name}: {value}"]
    if method:
        cmd += ["-X", method]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    cmd += list(extra)
    done = subprocess.run(cmd, input=data.encode() if isinstance(data, str) else data, capture_output=True, timeout=30)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    found = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    return done.returncode, status, found, body


def assert_kimi_error(body, status_type: str, message_part: str = "") -> str:
    assert isinstance(body, dict) and list(body) == ["error"], body
    assert sorted(body["error"]) == ["message", "type"], body
    assert body["error"]["type"] == status_type
    assert message_part in body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]
    return body["error"]["message"]


# ---- one request, every client, one recording ------------------------------------------------------------------

def test_the_same_request_from_every_client_hits_the_same_recording(server):
    url = server.base_url + "/chat/completions"
    answers = {}
    code, status, _, body = curl(url, json.dumps(HELLO_BODY, ensure_ascii=False, indent=2))
    assert (code, status) == (0, 200)
    answers["curl"] = json.loads(body)
    answers["requests json="] = requests.post(url, json=HELLO_BODY, headers=auth(), timeout=10).json()
    shuffled = dict(reversed(list(HELLO_BODY.items())))  # another key order, ASCII escapes, other spacing
    answers["requests data="] = requests.post(url, data=json.dumps(shuffled), headers={**auth(), "Content-Type": "application/json"},
                                              timeout=10).json()
    answers["openai"] = sdk(server.base_url).chat.completions.create(**HELLO_BODY).model_dump(exclude_none=True)

    async def async_call():
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
            return (await client.chat.completions.create(**HELLO_BODY)).model_dump(exclude_none=True)

    answers["AsyncOpenAI"] = asyncio.run(async_call())
    for client, answer in answers.items():
        assert answer["choices"][0]["message"]["content"] == HELLO_TEXT, client
        assert answer["id"] == HELLO["response"]["body"]["id"], client
        assert answer["usage"] == HELLO["response"]["body"]["usage"], client
    entries = log(server)
    assert [e["recording"] for e in entries] == ["l01-hello-lilei"] * 5
    assert [e["status"] for e in entries] == [200] * 5
    user_agents = [e["headers"].get("User-Agent") or e["headers"].get("user-agent") for e in entries]
    assert user_agents[0].startswith("curl/") and user_agents[1].startswith("python-requests/")
    assert user_agents[3].startswith("OpenAI/Python") and user_agents[4].startswith("AsyncOpenAI/Python")


def test_a_miss_names_the_nearest_recording_and_the_differing_fields(server):
    body = {**HELLO_BODY, "max_tokens": 100}
    started = time.monotonic()
    code, status, headers, raw = curl(server.base_url + "/chat/completions", json.dumps(body))
    assert (code, status) == (0, 404)
    message = assert_kimi_error(json.loads(raw), "recording_not_found_error", "'l01-hello-lilei'")
    assert "max_tokens: sent here, not in the recording" in message
    assert headers["content-type"].startswith("application/json")

    r = requests.post(server.base_url + "/chat/completions", json=body, headers=auth(), timeout=10)
    assert r.status_code == 404 and r.json() == json.loads(raw)

    with pytest.raises(openai.NotFoundError) as info:
        sdk(server.base_url).chat.completions.create(**body)
    assert info.value.status_code == 404 and info.value.type == "recording_not_found_error"
    assert "max_tokens: sent here, not in the recording" in info.value.message
    assert time.monotonic() - started < 3  # an answer at once, no hang
    assert [e["status"] for e in log(server)] == [404, 404, 404]


def test_a_miss_on_another_field_names_that_field(server):
    body = {**HELLO_BODY, "messages": [HELLO_BODY["messages"][0], {"role": "user", "content": "你好，我叫韩梅梅"}]}
    r = requests.post(server.base_url + "/chat/completions", json=body, headers=auth(), timeout=10)
    message = assert_kimi_error(r.json(), "recording_not_found_error", "l01-hello-lilei")
    assert "messages[1].content" in message and "韩梅梅" in message


# ---- the openai SDK ---------------------------------------------------------------------------------------------

def test_openai_plain_call(server):
    completion = sdk(server.base_url).chat.completions.create(**HELLO_BODY)
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.object == "chat.completion" and completion.model == DEFAULT_MODEL
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == HELLO_TEXT
    assert completion.usage.model_dump(exclude_none=True) == HELLO["response"]["body"]["usage"]


def test_openai_with_raw_response_shows_kimis_headers(server):
    raw = sdk(server.base_url).chat.completions.with_raw_response.create(**HELLO_BODY)
    assert raw.status_code == 200
    assert raw.headers["msh-request-id"] == HELLO["response"]["headers"]["Msh-Request-Id"]
    assert raw.headers["server-timing"] == HELLO["response"]["headers"]["Server-Timing"]
    assert raw.headers["content-type"] == "application/json; charset=utf-8"
    assert raw.request_id is None  # the SDK reads x-request-id, which Kimi does not send
    assert raw.parse().choices[0].message.content == HELLO_TEXT


def test_openai_stream(server):
    chunks = list(sdk(server.base_url).chat.completions.create(**STREAM_BODY))
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == STREAM_TEXT
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert isinstance(last.usage, dict) and last.usage["total_tokens"] > last.usage["completion_tokens"] > 0
    assert chunks[-1].usage is None  # Kimi puts usage inside the choice, not at the top
    assert len({c.id for c in chunks}) == 1


def test_openai_reasoning_content_for_the_default_model(server):
    client = sdk(server.base_url)
    message = client.chat.completions.create(**K2_BODY).choices[0].message
    assert (message.content, message.model_extra["reasoning_content"]) == (K2_TEXT, K2_REASONING)
    chunks = list(client.chat.completions.create(**K2_STREAM_BODY))
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert (reasoning, content) == (K2_REASONING, K2_TEXT)


def test_openai_models_list(server):
    ids = [m.id for m in sdk(server.base_url).models.list()]
    assert DEFAULT_MODEL in ids and "kimi-k3" in ids and "moonshot-v1-8k" not in ids


def test_async_openai_plain_stream_and_concurrent(server):
    async def main():
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
            stream = await client.chat.completions.create(**STREAM_BODY)
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
            many = await asyncio.gather(*[client.chat.completions.create(**HELLO_BODY) for _ in range(5)])
            return streamed, [c.choices[0].message.content for c in many]

    streamed, texts = asyncio.run(main())
    assert streamed == STREAM_TEXT
    assert texts == [HELLO_TEXT] * 5
    assert sum(1 for e in log(server) if e["recording"] == "l01-hello-lilei") == 5


def test_requests_get_endpoints(server):
    r = requests.get(server.base_url + "/users/me/balance", headers=auth(), timeout=10)
    recorded = json.loads((RECORDINGS_DIR / "balance.json").read_text(encoding="utf-8"))["response"]["body"]
    assert r.status_code == 200 and r.json() == recorded
    code, status, _, body = curl(server.base_url + "/models")
    assert (code, status) == (0, 200)
    assert DEFAULT_MODEL in [m["id"] for m in json.loads(body)["data"]]


# ---- SSE exactly as Kimi sends it ----------------------------------------------------------------------------------

def check_sse_bytes(raw: bytes, text: str) -> list:
    assert raw.endswith(b"data: [DONE]\n\n")
    assert b"\r" not in raw
    blocks = raw.decode("utf-8").split("\n\n")
    assert blocks[-1] == ""  # every event is followed by a blank line
    events = blocks[:-1]
    assert all(e.startswith("data: ") and "\n" not in e for e in events), events
    datas = [e[len("data: "):] for e in events]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == text
    final = chunks[-1]["choices"][0]
    assert final["finish_reason"] == "stop" and final["delta"] == {}
    assert set(final["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    return chunks


def test_sse_bytes_through_curl(server):
    code, status, headers, raw = curl(server.base_url + "/chat/completions", json.dumps(STREAM_BODY))
    assert (code, status) == (0, 200)
    assert headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    chunks = check_sse_bytes(raw, STREAM_TEXT)
    recorded = json.loads((server.recordings_dir / "t-stream.json").read_text(encoding="utf-8"))["response"]["events"]
    assert chunks == [e["data"] for e in recorded[:-1]]


def test_sse_bytes_through_requests(server):
    with requests.post(server.base_url + "/chat/completions", json=STREAM_BODY, headers=auth(), stream=True, timeout=10) as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream"
        raw = b"".join(r.iter_content(chunk_size=None))
    check_sse_bytes(raw, STREAM_TEXT)


def timed_stream(base_url: str) -> tuple[float, float]:
    """(seconds to the first content delta, seconds to the end) for the paced recording."""
    started = time.monotonic()
    first = None
    with requests.post(base_url + "/chat/completions", json=PACED_BODY, headers=auth(), stream=True, timeout=10) as r:
        for line in r.iter_lines():
            if first is None and line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
                first = time.monotonic() - started
    return first, time.monotonic() - started


def test_pacing_scales_with_pace(recordings_dir, server):
    events = json.loads((recordings_dir / "t-paced.json").read_text(encoding="utf-8"))["response"]["events"]
    recorded_total = events[-1]["at"]
    assert recorded_total >= 0.4
    fast_first, fast_total = timed_stream(server.base_url)
    paced = KimiServer("replay", recordings_dir, pace=1).start()
    half = KimiServer("replay", recordings_dir, pace=0.5).start()
    try:
        slow_first, slow_total = timed_stream(paced.base_url)
        half_first, half_total = timed_stream(half.base_url)
        started = time.monotonic()
        assert requests.post(paced.base_url + "/chat/completions", json=HELLO_BODY, headers=auth(), timeout=10).ok
        non_stream = time.monotonic() - started
    finally:
        paced.stop()
        half.stop()
    assert fast_total < 0.25 * recorded_total
    assert slow_total >= 0.9 * recorded_total
    assert 0.4 * recorded_total <= half_total < 0.9 * recorded_total
    assert slow_first < slow_total - 0.15  # the first words arrive well before the end: it streams
    assert non_stream >= 0.9 * HELLO["response"]["elapsed"]


# ---- validation, like the real service -------------------------------------------------------------------------

VALIDATION = [
    # (id, headers, raw body, status, type, part of the message)
    ("no-authorization", {}, HELLO_BODY, 401, "invalid_authentication_error", "Invalid Authentication"),
    ("bearer-without-key", {"Authorization": "Bearer"}, HELLO_BODY, 401, "invalid_authentication_error", "Invalid Authentication"),
    ("basic-scheme", {"Authorization": f"Basic {KEY}"}, HELLO_BODY, 401, "invalid_authentication_error", ""),
    ("key-without-scheme", {"Authorization": KEY}, HELLO_BODY, 401, "invalid_authentication_error", ""),
    ("wrong-key", auth("test-wrong-key-000"), HELLO_BODY, 401, "invalid_authentication_error", "Invalid Authentication"),
    ("wrong-key-before-bad-json", auth("test-wrong-key-000"), "{oops", 401, "invalid_authentication_error", ""),
    ("not-json", auth(), "{oops", 400, "invalid_request_error", "not valid JSON"),
    ("empty-body", auth(), "", 400, "invalid_request_error", "empty"),
    ("json-array", auth(), [1, 2], 400, "invalid_request_error", "JSON object"),
    ("missing-model", auth(), {"messages": HELLO_BODY["messages"]}, 400, "invalid_request_error", "model is required"),
    ("missing-messages", auth(), {"model": DEFAULT_MODEL}, 400, "invalid_request_error", "messages is required"),
    ("empty-messages", auth(), {"model": DEFAULT_MODEL, "messages": []}, 400, "invalid_request_error", "messages"),
    ("bad-role", auth(), {"model": DEFAULT_MODEL, "messages": [{"role": "robot", "content": "x"}]}, 400,
     "invalid_request_error", "role"),
    ("temperature-above-1", auth(), {**HELLO_BODY, "temperature": 1.5}, 400, "invalid_request_error",
     "invalid temperature: only 1 is allowed for this model"),
    ("temperature-below-0", auth(), {**HELLO_BODY, "temperature": -0.1}, 400, "invalid_request_error", "temperature"),
    ("temperature-text", auth(), {**HELLO_BODY, "temperature": "hot"}, 400, "invalid_request_error", "temperature"),
    ("logprobs", auth(), {**HELLO_BODY, "logprobs": True}, 400, "invalid_request_error",
     "invalid logprobs: only false is allowed for this model"),
    ("logit-bias", auth(), {**HELLO_BODY, "logit_bias": {"1734": 5}}, 400, "invalid_request_error",
     "Invalid request: logit_bias is not supported yet"),
    ("unknown-model", auth(), {**HELLO_BODY, "model": "no-such-model"}, 404, "resource_not_found_error",
     "Not found the model no-such-model or Permission denied"),
    ("k2-temperature", auth(), {**K2_BODY, "temperature": 0.3}, 400, "invalid_request_error",
     "invalid temperature: only 1 is allowed for this model"),
    ("k2-no-thinking-temperature", auth(), {**K2_BODY, "temperature": 1, "thinking": {"type": "disabled"}}, 400,
     "invalid_request_error", "invalid temperature: only 0.6 is allowed for this model"),
    ("k2-top-p", auth(), {**K2_BODY, "top_p": 0.5}, 400, "invalid_request_error", "invalid top_p: only 0.95"),
    ("k2-n", auth(), {**K2_BODY, "n": 2}, 400, "invalid_request_error", "invalid n: only 1"),
]


@pytest.mark.parametrize("headers, body, status, type_, part", [v[1:] for v in VALIDATION], ids=[v[0] for v in VALIDATION])
def test_validation_through_requests(server, headers, body, status, type_, part):
    data = body if isinstance(body, str) else json.dumps(body)
    r = requests.post(server.base_url + "/chat/completions", data=data.encode(),
                      headers={**headers, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == status
    assert_kimi_error(r.json(), type_, part)
    assert {h.lower() for h in r.headers} <= ALLOWED_HEADERS
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert log(server)[-1]["recording"] is None  # answered by the server's own checks, not from a recording


@pytest.mark.parametrize("case", ["missing-model", "temperature-above-1", "logit-bias", "k2-temperature"])
def test_validation_through_curl(server, case):
    _, headers, body, status, type_, part = next(v for v in VALIDATION if v[0] == case)
    code, got, _, raw = curl(server.base_url + "/chat/completions", json.dumps(body), headers=headers)
    assert (code, got) == (0, status)
    assert_kimi_error(json.loads(raw), type_, part)


def test_validation_passes_for_the_default_models_fixed_parameters(server):
    # temperature 1 with thinking on, 0.6 with it off: accepted, so the answer is a replay miss, not a 400
    for extra in ({"temperature": 1, "top_p": 0.95, "n": 1}, {"temperature": 0.6, "thinking": {"type": "disabled"}}):
        r = requests.post(server.base_url + "/chat/completions", json={**K2_BODY, **extra}, headers=auth(), timeout=10)
        assert r.status_code == 404 and r.json()["error"]["type"] == "recording_not_found_error"


SDK_ERRORS = [
    ("wrong key", {"api_key": "test-wrong-key-000"}, HELLO_BODY, openai.AuthenticationError, 401, "invalid_authentication_error"),
    ("temperature", {}, {**HELLO_BODY, "temperature": 1.5}, openai.BadRequestError, 400, "invalid_request_error"),
    ("k2 temperature", {}, {**K2_BODY, "temperature": 0.3}, openai.BadRequestError, 400, "invalid_request_error"),
    ("unknown model", {}, {**HELLO_BODY, "model": "no-such-model"}, openai.NotFoundError, 404, "resource_not_found_error"),
    ("replay miss", {}, {**HELLO_BODY, "max_tokens": 99}, openai.NotFoundError, 404, "recording_not_found_error"),
]


@pytest.mark.parametrize("options, body, exc, status, type_", [e[1:] for e in SDK_ERRORS], ids=[e[0] for e in SDK_ERRORS])
def test_sdk_exception_classes(server, options, body, exc, status, type_):
    with pytest.raises(exc) as info:
        sdk(server.base_url, **options).chat.completions.create(**body)
    err = info.value
    assert type(err) is exc
    assert err.status_code == status and err.type == type_
    assert set(err.body) == {"message", "type"} and err.body["type"] == type_
    assert str(err) == f"Error code: {status} - {err.body['message']}"
    assert err.response.headers["msh-request-id"]
    assert len(log(server)) == 1  # 4xx other than 429: never retried


@pytest.mark.parametrize("fault, exc, status, type_", [
    ("rate_limit", openai.RateLimitError, 429, "rate_limit_reached_error"),
    ("overloaded", openai.RateLimitError, 429, "engine_overloaded_error"),
    ("quota", openai.RateLimitError, 429, "exceeded_current_quota_error"),
    ("server_error", openai.InternalServerError, 500, "unexpected_output"),
])
def test_sdk_exception_classes_for_server_side_errors(server, fault, exc, status, type_):
    with pytest.raises(exc) as info:
        sdk(f"{server.url}/simulate/{fault}/v1").chat.completions.create(**HELLO_BODY)
    assert type(info.value) is exc and info.value.status_code == status and info.value.type == type_
    assert info.value.response.headers["x-simulated-fault"] == fault


def test_sdk_timeout_and_connection_errors(server):
    with pytest.raises(openai.APITimeoutError) as info:
        sdk(f"{server.url}/simulate/slow-3s/v1", timeout=0.3).chat.completions.create(**HELLO_BODY)
    assert str(info.value) == "Request timed out."
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(openai.APIConnectionError) as info:
        sdk(f"http://127.0.0.1:{free_port}/v1").chat.completions.create(**HELLO_BODY)
    assert type(info.value) is openai.APIConnectionError and str(info.value) == "Connection error."


def test_sdk_error_event_mid_stream_is_a_plain_api_error(server):
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in sdk(f"{server.url}/simulate/stream_error/v1").chat.completions.create(**STREAM_BODY):
            received.append(chunk)
    assert type(info.value) is openai.APIError  # not an APIStatusError: the status was 200
    assert info.value.type == "engine_overloaded_error"
    assert info.value.message == "The engine is currently overloaded, please try again later"
    assert received and received[0].choices[0].delta.role == "assistant"
    assert received[-1].choices[0].finish_reason is None  # cut off before the end


def test_async_openai_exception_classes(server):
    async def main():
        errors = []
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test-wrong-key-000", max_retries=0) as bad:
            try:
                await bad.chat.completions.create(**HELLO_BODY)
            except openai.APIError as exc:
                errors.append(exc)
        async with openai.AsyncOpenAI(base_url=f"{server.url}/simulate/rate_limit/v1", api_key=KEY, max_retries=0) as c:
            try:
                await c.chat.completions.create(**HELLO_BODY)
            except openai.APIError as exc:
                errors.append(exc)
        return errors

    auth_error, rate_error = asyncio.run(main())
    assert type(auth_error) is openai.AuthenticationError and auth_error.status_code == 401
    assert type(rate_error) is openai.RateLimitError and "please try again after" in rate_error.message


# ---- the SDK's retries ----------------------------------------------------------------------------------------------

def retry_counts(server) -> list[str]:
    return [{k.lower(): v for k, v in e["headers"].items()}.get("x-stainless-retry-count") for e in log(server)]


def test_sdk_retries_a_429_twice_by_default(server):
    client = openai.OpenAI(base_url=f"{server.url}/simulate/rate_limit/v1", api_key=KEY)  # default max_retries=2
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**HELLO_BODY)
    assert retry_counts(server) == ["0", "1", "2"]
    assert [e["status"] for e in log(server)] == [429, 429, 429]


def test_sdk_with_max_retries_0_sends_once(server):
    with pytest.raises(openai.RateLimitError):
        sdk(f"{server.url}/simulate/rate_limit/v1", max_retries=0).chat.completions.create(**HELLO_BODY)
    assert retry_counts(server) == ["0"]


# ---- headers: only what the real service sends ------------------------------------------------------------------

def test_replayed_headers_are_only_kimis(server):
    url = server.base_url + "/chat/completions"
    answers = {
        "json": requests.post(url, json=HELLO_BODY, headers=auth(), timeout=10),
        "stream": requests.post(url, json=STREAM_BODY, headers=auth(), timeout=10),
        "401": requests.post(url, json=HELLO_BODY, timeout=10),
        "400": requests.post(url, json={**HELLO_BODY, "temperature": 2}, headers=auth(), timeout=10),
        "404 miss": requests.post(url, json={**HELLO_BODY, "max_tokens": 99}, headers=auth(), timeout=10),
        "models": requests.get(server.base_url + "/models", headers=auth(), timeout=10),
    }
    for what, r in answers.items():
        names = {h.lower() for h in r.headers}
        assert names <= ALLOWED_HEADERS, (what, names - ALLOWED_HEADERS)
        assert "msh-request-id" in names or what in ("401",), what
        assert "x-should-retry" not in names and "retry-after" not in names and "x-request-id" not in names
    assert answers["json"].headers["Content-Length"] == str(len(answers["json"].content))
    assert answers["stream"].headers["Transfer-Encoding"] == "chunked"


def test_fault_answers_add_only_their_label(server):
    r = requests.post(f"{server.url}/simulate/overloaded/v1/chat/completions", json=HELLO_BODY, headers=auth(), timeout=10)
    assert r.status_code == 429
    names = {h.lower() for h in r.headers}
    assert names - ALLOWED_HEADERS == {"x-simulated-fault"}
    assert "retry-after" not in names and "x-should-retry" not in names


# ---- the request log -----------------------------------------------------------------------------------------------

def test_request_log_masks_the_key_and_clears(server):
    secret = f"test-secret-{uuid.uuid4().hex}"
    sdk(server.base_url).chat.completions.create(**HELLO_BODY)
    requests.post(server.base_url + "/chat/completions", json=HELLO_BODY,
                  headers={**auth(secret), "Cookie": f"session={secret}"}, timeout=10)
    curl(server.base_url + "/models")
    entries = log(server)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/chat/completions", 200), ("POST", "/v1/chat/completions", 401), ("GET", "/v1/models", 200)]
    assert [e["n"] for e in entries] == sorted(e["n"] for e in entries)
    text = json.dumps(entries)
    assert KEY not in text and secret not in text
    for e in entries:
        headers = {k.lower(): v for k, v in e["headers"].items()}
        assert headers["authorization"] == "Bearer ***"
    assert {k.lower(): v for k, v in entries[1]["headers"].items()}["cookie"] == "***"
    assert entries[0]["body"] == HELLO_BODY and entries[0]["recording"] == "l01-hello-lilei"
    assert entries[0]["elapsed_ms"] >= 0
    # the Python side holds the same entries
    assert [e["n"] for e in server.log.entries()] == [e["n"] for e in entries]
    cleared = requests.delete(server.url + "/_course/requests", timeout=5)
    assert cleared.status_code == 200 and cleared.json() == {"cleared": True}
    assert log(server) == [] and server.log.entries() == []
