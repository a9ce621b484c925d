"""Replay misses, over real HTTP against the course's own recordings: a request changed by one character, a message
appended twice, a history that keeps `reasoning_content`. Each miss must name the recording the learner was
sending and the field that really changed, side by side, with the learner's way out before the maintainer's — and
stay a well-formed Kimi error (404 `recording_not_found_error`), bounded in size, with no key in it."""
from __future__ import annotations

import copy
import json
import re

import openai
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import recordings
from helpers.authoring import chat
from helpers.recordings import RecordingIndex, compare, describe_differences, json_equal, request_key, write_recording
from helpers.redact import KEY_PATTERN
from helpers.settings import DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

pytestmark = pytest.mark.usefixtures("fresh")
CHAT = "/v1/chat/completions"


def recorded_body(name: str) -> dict:
    return copy.deepcopy(json.loads((RECORDINGS_DIR / f"{name}.json").read_text(encoding="utf-8"))["request"]["body"])


def send(server, body, key: str = REPLAY_API_KEY) -> requests.Response:
    return requests.post(server.url + CHAT, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def miss(server, body) -> str:
    """Send `body`; assert the answer is the well-formed replay miss; return its message."""
    r = send(server, body)
    assert r.status_code == 404, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers.get("msh-request-id")
    payload = r.json()
    assert list(payload) == ["error"] and sorted(payload["error"]) == ["message", "type"], payload
    assert payload["error"]["type"] == "recording_not_found_error"
    message = payload["error"]["message"]
    assert message.startswith("[local replay server] No recording matches this request")
    assert "Traceback" not in message
    return message


def nearest_named(message: str) -> str:
    found = re.search(r"the nearest recording is '([^']+)'", message)
    assert found, message
    return found.group(1)


# ---- the three changes of the issue, each against the whole course's recordings ---------------------------

def test_one_character_added_to_a_prompt_names_that_prompts_recording_and_the_character(server):
    body = recorded_body("l02-what-can-you-do")
    body["messages"][0]["content"] += "!"
    message = miss(server, body)
    assert nearest_named(message) == "l02-what-can-you-do"
    assert 'differs in 1 field: messages[0].content: "你能干吗？⟨!⟩" here, "你能干吗？⟨⟩" recorded.' in message
    assert "l01-hello-lilei" not in message and "items here" not in message


def test_one_character_changed_late_in_a_long_history_names_that_turn(server):
    body = recorded_body("l07-turn-4")
    last = body["messages"][-1]["content"]
    body["messages"][-1]["content"] = last[:-1] + "?"  # a half-width question mark for the full-width one
    message = miss(server, body)
    assert nearest_named(message) == "l07-turn-4"
    assert f'messages[7].content: "{last[-13:-1]}⟨?⟩" here' in message or "⟨?⟩\" here" in message
    assert f"⟨{last[-1]}⟩\" recorded" in message


def test_a_message_appended_twice_names_the_turn_and_the_copy(server):
    body = recorded_body("l02-lilei-turn-2")
    body["messages"].append(body["messages"][-1])
    message = miss(server, body)
    assert nearest_named(message) == "l02-lilei-turn-2"
    assert "with 4 messages (5 sent here)" in message
    assert "differs in 1 field: messages[4]: sent here, not in the recording, a second copy of messages[3]" in message


def test_an_assistant_reply_appended_twice_is_found_in_the_middle(server):
    body = recorded_body("l07-turn-3")
    body["messages"].insert(3, body["messages"][2])
    message = miss(server, body)
    assert nearest_named(message) == "l07-turn-3"
    assert "messages[3]: sent here, not in the recording, a second copy of messages[2]" in message


def test_a_forgotten_message_is_named_as_missing(server):
    body = recorded_body("l07-turn-3")
    del body["messages"][4]  # the second assistant reply
    message = miss(server, body)
    assert nearest_named(message) == "l07-turn-3"
    assert "messages[4]: in the recording, not sent here" in message and '"role": "assistant"' in message


def test_reasoning_content_kept_in_a_history_is_no_difference(server):
    body = recorded_body("l02-lilei-turn-2")
    body["messages"][2]["reasoning_content"] = "用户问名字。"
    assert send(server, body).status_code == 200  # the match key leaves it out, as Kimi's answer does not depend on it
    body["messages"][3]["content"] = "我叫什么名字?"
    message = miss(server, body)
    assert nearest_named(message) == "l02-lilei-turn-2"
    assert "reasoning_content" not in message
    assert 'differs in 1 field: messages[3].content: "我叫什么名字⟨?⟩" here, "我叫什么名字⟨？⟩" recorded.' in message


def test_the_openai_sdk_sees_the_same_miss(server):
    body = recorded_body("l02-what-can-you-do")
    body["messages"][0]["content"] += "!"
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=REPLAY_API_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(**body)
    assert info.value.status_code == 404 and info.value.type == "recording_not_found_error"
    assert "'l02-what-can-you-do'" in info.value.message and "⟨!⟩" in info.value.message


# ---- advice, size, secrets ---------------------------------------------------------------------------------

def test_learner_advice_comes_before_the_maintainers(server):
    body = recorded_body("l01-introduce")
    body["messages"][0]["content"] += "。"
    message = miss(server, body)
    learner = message.index("undo that change, or switch to live mode to try your own text")
    maintainer = message.index("make record")
    assert learner < maintainer
    assert message.index("differs in") < learner
    assert "Course maintainers" in message[learner:]


def test_a_huge_prompt_gives_a_short_message_at_once(server):
    body = recorded_body("l02-lilei-turn-2")
    body["messages"][3]["content"] = "我叫什么名字？" + "long " * 1_200_000  # 6 MB of text after the recorded question
    message = miss(server, body)
    assert nearest_named(message) == "l02-lilei-turn-2"
    assert "messages[3].content" in message and len(message) < 1200, len(message)


def test_a_huge_prompt_is_never_written_out_while_looking_for_the_nearest(monkeypatch):
    """The work of a miss does not grow with the prompt times the recordings: nothing the prompt's size is encoded."""
    index = RecordingIndex.load(RECORDINGS_DIR)
    body = recorded_body("l02-lilei-turn-2")
    body["messages"][3]["content"] = "我叫什么名字？" + "long " * 200_000
    written: list[int] = []
    encode = recordings.canonical_json

    def counted(value):
        text = encode(value)
        written.append(len(text))
        return text
    monkeypatch.setattr(recordings, "canonical_json", counted)
    nearest = index.nearest("POST", CHAT, body)
    assert nearest.recording.name == "l02-lilei-turn-2" and len(index) > 100
    assert sum(written) < 100_000, f"{len(written)} texts of {sum(written):,} characters written out"


def json_values():
    """Small JSON values whose leaves are easy to confuse: 1 and 1.0 and true, 0 and -0.0 and false, big whole floats."""
    numbers = st.integers(-3, 3) | st.floats(-3, 3) | st.sampled_from([1.0, 0.0, -0.0, 1e16, 1e300, 10**16,
                                                                       float("inf"), float("nan")])
    leaves = st.none() | st.booleans() | numbers | st.sampled_from(["", "a", "1", "true", "null", "你"])
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.sampled_from(["a", "b", "1"]), inner, max_size=3), max_leaves=8)


def written_otherwise(value, how: str):
    """The same JSON value with its leaves written another way: "floats" gives an equal value (1 -> 1.0), "lookalike"
    one that only looks equal to a careless comparison (True -> 1, 0 -> False, None -> 0, "1" -> 1)."""
    if isinstance(value, list):
        return [written_otherwise(v, how) for v in value]
    if isinstance(value, dict):
        return {k: written_otherwise(v, how) for k, v in value.items()}
    if how == "floats":
        return float(value) if type(value) is int and abs(value) < 2**53 else value
    if type(value) is int:
        return {1: True, 0: False}.get(value, value)
    if value is None or isinstance(value, (bool, str)):
        return {True: 1, False: 0, None: 0, "1": 1, "true": True, "null": None}.get(value, value)
    return value


@settings(max_examples=400, deadline=None)
@given(json_values(), json_values(), st.sampled_from(["other", "floats", "lookalike"]))
def test_json_equal_is_the_match_keys_equality(a, b, how):
    """json_equal answers exactly as the canonical texts of the match key compare, for any two JSON values: another
    value, the same value written with floats (equal), or one with lookalike leaves (true for 1: not equal)."""
    if how != "other":
        b = written_otherwise(a, how)
    assert json_equal(a, b) == (request_key("POST", "/x", {"v": a}) == request_key("POST", "/x", {"v": b}))


def test_many_differences_are_counted_not_all_spelled_out(server):
    body = recorded_body("l02-lilei-turn-3")
    for m in body["messages"]:
        m["content"] += "…"
    message = miss(server, body)
    assert nearest_named(message) == "l02-lilei-turn-3"
    assert "differs in 6 fields" in message and "and 3 more" in message and len(message) < 1200


def test_no_key_reaches_the_message(server):
    secret = "sk-" + "Zq8" * 16
    body = recorded_body("l02-what-can-you-do")
    body["messages"][0]["content"] = f"你能干吗？my key is {secret}"  # the changed text, cut in the message
    message = miss(server, body)
    assert "Zq8" not in message and not KEY_PATTERN.search(message)
    assert "sk-***" in message
    body = recorded_body("l02-lilei-turn-2")
    body["messages"].append({"role": "user", "content": "x" * 30 + secret})  # an added message, cut in the message
    body[secret] = 1  # a field whose name is a key
    message = miss(server, body)
    assert "Zq8" not in message and not KEY_PATTERN.search(message)
    # a key sent as the key is refused before any lookup, and never echoed
    r = send(server, body, key=secret)
    assert r.status_code == 401 and secret not in r.text


# ---- ties and numbers, on a folder of their own --------------------------------------------------------------

def body_with(text: str, **extra) -> dict:
    return {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": text}], **extra}


def test_ties_are_named_not_silently_given_to_the_first(tmp_path, servers):
    write_recording(tmp_path, chat("t-a", body_with("猫ab"), "x"))
    write_recording(tmp_path, chat("t-b", body_with("猫ba"), "y"))
    write_recording(tmp_path, chat("t-far", body_with("一个很不一样的问题"), "z"))
    nearest = RecordingIndex.load(tmp_path).nearest("POST", CHAT, body_with("猫aa"))
    assert nearest.recording.name == "t-a" and nearest.ties == ["t-b"]
    server = servers(mode="replay", recordings_dir=tmp_path)
    message = miss(server, body_with("猫aa"))
    assert "the nearest recording is 't-a' (as near: 't-b'), which differs in 1 field" in message
    # no tie: the nearer one alone, whatever its name
    nearest = RecordingIndex.load(tmp_path).nearest("POST", CHAT, body_with("猫bax"))
    assert nearest.recording.name == "t-b" and nearest.ties == []


def test_nearest_counts_fields_then_messages_then_characters(tmp_path):
    write_recording(tmp_path, chat("a-two", {"model": DEFAULT_MODEL, "messages": [
        {"role": "system", "content": "你是助手。"}, {"role": "user", "content": "你好"}]}, "x"))
    write_recording(tmp_path, chat("b-one-far", body_with("今天天气怎么样？我想出去走走。"), "y"))
    write_recording(tmp_path, chat("c-one-near", body_with("你好吗"), "z"))
    index = RecordingIndex.load(tmp_path)
    # one message "你好": one field from each; the same number of messages wins over fewer characters
    nearest = index.nearest("POST", CHAT, body_with("你好"))
    assert nearest.recording.name == "c-one-near"
    assert [d.text() for d in nearest.differences] == ['messages[0].content: "你好⟨⟩" here, "你好⟨吗⟩" recorded']
    # among the same number of messages, the fewest characters: one character, not the whole text
    nearest = index.nearest("POST", CHAT, body_with("今天天气怎么样？我想出去走走！"))
    assert nearest.recording.name == "b-one-far"
    assert nearest.differences[0].chars == 1


def test_numbers_compare_by_value_and_a_boolean_is_not_a_number(tmp_path, servers):
    write_recording(tmp_path, chat("t-temp", body_with("你好", temperature=1), "x"))
    write_recording(tmp_path, chat("t-n", body_with("你好", n=1), "y"))
    server = servers(mode="replay", recordings_dir=tmp_path)
    # 1.0 is the recorded 1: a hit, and no difference named when something else changed
    assert send(server, body_with("你好", temperature=1.0)).status_code == 200
    message = miss(server, body_with("你好!", temperature=1.0))
    assert nearest_named(message) == "t-temp" and "temperature" not in message
    assert json_equal({"t": 1.0, "xs": [2, 3.0]}, {"t": 1, "xs": [2.0, 3]})
    assert not json_equal(True, 1) and not json_equal(False, 0) and not json_equal("1", 1)
    assert [d.text() for d in compare(body_with("你好", n=True), body_with("你好", n=1))] == ["n: true here, 1 recorded"]
    assert describe_differences(body_with("你好", temperature=0.5), body_with("你好", temperature=1.0)) == [
        "temperature: 0.5 here, 1.0 recorded"]


def test_a_path_with_no_recording_at_all_still_gets_learner_advice_first(server):
    r = requests.post(server.url + "/v1/files", json={}, headers={"Authorization": f"Bearer {REPLAY_API_KEY}"},
                      timeout=10)
    assert r.status_code == 404 and r.json()["error"]["type"] == "recording_not_found_error"
    message = r.json()["error"]["message"]
    assert "there is no recording for POST /v1/files at all" in message
    assert message.index("live mode") < message.index("make record")
