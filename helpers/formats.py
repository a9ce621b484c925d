"""The checks Kimi makes of `response_format` (JSON mode, a JSON Schema) and of partial mode, before it runs the model.

What the evidence shows, and where each rule below comes from:
- `response_format: {"type": "json_object"}` is accepted whatever the prompt says: a live probe whose prompt never
  mentions JSON got a 200 (tests/captures/real_200_response_format_json_object_kimi_k3, kimi-k3, 2026-09-01). Unlike
  OpenAI, Kimi does not refuse it; it adds its own instruction to the prompt (that answer reports 140 prompt tokens
  where the same prompt without response_format reports 93, and its thinking quotes "response must be raw JSON data
  without markdown code blocks").
- The types are "text", "json_object" and "json_schema": a live probe of kimi-k3 (mnfst/modelparams.dev PR #125,
  2026-07-17) reports all three accepted and another value refused with a 400 naming these three. Its wording was not
  published: the message below is worded after the real tool-type 400 ("unknown tool type: ..., currently only ...").
- A JSON Schema must be "Moonshot flavored": the same validator Kimi applies to tool parameters. Seen for
  response_format: "Invalid request: response_format.json_schema is not a valid moonshot flavored json schema" with
  "path 'root': unsupported keywords: $schema" (lgandecki/vercel-ai-with-thoughts-and-schema README.md; and
  vercel/ai issue #12871, where `$schema` is what broke structured outputs). The "details: <At path '...': ...>"
  framing and the other rules are the ones seen in real 400s for tools.function.parameters (MoonshotAI/kimi-cli
  #1595, earendil-works/pi #4138, can1357/oh-my-pi #5952 and others): "type is not defined", "when using anyOf, type
  should be defined in anyOf items instead of the parent schema", "when using $ref, type should be defined in the
  referenced schema instead of the parent schema", "references must start with #/$defs/", "property schema for 'x'
  must be an object"; "enum array cannot be empty" is from a test double written after a real answer.
- Partial mode: the documentation (platform.moonshot.cn/docs/api/partial, platform.kimi.ai/docs/guide/
  use-partial-mode-feature-of-kimi-api) puts `"partial": true` on the last message, whose role is assistant; it also
  says not to mix partial mode with json_object ("unexpected model responses", not an error). No capture shows what
  the real service answers when a request breaks that rule: the 400s below follow the documented rule, in Kimi's
  "Invalid request: ..." wording, and say so. (A top-level "partial_mode": true is not partial mode: the probe log
  shows it ignored, tests/captures/real_200_partial_mode_param_ignored_kimi_k3.)

Example:
    >>> schema_problem({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"})
    ('root', 'unsupported keywords: $schema')
    >>> schema_problem({"type": "object", "properties": {"name": {"description": "who"}}})
    ('properties.name', 'type is not defined')
    >>> schema_problem({"type": "object", "properties": {"name": {"type": "string"}}}) is None
    True
"""
from __future__ import annotations

from typing import Any

from .wire import invalid_request

RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")
UNSUPPORTED_ROOT_KEYWORDS = ("$schema",)  # the one seen refused


def _at(path: str, name: str) -> str:
    return name if path == "root" else f"{path}.{name}"


def schema_problem(schema: Any, path: str = "root") -> tuple[str, str] | None:
    """The first place where `schema` is not Moonshot flavored JSON Schema, as (path, problem), or None."""
    stack: list[tuple[Any, str]] = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, dict):
            return where, "schema must be an object"
        if where == "root":
            unsupported = [k for k in UNSUPPORTED_ROOT_KEYWORDS if k in node]
            if unsupported:
                return where, f"unsupported keywords: {', '.join(unsupported)}"
        children: list[tuple[Any, str]] = []
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
                return _at(where, "$ref"), "references must start with #/$defs/"
            if "type" in node:
                return where, "when using $ref, type should be defined in the referenced schema instead of the " \
                              "parent schema"
        else:
            union = next((k for k in ("anyOf", "oneOf") if k in node), None)
            if union is not None:
                items = node[union]
                if "type" in node:
                    return where, f"when using {union}, type should be defined in {union} items instead of the " \
                                  "parent schema"
                if not isinstance(items, list) or not items:
                    return where, f"{union} must be a non-empty array"
                children += [(item, f"{_at(where, union)}[{i}]") for i, item in enumerate(items)]
            elif "type" not in node:
                return where, "type is not defined"
        if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
            return _at(where, "enum"), "enum array cannot be empty"
        if "properties" in node:
            properties = node["properties"]
            if not isinstance(properties, dict):
                return where, "properties must be an object"
            for name, sub in properties.items():
                if not isinstance(sub, dict):
                    return _at(where, "properties"), f"property schema for '{name}' must be an object"
                children.append((sub, _at(where, f"properties.{name}")))
        if isinstance(node.get("items"), dict):
            children.append((node["items"], _at(where, "items")))
        for key in ("$defs", "definitions"):
            if isinstance(node.get(key), dict):
                children += [(sub, _at(where, f"{key}.{name}")) for name, sub in node[key].items()]
        stack.extend(reversed(children))
    return None


def check_response_format(body: dict[str, Any]) -> None:
    """Raise the 400 Kimi gives for a response_format it cannot use (see the module's notes for each message)."""
    response_format = body.get("response_format")
    if response_format is None:
        return
    if not isinstance(response_format, dict):  # not seen: the SDK would send "json_object" as it is
        raise invalid_request('response_format must be an object, such as {"type": "json_object"}')
    kind = response_format.get("type")
    if kind not in RESPONSE_FORMAT_TYPES:
        shown = kind if isinstance(kind, str) else ""
        raise invalid_request(f"unknown response_format type: {shown}, currently only "
                              f"{', '.join(RESPONSE_FORMAT_TYPES)} are supported")
    if kind != "json_schema":
        return
    json_schema = response_format.get("json_schema")
    if not isinstance(json_schema, dict) or not isinstance(json_schema.get("schema"), dict):
        # not seen: worded after the other "Invalid request" messages
        raise invalid_request("response_format.json_schema.schema is required when response_format.type is json_schema")
    problem = schema_problem(json_schema["schema"])
    if problem is not None:
        where, what = problem
        raise invalid_request("response_format.json_schema is not a valid moonshot flavored json schema, "
                              f"details: <At path '{where}': {what}>")


def check_partial(messages: list[Any]) -> None:
    """Partial mode as documented: `"partial": true` only on the last message, an assistant one (400s not seen)."""
    last = len(messages) - 1
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "partial" not in message:
            continue
        partial = message["partial"]
        if not isinstance(partial, bool):
            raise invalid_request(f"messages[{i}].partial must be true or false")
        if not partial:
            continue
        if message.get("role") != "assistant":
            raise invalid_request(f"messages[{i}] is partial but its role is {message.get('role')}: only an "
                                  "assistant message can be partial")
        if i != last:
            raise invalid_request(f"messages[{i}] is partial but it is not the last message: only the last message "
                                  "can be partial")
