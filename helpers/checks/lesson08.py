"""Checkers for notebooks/08_concurrency_rate_limits.ipynb."""
from __future__ import annotations

import os

from helpers.checks import NotYet, code, exercise, is_blank, require


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
    (dict(wait_from=1), "Request k = concurrency has to wait too: `if k > concurrency` lets it start early. "
                        "Use `if k >= concurrency` (with concurrency 2, request 2 waits for request 0)."),
    (dict(gap=lambda rpm: rpm / 60), "The gap between starts is 60 / rpm seconds (at 200 RPM, 0.3 s), not rpm / 60."),
    (dict(gap=lambda rpm: 1 / rpm), "rpm counts requests per minute: the gap between starts is 60 / rpm seconds, "
                                    "not 1 / rpm."),
    (dict(concurrency_limit=False), "That's the RPM alone: once k >= concurrency, request k also waits until request "
                                    "k - concurrency is answered (starts[k - concurrency] + answer_seconds)."),
    (dict(rpm_limit=False), "That's the concurrency limit alone: request k also can't start before "
                            "starts[k - 1] + 60 / rpm."),
    (dict(no_max=True), "Once k >= concurrency, request k has to wait for both limits: take the later of the two "
                        "times, max(start, starts[k - concurrency] + answer_seconds), instead of replacing start."),
    (dict(after_answer=True, concurrency_limit=False), "Each request waits for the one before to be answered: "
                                                       "that's one at a time. Requests may overlap, up to concurrency."),
]

# (arguments, what the case is about, what to say when the answer is too fast)
_CASES = [
    ((1, 200, 50, 2.0), "a single request", "one request takes exactly as long as its answer."),
    ((50, 200, 50, 2.0), "tier1 (200 RPM, 50 in flight), 2 s answers",
     "the 50th request can't start before 49 × 0.3 s."),
    ((50, 3, 1, 2.0), "tier0 (3 RPM, 1 in flight), 2 s answers",
     "at 3 RPM a request may start only every 20 s."),
    ((50, 600, 2, 2.0), "600 RPM but only 2 in flight, 2 s answers",
     "with 2 requests in flight, request k must wait until request k-2 is answered."),
    ((10, 60, 3, 0.5), "60 RPM, 3 in flight, 0.5 s answers",
     "requests may start only one per second."),
    ((3, 600, 2, 2.0), "3 requests, 600 RPM, 2 in flight, 2 s answers",
     "with 2 in flight, request 2 must wait until request 0 is answered at 2 s."),
]


@exercise("08.1", hints=[
    "Work out each start from the starts before it: each of the two limits gives an earliest time, and "
    "request k waits for the later one.",
    "The RPM: starts[k - 1] + 60 / rpm (request 0 starts at 0). The concurrency: once k >= concurrency, "
    "starts[k - concurrency] + answer_seconds. Take the max of the two.",
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
    require(callable(fastest_batch_seconds), "fastest_batch_seconds should be the function you completed.")
    results = []
    for args, about, _too_fast in _CASES:
        try:
            got = fastest_batch_seconds(*args)
        except TypeError as exc:
            if "ellipsis" in str(exc):
                raise NotYet("Replace the ... in the loop with the earliest time request k may start.") from None
            raise
        require(got is not ..., "Replace the ... with the earliest time request k may start.")
        require(isinstance(got, (int, float)) and not isinstance(got, bool),
                f"For {about} it returned {got!r}, not a number of seconds.")
        results.append(got)
    if any(abs(got - _fastest(*args)) > 1e-6 for got, (args, _, _) in zip(results, _CASES)):
        for change, say in _MISTAKES:
            if all(abs(got - _variant(*args, **change)) <= 1e-6 for got, (args, _, _) in zip(results, _CASES)):
                require(False, say)
    for got, (args, about, too_fast) in zip(results, _CASES):
        want = _fastest(*args)
        if abs(got - want) > 1e-6:
            if got < want:
                require(False, f"For {about} you get {got:g} s, which the limits don't allow: {too_fast}")
            require(False, f"For {about} you get {got:g} s, slower than needed: start each request as soon as "
                           f"both limits allow, not later.")
    tier0 = _fastest(50, 3, 1, 2.0)
    return (f"At tier0 the RPM binds: 50 paraphrases take at least {tier0:g} s (over 16 minutes), "
            "whatever your code does. At tier1 it's 16.7 s.")


@exercise("08.2", hints=[
    "Section 2 built LIMITED_URL for your tier and printed the tier table: do the same for tier2.",
    "limits_base_url(...) takes the tier's name and the scale; TIERS[\"tier2\"] holds its .rpm and .concurrency.",
    code(
        'tier2_url = limits_base_url("tier2", scale=SCALE)',
        'tier2_rpm = TIERS["tier2"].rpm',
        'tier2_concurrency = TIERS["tier2"].concurrency',
    ),
])
def _(url, rpm, concurrency, scale):
    require(not is_blank(url), "Fill in tier2_url: a base URL from limits_base_url().")
    require(not is_blank(rpm), "Fill in tier2_rpm: how many requests tier2 allows per minute.")
    require(not is_blank(concurrency), "Fill in tier2_concurrency: how many requests tier2 allows in flight.")
    require(isinstance(url, str) and "/limits/tier2" in url,
            "tier2_url should be a base URL where the local server enforces tier2: limits_base_url(\"tier2\", ...).")
    spec = "tier2" if scale == 1 else f"tier2-x{scale:g}"
    require(url.rstrip("/").endswith(f"/limits/{spec}/v1"),
            f"Use the same scale as the rest of the notebook: scale=SCALE (the URL should end in /limits/{spec}/v1).")
    require(isinstance(rpm, (int, float)) and rpm > 0, "tier2_rpm should be a number of requests per minute.")
    require(isinstance(concurrency, int) and concurrency > 0, "tier2_concurrency should be a whole number of requests.")
    require(rpm <= 10_000 and concurrency <= 1_000, "Those numbers are larger than any tier allows; look at tier2's row.")

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
    require(lost == 0, f"{lost} requests were lost. Is tier2_concurrency within tier2's limit of in-flight requests?")
    require(duplicated == 0, f"{duplicated} sentences were answered twice.")
    fraction = measure(outcomes, tier2.rpm, scale).fraction
    require(refused * 10 < len(SENTENCES),
            f"The server refused {refused} requests: you paced faster than tier2 allows. Use tier2's RPM.")
    require(fraction >= 0.9,
            f"Nothing lost, but you reached only {100 * fraction:.0f}% of what tier2 allows ({tier2.rpm} RPM): "
            f"you paced for {rpm:g} RPM.")
    return ("All 50 answered once each, at ≥ 90% of tier2's allowed throughput. "
            "At 500 RPM the batch takes about half as long as at tier1.")
