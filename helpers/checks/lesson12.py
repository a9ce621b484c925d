"""Checkers for notebooks/12_json_answers.ipynb.

Each exercise is a function that takes the client as its first argument. The checker calls it with a client of its
own whose HTTP client notes every request body before it is sent, so it sees what the learner's request put on the
wire in every mode (live requests do not pass through the local server, so its log would not show them).
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable

from helpers.checks import Said, code, exercise, is_blank, learner, require, say, server_message

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
          advice: Callable[[Exception], Said | None] | None = None, **kwargs: Any) -> Any:
    """Call the learner's function; whatever it raises becomes feedback (specific advice first, when there is some)."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # the learner's code may fail in any way
        said = advice(exc) if advice else None
        if said:
            require(False, said)
        text = str(exc).splitlines()[0] if str(exc) else ""
        if "ellipsis" in text:
            require(False, say(f"{what} raised {exc.__class__.__name__}: {text}: a ... blank is still in there.",
                               f"{what} 抛出了 {exc.__class__.__name__}：{text}：里面还有没填的 ... 空白。"))
        message = server_message(exc) or ""
        if "recording_not_found" in text or "No recording matches" in message:
            require(False, say(f"{what} sent a request the lesson never recorded, so replay mode cannot answer it. "
                               f"The replay server said: {message or text}",
                               f"{what} 发出了一个本课从没录制过的请求，所以回放模式没法回答它。"
                               f"回放服务器说：{message or text}"))
        require(False, say(f"{what} raised {exc.__class__.__name__}: {message or text}",
                           f"{what} 抛出了 {exc.__class__.__name__}：{message or text}"))


def _used(wire: Wire, name: str) -> None:
    require(wire.sent, say(f"{name} sent no request through the client it was given. Use its first argument, client, "
                           "not the notebook's own client.",
                           f"{name} 没有通过传给它的 client 发出任何请求。要用它的第一个参数 client，"
                           "而不是笔记本自己的 client。"))


def _common_advice(exc: Exception) -> Said | None:
    message = server_message(exc) or ""
    if "response_format must be an object" in message:
        return say('response_format takes a dict, {"type": "json_object"}, not the string "json_object".',
                   'response_format 接受的是一个 dict，{"type": "json_object"}，而不是字符串 "json_object"。')
    if "unknown response_format type" in message:
        return say(f'Kimi refused the request: {message}. JSON mode is {{"type": "json_object"}}.',
                   f'Kimi 拒绝了这个请求：{message}。JSON 模式写作 {{"type": "json_object"}}。')
    if "json_schema.schema is required" in message:
        return say('"json_schema" needs a schema beside it (section 5); JSON mode, which needs none, is '
                   '{"type": "json_object"}.',
                   '"json_schema" 旁边还需要一个 schema（第 5 节）；JSON 模式不需要 schema，写作 '
                   '{"type": "json_object"}。')
    if isinstance(exc, TypeError) and "BaseModel" in str(exc):
        return say("A pydantic class goes to client.chat.completions.parse(), not create(); here JSON mode is enough.",
                   "pydantic 类要交给 client.chat.completions.parse()，而不是 create()；这里用 JSON 模式就够了。")
    return None


# ---- 12.1 --------------------------------------------------------------------------------------------------------

def _ask_json_advice(exc: Exception) -> Said | None:
    said = _common_advice(exc)
    if said:
        return said
    if isinstance(exc, json.JSONDecodeError):
        return say("json.loads got text that is not JSON: give it the answer's text, "
                   "completion.choices[0].message.content.",
                   "json.loads 拿到的文本不是 JSON：要把回答的文本交给它，"
                   "completion.choices[0].message.content。")
    if isinstance(exc, TypeError) and "JSON object must be str" in str(exc):
        return say("json.loads needs the answer's text: completion.choices[0].message.content "
                   f"({str(exc).split(', not ')[-1]} was given).",
                   "json.loads 需要的是回答的文本：completion.choices[0].message.content"
                   f"（你给它的是 {str(exc).split(', not ')[-1]}）。")
    return None


@exercise("12.1", hints=[
    say("JSON mode is one argument of create(): response_format, a dict with one key, \"type\".",
        "JSON 模式就是 create() 的一个参数：response_format，一个只有 \"type\" 这一个键的 dict。"),
    say("The answer's text is completion.choices[0].message.content; json.loads turns it into a dict.",
        "回答的文本是 completion.choices[0].message.content；json.loads 把它变成 dict。"),
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
    require(callable(ask_json), say("ask_json should be the function defined in the exercise cell.",
                                  "ask_json 应该是练习单元格里定义的那个函数。"))
    wire = Wire()

    def advice(exc: Exception) -> Said | None:
        if wire.sent and "response_format" not in wire.last:
            return say('The request on the wire had no response_format, so JSON mode was off (and Kimi answered in '
                       'words, with the JSON inside): add response_format={"type": "json_object"}.',
                       '实际发出的请求里没有 response_format，所以 JSON 模式没有打开（Kimi 用文字回答，JSON '
                       '夹在文字里）：加上 response_format={"type": "json_object"}。')
        return _ask_json_advice(exc)

    result = _call("ask_json(client, PARAGRAPH)", ask_json, wire.client, PARAGRAPH, advice=advice)
    _used(wire, "ask_json")
    sent = wire.last.get("response_format")
    require(sent is not None, say("The request on the wire had no response_format, so JSON mode was off: add "
                                  'response_format={"type": "json_object"}.',
                                  "实际发出的请求里没有 response_format，所以 JSON 模式没有打开：加上 "
                                  'response_format={"type": "json_object"}。'))
    require(sent == {"type": "json_object"}, say(f"The request sent response_format={sent!r}; JSON mode is exactly "
                                                 '{"type": "json_object"}.',
                                                 f"请求里发送的是 response_format={sent!r}；JSON 模式必须正好是 "
                                                 '{"type": "json_object"}。'))
    require(not is_blank(result), say("ask_json returns ... : return the answer, parsed with json.loads.",
                                      "ask_json 返回的是 ...：要返回用 json.loads 解析后的回答。"))
    require(not isinstance(result, str), say("ask_json returned the JSON text; return it parsed: json.loads(...) of it.",
                                             "ask_json 返回的是 JSON 文本；要返回解析后的结果：对它调用 json.loads(...)。"))
    require(not hasattr(result, "choices"), say("ask_json returned the whole completion; return only its answer, "
                                                "parsed: json.loads(completion.choices[0].message.content).",
                                                "ask_json 返回了整个 completion；只返回其中的回答，并且解析好："
                                                "json.loads(completion.choices[0].message.content)。"))
    require(isinstance(result, dict), say(f"ask_json should return a dict, not {type(result).__name__}.",
                                          f"ask_json 应该返回 dict，而不是 {type(result).__name__}。"))
    missing = [f for f in FIELDS if f not in result]
    require(not missing, say(f"The dict has no {', '.join(missing)}: it should be the JSON object Kimi answered, with "
                             f"the prompt's fields ({', '.join(FIELDS)}).",
                             f"这个 dict 里没有 {', '.join(missing)}：它应该是 Kimi 回答的那个 JSON 对象，"
                             f"带有提示词要求的字段（{', '.join(FIELDS)}）。"))
    require(result.get("customer") == "李雷" and result.get("quantity") == 3,
            say(f"The answer should be Li Lei's order of 3 speakers; it was {result!r}.",
                f"回答应该是李雷订 3 台音箱的订单；实际是 {result!r}。"))
    return say("JSON mode, and one json.loads: the order is a dict your program can use.",
               "JSON 模式，再加一次 json.loads：订单就成了你的程序可以直接使用的 dict。")


# ---- 12.2 --------------------------------------------------------------------------------------------------------

def _typed_advice(exc: Exception) -> Said | None:
    said = _common_advice(exc)
    if said:
        return said
    if isinstance(exc, AttributeError) and "finish_reason" in str(exc):
        return say("finish_reason belongs to a choice, not to the completion: choice.finish_reason "
                   "(choice = completion.choices[0]).",
                   "finish_reason 属于 choice，而不属于 completion：choice.finish_reason"
                   "（choice = completion.choices[0]）。")
    if isinstance(exc, TypeError) and "unexpected keyword" in str(exc) and "typed_order" in str(exc):
        return say("typed_order should accept **limits and pass them on to create() (the check sends max_completion_tokens).",
                   "typed_order 应该接受 **limits，并把它们传给 create()（检查会传入 max_completion_tokens）。")
    return None


def _blank_condition(function: Callable[..., Any]) -> bool:
    """Whether the `if ...:` blank is still in the exercise (the cell as last run, or else the function's source)."""
    return any(line.strip().startswith("if ...") for line in learner.exercise_source("12.2", function).splitlines())


@exercise("12.2", hints=[
    say("The reason an answer stopped is choice.finish_reason: \"stop\" when the model finished, \"length\" at the limit.",
        "回答停下来的原因在 choice.finish_reason 里：模型说完了是 \"stop\"，到了上限是 \"length\"。"),
    say("Raise when choice.finish_reason == \"length\"; otherwise validate the text with order_class, here "
        "Order.model_validate_json(...).",
        "choice.finish_reason == \"length\" 时抛出异常；否则用 order_class 校验文本，这里就是 "
        "Order.model_validate_json(...)。"),
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

    require(callable(typed_order), say("typed_order should be the function defined in the exercise cell.",
                                  "typed_order 应该是练习单元格里定义的那个函数。"))
    require(isinstance(order_class, type) and issubclass(order_class, BaseModel),
            say("Order should still be the pydantic class from section 3.",
                "Order 应该仍然是第 3 节里的那个 pydantic 类。"))
    require(isinstance(cut_off, type) and issubclass(cut_off, Exception),
            say("CutOff should still be the exception class from section 6.",
                "CutOff 应该仍然是第 6 节里的那个异常类。"))
    wire = Wire()

    def whole_advice(exc: Exception) -> Said | None:
        if isinstance(exc, cut_off):
            if _blank_condition(typed_order):
                return say("The condition after `if` is still ... (which counts as true): write the test for a cut answer.",
                           "`if` 后面的条件还是 ...（它算作真）：写出判断回答被截断的条件。")
            return say("typed_order raised CutOff for a whole answer (its finish_reason was \"stop\"): raise only when "
                       "choice.finish_reason is \"length\".",
                       "回答是完整的（它的 finish_reason 是 \"stop\"），typed_order 却抛出了 CutOff：只有当 "
                       "choice.finish_reason 是 \"length\" 时才抛出。")
        said = _typed_advice(exc)
        if said or not wire.sent or wire.last.get("response_format") == {"type": "json_object"}:
            return said
        return say('Keep response_format={"type": "json_object"} in the request: it went on the wire as '
                   f"{wire.last.get('response_format')!r}.",
                   '请求里要保留 response_format={"type": "json_object"}：实际发出的是 '
                   f"{wire.last.get('response_format')!r}。")

    result = _call("typed_order(client, PARAGRAPH)", typed_order, wire.client, PARAGRAPH, advice=whole_advice)
    _used(wire, "typed_order")
    require(wire.last.get("response_format") == {"type": "json_object"},
            say('Keep response_format={"type": "json_object"} in the request: it went on the wire as '
                f"{wire.last.get('response_format')!r}.",
                '请求里要保留 response_format={"type": "json_object"}：实际发出的是 '
                f"{wire.last.get('response_format')!r}。"))
    require(not is_blank(result), say("typed_order returns ... : return the answer validated as an Order.",
                                      "typed_order 返回的是 ...：要返回校验成 Order 的回答。"))
    require(not isinstance(result, (dict, str)),
            say(f"typed_order returned a {type(result).__name__}; return an Order: "
                "Order.model_validate_json(choice.message.content) checks every field's type as it builds it.",
                f"typed_order 返回的是 {type(result).__name__}；要返回 Order："
                "Order.model_validate_json(choice.message.content) 在构建时会检查每个字段的类型。"))
    require(isinstance(result, order_class), say(f"typed_order should return an Order, not {type(result).__name__}.",
                                                 f"typed_order 应该返回 Order，而不是 {type(result).__name__}。"))
    require(result.customer == "李雷" and result.quantity == 3, say(f"The Order should be Li Lei's 3 speakers: {result!r}.",
                                                                  f"这个 Order 应该是李雷订的 3 台音箱：{result!r}。"))

    before = len(wire.sent)
    try:
        cut = typed_order(wire.client, PARAGRAPH, max_completion_tokens=CUT_AT)
    except cut_off:
        require(wire.sent[before:] and wire.last.get("max_completion_tokens") == CUT_AT,
                say("typed_order raised CutOff, but the request never carried max_completion_tokens: pass **limits on "
                    "to create().",
                    "typed_order 抛出了 CutOff，但请求里根本没有带上 max_completion_tokens：把 **limits 传给 create()。"))
        return say("A whole answer comes back typed; a cut one is an error that says so, not a confusing parse failure.",
                   "完整的回答会以带类型的对象返回；被截断的回答则是一个直接说明原因的错误，而不是让人摸不着头脑的解析失败。")
    except (ValidationError, json.JSONDecodeError, ValueError) as exc:
        require(False, say(f"For an answer cut off at max_completion_tokens, typed_order raised {exc.__class__.__name__} "
                           "from parsing the fragment. Look at choice.finish_reason first: for \"length\", raise CutOff "
                           "before you parse.",
                           f"回答在 max_completion_tokens 处被截断了，typed_order 在解析这段残缺文本时抛出了 "
                           f"{exc.__class__.__name__}。先看 choice.finish_reason：如果是 \"length\"，在解析之前就"
                           "抛出 CutOff。"))
    except Exception as exc:  # the learner's code may fail in any way
        said = _typed_advice(exc)
        require(False, said or say(f"typed_order(client, PARAGRAPH, max_completion_tokens={CUT_AT}) raised "
                                   f"{exc.__class__.__name__}: {server_message(exc) or exc}",
                                   f"typed_order(client, PARAGRAPH, max_completion_tokens={CUT_AT}) 抛出了 "
                                   f"{exc.__class__.__name__}：{server_message(exc) or exc}"))
    sent_limit = wire.last.get("max_completion_tokens") if wire.sent[before:] else None
    require(sent_limit == CUT_AT, say(f"typed_order(..., max_completion_tokens={CUT_AT}) sent a request without that "
                                      "limit, so the answer came back whole: pass **limits on to create().",
                                      f"typed_order(..., max_completion_tokens={CUT_AT}) 发出的请求里没有这个上限，"
                                      "所以回答完整地回来了：把 **limits 传给 create()。"))
    require(False, say(f"With max_completion_tokens={CUT_AT} the answer was cut (finish_reason \"length\"), but typed_order "
                       f"returned {cut!r} instead of raising CutOff.",
                       f"在 max_completion_tokens={CUT_AT} 下回答被截断了（finish_reason 为 \"length\"），但 typed_order "
                       f"返回了 {cut!r}，而没有抛出 CutOff。"))


# ---- 12.3 --------------------------------------------------------------------------------------------------------

def _prefilled_advice(exc: Exception) -> Said | None:
    message = server_message(exc) or ""
    if "only an assistant message can be partial" in message:
        return say('Kimi refused the request: the partial message must be the start of Kimi\'s answer, '
                   '{"role": "assistant", "content": "{", "partial": True}.',
                   'Kimi 拒绝了这个请求：partial 消息必须是 Kimi 回答的开头，'
                   '{"role": "assistant", "content": "{", "partial": True}。')
    if "is not the last message" in message:
        return say("Kimi refused the request: the partial message must be the last one in messages.",
                   "Kimi 拒绝了这个请求：partial 消息必须是 messages 里的最后一条。")
    if "partial must be true or false" in message:
        return say('Kimi refused the request: "partial" takes the boolean True, not a string.',
                   'Kimi 拒绝了这个请求："partial" 要用布尔值 True，而不是字符串。')
    if isinstance(exc, json.JSONDecodeError):
        return say("json.loads failed on the answer alone: the reply continues after your \"{\" without repeating it, "
                   "so put the two together: json.loads(\"{\" + completion.choices[0].message.content).",
                   "只拿回答本身做 json.loads 失败了：回复是接着你的 \"{\" 往下写的，不会再重复这个 \"{\"，"
                   "所以要把两者拼起来：json.loads(\"{\" + completion.choices[0].message.content)。")
    if isinstance(exc, TypeError) and "JSON object must be str" in str(exc):
        return say("json.loads needs text: the prefix \"{\" plus completion.choices[0].message.content.",
                   "json.loads 需要的是文本：前缀 \"{\" 加上 completion.choices[0].message.content。")
    return None


@exercise("12.3", hints=[
    say("The start of Kimi's answer is a message like the others, last in the list, with the role \"assistant\".",
        "Kimi 回答的开头也是一条和其他消息一样的消息，放在列表最后，role 是 \"assistant\"。"),
    say("Its content is the text the answer starts with, \"{\", and it carries \"partial\": True.",
        "它的 content 是回答开头的文本 \"{\"，并且带上 \"partial\": True。"),
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
    require(callable(prefilled_order), say("prefilled_order should be the function defined in the exercise cell.",
                                  "prefilled_order 应该是练习单元格里定义的那个函数。"))
    wire = Wire()

    def advice(exc: Exception) -> Said | None:
        said = _prefilled_advice(exc)
        if said:
            return said
        body = wire.last
        problem = _partial_problem(body) if body else None
        return problem + say(f" (prefilled_order raised {exc.__class__.__name__}.)",
                             f"（prefilled_order 抛出了 {exc.__class__.__name__}。）") if problem else None

    result = _call("prefilled_order(client, PARAGRAPH)", prefilled_order, wire.client, PARAGRAPH, advice=advice)
    _used(wire, "prefilled_order")
    problem = _partial_problem(wire.last)
    require(problem is None, problem)
    require(not is_blank(result), say("prefilled_order returns ... : return the whole answer, parsed.",
                                      "prefilled_order 返回的是 ...：要返回解析后的完整回答。"))
    require(isinstance(result, dict), say(f"prefilled_order should return a dict, not {type(result).__name__}.",
                                          f"prefilled_order 应该返回 dict，而不是 {type(result).__name__}。"))
    require(result.get("customer") == "李雷" and result.get("quantity") == 3,
            say(f"The dict should be Li Lei's order of 3 speakers; it was {result!r}.",
                f"这个 dict 应该是李雷订 3 台音箱的订单；实际是 {result!r}。"))
    return say("You wrote the first character of Kimi's answer; it could only go on as JSON.",
               "你写下了 Kimi 回答的第一个字符；接下来它只能按 JSON 往下写。")


def _partial_problem(body: dict[str, Any]) -> Said | None:
    """What is wrong with the partial message of a request on the wire, or None."""
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if "response_format" in body:
        return say("The request also turned on JSON mode: Kimi's documentation says not to combine partial mode with "
                   "response_format json_object. Leave response_format out.",
                   "这个请求还打开了 JSON 模式：Kimi 的文档说不要把 Partial Mode 和 response_format json_object "
                   "一起用。去掉 response_format。")
    if last.get("role") != "assistant":
        return say("The last message on the wire has the role "
                   f"{last.get('role')!r}: add the start of Kimi's answer after the user's message, "
                   '{"role": "assistant", "content": "{", "partial": True}.',
                   "实际发出的最后一条消息的 role 是 "
                   f"{last.get('role')!r}：在用户消息后面加上 Kimi 回答的开头，"
                   '{"role": "assistant", "content": "{", "partial": True}。')
    if last.get("partial") is not True:
        return say('The last message is an assistant message without "partial": True, so Kimi reads it as an earlier '
                   'answer, not as the start of this one. Add "partial": True.',
                   '最后一条是没有 "partial": True 的 assistant 消息，所以 Kimi 把它当成之前的一次回答，'
                   '而不是这次回答的开头。加上 "partial": True。')
    if last.get("content") != "{":
        return say(f"The answer should start with exactly \"{{\"; the partial message holds {last.get('content')!r}.",
                   f"回答应该正好以 \"{{\" 开头；partial 消息里是 {last.get('content')!r}。")
    if body.get("thinking") != {"type": "disabled"}:
        return say('Keep extra_body={"thinking": {"type": "disabled"}}: the prefix is then the start of the answer itself.',
                   '保留 extra_body={"thinking": {"type": "disabled"}}：这样前缀才是回答本身的开头。')
    return None
