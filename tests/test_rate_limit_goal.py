"""Lesson 08's goal, checked outside the notebook.

The best approach (helpers.batch.run_paced: paced at the RPM, bounded concurrency, retries that wait as long as
Kimi asks) reaches at least 90% of tier1's allowed throughput for the 50-request batch, with no request lost or
duplicated according to the server's own log; the naive approaches fall short. The notebook's cells hold exactly
the code tested here. Also: the tier limiter's rules (helpers/limits.py) on a clock set by hand.
"""
from __future__ import annotations

import inspect

import nbformat
import pytest
from openai import OpenAI

from helpers import batch
from helpers.batch import (SENTENCES, achieved_fraction, lost_and_duplicated, measure, run_batch, run_paced,
                           send_once, send_with_retries)
from helpers.limits import TIERS, RateLimiter, parse_limits_spec
from helpers.settings import DEFAULT_MODEL, REPLAY_API_KEY, REPO_ROOT
from helpers.wire import KimiError

NOTEBOOK = REPO_ROOT / "notebooks" / "08_concurrency_rate_limits.ipynb"
TIER = TIERS["tier1"]
SCALE = 4  # as in the notebook


@pytest.fixture
def url(server):
    """A base URL enforcing tier1 at the notebook's scale, with a fresh limiter and an empty log."""
    server.reset()
    server.log.clear()
    return f"{server.url}/limits/{TIER.name}-x{SCALE}/v1"


def client(url, **options):
    return OpenAI(base_url=url, api_key=REPLAY_API_KEY, **options)


def refused(server):
    return sum(1 for entry in server.log.entries() if entry["status"] == 429)


def recorded_answer(server, sentence):
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": batch.PROMPT + sentence}]}
    return server.index.find_exact("POST", "/v1/chat/completions", body).response["body"]["choices"][0]["message"]["content"]


# ---- the goal ----------------------------------------------------------------------------------------------------

# A busy machine can only slow a batch down, never make it faster than the tier allows (the server enforces that,
# and the fraction's upper bound is checked on every run): so the best of two runs proves the goal as strictly as
# one, while a stall of the machine during one run does not fail the suite.
ATTEMPTS = 2


def test_the_best_approach_reaches_90_percent_with_nothing_lost_or_duplicated(server, url):
    fractions = []
    for _ in range(ATTEMPTS):
        server.reset()
        server.log.clear()
        outcomes = run_paced(client(url, max_retries=0), DEFAULT_MODEL, SENTENCES, TIER.rpm, TIER.concurrency, SCALE,
                             progress=False)
        assert lost_and_duplicated(SENTENCES, outcomes, server.log.entries()) == (0, 0)
        assert [o.sentence for o in outcomes] == SENTENCES
        assert [o.answer for o in outcomes] == [recorded_answer(server, s) for s in SENTENCES], "answers mixed up"
        served = [e for e in server.log.entries() if e["status"] == 200]
        assert len(served) == len(SENTENCES)
        assert refused(server) * 10 < len(SENTENCES)
        measurement = measure(outcomes, TIER.rpm, SCALE)
        assert measurement.fraction <= 1.02, f"faster than the tier allows? {measurement}"
        fractions.append(measurement.fraction)
        if measurement.fraction >= 0.9:
            break
    assert max(fractions) >= 0.9, f"fractions of the allowed throughput reached: {fractions}"


def test_achieved_fraction_for_make_bench():
    fractions = []
    while len(fractions) < ATTEMPTS and not any(f >= 0.9 for f in fractions):
        fractions.append(achieved_fraction())
    assert all(f <= 1.02 for f in fractions) and max(fractions) >= 0.9, fractions


# ---- the naive approaches fall short ------------------------------------------------------------------------------

def test_one_after_another_is_latency_bound(server, url):
    sentences = SENTENCES[:15]  # lesson 08 sends all 50 this way; 15 show the same bound in a third of the time
    sdk = client(url, max_retries=0)
    outcomes = [send_once(sdk, DEFAULT_MODEL, s) for s in sentences]
    assert lost_and_duplicated(sentences, outcomes, server.log.entries()) == (0, 0)
    assert refused(server) == 0
    fraction = measure(outcomes, TIER.rpm, SCALE).fraction
    print(f"one after another: {fraction:.3f} of the allowed throughput")
    assert fraction < 0.3


@pytest.mark.parametrize("max_retries", [0, 2], ids=["no retries", "the SDK's retries"])
def test_all_at_once_on_threads_loses_requests(server, url, max_retries):
    sdk = client(url, max_retries=max_retries)
    outcomes = run_batch(lambda s: send_once(sdk, DEFAULT_MODEL, s), SENTENCES, workers=50, desc="", progress=False)
    lost, duplicated = lost_and_duplicated(SENTENCES, outcomes, server.log.entries())
    assert lost >= 10 and duplicated == 0
    assert measure(outcomes, TIER.rpm, SCALE).fraction is None
    assert any("please try again after 0.25 seconds" in (o.error or "") for o in outcomes)  # 1 s at x4


def test_retries_without_pacing_finish_by_hammering(server, url):
    sdk = client(url, max_retries=0)
    outcomes = run_batch(lambda s: send_with_retries(sdk, DEFAULT_MODEL, s), SENTENCES, workers=50, desc="",
                         progress=False)
    assert lost_and_duplicated(SENTENCES, outcomes, server.log.entries()) == (0, 0)
    assert refused(server) > len(SENTENCES), "retrying without pacing should collect more 429s than answers"


# ---- the notebook shows this very code ------------------------------------------------------------------------------

def test_the_notebook_runs_the_code_tested_here():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    shown = [batch.paraphrase, batch.Outcome, batch.send_once, batch.run_batch, batch.retry_after,
             batch.send_with_retries, batch.Pacer, batch.run_paced, batch.Measurement, batch.measure,
             batch.lost_and_duplicated]
    for obj in shown:
        assert inspect.getsource(obj).rstrip() in cells, f"the notebook's {obj.__name__} differs from helpers/batch.py"
    lines = inspect.getsource(batch).splitlines()
    for prefix in ("PROMPT =", "BAR_FORMAT =", "RETRY_AFTER ="):
        line = next(text for text in lines if text.startswith(prefix))
        assert line in cells.splitlines(), f"the notebook's {prefix.split()[0]} differs from helpers/batch.py"


# ---- the limiter's rules, on a clock set by hand ----------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def attempt(limiter, clock, at, tokens=100, release=True):
    clock.t = 1000.0 + at
    try:
        limiter.admit(tokens)
    except KimiError as refusal:
        assert refusal.status == 429 and refusal.type == "rate_limit_reached_error"
        return refusal.message
    if release:
        limiter.release()
    return "admitted"


def test_rpm_is_spread_evenly_with_half_an_interval_of_tolerance():
    clock = Clock()
    limiter = RateLimiter(parse_limits_spec("tier1"), clock=clock)  # due every 0.3 s, up to 0.15 s early
    burst = [attempt(limiter, clock, 0.0) for _ in range(5)]
    assert burst[0] == "admitted" and all("max RPM: 200, please try again after 1 seconds" in m for m in burst[1:])
    assert attempt(limiter, clock, 0.15) == "admitted"       # half an interval early: allowed
    assert attempt(limiter, clock, 0.44) != "admitted"       # due at 0.6, so not before 0.45
    assert attempt(limiter, clock, 0.45) == "admitted"
    paced = [attempt(limiter, clock, 1.0 + 0.3 * k) for k in range(20)]
    assert paced == ["admitted"] * 20


def test_no_minute_admits_more_than_the_rpm_plus_one():
    clock = Clock()
    limiter = RateLimiter(parse_limits_spec("tier1"), clock=clock)
    admitted = sum(attempt(limiter, clock, k / 100) == "admitted" for k in range(6000))  # a knock every 10 ms
    assert TIER.rpm <= admitted <= TIER.rpm + 1


def test_the_wait_in_the_message_is_kimis_cooldown_in_real_seconds():
    clock = Clock()
    limiter = RateLimiter(parse_limits_spec("tier0-x20"), clock=clock)  # 3 RPM: due every 20 s, 10 s early at most
    assert attempt(limiter, clock, 0.0) == "admitted"
    message = attempt(limiter, clock, 1 / 20)  # one simulated second later
    # the real service says "after 1 seconds" whatever the tier (real_429_rate_limit_rpm, tier0); 1 s / 20 in real time
    assert message.endswith("max RPM: 3, please try again after 0.05 seconds")
    assert attempt(limiter, clock, 9.9 / 20) != "admitted"
    assert attempt(limiter, clock, 10 / 20) == "admitted"


def test_concurrency_and_tpm():
    clock = Clock()
    limiter = RateLimiter(parse_limits_spec("tier0"), clock=clock)  # 1 in flight, 3 RPM, 500,000 TPM
    assert attempt(limiter, clock, 0.0, tokens=400_000, release=False) == "admitted"
    assert attempt(limiter, clock, 30.0).endswith("max concurrency: 1, please try again after 1 seconds")
    limiter.release()
    assert attempt(limiter, clock, 30.0, tokens=200_000).endswith("TPM rate limit, current:400000, limit:500000")
    assert attempt(limiter, clock, 61.0, tokens=200_000) == "admitted"  # the first request's tokens left the minute
    assert limiter.stats()["in_flight"] == 0
