"""The checks Kimi makes on a request's tools, tool_choice and tool messages (lesson 11), before it runs the model.

Each rule says where it comes from. Seen live (the message is the real one):
- a tool whose `type` is missing or unknown: "Invalid request: unknown tool type: , currently only function and plugin
  are supported" (tests/captures/real_400_tool_without_type, kimi-k3, 2026-09-01);
- `tool_choice: "auto"` without any tools is accepted (the probe log, kimi-k3, 2026-09-01), and so is
  `parallel_tool_calls: true`;
- thinking on, and an assistant message with tool_calls sent back without its reasoning_content: "thinking is
  enabled but reasoning_content is missing in assistant tool call message at index N" (N the message's place in
  `messages`), reported word for word for kimi-k2.5 (bytedance/deer-flow#3043, api.moonshot.cn, 2026-05),
  Kimi K2.6 (liliMozi/openhanako#1667, anomalyco/opencode#25758, 2026-05/06) and kimi-for-coding (1jehuang/jcode#322).
  An empty string passes (Lapis0x0/obsidian-yolo#243 sends "" to satisfy it);
- thinking on, and a forced tool_choice: "tool_choice 'required' is incompatible with thinking enabled" and
  "tool_choice 'specified' is incompatible with thinking enabled" (a named function), for Kimi K2.6 and
  kimi-k2.7-code (UKGovernmentBEIS/inspect_ai#5152, AstrBotDevs/AstrBot#7805, can1357/oh-my-pi#827, 2026-04/08).
  kimi-k3 refuses the named form too (can1357/oh-my-pi#5994, enricoros/big-AGI#1161) but accepts "required"
  (inspect_ai#5152, from a probe matrix of the live API).
Documented, no answer seen (the wording is the course's, in Kimi's "Invalid request: ..." form):
- `builtin_function` with a `$` name declares a Kimi built-in ($web_search); an ordinary function's name may not
  hold "$" (platform.kimi.com/docs/guide/use-web-search);
- a function needs a name and its parameters are a JSON Schema object (platform.kimi.com/docs/guide/
  use-kimi-api-to-complete-tool-calls);
- tool_choice is "auto", "none", "required" or {"type": "function", "function": {"name": ...}} naming an offered tool;
- a tool message answers an earlier assistant tool call by its `tool_call_id`, and a tool call's arguments are a
  JSON string (the same page: "arguments 是序列化后的 JSON").

Example:
    >>> body = {"model": "kimi-k2.7-code", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required",
    ...         "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
    >>> try:
    ...     check_tool_request(body, "kimi-k2.7-code")
    ... except KimiError as refused:
    ...     print(refused.status, refused.message)
    400 tool_choice 'required' is incompatible with thinking enabled
"""
from __future__ import annotations

import re
from typing import Any

from .wire import KimiError, invalid_request, thinking_enabled

# The types the real 400 names; builtin_function is documented for Kimi's own tools ($web_search).
NAMED_TOOL_TYPES = ("function", "plugin")
BUILTIN_TYPE = "builtin_function"
BUILTIN_FUNCTIONS = ("$web_search",)
TOOL_CHOICES = ("auto", "none", "required")
FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
ACCEPTS_REQUIRED_WHILE_THINKING = ("kimi-k3",)


def _refused(message: str) -> KimiError:
    """A 400 with a message the real service sends as it is (no "Invalid request:" in front)."""
    return KimiError(400, "invalid_request_error", message)


def check_tool_request(body: dict[str, Any], model: str) -> None:
    """Raise the KimiError the real service answers for this request's tools, tool_choice and tool messages."""
    names = _check_tools(body.get("tools"))
    _check_tool_choice(body, model, names)
    _check_tool_messages(body, model)


def _check_tools(tools: Any) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid_request("tools must be a list")  # not seen
    names: list[str] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type", "") if isinstance(tool, dict) else ""
        if kind not in NAMED_TOOL_TYPES + (BUILTIN_TYPE,):
            raise invalid_request(f"unknown tool type: {kind if isinstance(kind, str) else ''}, "
                                  f"currently only {' and '.join(NAMED_TOOL_TYPES)} are supported")
        if kind == "plugin":
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise invalid_request(f"tools[{i}].function.name is required")  # documented; not seen
        if kind == BUILTIN_TYPE:
            if name not in BUILTIN_FUNCTIONS:
                raise invalid_request(f"tools[{i}]: unknown builtin_function {name[:40]}, "
                                      f"known: {', '.join(BUILTIN_FUNCTIONS)}")  # not seen
        elif not FUNCTION_NAME.fullmatch(name):
            raise invalid_request(f"tools[{i}].function.name {name[:70]!r} is invalid: use letters, digits, _ and -, "
                                  "at most 64, not starting with a digit ($ marks Kimi's built-in functions, "
                                  "declared with type builtin_function)")  # documented; not seen
        parameters = function.get("parameters") if isinstance(function, dict) else None
        if parameters is not None and (not isinstance(parameters, dict) or parameters.get("type", "object") != "object"):
            raise invalid_request(f"tools[{i}].function.parameters must be a JSON Schema object "
                                  "({\"type\": \"object\", \"properties\": ...})")  # documented; not seen
        if name in names:
            raise invalid_request(f"tools[{i}].function.name {name!r} is declared twice")  # not seen
        names.append(name)
    return names


def _check_tool_choice(body: dict[str, Any], model: str, names: list[str]) -> None:
    choice = body.get("tool_choice")
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise invalid_request(f"tool_choice must be one of {', '.join(TOOL_CHOICES)} or a named function, "
                                  f"not {choice[:40]!r}")  # not seen
        forced = "required" if choice == "required" else None
    elif isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        if name not in names:
            raise invalid_request(f"tool_choice names the function {str(name)[:40]!r}, which is not among the "
                                  "tools")  # not seen
        forced = "specified"
    else:
        raise invalid_request("tool_choice must be \"auto\", \"none\", \"required\" or "
                              "{\"type\": \"function\", \"function\": {\"name\": ...}}")  # not seen
    if forced and not names:
        raise invalid_request(f"tool_choice {forced} needs tools")  # not seen
    if forced and thinking_enabled(body, model):
        if forced == "required" and model.startswith(ACCEPTS_REQUIRED_WHILE_THINKING):
            return
        raise _refused(f"tool_choice '{forced}' is incompatible with thinking enabled")


def _check_tool_messages(body: dict[str, Any], model: str) -> None:
    thinking = thinking_enabled(body, model)
    called: set[str] = set()
    for i, message in enumerate(body["messages"]):
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            calls = message["tool_calls"]
            if not isinstance(calls, list):
                raise invalid_request(f"messages[{i}].tool_calls must be a list")  # not seen
            if thinking and message.get("reasoning_content") is None:
                raise _refused(f"thinking is enabled but reasoning_content is missing in assistant tool call "
                               f"message at index {i}")
            for j, call in enumerate(calls):
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(call, dict) or not isinstance(call.get("id"), str) or not isinstance(function, dict):
                    raise invalid_request(f"messages[{i}].tool_calls[{j}] needs an id and a function")  # not seen
                if not isinstance(function.get("arguments"), str):
                    raise invalid_request(f"messages[{i}].tool_calls[{j}].function.arguments must be a string of "
                                          "JSON, as the model sent it")  # documented; not seen
                called.add(call["id"])
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise invalid_request(f"messages[{i}]: a tool message needs the tool_call_id of the call it "
                                      "answers")  # documented; not seen
            if call_id not in called:
                raise invalid_request(f"messages[{i}].tool_call_id {call_id[:60]!r} matches no tool call of an "
                                      "earlier assistant message")  # documented; not seen
            if not isinstance(message.get("content"), str):
                raise invalid_request(f"messages[{i}].content must be a string: send a tool's result as text "
                                      "(json.dumps it)")  # documented; not seen
