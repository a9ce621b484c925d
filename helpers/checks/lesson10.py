"""Checkers for notebooks/10_test_and_use_your_client.ipynb.

10.1 and 10.3 drive the learner's code with clients built from the notebook's own module
(workspace/kimi_client, importable once the notebook has written it) and read what the local
server received to see which requests went out.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from helpers.checks import code, exercise, require, say

KEYWORDS = ["人工智能", "高考志愿", "世界杯", "基金定投"]
LABELS = {"人工智能": "科技", "高考志愿": "教育", "世界杯": "体育", "基金定投": "财经"}
BLANKS = say("Replace every ... with your answer first.", "先把每个 ... 换成你的答案。")


def _module():
    """The notebook's kimi_client, or friendly feedback if it hasn't been written yet."""
    try:
        from kimi_client.client import KimiClient
        from kimi_client.config import Config
        from kimi_client import errors
        from kimi_client.retries import RetryPolicy
    except ImportError as exc:
        require(False, say(f"kimi_client can't be imported ({exc}). Run the notebook's cells from the top first: "
                           "sections 1 and 2 write it into workspace/.",
                           f"kimi_client 还导入不了（{exc}）。先从头运行笔记本的单元格：第 1、2 节会把它写进 "
                           "workspace/。"))
    return KimiClient, Config, errors, RetryPolicy


def _client(base_url: str | None = None, attempts: int = 4, **settings: Any):
    KimiClient, Config, _, RetryPolicy = _module()
    if base_url is not None:
        settings["base_url"] = base_url
    return KimiClient(Config.from_env(**settings),
                      RetryPolicy(max_attempts=attempts, base_delay=0.05, jitter=False, sleep=lambda seconds: None))


@contextmanager
def _quiet_client_log() -> Iterator[None]:
    """Keep the client's retry messages out of the check cell's output."""
    logger = logging.getLogger("kimi_client")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def _log_mark() -> int:
    from helpers import request_log
    entries = request_log()
    return entries[-1]["n"] if entries else 0


def _sent_since(mark: int) -> list[dict[str, Any]]:
    from helpers import request_log
    return [e for e in request_log() if e["n"] > mark and e["path"].endswith("/chat/completions")]


def _missing_name(exercise_id: str, exc: BaseException) -> None:
    """A NameError inside the learner's function (after a kernel restart, most often): say which cells to run."""
    if not isinstance(exc, NameError):
        return
    from helpers.checks import learner
    from helpers.checks.prerequisites import name_error_advice

    advice = name_error_advice(learner.exercise_cell(exercise_id) or f"# Exercise {exercise_id}", exc,
                               learner.namespace())
    require(False, say(f"Your function uses {getattr(exc, 'name', None) or 'a name'}, which this kernel doesn't have "
                       f"(after a restart?). {advice or 'Run the cells above it first, top to bottom.'}",
                       f"你的函数用到了 {getattr(exc, 'name', None) or '一个名字'}，可这个内核里没有它（是不是重启过？）。"
                       f"{advice or '先从上到下运行它上面的单元格。'}"))


def _mentions_blank(exc: BaseException) -> bool:
    return "ellipsis" in str(exc).lower()


@exercise("10.1", hints=[
    say("The local server's faults (fault_base_url) make Kimi fail on purpose: find the one that answers 500.",
        "本地服务器的模拟故障（fault_base_url）会让 Kimi 故意出错：找出返回 500 的那一个。"),
    say("The fault is \"server_error\", and times=1 makes it fail once and then answer. A request that failed "
        "once and then succeeded took two attempts: reply.attempts.",
        "这个故障是 \"server_error\"，times=1 让它只失败一次，之后正常回答。失败一次再成功的请求，"
        "一共尝试了两次：reply.attempts。"),
    code(
        'def check_server_error_is_retried(make_client):',
        '    client = make_client(fault_base_url("server_error", times=1))   # which fault, and how many requests it fails',
        '    reply = client.chat(BAIDU_QUESTION)',
        '    assert reply.attempts == 2                                      # how many requests that took',
    ),
])
def _(check_server_error_is_retried: Callable[[Callable[[str], Any]], None]):
    require(callable(check_server_error_is_retried),
            say("check_server_error_is_retried should be the function defined in the exercise cell.",
                "check_server_error_is_retried 应该是练习单元格里定义的那个函数。"))
    _module()
    with _quiet_client_log():
        mark = _log_mark()
        try:
            check_server_error_is_retried(lambda base_url: _client(base_url))
        except AssertionError as exc:
            require(False, say("Your test fails against a client that works"
                               + (f" ({exc})" if str(exc) else "") + ". How many requests does one 500 and then "
                               "an answer take?",
                               "换成一个正常工作的客户端，你的测试却失败了" + (f"（{exc}）" if str(exc) else "")
                               + "。先来一次 500、再来一次正常回答，一共要几个请求？"))
        except Exception as exc:  # noqa: BLE001 - any error in the learner's test is feedback
            require(not _mentions_blank(exc), BLANKS)
            _missing_name("10.1", exc)
            if type(exc).__name__ == "ServerError":
                require(False, say("The 500 never stopped, so even a client that retries gave up. Pass times=1 so the "
                                   "fault fails only the first request.",
                                   "500 一直没停，所以连会重试的客户端也放弃了。传入 times=1，让这个故障只让第一个"
                                   "请求失败。"))
            require(False, say(f"Your test raised {type(exc).__name__}: {exc}",
                               f"你的测试抛出了 {type(exc).__name__}：{exc}"))
        met = [e for e in _sent_since(mark) if e.get("simulated")]
        require(met, say("Your test never sent its request through a fault: build the client with fault_base_url(...).",
                         "你的测试发出的请求一次也没经过模拟故障：用 fault_base_url(...) 来构造客户端。"))
        require(all(e["simulated"] == "server_error" for e in met),
                say(f"Your test used the {met[0]['simulated']!r} fault; this exercise is about a 500: \"server_error\".",
                    f"你的测试用的是 {met[0]['simulated']!r} 故障；这道练习讲的是 500：\"server_error\"。"))
        try:
            check_server_error_is_retried(lambda base_url: _client(base_url, attempts=1))
            caught = False
        except Exception:  # noqa: BLE001 - the test failing is what we want here
            caught = True
    require(caught, say("Your test also passes with a client that never retries, so it would not catch that bug. "
                        "Assert on reply.attempts.",
                        "换成一个从不重试的客户端，你的测试照样通过，所以它抓不到这个 bug。"
                        "要对 reply.attempts 做断言。"))
    return say("It passes with the real client and fails with one that never retries: a test that can catch the "
               "bug it is named after. Such a test belongs in workspace/test_kimi_client.py.",
               "它在真正的客户端上通过，在从不重试的客户端上失败：这个测试真能抓住它名字里说的那个 bug。"
               "这样的测试应该放进 workspace/test_kimi_client.py。")


def _history(system: bool = True, turns: int = 3) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "你是一个数据分析助手。"}] if system else []
    for n in range(1, turns + 1):
        messages += [{"role": "user", "content": f"问题{n}"}, {"role": "assistant", "content": f"回答{n}"}]
    return messages


def _short(messages: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in messages]


@exercise("10.2", hints=[
    say("Each exchange is two messages, a question and its answer.",
        "每一轮对话是两条消息：一个问题和它的回答。"),
    say("max_turns exchanges are 2 * max_turns messages, but never more than the history has: len(exchanges).",
        "max_turns 轮对话就是 2 * max_turns 条消息，但不能超过对话历史实际有的条数：len(exchanges)。"),
    code(
        'def keep_recent(messages, max_turns):',
        '    system = [m for m in messages if m["role"] == "system"]',
        '    exchanges = [m for m in messages if m["role"] != "system"]    # question, answer, question, answer, ...',
        '    keep = min(2 * max_turns, len(exchanges))                     # how many messages of `exchanges` to keep',
        '    return system + exchanges[len(exchanges) - keep:]',
    ),
])
def _(keep_recent: Callable[[list, int], list]):
    require(callable(keep_recent), say("keep_recent should be the function defined in the exercise cell.",
                                       "keep_recent 应该是练习单元格里定义的那个函数。"))
    history = _history()
    copy = [dict(m) for m in history]

    def run(messages, max_turns):
        try:
            return keep_recent(messages, max_turns)
        except Exception as exc:  # noqa: BLE001
            require(not _mentions_blank(exc), BLANKS)
            require(False, say(f"keep_recent(history, {max_turns}) raised {type(exc).__name__}: {exc}",
                               f"keep_recent(history, {max_turns}) 抛出了 {type(exc).__name__}：{exc}"))

    two = run(history, 2)
    require(isinstance(two, list), say(f"keep_recent should return a list of messages, not {type(two).__name__}.",
                                       f"keep_recent 应该返回一个消息列表，而不是 {type(two).__name__}。"))
    require(history == copy, say("keep_recent changed the history it was given. Build a new list instead.",
                                 "keep_recent 改动了传给它的对话历史。应该另建一个新列表。"))
    require(two == [history[0]] + history[3:],
            say(f"For a system message and 3 exchanges, keep_recent(history, 2) should keep the system message and the "
                f"last 2 exchanges: {_short([history[0]] + history[3:])}. Yours: {_short(two)}",
                f"对话历史是一条系统消息加 3 轮对话时，keep_recent(history, 2) 应该保留系统消息和最后 2 轮："
                f"{_short([history[0]] + history[3:])}。你的结果：{_short(two)}"))
    everything = run(history, 5)
    require(everything == history,
            say(f"Asked for 5 exchanges when the history has only 3, keep all of it. Yours kept {_short(everything)}",
                f"要保留 5 轮、而对话历史只有 3 轮时，应该全部保留。你的保留了 {_short(everything)}"))
    none = run(history, 0)
    require(none == [history[0]],
            say(f"With max_turns=0 only the system message should remain. Yours kept {_short(none)}",
                f"max_turns=0 时应该只剩下系统消息。你的保留了 {_short(none)}"))
    bare = _history(system=False, turns=2)
    require(run(bare, 1) == bare[2:], say("Without a system message, keep_recent(history, 1) should keep only the last "
                                          "exchange.",
                                          "没有系统消息时，keep_recent(history, 1) 应该只保留最后一轮对话。"))
    return say("Each request now costs at most the system message plus a few exchanges, however long the "
               "conversation runs (07 showed how cost grows otherwise). The price: the model forgets older turns.",
               "现在不管对话进行多久，每个请求最多只花系统消息加几轮对话的钱（第 07 课展示过，不这样做费用会怎样增长）。"
               "代价是：模型会忘掉更早的对话。")


@exercise("10.3", hints=[
    say("results holds what an earlier run labelled. Of the client's exception classes, only two mean that no "
        "later keyword can succeed.",
        "results 里存的是之前的运行已经标注好的结果。客户端的异常类里，只有两个意味着后面的关键词也都不可能成功。"),
    say("`if keyword in results:` skips the done ones. A used-up balance (QuotaExceeded) and a wrong key "
        "(AuthenticationFailed) stop the run: except (QuotaExceeded, AuthenticationFailed):",
        "`if keyword in results:` 跳过已经做完的。余额用完（QuotaExceeded）和 API 密钥错误（AuthenticationFailed）"
        "要让整个运行停下：except (QuotaExceeded, AuthenticationFailed):"),
    code(
        'def label_keywords(keywords, client, results):',
        '    """Label each keyword not yet in results (keyword -> label); return the keywords that failed."""',
        '    failed = []',
        '    for keyword in keywords:',
        '        if keyword in results:                    # labelled in an earlier run? skip it: no request, no cost',
        '            continue',
        '        try:',
        '            reply = client.chat([{"role": "user", "content": LABEL_PROMPT + keyword}])',
        '        except (QuotaExceeded, AuthenticationFailed):   # errors every later keyword would meet too: stop the run',
        '            raise',
        '        except KimiError:                         # only this keyword failed: note it and go on',
        '            failed.append(keyword)',
        '            continue',
        '        results[keyword] = reply.text.strip()',
        '    return failed',
    ),
])
def _(label_keywords: Callable[..., list]):
    require(callable(label_keywords), say("label_keywords should be the function defined in the exercise cell.",
                                          "label_keywords 应该是练习单元格里定义的那个函数。"))
    KimiClient, Config, errors, RetryPolicy = _module()
    from helpers import fault_base_url

    def run(client, results):
        mark = _log_mark()
        try:
            failed = label_keywords(list(KEYWORDS), client, results)
            raised = None
        except Exception as exc:  # noqa: BLE001
            require(not _mentions_blank(exc) and "do not inherit from BaseException" not in str(exc), BLANKS)
            _missing_name("10.3", exc)
            failed, raised = None, exc
        sent = [next((k for k in KEYWORDS if e["body"]["messages"][-1]["content"].endswith(k)), "?")
                for e in _sent_since(mark) if isinstance(e.get("body"), dict)]
        return failed, raised, sent

    with _quiet_client_log():
        # 1. A re-run after 人工智能 was labelled: three requests, all labelled.
        results = {"人工智能": "科技"}
        failed, raised, sent = run(_client(), results)
        require(raised is None, say(f"With nothing wrong, label_keywords raised {type(raised).__name__}: {raised}",
                                    f"什么问题都没有，label_keywords 却抛出了 {type(raised).__name__}：{raised}"))
        require(sent, say("No request was sent: the skip condition is true for every keyword. Skip only the keywords "
                          "already in results.",
                          "一个请求都没有发出：跳过的条件对每个关键词都成立。只跳过 results 里已经有的关键词。"))
        require("人工智能" not in sent, say("It sent 人工智能 again though results already had it: a re-run would pay for "
                                          "every row twice.",
                                          "results 里已经有 人工智能 了，它却又发了一次请求：这样每重新运行一次，"
                                          "每一行都要再付一次钱。"))
        require(results == LABELS and failed == [],
                say(f"After the run, results should hold all four labels and nothing should have failed. "
                    f"results={results}, failed={failed}",
                    f"运行结束后，results 里应该有全部四个标签，而且一个都没有失败。"
                    f"results={results}, failed={failed}"))
        # 2. One keyword meets a 500 (this client doesn't retry): note it and go on.
        results = {}
        failed, raised, sent = run(_client(fault_base_url("server_error", times=1), attempts=1), results)
        require(raised is None, say(f"A 500 on one keyword stopped the whole run ({type(raised).__name__}). Only that "
                                    "keyword failed: note it in failed and go on with the next.",
                                    f"一个关键词遇到 500，整个运行就停了（{type(raised).__name__}）。失败的只是这一个"
                                    "关键词：把它记进 failed，接着处理下一个。"))
        require(failed == ["人工智能"] and len(results) == 3,
                say(f"With a 500 on the first keyword only, failed should be ['人工智能'] and the other three labelled. "
                    f"failed={failed}, results={results}",
                    f"只有第一个关键词遇到 500 时，failed 应该是 ['人工智能']，其余三个都已标注。"
                    f"failed={failed}, results={results}"))
        # 3. The balance is used up: stop at once.
        failed, raised, sent = run(_client(fault_base_url("quota")), {})
        require(isinstance(raised, errors.QuotaExceeded),
                say(f"With the balance used up, the run went on ({len(sent)} requests) and every keyword failed. Let "
                    "QuotaExceeded stop the run at the first keyword.",
                    f"余额已经用完，运行却还在继续（{len(sent)} 个请求），每个关键词都失败了。让 QuotaExceeded "
                    "在第一个关键词处就停止运行。"))
        require(len(sent) == 1, say(f"With the balance used up it sent {len(sent)} requests; one is enough to know.",
                                    f"余额用完时它发了 {len(sent)} 个请求；其实一个就足以知道了。"))
        # 4. A wrong key: stop at once too.
        failed, raised, sent = run(_client(api_key="not-a-real-key"), {})
        require(isinstance(raised, errors.AuthenticationFailed),
                say(f"With a wrong key the run went on ({len(sent)} requests) and every keyword failed. Let "
                    "AuthenticationFailed stop the run too.",
                    f"API 密钥错误时运行还在继续（{len(sent)} 个请求），每个关键词都失败了。让 "
                    "AuthenticationFailed 也停止运行。"))
    return say("It resumes where it stopped, carries on past one bad row, and stops at once when no row can succeed. "
               "Give it section 5's file as its memory and it survives a crash too.",
               "它能从上次停下的地方接着做，遇到出错的一行会继续往下，而当哪一行都不可能成功时立刻停下。"
               "再把第 5 节的文件交给它当记忆，就连程序崩溃也挺得过去。")
