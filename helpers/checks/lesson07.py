"""Checkers for notebooks/07_conversations_tokens_cost.ipynb."""
from __future__ import annotations

import math
import numbers
import os
from typing import Any, Callable

from helpers.checks import Message, code, exercise, is_blank, require, say, server_message
from helpers.lab import LAB_SYSTEM_PROMPT


def _call(what: str, function: Callable[..., Any], *args: Any,
          advice: Callable[[Exception], Message] | None = None) -> Any:
    """Call the learner's function; whatever it raises becomes specific feedback."""
    try:
        return function(*args)
    except Exception as exc:  # the learner's code may fail in any way
        text = str(exc).splitlines()[0] if str(exc) else ""
        detail: Message = text  # text, and what is added to it, in both languages
        if "ellipsis" in text:
            blank = say(" (a ... blank is still in there)", "（里面还有 ... 空白没有填）")
            text += blank.en
            detail = detail + blank
        reason = server_message(exc)
        if reason and reason not in text:
            detail = detail + say(f". The server said: {reason}", f"。服务器说：{reason}")
        require(False, say(f"{what} raised {exc.__class__.__name__}: ", f"{what} 抛出了 {exc.__class__.__name__}：")
                + detail + (advice(exc) if advice else ""))


def _as_dict(message: Any) -> dict[str, Any] | None:
    """A history entry as a dict: a dict as it is, the SDK's message object as the JSON it is sent as."""
    if isinstance(message, dict):
        return message
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        return dump(exclude_unset=True)
    return None


@exercise("07.1", hints=[
    say("The history is the list of messages, and the question went in two lines above. Which role does Kimi's "
        "answer have?",
        "对话历史就是消息列表，问题在上面两行已经放进去了。Kimi 的回答是什么角色（role）？"),
    say("history.append({...}) with \"role\": \"assistant\" and \"content\": answer, like the user's message.",
        "和用户的消息一样用 history.append({...})，里面写 \"role\": \"assistant\" 和 \"content\": answer。"),
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
    require(callable(ask), say("ask should be the function defined in the exercise cell.",
                               "ask 应该是练习单元格里定义的那个函数。"))
    history = [{"role": "system", "content": system_prompt}]
    first = _call('ask(history, "你好，我叫李雷。")', ask, history, "你好，我叫李雷。")
    require(isinstance(first, str) and first, say("ask() should return Kimi's answer, a non-empty string.",
                                                  "ask() 应该返回 Kimi 的回答，一个非空字符串。"))
    require(len(history) == 3, say(f"After one question the history should hold 3 messages (system, user, assistant); "
                                   f"it holds {len(history)}. Append Kimi's answer to it.",
                                   f"问过一个问题之后，对话历史里应该有 3 条消息（system、user、assistant），"
                                   f"现在有 {len(history)} 条。把 Kimi 的回答追加进去。"))
    last = _as_dict(history[-1])  # a dict, or the SDK's own message object (completion.choices[0].message)
    require(last is not None, say(f"The last message after a turn is {type(history[-1]).__name__}: append a dict, "
                                  "{\"role\": \"assistant\", \"content\": answer}.",
                                  f"一轮对话之后，最后一条消息是 {type(history[-1]).__name__}：要追加的是一个 dict，"
                                  "{\"role\": \"assistant\", \"content\": answer}。"))
    require(last.get("role") == "assistant",
            say(f"The last message after a turn has the role {last.get('role')!r}; Kimi's answer goes in with the role "
                "\"assistant\".",
                f"一轮对话之后，最后一条消息的角色是 {last.get('role')!r}；Kimi 的回答要以 \"assistant\" 角色放进去。"))
    require(last.get("content") == first, say("The assistant message's content should be the answer ask() returned.",
                                              "assistant 消息的 content 应该就是 ask() 返回的回答。"))
    second = _call('ask(history, "我叫什么名字？")', ask, history, "我叫什么名字？")
    require(len(history) == 5, say(f"After two questions the history should hold 5 messages; it holds {len(history)}.",
                                   f"问过两个问题之后，对话历史里应该有 5 条消息，现在有 {len(history)} 条。"))
    require(isinstance(second, str) and "李雷" in second,
            say(f"Kimi's second answer should know the name, but it was {second!r}.",
                f"Kimi 的第二个回答应该知道这个名字，可它答的是 {second!r}。"))
    return say(f"Kimi answered {second!r}: it could, because you sent the first turn along with the question.",
               f"Kimi 答的是 {second!r}：它答得上来，是因为你把第一轮对话和问题一起发了过去。")


def _count_advice(exc: Exception) -> Message:
    if isinstance(exc, KeyError) and exc.args and exc.args[0] == "total_tokens":
        return say(". The answer looks like {\"data\": {\"total_tokens\": 121}}: the number sits inside data, "
                   "response.json()[\"data\"][\"total_tokens\"].",
                   "。回答长这样：{\"data\": {\"total_tokens\": 121}}，数字在 data 里面："
                   "response.json()[\"data\"][\"total_tokens\"]。")
    if isinstance(exc, KeyError) and exc.args and exc.args[0] in ("choices", "usage"):
        return say(". This endpoint's answer is not a chat completion: its number is in response.json()[\"data\"].",
                   "。这个接口的回答不是 chat completion：它的数字在 response.json()[\"data\"] 里。")
    if getattr(getattr(exc, "response", None), "status_code", None) == 400:
        return say(". The body should be {\"model\": course.model, \"messages\": messages}.",
                   "。请求体应该是 {\"model\": course.model, \"messages\": messages}。")
    return ""


@exercise("07.2", hints=[
    say("Section 3 sent this request: its body is the one you would send to chat.",
        "第 3 节发过这个请求：它的请求体和你发给 chat 的一样。"),
    say('json={"model": course.model, "messages": messages}. The answer looks like {"data": {"total_tokens": 121}}.',
        'json={"model": course.model, "messages": messages}。回答长这样：{"data": {"total_tokens": 121}}。'),
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

    require(callable(count_tokens), say("count_tokens should be the function defined in the exercise cell.",
                                        "count_tokens 应该是练习单元格里定义的那个函数。"))
    course = current()
    messages = [{"role": "system", "content": LAB_SYSTEM_PROMPT}, {"role": "user", "content": "你好，我叫李雷。"}]
    counted = _call("count_tokens(messages)", count_tokens, messages, advice=_count_advice)
    require(not is_blank(counted), say("count_tokens returns ... : return the number from the answer.",
                                       "count_tokens 返回的是 ... ：要返回回答里的那个数字。"))
    require(not isinstance(counted, (dict, list, str)),
            say(f"count_tokens returned {type(counted).__name__} {counted!r}; return only the number inside data.",
                f"count_tokens 返回了 {type(counted).__name__} {counted!r}；只返回 data 里面的那个数字。"))
    require(isinstance(counted, int) and not isinstance(counted, bool),
            say(f"count_tokens should return a whole number of tokens, not {type(counted).__name__}.",
                f"count_tokens 应该返回一个整数（token 数），而不是 {type(counted).__name__}。"))
    reference = requests.post(f"{os.environ['KIMI_BASE_URL']}/tokenizers/estimate-token-count",
                              headers={"Authorization": f"Bearer {os.environ['MOONSHOT_API_KEY']}"},
                              json={"model": course.model, "messages": messages}, timeout=30)
    expected = reference.json()["data"]["total_tokens"]
    require(counted == expected, say(f"count_tokens said {counted}, but the endpoint counts {expected} for those messages.",
                                     f"count_tokens 给出 {counted}，但接口对这些消息算出的是 {expected}。"))
    return say(f"The lab's system prompt and a greeting take {counted} tokens, before Kimi writes a word.",
               f"Kimi 还一个字没写，实验的系统消息加一句问候就已经占了 {counted} 个 token。")


def _cost_mistakes(price: dict[str, float]) -> list[tuple[Callable[..., float], Message]]:
    """request_cost as a learner might get it wrong, each with what to say when an answer behaves exactly like it."""
    hit, miss, out = price["cache_hit"], price["cache_miss"], price["output"]
    return [
        (lambda p, c, h=0: (p * miss + c * out) / 1e6,
         say("Cached tokens cost less: charge cached_tokens at PRICE[\"cache_hit\"] and only the rest of the prompt, "
             "prompt_tokens - cached_tokens, at PRICE[\"cache_miss\"].",
             "缓存命中的 token 更便宜：cached_tokens 按 PRICE[\"cache_hit\"] 计费，只有其余的输入 token，"
             "也就是 prompt_tokens - cached_tokens，才按 PRICE[\"cache_miss\"] 计费。")),
        (lambda p, c, h=0: (h * hit + p * miss + c * out) / 1e6,
         say("The cached tokens are counted twice: prompt_tokens already includes them, so the uncached part is "
             "prompt_tokens - cached_tokens.",
             "缓存命中的 token 被算了两次：prompt_tokens 里已经包含了它们，所以没命中缓存的部分是 "
             "prompt_tokens - cached_tokens。")),
        (lambda p, c, h=0: (h * miss + (p - h) * hit + c * out) / 1e6,
         say("cache_hit and cache_miss are swapped: cached tokens (a cache hit) are the cheap ones.",
             "cache_hit 和 cache_miss 弄反了：缓存里的 token（缓存命中）才是便宜的那种。")),
        (lambda p, c, h=0: (h * hit + (p - h) * miss + c * out) / 1e3,
         say("Prices are per 1M tokens: divide by 1_000_000, not 1_000.",
             "价格是按每 1M token 计的：要除以 1_000_000，而不是 1_000。")),
        (lambda p, c, h=0: (h * hit + (p - h) * miss + c * miss) / 1e6,
         say("Completion tokens have their own price, PRICE[\"output\"], higher than the prompt's.",
             "输出（completion）token 有自己的价格 PRICE[\"output\"]，比输入的贵。")),
        (lambda p, c, h=0: (h * hit + (p - h) * miss) / 1e6,
         say("The completion tokens are missing: add completion_tokens * PRICE[\"output\"].",
             "漏掉了输出（completion）token：加上 completion_tokens * PRICE[\"output\"]。")),
    ]


@exercise("07.3", hints=[
    say("A request's price has three parts, one for each kind of token in the PRICE table.",
        "一个请求的费用分三部分，PRICE 表里每种 token 各占一部分。"),
    say("cached_tokens at cache_hit, (prompt_tokens - cached_tokens) at cache_miss, completion_tokens at "
        "output; prices are per 1M tokens, so divide by 1_000_000.",
        "cached_tokens 按 cache_hit，(prompt_tokens - cached_tokens) 按 cache_miss，completion_tokens 按 "
        "output 计费；价格是按每 1M token 计的，所以要除以 1_000_000。"),
    code(
        'def request_cost(prompt_tokens, completion_tokens, cached_tokens=0):',
        '    return (cached_tokens * PRICE["cache_hit"]',
        '            + (prompt_tokens - cached_tokens) * PRICE["cache_miss"]',
        '            + completion_tokens * PRICE["output"]) / 1_000_000',
    ),
])
def _(request_cost, price):
    require(callable(request_cost), say("request_cost should be the function defined in the exercise cell.",
                                        "request_cost 应该是练习单元格里定义的那个函数。"))
    require(isinstance(price, dict) and {"cache_hit", "cache_miss", "output"} <= set(price),
            say("PRICE should still be the table from section 5, with cache_hit, cache_miss and output.",
                "PRICE 应该还是第 5 节的那张表，包含 cache_hit、cache_miss 和 output。"))
    cases = [
        ((1_000_000, 0), price["cache_miss"], say("a million prompt tokens, none cached",
                                                  "一百万个输入 token（都没命中缓存）")),
        ((0, 1_000_000), price["output"], say("a million completion tokens", "一百万个输出 token")),
        ((1_000_000, 0, 1_000_000), price["cache_hit"], say("a million prompt tokens, all cached",
                                                            "一百万个输入 token（全部命中缓存）")),
        ((2_000, 500, 1_500), (1_500 * price["cache_hit"] + 500 * price["cache_miss"] + 500 * price["output"]) / 1e6,
         say("2,000 prompt tokens (1,500 cached) and 500 completion tokens",
             "2,000 个输入 token（其中 1,500 个命中缓存）加 500 个输出 token")),
    ]
    results = []
    for args, _expected, _label in cases:
        got = _call(f"request_cost{args}", request_cost, *args)
        require(not is_blank(got), say("request_cost returns ... : return the cost in dollars.",
                                       "request_cost 返回的是 ... ：要返回以美元计的费用。"))
        require(isinstance(got, numbers.Real) and not isinstance(got, bool),
                say(f"request_cost should return a number of dollars, not {type(got).__name__}.",
                    f"request_cost 应该返回一个美元数，而不是 {type(got).__name__}。"))
        results.append(got)
    right = [expected for _, expected, _ in cases]
    if not all(math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) for got, want in zip(results, right)):
        for cost, mistake in _cost_mistakes(price):
            if all(math.isclose(got, cost(*args), rel_tol=1e-9, abs_tol=1e-12)
                   for got, (args, _, _) in zip(results, cases)):
                require(False, mistake)
    for got, (_, expected, label) in zip(results, cases):
        if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            if math.isclose(got, round(expected, 4), abs_tol=1e-12) or math.isclose(got, round(expected, 2),
                                                                                     abs_tol=1e-12):
                require(False, say(f"For {label.en}, request_cost gave {got!r}, the cost rounded; it should be "
                                   f"{expected:g}. Don't round: a cost this small disappears, and many add up.",
                                   f"{label.zh}：request_cost 给出的是取整后的 {got!r}，应该是 {expected:g}。"
                                   "不要取整：这么小的费用一取整就没了，可很多个加起来并不少。"))
            hint = say(" Did you divide by 1_000_000?", "你除以 1_000_000 了吗？") \
                if math.isclose(got, expected * 1e6, rel_tol=1e-9) else ""
            require(False, say(f"For {label.en}, request_cost gave {got!r} dollars; it should be {expected:g}.",
                               f"{label.zh}：request_cost 算出 {got!r} 美元，应该是 {expected:g}。") + hint)
    return say("A request of 2,000 prompt and 500 completion tokens costs well under a cent; a long conversation is many "
               "of them.",
               "一个 2,000 个输入 token、500 个输出 token 的请求，费用远不到一美分；而一段长对话就是很多个这样的请求。")
