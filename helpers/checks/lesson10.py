"""Checkers for notebooks/10_test_and_use_your_client.ipynb.

10.1 and 10.3 drive the learner's code with clients built from the notebook's own module
(workspace/kimi_client, importable once the notebook has written it) and read what the local
server received to see which requests went out.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from helpers.checks import code, exercise, require

KEYWORDS = ["人工智能", "高考志愿", "世界杯", "基金定投"]
LABELS = {"人工智能": "科技", "高考志愿": "教育", "世界杯": "体育", "基金定投": "财经"}
BLANKS = "Replace every ... with your answer first."


def _module():
    """The notebook's kimi_client, or friendly feedback if it hasn't been written yet."""
    try:
        from kimi_client.client import KimiClient
        from kimi_client.config import Config
        from kimi_client import errors
        from kimi_client.retries import RetryPolicy
    except ImportError as exc:
        require(False, f"kimi_client can't be imported ({exc}). Run the notebook's cells from the top first: "
                       "sections 1 and 2 write it into workspace/.")
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
    require(False, f"Your function uses {getattr(exc, 'name', None) or 'a name'}, which this kernel doesn't have "
                   f"(after a restart?). {advice or 'Run the cells above it first, top to bottom.'}")


def _mentions_blank(exc: BaseException) -> bool:
    return "ellipsis" in str(exc).lower()


@exercise("10.1", hints=[
    "The local server's faults (fault_base_url) make Kimi fail on purpose: find the one that answers 500.",
    "The fault is \"server_error\", and times=1 makes it fail once and then answer. A request that failed "
    "once and then succeeded took two attempts: reply.attempts.",
    code(
        'def check_server_error_is_retried(make_client):',
        '    client = make_client(fault_base_url("server_error", times=1))   # which fault, and how many requests it fails',
        '    reply = client.chat(BAIDU_QUESTION)',
        '    assert reply.attempts == 2                                      # how many requests that took',
    ),
])
def _(check_server_error_is_retried: Callable[[Callable[[str], Any]], None]):
    require(callable(check_server_error_is_retried),
            "check_server_error_is_retried should be the function defined in the exercise cell.")
    _module()
    with _quiet_client_log():
        mark = _log_mark()
        try:
            check_server_error_is_retried(lambda base_url: _client(base_url))
        except AssertionError as exc:
            require(False, "Your test fails against a client that works"
                           + (f" ({exc})" if str(exc) else "") + ". How many requests does one 500 and then "
                           "an answer take?")
        except Exception as exc:  # noqa: BLE001 - any error in the learner's test is feedback
            require(not _mentions_blank(exc), BLANKS)
            _missing_name("10.1", exc)
            if type(exc).__name__ == "ServerError":
                require(False, "The 500 never stopped, so even a client that retries gave up. Pass times=1 so the "
                               "fault fails only the first request.")
            require(False, f"Your test raised {type(exc).__name__}: {exc}")
        met = [e for e in _sent_since(mark) if e.get("simulated")]
        require(met, "Your test never sent its request through a fault: build the client with fault_base_url(...).")
        require(all(e["simulated"] == "server_error" for e in met),
                f"Your test used the {met[0]['simulated']!r} fault; this exercise is about a 500: \"server_error\".")
        try:
            check_server_error_is_retried(lambda base_url: _client(base_url, attempts=1))
            caught = False
        except Exception:  # noqa: BLE001 - the test failing is what we want here
            caught = True
    require(caught, "Your test also passes with a client that never retries, so it would not catch that bug. "
                    "Assert on reply.attempts.")
    return ("It passes with the real client and fails with one that never retries: a test that can catch the "
            "bug it is named after. Such a test belongs in workspace/test_kimi_client.py.")


def _history(system: bool = True, turns: int = 3) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "你是一个数据分析助手。"}] if system else []
    for n in range(1, turns + 1):
        messages += [{"role": "user", "content": f"问题{n}"}, {"role": "assistant", "content": f"回答{n}"}]
    return messages


def _short(messages: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in messages]


@exercise("10.2", hints=[
    "Each exchange is two messages, a question and its answer.",
    "max_turns exchanges are 2 * max_turns messages, but never more than the history has: len(exchanges).",
    code(
        'def keep_recent(messages, max_turns):',
        '    system = [m for m in messages if m["role"] == "system"]',
        '    exchanges = [m for m in messages if m["role"] != "system"]    # question, answer, question, answer, ...',
        '    keep = min(2 * max_turns, len(exchanges))                     # how many messages of `exchanges` to keep',
        '    return system + exchanges[len(exchanges) - keep:]',
    ),
])
def _(keep_recent: Callable[[list, int], list]):
    require(callable(keep_recent), "keep_recent should be the function defined in the exercise cell.")
    history = _history()
    copy = [dict(m) for m in history]

    def run(messages, max_turns):
        try:
            return keep_recent(messages, max_turns)
        except Exception as exc:  # noqa: BLE001
            require(not _mentions_blank(exc), BLANKS)
            require(False, f"keep_recent(history, {max_turns}) raised {type(exc).__name__}: {exc}")

    two = run(history, 2)
    require(isinstance(two, list), f"keep_recent should return a list of messages, not {type(two).__name__}.")
    require(history == copy, "keep_recent changed the history it was given. Build a new list instead.")
    require(two == [history[0]] + history[3:],
            f"For a system message and 3 exchanges, keep_recent(history, 2) should keep the system message and the "
            f"last 2 exchanges: {_short([history[0]] + history[3:])}. Yours: {_short(two)}")
    everything = run(history, 5)
    require(everything == history,
            f"Asked for 5 exchanges when the history has only 3, keep all of it. Yours kept {_short(everything)}")
    none = run(history, 0)
    require(none == [history[0]],
            f"With max_turns=0 only the system message should remain. Yours kept {_short(none)}")
    bare = _history(system=False, turns=2)
    require(run(bare, 1) == bare[2:], "Without a system message, keep_recent(history, 1) should keep only the last "
                                      "exchange.")
    return ("Each request now costs at most the system message plus a few exchanges, however long the "
            "conversation runs (07 showed how cost grows otherwise). The price: the model forgets older turns.")


@exercise("10.3", hints=[
    "results holds what an earlier run labelled. Of the client's exception classes, only two mean that no "
    "later keyword can succeed.",
    "`if keyword in results:` skips the done ones. A used-up balance (QuotaExceeded) and a wrong key "
    "(AuthenticationFailed) stop the run: except (QuotaExceeded, AuthenticationFailed):",
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
    require(callable(label_keywords), "label_keywords should be the function defined in the exercise cell.")
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
        require(raised is None, f"With nothing wrong, label_keywords raised {type(raised).__name__}: {raised}")
        require(sent, "No request was sent: the skip condition is true for every keyword. Skip only the keywords "
                      "already in results.")
        require("人工智能" not in sent, "It sent 人工智能 again though results already had it: a re-run would pay for "
                                      "every row twice.")
        require(results == LABELS and failed == [],
                f"After the run, results should hold all four labels and nothing should have failed. "
                f"results={results}, failed={failed}")
        # 2. One keyword meets a 500 (this client doesn't retry): note it and go on.
        results = {}
        failed, raised, sent = run(_client(fault_base_url("server_error", times=1), attempts=1), results)
        require(raised is None, f"A 500 on one keyword stopped the whole run ({type(raised).__name__}). Only that "
                                "keyword failed: note it in failed and go on with the next.")
        require(failed == ["人工智能"] and len(results) == 3,
                f"With a 500 on the first keyword only, failed should be ['人工智能'] and the other three labelled. "
                f"failed={failed}, results={results}")
        # 3. The balance is used up: stop at once.
        failed, raised, sent = run(_client(fault_base_url("quota")), {})
        require(isinstance(raised, errors.QuotaExceeded),
                f"With the balance used up, the run went on ({len(sent)} requests) and every keyword failed. Let "
                "QuotaExceeded stop the run at the first keyword.")
        require(len(sent) == 1, f"With the balance used up it sent {len(sent)} requests; one is enough to know.")
        # 4. A wrong key: stop at once too.
        failed, raised, sent = run(_client(api_key="not-a-real-key"), {})
        require(isinstance(raised, errors.AuthenticationFailed),
                f"With a wrong key the run went on ({len(sent)} requests) and every keyword failed. Let "
                "AuthenticationFailed stop the run too.")
    return ("It resumes where it stopped, carries on past one bad row, and stops at once when no row can succeed. "
            "Give it section 5's file as its memory and it survives a crash too.")
