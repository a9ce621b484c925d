"""Fidelity: every recording and the server's own answers held against real captured exchanges with Kimi.

The captures are in tests/captures/ (see its README): live exchanges third parties published, each with its source.
What is checked, and against which capture:
- header names and their order (Server-Timing first, then Kimi's own headers sorted by name), Content-Type,
  Msh-Request-Id as a UUID v1, Msh-Trace-Mode "on", X-Msh-Trace-Id of 32 hex digits, Vary: Origin
  (real_200_chat_nonstream_kimi_k3, real_400_temperature), and the cache header on a cache hit
  (real_200_chat_cache_hit_kimi_k3);
- a chat answer's keys and their order, no system_fingerprint, the id's shape ("chatcmpl-" + 24 hex digits, the
  first 8 the creation time), usage's fields and their order, reasoning_tokens when the model thought, cached_tokens
  at the top and in prompt_tokens_details (real_200_chat_nonstream_kimi_k3, real_200_chat_cache_hit_kimi_k3);
- a stream: "data: <json>" events and a blank line, system_fingerprint on every chunk, the role only in the first,
  usage inside the last choice, then "data: [DONE]" (real_sse_kimi_k2_0905_preview,
  real_sse_final_chunk_kimi_k2_turbo_cached);
- error bodies: for every captured 400, 401, 404 and 429 the server answers the same request with the same status,
  the same body (account ids aside) and the same cooldown headers (or none, for the overloaded 429).
A recording or a code change that departs from a capture fails here with a message naming the capture.
"""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import requests

from helpers.dispatch import Incoming, JsonReply, ServerState, StreamReply, dispatch
from helpers.recordings import Recording, RecordingIndex
from helpers.redact import redact_text
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

CAPTURES_DIR = Path(__file__).parent / "captures"
CAPTURES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(CAPTURES_DIR.glob("real_*.json"))}
INDEX = RecordingIndex.load(RECORDINGS_DIR)
RECORDINGS = sorted(INDEX.all(), key=lambda r: r.name)
PORT = 8124
HOST = ("Host", f"127.0.0.1:{PORT}")
AUTH = ("Authorization", f"Bearer {REPLAY_API_KEY}")

NONSTREAM = "real_200_chat_nonstream_kimi_k3"
CACHE_HIT = "real_200_chat_cache_hit_kimi_k3"
SSE = "real_sse_kimi_k2_0905_preview"
SSE_FINAL = "real_sse_final_chunk_kimi_k2_turbo_cached"
ERROR_400 = "real_400_temperature"
RPM_429 = "real_429_rate_limit_rpm"
OVERLOADED_429 = "real_429_engine_overloaded"
COOLDOWN = ("Msh-Cooldown-Seconds", "Retry-After", "X-Retry-After")
# Headers of Cloudflare's edge or of HTTP itself, not Kimi's: the local server writes its own (an honest Server).
EDGE_HEADERS = {"date", "content-length", "connection", "transfer-encoding", "strict-transport-security",
                "cf-cache-status", "server", "cf-ray"}


def capture(name: str) -> dict:
    return CAPTURES[name]


def kimi_header_order(headers: dict[str, str]) -> list[str]:
    return [name for name in headers if name.lower() not in EDGE_HEADERS | {"content-type"}]


def state() -> ServerState:
    INDEX.reset()
    return ServerState(mode="replay", index=INDEX, accepted_key=REPLAY_API_KEY, port=PORT)


def ask(body, path: str = "/v1/chat/completions", headers=(HOST, AUTH), method: str = "POST", st: ServerState | None = None):
    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    return dispatch(Incoming.make(method, path, "", list(headers), raw), st or state())


# ---- the headers ---------------------------------------------------------------------------------------------

# api.moonshot.cn answers (MoonshotAI/moonpalace's README, 2024) carry Server-Timing "inner; dur=N" instead: a live
# recording from that host may say so.
CN_SERVER_TIMING = re.compile(r"inner; dur=\d+")


def header_problems(headers: dict[str, str], against: str, content_type: str = "application/json; charset=utf-8",
                    live_cn: bool = False) -> list[str]:
    """How a set of answer headers departs from the capture `against` (empty when it doesn't)."""
    real = capture(against)["response"]["headers"]
    problems = []
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("content-type", content_type) != content_type:
        problems.append(f"Content-Type {lower.get('content-type')!r}, the capture has {content_type!r}")
    for name in ("Server-Timing", "Msh-Trace-Mode", "Vary"):
        if name == "Server-Timing" and live_cn and CN_SERVER_TIMING.fullmatch(headers.get(name, "")):
            continue
        if headers.get(name) != real[name]:
            problems.append(f"{name} {headers.get(name)!r}, the capture has {real[name]!r}")
    try:
        rid = uuid.UUID(headers.get("Msh-Request-Id", ""))
        if rid.version != 1 or rid.variant != uuid.RFC_4122:
            problems.append(f"Msh-Request-Id {rid} is not a UUID v1 like {real['Msh-Request-Id']}")
    except ValueError:
        problems.append(f"Msh-Request-Id {headers.get('Msh-Request-Id')!r} is not a UUID like {real['Msh-Request-Id']}")
    if not re.fullmatch(r"[0-9a-f]{32}", headers.get("X-Msh-Trace-Id", "")):
        problems.append(f"X-Msh-Trace-Id {headers.get('X-Msh-Trace-Id')!r} is not 32 hex digits like "
                        f"{real['X-Msh-Trace-Id']}")
    order = kimi_header_order(headers)
    if order and (order[0] != "Server-Timing" or order[1:] != sorted(order[1:])):
        problems.append(f"header order {order}; the capture has Server-Timing, then Kimi's headers by name: "
                        f"{kimi_header_order(real)}")
    unknown = {n for n in order if n not in ("Server-Timing", "Msh-Request-Id", "Msh-Trace-Mode", "Vary",
                                             "X-Msh-Trace-Id", "Msh-Context-Cache-Token-Saved", *COOLDOWN)}
    if unknown:
        problems.append(f"headers no capture shows: {sorted(unknown)}")
    return problems


def test_the_captures_are_whole_and_say_where_they_came_from():
    assert len(CAPTURES) >= 18
    for name, data in CAPTURES.items():
        assert data["name"] == name and data["kind"] == "captured", name
        src = data["source"]
        assert (src.get("repo") and src.get("path") and (src.get("commit") or src.get("index_file_id"))) \
            or src.get("url") or src.get("index_file_id"), name
        assert src.get("captured_at"), name
        headers = {k.lower(): v for k, v in (data["response"].get("headers") or {}).items()}
        body = data["response"].get("body")
        # the stored body is byte for byte what was sent, where its length was captured (the RPM 429 was redacted
        # after capture, and says so)
        if "content-length" in headers and name != RPM_429:
            compact = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            assert len(compact) == int(headers["content-length"]), name


def test_the_captures_agree_among_themselves_on_the_headers():
    for name, data in CAPTURES.items():
        headers = data["response"].get("headers")
        if headers and "Server-Timing" in headers:  # the .ai answers of 2026, names as sent
            assert header_problems(headers, NONSTREAM) == [], name


# ---- the recordings ---------------------------------------------------------------------------------------------

def chat_body_problems(rec: Recording) -> list[str]:
    body = rec.response["body"]
    real = capture(CACHE_HIT)["response"]["body"]
    problems = []
    if list(body) != list(real):
        problems.append(f"keys {list(body)}, {CACHE_HIT} has {list(real)} (and no system_fingerprint)")
    match = re.fullmatch(r"chatcmpl-([0-9a-f]{24})", str(body.get("id")))
    if not match:
        problems.append(f"id {body.get('id')!r} is not 'chatcmpl-' and 24 hex digits like {real['id']}")
    elif abs(int(match.group(1)[:8], 16) - body["created"]) > 60:
        problems.append(f"the id's first 8 hex digits are not the creation time, as in {real['id']} / {real['created']}")
    for choice in body["choices"]:
        if list(choice) != list(real["choices"][0]):
            problems.append(f"choice keys {list(choice)}, {CACHE_HIT} has {list(real['choices'][0])}")
        # tool_calls: no capture holds one; it comes last, in the documented shape (tool_call_problems)
        expected = [k for k in real["choices"][0]["message"] if k in choice["message"]]
        if "tool_calls" in choice["message"]:
            expected.append("tool_calls")
            problems += tool_call_problems(choice)
        if list(choice["message"]) != expected or list(choice["message"])[:2] != ["role", "content"]:
            problems.append(f"message keys {list(choice['message'])}, {CACHE_HIT} has {list(real['choices'][0]['message'])}")
    problems += usage_problems(body["usage"], [c["message"] for c in body["choices"]], rec.response["headers"])
    return problems


TOOL_CALL_ID = re.compile(r"functions\.\$?[A-Za-z_][A-Za-z0-9_-]*:\d+")


def tool_call_problems(choice: dict) -> list[str]:
    """No real answer with tool_calls was found: one is held to the documentation (helpers/authoring_tools.py)."""
    problems = []
    if choice.get("finish_reason") != "tool_calls":
        problems.append(f"an answer with tool_calls ends with finish_reason {choice.get('finish_reason')!r}, "
                        "documented as \"tool_calls\"")
    for one in choice["message"]["tool_calls"]:
        if list(one) != ["id", "type", "function"] or one["type"] != "function" or \
                list(one["function"]) != ["name", "arguments"]:
            problems.append(f"a tool call {one} is not {{id, type: function, function: {{name, arguments}}}}")
            continue
        if not TOOL_CALL_ID.fullmatch(one["id"]) or not one["id"].startswith(f"functions.{one['function']['name']}:"):
            problems.append(f"a tool call id {one['id']!r} is not functions.<name>:<n>")
        try:
            json.loads(one["function"]["arguments"])
        except (TypeError, ValueError):
            problems.append(f"a tool call's arguments {one['function']['arguments']!r} are not a JSON string")
    return problems


def usage_problems(usage: dict, messages: list[dict], headers: dict[str, str]) -> list[str]:
    real = capture(CACHE_HIT)["response"]["body"]["usage"]
    problems = []
    order = [k for k in real if k in usage]
    if list(usage) != order or list(usage)[:3] != ["prompt_tokens", "completion_tokens", "total_tokens"]:
        problems.append(f"usage keys {list(usage)}, {CACHE_HIT} has {list(real)}")
    if usage.get("total_tokens") != usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0):
        problems.append("total_tokens is not prompt_tokens + completion_tokens")
    thought = any(m.get("reasoning_content") for m in messages)
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if thought and not (isinstance(reasoning, int) and 0 < reasoning <= usage["completion_tokens"]):
        problems.append(f"the model thought but completion_tokens_details.reasoning_tokens is {reasoning!r} "
                        f"({NONSTREAM} reports it, counted in completion_tokens)")
    cached = usage.get("cached_tokens")
    saved = {k.lower(): v for k, v in headers.items()}.get("msh-context-cache-token-saved")
    if cached is not None or saved is not None:
        if (usage.get("prompt_tokens_details") or {}).get("cached_tokens") != cached or saved != str(cached):
            problems.append(f"a cache hit reports cached_tokens {cached!r}, prompt_tokens_details "
                            f"{usage.get('prompt_tokens_details')!r} and Msh-Context-Cache-Token-Saved {saved!r}: "
                            f"{CACHE_HIT} has the same number in all three")
    return problems


def stream_problems(rec: Recording) -> list[str]:
    events = [e["data"] for e in rec.response["events"]]
    real = [json.loads(block[len("data: "):]) for block in capture(SSE)["response"]["sse"].split("\n\n")
            if block and block != "data: [DONE]"]
    problems = []
    if events[-1] != "[DONE]" or "[DONE]" in events[:-1]:
        problems.append(f"the stream does not end with one data: [DONE], as {SSE} does")
    chunks = [e for e in events if e != "[DONE]"]
    fingerprints = {c.get("system_fingerprint") for c in chunks}
    if len(fingerprints) != 1 or not re.fullmatch(r"fpv0_[0-9a-f]{8}", str(next(iter(fingerprints)))):
        problems.append(f"system_fingerprint {sorted(map(str, fingerprints))} is not one 'fpv0_' + 8 hex on every chunk "
                        f"as in {SSE} ({real[0]['system_fingerprint']})")
    for chunk in chunks:
        if list(chunk) != list(real[0]):
            problems.append(f"chunk keys {list(chunk)}, {SSE} has {list(real[0])}")
            break
    if len({(c["id"], c["created"]) for c in chunks}) != 1:
        problems.append(f"the chunks do not share one id and created, as in {SSE}")
    if chunks[0]["choices"][0]["delta"] != real[0]["choices"][0]["delta"]:
        problems.append(f"the first delta is {chunks[0]['choices'][0]['delta']}, {SSE} has {real[0]['choices'][0]['delta']}")
    if any("role" in c["choices"][0]["delta"] for c in chunks[1:]):
        problems.append(f"the role comes again after the first chunk (only the first has it in {SSE})")
    last = chunks[-1]["choices"][0]
    final = capture(SSE_FINAL)["response"]["sse"]
    if last.get("delta") != {} or last.get("finish_reason") is None or "usage" not in last:
        problems.append(f"the last chunk is not an empty delta with finish_reason and usage in the choice ({SSE_FINAL}: "
                        f"{final.strip()[:120]}…)")
    else:
        text = {"reasoning_content": "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)}
        problems += usage_problems(last["usage"], [text], rec.response["headers"])
    if any("usage" in c["choices"][0] for c in chunks[:-1]):
        problems.append(f"usage before the last chunk (only the last has it in {SSE})")
    problems += streamed_tool_call_problems(chunks)
    return problems


def streamed_tool_call_problems(chunks: list[dict]) -> list[str]:
    """No real stream of tool calls was found: held to the documentation (helpers/authoring_tools.py)."""
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    if not deltas:
        return []
    problems = []
    if chunks[-1]["choices"][0]["finish_reason"] != "tool_calls":
        problems.append("a stream of tool calls does not end with finish_reason \"tool_calls\"")
    seen: set[int] = set()
    for delta in deltas:
        first = delta["index"] not in seen
        seen.add(delta["index"])
        keys = ["index", "id", "type", "function"] if first else ["index", "function"]
        names = ["name", "arguments"] if first else ["arguments"]
        if list(delta) != keys or list(delta["function"]) != names or (first and delta["function"]["arguments"]):
            problems.append(f"a tool-call delta {delta} is not documented: a call's first delta has index, id, type "
                            "and the name (arguments \"\"), the later ones only index and a piece of the arguments")
            break
    if sorted(seen) != list(range(len(seen))):
        problems.append(f"the tool calls' indexes {sorted(seen)} do not count from 0")
    return problems


def recording_problems(rec: Recording) -> list[str]:
    kind = rec.source["kind"]
    if kind == "captured":
        real = capture(rec.source["capture"])
        same = rec.request["body"] == real["request"]["body"] and rec.response["status"] == real["response"]["status"]
        body = rec.response.get("body")
        if not same or json.loads(redact_text(json.dumps(real["response"]["body"], ensure_ascii=False))) != body:
            return [f"it is not the capture {rec.source['capture']} as it is"]
        return []
    if kind == "handwritten":
        named = [n.strip().split(" ")[0] for n in rec.source.get("shaped_after", "").split(",") if n.strip()]
        if not named or any(n not in CAPTURES for n in named):
            return [f"source.shaped_after {rec.source.get('shaped_after')!r} must name captures in tests/captures/"]
    problems = []
    against = ERROR_400 if rec.response["status"] >= 400 else NONSTREAM
    content_type = "text/event-stream" if rec.is_stream else "application/json; charset=utf-8"
    live_cn = kind == "recorded" and "moonshot.cn" in str(rec.source.get("host", ""))
    problems += header_problems(rec.response["headers"], against, content_type, live_cn)
    if rec.is_stream:
        problems += stream_problems(rec)
    elif rec.response["status"] >= 400:
        real = capture(ERROR_400)["response"]["body"]
        body = rec.response["body"]
        if list(body) != list(real) or list(body["error"]) != list(real["error"]):
            problems.append(f"error body {body}, {ERROR_400} has the shape {real}")
    elif rec.request["path"] == "/v1/chat/completions":
        problems += chat_body_problems(rec)
    return problems


@pytest.mark.parametrize("rec", RECORDINGS, ids=lambda r: r.name)
def test_every_recording_follows_the_captures(rec):
    problems = recording_problems(rec)
    assert problems == [], f"{rec.name} departs from the real captures: " + "; ".join(problems)


def test_the_check_catches_a_recording_that_departs():
    rec = next(r for r in RECORDINGS if r.request["path"] == "/v1/chat/completions" and not r.is_stream
               and r.response["status"] == 200 and r.source["kind"] == "handwritten")
    data = json.loads(json.dumps(rec.to_json()))
    data["response"]["body"]["system_fingerprint"] = "fpv0_00000000"
    data["response"]["headers"]["Msh-Request-Id"] = "0123"
    del data["response"]["body"]["usage"]["completion_tokens_details"]
    problems = " ".join(recording_problems(Recording(**data)))
    assert CACHE_HIT in problems and "system_fingerprint" in problems
    assert "Msh-Request-Id" in problems and "reasoning_tokens" in problems


def test_the_models_list_is_todays():
    real = json.loads((CAPTURES_DIR / "models_listed_2026-09-02.json").read_text(encoding="utf-8"))
    assert [m["id"] for m in INDEX.find_exact("GET", "/v1/models").response["body"]["data"]] == real["ids"], \
        "models-list departs from models_listed_2026-09-02"
    assert DEFAULT_MODEL in real["ids"]


# ---- the server's own answers --------------------------------------------------------------------------------------

ERROR_CAPTURES = [n for n, d in CAPTURES.items() if d["response"]["status"] in (400, 404)]


@pytest.mark.parametrize("name", ERROR_CAPTURES)
def test_the_server_refuses_what_kimi_refused_with_the_same_answer(name):
    real = capture(name)
    body = dict(real["request"]["body"])
    expected = json.loads(json.dumps(real["response"]["body"], ensure_ascii=False).replace("\u2011", "-"))  # the 404 paste's hyphens
    body["model"] = body["model"].replace("\u2011", "-")
    body.setdefault("messages", [{"role": "user", "content": "Reply with exactly one word: hello."}])
    reply = ask(body)
    assert isinstance(reply, JsonReply)
    assert (reply.status, reply.body) == (real["response"]["status"], expected), f"departs from {name}"
    assert header_problems(reply.headers, ERROR_400) == [], f"{name}: {header_problems(reply.headers, ERROR_400)}"


def test_the_retired_models_get_the_real_404():
    real = capture("real_404_model_not_found")["response"]
    for model in ("moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k", "moonshot-v1-auto", "kimi-k2.5",
                  "kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi-k2-thinking"):
        reply = ask({"model": model, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.3})
        message = real["body"]["error"]["message"].replace("kimi\u2011k2\u20110711\u2011preview", model)
        assert (reply.status, reply.body) == (404, {"error": {"message": message, "type": real["body"]["error"]["type"]}}), \
            f"{model}: departs from real_404_model_not_found"


def test_what_kimi_accepted_is_accepted():
    for name in ("real_200_n_1_kimi_k3", "real_200_reasoning_effort_low_kimi_k3", NONSTREAM, CACHE_HIT,
                 "real_200_response_format_json_object_kimi_k3", "real_200_partial_mode_param_ignored_kimi_k3"):
        reply = ask(capture(name)["request"]["body"])
        # not refused: answered from a recording, or a replay miss (recording_not_found_error), never a 400
        assert reply.status in (200, 404), name
        if reply.status == 404:
            assert reply.body["error"]["type"] == "recording_not_found_error", f"departs from {name}"


def test_the_401_is_the_real_one():
    real = capture("real_401_invalid_authentication")["response"]
    reply = ask({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}]}, headers=(HOST,))
    assert (reply.status, reply.body) == (real["status"], real["body"]), "departs from real_401_invalid_authentication"
    lower = {k.lower(): v for k, v in reply.headers.items()}
    assert {"msh-request-id", "msh-trace-mode", "x-msh-trace-id", "vary"} <= set(lower)


def rpm_429(path: str, st: ServerState) -> JsonReply:
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        reply = ask(body, path=path, st=st)
        if reply.status == 429:
            return reply
    raise AssertionError(f"{path} never refused")


@pytest.mark.parametrize("path", ["/simulate/rate_limit/v1/chat/completions", "/limits/tier0/v1/chat/completions"])
def test_an_rpm_429_is_the_real_one(path):
    real = capture(RPM_429)["response"]
    reply = rpm_429(path, state())
    expected = json.loads(redact_text(json.dumps(real["body"])))  # account ids as placeholders
    assert (reply.status, reply.body) == (429, expected), f"{path} departs from {RPM_429}"
    assert {n: reply.headers.get(n) for n in COOLDOWN} == {n: real["headers"][n] for n in COOLDOWN}, \
        f"{path}: the cooldown headers depart from {RPM_429}"
    assert header_problems({k: v for k, v in reply.headers.items() if k != "X-Simulated-Fault"}, RPM_429) == []


def test_an_overloaded_429_is_the_real_one_without_cooldown_headers():
    real = capture(OVERLOADED_429)["response"]
    reply = ask({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}]},
                path="/simulate/overloaded/v1/chat/completions")
    assert (reply.status, reply.body) == (429, real["body"]), f"departs from {OVERLOADED_429}"
    assert not set(COOLDOWN) & set(reply.headers), f"{OVERLOADED_429} carries no cooldown headers"
    assert not set(COOLDOWN) & set(real["headers"])


def test_replayed_answers_carry_the_recordings_headers_and_they_are_real():
    for rec in RECORDINGS[:: max(1, len(RECORDINGS) // 12)]:
        reply = ask(rec.request.get("body"), path=rec.request["path"], method=rec.request["method"])
        assert isinstance(reply, (JsonReply, StreamReply)) and reply.recording == rec.name
        kind = "text/event-stream" if rec.is_stream else "application/json; charset=utf-8"
        assert header_problems(reply.headers, NONSTREAM if reply.status < 400 else ERROR_400, kind) == [], rec.name


# ---- on the wire ---------------------------------------------------------------------------------------------------

def test_a_stream_on_the_wire_is_framed_as_kimis(server):
    rec = next(r for r in RECORDINGS if r.is_stream and r.source["kind"] == "handwritten")
    with requests.post(server.base_url + "/chat/completions", json=rec.request["body"],
                       headers={"Authorization": f"Bearer {REPLAY_API_KEY}"}, stream=True, timeout=10) as r:
        raw = b"".join(r.iter_content(None)).decode("utf-8")
        headers = dict(r.headers)
    real = capture(SSE)["response"]["sse"]
    frame = re.compile(r"(data: [^\n]+\n\n)+")
    assert frame.fullmatch(real) and frame.fullmatch(raw), f"the stream's framing departs from {SSE}"
    assert raw.endswith("\n\ndata: [DONE]\n\n") and real.endswith("\n\ndata: [DONE]\n\n")
    assert all(block.startswith("data: {") or block == "data: [DONE]" for block in raw.split("\n\n") if block)
    assert headers["Content-Type"] == "text/event-stream"
    assert header_problems(headers, NONSTREAM, "text/event-stream") == [], f"{rec.name} on the wire"


def test_an_answer_on_the_wire_is_compact_json_with_the_real_headers(server):
    rec = INDEX.find_exact("POST", "/v1/chat/completions",
                           {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "你好，我叫李雷，1+1等于多少？"}]})
    r = requests.post(server.base_url + "/chat/completions", json=rec.request["body"],
                      headers={"Authorization": f"Bearer {REPLAY_API_KEY}"}, timeout=10)
    assert r.status_code == 200
    # compact, key order kept: as the capture's Content-Length shows of the real body
    assert r.content == json.dumps(rec.response["body"], ensure_ascii=False, separators=(",", ":")).encode()
    assert list(r.json()) == list(capture(NONSTREAM)["response"]["body"])
    assert header_problems(dict(r.headers), NONSTREAM) == []


def test_a_live_recording_from_the_cn_host_may_carry_its_own_server_timing():
    rec = next(r for r in RECORDINGS if r.request["path"] == "/v1/chat/completions" and not r.is_stream
               and r.response["status"] == 200 and r.source["kind"] == "handwritten")
    data = json.loads(json.dumps(rec.to_json()))
    data["response"]["headers"]["Server-Timing"] = "inner; dur=812"
    for host, departs in (("https://api.moonshot.cn/v1", False), ("https://api.moonshot.ai/v1", True)):
        data["source"] = {"kind": "recorded", "host": host, "recorded_at": "2026-09-03T10:00:00Z"}
        problems = recording_problems(Recording(**data))
        assert any("Server-Timing" in p for p in problems) is departs, (host, problems)
