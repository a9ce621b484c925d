"""Checkers for notebook 03 (the openai SDK): the raw response and its request id, extra_body, a stream.

They read what the SDK really sent from the raw response (`raw.http_request`), which works in every
mode; in replay mode exercise 03.2 also finds the request its answer was recorded for.
"""
from __future__ import annotations

import json
from typing import Any

from ..lab import ARTICLE_QUESTION as WHAT_CAN_YOU_DO
from ..lab import HELLO_LILEI as HELLO
from ..lab import LAB_SYSTEM_PROMPT
from . import code, exercise, is_blank, learner, require

THINKING_OFF = {"type": "disabled"}


def _model() -> str:
    from ..course import current
    return current().model


def _is_completion(value: Any) -> bool:
    from openai.types.chat import ChatCompletion
    return isinstance(value, ChatCompletion)


@exercise("03.1", hints=[
    "Section 5 got the status and the headers of a call: the same way works here.",
    "client.chat.completions.with_raw_response.create(...) takes the same arguments as create. Kimi's id "
    "is the Msh-Request-Id header (raw_1.request_id reads x-request-id, which Kimi doesn't send).",
    code(
        'raw_1 = client.chat.completions.with_raw_response.create(model=course.model, messages=lab_messages)',
        'request_id_1 = raw_1.headers["msh-request-id"]',
    ),
])
def _(raw, request_id):
    require(not is_blank(raw), "Replace the ... after raw_1 = with client.chat.completions.with_raw_response.create(...).")
    require(not _is_completion(raw), "raw_1 is a parsed ChatCompletion: you called .create() directly. "
                                     "Go through .with_raw_response.create(...) to keep the status and headers.")
    require(hasattr(raw, "http_request") and hasattr(raw, "headers") and hasattr(raw, "parse"),
            f"raw_1 should be what .with_raw_response.create(...) returns, not {type(raw).__name__}.")
    try:
        body = json.loads(raw.http_request.content)
    except ValueError:
        body = None
    require(isinstance(body, dict), "The request raw_1 came from had no JSON body.")
    require(body.get("model") == _model(), f"Your request's model was {body.get('model')!r}; use model=course.model.")
    require("temperature" not in body, "The lab sent temperature 0.3, which the course's model refuses: leave it out.")
    expected = [{"role": "system", "content": LAB_SYSTEM_PROMPT}, {"role": "user", "content": HELLO}]
    require(body.get("messages") == expected, "Send the lab's two messages as they are: messages=lab_messages.")
    require(raw.status_code == 200, f"Kimi answered {raw.status_code}.")
    require(not is_blank(request_id), "Replace the ... after request_id_1 = with the request id from raw_1's headers.")
    require(request_id is not None, "request_id_1 is None. raw_1.request_id reads the x-request-id header, which Kimi "
                                    "doesn't send; Kimi's own header is Msh-Request-Id: raw_1.headers[\"msh-request-id\"].")
    require(isinstance(request_id, str), f"request_id_1 should be the header's value, a string, not "
                                         f"{type(request_id).__name__}: raw_1.headers[\"msh-request-id\"].")
    require(not request_id.startswith("chatcmpl-"),
            f"{request_id} is the completion's id, which names the answer. Support needs Kimi's id for the request, "
            "the Msh-Request-Id header: raw_1.headers[\"msh-request-id\"].")
    require(request_id == raw.headers.get("msh-request-id"),
            f"request_id_1 is {request_id!r}; it should be raw_1's Msh-Request-Id header.")
    answer = raw.parse().choices[0].message.content
    return f"Kimi answered “{answer}”, and {request_id} is what you'd quote to support about it."


@exercise("03.2", hints=[
    "Kimi-only fields travel in extra_body (section 6), and a field that may be missing is read with "
    "getattr and a default.",
    "Thinking off is extra_body={\"thinking\": {\"type\": \"disabled\"}}. getattr(message, \"reasoning_content\", "
    "None) gives None instead of an AttributeError.",
    code(
        'question_2 = [{"role": "user", "content": "你能干吗？"}]',
        'completion_2 = client.chat.completions.create(',
        '    model=course.model,',
        '    messages=question_2,',
        '    extra_body={"thinking": {"type": "disabled"}},',
        ')',
        'reasoning_2 = getattr(completion_2.choices[0].message, "reasoning_content", None)',
    ),
])
def _(completion, reasoning):
    require(not is_blank(completion), "Replace the ... after completion_2 = with client.chat.completions.create(...).")
    if hasattr(completion, "parse") and hasattr(completion, "http_request"):
        require(False, "completion_2 is a raw response: call .parse() on it, or use .create() without .with_raw_response.")
    require(_is_completion(completion), f"completion_2 should be the ChatCompletion that .create(...) returns, "
                                        f"not {type(completion).__name__}.")
    sent = _logged_body(completion.id)
    if sent is not None:
        require(sent.get("messages") == [{"role": "user", "content": WHAT_CAN_YOU_DO}],
                "Ask the question in question_2: messages=question_2.")
        require(sent.get("thinking") == THINKING_OFF,
                "Your request had no \"thinking\": {\"type\": \"disabled\"} in its body. Put it in extra_body=."
                if "thinking" not in sent else
                f"Your request's thinking was {json.dumps(sent.get('thinking'))}; thinking off is {{\"type\": \"disabled\"}}.")
    message = completion.choices[0].message
    require(getattr(message, "reasoning_content", None) is None,
            "Kimi still thought before answering (completion_2 has reasoning_content): thinking was on. "
            "Turn it off with extra_body={\"thinking\": {\"type\": \"disabled\"}}.")
    require(not is_blank(reasoning), "Replace the ... after reasoning_2 = with the reasoning read from the message "
                                     "(None when there is none).")
    require(reasoning is None, f"reasoning_2 is {reasoning!r}, but completion_2 carries no reasoning: "
                               "getattr(message, \"reasoning_content\", None) gives None here.")
    return ("Thinking off, no reasoning_content, and getattr(..., None) read the missing field without an "
            "AttributeError.")


def _logged_body(completion_id: str) -> dict[str, Any] | None:
    """In replay mode, the body of the request this completion answered (replay matches bodies exactly)."""
    from ..course import current

    course = current()
    if course.mode != "replay" or course.server is None:  # live: the SDK talked to the real service directly
        return None
    for recording in course.server.index.all():
        answer = recording.response.get("body")
        if isinstance(answer, dict) and answer.get("id") == completion_id:
            return recording.request.get("body")
    return None


@exercise("03.3", hints=[
    "Each chunk carries a delta: the new piece of the message, like a small message of its own.",
    "The piece is chunk.choices[0].delta.content. It is None (or empty) in the reasoning chunks and in the "
    "last one, so keep it only `if piece:`.",
    code(
        'stream_3 = client.chat.completions.create(model=course.model, messages=paraphrase_messages, stream=True)',
        'pieces_3 = []',
        'for chunk in stream_3:',
        '    piece = chunk.choices[0].delta.content',
        '    if piece:',
        '        pieces_3.append(piece)',
        'answer_3 = "".join(pieces_3)',
        'print(answer_3)',
    ),
])
def _(pieces, answer):
    require(isinstance(pieces, list), "Keep pieces_3 = [] as the cell had it, and append to it in the loop.")
    require(pieces, "pieces_3 is empty: in the loop, take chunk.choices[0].delta.content and append it to pieces_3.")
    require(None not in pieces, "pieces_3 holds None: the reasoning chunks and the last chunk carry no answer text. "
                                "Append a piece only when there is one.")
    odd = next((p for p in pieces if not isinstance(p, str)), "")
    require(not odd, f"pieces_3 should hold strings, the text of each delta, but it holds {type(odd).__name__} "
                     "objects: take .content of the delta.")
    require(all(pieces), "pieces_3 holds empty strings: keep only pieces with text (if piece: ...).")
    require(len(pieces) > 1, "pieces_3 has a single piece: a stream sends the answer a few characters at a time: append each one inside the loop (pieces_3 = [piece] starts the list again each time).")
    thinking_named = "reasoning_content" in (learner.exercise_cell("03.3") or "")
    streamed = _streamed_pieces(learner.namespace().get("chunk"))
    if streamed is not None:
        content, reasoning = streamed
        thought = set(reasoning) - set(content)
        if any(p in thought for p in pieces) or (thinking_named and pieces != content):
            require(False, "pieces_3 holds the model's thinking too (delta.reasoning_content), so answer_3 starts "
                           "with its reasoning. The answer is delta.content alone: take only that.")
        require(pieces == content,
                f"pieces_3 has {len(pieces)} pieces, but the stream sent the answer in {len(content)}: append every "
                "piece of delta.content that has text, once, inside the loop.")
    require(streamed is not None or not thinking_named,  # live mode: no recording to compare with
            "Your loop reads reasoning_content: that is the model's thinking, not its answer. Take only delta.content.")
    require(isinstance(answer, str) and answer == "".join(pieces),
            "Keep answer_3 = \"\".join(pieces_3) as the cell had it.")
    return f"{len(pieces)} pieces, joined into the whole answer: {answer}"


def _streamed_pieces(chunk: Any) -> tuple[list[str], list[str]] | None:
    """(answer pieces, thinking pieces) of the recorded stream `chunk` came from (replay and record), else None."""
    from ..course import current

    stream_id = getattr(chunk, "id", None)
    server = current().server
    if stream_id is None or server is None:
        return None
    for recording in server.index.all():
        events = recording.response.get("events") or []
        if not events or not isinstance(events[0].get("data"), dict) or events[0]["data"].get("id") != stream_id:
            continue
        content, reasoning = [], []
        for event in events:
            data = event.get("data")
            for choice in (data.get("choices") or []) if isinstance(data, dict) else []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    content.append(delta["content"])
                if delta.get("reasoning_content"):
                    reasoning.append(delta["reasoning_content"])
        return content, reasoning
    return None
