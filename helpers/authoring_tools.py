"""Hand-written answers that call tools (lesson 11), in the shape of helpers.authoring's answers.

No real Kimi answer carrying tool_calls was found (tests/captures/ has none; the probe log's tool exchanges are a 400
and an accepted tool_choice without tools). What such an answer holds follows the documentation
(platform.kimi.com/docs/guide/use-kimi-api-to-complete-tool-calls): the assistant message gets `tool_calls`, each
{"id", "type": "function", "function": {"name", "arguments": <a JSON string>}}, and finish_reason is "tool_calls";
in a stream, a call's first delta names its `index`, `id`, `type` and `function.name` (arguments ""), later deltas
carry only the `index` and a piece of `function.arguments`, after any reasoning and content. The ids have the shape
`functions.<name>:<n>`, n counting the conversation's tool calls from 0, as third-party code that reads Kimi's
answers shows them (e.g. "functions.Bash:3"); the Kimi-K2 model card documents the same format. Everything else (the
headers, the id, key order, usage, the SSE framing) is authoring.chat's, shaped after the real captures.

Example:
    >>> body = {"model": "m", "messages": [{"role": "user", "content": "10 km in miles?"}], "tools": []}
    >>> rec = tool_calls_chat("demo", body, [call("convert_units", {"value": 10}, 0)], reasoning="Convert it.")
    >>> message = rec.response["body"]["choices"][0]["message"]
    >>> message["tool_calls"][0]["id"], rec.response["body"]["choices"][0]["finish_reason"]
    ('functions.convert_units:0', 'tool_calls')
"""
from __future__ import annotations

import copy
import json
from typing import Any

from .authoring import CHAT_CAPTURE, HANDWRITTEN_NOTE, STREAM_CAPTURES, STREAM_HEADERS_NOTE, chat, estimate_tokens, \
    handwritten, pieces
from .recordings import Recording

TOOLS_DOCS = ("https://platform.kimi.com/docs/guide/use-kimi-api-to-complete-tool-calls (tool_calls, finish_reason, "
              "the tool message, streamed tool_calls by index)")
WEB_SEARCH_DOCS = ("https://platform.kimi.com/docs/guide/use-web-search ($web_search: type builtin_function, the "
                   "arguments sent back unchanged, arguments.usage.total_tokens)")
TOOL_NOTE = ("No real Kimi answer with tool_calls was found: the tool_calls, finish_reason \"tool_calls\" and the "
             "streamed deltas follow the documentation, the ids' shape functions.<name>:<n> third-party code that "
             "reads Kimi's answers.")


def call(name: str, arguments: dict[str, Any], n: int) -> dict[str, Any]:
    """One tool call as an answer carries it: the arguments as a JSON string (json.dumps, default spacing)."""
    return {"id": f"functions.{name}:{n}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}


def tool_calls_chat(name: str, body: dict[str, Any], calls: list[dict[str, Any]], reasoning: str | None = None,
                    content: str = "", basis: str = TOOLS_DOCS, extra_note: str = "", **options: Any) -> Recording:
    """An answer that asks for `calls` (finish_reason "tool_calls"), streamed as SSE when body["stream"] is true."""
    arguments = "".join(c["function"]["arguments"] + c["function"]["name"] for c in calls)
    completion = estimate_tokens(content) + estimate_tokens(reasoning or "") + estimate_tokens(arguments) + 4 * len(calls)
    note = " ".join(n for n in (HANDWRITTEN_NOTE, TOOL_NOTE, extra_note) if n)
    streamed = bool(body.get("stream"))
    source = handwritten(basis, f"{note} {STREAM_HEADERS_NOTE}" if streamed else note,
                         shaped_after=f"{STREAM_CAPTURES}, {CHAT_CAPTURE}" if streamed else CHAT_CAPTURE)
    rec = chat(name, body, content, reasoning=reasoning, finish_reason="tool_calls", completion_tokens=completion,
               source=source, **options)
    if not streamed:
        rec.response["body"]["choices"][0]["message"]["tool_calls"] = copy.deepcopy(calls)
        return rec
    events = rec.response["events"]
    final, done = events[-2], events[-1]
    step = options.get("seconds_per_piece", 0.035)
    at = final["at"]
    template = events[0]["data"]
    added = []
    for index, one in enumerate(calls):
        first = {"index": index, "id": one["id"], "type": "function",
                 "function": {"name": one["function"]["name"], "arguments": ""}}
        deltas = [first] + [{"index": index, "function": {"arguments": part}}
                            for part in pieces(one["function"]["arguments"], size=6)]
        for delta in deltas:
            chunk = copy.deepcopy(template)
            chunk["choices"][0]["delta"] = {"tool_calls": [delta]}
            added.append({"at": round(at, 3), "data": chunk})
            at += step
    final["at"] = done["at"] = round(at, 3)
    rec.response["events"] = events[:-2] + added + [final, done]
    return rec


def with_search_tokens(rec: Recording, search_tokens: int) -> Recording:
    """The answer after a $web_search: the search's tokens are counted in prompt_tokens (WEB_SEARCH_DOCS)."""
    usage = rec.response["body"]["usage"]
    usage["prompt_tokens"] += search_tokens
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return rec
