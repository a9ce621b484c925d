"""Checkers for notebooks/08_concurrency_rate_limits.ipynb."""
from __future__ import annotations

import os

from helpers.checks import NotYet, code, exercise, is_blank, require, say


def _fastest(n, rpm, concurrency, answer_seconds):
    starts = []
    for k in range(n):
        start = 0.0 if k == 0 else starts[k - 1] + 60 / rpm
        if k >= concurrency:
            start = max(start, starts[k - concurrency] + answer_seconds)
        starts.append(start)
    return starts[-1] + answer_seconds


def _variant(n, rpm, concurrency, answer_seconds, *, gap=None, wait_from=0, rpm_limit=True, concurrency_limit=True,
             after_answer=False, no_max=False):
    """fastest_batch_seconds as a learner might get it wrong: the rule changed in one way."""
    gap = 60 / rpm if gap is None else gap(rpm)
    starts = []
    for k in range(n):
        start = 0.0 if k == 0 else starts[k - 1] + (gap if rpm_limit else 0.0)
        if after_answer and k > 0:
            start = starts[k - 1] + answer_seconds
        if concurrency_limit and k >= concurrency + wait_from:
            waited = starts[k - concurrency] + answer_seconds
            start = waited if no_max else max(start, waited)
        starts.append(start)
    return starts[-1] + answer_seconds


# The likely mistakes, each as a variant of the rule and what to say when an answer behaves exactly like it.
_MISTAKES = [
    (dict(wait_from=1), say("Request k = concurrency has to wait too: `if k > concurrency` lets it start early. "
                            "Use `if k >= concurrency` (with concurrency 2, request 2 waits for request 0).",
                            "k = concurrency 的那个请求也得等：`if k > concurrency` 会让它提前开始。"
                            "请用 `if k >= concurrency`（concurrency 为 2 时，请求 2 要等请求 0）。")),
    (dict(gap=lambda rpm: rpm / 60), say("The gap between starts is 60 / rpm seconds (at 200 RPM, 0.3 s), not rpm / 60.",
                                         "相邻两个请求开始的间隔是 60 / rpm 秒（200 RPM 时是 0.3 s），不是 rpm / 60。")),
    (dict(gap=lambda rpm: 1 / rpm), say("rpm counts requests per minute: the gap between starts is 60 / rpm seconds, "
                                        "not 1 / rpm.",
                                        "rpm 是每分钟的请求数：相邻两个请求开始的间隔是 60 / rpm 秒，不是 1 / rpm。")),
    (dict(concurrency_limit=False), say("That's the RPM alone: once k >= concurrency, request k also waits until request "
                                        "k - concurrency is answered (starts[k - concurrency] + answer_seconds).",
                                        "这只考虑了 RPM：一旦 k >= concurrency，请求 k 还要等到请求 "
                                        "k - concurrency 收到回答（starts[k - concurrency] + answer_seconds）。")),
    (dict(rpm_limit=False), say("That's the concurrency limit alone: request k also can't start before "
                                "starts[k - 1] + 60 / rpm.",
                                "这只考虑了并发限制：请求 k 同样不能早于 starts[k - 1] + 60 / rpm 开始。")),
    (dict(no_max=True), say("Once k >= concurrency, request k has to wait for both limits: take the later of the two "
                            "times, max(start, starts[k - concurrency] + answer_seconds), instead of replacing start.",
                            "一旦 k >= concurrency，请求 k 就要同时满足两个限制：取两个时间中较晚的那个，"
                            "max(start, starts[k - concurrency] + answer_seconds)，而不是直接替换掉 start。")),
    (dict(after_answer=True, concurrency_limit=False), say("Each request waits for the one before to be answered: "
                                                           "that's one at a time. Requests may overlap, up to concurrency.",
                                                           "每个请求都等前一个收到回答才开始：这等于一次只发一个。"
                                                           "请求是可以重叠的，最多同时进行 concurrency 个。")),
]

# (arguments, what the case is about, what to say when the answer is too fast)
_CASES = [
    ((1, 200, 50, 2.0), say("a single request", "单个请求"),
     say("one request takes exactly as long as its answer.", "一个请求用的时间，正好就是它的回答所需的时间。")),
    ((50, 200, 50, 2.0), say("tier1 (200 RPM, 50 in flight), 2 s answers", "tier1（200 RPM，并发 50），回答耗时 2 s"),
     say("the 50th request can't start before 49 × 0.3 s.", "第 50 个请求不能早于 49 × 0.3 s 开始。")),
    ((50, 3, 1, 2.0), say("tier0 (3 RPM, 1 in flight), 2 s answers", "tier0（3 RPM，并发 1），回答耗时 2 s"),
     say("at 3 RPM a request may start only every 20 s.", "3 RPM 时，每 20 s 才能开始一个请求。")),
    ((50, 600, 2, 2.0), say("600 RPM but only 2 in flight, 2 s answers", "600 RPM 但并发只有 2，回答耗时 2 s"),
     say("with 2 requests in flight, request k must wait until request k-2 is answered.",
         "并发为 2 时，请求 k 必须等到请求 k-2 收到回答。")),
    ((10, 60, 3, 0.5), say("60 RPM, 3 in flight, 0.5 s answers", "60 RPM，并发 3，回答耗时 0.5 s"),
     say("requests may start only one per second.", "每秒最多只能开始一个请求。")),
    ((3, 600, 2, 2.0), say("3 requests, 600 RPM, 2 in flight, 2 s answers", "3 个请求，600 RPM，并发 2，回答耗时 2 s"),
     say("with 2 in flight, request 2 must wait until request 0 is answered at 2 s.",
         "并发为 2 时，请求 2 必须等到请求 0 在 2 s 时收到回答。")),
]


@exercise("08.1", hints=[
    say("Work out each start from the starts before it: each of the two limits gives an earliest time, and "
        "request k waits for the later one.",
        "每个开始时间都由它前面的开始时间推出来：两个限制各给出一个最早时间，请求 k 要等到其中较晚的那个。"),
    say("The RPM: starts[k - 1] + 60 / rpm (request 0 starts at 0). The concurrency: once k >= concurrency, "
        "starts[k - concurrency] + answer_seconds. Take the max of the two.",
        "RPM 限制：starts[k - 1] + 60 / rpm（请求 0 在 0 时刻开始）。并发限制：一旦 k >= concurrency，"
        "就是 starts[k - concurrency] + answer_seconds。两者取 max。"),
    code(
        'def fastest_batch_seconds(n, rpm, concurrency, answer_seconds):',
        '    starts = []',
        '    for k in range(n):',
        '        start = 0.0 if k == 0 else starts[k - 1] + 60 / rpm     # the RPM: one start every 60/rpm seconds',
        '        if k >= concurrency:                                    # the concurrency: wait for a request to finish',
        '            start = max(start, starts[k - concurrency] + answer_seconds)',
        '        starts.append(start)',
        '    return starts[-1] + answer_seconds',
    ),
])
def _(fastest_batch_seconds):
    require(callable(fastest_batch_seconds), say("fastest_batch_seconds should be the function you completed.",
                                                 "fastest_batch_seconds 应该是你补全的那个函数。"))
    results = []
    for args, about, _too_fast in _CASES:
        try:
            got = fastest_batch_seconds(*args)
        except TypeError as exc:
            if "ellipsis" in str(exc):
                raise NotYet(say("Replace the ... in the loop with the earliest time request k may start.",
                                 "把循环里的 ... 换成请求 k 最早可以开始的时间。")) from None
            raise
        require(got is not ..., say("Replace the ... with the earliest time request k may start.",
                                    "把 ... 换成请求 k 最早可以开始的时间。"))
        require(isinstance(got, (int, float)) and not isinstance(got, bool),
                say(f"For {about.en} it returned {got!r}, not a number of seconds.",
                    f"对于{about.zh}，它返回了 {got!r}，这不是秒数。"))
        results.append(got)
    if any(abs(got - _fastest(*args)) > 1e-6 for got, (args, _, _) in zip(results, _CASES)):
        for change, why in _MISTAKES:
            if all(abs(got - _variant(*args, **change)) <= 1e-6 for got, (args, _, _) in zip(results, _CASES)):
                require(False, why)
    for got, (args, about, too_fast) in zip(results, _CASES):
        want = _fastest(*args)
        if abs(got - want) > 1e-6:
            if got < want:
                require(False, say(f"For {about.en} you get {got:g} s, which the limits don't allow: {too_fast.en}",
                                   f"对于{about.zh}，你算出的是 {got:g} s，但限制不允许这么快：{too_fast.zh}"))
            require(False, say(f"For {about.en} you get {got:g} s, slower than needed: start each request as soon as "
                               f"both limits allow, not later.",
                               f"对于{about.zh}，你算出的是 {got:g} s，比实际需要的慢：每个请求都应在两个限制都允许的"
                               "最早时刻开始，不要更晚。"))
    tier0 = _fastest(50, 3, 1, 2.0)
    return say(f"At tier0 the RPM binds: 50 paraphrases take at least {tier0:g} s (over 16 minutes), "
               "whatever your code does. At tier1 it's 16.7 s.",
               f"在 tier0，卡住你的是 RPM：不管代码怎么写，50 次改写至少要 {tier0:g} s（超过 16 分钟）。"
               "在 tier1 只要 16.7 s。")


@exercise("08.2", hints=[
    say("Section 2 built LIMITED_URL for your tier and printed the tier table: do the same for tier2.",
        "第 2 节为你的等级构造了 LIMITED_URL，还打印了等级表：对 tier2 也照样做一遍。"),
    say("limits_base_url(...) takes the tier's name and the scale; TIERS[\"tier2\"] holds its .rpm and .concurrency.",
        "limits_base_url(...) 接收等级名和 scale；TIERS[\"tier2\"] 里有它的 .rpm 和 .concurrency。"),
    code(
        'tier2_url = limits_base_url("tier2", scale=SCALE)',
        'tier2_rpm = TIERS["tier2"].rpm',
        'tier2_concurrency = TIERS["tier2"].concurrency',
    ),
])
def _(url, rpm, concurrency, scale):
    require(not is_blank(url), say("Fill in tier2_url: a base URL from limits_base_url().",
                                   "填上 tier2_url：用 limits_base_url() 得到的 base URL。"))
    require(not is_blank(rpm), say("Fill in tier2_rpm: how many requests tier2 allows per minute.",
                                   "填上 tier2_rpm：tier2 每分钟允许多少个请求。"))
    require(not is_blank(concurrency), say("Fill in tier2_concurrency: how many requests tier2 allows in flight.",
                                           "填上 tier2_concurrency：tier2 允许同时进行多少个请求。"))
    require(isinstance(url, str) and "/limits/tier2" in url,
            say("tier2_url should be a base URL where the local server enforces tier2: limits_base_url(\"tier2\", ...).",
                "tier2_url 应该是本地服务器按 tier2 限流的 base URL：limits_base_url(\"tier2\", ...)。"))
    spec = "tier2" if scale == 1 else f"tier2-x{scale:g}"
    require(url.rstrip("/").endswith(f"/limits/{spec}/v1"),
            say(f"Use the same scale as the rest of the notebook: scale=SCALE (the URL should end in /limits/{spec}/v1).",
                f"用和笔记本其余部分相同的 scale：scale=SCALE（URL 应该以 /limits/{spec}/v1 结尾）。"))
    require(isinstance(rpm, (int, float)) and rpm > 0, say("tier2_rpm should be a number of requests per minute.",
                                                           "tier2_rpm 应该是每分钟的请求数。"))
    require(isinstance(concurrency, int) and concurrency > 0, say("tier2_concurrency should be a whole number of requests.",
                                                                  "tier2_concurrency 应该是请求的个数，一个整数。"))
    require(rpm <= 10_000 and concurrency <= 1_000, say("Those numbers are larger than any tier allows; look at tier2's row.",
                                                        "这些数字比任何等级允许的都大；看看等级表里 tier2 那一行。"))

    from openai import OpenAI

    from helpers import clear_request_log, current, request_log
    from helpers.batch import SENTENCES, gc_paused, lost_and_duplicated, measure, run_paced
    from helpers.limits import TIERS

    tier2 = TIERS["tier2"]
    client = OpenAI(api_key=os.environ["MOONSHOT_API_KEY"], base_url=url, max_retries=0)
    clear_request_log()
    with gc_paused():  # its pauses would count several times over on the sped-up clock
        outcomes = run_paced(client, current().model, SENTENCES, rpm, concurrency, scale, progress=False)
    log = request_log()
    client.close()
    lost, duplicated = lost_and_duplicated(SENTENCES, outcomes, log)
    refused = sum(1 for entry in log if entry["status"] == 429)
    require(lost == 0, say(f"{lost} requests were lost. Is tier2_concurrency within tier2's limit of in-flight requests?",
                           f"丢了 {lost} 个请求。tier2_concurrency 有没有超出 tier2 的并发上限？"))
    require(duplicated == 0, say(f"{duplicated} sentences were answered twice.", f"有 {duplicated} 个句子被回答了两次。"))
    fraction = measure(outcomes, tier2.rpm, scale).fraction
    require(refused * 10 < len(SENTENCES),
            say(f"The server refused {refused} requests: you paced faster than tier2 allows. Use tier2's RPM.",
                f"服务器拒绝了 {refused} 个请求：你发送的节奏比 tier2 允许的快。请用 tier2 的 RPM。"))
    require(fraction >= 0.9,
            say(f"Nothing lost, but you reached only {100 * fraction:.0f}% of what tier2 allows ({tier2.rpm} RPM): "
                f"you paced for {rpm:g} RPM.",
                f"没有丢请求，但你只用到了 tier2 允许速率（{tier2.rpm} RPM）的 {100 * fraction:.0f}%："
                f"你是按 {rpm:g} RPM 的节奏发送的。"))
    return say("All 50 answered once each, at ≥ 90% of tier2's allowed throughput. "
               "At 500 RPM the batch takes about half as long as at tier1.",
               "50 个句子都只回答了一次，吞吐量达到 tier2 允许值的 90% 以上。"
               "在 500 RPM 下，这批请求的用时大约只有 tier1 的一半。")
