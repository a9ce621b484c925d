"""Checkers for notebooks/06_streaming.ipynb."""
from __future__ import annotations

import json
import numbers
import time
from typing import Any

from helpers.checks import code, exercise, is_blank, learner, require

# A small Kimi-shaped stream: the role chunk, thinking, the answer, the final chunk with usage inside the choice.
_CHUNKS: list[dict[str, Any]] = [
    {"delta": {"role": "assistant", "content": ""}},
    {"delta": {"reasoning_content": "想一想"}},
    {"delta": {"content": "你好"}},
    {"delta": {"content": "。"}},
    {"delta": {}, "finish_reason": "stop",
     "usage": {"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13}},
]


def _events() -> list[dict[str, Any]]:
    out = []
    for part in _CHUNKS:
        choice: dict[str, Any] = {"index": 0, "delta": part["delta"], "finish_reason": part.get("finish_reason")}
        if "usage" in part:
            choice["usage"] = part["usage"]
        out.append({"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": 1,
                    "model": "demo", "choices": [choice]})
    return out


def _lines(events: list[dict[str, Any]], split: bool) -> list[str]:
    """SSE lines for `events`; with split=True each event's JSON is spread over two data: lines."""
    lines = []
    for event in events:
        text = json.dumps(event, ensure_ascii=False)
        if split:
            head, tail = text.split('"choices":', 1)
            lines += [f"data: {head}\"choices\":", f"data: {tail}", ""]
        else:
            lines += [f"data: {text}", ""]
    # [DONE], then something that is not JSON: a parser that reads past [DONE] trips over it.
    return lines + ["data: [DONE]", "", "data: this is not JSON", ""]


def _run_parser(parse_events, lines: list[str]) -> list[Any]:
    try:
        return list(parse_events(lines))
    except json.JSONDecodeError as exc:
        raise AssertionError(f"json.loads failed ({exc.msg}). Did you stop at [DONE], and join all the "
                             "data: lines of an event before decoding?") from None


@exercise("06.1", hints=[
    "pending collects an event's data: lines. The first blank is what they become together; the second is "
    "what the caller gets.",
    "\"\\n\".join(pending) joins the lines with a new line, as the SSE format says; json.loads(text) decodes "
    "the event for the caller.",
    code(
        'def parse_events(lines):',
        '    pending = []                                   # the data: lines of the event being read',
        '    for line in lines:',
        '        if line.startswith("data:"):',
        '            pending.append(line[len("data:"):].strip())',
        '        elif line == "" and pending:               # a blank line: the event is complete',
        '            text = "\\n".join(pending)              # the pending lines joined into one text',
        '            pending = []',
        '            if text == "[DONE]":',
        '                return',
        "            yield json.loads(text)                 # the event's JSON, decoded",
    ),
])
def _(parse_events):
    require(callable(parse_events), "parse_events should be the function defined in the exercise cell.")
    events = _events()
    try:
        simple = _run_parser(parse_events, _lines(events, split=False))
    except AssertionError as exc:
        try:  # the same stream without what follows [DONE]: does the parser read past it?
            _run_parser(parse_events, _lines(events, split=False)[:-4])
        except AssertionError:
            require(False, str(exc))
        require(False, "Your parser read on after [DONE] and tried to decode what came next: stop at [DONE] "
                       "(return as soon as text == \"[DONE]\"), before json.loads.")
    try:
        split = _run_parser(parse_events, _lines(events, split=True))
    except AssertionError:
        require(False, "With one data: line per event your parser works, but not with an event spread over two "
                       "data: lines: neither line alone is JSON. Join all the event's pending lines into one text "
                       "first: \"\\n\".join(pending).")
    require(not any(is_blank(e) for e in simple), "Your parser yields ... : replace both blanks.")
    require(not any(isinstance(e, str) for e in simple),
            "Your parser yields text. Decode it with json.loads so the caller gets a dict.")
    require(len(simple) == len(events),
            f"For a stream of {len(events)} events and [DONE], your parser yielded {len(simple)} items.")
    require(simple == events, "With one data: line per event, the decoded events don't match what was sent.")
    require(split == events, "With events spread over two data: lines, the decoded events don't match. "
                             "Join all the pending lines of an event before decoding.")
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in split)
    return f"It read both layouts and stopped at [DONE]; the answer in the sample stream was {text!r}."


@exercise("06.2", hints=[
    "time.perf_counter() is a clock in seconds, and started holds what it read before the request.",
    "Seconds since started are time.perf_counter() - started: the first blank is inside the loop (the "
    "first time content arrives), the second after the loop.",
    code(
        'started = time.perf_counter()',
        'first_content_at = None',
        'stream = client.chat.completions.create(',
        '    model=course.model, messages=[{"role": "user", "content": POEM}], stream=True)',
        'for chunk in stream:',
        '    if chunk.choices and chunk.choices[0].delta.content and first_content_at is None:',
        '        first_content_at = time.perf_counter() - started',
        'total = time.perf_counter() - started',
    ),
])
def _(first_content_at, total):
    require(not is_blank(first_content_at), "Replace the ... after first_content_at = with the seconds since started.")
    require(not is_blank(total), "Replace the ... after total = with the seconds since started.")
    require(first_content_at is not None, "first_content_at is still None: no piece of the answer was seen. "
                                          "Did the loop run over the stream?")
    for name, value in (("first_content_at", first_content_at), ("total", total)):
        require(isinstance(value, numbers.Real) and not isinstance(value, bool),
                f"{name} should be a number of seconds, not {type(value).__name__}.")
    mixed = ("You mixed two clocks: time.time() counts seconds since 1970, time.perf_counter() from an arbitrary "
             "start, so a difference between them means nothing. Use time.perf_counter() for started and for both "
             "measurements.")
    for name, value in (("first_content_at", first_content_at), ("total", total)):
        require(abs(value) < 1e8, f"{name} is {value:,.0f} seconds. {mixed}")
    started = learner.namespace().get("started")  # in a notebook: the exercise cell's own start
    if isinstance(started, numbers.Real) and not isinstance(started, bool):
        now = time.perf_counter() if started < 1e8 else time.time()
        for name, value in (("first_content_at", first_content_at), ("total", total)):
            if value > now - started + 0.001:  # more seconds than have passed since started
                require(not started <= value <= now,
                        f"{name} is {value:,.1f}: that is the clock's reading, not the seconds since started. "
                        "Subtract: time.perf_counter() - started.")
                require(False, f"{name} is {value:,.1f} seconds, but started was only {now - started:,.1f} seconds "
                               f"ago. {mixed}")
    require(0 < first_content_at, "first_content_at should be the seconds since started, so more than 0.")
    require(first_content_at <= total, "The first piece can't arrive after the end: measure total after the loop.")
    share = first_content_at / total if total else 1
    return (f"The answer began {share:.0%} of the way through the wait. "
            "Streaming moves that moment forward; the total stays the same.")


@exercise("06.3", hints=[
    "Section 2's loop does most of it: decode the line, skip what isn't data:, stop at [DONE], json.loads it.",
    "Add delta.get(\"content\") or \"\" to first_tip, and break as soon as \"\\n\" in first_tip. After the with "
    "block, keep only what comes before the new line.",
    code(
        'tips_body = {"model": course.model, "messages": [{"role": "user", "content": TIPS}], "stream": True}',
        'first_tip = ""',
        'with requests.post(f"{BASE_URL}/chat/completions", headers=HEADERS, json=tips_body, stream=True, timeout=60) as response:',
        '    for raw in response.iter_lines():',
        '        line = raw.decode("utf-8")',
        '        if not line.startswith("data:"):',
        '            continue',
        '        data = line[len("data:"):].strip()',
        '        if data == "[DONE]":',
        '            break',
        '        first_tip += json.loads(data)["choices"][0]["delta"].get("content") or ""',
        '        if "\\n" in first_tip:',
        '            break                                  # the first tip is complete',
        'first_tip = first_tip.split("\\n")[0]',
    ),
])
def _(first_tip, response):
    import requests

    from helpers.course import current

    require(isinstance(first_tip, str), "first_tip should be a string.")
    require(first_tip.strip(), "first_tip is empty: add each piece of delta.content to it inside the loop.")
    if first_tip.endswith("\n") and "\n" not in first_tip.rstrip("\n"):
        require(False, "first_tip is the first line, but with its new line still at the end: keep only what comes "
                       "before it, first_tip.split(\"\\n\")[0].")
    require("\n" not in first_tip, "first_tip holds more than one line. Stop at the first \\n and keep what is before it.")
    require(isinstance(response, requests.Response), "response should be the requests response from the with block.")
    require(response.raw is None or response.raw.closed, "The response is still open: keep the with block.")
    last_line = learner.namespace().get("raw")  # the loop variable: the last line read before the loop ended
    read_to_the_end = response._content_consumed or (
        isinstance(last_line, bytes) and last_line.replace(b" ", b"").startswith(b"data:[DONE]"))
    require(not read_to_the_end,
            "You read the whole stream, up to [DONE], and took the first line afterwards: the answer is right, but "
            "the connection stayed open until the last tip arrived. Stop reading as soon as the first line is "
            "complete: break out of the loop once \"\\n\" in first_tip.")
    if current().mode == "replay":
        expected = "1. 每天写一点代码，动手比只看书更重要。"
        require(first_tip.strip() == expected, f"The first tip should be {expected!r}, but first_tip is {first_tip!r}.")
    return "You read one line of the answer and let the connection go: the rest of the stream was never read."
