"""Checkers for notebooks/07_conversations_tokens_cost.ipynb."""
from __future__ import annotations

import math
import numbers
import os
from typing import Any, Callable

from helpers.checks import code, exercise, is_blank, require, server_message
from helpers.lab import LAB_SYSTEM_PROMPT


def _call(what: str, function: Callable[..., Any], *args: Any,
          advice: Callable[[Exception], str] | None = None) -> Any:
    """Call the learner's function; whatever it raises becomes specific feedback."""
    try:
        return function(*args)
    except Exception as exc:  # the learner's code may fail in any way
        text = str(exc).splitlines()[0] if str(exc) else ""
        if "ellipsis" in text:
            text += " (a ... blank is still in there)"
        reason = server_message(exc)
        if reason and reason not in text:
            text += f". The server said: {reason}"
        require(False, f"{what} raised {exc.__class__.__name__}: {text}{advice(exc) if advice else ''}")


def _as_dict(message: Any) -> dict[str, Any] | None:
    """A history entry as a dict: a dict as it is, the SDK's message object as the JSON it is sent as."""
    if isinstance(message, dict):
        return message
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        return dump(exclude_unset=True)
    return None


@exercise("07.1", hints=[
    "The history is the list of messages, and the question went in two lines above. Which role does Kimi's "
    "answer have?",
    "history.append({...}) with \"role\": \"assistant\" and \"content\": answer, like the user's message.",
    code(
        'def ask(history, question):',
        '    history.append({"role": "user", "content": question})',
        '    completion = client.chat.completions.create(model=course.model, messages=history)',
        '    answer = completion.choices[0].message.content',
        '    history.append({"role": "assistant", "content": answer})',
        '    return answer',
    ),
])
def _(ask, system_prompt):
    require(callable(ask), "ask should be the function defined in the exercise cell.")
    history = [{"role": "system", "content": system_prompt}]
    first = _call('ask(history, "你好，我叫李雷。")', ask, history, "你好，我叫李雷。")
    require(isinstance(first, str) and first, "ask() should return Kimi's answer, a non-empty string.")
    require(len(history) == 3, f"After one question the history should hold 3 messages (system, user, assistant); "
                               f"it holds {len(history)}. Append Kimi's answer to it.")
    last = _as_dict(history[-1])  # a dict, or the SDK's own message object (completion.choices[0].message)
    require(last is not None, f"The last message after a turn is {type(history[-1]).__name__}: append a dict, "
                              "{\"role\": \"assistant\", \"content\": answer}.")
    require(last.get("role") == "assistant",
            f"The last message after a turn has the role {last.get('role')!r}; Kimi's answer goes in with the role "
            "\"assistant\".")
    require(last.get("content") == first, "The assistant message's content should be the answer ask() returned.")
    second = _call('ask(history, "我叫什么名字？")', ask, history, "我叫什么名字？")
    require(len(history) == 5, f"After two questions the history should hold 5 messages; it holds {len(history)}.")
    require(isinstance(second, str) and "李雷" in second,
            f"Kimi's second answer should know the name, but it was {second!r}.")
    return f"Kimi answered {second!r}: it could, because you sent the first turn along with the question."


def _count_advice(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args and exc.args[0] == "total_tokens":
        return (". The answer looks like {\"data\": {\"total_tokens\": 121}}: the number sits inside data, "
                "response.json()[\"data\"][\"total_tokens\"].")
    if isinstance(exc, KeyError) and exc.args and exc.args[0] in ("choices", "usage"):
        return ". This endpoint's answer is not a chat completion: its number is in response.json()[\"data\"]."
    if getattr(getattr(exc, "response", None), "status_code", None) == 400:
        return ". The body should be {\"model\": course.model, \"messages\": messages}."
    return ""


@exercise("07.2", hints=[
    "Section 3 sent this request: its body is the one you would send to chat.",
    'json={"model": course.model, "messages": messages}. The answer looks like {"data": {"total_tokens": 121}}.',
    code(
        'def count_tokens(messages):',
        '    response = requests.post(',
        '        f"{BASE_URL}/tokenizers/estimate-token-count",',
        '        headers=HEADERS,',
        '        json={"model": course.model, "messages": messages},',
        '        timeout=30,',
        '    )',
        '    response.raise_for_status()',
        '    return response.json()["data"]["total_tokens"]',
    ),
])
def _(count_tokens):
    import requests

    from helpers.course import current

    require(callable(count_tokens), "count_tokens should be the function defined in the exercise cell.")
    course = current()
    messages = [{"role": "system", "content": LAB_SYSTEM_PROMPT}, {"role": "user", "content": "你好，我叫李雷。"}]
    counted = _call("count_tokens(messages)", count_tokens, messages, advice=_count_advice)
    require(not is_blank(counted), "count_tokens returns ... : return the number from the answer.")
    require(not isinstance(counted, (dict, list, str)),
            f"count_tokens returned {type(counted).__name__} {counted!r}; return only the number inside data.")
    require(isinstance(counted, int) and not isinstance(counted, bool),
            f"count_tokens should return a whole number of tokens, not {type(counted).__name__}.")
    reference = requests.post(f"{os.environ['KIMI_BASE_URL']}/tokenizers/estimate-token-count",
                              headers={"Authorization": f"Bearer {os.environ['MOONSHOT_API_KEY']}"},
                              json={"model": course.model, "messages": messages}, timeout=30)
    expected = reference.json()["data"]["total_tokens"]
    require(counted == expected, f"count_tokens said {counted}, but the endpoint counts {expected} for those messages.")
    return f"The lab's system prompt and a greeting take {counted} tokens, before Kimi writes a word."


def _cost_mistakes(price: dict[str, float]) -> list[tuple[Callable[..., float], str]]:
    """request_cost as a learner might get it wrong, each with what to say when an answer behaves exactly like it."""
    hit, miss, out = price["cache_hit"], price["cache_miss"], price["output"]
    return [
        (lambda p, c, h=0: (p * miss + c * out) / 1e6,
         "Cached tokens cost less: charge cached_tokens at PRICE[\"cache_hit\"] and only the rest of the prompt, "
         "prompt_tokens - cached_tokens, at PRICE[\"cache_miss\"]."),
        (lambda p, c, h=0: (h * hit + p * miss + c * out) / 1e6,
         "The cached tokens are counted twice: prompt_tokens already includes them, so the uncached part is "
         "prompt_tokens - cached_tokens."),
        (lambda p, c, h=0: (h * miss + (p - h) * hit + c * out) / 1e6,
         "cache_hit and cache_miss are swapped: cached tokens (a cache hit) are the cheap ones."),
        (lambda p, c, h=0: (h * hit + (p - h) * miss + c * out) / 1e3,
         "Prices are per 1M tokens: divide by 1_000_000, not 1_000."),
        (lambda p, c, h=0: (h * hit + (p - h) * miss + c * miss) / 1e6,
         "Completion tokens have their own price, PRICE[\"output\"], higher than the prompt's."),
        (lambda p, c, h=0: (h * hit + (p - h) * miss) / 1e6,
         "The completion tokens are missing: add completion_tokens * PRICE[\"output\"]."),
    ]


@exercise("07.3", hints=[
    "A request's price has three parts, one for each kind of token in the PRICE table.",
    "cached_tokens at cache_hit, (prompt_tokens - cached_tokens) at cache_miss, completion_tokens at "
    "output; prices are per 1M tokens, so divide by 1_000_000.",
    code(
        'def request_cost(prompt_tokens, completion_tokens, cached_tokens=0):',
        '    return (cached_tokens * PRICE["cache_hit"]',
        '            + (prompt_tokens - cached_tokens) * PRICE["cache_miss"]',
        '            + completion_tokens * PRICE["output"]) / 1_000_000',
    ),
])
def _(request_cost, price):
    require(callable(request_cost), "request_cost should be the function defined in the exercise cell.")
    require(isinstance(price, dict) and {"cache_hit", "cache_miss", "output"} <= set(price),
            "PRICE should still be the table from section 5, with cache_hit, cache_miss and output.")
    cases = [
        ((1_000_000, 0), price["cache_miss"], "a million prompt tokens, none cached"),
        ((0, 1_000_000), price["output"], "a million completion tokens"),
        ((1_000_000, 0, 1_000_000), price["cache_hit"], "a million prompt tokens, all cached"),
        ((2_000, 500, 1_500), (1_500 * price["cache_hit"] + 500 * price["cache_miss"] + 500 * price["output"]) / 1e6,
         "2,000 prompt tokens (1,500 cached) and 500 completion tokens"),
    ]
    results = []
    for args, _expected, _label in cases:
        got = _call(f"request_cost{args}", request_cost, *args)
        require(not is_blank(got), "request_cost returns ... : return the cost in dollars.")
        require(isinstance(got, numbers.Real) and not isinstance(got, bool),
                f"request_cost should return a number of dollars, not {type(got).__name__}.")
        results.append(got)
    right = [expected for _, expected, _ in cases]
    if not all(math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) for got, want in zip(results, right)):
        for cost, say in _cost_mistakes(price):
            if all(math.isclose(got, cost(*args), rel_tol=1e-9, abs_tol=1e-12)
                   for got, (args, _, _) in zip(results, cases)):
                require(False, say)
    for got, (_, expected, label) in zip(results, cases):
        if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            if math.isclose(got, round(expected, 4), abs_tol=1e-12) or math.isclose(got, round(expected, 2),
                                                                                     abs_tol=1e-12):
                require(False, f"For {label}, request_cost gave {got!r}, the cost rounded; it should be "
                               f"{expected:g}. Don't round: a cost this small disappears, and many add up.")
            hint = " Did you divide by 1_000_000?" if math.isclose(got, expected * 1e6, rel_tol=1e-9) else ""
            require(False, f"For {label}, request_cost gave {got!r} dollars; it should be {expected:g}.{hint}")
    return "A request of 2,000 prompt and 500 completion tokens costs well under a cent; a long conversation is many of them."
