"""Kimi's wire format: error bodies, request ids and the request checks the real service makes.

Example:
    >>> KimiError(401, "invalid_authentication_error", "Invalid Authentication").body()
    {'error': {'message': 'Invalid Authentication', 'type': 'invalid_authentication_error'}}
    >>> try:
    ...     parse_json_body(b'{"n": NaN}')
    ... except KimiError as refused:
    ...     print(refused.status, refused.message)
    400 Invalid request: the request body is not valid JSON (NaN is not a JSON number)
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
SSE_CONTENT_TYPE = "text/event-stream"

# The sampling values each served model fixes: any other value is a 400 "invalid <name>: only <v> is allowed for this
# model". Seen for kimi-k3 in the probe log (leandromineti/ai-assisted-coding probes/raw/kimi.jsonl, 2026-09-01/02):
# temperature 1, top_p 0.95, presence_penalty 0, frequency_penalty 0, logprobs false. For kimi-k2.6 the platform's
# "model parameter reference" documents the same values (temperature 0.6 with thinking off); n 1 is documented, not seen
# (n=1 was accepted live). The kimi-k2.7-code models are assumed to follow kimi-k2.6: no exchange with them was found.
FIXED_SAMPLING = {"top_p": 0.95, "n": 1, "presence_penalty": 0, "frequency_penalty": 0, "logprobs": False}
ALWAYS_THINKING_MODELS = ("kimi-k3",)  # thinking cannot be turned off: temperature stays 1
FIXED_PARAMETER_MODELS = ("kimi-k3", "kimi-k2.7-code", "kimi-k2.7-code-highspeed", "kimi-k2.6")

# The headers the real service (api.moonshot.ai, 2026) puts on every answer, besides Content-Type, in the order seen:
# Server-Timing first, then its own headers sorted by name (real_200_chat_nonstream_kimi_k3 and the probe log).
SERVER_TIMING_AI = 'cfCacheStatus;desc="DYNAMIC"'


class KimiError(Exception):
    """An error the server answers with Kimi's body shape {"error": {"message", "type"}}.

    `headers` are the extra response headers the real service sends with it (the cooldown headers of an RPM 429).
    """

    def __init__(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type}}


def invalid_request(details: str) -> KimiError:
    return KimiError(400, "invalid_request_error", f"Invalid request: {details}")


def request_id_for(text: str) -> str:
    """A stable id shaped like Kimi's Msh-Request-Id, derived from the request.

    Real ids are UUID version 1 ("f1f0641d-a608-11f1-88e1-eaf9ba74c120": version digit 1, RFC 4122 variant 8-b).

    Example:
        >>> import uuid
        >>> u = uuid.UUID(request_id_for("x"))
        >>> (u.version, u.variant == uuid.RFC_4122)
        (1, True)
    """
    h = hashlib.sha256(text.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-11f1-{'89ab'[int(h[12], 16) % 4]}{h[13:16]}-{h[16:28]}"


def trace_id_for(text: str) -> str:
    """A stable X-Msh-Trace-Id: 32 lower-case hex digits, as real answers carry."""
    return hashlib.sha256(("trace:" + text).encode()).hexdigest()[:32]


def kimi_headers(seed: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers a real answer carries (Content-Type aside), with `extra` ones (cooldowns, cache savings) in place.

    Example:
        >>> list(kimi_headers("x", {"Retry-After": "1"}))
        ['Server-Timing', 'Msh-Request-Id', 'Msh-Trace-Mode', 'Retry-After', 'Vary', 'X-Msh-Trace-Id']
    """
    own = {"Msh-Request-Id": request_id_for(seed), "Msh-Trace-Mode": "on", "Vary": "Origin",
           "X-Msh-Trace-Id": trace_id_for(seed), **(extra or {})}
    return {"Server-Timing": SERVER_TIMING_AI, **{name: own[name] for name in sorted(own)}}


def parse_bearer(header: str | None) -> str | None:
    """The key from 'Authorization: Bearer <key>', or None when missing or malformed."""
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return None
    return key


MAX_JSON_DEPTH = 64  # objects and lists inside each other; a chat request needs about 6
MAX_NUMBER_DIGITS = 100  # digits in one JSON number
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_float(text: str) -> float:
    value = float(text)
    if len(text) > MAX_NUMBER_DIGITS or math.isinf(value):
        raise ValueError(f"the number {text[:20]}… is too large")
    return value


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number with {len(text)} digits is too large")
    return int(text)


def json_depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when no object or list sits more than `limit` levels deep (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int)


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body strictly; anything the real service would refuse is a 400 that says why.

    Refused: an empty body, bytes that are not UTF-8, text that is not JSON, NaN and Infinity, numbers of more
    than 100 digits, nesting deeper than 64 levels, and lone surrogates such as "\\ud800" (not Unicode text).
    """
    if not raw.strip():
        raise invalid_request("the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
        value = _STRICT_DECODER.decode(text)
    except RecursionError:
        raise invalid_request(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except UnicodeDecodeError:
        raise invalid_request("the request body is not valid JSON (it is not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise invalid_request(f"the request body is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except ValueError as exc:
        raise invalid_request(f"the request body is not valid JSON ({exc})") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and not json_depth_ok(value):
        raise invalid_request(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep")
    if _SURROGATE_ESCAPE.search(text):  # only a \\u escape can make a surrogate: UTF-8 bytes cannot
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise invalid_request("the request body holds a lone surrogate (such as \\ud800), which is not text") \
                from None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_messages(body: dict[str, Any]) -> None:
    if "model" not in body:
        raise invalid_request("model is required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise invalid_request("model must be a non-empty string")
    messages = body.get("messages")
    if messages is None:
        raise invalid_request("messages is required")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("messages must be a non-empty list")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid_request(f"messages[{i}] must be an object with role and content")
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise invalid_request(f"messages[{i}].role must be one of system, user, assistant, tool")
        if "content" not in message and not message.get("tool_calls"):
            raise invalid_request(f"messages[{i}].content is required")


def check_chat_request(body: Any, known_models: list[str]) -> None:
    """Raise KimiError for what the real service rejects before it runs the model.

    Each message below is the real one, from the probe log (kimi-k3, 2026-09), except where a comment says otherwise.
    """
    if not isinstance(body, dict):
        raise invalid_request("the request body must be a JSON object")
    check_messages(body)
    model = body["model"]
    if known_models and model not in known_models:  # a retired model too (moonshot-v1-*, kimi-k2.5 since 2026-08-31)
        raise KimiError(404, "resource_not_found_error", f"Not found the model {model} or Permission denied")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream must be true or false")  # not seen: worded after "Invalid request: ..."
    temperature = body.get("temperature")
    if temperature is not None and not _is_number(temperature):
        raise invalid_request("temperature must be a number")  # not seen
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 5):
        raise invalid_request("n must be an integer between 1 and 5")  # documented range; the message is not seen
    if body.get("logit_bias") is not None:
        raise invalid_request("logit_bias is not supported yet")
    if body.get("top_logprobs") is not None and body.get("logprobs") is not True:
        raise invalid_request("logprobs must be set to true if top_logprobs is used")
    _check_tools(body, model)
    from .formats import check_partial, check_response_format  # lesson 12: JSON mode, JSON Schema, partial mode
    check_response_format(body)
    check_partial(body["messages"])
    if model.startswith(FIXED_PARAMETER_MODELS):
        _check_fixed_parameters(body, model)
        return
    # A model outside the four served today (a recording's own list may name others): the documented ranges.
    if temperature is not None and not 0 <= temperature <= 1:
        raise invalid_request(f"temperature must be between 0 and 1, got {temperature}")
    if n is not None and n > 1 and (temperature is None or temperature <= 0.001):
        raise invalid_request("when temperature is close to 0, n must be 1")


def _check_tools(body: dict[str, Any], model: str) -> None:
    """tools, tool_choice and tool messages: the rules and their evidence are in helpers/tool_rules.py."""
    from .tool_rules import check_tool_request  # it uses this module's errors

    check_tool_request(body, model)


def _format_allowed(value: Any) -> str:
    return "false" if value is False else "true" if value is True else f"{value:g}"


def thinking_enabled(body: dict[str, Any], model: str) -> bool:
    """Whether the model thinks for this request: always for kimi-k3, unless turned off for the others."""
    if model.startswith(ALWAYS_THINKING_MODELS):
        return True
    thinking = body.get("thinking")
    return not (isinstance(thinking, dict) and thinking.get("type") == "disabled")


def _check_fixed_parameters(body: dict[str, Any], model: str) -> None:
    fixed = {"temperature": 1 if thinking_enabled(body, model) else 0.6, **FIXED_SAMPLING}
    for name, allowed in fixed.items():
        value = body.get(name)
        if value is None:
            continue
        differs = value is not allowed if isinstance(allowed, bool) else (isinstance(value, bool) or value != allowed)
        if differs:
            raise KimiError(400, "invalid_request_error",
                            f"invalid {name}: only {_format_allowed(allowed)} is allowed for this model")
