"""The rules the real service applies, as the local server applies them: what the fidelity test cannot compare with
a capture directly (the sped-up clock, the SDK's exception classes and its waiting, endpoints the course doesn't teach).
"""
from __future__ import annotations

import json
import time

import openai
import pytest
import requests

from helpers.dispatch import Incoming, ServerState, dispatch
from helpers.limits import RateLimiter, parse_limits_spec
from helpers.recordings import RecordingIndex
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY
from helpers.wire import KimiError

HELLO = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "你好，我叫李雷，1+1等于多少？"}]}
INDEX = RecordingIndex.load(RECORDINGS_DIR)


def ask(body, path="/v1/chat/completions", method="POST"):
    INDEX.reset()
    st = ServerState(mode="replay", index=INDEX, accepted_key=REPLAY_API_KEY, port=8125)
    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    return dispatch(Incoming.make(method, path, "", [("Host", "127.0.0.1:8125"),
                                                     ("Authorization", f"Bearer {REPLAY_API_KEY}")], raw), st)


@pytest.mark.parametrize("model", ["kimi-k3", "kimi-k2.7-code", "kimi-k2.7-code-highspeed", "kimi-k2.6"])
def test_the_four_current_models_are_accepted_with_their_fixed_values(model):
    for extra in ({}, {"temperature": 1, "top_p": 0.95, "n": 1, "presence_penalty": 0, "frequency_penalty": 0,
                       "logprobs": False}):
        reply = ask({"model": model, "messages": [{"role": "user", "content": "no recording has this"}], **extra})
        assert reply.status == 404 and reply.body["error"]["type"] == "recording_not_found_error", (model, extra)


def test_kimi_k3_always_thinks_so_its_temperature_stays_1():
    body = {"model": "kimi-k3", "messages": [{"role": "user", "content": "x"}], "thinking": {"type": "disabled"}}
    assert ask({**body, "temperature": 0.6}).body["error"]["message"] == \
        "invalid temperature: only 1 is allowed for this model"
    k26 = {**body, "model": "kimi-k2.6"}
    assert ask({**k26, "temperature": 1}).body["error"]["message"] == \
        "invalid temperature: only 0.6 is allowed for this model"


def test_a_tool_of_an_unknown_type_names_it():
    tools = [{"type": "retrieval", "function": {"name": "f"}}]
    reply = ask({**HELLO, "tools": tools})
    assert (reply.status, reply.body["error"]["message"]) == (
        400, "Invalid request: unknown tool type: retrieval, currently only function and plugin are supported")


@pytest.mark.parametrize("extra, message", [
    ({"logprobs": True}, "invalid logprobs: only false is allowed for this model"),
    ({"logit_bias": {"1734": 5}}, "Invalid request: logit_bias is not supported yet"),
    ({"top_logprobs": 3}, "Invalid request: logprobs must be set to true if top_logprobs is used"),
    ({"presence_penalty": 0.1}, "invalid presence_penalty: only 0 is allowed for this model"),
    ({"n": 2}, "invalid n: only 1 is allowed for this model"),
])
def test_the_sdk_raises_bad_request_for_what_kimi_refuses(server, extra, message):
    client = openai.OpenAI(base_url=server.base_url, api_key=REPLAY_API_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**HELLO, **extra)
    assert info.value.status_code == 400 and info.value.body["message"] == message


def test_the_sdk_raises_not_found_for_a_retired_model(server):
    client = openai.OpenAI(base_url=server.base_url, api_key=REPLAY_API_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(**{**HELLO, "model": "moonshot-v1-8k"}, temperature=0.3)
    assert info.value.body == {"message": "Not found the model moonshot-v1-8k or Permission denied",
                               "type": "resource_not_found_error"}


@pytest.mark.parametrize("scale", [1, 4, 60])
def test_the_announced_wait_is_the_cooldown_on_the_sped_up_clock(scale):
    now = [0.0]
    limiter = RateLimiter(parse_limits_spec(f"tier1-x{scale}"), clock=lambda: now[0])
    limiter.admit(1)
    with pytest.raises(KimiError) as info:
        limiter.admit(1)
    wait = 1 / scale
    assert info.value.message.endswith(f"max RPM: 200, please try again after {wait:.3g} seconds")
    assert info.value.headers == {"Msh-Cooldown-Seconds": f"{wait:.3g}", "Retry-After": f"{wait:.3g}",
                                  "X-Retry-After": f"{wait:.3g}"}


def test_tpm_and_quota_429s_name_no_wait_and_carry_no_cooldown():
    now = [0.0]
    limiter = RateLimiter(parse_limits_spec("tier0"), clock=lambda: now[0])
    with pytest.raises(KimiError) as info:
        limiter.admit(600_000)  # over tier0's TPM of 500,000
    assert "TPM rate limit" in info.value.message and info.value.headers == {}
    reply = ask(HELLO, path="/simulate/quota/v1/chat/completions")
    assert reply.status == 429 and reply.body["error"]["type"] == "exceeded_current_quota_error"
    assert not {"Retry-After", "X-Retry-After", "Msh-Cooldown-Seconds"} & set(reply.headers)


def test_the_sdk_waits_as_long_as_retry_after_says(server):
    # Retry-After: 1 on the simulated RPM 429: the SDK's two retries wait 1 s each (its own backoff would be ~0.5-1 s
    # with jitter, and never exactly 1)
    client = openai.OpenAI(base_url=f"{server.url}/simulate/rate_limit/v1", api_key=REPLAY_API_KEY, max_retries=1)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(**HELLO)
    took = time.monotonic() - started
    assert info.value.response.headers["retry-after"] == "1"
    assert 1.0 <= took < 1.6


def test_the_sdk_waits_the_scaled_wait_under_a_sped_up_tier(server):
    client = openai.OpenAI(base_url=f"{server.url}/limits/tier0-x20/v1", api_key=REPLAY_API_KEY, max_retries=0)
    client.chat.completions.create(**HELLO)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(**HELLO)
    assert info.value.response.headers["retry-after"] == "0.05" and "after 0.05 seconds" in info.value.message
    retrying = openai.OpenAI(base_url=f"{server.url}/limits/tier0-x30/v1", api_key=REPLAY_API_KEY, max_retries=1)
    retrying.chat.completions.create(**HELLO)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        retrying.chat.completions.create(**HELLO)  # refused, waits 1/30 s as told, refused again
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("method, path", [("GET", "/v1/files"), ("POST", "/v1/files"), ("GET", "/v1/files/abc/content"),
                                          ("POST", "/v1/caching"), ("GET", "/v1/caching/cache-1")])
def test_documented_endpoints_the_course_does_not_teach_say_not_recorded(server, method, path):
    r = requests.request(method, server.url + path, headers={"Authorization": f"Bearer {REPLAY_API_KEY}"},
                         json={} if method == "POST" else None, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["type"] == "recording_not_found_error"
    assert f"there is no recording for {method} {path} at all" in r.json()["error"]["message"]


def test_a_path_kimi_does_not_have_still_gets_the_gateways_404(server):
    r = requests.get(server.url + "/v1/no-such-thing", headers={"Authorization": f"Bearer {REPLAY_API_KEY}"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "url.not_found"


# ---- lesson 12: response_format and partial mode (helpers/formats.py says where each rule comes from) ----------------

def test_json_mode_needs_no_mention_of_json_in_the_prompt():
    # real_200_response_format_json_object_kimi_k3: "Reply with exactly one word: hello." in JSON mode got a 200
    for kind in ("text", "json_object"):
        reply = ask({**HELLO, "response_format": {"type": kind}, "messages": [{"role": "user", "content": "no JSON"}]})
        assert reply.status == 404 and reply.body["error"]["type"] == "recording_not_found_error", kind


@pytest.mark.parametrize("response_format, message", [
    ("json_object", 'Invalid request: response_format must be an object, such as {"type": "json_object"}'),
    ({"type": "json"}, "Invalid request: unknown response_format type: json, currently only text, json_object, "
                       "json_schema are supported"),
    ({}, "Invalid request: unknown response_format type: , currently only text, json_object, json_schema are "
         "supported"),
    ({"type": "json_schema"}, "Invalid request: response_format.json_schema.schema is required when "
                              "response_format.type is json_schema"),
    ({"type": "json_schema", "json_schema": {"name": "o", "schema": {"$schema": "http://json-schema.org/draft-07/schema#",
                                                                     "type": "object"}}},
     "Invalid request: response_format.json_schema is not a valid moonshot flavored json schema, details: "
     "<At path 'root': unsupported keywords: $schema>"),
    ({"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": {"city": {}}}}},
     "Invalid request: response_format.json_schema is not a valid moonshot flavored json schema, details: "
     "<At path 'properties.city': type is not defined>"),
])
def test_a_response_format_kimi_cannot_use_is_a_400(response_format, message):
    reply = ask({**HELLO, "response_format": response_format})
    assert (reply.status, reply.body["error"]) == (400, {"message": message, "type": "invalid_request_error"})


def test_the_sdks_schema_for_a_pydantic_model_is_moonshot_flavored():
    from openai.lib._parsing._completions import type_to_response_format_param
    from pydantic import BaseModel

    from helpers.formats import schema_problem

    class Item(BaseModel):
        name: str
        colors: list[str]

    class Order(BaseModel):
        customer: str
        quantity: int
        note: str | None
        items: list[Item]

    sent = type_to_response_format_param(Order)
    assert schema_problem(sent["json_schema"]["schema"]) is None
    reply = ask({**HELLO, "response_format": sent})
    assert reply.status == 404 and reply.body["error"]["type"] == "recording_not_found_error"


@pytest.mark.parametrize("schema, where, problem", [
    ({"type": "object", "properties": {"x": {"type": "string", "anyOf": [{"type": "string"}]}}}, "properties.x",
     "when using anyOf, type should be defined in anyOf items instead of the parent schema"),
    ({"type": "object", "properties": {"x": {"$ref": "#/definitions/X"}}}, "properties.x.$ref",
     "references must start with #/$defs/"),
    ({"type": "object", "properties": {"x": True}}, "properties", "property schema for 'x' must be an object"),
    ({"type": "object", "properties": {"x": {"type": "string", "enum": []}}}, "properties.x.enum",
     "enum array cannot be empty"),
    ({"type": "object", "$defs": {"X": {"description": "no type"}}}, "$defs.X", "type is not defined"),
    ({"type": "array", "items": {"anyOf": [{"type": "string"}, {"description": "?"}]}}, "items.anyOf[1]",
     "type is not defined"),
])
def test_moonshot_flavored_schema_rules(schema, where, problem):
    from helpers.formats import schema_problem

    assert schema_problem(schema) == (where, problem)


@pytest.mark.parametrize("messages, message", [
    ([{"role": "user", "content": "hi", "partial": True}],
     "Invalid request: messages[0] is partial but its role is user: only an assistant message can be partial"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "{", "partial": True},
      {"role": "user", "content": "go on"}],
     "Invalid request: messages[1] is partial but it is not the last message: only the last message can be partial"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "{", "partial": "true"}],
     "Invalid request: messages[1].partial must be true or false"),
])
def test_partial_mode_follows_the_documented_rule(messages, message):
    reply = ask({**HELLO, "messages": messages})
    assert (reply.status, reply.body["error"]["message"]) == (400, message)


def test_partial_mode_as_documented_and_a_top_level_partial_mode_are_accepted():
    prefilled = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "{", "partial": True}]
    named = [{"role": "user", "content": "hi"}, {"role": "assistant", "name": "凯尔希", "content": "", "partial": True}]
    for body in ({**HELLO, "messages": prefilled}, {**HELLO, "messages": named},
                 {**HELLO, "partial_mode": True},  # real_200_partial_mode_param_ignored_kimi_k3: ignored
                 {**HELLO, "messages": [*prefilled[:1], {**prefilled[1], "partial": False}]}):
        reply = ask(body)
        assert reply.status == 404 and reply.body["error"]["type"] == "recording_not_found_error", body


def test_the_sdk_raises_bad_request_for_a_schema_kimi_refuses(server):
    client = openai.OpenAI(base_url=server.base_url, api_key=REPLAY_API_KEY, max_retries=0)
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**HELLO, response_format={"type": "json_schema", "json_schema": {
            "name": "city", "schema": schema, "strict": True}})
    assert info.value.body["message"].endswith("<At path 'root': unsupported keywords: $schema>")
