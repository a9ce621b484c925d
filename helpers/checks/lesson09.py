"""Checkers for notebooks/09_write_your_client.ipynb: the three parts of the client the learner writes.

09.1 gets the local server's real error answers (and a few rarer ones made here), 09.2 is asked what it would do
after each attempt, 09.3 reads real streams, broken by the server's faults, and two made here: one that just ends,
and one that shows whether the pieces are handed on as they arrive. The exception classes are the notebook's own
(workspace/kimi_client/errors.py, written in section 4).
"""
from __future__ import annotations

import ast
import io
import json
import os
from typing import Any, Callable, Iterator

from helpers.checks import code, exercise, is_blank, learner, require, say

BLANKS = say("Replace every ... with your answer first.", "先把每个 ... 换成你的答案。")


def _errors() -> Any:
    """The notebook's kimi_client.errors, or friendly feedback if it hasn't been written yet."""
    try:
        from kimi_client import errors
    except ImportError as exc:
        require(False, say(f"kimi_client can't be imported ({exc}). Run the notebook's cells from the top first: "
                           "sections 2 to 4 write it into workspace/.",
                           f"无法导入 kimi_client（{exc}）。先从头运行笔记本的单元格：第 2 到第 4 节会把它写进 workspace/。"))
    return errors


def _blanks_left(exercise_id: str, answer: Any) -> bool:
    """Whether the exercise as last run (or else `answer`'s own source) still has a `...` blank."""
    try:
        tree = ast.parse(learner.exercise_source(exercise_id, answer))
    except SyntaxError:
        return False
    return any(isinstance(node, ast.Constant) and node.value is ... for node in ast.walk(tree))


def _settings() -> tuple[str, str, str]:
    return os.environ["KIMI_BASE_URL"], os.environ["MOONSHOT_API_KEY"], os.environ["KIMI_MODEL"]


def _post(base_url: str, body: dict[str, Any], key: str, stream: bool = False) -> Any:
    import requests

    return requests.post(f"{base_url}/chat/completions", json=body, stream=stream, timeout=(5, 60),
                         headers={"Authorization": f"Bearer {key}"})


QUESTION = [{"role": "user", "content": "百度指数是什么？用一句话回答。"}]

# The cases' descriptions (`what` below) in Chinese, for the Chinese half of the messages that name them.
WHAT_ZH = {
    "a wrong key": "错误的 API 密钥",
    "temperature 0.5": "把 temperature 设为 0.5 的请求",
    "an unknown model": "不存在的模型",
    "a used-up balance": "余额耗尽",
    "a rate limit": "限流",
    "a busy engine": "引擎过载",
    "trouble at Kimi (500)": "来自 Kimi 的服务器错误（500）",
    "a proxy's HTML page (502)": "代理返回的 HTML 页面（502）",
    "a content filter": "内容过滤",
    "a rate limit that says its wait only in the message": "只在 message 里说明等待时间的限流",
    "a rate limit that says its wait only in Retry-After": "只在 Retry-After 里说明等待时间的限流",
    "a 429 of a type Kimi may add one day": "未来 Kimi 可能新增的某类 429",
    "a 418 nobody expected": "谁都没料到的 418",
    "a rate limit that asks for 3 s": "要求等待 3 秒的限流",
    "a rate limit that asks for 120 s": "要求等待 120 秒的限流",
    "a 500": "一个 500 错误",
    "a good stream": "正常的流式响应",
    "a stream that ends with an error event": "以错误事件结束的流式响应",
    "a stream whose connection drops": "中途断开连接的流式响应",
    "a stream that just ends": "直接结束的流式响应",
}


def _zh(what: str) -> str:
    """A case's description in Chinese (the English one if it has none)."""
    return WHAT_ZH.get(what, what)


def _error_cases(errors: Any) -> list[tuple[str, int, Any, Any, type, float | None]]:
    """(what, status, body, headers, the class it must get, the wait it must keep): the answers of section 4, as
    the local server sends them, and rarer ones written here."""
    from helpers import fault_base_url

    base_url, key, model = _settings()
    question: dict[str, Any] = {"model": model, "messages": QUESTION}
    real: list[tuple[str, str, dict[str, Any], str, type, float | None]] = [
        ("a wrong key", base_url, question, "not-a-real-key", errors.AuthenticationFailed, None),
        ("temperature 0.5", base_url, {**question, "temperature": 0.5}, key, errors.BadRequest, None),
        ("an unknown model", base_url, {**question, "model": "no-such-model"}, key, errors.NotFound, None),
        ("a used-up balance", fault_base_url("quota"), question, key, errors.QuotaExceeded, None),
        ("a rate limit", fault_base_url("rate_limit"), question, key, errors.RateLimited, 1.0),
        ("a busy engine", fault_base_url("overloaded"), question, key, errors.EngineOverloaded, None),
        ("trouble at Kimi (500)", fault_base_url("server_error"), question, key, errors.ServerError, None),
    ]
    cases = []
    for what, url, body, use_key, kind, wait in real:
        response = _post(url, body, use_key)
        cases.append((what, response.status_code, response.json(), response.headers, kind, wait))
    limit = "Your account org-x<ak-x> request reached organization max RPM: 200, please try again after 3 seconds"
    cases += [
        ("a proxy's HTML page (502)", 502, None, {"Content-Type": "text/html"}, errors.ServerError, None),
        ("a content filter", 400, {"error": {"type": "content_filter", "message": "The request was rejected because "
                                             "it was considered high risk"}}, {}, errors.ContentFiltered, None),
        ("a rate limit that says its wait only in the message", 429,
         {"error": {"type": "rate_limit_reached_error", "message": limit}}, {}, errors.RateLimited, 3.0),
        ("a rate limit that says its wait only in Retry-After", 429,
         {"error": {"type": "rate_limit_reached_error", "message": "Too many requests"}}, {"Retry-After": "2"},
         errors.RateLimited, 2.0),
        ("a 429 of a type Kimi may add one day", 429, {"error": {"type": "some_new_limit_error",
                                                                 "message": "Slow down"}}, {}, errors.RateLimited, None),
        ("a 418 nobody expected", 418, {"error": {"message": "I'm a teapot"}}, {}, errors.KimiError, None),
    ]
    return cases


@exercise("09.1", hints=[
    say("BY_TYPE maps Kimi's error.type to a class, BY_STATUS the HTTP status. Look the type up first, and the status "
        "only if the type finds nothing: `a or b` gives b when a is None.",
        "BY_TYPE 把 Kimi 的 error.type 对应到一个异常类，BY_STATUS 则按 HTTP 状态码对应。先查类型，类型查不到时"
        "再查状态码：a 为 None 时，`a or b` 得到 b。"),
    say("The class: `BY_TYPE.get(info.get(\"type\")) or BY_STATUS.get(status)`. Neither knows it: "
        "`ServerError if status and status >= 500 else KimiError`. The wait: `retry_after_seconds(message, headers)`.",
        "异常类：`BY_TYPE.get(info.get(\"type\")) or BY_STATUS.get(status)`。两张表都查不到时："
        "`ServerError if status and status >= 500 else KimiError`。等待时间：`retry_after_seconds(message, headers)`。"),
    code(
        "from kimi_client.errors import BY_STATUS, BY_TYPE, KimiError, ServerError, retry_after_seconds",
        "",
        "",
        "def error_from_body(status, body, request_id=None, headers=None):",
        '    """The KimiError for an error answer: chosen by error.type first, then by the HTTP status."""',
        '    info = body.get("error") if isinstance(body, dict) else None',
        '    info = info if isinstance(info, dict) else {}             # a proxy\'s HTML page or an empty body has no "error"',
        '    message = info.get("message") or f"HTTP {status} without an error message"',
        '    kind = BY_TYPE.get(info.get("type")) or BY_STATUS.get(status)   # the class for Kimi\'s type, else for the status',
        "    if kind is None:",
        "        kind = ServerError if status and status >= 500 else KimiError   # neither knows it: a 5xx is Kimi's trouble",
        '    return kind(message, status=status, type=info.get("type"), request_id=request_id,',
        "                retry_after=retry_after_seconds(message, headers))   # the seconds Kimi asked us to wait, if it said",
    ),
])
def _(error_from_body: Callable[..., Any]):
    require(callable(error_from_body), say("error_from_body should be the function defined in the exercise cell.",
                                           "error_from_body 应该是练习单元格里定义的那个函数。"))
    require(not _blanks_left("09.1", error_from_body), BLANKS)
    errors = _errors()
    for what, status, body, headers, want, wait in _error_cases(errors):
        try:
            got = error_from_body(status, body, "req-42", headers)
        except Exception as exc:  # noqa: BLE001 - any error in the learner's function is feedback
            require("ellipsis" not in str(exc).lower(), BLANKS)
            if isinstance(exc, TypeError) and "NoneType" in str(exc) and "callable" in str(exc):
                require(False, say(f"For {what} (HTTP {status}) neither table knows the answer, so kind was still None "
                                   "when it was called. Give it the fallback: ServerError for 500 and above, else KimiError.",
                                   f"对于{_zh(what)}（HTTP {status}），两张表都查不到，所以调用 kind 时它还是 None。"
                                   "给它加上兜底：500 及以上用 ServerError，其余用 KimiError。"))
            require(False, say(f"error_from_body(...) for {what} (HTTP {status}) raised {type(exc).__name__}: {exc}",
                               f"对于{_zh(what)}（HTTP {status}），error_from_body(...) 抛出了 {type(exc).__name__}：{exc}"))
        if isinstance(got, BaseException) and not isinstance(got, errors.KimiError):
            require(False, say(f"For {what} yours returned a {type(got).__name__}; return one of the KimiError classes.",
                               f"对于{_zh(what)}，你的函数返回了一个 {type(got).__name__}；应该返回 KimiError 系列中的某个异常。"))
        require(isinstance(got, errors.KimiError),
                say(f"error_from_body should return the exception (not raise it, not print it); for {what} it returned "
                    f"{got!r}.",
                    f"error_from_body 应该返回这个异常（不是 raise 它，也不是 print 它）；对于{_zh(what)}，它返回的是 "
                    f"{got!r}。"))
        kind = body.get("error", {}).get("type") if isinstance(body, dict) else None
        if type(got) is not want:
            if want is errors.QuotaExceeded and type(got) is errors.RateLimited:
                require(False, say("A used-up balance (HTTP 429, exceeded_current_quota_error) became RateLimited: the "
                                   "status was looked at first. Three different 429s need three classes: look the type "
                                   "up in BY_TYPE first, and the status only when the type finds nothing.",
                                   "余额耗尽（HTTP 429，exceeded_current_quota_error）变成了 RateLimited：你先看了状态码。"
                                   "三种不同的 429 需要三个不同的类：先在 BY_TYPE 里查类型，类型查不到时再看状态码。"))
            if want is errors.KimiError and type(got) is errors.ServerError:
                require(False, say(f"{what.capitalize()} (HTTP {status}) became a ServerError, which is retryable. Only "
                                   "a status of 500 or more is Kimi's trouble; anything else nobody knows is a plain "
                                   "KimiError.",
                                   f"{_zh(what)}（HTTP {status}）变成了 ServerError，而 ServerError 是可重试的。只有 500 "
                                   "及以上的状态码才是 Kimi 那边的问题；其他谁都不认识的状态码，应该是普通的 KimiError。"))
            if want is errors.ServerError and type(got) is errors.KimiError:
                require(False, say(f"For {what} (HTTP {status}) yours gave a plain KimiError, which is never retried. "
                                   "A status of 500 or more that no table knows is Kimi's trouble: ServerError.",
                                   f"对于{_zh(what)}（HTTP {status}），你的函数给出了普通的 KimiError，而它永远不会被重试。"
                                   "两张表都不认识的 500 及以上状态码是 Kimi 那边的问题：应该是 ServerError。"))
            require(False, say(f"For {what} (HTTP {status}, type {kind!r}) yours returned {type(got).__name__}; it "
                               f"should be {want.__name__}.",
                               f"对于{_zh(what)}（HTTP {status}，类型 {kind!r}），你的函数返回了 {type(got).__name__}；"
                               f"应该是 {want.__name__}。"))
        message = body["error"]["message"] if isinstance(body, dict) and body.get("error", {}).get("message") \
            else f"HTTP {status} without an error message"
        require(got.message == message, say(f"For {what}, Kimi's message was lost: yours says {got.message!r}.",
                                            f"对于{_zh(what)}，Kimi 给的错误信息丢了：你的错误里写的是 {got.message!r}。"))
        require(got.status == status and got.type == kind and got.request_id == "req-42",
                say(f"For {what} the error should keep the status ({status}), Kimi's type ({kind!r}) and the request id "
                    f"it was given; yours has {got.status!r}, {got.type!r}, {got.request_id!r}.",
                    f"对于{_zh(what)}，错误应该保留状态码（{status}）、Kimi 的类型（{kind!r}）和传给它的请求 id；"
                    f"你的是 {got.status!r}、{got.type!r}、{got.request_id!r}。"))
        require(not is_blank(got.retry_after), BLANKS)
        if wait is not None and got.retry_after is None:
            where = say("its Retry-After header", "Retry-After 响应头里") if headers.get("Retry-After") \
                else say("its message", "message 里")
            require(False, say(f"For {what} Kimi asked to wait {wait:g} s ({where.en}), but yours has retry_after=None. "
                               "retry_after_seconds(message, headers) reads both.",
                               f"对于{_zh(what)}，Kimi 要求等待 {wait:g} 秒（写在 {where.zh}），但你的 retry_after=None。"
                               "retry_after_seconds(message, headers) 两处都会读。"))
        require(got.retry_after == wait,
                say(f"For {what} the wait should be {wait!r} seconds; yours is {got.retry_after!r}.",
                    f"对于{_zh(what)}，等待时间应该是 {wait!r} 秒；你的是 {got.retry_after!r}。"))
    return say("Thirteen error answers, thirteen right classes, each with Kimi's message, its type, the request id and "
               "the wait it named. Lesson 10 puts this function into errors.py.",
               "13 个错误响应，13 个正确的类，每个都带着 Kimi 的 message、它的类型、请求 id 和它指定的等待时间。"
               "第 10 课会把这个函数放进 errors.py。")


def _retry_errors(errors: Any) -> dict[str, Any]:
    return {
        "a busy engine": errors.EngineOverloaded("The engine is currently overloaded", status=429,
                                                 type="engine_overloaded_error"),
        "a rate limit that asks for 3 s": errors.RateLimited("... please try again after 3 seconds", status=429,
                                                             type="rate_limit_reached_error", retry_after=3.0),
        "a used-up balance": errors.QuotaExceeded("You exceeded your current token quota", status=429,
                                                  type="exceeded_current_quota_error"),
        "a wrong key": errors.AuthenticationFailed("Invalid Authentication", status=401,
                                                   type="invalid_authentication_error"),
        "a rate limit that asks for 120 s": errors.RateLimited("... please try again after 120 seconds", status=429,
                                                               type="rate_limit_reached_error", retry_after=120.0),
        "a 500": errors.ServerError("unexpected output", status=500, type="unexpected_output"),
    }


@exercise("09.2", hints=[
    say("should_retry: `not error.retryable` covers rule 1, and `attempt >= self.max_attempts` means none are left. Then "
        "retry unless Kimi named a wait longer than max_delay.",
        "should_retry：`not error.retryable` 对应规则 1，`attempt >= self.max_attempts` 表示尝试次数已经用完。"
        "其余情况都重试，除非 Kimi 指定的等待时间比 max_delay 还长。"),
    say("delay: `wait = error.retry_after` when Kimi said; else `min(self.base_delay * 2 ** (attempt - 1), "
        "self.max_delay)`: after attempt 1 that is base_delay itself.",
        "delay：Kimi 说了等多久，就 `wait = error.retry_after`；否则用 `min(self.base_delay * 2 ** (attempt - 1), "
        "self.max_delay)`：第 1 次尝试之后，它正好是 base_delay 本身。"),
    code(
        "import random",
        "import time",
        "from dataclasses import dataclass",
        "from typing import Callable",
        "",
        "from kimi_client.errors import KimiError",
        "",
        "",
        "@dataclass",
        "class RetryPolicy:",
        "    max_attempts: int = 4          # the first try and up to three more",
        "    base_delay: float = 1.0        # the first wait when Kimi doesn't say; it doubles each time",
        "    max_delay: float = 60.0        # longest wait; asked to wait longer, give up instead",
        "    jitter: bool = True            # add up to 25% at random, so many clients don't retry in step",
        "    sleep: Callable[[float], None] = time.sleep   # tests pass a fake that records the waits",
        "",
        "    def should_retry(self, error: KimiError, attempt: int) -> bool:",
        '        """Try again after failed attempt number `attempt` (1, 2, ...)?"""',
        "        if not error.retryable or attempt >= self.max_attempts:   # can't succeed, or no attempts left",
        "            return False",
        "        return error.retry_after is None or error.retry_after <= self.max_delay   # Kimi named no wait, or one we are willing to make",
        "",
        "    def delay(self, error: KimiError, attempt: int) -> float:",
        '        """Seconds to wait before the next attempt: as long as Kimi asked, else 1, 2, 4, ... × base_delay."""',
        "        if error.retry_after is not None:",
        "            wait = error.retry_after                           # never sooner than Kimi said",
        "        else:",
        "            wait = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)   # base_delay, doubled for each attempt after the first",
        "        if self.jitter:",
        "            wait *= 1 + random.random() / 4",
        "        return wait",
    ),
])
def _(RetryPolicy: Any):  # noqa: N803 - the name the learner's class has
    require(isinstance(RetryPolicy, type), say("RetryPolicy should be the class defined in the exercise cell.",
                                               "RetryPolicy 应该是练习单元格里定义的那个类。"))
    require(not _blanks_left("09.2", RetryPolicy.should_retry) and not _blanks_left("09.2", RetryPolicy.delay), BLANKS)
    errors = _errors()
    cases = _retry_errors(errors)

    def policy(**settings: Any) -> Any:
        quiet = {"jitter": False, "sleep": lambda seconds: None}   # no randomness, no real waits; settings win
        try:
            return RetryPolicy(**{**quiet, **settings})
        except TypeError as exc:
            require(False, say(f"RetryPolicy({', '.join(settings) or 'jitter=False'}) failed ({exc}): keep its fields "
                               "max_attempts, base_delay, max_delay, jitter and sleep as the cell has them.",
                               f"RetryPolicy({', '.join(settings) or 'jitter=False'}) 创建失败（{exc}）：保留单元格里原有的"
                               "字段 max_attempts、base_delay、max_delay、jitter 和 sleep。"))

    def ask(p: Any, method: str, what: str, attempt: int) -> Any:
        try:
            return getattr(p, method)(cases[what], attempt)
        except Exception as exc:  # noqa: BLE001
            require(False, say(f"{method}() for {what} after attempt {attempt} raised {type(exc).__name__}: {exc}",
                               f"对于{_zh(what)}，第 {attempt} 次尝试之后调用 {method}() 抛出了 "
                               f"{type(exc).__name__}：{exc}"))

    p = policy()
    require(not any(is_blank(ask(p, "delay", what, 1)) for what in ["a busy engine", "a rate limit that asks for 3 s"]),
            BLANKS)
    for what in ["a used-up balance", "a wrong key"]:
        require(ask(p, "should_retry", what, 1) is False,
                say(f"should_retry said yes to {what} ({type(cases[what]).__name__}, retryable=False): that request can "
                    "never succeed, so rule 1 says raise it at once.",
                    f"对于{_zh(what)}（{type(cases[what]).__name__}，retryable=False），should_retry 说要重试：这个请求"
                    "永远不可能成功，按规则 1 应该立刻抛出。"))
    for attempt in (1, 2, 3):
        answer = ask(p, "should_retry", "a busy engine", attempt)
        require(isinstance(answer, bool), say(f"should_retry should return True or False, not {answer!r}.",
                                              f"should_retry 应该返回 True 或 False，而不是 {answer!r}。"))
        require(answer, say(f"After attempt {attempt} of max_attempts=4 a busy engine should be tried again; yours "
                            "says no.",
                            f"max_attempts=4 时，第 {attempt} 次尝试之后遇到引擎过载应该再试一次；你的却说不。")
                + (say(" Look at how you compare attempt with max_attempts.", "看看你是怎么比较 attempt 和 max_attempts 的。")
                   if attempt == 3 else ""))
    require(ask(p, "should_retry", "a busy engine", 4) is False,
            say("After attempt 4 of max_attempts=4 there are no attempts left, but yours says try again: a fifth attempt. "
                "Compare with >=.",
                "max_attempts=4 时，第 4 次尝试之后已经没有剩余次数了，你的却说再试一次：那就成了第 5 次尝试。"
                "用 >= 来比较。"))
    require(ask(policy(max_attempts=2), "should_retry", "a busy engine", 2) is False,
            say("With max_attempts=2, after attempt 2 yours still says try again.",
                "max_attempts=2 时，第 2 次尝试之后你的仍然说再试一次。"))
    require(ask(p, "should_retry", "a 500", 1) is True, say("A 500 is retryable, but yours says not to try again.",
                                                            "500 错误是可重试的，你的却说不要再试。"))
    require(ask(p, "should_retry", "a rate limit that asks for 3 s", 1) is True,
            say("A rate limit that asks for 3 seconds (less than max_delay, 60) should be tried again; yours says no.",
                "要求等待 3 秒的限流（少于 max_delay，即 60 秒）应该重试；你的却说不。"))
    require(ask(p, "should_retry", "a rate limit that asks for 120 s", 1) is False,
            say("Kimi asked for 120 seconds, more than max_delay (60): rule 4 says give up instead of retrying early, "
                "but yours says try again.",
                "Kimi 要求等待 120 秒，超过了 max_delay（60）：按规则 4 应该放弃，而不是提前重试，你的却说再试一次。"))
    for attempt, want in [(1, 1.0), (2, 2.0), (3, 4.0)]:
        wait = ask(p, "delay", "a busy engine", attempt)
        require(isinstance(wait, (int, float)) and not isinstance(wait, bool),
                say(f"delay should return a number of seconds, not {wait!r}.",
                    f"delay 应该返回等待的秒数（一个数字），而不是 {wait!r}。"))
        if attempt == 1 and wait == 2.0:
            require(False, say("After attempt 1 the wait should be base_delay itself (1 s); yours waits 2 s, a doubling "
                               "too many: base_delay * 2 ** (attempt - 1).",
                               "第 1 次尝试之后，等待时间应该就是 base_delay 本身（1 秒）；你的等了 2 秒，多翻了一倍："
                               "应为 base_delay * 2 ** (attempt - 1)。"))
        require(wait == want, say(f"With Kimi naming no wait, the waits should be 1, 2, 4 s (base_delay doubling); after "
                                  f"attempt {attempt} yours is {wait!r}.",
                                  f"Kimi 没有指定等待时间时，等待应该依次是 1、2、4 秒（base_delay 逐次翻倍）；"
                                  f"第 {attempt} 次尝试之后你的是 {wait!r}。"))
    for attempt in (1, 2, 3):
        wait = ask(p, "delay", "a rate limit that asks for 3 s", attempt)
        require(wait == 3.0, say(f"Kimi asked for 3 seconds; after attempt {attempt} yours waits {wait!r}. Wait exactly "
                                 "as long as Kimi said: never sooner, and no need for longer.",
                                 f"Kimi 要求等待 3 秒；第 {attempt} 次尝试之后你的等待是 {wait!r}。Kimi 说等多久就等多久："
                                 "不能更早，也不必更久。"))
    capped = [ask(policy(base_delay=10, max_delay=25), "delay", "a busy engine", n) for n in (1, 2, 3)]
    require(capped == [10, 20, 25], say(f"With base_delay=10 and max_delay=25 the waits should be 10, 20, 25 (never more "
                                        f"than max_delay); yours are {capped}.",
                                        f"base_delay=10、max_delay=25 时，等待应该是 10、20、25（永远不超过 max_delay）；"
                                        f"你的是 {capped}。"))
    jittered = policy(jitter=True)
    for _ in range(50):
        wait = ask(jittered, "delay", "a rate limit that asks for 3 s", 1)
        require(3.0 <= wait <= 3.75, say(f"With jitter, a 3 s wait should become 3 to 3.75 s (never less); yours gave "
                                         f"{wait:.2f}.",
                                         f"加上 jitter（随机抖动）后，3 秒的等待应该变成 3 到 3.75 秒（不能更短）；"
                                         f"你的给出了 {wait:.2f}。"))
    return say("Your policy retries only what can succeed, never sooner than Kimi asks, backs off 1, 2, 4 s otherwise, "
               "and stops after four attempts. Lesson 10 gives it a file of its own: retries.py.",
               "你的策略只重试有可能成功的请求，从不早于 Kimi 要求的时间；Kimi 没说时按 1、2、4 秒退避；"
               "最多尝试四次。第 10 课会给它单独一个文件：retries.py。")


class _HeldBackStream:
    """A stream made here, read one line at a time: it notes how many lines had been read when each piece came out."""

    def __init__(self, pieces: list[str], done: bool = True) -> None:
        self.lines: list[bytes] = []
        for piece in pieces:
            event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.lines += [b"data: " + json.dumps(event, ensure_ascii=False).encode(), b""]
        if done:
            self.lines += [b"data: [DONE]", b""]
        self.read = 0
        self.headers = {"Msh-Request-Id": "req-made-here"}
        self.closed = False

    def iter_lines(self) -> Iterator[bytes]:
        for line in self.lines:
            self.read += 1
            yield line

    def __enter__(self) -> _HeldBackStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


def _cut_response(text: str) -> Any:
    """A requests.Response whose stream sends `text` in one event and then just ends: no [DONE], no error."""
    import requests

    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "text/event-stream"
    response.headers["Msh-Request-Id"] = "req-cut"
    event = {"choices": [{"index": 0, "delta": {"content": text}}]}
    response.raw = io.BytesIO(b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n")
    return response


@exercise("09.3", hints=[
    say("Three blanks: the text so far is the pieces in `received` joined together; each piece is kept (append) and "
        "handed on (yield); and when the loop ends without [DONE], raise broken(...) with a message that says so.",
        "三个空白：目前为止的文本，就是把 `received` 里的片段拼接起来；每个片段既要保存（append），也要交给调用方"
        "（yield）；循环结束了却没遇到 [DONE] 时，raise broken(...)，并用一句 message 说明这一点。"),
    say("`partial=\"\".join(received)`; `received.append(piece)` then `yield piece`; and at the end "
        "`raise broken(\"the stream ended without [DONE]\")`.",
        "`partial=\"\".join(received)`；先 `received.append(piece)`，再 `yield piece`；最后 "
        "`raise broken(\"the stream ended without [DONE]\")`。"),
    code(
        "from kimi_client.errors import StreamBroken",
        "",
        "",
        "def read_text(response):",
        '    """Yield the answer\'s text as it arrives. If the stream stops before [DONE] (an error event,',
        '    a dropped connection, a silent end), raise StreamBroken with the text so far in .partial."""',
        '    request_id = response.headers.get("Msh-Request-Id")',
        "    received = []",
        "",
        "    def broken(message, kind=None):",
        '        return StreamBroken(message, partial="".join(received), type=kind, request_id=request_id)   # the text so far',
        "",
        "    with response:                          # closes the connection however we leave",
        "        try:",
        "            for event in sse_events(response.iter_lines()):",
        '                if event == "[DONE]":',
        "                    return",
        '                if "error" in event:        # Kimi can end a stream with an error instead of [DONE]',
        '                    error = event["error"]',
        "                    raise broken(f\"the stream stopped with an error: {error.get('message')}\", error.get(\"type\"))",
        '                for choice in event.get("choices", []):',
        '                    piece = (choice.get("delta") or {}).get("content")',
        "                    if piece:",
        "                        received.append(piece)   # keep the piece, and hand it to the caller",
        "                        yield piece",
        "        except requests.RequestException as exc:",
        '            raise broken(f"the connection dropped mid-stream ({exc.__class__.__name__})") from None',
        '    raise broken("the stream ended without [DONE]")   # the stream just ended, without [DONE]',
    ),
])
def _(read_text: Callable[[Any], Any]):
    require(callable(read_text), say("read_text should be the function defined in the exercise cell.",
                                     "read_text 应该是练习单元格里定义的那个函数。"))
    require(not _blanks_left("09.3", read_text), BLANKS)
    errors = _errors()
    from helpers import fault_base_url

    base_url, key, model = _settings()
    body = {"model": model, "messages": QUESTION, "stream": True}

    def read(response: Any, what: str) -> tuple[list[Any], BaseException | None]:
        pieces: list[Any] = []
        try:
            result = read_text(response)
            require(result is not None and hasattr(result, "__iter__"),
                    say(f"read_text returned {result!r} for {what}: it should hand on the pieces as they arrive, with "
                        "`yield piece`.",
                        f"对于{_zh(what)}，read_text 返回了 {result!r}：它应该用 `yield piece`，"
                        "在每个片段到达时就把它交出去。"))
            for piece in result:
                pieces.append(piece)
        except errors.StreamBroken as exc:
            require(not is_blank(exc.partial), BLANKS)
            return pieces, exc
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "NotYet":
                raise
            if "BaseException" in str(exc):
                require(False, BLANKS)
            return pieces, exc
        return pieces, None

    pieces, raised = read(_post(base_url, body, key, stream=True), "a good stream")
    require(raised is None, say(f"A good stream, which ends with [DONE], raised {type(raised).__name__}: {raised}",
                                f"以 [DONE] 结束的正常流式响应，却抛出了 {type(raised).__name__}：{raised}"))
    require(pieces and all(isinstance(p, str) for p in pieces),
            say(f"For a good stream read_text gave {pieces!r}: it should yield the answer's pieces of text.",
                f"对于正常的流式响应，read_text 给出的是 {pieces!r}：它应该把回答的文本片段一个个 yield 出来。"))
    require(len(pieces) > 1, say("read_text gave the whole answer as one piece: yield each piece as it arrives.",
                                 "read_text 把整个回答当作一个片段交了出来：每个片段一到就 yield 出去。"))
    whole = "".join(pieces)
    require("百度" in whole, say(f"The pieces of a good stream should add up to the answer; yours: {whole!r}",
                               f"正常流式响应的各个片段拼起来应该就是回答；你的是：{whole!r}"))

    held = _HeldBackStream(["百度", "指数", "是什么"])
    first_at = None
    for _piece in read_text(held):
        if first_at is None:
            first_at = held.read
    require(first_at is not None and first_at <= 2,
            say("read_text held the pieces back until the stream had ended: the first piece should reach the caller as "
                "soon as its line has arrived (yield each piece in the loop).",
                "read_text 把片段一直压到流结束才交出来：第一个片段所在的那一行一到，它就应该交给调用方"
                "（在循环里 yield 每个片段）。"))
    require(held.closed, say("read_text didn't close the stream's response: keep the `with response:` around the loop.",
                             "read_text 没有关闭流式响应：保留套在循环外面的 `with response:`。"))

    for fault, what, kind in [("stream_error", "a stream that ends with an error event", "engine_overloaded_error"),
                              ("disconnect", "a stream whose connection drops", None)]:
        pieces, raised = read(_post(fault_base_url(fault), body, key, stream=True), what)
        require(raised is not None, say(f"For {what}, read_text ended quietly with {''.join(pieces)!r}, half an answer "
                                        "passed off as a whole one. Raise StreamBroken.",
                                        f"对于{_zh(what)}，read_text 拿着 {''.join(pieces)!r} 悄悄结束了，"
                                        "把半个回答当成了完整的回答。应该抛出 StreamBroken。"))
        require(isinstance(raised, errors.StreamBroken),
                say(f"For {what}, read_text raised {type(raised).__name__} ({raised}); raise StreamBroken, so the "
                    "caller has one exception to catch for every cut-off answer.",
                    f"对于{_zh(what)}，read_text 抛出了 {type(raised).__name__}（{raised}）；应该抛出 StreamBroken，"
                    "这样调用方只要捕获这一种异常，就能处理所有被截断的回答。"))
        broken: Any = raised
        require(pieces and broken.partial == "".join(pieces),
                say(f"For {what}, .partial should hold the text that had arrived, {''.join(pieces)!r}; yours holds "
                    f"{broken.partial!r}.",
                    f"对于{_zh(what)}，.partial 应该保存已经收到的文本 {''.join(pieces)!r}；你的是 "
                    f"{broken.partial!r}。"))
        if kind:
            require(broken.type == kind, say(f"For {what}, StreamBroken should keep Kimi's error type ({kind!r}); "
                                             f"yours has {broken.type!r}.",
                                             f"对于{_zh(what)}，StreamBroken 应该保留 Kimi 的错误类型（{kind!r}）；"
                                             f"你的是 {broken.type!r}。"))

    pieces, raised = read(_cut_response("百度指数是"), "a stream that just ends")
    require(raised is not None, say("A stream that just ended, with no [DONE] and no error, passed as a whole answer. "
                                    "When the loop ends without [DONE], raise StreamBroken.",
                                    "一个直接结束、既没有 [DONE] 也没有错误的流式响应，被当成完整的回答通过了。"
                                    "循环结束了却没遇到 [DONE] 时，应该抛出 StreamBroken。"))
    require(isinstance(raised, errors.StreamBroken) and raised.partial == "百度指数是",
            say(f"A stream that just ends should raise StreamBroken with the text so far ('百度指数是') in .partial; "
                f"yours raised {type(raised).__name__}: {raised}",
                f"直接结束的流式响应应该抛出 StreamBroken，并把目前为止的文本（'百度指数是'）放进 .partial；"
                f"你的抛出了 {type(raised).__name__}：{raised}"))
    return say("Your reader hands each piece on as it arrives and never passes a cut-off answer off as a whole one: an "
               "error event, a dropped connection and a silent end all raise StreamBroken, with the text so far. "
               "Lesson 10 adds it to streaming.py.",
               "你的读取函数在每个片段到达时就把它交出去，也从不把被截断的回答当成完整的回答：错误事件、连接断开、"
               "悄无声息的结束，都会抛出 StreamBroken，并带上目前为止的文本。第 10 课会把它加进 streaming.py。")
