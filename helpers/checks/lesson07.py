"""Checkers for notebooks/07_conversations_tokens_cost.ipynb."""
from __future__ import annotations

import math
import numbers
import os
from typing import Any, Callable

from helpers.checks import exercise, is_blank, require
from helpers.lab import LAB_SYSTEM_PROMPT


def _call(what: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call the learner's function; whatever it raises becomes specific feedback."""
    try:
        return function(*args)
    except Exception as exc:  # the learner's code may fail in any way
        text = str(exc).splitlines()[0] if str(exc) else ""
        if "ellipsis" in text:
            text += " (a ... blank is still in there)"
        require(False, f"{what} raised {exc.__class__.__name__}: {text}")


@exercise("07.1", hints=[
    "Kimi's answer goes into the history as a message with the role \"assistant\".",
    "history.append({...}) with \"role\" and \"content\", like the user message two lines above.",
    'history.append({"role": "assistant", "content": answer})',
])
def _(ask, system_prompt):
    require(callable(ask), "ask should be the function defined in the exercise cell.")
    history = [{"role": "system", "content": system_prompt}]
    first = _call('ask(history, "你好，我叫李雷。")', ask, history, "你好，我叫李雷。")
    require(isinstance(first, str) and first, "ask() should return Kimi's answer, a non-empty string.")
    require(len(history) == 3, f"After one question the history should hold 3 messages (system, user, assistant); "
                               f"it holds {len(history)}. Append Kimi's answer to it.")
    last = history[-1]
    require(isinstance(last, dict) and last.get("role") == "assistant",
            "The last message after a turn should have the role \"assistant\": it is Kimi's answer.")
    require(last.get("content") == first, "The assistant message's content should be the answer ask() returned.")
    second = _call('ask(history, "我叫什么名字？")', ask, history, "我叫什么名字？")
    require(len(history) == 5, f"After two questions the history should hold 5 messages; it holds {len(history)}.")
    require(isinstance(second, str) and "李雷" in second,
            f"Kimi's second answer should know the name, but it was {second!r}.")
    return f"Kimi answered {second!r}: it could, because you sent the first turn along with the question."


@exercise("07.2", hints=[
    "The endpoint takes the same model and messages you would send to chat: {\"model\": ..., \"messages\": ...}.",
    "The answer looks like {\"data\": {\"total_tokens\": 121}}: response.json()[\"data\"][...].",
    'json={"model": course.model, "messages": messages}   and   return response.json()["data"]["total_tokens"]',
])
def _(count_tokens):
    import requests

    from helpers.course import current

    require(callable(count_tokens), "count_tokens should be the function defined in the exercise cell.")
    course = current()
    messages = [{"role": "system", "content": LAB_SYSTEM_PROMPT}, {"role": "user", "content": "你好，我叫李雷。"}]
    counted = _call("count_tokens(messages)", count_tokens, messages)
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


@exercise("07.3", hints=[
    "Prices are per 1M tokens: tokens * PRICE[...] / 1_000_000 dollars.",
    "Three parts: cached_tokens at cache_hit, (prompt_tokens - cached_tokens) at cache_miss, completion_tokens at output.",
    "return (cached_tokens * PRICE[\"cache_hit\"] + (prompt_tokens - cached_tokens) * PRICE[\"cache_miss\"]"
    " + completion_tokens * PRICE[\"output\"]) / 1_000_000",
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
    for args, expected, label in cases:
        got = _call(f"request_cost{args}", request_cost, *args)
        require(not is_blank(got), "request_cost returns ... : return the cost in dollars.")
        require(isinstance(got, numbers.Real) and not isinstance(got, bool),
                f"request_cost should return a number of dollars, not {type(got).__name__}.")
        if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            hint = " Did you divide by 1_000_000?" if math.isclose(got, expected * 1e6, rel_tol=1e-9) else ""
            require(False, f"For {label}, request_cost gave {got!r} dollars; it should be {expected:g}.{hint}")
    return "A request of 2,000 prompt and 500 completion tokens costs well under a cent; a long conversation is many of them."
