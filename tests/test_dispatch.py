"""The server's policies on plain values, without sockets: a request value in, a reply value out."""
from __future__ import annotations

import json

import pytest

from helpers import upstream as up
from helpers.dispatch import (DropReply, ForwardReply, Incoming, JsonReply, ServerState, StreamReply, dispatch,
                              route_for)
from helpers.recordings import Recording, RecordingIndex
from helpers.settings import RECORDINGS_DIR, REPLAY_API_KEY

PORT = 8123
HOST = ("Host", f"127.0.0.1:{PORT}")
AUTH = ("Authorization", f"Bearer {REPLAY_API_KEY}")
PARAPHRASE = Recording.from_file(RECORDINGS_DIR / "l08-paraphrase-01.json")
INDEX = RecordingIndex.load(RECORDINGS_DIR)


def state(mode: str = "replay") -> ServerState:
    INDEX.reset()
    return ServerState(mode=mode, index=INDEX, accepted_key=REPLAY_API_KEY, port=PORT)


def request(method: str = "POST", path: str = "/v1/chat/completions", body: object = None, headers=(HOST, AUTH),
            raw: bytes | None = None) -> Incoming:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
    return Incoming.make(method, path, "", list(headers), data)


def test_routes():
    assert route_for("/v1/models").kind == "api"
    assert route_for("/limits/tier1-x4/v1/models").spec == "tier1-x4"
    assert route_for("/_course/requests").kind == "control"
    assert route_for("/simulate/overloaded").kind == "other"  # no /v1/ after the fault: not the API


def test_a_recorded_request_replays_its_recording():
    reply = dispatch(request(body=PARAPHRASE.request["body"]), state())
    assert isinstance(reply, JsonReply) and reply.status == 200 and reply.recording == "l08-paraphrase-01"
    assert json.loads(reply.body) == PARAPHRASE.response["body"]


def test_the_key_is_checked_in_replay_and_left_to_the_service_when_forwarding():
    without = (HOST,)
    assert dispatch(request(body=PARAPHRASE.request["body"], headers=without), state()).status == 401
    assert isinstance(dispatch(request(body=PARAPHRASE.request["body"], headers=without), state("passthrough")),
                      ForwardReply)


def test_the_body_is_parsed_once_and_bad_json_is_a_400():
    bad = request(raw=b'{"model": NaN}')
    assert bad.body is None and bad.body_error is not None and bad.body_error.status == 400
    reply = dispatch(bad, state())
    assert reply.status == 400 and "NaN" in reply.body["error"]["message"]


def test_faults_are_reply_values():
    stream_body = {**PARAPHRASE.request["body"], "stream": True}
    overloaded = dispatch(request(path="/simulate/overloaded/v1/chat/completions", body=PARAPHRASE.request["body"]),
                          state())
    assert overloaded.status == 429 and overloaded.headers["X-Simulated-Fault"] == "overloaded"
    assert isinstance(dispatch(request(path="/simulate/disconnect/v1/chat/completions",
                                       body=PARAPHRASE.request["body"]), state()), DropReply)
    slow = dispatch(request(path="/simulate/slow-3s/v1/chat/completions", body=PARAPHRASE.request["body"]), state())
    assert isinstance(slow, JsonReply) and slow.status == 200 and slow.delay >= 3
    live = dispatch(request(path="/simulate/stream_error/v1/chat/completions", body=stream_body), state("passthrough"))
    assert isinstance(live, ForwardReply) and live.fault is not None and live.fault.name == "stream_error"


def test_a_recorded_stream_under_stream_error_ends_with_an_error():
    body = next(r.request["body"] for r in INDEX.all() if r.is_stream and r.request["path"] == "/v1/chat/completions")
    reply = dispatch(request(path="/simulate/stream_error/v1/chat/completions", body=body), state())
    assert isinstance(reply, StreamReply) and reply.ending == "error"


def test_a_tier_admits_then_refuses_and_releases_what_it_admitted():
    s = state()
    first = dispatch(request(path="/limits/tier0/v1/chat/completions", body=PARAPHRASE.request["body"]), s)
    assert first.status == 200 and first.after  # holds a concurrency slot until released
    second = dispatch(request(path="/limits/tier0/v1/chat/completions", body=PARAPHRASE.request["body"]), s)
    assert second.status == 429 and "concurrency" in second.body["error"]["message"]
    for release in first.after:
        release()
    assert s.limiters["tier0"].stats()["in_flight"] == 0


@pytest.mark.parametrize("headers, status", [((("Host", "evil.example"), AUTH), 403),
                                              ((HOST, AUTH, ("Origin", "https://evil.example")), 403),
                                              ((("Host", f"localhost:{PORT}"), AUTH), 200)])
def test_only_this_machine_may_ask(headers, status):
    assert dispatch(request("GET", "/v1/models", headers=headers), state()).status == status


def test_the_recording_rules():
    assert [up.should_record(s) for s in (200, 400, 404, 401, 403, 429, 500, 502)] == [True, True, True] + [False] * 5
    assert up.self_forwarding_problem("http://127.0.0.1:8123/v1", 8123) is not None
    assert up.self_forwarding_problem("http://127.0.0.1:9999/v1", 8123) is None
    assert up.self_forwarding_problem("https://api.moonshot.cn/v1", 443) is None
    sent = dict(up.forwarded_headers((("Host", "x"), ("Authorization", "Bearer k"), ("Connection", "close")), "abc"))
    assert sent == {"Authorization": "Bearer k", "Accept-Encoding": "identity", up.HOP_HEADER: "abc"}
