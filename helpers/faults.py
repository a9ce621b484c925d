"""Scripted faults: the failures the real API can't be asked for on demand.

A fault lives in the base URL, so curl, `requests` and the SDK use it unchanged:

    http://127.0.0.1:PORT/simulate/<fault>/v1/chat/completions

`<fault>` is a name, optionally `-<N>` (fail the first N requests, then answer normally; N from 1 to 1,000)
and `~<tag>` (a separate counter). `slow-<S>s` waits S seconds (0 to 120) before answering, and stops
waiting when the client leaves or the server stops. Every simulated answer carries the header
`X-Simulated-Fault: <name>` so it can never be mistaken for the real service.

Example:
    >>> parse_fault_spec("overloaded-2~a")
    FaultSpec(name='overloaded', times=2, seconds=None, spec='overloaded-2~a')
    >>> parse_fault_spec("slow-3s").seconds
    3.0
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from .wire import KimiError

ACCOUNT = "org-course<ak-course>"  # placeholder ids in the place Kimi names your account

FAULTS: dict[str, str] = {
    "rate_limit": "429 rate_limit_reached_error: the account's RPM was reached (says when to retry, also in Retry-After)",
    "concurrency": "429 rate_limit_reached_error: too many requests in flight (says when to retry, also in Retry-After)",
    "overloaded": "429 engine_overloaded_error: Kimi is busy; retrying later can succeed (no Retry-After)",
    "quota": "429 exceeded_current_quota_error: the balance is used up; retrying cannot succeed",
    "server_error": "500 unexpected_output: an internal error on Kimi's side",
    "slow": "answers normally, but only after a delay (slow-5s waits 5 seconds)",
    "stream_error": "a stream that starts normally, then sends an error event instead of finishing",
    "disconnect": "the connection closes without an answer (mid-stream for a stream)",
}

_SPEC = re.compile(r"^(?P<name>[a-z_]{1,20})(?:-(?P<num>\d+(?:\.\d+)?)(?P<unit>s?))?(?:~(?P<tag>[\w.-]{1,40}))?$")
MAX_TIMES = 1000
MAX_SLOW_SECONDS = 120.0
MAX_COUNTERS = 1000  # distinct fault specs remembered; the oldest is forgotten first


@dataclass(frozen=True)
class FaultSpec:
    name: str
    times: int | None  # None: every request
    seconds: float | None  # for slow
    spec: str


def parse_fault_spec(spec: str) -> FaultSpec:
    match = _SPEC.match(spec)
    if not match or match["name"] not in FAULTS:
        known = ", ".join(FAULTS)
        raise KimiError(404, "resource_not_found_error", f"Unknown simulated fault {spec[:60]!r}; known faults: {known}")
    name, num, unit = match["name"], match["num"], match["unit"]
    if name == "slow":
        seconds = float(num) if num else 5.0
        if seconds > MAX_SLOW_SECONDS:
            raise KimiError(404, "resource_not_found_error",
                            f"{spec[:40]!r}: a slow answer waits at most {MAX_SLOW_SECONDS:g} seconds, e.g. slow-3s")
        return FaultSpec(name, None, seconds, spec)
    if unit:
        raise KimiError(404, "resource_not_found_error", f"{spec!r}: only 'slow' takes seconds, e.g. slow-3s")
    if num and not 1 <= float(num) <= MAX_TIMES:
        raise KimiError(404, "resource_not_found_error",
                        f"{spec[:40]!r}: the number of failures must be from 1 to {MAX_TIMES}, e.g. {name}-2")
    return FaultSpec(name, int(float(num)) if num else None, None, spec)


class FaultCounter:
    """Counts requests per fault spec, so 'overloaded-2' fails exactly twice."""

    def __init__(self, max_counters: int = MAX_COUNTERS) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self.max_counters = max_counters

    def should_fail(self, fault: FaultSpec) -> bool:
        with self._lock:
            n = self._counts.pop(fault.spec, 0)
            self._counts[fault.spec] = n + 1
            while len(self._counts) > self.max_counters:
                self._counts.popitem(last=False)
        return fault.times is None or n < fault.times

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def cooldown_headers(seconds: float) -> dict[str, str]:
    """The three headers every real RPM 429 carries, all saying the wait the message names.

    Seen on each of about 20 RPM 429s in the probe log (real_429_rate_limit_rpm): Retry-After: 1, X-Retry-After: 1,
    Msh-Cooldown-Seconds: 1. The openai SDK honours Retry-After (it waits that long before its own retry).

    Example:
        >>> cooldown_headers(1)
        {'Msh-Cooldown-Seconds': '1', 'Retry-After': '1', 'X-Retry-After': '1'}
    """
    text = format_seconds(seconds)
    return {"Msh-Cooldown-Seconds": text, "Retry-After": text, "X-Retry-After": text}


def format_seconds(seconds: float) -> str:
    """A wait as the service writes it: whole seconds as "1"; a sped-up clock's fraction as "0.25"."""
    return f"{seconds:.3g}"


def fault_error(name: str, retry_after: float = 1) -> KimiError:
    """The Kimi error a status fault answers with.

    rate_limit is the real RPM 429 (real_429_rate_limit_rpm: its message, account ids as placeholders, and its cooldown
    headers); overloaded is the real engine_overloaded 429 (real_429_engine_overloaded: no cooldown headers). The
    concurrency, quota and server_error answers follow Kimi's error table: no exchange of them was found, and the
    headers given to concurrency (the RPM 429's, as its message also names a wait) are inferred.
    """
    wait = format_seconds(retry_after)
    if name == "rate_limit":
        return KimiError(429, "rate_limit_reached_error",
                         f"Your account {ACCOUNT} request reached organization max RPM: 3, "
                         f"please try again after {wait} seconds", cooldown_headers(retry_after))
    if name == "concurrency":
        return KimiError(429, "rate_limit_reached_error",
                         f"Your account {ACCOUNT} request reached organization max concurrency: 1, "
                         f"please try again after {wait} seconds", cooldown_headers(retry_after))
    if name == "overloaded":
        return KimiError(429, "engine_overloaded_error", "The engine is currently overloaded, please try again later")
    if name == "quota":
        return KimiError(429, "exceeded_current_quota_error",
                         "You exceeded your current token quota: <org-course> 0, please check your account balance")
    if name == "server_error":
        return KimiError(500, "unexpected_output", "invalid state transition")
    raise ValueError(f"{name} is not a status fault")


STATUS_FAULTS = ("rate_limit", "concurrency", "overloaded", "quota", "server_error")
