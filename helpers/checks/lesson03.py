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
from . import code, exercise, is_blank, learner, require, say

THINKING_OFF = {"type": "disabled"}


def _model() -> str:
    from ..course import current
    return current().model


def _is_completion(value: Any) -> bool:
    from openai.types.chat import ChatCompletion
    return isinstance(value, ChatCompletion)


@exercise("03.1", hints=[
    say("Section 5 got the status and the headers of a call: the same way works here.",
        "第 5 节拿到了一次调用的状态码和响应头：这里也用同样的办法。"),
    say("client.chat.completions.with_raw_response.create(...) takes the same arguments as create. Kimi's id "
        "is the Msh-Request-Id header (raw_1.request_id reads x-request-id, which Kimi doesn't send).",
        "client.chat.completions.with_raw_response.create(...) 的参数和 create 完全一样。Kimi 的请求 id "
        "在 Msh-Request-Id 响应头里（raw_1.request_id 读的是 x-request-id，而 Kimi 不发送这个头）。"),
    code(
        'raw_1 = client.chat.completions.with_raw_response.create(model=course.model, messages=lab_messages)',
        'request_id_1 = raw_1.headers["msh-request-id"]',
    ),
])
def _(raw, request_id):
    require(not is_blank(raw), say("Replace the ... after raw_1 = with client.chat.completions.with_raw_response.create(...).",
                                   "把 raw_1 = 后面的 ... 换成 client.chat.completions.with_raw_response.create(...)。"))
    require(not _is_completion(raw), say("raw_1 is a parsed ChatCompletion: you called .create() directly. "
                                         "Go through .with_raw_response.create(...) to keep the status and headers.",
                                         "raw_1 是已经解析好的 ChatCompletion：你直接调用了 .create()。"
                                         "改用 .with_raw_response.create(...)，才能留住状态码和响应头。"))
    require(hasattr(raw, "http_request") and hasattr(raw, "headers") and hasattr(raw, "parse"),
            say(f"raw_1 should be what .with_raw_response.create(...) returns, not {type(raw).__name__}.",
                f"raw_1 应该是 .with_raw_response.create(...) 的返回值，而不是 {type(raw).__name__}。"))
    try:
        body = json.loads(raw.http_request.content)
    except ValueError:
        body = None
    require(isinstance(body, dict), say("The request raw_1 came from had no JSON body.",
                                        "raw_1 对应的那个请求没有 JSON 请求体。"))
    require(body.get("model") == _model(), say(f"Your request's model was {body.get('model')!r}; use model=course.model.",
                                               f"你的请求里 model 是 {body.get('model')!r}；请用 model=course.model。"))
    require("temperature" not in body, say("The lab sent temperature 0.3, which the course's model refuses: leave it out.",
                                           "实验里发送了 temperature 0.3，而课程用的模型不接受这个值：把它去掉。"))
    expected = [{"role": "system", "content": LAB_SYSTEM_PROMPT}, {"role": "user", "content": HELLO}]
    require(body.get("messages") == expected, say("Send the lab's two messages as they are: messages=lab_messages.",
                                                  "把实验里的两条消息原样发出去：messages=lab_messages。"))
    require(raw.status_code == 200, say(f"Kimi answered {raw.status_code}.", f"Kimi 返回的状态码是 {raw.status_code}。"))
    require(not is_blank(request_id), say("Replace the ... after request_id_1 = with the request id from raw_1's headers.",
                                          "把 request_id_1 = 后面的 ... 换成 raw_1 响应头里的请求 id。"))
    require(request_id is not None, say("request_id_1 is None. raw_1.request_id reads the x-request-id header, which Kimi "
                                        "doesn't send; Kimi's own header is Msh-Request-Id: raw_1.headers[\"msh-request-id\"].",
                                        "request_id_1 是 None。raw_1.request_id 读的是 x-request-id 响应头，而 Kimi "
                                        "不发送这个头；Kimi 自己的响应头是 Msh-Request-Id：raw_1.headers[\"msh-request-id\"]。"))
    require(isinstance(request_id, str), say(f"request_id_1 should be the header's value, a string, not "
                                             f"{type(request_id).__name__}: raw_1.headers[\"msh-request-id\"].",
                                             f"request_id_1 应该是这个响应头的值，也就是一个字符串，而不是 "
                                             f"{type(request_id).__name__}：raw_1.headers[\"msh-request-id\"]。"))
    require(not request_id.startswith("chatcmpl-"),
            say(f"{request_id} is the completion's id, which names the answer. Support needs Kimi's id for the request, "
                "the Msh-Request-Id header: raw_1.headers[\"msh-request-id\"].",
                f"{request_id} 是这次 completion 的 id，它标识的是回答。技术支持需要的是 Kimi 给这次请求的 id，"
                "也就是 Msh-Request-Id 响应头：raw_1.headers[\"msh-request-id\"]。"))
    require(request_id == raw.headers.get("msh-request-id"),
            say(f"request_id_1 is {request_id!r}; it should be raw_1's Msh-Request-Id header.",
                f"request_id_1 是 {request_id!r}；它应该是 raw_1 的 Msh-Request-Id 响应头。"))
    answer = raw.parse().choices[0].message.content
    return say(f"Kimi answered “{answer}”, and {request_id} is what you'd quote to support about it.",
               f"Kimi 回答了“{answer}”；要就这次回答联系技术支持，报上 {request_id} 就行。")


@exercise("03.2", hints=[
    say("Kimi-only fields travel in extra_body (section 6), and a field that may be missing is read with "
        "getattr and a default.",
        "Kimi 独有的字段放在 extra_body 里发送（第 6 节）；可能不存在的字段，用 getattr 加一个默认值来读。"),
    say("Thinking off is extra_body={\"thinking\": {\"type\": \"disabled\"}}. getattr(message, \"reasoning_content\", "
        "None) gives None instead of an AttributeError.",
        "关闭思考就是 extra_body={\"thinking\": {\"type\": \"disabled\"}}。getattr(message, \"reasoning_content\", "
        "None) 在字段不存在时给出 None，而不是抛出 AttributeError。"),
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
    require(not is_blank(completion), say("Replace the ... after completion_2 = with client.chat.completions.create(...).",
                                          "把 completion_2 = 后面的 ... 换成 client.chat.completions.create(...)。"))
    if hasattr(completion, "parse") and hasattr(completion, "http_request"):
        require(False, say("completion_2 is a raw response: call .parse() on it, or use .create() without .with_raw_response.",
                           "completion_2 是原始响应：对它调用 .parse()，或者不经过 .with_raw_response，直接用 .create()。"))
    require(_is_completion(completion), say(f"completion_2 should be the ChatCompletion that .create(...) returns, "
                                            f"not {type(completion).__name__}.",
                                            f"completion_2 应该是 .create(...) 返回的 ChatCompletion，"
                                            f"而不是 {type(completion).__name__}。"))
    sent = _logged_body(completion.id)
    if sent is not None:
        require(sent.get("messages") == [{"role": "user", "content": WHAT_CAN_YOU_DO}],
                say("Ask the question in question_2: messages=question_2.",
                    "问 question_2 里的那个问题：messages=question_2。"))
        no_thinking = "thinking" not in sent
        require(sent.get("thinking") == THINKING_OFF,
                say("Your request had no \"thinking\": {\"type\": \"disabled\"} in its body. Put it in extra_body=.",
                    "你的请求体里没有 \"thinking\": {\"type\": \"disabled\"}。把它放进 extra_body=。")
                if no_thinking else
                say(f"Your request's thinking was {json.dumps(sent.get('thinking'))}; thinking off is {{\"type\": \"disabled\"}}.",
                    f"你的请求里 thinking 是 {json.dumps(sent.get('thinking'))}；关闭思考应该是 {{\"type\": \"disabled\"}}。"))
    message = completion.choices[0].message
    require(getattr(message, "reasoning_content", None) is None,
            say("Kimi still thought before answering (completion_2 has reasoning_content): thinking was on. "
                "Turn it off with extra_body={\"thinking\": {\"type\": \"disabled\"}}.",
                "Kimi 回答之前还是思考了（completion_2 带有 reasoning_content）：思考没有关掉。"
                "用 extra_body={\"thinking\": {\"type\": \"disabled\"}} 把它关闭。"))
    require(not is_blank(reasoning), say("Replace the ... after reasoning_2 = with the reasoning read from the message "
                                         "(None when there is none).",
                                         "把 reasoning_2 = 后面的 ... 换成从 message 里读出的思考内容（没有时为 None）。"))
    require(reasoning is None, say(f"reasoning_2 is {reasoning!r}, but completion_2 carries no reasoning: "
                                   "getattr(message, \"reasoning_content\", None) gives None here.",
                                   f"reasoning_2 是 {reasoning!r}，但 completion_2 并没有思考内容："
                                   "getattr(message, \"reasoning_content\", None) 在这里给出的是 None。"))
    return say("Thinking off, no reasoning_content, and getattr(..., None) read the missing field without an "
               "AttributeError.",
               "思考已关闭，没有 reasoning_content；getattr(..., None) 读取这个不存在的字段时，也没有抛出 AttributeError。")


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
    say("Each chunk carries a delta: the new piece of the message, like a small message of its own.",
        "每个数据块都带着一个 delta：消息新增的那一小段，本身就像一条小消息。"),
    say("The piece is chunk.choices[0].delta.content. It is None (or empty) in the reasoning chunks and in the "
        "last one, so keep it only `if piece:`.",
        "这一段就是 chunk.choices[0].delta.content。在思考内容的数据块和最后一个数据块里，它是 None（或空字符串），"
        "所以只在 `if piece:` 成立时才保留它。"),
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
    require(isinstance(pieces, list), say("Keep pieces_3 = [] as the cell had it, and append to it in the loop.",
                                          "保留单元格里原有的 pieces_3 = []，在循环里往它里面 append。"))
    require(pieces, say("pieces_3 is empty: in the loop, take chunk.choices[0].delta.content and append it to pieces_3.",
                        "pieces_3 是空的：在循环里取出 chunk.choices[0].delta.content，append 到 pieces_3 里。"))
    require(None not in pieces, say("pieces_3 holds None: the reasoning chunks and the last chunk carry no answer text. "
                                    "Append a piece only when there is one.",
                                    "pieces_3 里有 None：思考内容的数据块和最后一个数据块都不带回答文本。"
                                    "只在确实有文本时才 append。"))
    odd = next((p for p in pieces if not isinstance(p, str)), "")
    require(not odd, say(f"pieces_3 should hold strings, the text of each delta, but it holds {type(odd).__name__} "
                         "objects: take .content of the delta.",
                         f"pieces_3 里应该是字符串，也就是每个 delta 的文本，但它装的是 {type(odd).__name__} "
                         "对象：取 delta 的 .content。"))
    require(all(pieces), say("pieces_3 holds empty strings: keep only pieces with text (if piece: ...).",
                             "pieces_3 里有空字符串：只保留有文本的片段（if piece: ...）。"))
    require(len(pieces) > 1, say("pieces_3 has a single piece: a stream sends the answer a few characters at a time: append each one inside the loop (pieces_3 = [piece] starts the list again each time).",
                                 "pieces_3 里只有一个片段：流式输出每次只发来回答的几个字符，要在循环里把每一段都 append 进去"
                                 "（pieces_3 = [piece] 每次都会让列表从头开始）。"))
    thinking_named = "reasoning_content" in (learner.exercise_cell("03.3") or "")
    streamed = _streamed_pieces(learner.namespace().get("chunk"))
    if streamed is not None:
        content, reasoning = streamed
        thought = set(reasoning) - set(content)
        if any(p in thought for p in pieces) or (thinking_named and pieces != content):
            require(False, say("pieces_3 holds the model's thinking too (delta.reasoning_content), so answer_3 starts "
                               "with its reasoning. The answer is delta.content alone: take only that.",
                               "pieces_3 里还混进了模型的思考（delta.reasoning_content），所以 answer_3 开头是它的思考内容。"
                               "回答只有 delta.content：只取这一项。"))
        require(pieces == content,
                say(f"pieces_3 has {len(pieces)} pieces, but the stream sent the answer in {len(content)}: append every "
                    "piece of delta.content that has text, once, inside the loop.",
                    f"pieces_3 有 {len(pieces)} 个片段，但流式输出把回答分成了 {len(content)} 段：在循环里把 delta.content "
                    "中每个有文本的片段都 append 一次，不多不少。"))
    require(streamed is not None or not thinking_named,  # live mode: no recording to compare with
            say("Your loop reads reasoning_content: that is the model's thinking, not its answer. Take only delta.content.",
                "你的循环读取了 reasoning_content：那是模型的思考，不是它的回答。只取 delta.content。"))
    require(isinstance(answer, str) and answer == "".join(pieces),
            say("Keep answer_3 = \"\".join(pieces_3) as the cell had it.",
                "保留单元格里原有的 answer_3 = \"\".join(pieces_3)。"))
    return say(f"{len(pieces)} pieces, joined into the whole answer: {answer}",
               f"{len(pieces)} 个片段，拼成了完整的回答：{answer}")


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
