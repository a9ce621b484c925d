"""Checkers for notebooks/12_json_answers.ipynb.

Each exercise is a function that takes the client as its first argument. The checker calls it with a client of its
own whose HTTP client notes every request body before it is sent, so it sees what the learner's request put on the
wire in every mode (live requests do not pass through the local server, so its log would not show them).
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable

from helpers.checks import code, exercise, is_blank, learner, require, server_message

PARAGRAPH = ("李雷昨天下午在官网下了一单：给杭州的办公室订 3 台 SmartHome Mini 智能音箱，每台 998 元。"
             "他希望 9 月 18 日之前送到，颜色要银色的，没有银色的话黑色也行。")
FIELDS = ["customer", "city", "product", "quantity", "unit_price", "deliver_by"]
CUT_AT = 60


class Wire:
    """A client for the learner's function, and the JSON bodies of the requests it sent."""

    def __init__(self) -> None:
        import openai

        self.sent: list[Any] = []

        def note(request: Any) -> None:
            try:
                self.sent.append(json.loads(request.content or b"null"))
            except ValueError:
                self.sent.append(None)

        http = openai.DefaultHttpxClient(event_hooks={"request": [note]})
        self.client = openai.OpenAI(base_url=os.environ["KIMI_BASE_URL"], api_key=os.environ["MOONSHOT_API_KEY"],
                                    http_client=http, max_retries=0)

    @property
    def last(self) -> dict[str, Any]:
        body = self.sent[-1] if self.sent else None
        return body if isinstance(body, dict) else {}


def _call(what: str, function: Callable[..., Any], *args: Any,
          advice: Callable[[Exception], str | None] | None = None, **kwargs: Any) -> Any:
    """Call the learner's function; whatever it raises becomes feedback (specific advice first, when there is some)."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # the learner's code may fail in any way
        said = advice(exc) if advice else None
        if said:
            require(False, said)
        text = str(exc).splitlines()[0] if str(exc) else ""
        if "ellipsis" in text:
            require(False, f"{what} raised {exc.__class__.__name__}: {text}: a ... blank is still in there.")
        message = server_message(exc) or ""
        if "recording_not_found" in text or "No recording matches" in message:
            require(False, f"{what} sent a request the lesson never recorded, so replay mode cannot answer it. "
                           f"The replay server said: {message or text}")
        require(False, f"{what} raised {exc.__class__.__name__}: {message or text}")


def _used(wire: Wire, name: str) -> None:
    require(wire.sent, f"{name} sent no request through the client it was given. Use its first argument, client, "
                       "not the notebook's own client.")


def _common_advice(exc: Exception) -> str | None:
    message = server_message(exc) or ""
    if "response_format must be an object" in message:
        return 'response_format takes a dict, {"type": "json_object"}, not the string "json_object".'
    if "unknown response_format type" in message:
        return f'Kimi refused the request: {message}. JSON mode is {{"type": "json_object"}}.'
    if "json_schema.schema is required" in message:
        return ('"json_schema" needs a schema beside it (section 5); JSON mode, which needs none, is '
                '{"type": "json_object"}.')
    if isinstance(exc, TypeError) and "BaseModel" in str(exc):
        return "A pydantic class goes to client.chat.completions.parse(), not create(); here JSON mode is enough."
    return None


# ---- 12.1 --------------------------------------------------------------------------------------------------------

def _ask_json_advice(exc: Exception) -> str | None:
    said = _common_advice(exc)
    if said:
        return said
    if isinstance(exc, json.JSONDecodeError):
        return ("json.loads got text that is not JSON: give it the answer's text, "
                "completion.choices[0].message.content.")
    if isinstance(exc, TypeError) and "JSON object must be str" in str(exc):
        return ("json.loads needs the answer's text: completion.choices[0].message.content "
                f"({str(exc).split(', not ')[-1]} was given).")
    return None


@exercise("12.1", hints=[
    "JSON mode is one argument of create(): response_format, a dict with one key, \"type\".",
    "The answer's text is completion.choices[0].message.content; json.loads turns it into a dict.",
    code(
        "def ask_json(client, paragraph):",
        "    completion = client.chat.completions.create(",
        "        model=course.model,",
        "        messages=[{\"role\": \"system\", \"content\": EXTRACT_PROMPT}, {\"role\": \"user\", \"content\": paragraph}],",
        "        response_format={\"type\": \"json_object\"},   # JSON mode",
        "    )",
        "    return json.loads(completion.choices[0].message.content)   # the answer's content, as a dict",
    ),
])
def _(ask_json):
    require(callable(ask_json), "ask_json should be the function defined in the exercise cell.")
    wire = Wire()

    def advice(exc: Exception) -> str | None:
        if wire.sent and "response_format" not in wire.last:
            return ('The request on the wire had no response_format, so JSON mode was off (and Kimi answered in '
                    'words, with the JSON inside): add response_format={"type": "json_object"}.')
        return _ask_json_advice(exc)

    result = _call("ask_json(client, PARAGRAPH)", ask_json, wire.client, PARAGRAPH, advice=advice)
    _used(wire, "ask_json")
    sent = wire.last.get("response_format")
    require(sent is not None, "The request on the wire had no response_format, so JSON mode was off: add "
                              'response_format={"type": "json_object"}.')
    require(sent == {"type": "json_object"}, f"The request sent response_format={sent!r}; JSON mode is exactly "
                                             '{"type": "json_object"}.')
    require(not is_blank(result), "ask_json returns ... : return the answer, parsed with json.loads.")
    require(not isinstance(result, str), "ask_json returned the JSON text; return it parsed: json.loads(...) of it.")
    require(not hasattr(result, "choices"), "ask_json returned the whole completion; return only its answer, "
                                            "parsed: json.loads(completion.choices[0].message.content).")
    require(isinstance(result, dict), f"ask_json should return a dict, not {type(result).__name__}.")
    missing = [f for f in FIELDS if f not in result]
    require(not missing, f"The dict has no {', '.join(missing)}: it should be the JSON object Kimi answered, with "
                         f"the prompt's fields ({', '.join(FIELDS)}).")
    require(result.get("customer") == "李雷" and result.get("quantity") == 3,
            f"The answer should be Li Lei's order of 3 speakers; it was {result!r}.")
    return "JSON mode, and one json.loads: the order is a dict your program can use."


# ---- 12.2 --------------------------------------------------------------------------------------------------------

def _typed_advice(exc: Exception) -> str | None:
    said = _common_advice(exc)
    if said:
        return said
    if isinstance(exc, AttributeError) and "finish_reason" in str(exc):
        return ("finish_reason belongs to a choice, not to the completion: choice.finish_reason "
                "(choice = completion.choices[0]).")
    if isinstance(exc, TypeError) and "unexpected keyword" in str(exc) and "typed_order" in str(exc):
        return "typed_order should accept **limits and pass them on to create() (the check sends max_completion_tokens)."
    return None


def _blank_condition(function: Callable[..., Any]) -> bool:
    """Whether the `if ...:` blank is still in the exercise (the cell as last run, or else the function's source)."""
    import inspect

    source = learner.exercise_cell("12.2")
    if source is None:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            source = ""
    return any(line.strip().startswith("if ...") for line in source.splitlines())


@exercise("12.2", hints=[
    "The reason an answer stopped is choice.finish_reason: \"stop\" when the model finished, \"length\" at the limit.",
    "Raise when choice.finish_reason == \"length\"; otherwise validate the text with order_class, here "
    "Order.model_validate_json(...).",
    code(
        "def typed_order(client, paragraph, **limits):",
        "    completion = client.chat.completions.create(",
        "        model=course.model,",
        "        messages=[{\"role\": \"system\", \"content\": EXTRACT_PROMPT}, {\"role\": \"user\", \"content\": paragraph}],",
        "        response_format={\"type\": \"json_object\"},",
        "        **limits,                                  # e.g. max_completion_tokens=60",
        "    )",
        "    choice = completion.choices[0]",
        "    if choice.finish_reason == \"length\":           # the answer stopped at the limit",
        "        raise CutOff(f\"cut off after {completion.usage.completion_tokens} tokens\")",
        "    return Order.model_validate_json(choice.message.content)   # an Order, validated",
    ),
])
def _(typed_order, order_class, cut_off):
    from pydantic import BaseModel, ValidationError

    require(callable(typed_order), "typed_order should be the function defined in the exercise cell.")
    require(isinstance(order_class, type) and issubclass(order_class, BaseModel),
            "Order should still be the pydantic class from section 3.")
    require(isinstance(cut_off, type) and issubclass(cut_off, Exception),
            "CutOff should still be the exception class from section 6.")
    wire = Wire()

    def whole_advice(exc: Exception) -> str | None:
        if isinstance(exc, cut_off):
            if _blank_condition(typed_order):
                return "The condition after `if` is still ... (which counts as true): write the test for a cut answer."
            return ("typed_order raised CutOff for a whole answer (its finish_reason was \"stop\"): raise only when "
                    "choice.finish_reason is \"length\".")
        said = _typed_advice(exc)
        if said or not wire.sent or wire.last.get("response_format") == {"type": "json_object"}:
            return said
        return ('Keep response_format={"type": "json_object"} in the request: it went on the wire as '
                f"{wire.last.get('response_format')!r}.")

    result = _call("typed_order(client, PARAGRAPH)", typed_order, wire.client, PARAGRAPH, advice=whole_advice)
    _used(wire, "typed_order")
    require(wire.last.get("response_format") == {"type": "json_object"},
            'Keep response_format={"type": "json_object"} in the request: it went on the wire as '
            f"{wire.last.get('response_format')!r}.")
    require(not is_blank(result), "typed_order returns ... : return the answer validated as an Order.")
    require(not isinstance(result, (dict, str)),
            f"typed_order returned a {type(result).__name__}; return an Order: "
            "Order.model_validate_json(choice.message.content) checks every field's type as it builds it.")
    require(isinstance(result, order_class), f"typed_order should return an Order, not {type(result).__name__}.")
    require(result.customer == "李雷" and result.quantity == 3, f"The Order should be Li Lei's 3 speakers: {result!r}.")

    before = len(wire.sent)
    try:
        cut = typed_order(wire.client, PARAGRAPH, max_completion_tokens=CUT_AT)
    except cut_off:
        require(wire.sent[before:] and wire.last.get("max_completion_tokens") == CUT_AT,
                "typed_order raised CutOff, but the request never carried max_completion_tokens: pass **limits on "
                "to create().")
        return "A whole answer comes back typed; a cut one is an error that says so, not a confusing parse failure."
    except (ValidationError, json.JSONDecodeError, ValueError) as exc:
        require(False, f"For an answer cut off at max_completion_tokens, typed_order raised {exc.__class__.__name__} "
                       "from parsing the fragment. Look at choice.finish_reason first: for \"length\", raise CutOff "
                       "before you parse.")
    except Exception as exc:  # the learner's code may fail in any way
        said = _typed_advice(exc)
        require(False, said or f"typed_order(client, PARAGRAPH, max_completion_tokens={CUT_AT}) raised "
                               f"{exc.__class__.__name__}: {server_message(exc) or exc}")
    sent_limit = wire.last.get("max_completion_tokens") if wire.sent[before:] else None
    require(sent_limit == CUT_AT, f"typed_order(..., max_completion_tokens={CUT_AT}) sent a request without that "
                                  "limit, so the answer came back whole: pass **limits on to create().")
    require(False, f"With max_completion_tokens={CUT_AT} the answer was cut (finish_reason \"length\"), but typed_order "
                   f"returned {cut!r} instead of raising CutOff.")


# ---- 12.3 --------------------------------------------------------------------------------------------------------

def _prefilled_advice(exc: Exception) -> str | None:
    message = server_message(exc) or ""
    if "only an assistant message can be partial" in message:
        return ('Kimi refused the request: the partial message must be the start of Kimi\'s answer, '
                '{"role": "assistant", "content": "{", "partial": True}.')
    if "is not the last message" in message:
        return "Kimi refused the request: the partial message must be the last one in messages."
    if "partial must be true or false" in message:
        return 'Kimi refused the request: "partial" takes the boolean True, not a string.'
    if isinstance(exc, json.JSONDecodeError):
        return ("json.loads failed on the answer alone: the reply continues after your \"{\" without repeating it, "
                "so put the two together: json.loads(\"{\" + completion.choices[0].message.content).")
    if isinstance(exc, TypeError) and "JSON object must be str" in str(exc):
        return "json.loads needs text: the prefix \"{\" plus completion.choices[0].message.content."
    return None


@exercise("12.3", hints=[
    "The start of Kimi's answer is a message like the others, last in the list, with the role \"assistant\".",
    "Its content is the text the answer starts with, \"{\", and it carries \"partial\": True.",
    code(
        "def prefilled_order(client, paragraph):",
        "    messages = [",
        "        {\"role\": \"system\", \"content\": EXTRACT_PROMPT},",
        "        {\"role\": \"user\", \"content\": paragraph},",
        "        {\"role\": \"assistant\", \"content\": \"{\", \"partial\": True},   # the start of Kimi's answer, in partial mode",
        "    ]",
        "    completion = client.chat.completions.create(model=course.model, messages=messages,",
        "                                                extra_body={\"thinking\": {\"type\": \"disabled\"}})",
        "    return json.loads(\"{\" + completion.choices[0].message.content)   # your prefix and Kimi's continuation, together",
    ),
])
def _(prefilled_order):
    require(callable(prefilled_order), "prefilled_order should be the function defined in the exercise cell.")
    wire = Wire()

    def advice(exc: Exception) -> str | None:
        said = _prefilled_advice(exc)
        if said:
            return said
        body = wire.last
        problem = _partial_problem(body) if body else None
        return f"{problem} (prefilled_order raised {exc.__class__.__name__}.)" if problem else None

    result = _call("prefilled_order(client, PARAGRAPH)", prefilled_order, wire.client, PARAGRAPH, advice=advice)
    _used(wire, "prefilled_order")
    problem = _partial_problem(wire.last)
    require(problem is None, problem)
    require(not is_blank(result), "prefilled_order returns ... : return the whole answer, parsed.")
    require(isinstance(result, dict), f"prefilled_order should return a dict, not {type(result).__name__}.")
    require(result.get("customer") == "李雷" and result.get("quantity") == 3,
            f"The dict should be Li Lei's order of 3 speakers; it was {result!r}.")
    return "You wrote the first character of Kimi's answer; it could only go on as JSON."


def _partial_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with the partial message of a request on the wire, or None."""
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if "response_format" in body:
        return ("The request also turned on JSON mode: Kimi's documentation says not to combine partial mode with "
                "response_format json_object. Leave response_format out.")
    if last.get("role") != "assistant":
        return ("The last message on the wire has the role "
                f"{last.get('role')!r}: add the start of Kimi's answer after the user's message, "
                '{"role": "assistant", "content": "{", "partial": True}.')
    if last.get("partial") is not True:
        return ('The last message is an assistant message without "partial": True, so Kimi reads it as an earlier '
                'answer, not as the start of this one. Add "partial": True.')
    if last.get("content") != "{":
        return f"The answer should start with exactly \"{{\"; the partial message holds {last.get('content')!r}."
    if body.get("thinking") != {"type": "disabled"}:
        return 'Keep extra_body={"thinking": {"type": "disabled"}}: the prefix is then the start of the answer itself.'
    return None
