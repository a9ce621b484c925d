"""Checkers for notebooks/11_tool_calls.ipynb.

Each one drives the learner's function through a real exchange with the local server (the questions are recorded
in recordings/handwritten/lesson11.py), then reads what went over the wire (the server's request log): the tool
result's tool_call_id, the reasoning_content sent back, the calls glued together from a stream. Whatever the
server refuses comes back as its own message, with what to change.
"""
from __future__ import annotations

import copy
import json
import os
from typing import Any, Callable, Iterator

from helpers.checks import Said, code, exercise, require, say, server_message

MARATHON = "How many kilometres is a 26.2-mile marathon?"
HIGHER = "Which is higher above sea level, Kunming or Lhasa, and by how many metres?"
BLANKS = say("Replace every ... with your answer first.", "先把每个 ... 换成你的答案。")


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _client():
    from openai import OpenAI
    return OpenAI(api_key=os.environ["MOONSHOT_API_KEY"], base_url=os.environ["KIMI_BASE_URL"], max_retries=0)


def _model() -> str:
    return os.environ["KIMI_MODEL"]


def _learner(what: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call the learner's function; whatever it raises becomes feedback."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - the learner's code may fail in any way
        text = str(exc).splitlines()[0] if str(exc) else ""
        require("ellipsis" not in text.lower(), BLANKS)
        require(False, say(f"{what} raised {type(exc).__name__}: {text}", f"{what} 抛出了 {type(exc).__name__}：{text}"))


def _ask(what: Said, **request: Any) -> Any:
    """A request the check itself sends; the server's refusal becomes feedback."""
    import openai
    try:
        return _client().chat.completions.create(model=_model(), **request)
    except openai.APIStatusError as exc:
        said = server_message(exc) or str(exc)
        if exc.status_code == 404 and "No recording" in said:
            require(False, what + say(f": the local server has no answer recorded for it ({said}) Did TOOLS change? "
                                      "Run the notebook's cells from the top with TOOLS as section 2 defines it.",
                                      f"：本地服务器没有为这个请求录制回答（{said}）。TOOLS 改过吗？"
                                      "请按第 2 节对 TOOLS 的定义，从头运行笔记本的单元格。"))
        require(False, what + say(f" was refused with {exc.status_code}: {said}",
                                  f"时，请求被拒绝了，状态码 {exc.status_code}：{said}"))


def _wire_messages() -> list[dict[str, Any]]:
    from helpers import last_request
    entry = last_request() or {}
    body = entry.get("body")
    return body.get("messages", []) if isinstance(body, dict) else []


def _is_dict(value: Any, what: str) -> dict[str, Any]:
    require(value is not ..., BLANKS)
    require(isinstance(value, dict), say(f"{what} should be a dict, not {type(value).__name__}.",
                                         f"{what} 应该是 dict，而不是 {type(value).__name__}。"))
    return value


@exercise("11.1", hints=[
    say("A tool's result goes back in a message with the role \"tool\", tied to the call it answers by its id.",
        "工具的结果放在一条 role 为 \"tool\" 的消息里发回去，并靠 id 和它回答的那个工具调用对应起来。"),
    say("tool_call.id is the id (tool_call.function.name is the name); content is text: json.dumps(result).",
        "id 是 tool_call.id（名字是 tool_call.function.name）；content 是文本：json.dumps(result)。"),
    code(
        "def tool_message(tool_call, result):",
        "    return {",
        "        \"role\": \"tool\",",
        "        \"tool_call_id\": tool_call.id,",
        "        \"name\": tool_call.function.name,",
        "        \"content\": json.dumps(result),",
        "    }",
    ),
])
def _(tool_message: Callable[[Any, dict], dict], convert_units: Callable[..., dict], tools: list):
    require(callable(tool_message), say("tool_message should be the function defined in the exercise cell.",
                                  "tool_message 应该是练习单元格里定义的那个函数。"))
    question = [_user(MARATHON)]
    first = _ask(say("Asking the marathon question", "发送马拉松问题"), messages=question, tools=tools).choices[0].message
    require(first.tool_calls, say("The marathon question came back without a tool call; run the notebook from the top.",
                                  "马拉松问题的回答里没有工具调用；请从头运行笔记本。"))
    call = first.tool_calls[0]
    result = convert_units(**json.loads(call.function.arguments))
    message = _is_dict(_learner("tool_message(tool_call, result)", tool_message, call, result), "tool_message(...)")
    require(all(v is not ... for v in message.values()), BLANKS)
    require(message.get("role") == "tool",
            say(f"The message has the role {message.get('role')!r}: a tool's result goes back with the role \"tool\".",
                f"这条消息的 role 是 {message.get('role')!r}：工具的结果要用 role \"tool\" 发回去。"))
    has_id = "id" in message
    require("tool_call_id" in message,
            say("The message has no \"tool_call_id\": that key ties the result to its call (the key is tool_call_id, "
                "not id).",
                "这条消息没有 \"tool_call_id\"：正是这个键把结果和它所回答的工具调用对应起来（键名是 tool_call_id，"
                "不是 id）。") if has_id else
            say("The message has no \"tool_call_id\": that key ties the result to its call.",
                "这条消息没有 \"tool_call_id\"：正是这个键把结果和它所回答的工具调用对应起来。"))
    sent_id = message["tool_call_id"]
    require(sent_id != call.function.name,
            say(f"tool_call_id is {sent_id!r}, the function's name. It should be the call's id, tool_call.id "
                f"(here {call.id!r}).",
                f"tool_call_id 是 {sent_id!r}，这是函数的名字。它应该是这次调用的 id，也就是 tool_call.id"
                f"（这里是 {call.id!r}）。"))
    require(isinstance(sent_id, str),
            say(f"tool_call_id is a {type(sent_id).__name__}: it should be the id string, tool_call.id.",
                f"tool_call_id 是 {type(sent_id).__name__}：它应该是 id 字符串 tool_call.id。"))
    require(sent_id == call.id, say(f"tool_call_id is {sent_id!r}, but the call's id is {call.id!r}: copy tool_call.id.",
                                    f"tool_call_id 是 {sent_id!r}，但这次调用的 id 是 {call.id!r}：照抄 tool_call.id。"))
    content: Any = message.get("content")
    require(isinstance(content, str), say(f"content is a {type(content).__name__}: Kimi takes a tool's result as text. "
                                          "Turn the dict into JSON text with json.dumps(result).",
                                          f"content 是 {type(content).__name__}：Kimi 只接受文本形式的工具结果。"
                                          "用 json.dumps(result) 把 dict 转成 JSON 文本。"))
    try:
        same = json.loads(content) == result
    except ValueError:
        same = False
    require(same, say(f"content is {content[:60]!r}: it should be the result as JSON text, json.dumps(result).",
                      f"content 是 {content[:60]!r}：它应该是 JSON 文本形式的结果，即 json.dumps(result)。"))
    require(message.get("name") == call.function.name,
            say("Keep \"name\": tool_call.function.name in the message, as Kimi's documentation writes it.",
                "按 Kimi 文档的写法，在消息里保留 \"name\": tool_call.function.name。"))
    final = _ask(say("Sending your tool message back", "把你的工具消息发回去"), messages=question + [first, message], tools=tools)
    sent = _wire_messages()
    require(sent and sent[-1].get("role") == "tool" and sent[-1].get("tool_call_id") == call.id,
            say("The request that went out did not end with your tool message: run the check cell again.",
                "发出去的请求最后一条不是你的工具消息：请再运行一次检查单元格。"))
    return say(f"On the wire your message answered {call.id} with {content}, and Kimi said: "
               f"{final.choices[0].message.content!r}",
               f"在实际发出的请求里，你的消息用 {content} 回答了 {call.id}，Kimi 回复："
               f"{final.choices[0].message.content!r}")


def _run(functions: dict[str, Callable[..., Any]]) -> Callable[[dict[str, Any]], str]:
    def run(tool_call: dict[str, Any]) -> str:
        function = tool_call["function"]
        return json.dumps(functions[function["name"]](**json.loads(function["arguments"])))
    return run


def _post(messages: list[Any], tools: list) -> Any:
    import requests
    return requests.post(f"{os.environ['KIMI_BASE_URL']}/chat/completions", timeout=60,
                         headers={"Authorization": f"Bearer {os.environ['MOONSHOT_API_KEY']}"},
                         json={"model": _model(), "messages": messages, "tools": tools})


def _refusal_advice(said: str) -> Said | str:
    if "reasoning_content is missing" in said:
        return say(" Append reply itself: it holds reasoning_content, which the thinking model must get back with its "
                   "tool calls (section 9).",
                   "把 reply 本身追加进去：它带着 reasoning_content，而思考模型必须连同自己的工具调用一起收到这段思考内容"
                   "（第 9 节）。")
    if "tool_call_id" in said:
        return say(" Each tool message's tool_call_id is the id of one of reply's tool calls: tool_call[\"id\"].",
                   "每条工具消息的 tool_call_id 都是 reply 里某个工具调用的 id：tool_call[\"id\"]。")
    if "No recording" in said:
        return say(" The messages differ from what Kimi expects here: the reply as it came, then one tool message "
                   "per call, {\"role\": \"tool\", \"tool_call_id\", \"name\", \"content\": run(tool_call)}.",
                   "这些消息和 Kimi 此时期望的不一样：先是原样的 reply，然后每个工具调用一条工具消息，"
                   "{\"role\": \"tool\", \"tool_call_id\", \"name\", \"content\": run(tool_call)}。")
    return ""


@exercise("11.2", hints=[
    say("The model must see its own reply (with its tool calls) before their results: append reply, as it is.",
        "模型必须先看到它自己的回复（带着工具调用），再看到这些调用的结果：把 reply 原样追加进去。"),
    say("Then, for each call in reply[\"tool_calls\"], a message {\"role\": \"tool\", \"tool_call_id\": ..., "
        "\"name\": ..., \"content\": run(tool_call)}.",
        "然后，reply[\"tool_calls\"] 里的每个工具调用各对应一条消息 {\"role\": \"tool\", \"tool_call_id\": ..., "
        "\"name\": ..., \"content\": run(tool_call)}。"),
    code(
        "def next_messages(messages, reply, run):",
        "    following = list(messages)",
        "    following.append(reply)",
        "    for tool_call in reply[\"tool_calls\"]:",
        "        following.append({\"role\": \"tool\", \"tool_call_id\": tool_call[\"id\"], \"name\": tool_call[\"function\"][\"name\"],",
        "                          \"content\": run(tool_call)})",
        "    return following",
    ),
])
def _(next_messages: Callable[..., list], functions: dict, tools: list):
    require(callable(next_messages), say("next_messages should be the function defined in the exercise cell.",
                                  "next_messages 应该是练习单元格里定义的那个函数。"))
    question = [_user(HIGHER)]
    response = _post(question, tools)
    require(response.status_code == 200, say(f"Asking the question failed with {response.status_code}: "
                                             f"{response.text[:200]}. Run the notebook's cells from the top.",
                                             f"提问失败，状态码 {response.status_code}："
                                             f"{response.text[:200]}。请从头运行笔记本的单元格。"))
    reply = response.json()["choices"][0]["message"]
    calls = reply["tool_calls"]
    given = copy.deepcopy(question)
    out = _learner("next_messages(messages, reply, run)", next_messages, given, copy.deepcopy(reply), _run(functions))
    require(isinstance(out, list), say(f"next_messages should return a list of messages, not {type(out).__name__}.",
                                       f"next_messages 应该返回一个消息列表（list），而不是 {type(out).__name__}。"))
    require(given == question, say("next_messages changed the list it was given: build the new one from list(messages).",
                                   "next_messages 改动了传给它的列表：用 list(messages) 另建一个新列表。"))
    require(all(m is not ... for m in out), BLANKS)
    require(all(isinstance(m, dict) for m in out), say("Every message in the list should be a dict.",
                                                       "列表里的每条消息都应该是 dict。"))
    roles = [m.get("role") for m in out]
    require(len(out) > len(question), say("next_messages returned only the messages it was given: replace the ... lines "
                                          "with the assistant's reply and one tool message per call.",
                                          "next_messages 只返回了传给它的那些消息：把 ... 那几行换成 assistant 的回复，"
                                          "再加上每个工具调用一条工具消息。"))
    require(roles[:1] == ["user"], say(f"The list should start with the messages it was given; yours starts {roles[:1]}.",
                                       f"列表应该以传给它的那些消息开头；你的列表开头是 {roles[:1]}。"))
    require("assistant" in roles, say(f"The roles you send are {roles}: the assistant's reply is missing. The model "
                                      "must see its own tool calls before their results: append reply.",
                                      f"你发送的消息 role 依次是 {roles}：缺了 assistant 的回复。模型必须先看到自己的"
                                      "工具调用，再看到它们的结果：把 reply 追加进去。"))
    require(roles.index("assistant") == 1, say(f"The roles you send are {roles}: the assistant's reply comes right after "
                                               "the question, before the tool messages.",
                                               f"你发送的消息 role 依次是 {roles}：assistant 的回复应该紧跟在问题后面，"
                                               "排在工具消息之前。"))
    tools_sent = [m for m in out if m.get("role") == "tool"]
    require(len(tools_sent) == len(calls), say(f"The reply asked for {len(calls)} calls and you send {len(tools_sent)} "
                                               "tool message(s): one per call, each with its own tool_call_id.",
                                               f"回复里有 {len(calls)} 个工具调用，你却发送了 {len(tools_sent)} 条工具消息："
                                               "应该每个调用一条，各自带上自己的 tool_call_id。"))
    ids = [m.get("tool_call_id") for m in tools_sent]
    expected = [c["id"] for c in calls]
    require(sorted(map(str, ids)) == sorted(expected), say(f"Your tool messages answer {ids}, the calls were {expected}: "
                                                           "use each call's own id, tool_call[\"id\"].",
                                                           f"你的工具消息回答的是 {ids}，而工具调用是 {expected}："
                                                           "要用每个调用自己的 id，tool_call[\"id\"]。"))
    response = _post(out, tools)
    if response.status_code != 200:
        try:
            said = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            said = response.text[:200]
        require(False, say(f"Kimi refused your messages with {response.status_code}: {said}.",
                           f"Kimi 拒绝了你的消息，状态码 {response.status_code}：{said}。") + _refusal_advice(said))
    sent = _wire_messages()
    require(len(sent) == 4 and "reasoning_content" in sent[1], say("What went out is not what next_messages returned: "
                                                                   "run the check cell again.",
                                                                   "发出去的内容和 next_messages 返回的不一致："
                                                                   "请再运行一次检查单元格。"))
    answer = response.json()["choices"][0]["message"]["content"]
    return say(f"On the wire: the reply with its reasoning_content and both calls, then results for {', '.join(ids)}. "
               f"Kimi answered: {answer!r}",
               f"实际发出的请求里：先是带着 reasoning_content 和两个工具调用的回复，然后是 {', '.join(ids)} 的结果。"
               f"Kimi 回答：{answer!r}")


class _Watched:
    """An SDK stream passed through to the learner, keeping what went by (the thinking, the deltas)."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.reasoning, self.content, self.done = stream, "", "", False
        self.deltas: list[Any] = []

    def __iter__(self) -> Iterator[Any]:
        for chunk in self.stream:
            delta = chunk.choices[0].delta
            self.reasoning += getattr(delta, "reasoning_content", None) or ""
            self.content += delta.content or ""
            self.deltas += list(delta.tool_calls or [])
            yield chunk
        self.done = True

    def calls(self) -> list[dict[str, Any]]:
        whole: dict[int, dict[str, Any]] = {}
        for d in self.deltas:
            one = whole.setdefault(d.index, {"id": d.id, "type": "function",
                                             "function": {"name": d.function.name, "arguments": ""}})
            one["function"]["arguments"] += d.function.arguments or ""
        return [whole[i] for i in sorted(whole)]


@exercise("11.3", hints=[
    say("A delta whose index is new starts a call (it carries the id and the name); every delta then adds its piece "
        "of the arguments to the call with its index.",
        "index 第一次出现的 delta 开始一个新的工具调用（它带着 id 和 name）；之后每个 delta 都把自己那一段 arguments "
        "加到同一个 index 的调用上。"),
    say("if delta.index not in calls: calls[delta.index] = {...with delta.id and delta.function.name, arguments \"\"}; "
        "then add delta.function.arguments to calls[delta.index][\"function\"][\"arguments\"].",
        "if delta.index not in calls: calls[delta.index] = {...，带上 delta.id 和 delta.function.name，arguments 为 \"\"}；"
        "然后把 delta.function.arguments 加到 calls[delta.index][\"function\"][\"arguments\"] 上。"),
    code(
        "def collect_tool_calls(stream):",
        "    calls = {}",
        "    for chunk in stream:",
        "        for delta in chunk.choices[0].delta.tool_calls or []:",
        "            if delta.index not in calls:",
        "                calls[delta.index] = {\"id\": delta.id, \"type\": \"function\",",
        "                                      \"function\": {\"name\": delta.function.name, \"arguments\": \"\"}}",
        "            calls[delta.index][\"function\"][\"arguments\"] += delta.function.arguments or \"\"",
        "    return [calls[index] for index in sorted(calls)]",
    ),
])
def _(collect_tool_calls: Callable[[Any], list], functions: dict, tools: list):
    require(callable(collect_tool_calls), say("collect_tool_calls should be the function defined in the exercise cell.",
                                  "collect_tool_calls 应该是练习单元格里定义的那个函数。"))
    question = [_user(HIGHER)]
    watched = _Watched(_ask(say("Streaming the question", "以流式输出发送问题"), messages=question, tools=tools, stream=True))
    got = _learner("collect_tool_calls(stream)", collect_tool_calls, watched)
    require(watched.done, say("collect_tool_calls stopped before the end of the stream: read every chunk.",
                              "collect_tool_calls 没读到流的末尾就停了：要读完每个数据块。"))
    expected = watched.calls()
    require(isinstance(got, list), say(f"collect_tool_calls should return a list of calls, not {type(got).__name__}.",
                                       f"collect_tool_calls 应该返回一个工具调用的列表（list），"
                                       f"而不是 {type(got).__name__}。"))
    require(got or not expected, say("collect_tool_calls returned no calls: replace the ... with the code that starts a "
                                     "call at a new index and adds each delta's piece.",
                                     "collect_tool_calls 没有返回任何工具调用：把 ... 换成这样的代码：遇到新的 index "
                                     "就开始一个调用，并把每个 delta 的那一段加上去。"))
    require(len(got) == len(expected), say(f"The stream held {len(expected)} calls (index 0 and 1); you returned "
                                           f"{len(got)}. Keep one call per delta.index.",
                                           f"流里有 {len(expected)} 个工具调用（index 0 和 1）；你返回了 "
                                           f"{len(got)} 个。每个 delta.index 对应一个调用。"))
    for mine in got:
        require(isinstance(mine, dict) and isinstance(mine.get("function"), dict),
                say("Each call should be a dict {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}.",
                    "每个工具调用都应该是一个 dict {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}。"))
        require(mine.get("id") is not None, say("A call's id is None: the id comes only in a call's first delta (later "
                                                "ones have id None). Keep it from the delta that starts the call.",
                                                "有个工具调用的 id 是 None：id 只出现在一个调用的第一个 delta 里（之后的 "
                                                "delta 的 id 都是 None）。要从开始这个调用的那个 delta 里把它保存下来。"))
        require(mine["function"].get("name") is not None,
                say("A call's name is None: like the id, the name comes only in the call's first delta.",
                    "有个工具调用的 name 是 None：和 id 一样，name 也只出现在调用的第一个 delta 里。"))
        require(mine.get("type") == "function", say("Each call needs \"type\": \"function\", as in an assistant message.",
                                                    "每个工具调用都需要 \"type\": \"function\"，和 assistant 消息里的一样。"))
    require([c["id"] for c in got] == [c["id"] for c in expected],
            say(f"The calls are {[c['id'] for c in got]}, the stream's are {[c['id'] for c in expected]}: one call per "
                "index, returned in index order.",
                f"你的工具调用是 {[c['id'] for c in got]}，流里的是 {[c['id'] for c in expected]}：每个 index 一个调用，"
                "按 index 的顺序返回。"))
    for index, (mine, real) in enumerate(zip(got, expected)):
        arguments = mine["function"].get("arguments")
        last_piece = [d.function.arguments for d in watched.deltas if d.index == index][-1]
        require(arguments == real["function"]["arguments"] or arguments != last_piece,
                say(f"Call {index}'s arguments are {arguments!r}, only the last piece: add each piece to what you have "
                    "(+=) instead of replacing it.",
                    f"调用 {index} 的 arguments 是 {arguments!r}，只有最后一段：把每一段接到已有内容的后面（+=），"
                    "而不是替换掉它。"))
        require(arguments == real["function"]["arguments"],
                say(f"Call {index}'s arguments are {arguments!r}; the pieces with index {index} join to "
                    f"{real['function']['arguments']!r}.",
                    f"调用 {index} 的 arguments 是 {arguments!r}；index 为 {index} 的各段拼起来应该是 "
                    f"{real['function']['arguments']!r}。"))
    run = _run(functions)
    follow = question + [{"role": "assistant", "content": watched.content, "reasoning_content": watched.reasoning,
                          "tool_calls": got}]
    follow += [{"role": "tool", "tool_call_id": c["id"], "name": c["function"]["name"], "content": run(c)} for c in got]
    final = _ask(say("Sending the calls you collected back", "把你收集到的工具调用发回去"), messages=follow, tools=tools)
    sent = _wire_messages()
    require(len(sent) > 1 and sent[1].get("tool_calls") == expected,
            say("What went out is not the calls you collected: run the check cell again.",
                "发出去的不是你收集到的工具调用：请再运行一次检查单元格。"))
    return say(f"Glued by index: {', '.join(c['id'] + ' ' + c['function']['arguments'] for c in got)}. Sent back, "
               f"Kimi answered: {final.choices[0].message.content!r}",
               f"按 index 拼接的结果：{', '.join(c['id'] + ' ' + c['function']['arguments'] for c in got)}。发回去之后，"
               f"Kimi 回答：{final.choices[0].message.content!r}")
