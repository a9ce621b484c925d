"""Recording files: the match key, nearest-miss descriptions, atomic writes, the index, scrubbing, and the
repo's own recordings (loadable, honest about their source, free of secrets)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import recordings as rec_mod
from helpers.authoring import chat, error, json_answer
from helpers.recordings import (Recording, RecordingIndex, canonical_json, describe_differences, recording_filename,
                                request_key, scrub_headers, write_recording)
from helpers.settings import RECORDINGS_DIR

BODY = {"model": "moonshot-v1-8k", "messages": [{"role": "user", "content": "你好"}], "temperature": 0.3}
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9]{20,}")


# ---- the match key ----------------------------------------------------------------------------------

def test_request_key_ignores_key_order_and_spacing():
    reordered = json.loads('{ "temperature" : 0.3, "messages": [{"content": "你好", "role": "user"}], "model": "moonshot-v1-8k"}')
    assert request_key("POST", "/v1/chat/completions", BODY) == request_key("post", "/v1/chat/completions", reordered)
    assert canonical_json(reordered) == '{"messages":[{"content":"你好","role":"user"}],"model":"moonshot-v1-8k","temperature":0.3}'


def test_request_key_tells_apart_what_matters():
    base = request_key("POST", "/v1/chat/completions", BODY)
    assert base != request_key("POST", "/v1/chat/completions", {**BODY, "temperature": 0.5})
    assert base != request_key("POST", "/v1/completions", BODY)
    assert base != request_key("PUT", "/v1/chat/completions", BODY)
    assert request_key("GET", "/v1/models", None) == "GET /v1/models"


def test_describe_differences_names_each_field():
    wanted = {**BODY, "temperature": 0.5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    diffs = describe_differences(wanted, BODY)
    assert diffs == ['messages[0].content: "hi" here, "你好" recorded',
                     "stream: sent here, not in the recording",
                     "temperature: 0.5 here, 0.3 recorded"]
    assert describe_differences({"model": "x"}, {"model": "x", "n": 1}) == ["n: in the recording, not sent here"]
    assert describe_differences([1], [1, 2]) == ["body[1]: in the recording, not sent here"]
    assert describe_differences(BODY, json.loads(json.dumps(BODY))) == []


def test_recording_filename_is_stable_and_endpoint_named():
    name = recording_filename("POST", "/v1/chat/completions", BODY)
    assert name == recording_filename("POST", "/v1/chat/completions", dict(reversed(list(BODY.items()))))
    assert re.fullmatch(r"chat-completions-[0-9a-f]{10}\.json", name)
    assert name != recording_filename("POST", "/v1/chat/completions", {**BODY, "temperature": 0.4})


# ---- writing ----------------------------------------------------------------------------------------

def test_write_recording_round_trips(tmp_path):
    original = chat("t-roundtrip", BODY, "你好！")
    path = write_recording(tmp_path, original)
    assert path == tmp_path / "t-roundtrip.json" and original.path == path
    loaded = Recording.from_file(path)
    assert loaded.to_json() == original.to_json()
    assert loaded.key == original.key
    assert "你好！" in path.read_text(encoding="utf-8")  # Chinese stays readable in the file


def test_write_recording_never_overwrites_unless_asked(tmp_path):
    write_recording(tmp_path, chat("t-same", BODY, "first"))
    before = (tmp_path / "t-same.json").read_bytes()
    with pytest.raises(FileExistsError, match="KIMI_RECORD_OVERWRITE"):
        write_recording(tmp_path, chat("t-same", BODY, "second"))
    assert (tmp_path / "t-same.json").read_bytes() == before
    write_recording(tmp_path, chat("t-same", BODY, "second"), overwrite=True)
    assert Recording.from_file(tmp_path / "t-same.json").response["body"]["choices"][0]["message"]["content"] == "second"


def test_write_recording_is_atomic(tmp_path, monkeypatch):
    write_recording(tmp_path, chat("t-atomic", BODY, "first"))
    before = (tmp_path / "t-atomic.json").read_bytes()
    calls = []

    def failing_replace(src, dst):
        calls.append((Path(src), Path(dst)))
        raise OSError("disk full")

    monkeypatch.setattr(rec_mod.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_recording(tmp_path, chat("t-atomic", BODY, "second"), overwrite=True)
    # the new text went to a temporary file in the same folder, moved into place in one step
    (src, dst), = calls
    assert src.parent == tmp_path and src.name.startswith(".tmp-") and dst == tmp_path / "t-atomic.json"
    # a failed write leaves the old file whole and no stray temporary file behind
    assert (tmp_path / "t-atomic.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t-atomic.json"]


def test_a_write_in_progress_is_not_loaded_as_a_recording(tmp_path):
    write_recording(tmp_path, chat("t-one", BODY, "x"))
    (tmp_path / ".tmp-abc123.json").write_text('{"name": "half', encoding="utf-8")
    index = RecordingIndex.load(tmp_path)
    assert [r.name for r in index.all()] == ["t-one"]


# ---- loading and the index --------------------------------------------------------------------------------

def test_from_file_rejects_incomplete_recordings(tmp_path):
    good = chat("t-good", BODY, "x").to_json()
    (tmp_path / "no-response.json").write_text(json.dumps({k: v for k, v in good.items() if k != "response"}))
    with pytest.raises(ValueError, match=r"no-response\.json: a recording needs 'response'"):
        Recording.from_file(tmp_path / "no-response.json")
    (tmp_path / "no-kind.json").write_text(json.dumps({**good, "source": {"note": "?"}}))
    with pytest.raises(ValueError, match=r"no-kind\.json: source\.kind"):
        Recording.from_file(tmp_path / "no-kind.json")


def test_index_serves_same_key_recordings_in_name_order_then_repeats_the_last(tmp_path):
    for name, text in [("t-b", "second"), ("t-a", "first"), ("t-c", "third")]:
        write_recording(tmp_path, chat(name, BODY, text))
    index = RecordingIndex.load(tmp_path)
    assert len(index) == 3
    served = [index.find("POST", "/v1/chat/completions", BODY).name for _ in range(5)]
    assert served == ["t-a", "t-b", "t-c", "t-c", "t-c"]
    index.reset()
    assert index.find("POST", "/v1/chat/completions", BODY).name == "t-a"
    assert index.find("POST", "/v1/chat/completions", {**BODY, "temperature": 0.9}) is None


def test_index_nearest_picks_the_fewest_differences(tmp_path):
    write_recording(tmp_path, chat("t-near", BODY, "x"))
    write_recording(tmp_path, chat("t-far", {**BODY, "temperature": 0.9, "max_tokens": 10}, "y"))
    nearest = RecordingIndex.load(tmp_path).nearest("POST", "/v1/chat/completions", {**BODY, "temperature": 0.5})
    assert nearest.recording.name == "t-near" and nearest.ties == []
    assert [d.text() for d in nearest.differences] == ["temperature: 0.5 here, 0.3 recorded"]
    assert RecordingIndex.load(tmp_path).nearest("POST", "/v1/files", {}) is None


def test_index_models_come_from_the_models_recording(tmp_path):
    assert RecordingIndex.load(tmp_path).models() == []
    write_recording(tmp_path, json_answer("t-models", "GET", "/v1/models", None,
                                          {"object": "list", "data": [{"id": "m-1"}, {"id": "m-2"}]}, "test"))
    assert RecordingIndex.load(tmp_path).models() == ["m-1", "m-2"]


def test_a_missing_folder_is_an_empty_index(tmp_path):
    assert len(RecordingIndex.load(tmp_path / "absent")) == 0


# ---- scrubbing -----------------------------------------------------------------------------------------

def test_scrub_headers_keeps_only_what_replay_needs():
    upstream = {"content-type": "application/json; charset=utf-8", "msh-request-id": "abc", "Server-Timing": "inner; dur=5",
                "Msh-Uid": "user-123", "msh-gid": "group-9", "Set-Cookie": "session=xyz", "Authorization": "Bearer t",
                "Cookie": "a=b", "X-Cdn-Noise": "hit", "Retry-After": "3", "X-Should-Retry": "true", "Date": "today"}
    # Retry-After is kept: real RPM 429s carry it and the SDK honours it (see the real exchanges).
    assert scrub_headers(upstream) == {"Content-Type": "application/json; charset=utf-8", "Msh-Request-Id": "abc",
                                       "Server-Timing": "inner; dur=5", "Retry-After": "3"}


# ---- the hand-written recording shapes ----------------------------------------------------------------------

def test_authoring_stream_has_kimis_event_order():
    rec = chat("t-stream", {**BODY, "stream": True}, "你好呀，李雷！", reasoning="先打招呼。")
    events = rec.response["events"]
    datas = [e["data"] for e in events]
    assert datas[-1] == "[DONE]"
    assert datas[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    reasoning = "".join(d["choices"][0]["delta"].get("reasoning_content", "") for d in datas[1:-2])
    content = "".join(d["choices"][0]["delta"].get("content", "") for d in datas[1:-2])
    assert (reasoning, content) == ("先打招呼。", "你好呀，李雷！")
    last = datas[-2]["choices"][0]
    assert last["delta"] == {} and last["finish_reason"] == "stop"
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]
    times = [e["at"] for e in events]
    assert times == sorted(times) and times[-1] > 0
    assert rec.response["headers"]["Content-Type"] == "text/event-stream"
    assert len({d["id"] for d in datas[:-1]}) == 1


def test_authoring_error_has_kimis_shape():
    rec = error("t-err", BODY, 400, "content_filter", "The request was rejected because it was considered high risk")
    assert rec.response["status"] == 400
    assert rec.response["body"] == {"error": {"message": "The request was rejected because it was considered high risk",
                                              "type": "content_filter"}}
    assert rec.source["kind"] == "handwritten"


# ---- the repo's recordings --------------------------------------------------------------------------------

def test_repo_recordings_load_and_are_honest_about_their_source():
    index = RecordingIndex.load(RECORDINGS_DIR)
    names = {r.name for r in index.all()}
    assert {"l01-hello-lilei", "l08-paraphrase-01", "l02-what-can-you-do", "models-list", "balance"} <= names
    # the lab's own models were retired on 2026-08-31: a 200 for them would be one the real service no longer gives
    assert not {"lab-hello-lilei", "lab-paraphrase", "article-what-can-you-do"} & names
    for rec in index.all():
        assert rec.path.name == f"{rec.name}.json"
        assert rec.source["kind"] in ("handwritten", "recorded", "captured"), rec.name
        if rec.source["kind"] == "recorded":
            assert rec.source.get("host") and rec.source.get("recorded_at"), rec.name


def test_repo_recordings_hold_no_secrets():
    for path in sorted(RECORDINGS_DIR.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert not KEY_PATTERN.search(text), path.name
        data = json.loads(text)
        assert "headers" not in data["request"], f"{path.name}: request headers are never stored"
        header_names = {h.lower() for h in data["response"].get("headers", {})}
        assert not header_names & {"authorization", "cookie", "set-cookie", "msh-uid", "msh-gid"}, path.name
        assert not any(name.startswith("x-") for name in header_names - {"x-msh-trace-id"}), path.name
