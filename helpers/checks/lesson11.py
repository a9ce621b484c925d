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

from helpers.checks import code, exercise, require, server_message

MARATHON = "How many kilometres is a 26.2-mile marathon?"
HIGHER = "Which is higher above sea level, Kunming or Lhasa, and by how many metres?"
BLANKS = "Replace every ... with your answer first."


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
        require(False, f"{what} raised {type(exc).__name__}: {text}")


def _ask(what: str, **request: Any) -> Any:
    """A request the check itself sends; the server's refusal becomes feedback."""
    import openai
    try:
        return _client().chat.completions.create(model=_model(), **request)
    except openai.APIStatusError as exc:
        said = server_message(exc) or str(exc)
        if exc.status_code == 404 and "No recording" in said:
            require(False, f"{what}: the local server has no answer recorded for it ({said}) Did TOOLS change? "
                           "Run the notebook's cells from the top with TOOLS as section 2 defines it.")
        require(False, f"{what} was refused with {exc.status_code}: {said}")


def _wire_messages() -> list[dict[str, Any]]:
    from helpers import last_request
    entry = last_request() or {}
    body = entry.get("body")
    return body.get("messages", []) if isinstance(body, dict) else []


def _is_dict(value: Any, what: str) -> dict[str, Any]:
    require(value is not ..., BLANKS)
    require(isinstance(value, dict), f"{what} should be a dict, not {type(value).__name__}.")
    return value


@exercise("11.1", hints=[
    "A tool's result goes back in a message with the role \"tool\", tied to the call it answers by its id.",
    "tool_call.id is the id (tool_call.function.name is the name); content is text: json.dumps(result).",
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
    require(callable(tool_message), "tool_message should be the function defined in the exercise cell.")
    question = [_user(MARATHON)]
    first = _ask("Asking the marathon question", messages=question, tools=tools).choices[0].message
    require(first.tool_calls, "The marathon question came back without a tool call; run the notebook from the top.")
    call = first.tool_calls[0]
    result = convert_units(**json.loads(call.function.arguments))
    message = _is_dict(_learner("tool_message(tool_call, result)", tool_message, call, result), "tool_message(...)")
    require(all(v is not ... for v in message.values()), BLANKS)
    require(message.get("role") == "tool",
            f"The message has the role {message.get('role')!r}: a tool's result goes back with the role \"tool\".")
    require("tool_call_id" in message, "The message has no \"tool_call_id\": that key ties the result to its call"
            + (" (the key is tool_call_id, not id)." if "id" in message else "."))
    sent_id = message["tool_call_id"]
    require(sent_id != call.function.name,
            f"tool_call_id is {sent_id!r}, the function's name. It should be the call's id, tool_call.id "
            f"(here {call.id!r}).")
    require(isinstance(sent_id, str),
            f"tool_call_id is a {type(sent_id).__name__}: it should be the id string, tool_call.id.")
    require(sent_id == call.id, f"tool_call_id is {sent_id!r}, but the call's id is {call.id!r}: copy tool_call.id.")
    content: Any = message.get("content")
    require(isinstance(content, str), f"content is a {type(content).__name__}: Kimi takes a tool's result as text. "
                                      "Turn the dict into JSON text with json.dumps(result).")
    try:
        same = json.loads(content) == result
    except ValueError:
        same = False
    require(same, f"content is {content[:60]!r}: it should be the result as JSON text, json.dumps(result).")
    require(message.get("name") == call.function.name,
            "Keep \"name\": tool_call.function.name in the message, as Kimi's documentation writes it.")
    final = _ask("Sending your tool message back", messages=question + [first, message], tools=tools)
    sent = _wire_messages()
    require(sent and sent[-1].get("role") == "tool" and sent[-1].get("tool_call_id") == call.id,
            "The request that went out did not end with your tool message: run the check cell again.")
    return (f"On the wire your message answered {call.id} with {content}, and Kimi said: "
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


def _refusal_advice(said: str) -> str:
    if "reasoning_content is missing" in said:
        return (" Append reply itself: it holds reasoning_content, which the thinking model must get back with its "
                "tool calls (section 9).")
    if "tool_call_id" in said:
        return " Each tool message's tool_call_id is the id of one of reply's tool calls: tool_call[\"id\"]."
    if "No recording" in said:
        return (" The messages differ from what Kimi expects here: the reply as it came, then one tool message "
                "per call, {\"role\": \"tool\", \"tool_call_id\", \"name\", \"content\": run(tool_call)}.")
    return ""


@exercise("11.2", hints=[
    "The model must see its own reply (with its tool calls) before their results: append reply, as it is.",
    "Then, for each call in reply[\"tool_calls\"], a message {\"role\": \"tool\", \"tool_call_id\": ..., "
    "\"name\": ..., \"content\": run(tool_call)}.",
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
    require(callable(next_messages), "next_messages should be the function defined in the exercise cell.")
    question = [_user(HIGHER)]
    response = _post(question, tools)
    require(response.status_code == 200, f"Asking the question failed with {response.status_code}: "
                                         f"{response.text[:200]}. Run the notebook's cells from the top.")
    reply = response.json()["choices"][0]["message"]
    calls = reply["tool_calls"]
    given = copy.deepcopy(question)
    out = _learner("next_messages(messages, reply, run)", next_messages, given, copy.deepcopy(reply), _run(functions))
    require(isinstance(out, list), f"next_messages should return a list of messages, not {type(out).__name__}.")
    require(given == question, "next_messages changed the list it was given: build the new one from list(messages).")
    require(all(m is not ... for m in out), BLANKS)
    require(all(isinstance(m, dict) for m in out), "Every message in the list should be a dict.")
    roles = [m.get("role") for m in out]
    require(len(out) > len(question), "next_messages returned only the messages it was given: replace the ... lines "
                                      "with the assistant's reply and one tool message per call.")
    require(roles[:1] == ["user"], f"The list should start with the messages it was given; yours starts {roles[:1]}.")
    require("assistant" in roles, f"The roles you send are {roles}: the assistant's reply is missing. The model "
                                  "must see its own tool calls before their results: append reply.")
    require(roles.index("assistant") == 1, f"The roles you send are {roles}: the assistant's reply comes right after "
                                           "the question, before the tool messages.")
    tools_sent = [m for m in out if m.get("role") == "tool"]
    require(len(tools_sent) == len(calls), f"The reply asked for {len(calls)} calls and you send {len(tools_sent)} "
                                           "tool message(s): one per call, each with its own tool_call_id.")
    ids = [m.get("tool_call_id") for m in tools_sent]
    expected = [c["id"] for c in calls]
    require(sorted(map(str, ids)) == sorted(expected), f"Your tool messages answer {ids}, the calls were {expected}: "
                                                       "use each call's own id, tool_call[\"id\"].")
    response = _post(out, tools)
    if response.status_code != 200:
        try:
            said = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            said = response.text[:200]
        require(False, f"Kimi refused your messages with {response.status_code}: {said}.{_refusal_advice(said)}")
    sent = _wire_messages()
    require(len(sent) == 4 and "reasoning_content" in sent[1], "What went out is not what next_messages returned: "
                                                               "run the check cell again.")
    answer = response.json()["choices"][0]["message"]["content"]
    return (f"On the wire: the reply with its reasoning_content and both calls, then results for {', '.join(ids)}. "
            f"Kimi answered: {answer!r}")


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
    "A delta whose index is new starts a call (it carries the id and the name); every delta then adds its piece "
    "of the arguments to the call with its index.",
    "if delta.index not in calls: calls[delta.index] = {...with delta.id and delta.function.name, arguments \"\"}; "
    "then add delta.function.arguments to calls[delta.index][\"function\"][\"arguments\"].",
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
    require(callable(collect_tool_calls), "collect_tool_calls should be the function defined in the exercise cell.")
    question = [_user(HIGHER)]
    watched = _Watched(_ask("Streaming the question", messages=question, tools=tools, stream=True))
    got = _learner("collect_tool_calls(stream)", collect_tool_calls, watched)
    require(watched.done, "collect_tool_calls stopped before the end of the stream: read every chunk.")
    expected = watched.calls()
    require(isinstance(got, list), f"collect_tool_calls should return a list of calls, not {type(got).__name__}.")
    require(got or not expected, "collect_tool_calls returned no calls: replace the ... with the code that starts a "
                                 "call at a new index and adds each delta's piece.")
    require(len(got) == len(expected), f"The stream held {len(expected)} calls (index 0 and 1); you returned "
                                       f"{len(got)}. Keep one call per delta.index.")
    for mine in got:
        require(isinstance(mine, dict) and isinstance(mine.get("function"), dict),
                "Each call should be a dict {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}.")
        require(mine.get("id") is not None, "A call's id is None: the id comes only in a call's first delta (later "
                                            "ones have id None). Keep it from the delta that starts the call.")
        require(mine["function"].get("name") is not None,
                "A call's name is None: like the id, the name comes only in the call's first delta.")
        require(mine.get("type") == "function", "Each call needs \"type\": \"function\", as in an assistant message.")
    require([c["id"] for c in got] == [c["id"] for c in expected],
            f"The calls are {[c['id'] for c in got]}, the stream's are {[c['id'] for c in expected]}: one call per "
            "index, returned in index order.")
    for index, (mine, real) in enumerate(zip(got, expected)):
        arguments = mine["function"].get("arguments")
        last_piece = [d.function.arguments for d in watched.deltas if d.index == index][-1]
        require(arguments == real["function"]["arguments"] or arguments != last_piece,
                f"Call {index}'s arguments are {arguments!r}, only the last piece: add each piece to what you have "
                "(+=) instead of replacing it.")
        require(arguments == real["function"]["arguments"],
                f"Call {index}'s arguments are {arguments!r}; the pieces with index {index} join to "
                f"{real['function']['arguments']!r}.")
    run = _run(functions)
    follow = question + [{"role": "assistant", "content": watched.content, "reasoning_content": watched.reasoning,
                          "tool_calls": got}]
    follow += [{"role": "tool", "tool_call_id": c["id"], "name": c["function"]["name"], "content": run(c)} for c in got]
    final = _ask("Sending the calls you collected back", messages=follow, tools=tools)
    sent = _wire_messages()
    require(len(sent) > 1 and sent[1].get("tool_calls") == expected,
            "What went out is not the calls you collected: run the check cell again.")
    return (f"Glued by index: {', '.join(c['id'] + ' ' + c['function']['arguments'] for c in got)}. Sent back, "
            f"Kimi answered: {final.choices[0].message.content!r}")
