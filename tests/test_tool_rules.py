"""Tools, tool_choice and tool messages, as the local server checks them (helpers/tool_rules.py) and replays them.

The real messages come from the probe log and from users' reports of the live service (named in tool_rules.py);
the rest follow the documentation. A refused request gets Kimi's error shape; an accepted one is answered from a
recording, or misses one (recording_not_found_error) — never a traceback. The multi-step conversations and the
streamed tool calls of lesson 11 are replayed with the real openai SDK.
"""
from __future__ import annotations

import copy
import json

import openai
import pytest

from helpers.authoring import source
from helpers.dispatch import Incoming, ServerState, dispatch
from helpers.recordings import RecordingIndex
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

INDEX = RecordingIndex.load(RECORDINGS_DIR)
L11 = source("lesson11")
TOOLS = L11.TOOLS
QUESTION = [{"role": "user", "content": L11.MILES}]
THINKING_OFF = {"thinking": {"type": "disabled"}}
NAMED = {"type": "function", "function": {"name": "convert_units"}}


def ask(body):
    INDEX.reset()
    st = ServerState(mode="replay", index=INDEX, accepted_key=REPLAY_API_KEY, port=8126)
    raw = json.dumps(body, ensure_ascii=False).encode()
    return dispatch(Incoming.make("POST", "/v1/chat/completions", "", [("Host", "127.0.0.1:8126"),
                                  ("Authorization", f"Bearer {REPLAY_API_KEY}")], raw), st)


def refused(body) -> str:
    reply = ask(body)
    assert reply.status == 400 and reply.body["error"]["type"] == "invalid_request_error", (reply.status, reply.body)
    assert list(reply.body) == ["error"] and list(reply.body["error"]) == ["message", "type"]
    return reply.body["error"]["message"]


def accepted(body) -> None:
    reply = ask(body)
    assert reply.status == 200 or (reply.status == 404 and reply.body["error"]["type"] == "recording_not_found_error"), \
        reply.body


def body(model=DEFAULT_MODEL, **extra):
    return {"model": model, "messages": QUESTION, "tools": TOOLS, **extra}


def recorded(name):
    return next(r for r in INDEX.all() if r.name == name)


# ---- tool_choice ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["kimi-k2.6", "kimi-k2.7-code", "kimi-k2.7-code-highspeed"])
def test_a_forced_tool_choice_while_thinking_gets_the_real_400(model):
    assert refused(body(model, tool_choice="required")) == "tool_choice 'required' is incompatible with thinking enabled"
    assert refused(body(model, tool_choice=NAMED)) == "tool_choice 'specified' is incompatible with thinking enabled"


def test_kimi_k3_accepts_required_but_not_a_named_function():
    accepted(body("kimi-k3", tool_choice="required"))
    assert refused(body("kimi-k3", tool_choice=NAMED)) == "tool_choice 'specified' is incompatible with thinking enabled"


def test_with_thinking_off_a_forced_choice_is_answered():
    reply = ask(body(tool_choice=NAMED, **THINKING_OFF))
    assert reply.status == 200 and reply.recording == "l11-miles-forced-no-thinking"
    accepted(body(tool_choice="required", **THINKING_OFF))


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_auto_and_none_are_accepted_even_without_tools(choice):
    accepted({"model": "kimi-k3", "messages": QUESTION, "tool_choice": choice})  # auto without tools: the probe log


@pytest.mark.parametrize("choice, part", [
    ("sometimes", "tool_choice must be one of auto, none, required"),
    ({"type": "function", "function": {"name": "get_weather"}}, "not among the tools"),
    ({"name": "convert_units"}, "tool_choice must be"),
])
def test_a_malformed_tool_choice_is_a_400_that_says_why(choice, part):
    assert part in refused(body(tool_choice=choice, **THINKING_OFF))


# ---- tools ---------------------------------------------------------------------------------------------------------
def test_a_tool_without_type_gets_the_captured_400():
    bare = [dict(TOOLS[0]["function"])]
    assert refused(body(tools=bare)) == ("Invalid request: unknown tool type: , currently only function and plugin "
                                         "are supported")


def test_the_builtin_web_search_is_accepted_and_other_builtins_are_not():
    reply = ask(body(tools=L11.WEB_SEARCH, messages=[{"role": "user", "content": L11.SEARCH}]))
    assert reply.status == 200 and reply.recording == "l11-web-search-call"
    assert "unknown builtin_function" in refused(body(tools=[{"type": "builtin_function",
                                                              "function": {"name": "$code_runner"}}]))


@pytest.mark.parametrize("function, part", [
    ({"description": "no name"}, "function.name is required"),
    ({"name": "$web_search"}, "is invalid"),
    ({"name": "convert units"}, "is invalid"),
    ({"name": "f", "parameters": {"type": "array"}}, "must be a JSON Schema object"),
    ({"name": "f", "parameters": "value: number"}, "must be a JSON Schema object"),
])
def test_a_function_needs_a_plain_name_and_an_object_schema(function, part):
    assert part in refused(body(tools=[{"type": "function", "function": function}]))


def test_a_function_declared_twice_is_refused():
    assert "declared twice" in refused(body(tools=[TOOLS[0], TOOLS[0]]))


# ---- tool messages and reasoning_content -----------------------------------------------------------------------------
def follow_up(name="l11-miles-answer"):
    return copy.deepcopy(recorded(name).request["body"])


def test_the_recorded_follow_up_is_answered():
    assert ask(follow_up()).recording == "l11-miles-answer"


def test_dropping_reasoning_content_with_tool_calls_gets_the_real_400_naming_the_index():
    sent = follow_up()
    del sent["messages"][1]["reasoning_content"]
    assert refused(sent) == "thinking is enabled but reasoning_content is missing in assistant tool call message at index 1"
    later = follow_up("l11-lhasa-answer")
    del later["messages"][3]["reasoning_content"]
    assert refused(later).endswith("at index 3")


def test_an_empty_reasoning_content_passes_and_none_is_missing():
    sent = follow_up()
    sent["messages"][1]["reasoning_content"] = ""
    accepted(sent)
    sent["messages"][1]["reasoning_content"] = None
    assert "reasoning_content is missing" in refused(sent)


def test_without_thinking_no_reasoning_content_is_asked_for():
    sent = follow_up()
    del sent["messages"][1]["reasoning_content"]
    accepted({**sent, **THINKING_OFF})


def test_kimi_k3_asks_for_reasoning_content_too():
    sent = follow_up()
    del sent["messages"][1]["reasoning_content"]
    assert "reasoning_content is missing" in refused({**sent, "model": "kimi-k3", **THINKING_OFF})  # k3 always thinks


@pytest.mark.parametrize("change, part", [
    (lambda m: m[2].pop("tool_call_id"), "needs the tool_call_id"),
    (lambda m: m[2].update(tool_call_id="convert_units"), "matches no tool call"),
    (lambda m: m.pop(1), "matches no tool call"),
    (lambda m: m[2].update(content={"value": 6.2137}), "content must be a string"),
    (lambda m: m[1]["tool_calls"][0]["function"].update(arguments={"value": 10}), "arguments must be a string"),
])
def test_a_tool_message_must_answer_an_earlier_call_with_text(change, part):
    sent = follow_up()
    change(sent["messages"])
    assert part in refused(sent)


# ---- replay with the real SDK ----------------------------------------------------------------------------------------
def client(server):
    return openai.OpenAI(api_key=REPLAY_API_KEY, base_url=server.base_url, max_retries=0)


def test_a_two_round_conversation_replays_with_the_sdk(server):
    sdk = client(server)
    messages = [{"role": "user", "content": L11.LHASA}]
    finishes = []
    for _ in range(3):
        choice = sdk.chat.completions.create(model=DEFAULT_MODEL, messages=messages, tools=TOOLS).choices[0]
        finishes.append(choice.finish_reason)
        if choice.finish_reason != "tool_calls":
            break
        messages.append(choice.message)  # the SDK's object: sent back with its reasoning_content
        for call in choice.message.tool_calls:
            arguments = json.loads(call.function.arguments)
            result = L11.city(arguments["city"]) if call.function.name == "lookup_city" else L11.convert(**arguments)
            messages.append({"role": "tool", "tool_call_id": call.id, "name": call.function.name,
                             "content": json.dumps(result)})
    assert finishes == ["tool_calls", "tool_calls", "stop"]
    assert [m.tool_calls[0].id for m in messages if not isinstance(m, dict)] == \
        ["functions.lookup_city:0", "functions.convert_units:1"]
    assert "11,995 feet" in choice.message.content


def test_streamed_tool_calls_arrive_by_index_and_join_to_the_whole_calls(server):
    stream = client(server).chat.completions.create(model=DEFAULT_MODEL, messages=[{"role": "user", "content": L11.HIGHER}],
                                                    tools=TOOLS, stream=True)
    calls: dict[int, dict] = {}
    firsts, finish = [], None
    for chunk in stream:
        choice = chunk.choices[0]
        for delta in choice.delta.tool_calls or []:
            if delta.id is not None:
                firsts.append((delta.index, delta.id, delta.function.name))
                calls[delta.index] = {"id": delta.id, "name": delta.function.name, "arguments": ""}
            else:
                assert delta.function.name is None
            calls[delta.index]["arguments"] += delta.function.arguments or ""
        finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert firsts == [(0, "functions.lookup_city:0", "lookup_city"), (1, "functions.lookup_city:1", "lookup_city")]
    assert [json.loads(c["arguments"]) for c in calls.values()] == [{"city": "Kunming"}, {"city": "Lhasa"}]


def test_the_sdk_raises_bad_request_with_the_real_message(server):
    with pytest.raises(openai.BadRequestError) as caught:
        client(server).chat.completions.create(model=DEFAULT_MODEL, messages=QUESTION, tools=TOOLS,
                                               tool_choice="required")
    assert caught.value.body["message"] == "tool_choice 'required' is incompatible with thinking enabled"
