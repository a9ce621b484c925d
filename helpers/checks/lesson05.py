"""Checkers for notebooks/05_errors.ipynb."""
from __future__ import annotations

from typing import Any

from . import NotYet, Said, code, exercise, is_blank, require, say

# (status, error.type, should it be retried?, why) — Kimi's error table plus the statuses any gateway may send.
_RETRY_CASES = [
    (429, "rate_limit_reached_error", True, say("a rate limit passes: wait as long as the message says, then retry",
                                                "限流是会过去的：按消息里说的时间等一等，再重试")),
    (429, "engine_overloaded_error", True, say("an overloaded engine is Kimi being busy: back off and retry",
                                               "引擎过载说明 Kimi 正忙：退避一会儿再重试")),
    (429, "exceeded_current_quota_error", False,
     say("the quota error means the balance is used up: no retry can succeed until someone tops up",
         "额度错误说明余额已经用完：在有人充值之前，重试多少次都不会成功")),
    (500, "unexpected_output", True, say("a 500 is a failure on Kimi's side: a later try can succeed",
                                         "500 是 Kimi 那边出的故障：过一会儿再试，可能就成功了")),
    (503, None, True, say("a 503 (service unavailable, maybe with no Kimi error type at all) is worth another try",
                          "503（服务不可用，可能根本不带 Kimi 的错误类型）值得再试一次")),
    (400, "invalid_request_error", False, say("a 400 means the request itself is wrong: sending it again changes nothing",
                                              "400 说明请求本身有问题：再发一次也不会有任何变化")),
    (400, "content_filter", False, say("content_filter rejects the input: the same input is rejected again",
                                       "content_filter 拒绝的是输入内容：同样的输入还会再被拒绝")),
    (401, "invalid_authentication_error", False, say("a 401 means a wrong key (or the wrong platform): fix the key",
                                                     "401 说明 API 密钥不对（或者平台选错了）：要做的是改对密钥")),
    (403, "permission_denied_error", False, say("a 403 means your account may not use this: retrying won't change that",
                                                "403 说明你的账号无权使用它：重试改变不了这一点")),
    (404, "resource_not_found_error", False, say("a 404 means the model doesn't exist (any more): pick another model",
                                                 "404 说明这个模型不存在（或已经下线）：换一个模型")),
]


@exercise("05.1", hints=[
    say("Ask of each error: would the same request, sent again a little later, get a different answer? "
        "Sections 2–9 say for each.",
        "对每种错误都问一句：同一个请求，过一会儿再发一次，会得到不同的结果吗？第 2–9 节逐一讲过。"),
    say("Statuses of 500 or more can pass with time, and so can a 429 whose type is rate_limit_reached_error "
        "or engine_overloaded_error. The quota error is a 429 too: check error_type, not only the status.",
        "500 及以上的状态码会随时间恢复，类型为 rate_limit_reached_error 或 engine_overloaded_error 的 429 "
        "也一样。额度错误同样是 429：要检查 error_type，不能只看状态码。"),
    code(
        'def should_retry(status, error_type):',
        '    if status >= 500:',
        "        return True                     # something broke on Kimi's side: a later try can succeed",
        '    return status == 429 and error_type in {"rate_limit_reached_error", "engine_overloaded_error"}',
    ),
])
def _(should_retry):
    require(callable(should_retry), say("should_retry should be a function: def should_retry(status, error_type): ...",
                                        "should_retry 应该是一个函数：def should_retry(status, error_type): ..."))
    for status, error_type, expected, why in _RETRY_CASES:
        got = should_retry(status, error_type)
        require(got is not None and not is_blank(got),
                say(f"should_retry({status}, {error_type!r}) returned {got!r}. Replace the ... with code that "
                    "returns True or False.",
                    f"should_retry({status}, {error_type!r}) 返回了 {got!r}。把 ... 换成返回 True 或 False 的代码。"))
        require(isinstance(got, bool), say(f"should_retry({status}, {error_type!r}) returned {got!r}; "
                                           "return True or False.",
                                           f"should_retry({status}, {error_type!r}) 返回了 {got!r}；"
                                           "请返回 True 或 False。"))
        if got != expected:
            raise NotYet(say(f"should_retry({status}, {error_type!r}) returned {got}, but {why.en}.",
                             f"should_retry({status}, {error_type!r}) 返回了 {got}，但{why.zh}。"))
    return say("Only errors that can pass with time are worth another try; the quota error never is.",
               "只有会随时间恢复的错误才值得重试；额度错误永远不值得。")


_WAIT_CASES = [
    ("Your account org-course<ak-course> request reached organization max RPM: 3, please try again after 1 seconds", 1),
    ("Your account org-x<ak-y> request reached organization max concurrency: 1, please try again after 20 seconds", 20),
    ("Your account org-x<ak-y> request reached organization max RPM: 200, please try again after 7 seconds", 7),
    ("please try again after 2.5 seconds", 2.5),
    ("The engine is currently overloaded, please try again later", None),
    ("You exceeded your current token quota: <org-course> 0, please check your account balance", None),
    ("Your account org-x<ak-y> request reached organization TPM rate limit, current:2100000, limit:2000000", None),
]


@exercise("05.2", hints=[
    say("The wait is a number inside a sentence: a regular expression can find it and capture it.",
        "等待时间是句子里的一个数字：正则表达式可以找到它，并把它捕获出来。"),
    say("re.search(r'try again after (\\d+(?:\\.\\d+)?) seconds?', message) captures the number in group(1), and "
        "returns None when the message names no wait. float(...) makes it a number.",
        "re.search(r'try again after (\\d+(?:\\.\\d+)?) seconds?', message) 会把这个数字捕获到 group(1) 里；"
        "消息里没写等待时间时，它返回 None。float(...) 把它转成数字。"),
    code(
        'def retry_after_seconds(message):',
        '    found = re.search(r"try again after (\\d+(?:\\.\\d+)?) seconds?", message)',
        '    return float(found.group(1)) if found else None',
    ),
])
def _(retry_after_seconds):
    require(callable(retry_after_seconds),
            say("retry_after_seconds should be a function: def retry_after_seconds(message): ...",
                "retry_after_seconds 应该是一个函数：def retry_after_seconds(message): ..."))
    first_message, first_wait = _WAIT_CASES[0]
    got = retry_after_seconds(first_message)
    require(got is not None and not is_blank(got),
            say(f"For {first_message!r} it returned {got!r}. Replace the ... with code that finds the number of seconds.",
                f"对 {first_message!r}，它返回了 {got!r}。把 ... 换成找出秒数的代码。"))
    for message, expected in _WAIT_CASES:
        got = retry_after_seconds(message)
        if expected is None:
            require(got is None, say(f"For {message!r} it returned {got!r}, but that message names no wait: return None. "
                                     "(Careful with numbers that aren't a wait, like the RPM or the token counts.)",
                                     f"对 {message!r}，它返回了 {got!r}，但这条消息并没有给出等待时间：应该返回 None。"
                                     "（小心那些不是等待时间的数字，比如 RPM 或 token 数。）"))
            continue
        if isinstance(got, str):
            same = got.strip().replace(".", "", 1).isdigit() and float(got) == expected
            raise NotYet(say(f"For {message!r} it returned the text {got!r}. ",
                             f"对 {message!r}，它返回的是文本 {got!r}。") + (
                say("Turn it into a number with float(...), so you can pass it to time.sleep().",
                    "用 float(...) 把它转成数字，这样才能传给 time.sleep()。") if same else
                say(f"The wait there is {expected:g}: take the number right after 'try again after', as a number.",
                    f"这里的等待时间是 {expected:g}：取紧跟在 'try again after' 后面的那个数，并把它转成数字。")))
        require(isinstance(got, (int, float)) and not isinstance(got, bool),
                say(f"For {message!r} it returned {got!r}; return the number of seconds.",
                    f"对 {message!r}，它返回了 {got!r}；请返回秒数。"))
        require(got == expected, say(f"For {message!r} it returned {got!r}, not {expected!r}. "
                                     "Take the number right after 'try again after' (it can have a decimal point).",
                                     f"对 {message!r}，它返回了 {got!r}，而不是 {expected!r}。"
                                     "取紧跟在 'try again after' 后面的数字（它可能带小数点）。"))
    return say("Now a retry can wait exactly as long as Kimi asks, and no longer.",
               "现在，重试可以正好等 Kimi 要求的那么久，一秒也不多等。")


def _sdk_errors() -> list[tuple[Said, Exception]]:
    """Real exceptions from the SDK: a 500, a quota 429, a broken stream and a refused connection."""
    from openai import OpenAI, OpenAIError

    from ..course import current, fault_base_url
    from ..settings import REPLAY_API_KEY

    course = current()
    model = course.model
    messages: Any = [{"role": "user", "content": "用一句话解释 HTTP 状态码 429 是什么意思。"}]
    calls: list[tuple[Said, str, dict[str, Any]]] = [
        (say("a 500 from the server", "服务器返回的 500"), fault_base_url("server_error"), {}),
        (say("the quota error (429)", "额度错误（429）"), fault_base_url("quota"), {}),
        (say("an error in the middle of a stream", "流式输出中途的错误"), fault_base_url("stream_error"), {"stream": True}),
        (say("a connection error (nothing answered)", "连接错误（没有任何响应）"), "http://127.0.0.1:1/v1", {}),
    ]
    found: list[tuple[Said, Exception]] = []
    for label, base_url, extra in calls:
        client = OpenAI(api_key=course.api_key or REPLAY_API_KEY, base_url=base_url, max_retries=0, timeout=30)
        try:
            result = client.chat.completions.create(model=model, messages=messages, **extra)
            for _ in (result if extra.get("stream") else []):
                pass
        except OpenAIError as exc:
            found.append((label, exc))
    return found


def _expected(error: Exception) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return {"request_id": response.headers.get("msh-request-id") if response is not None else None,
            "status": getattr(error, "status_code", None),
            "type": getattr(error, "type", None)}


def _messages(error: Exception) -> set[str]:
    body = getattr(error, "body", None)
    texts = {getattr(error, "message", None), str(error)}
    if isinstance(body, dict):
        texts.add(body.get("message"))
    return {t for t in texts if t}


@exercise("05.3", hints=[
    say("Not every exception has everything: when no answer came back at all, there is no response and no status.",
        "并不是每个异常都什么都有：如果根本没有收到响应，就既没有 response，也没有状态码。"),
    say("getattr(error, 'response', None) and getattr(error, 'status_code', None) give None instead of an "
        "AttributeError. The id is response.headers.get('msh-request-id') (error.request_id is None with Kimi).",
        "getattr(error, 'response', None) 和 getattr(error, 'status_code', None) 在属性不存在时给出 None，"
        "而不是抛出 AttributeError。请求 id 是 response.headers.get('msh-request-id')（用 Kimi 时，error.request_id 是 None）。"),
    code(
        'def support_note(error):',
        '    response = getattr(error, "response", None)           # only when the service answered',
        '    return {',
        '        "request_id": response.headers.get("msh-request-id") if response is not None else None,',
        '        "status": getattr(error, "status_code", None),',
        '        "type": error.type,',
        '        "message": error.message,',
        '    }',
    ),
])
def _(support_note):
    require(callable(support_note), say("support_note should be a function: def support_note(error): ...",
                                        "support_note 应该是一个函数：def support_note(error): ..."))
    errors = _sdk_errors()
    require(errors, say("The check couldn't make any error happen: run the notebook's first cell (start()) again.",
                        "检查没能触发任何错误：重新运行笔记本的第一个单元格（start()）。"))
    for label, error in errors:
        try:
            note = support_note(error)
        except AttributeError as exc:
            raise NotYet(say(f"support_note raised AttributeError for {label.en} ({exc}). Not every error has every "
                             "attribute: only errors with an error status (APIStatusError) carry .response and "
                             ".status_code; connection errors and errors inside a stream don't. "
                             "Use getattr(error, 'response', None).",
                             f"对于{label.zh}，support_note 抛出了 AttributeError（{exc}）。并不是每个错误都有所有属性："
                             "只有带错误状态码的错误（APIStatusError）才有 .response 和 .status_code；"
                             "连接错误和流式输出中途的错误都没有。请用 getattr(error, 'response', None)。")) from None
        require(isinstance(note, dict), say(f"support_note should return a dict, not {type(note).__name__}.",
                                            f"support_note 应该返回一个 dict，而不是 {type(note).__name__}。"))
        for key in ("request_id", "status", "type", "message"):
            require(key in note, say(f"The dict has no {key!r} key; it needs request_id, status, type and message.",
                                     f"这个 dict 里没有 {key!r} 键；它需要 request_id、status、type 和 message 四个键。"))
            require(not is_blank(note[key]), say(f"Fill in the ... for {key!r}.", f"把 {key!r} 对应的 ... 填上。"))
        want = _expected(error)
        if note["request_id"] != want["request_id"]:
            if note["request_id"] is None:
                raise NotYet(say(f"request_id was None for {label.en}, but that answer carried an Msh-Request-Id header. "
                                 "error.request_id reads x-request-id, which Kimi doesn't send: read "
                                 "error.response.headers.get('msh-request-id').",
                                 f"对于{label.zh}，request_id 是 None，但那个响应带有 Msh-Request-Id 响应头。"
                                 "error.request_id 读的是 x-request-id，而 Kimi 不发送这个头：请读取 "
                                 "error.response.headers.get('msh-request-id')。"))
            raise NotYet(say(f"For {label.en}, request_id was {note['request_id']!r}; it should be "
                             f"{want['request_id']!r}, the response's msh-request-id header (None when no response came).",
                             f"对于{label.zh}，request_id 是 {note['request_id']!r}；它应该是 "
                             f"{want['request_id']!r}，也就是响应的 msh-request-id 响应头（没有收到响应时为 None）。"))
        require(note["status"] == want["status"],
                say(f"For {label.en}, status was {note['status']!r}; it should be {want['status']!r} "
                    "(error.status_code, or None when there is no status).",
                    f"对于{label.zh}，status 是 {note['status']!r}；它应该是 {want['status']!r}"
                    "（error.status_code；没有状态码时为 None）。"))
        require(note["type"] == want["type"],
                say(f"For {label.en}, type was {note['type']!r}; it should be {want['type']!r} (error.type).",
                    f"对于{label.zh}，type 是 {note['type']!r}；它应该是 {want['type']!r}（error.type）。"))
        require(isinstance(note["message"], str) and note["message"] in _messages(error),
                say(f"For {label.en}, message was {note['message']!r}; use error.message.",
                    f"对于{label.zh}，message 是 {note['message']!r}；请用 error.message。"))
    return say("That dict is what support needs, and it never includes your key.",
               "技术支持需要的正是这个 dict，而且它绝不会包含你的 API 密钥。")
