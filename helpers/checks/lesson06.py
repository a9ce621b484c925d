"""Checkers for notebooks/06_streaming.ipynb."""
from __future__ import annotations

import json
import numbers
import time
from typing import Any

from helpers.checks import code, exercise, is_blank, learner, require, say

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
        raise AssertionError(say(f"json.loads failed ({exc.msg}). Did you stop at [DONE], and join all the "
                                 "data: lines of an event before decoding?",
                                 f"json.loads 失败了（{exc.msg}）。你在 [DONE] 处停下了吗？解码之前，"
                                 "有没有把一个事件的所有 data: 行拼在一起？")) from None


@exercise("06.1", hints=[
    say("pending collects an event's data: lines. The first blank is what they become together; the second is "
        "what the caller gets.",
        "pending 收集一个事件的 data: 行。第一个空白是这些行合在一起的样子；第二个空白是调用者拿到的东西。"),
    say("\"\\n\".join(pending) joins the lines with a new line, as the SSE format says; json.loads(text) decodes "
        "the event for the caller.",
        "按 SSE 格式的规定，\"\\n\".join(pending) 用换行符把这些行连起来；json.loads(text) 把事件解码，交给调用者。"),
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
    require(callable(parse_events), say("parse_events should be the function defined in the exercise cell.",
                                        "parse_events 应该是练习单元格里定义的那个函数。"))
    events = _events()
    try:
        simple = _run_parser(parse_events, _lines(events, split=False))
    except AssertionError as exc:
        try:  # the same stream without what follows [DONE]: does the parser read past it?
            _run_parser(parse_events, _lines(events, split=False)[:-4])
        except AssertionError:
            require(False, str(exc))
        require(False, say("Your parser read on after [DONE] and tried to decode what came next: stop at [DONE] "
                           "(return as soon as text == \"[DONE]\"), before json.loads.",
                           "你的解析器读到 [DONE] 之后还在往下读，还想解码后面的内容：要在 [DONE] 处停下"
                           "（一旦 text == \"[DONE]\" 就 return），放在 json.loads 之前。"))
    try:
        split = _run_parser(parse_events, _lines(events, split=True))
    except AssertionError:
        require(False, say("With one data: line per event your parser works, but not with an event spread over two "
                           "data: lines: neither line alone is JSON. Join all the event's pending lines into one text "
                           "first: \"\\n\".join(pending).",
                           "每个事件只有一行 data: 时，你的解析器没问题；但一个事件分成两行 data: 时就不行了："
                           "单独哪一行都不是 JSON。先把这个事件 pending 里的所有行拼成一段文本："
                           "\"\\n\".join(pending)。"))
    require(not any(is_blank(e) for e in simple), say("Your parser yields ... : replace both blanks.",
                                                      "你的解析器 yield 出来的是 ... ：把两个空白都换掉。"))
    require(not any(isinstance(e, str) for e in simple),
            say("Your parser yields text. Decode it with json.loads so the caller gets a dict.",
                "你的解析器 yield 出来的是文本。用 json.loads 解码，调用者拿到的才是 dict。"))
    require(len(simple) == len(events),
            say(f"For a stream of {len(events)} events and [DONE], your parser yielded {len(simple)} items.",
                f"一个流里有 {len(events)} 个事件和 [DONE]，你的解析器却 yield 了 {len(simple)} 项。"))
    require(simple == events, say("With one data: line per event, the decoded events don't match what was sent.",
                                  "每个事件一行 data: 时，解码出来的事件和发送的不一致。"))
    require(split == events, say("With events spread over two data: lines, the decoded events don't match. "
                                 "Join all the pending lines of an event before decoding.",
                                 "事件分成两行 data: 时，解码出来的事件对不上。解码之前，先把一个事件 pending "
                                 "里的所有行拼起来。"))
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in split)
    return say(f"It read both layouts and stopped at [DONE]; the answer in the sample stream was {text!r}.",
               f"两种写法它都能读，而且在 [DONE] 处停下了；示例流里的回答是 {text!r}。")


@exercise("06.2", hints=[
    say("time.perf_counter() is a clock in seconds, and started holds what it read before the request.",
        "time.perf_counter() 是一个以秒计的时钟，started 存的是发请求之前它的读数。"),
    say("Seconds since started are time.perf_counter() - started: the first blank is inside the loop (the "
        "first time content arrives), the second after the loop.",
        "从 started 起过了多少秒，就是 time.perf_counter() - started：第一个空白在循环里（内容第一次到达的时候），"
        "第二个在循环之后。"),
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
    require(not is_blank(first_content_at),
            say("Replace the ... after first_content_at = with the seconds since started.",
                "把 first_content_at = 后面的 ... 换成从 started 起经过的秒数。"))
    require(not is_blank(total), say("Replace the ... after total = with the seconds since started.",
                                     "把 total = 后面的 ... 换成从 started 起经过的秒数。"))
    require(first_content_at is not None, say("first_content_at is still None: no piece of the answer was seen. "
                                              "Did the loop run over the stream?",
                                              "first_content_at 还是 None：回答的任何一块都没见到。"
                                              "循环真的遍历了 stream 吗？"))
    for name, value in (("first_content_at", first_content_at), ("total", total)):
        require(isinstance(value, numbers.Real) and not isinstance(value, bool),
                say(f"{name} should be a number of seconds, not {type(value).__name__}.",
                    f"{name} 应该是一个秒数，而不是 {type(value).__name__}。"))
    mixed = say("You mixed two clocks: time.time() counts seconds since 1970, time.perf_counter() from an arbitrary "
                "start, so a difference between them means nothing. Use time.perf_counter() for started and for both "
                "measurements.",
                "你混用了两个时钟：time.time() 从 1970 年开始计秒，time.perf_counter() 从一个任意的起点开始，"
                "所以两者相减没有任何意义。started 和两次测量都用 time.perf_counter()。")
    for name, value in (("first_content_at", first_content_at), ("total", total)):
        require(abs(value) < 1e8, say(f"{name} is {value:,.0f} seconds. {mixed.en}",
                                      f"{name} 是 {value:,.0f} 秒。{mixed.zh}"))
    started = learner.namespace().get("started")  # in a notebook: the exercise cell's own start
    if isinstance(started, numbers.Real) and not isinstance(started, bool):
        now = time.perf_counter() if started < 1e8 else time.time()
        for name, value in (("first_content_at", first_content_at), ("total", total)):
            if value > now - started + 0.001:  # more seconds than have passed since started
                require(not started <= value <= now,
                        say(f"{name} is {value:,.1f}: that is the clock's reading, not the seconds since started. "
                            "Subtract: time.perf_counter() - started.",
                            f"{name} 是 {value:,.1f}：这是时钟的读数，不是从 started 起经过的秒数。"
                            "要做减法：time.perf_counter() - started。"))
                require(False, say(f"{name} is {value:,.1f} seconds, but started was only {now - started:,.1f} seconds "
                                   f"ago. {mixed.en}",
                                   f"{name} 是 {value:,.1f} 秒，可 started 离现在只有 {now - started:,.1f} 秒。"
                                   f"{mixed.zh}"))
    require(0 < first_content_at, say("first_content_at should be the seconds since started, so more than 0.",
                                      "first_content_at 应该是从 started 起经过的秒数，所以要大于 0。"))
    require(first_content_at <= total, say("The first piece can't arrive after the end: measure total after the loop.",
                                           "第一块内容不可能在结束之后才到：total 要在循环之后测。"))
    share = first_content_at / total if total else 1
    return say(f"The answer began {share:.0%} of the way through the wait. "
               "Streaming moves that moment forward; the total stays the same.",
               f"等待进行到 {share:.0%} 时，回答就开始出现了。流式输出把这个时刻提前了，总用时不变。")


@exercise("06.3", hints=[
    say("Section 2's loop does most of it: decode the line, skip what isn't data:, stop at [DONE], json.loads it.",
        "第 2 节的循环已经做了大部分：解码这一行，跳过不是 data: 的行，遇到 [DONE] 停下，再 json.loads。"),
    say("Add delta.get(\"content\") or \"\" to first_tip, and break as soon as \"\\n\" in first_tip. After the with "
        "block, keep only what comes before the new line.",
        "把 delta.get(\"content\") or \"\" 加到 first_tip 上，一旦 \"\\n\" in first_tip 就 break。"
        "with 块结束之后，只留下换行符之前的部分。"),
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

    require(isinstance(first_tip, str), say("first_tip should be a string.", "first_tip 应该是一个字符串。"))
    require(first_tip.strip(), say("first_tip is empty: add each piece of delta.content to it inside the loop.",
                                   "first_tip 是空的：在循环里把每一块 delta.content 加到它上面。"))
    if first_tip.endswith("\n") and "\n" not in first_tip.rstrip("\n"):
        require(False, say("first_tip is the first line, but with its new line still at the end: keep only what comes "
                           "before it, first_tip.split(\"\\n\")[0].",
                           "first_tip 是第一行，可末尾还带着换行符：只留下它前面的部分，first_tip.split(\"\\n\")[0]。"))
    require("\n" not in first_tip, say("first_tip holds more than one line. Stop at the first \\n and keep what is "
                                       "before it.",
                                       "first_tip 里不止一行。在第一个 \\n 处停下，留下它前面的部分。"))
    require(isinstance(response, requests.Response),
            say("response should be the requests response from the with block.",
                "response 应该是 with 块里那个 requests 的响应。"))
    require(response.raw is None or response.raw.closed, say("The response is still open: keep the with block.",
                                                             "响应还没有关闭：保留 with 块。"))
    last_line = learner.namespace().get("raw")  # the loop variable: the last line read before the loop ended
    read_to_the_end = response._content_consumed or (
        isinstance(last_line, bytes) and last_line.replace(b" ", b"").startswith(b"data:[DONE]"))
    require(not read_to_the_end,
            say("You read the whole stream, up to [DONE], and took the first line afterwards: the answer is right, but "
                "the connection stayed open until the last tip arrived. Stop reading as soon as the first line is "
                "complete: break out of the loop once \"\\n\" in first_tip.",
                "你把整个流一直读到了 [DONE]，之后才取第一行：答案是对的，但连接一直开着，直到最后一条建议到达。"
                "第一行一完整就停止读取：一旦 \"\\n\" in first_tip，就 break 跳出循环。"))
    if current().mode == "replay":
        expected = "1. 每天写一点代码，动手比只看书更重要。"
        require(first_tip.strip() == expected, say(f"The first tip should be {expected!r}, but first_tip is {first_tip!r}.",
                                                   f"第一条建议应该是 {expected!r}，但 first_tip 是 {first_tip!r}。"))
    return say("You read one line of the answer and let the connection go: the rest of the stream was never read.",
               "你只读了回答的一行，就放开了连接：流里剩下的部分根本没有读。")
