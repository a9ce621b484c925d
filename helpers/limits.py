"""Rate limits: the local server enforcing one of Kimi's published tiers.

Kimi limits each account by concurrency (requests in flight), RPM (requests per minute) and TPM
(tokens per minute); past a limit it answers HTTP 429 `rate_limit_reached_error` with a message
that, for concurrency and RPM, says when to try again. This server enforces a tier the same way,
with Kimi's messages, for every request sent under

    http://127.0.0.1:PORT/limits/<tier>[-x<scale>]/v1/...      e.g. /limits/tier1-x10/v1/chat/completions

How it counts (Kimi does not publish how it counts a minute, so these are choices, made strict):
- Concurrency: at most `concurrency` requests being answered at once; one more gets
  "... max concurrency: N, please try again after 1 seconds" (Kimi's error table; not seen live).
- RPM, spread evenly: each request is due 60/RPM seconds after the one before (tier1: every 0.3 s),
  and may arrive up to half of that early, so that a few milliseconds of jitter don't turn away a
  client that paces itself (the generic cell rate algorithm with a tolerance of half an interval).
  Earlier than that gets "... max RPM: N, please try again after 1 seconds". The real service names
  one second whatever the tier (a cooldown, not the time to the next free slot: a tier0 account with
  RPM 3 was told "after 1 seconds" about 20 times running, 2026-09), so a client that waits only that
  long may be refused again, as it would be live. So a burst gets one request through, two requests
  are never admitted closer than half an interval apart, and no minute admits more than RPM + 1.
- TPM, over a sliding minute: a request's tokens (its recorded usage.total_tokens, or an estimate)
  count from the moment it is admitted; over the limit gets Kimi's TPM message, which names no wait.
- The headers: a 429 that names a wait (RPM, concurrency) carries Retry-After, X-Retry-After and
  Msh-Cooldown-Seconds with that wait, as every real RPM 429 does (for concurrency that is inferred);
  the TPM 429 carries none (inferred: no TPM 429 was seen).
- Refused requests are not counted against any limit (Kimi does not say whether they are).
- Limits are kept per tier spec, shared by every client of the server, as an account's are.

Time can be scaled so a lesson runs in seconds: with x10 the server's clock runs ten times faster.
The limits stay the tier's own, per simulated minute (tier1-x10 admits 200 requests per 6 real
seconds), and recorded answers take elapsed/scale real seconds. The wait a 429 announces is scaled
to real seconds: the service's 1-second cooldown divided by the scale, in the message and in the
three headers alike ("please try again after 0.1 seconds", Retry-After: 0.1 at x10; exactly Kimi's
"1" at x1). So a client that honours the announced wait, as the openai SDK does with Retry-After,
waits as long as it would against Kimi, on the sped-up clock, without knowing the scale.

Example:
    >>> TIERS["tier1"]
    Tier(name='tier1', concurrency=50, rpm=200, tpm=2000000)
    >>> parse_limits_spec("tier0-x20").scale
    20.0

tier1 (one request due every 0.3 s, up to 0.15 s early), on a clock we set by hand:

    >>> now = [0.0]
    >>> limiter = RateLimiter(parse_limits_spec("tier1"), clock=lambda: now[0])
    >>> def send_at(t):
    ...     now[0] = t
    ...     try:
    ...         limiter.admit(tokens=100)
    ...     except KimiError as refused:
    ...         return refused.message.split("organization ")[1]
    ...     limiter.release()
    ...     return "admitted"
    >>> for t in (0.0, 0.1, 0.15, 0.5, 0.8):
    ...     print(t, send_at(t))
    0.0 admitted
    0.1 max RPM: 200, please try again after 1 seconds
    0.15 admitted
    0.5 admitted
    0.8 admitted
"""
from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass

from .faults import ACCOUNT, cooldown_headers, format_seconds
from .wire import KimiError


@dataclass(frozen=True)
class Tier:
    name: str
    concurrency: int
    rpm: int
    tpm: int


# platform.moonshot.ai/docs/pricing/limits (TPD left out: it never binds in a lesson).
TIERS = {
    "tier0": Tier("tier0", 1, 3, 500_000),
    "tier1": Tier("tier1", 50, 200, 2_000_000),
    "tier2": Tier("tier2", 100, 500, 3_000_000),
    "tier3": Tier("tier3", 200, 5_000, 3_000_000),
    "tier4": Tier("tier4", 400, 5_000, 4_000_000),
    "tier5": Tier("tier5", 1_000, 10_000, 5_000_000),
}

TOLERANCE = 0.5  # how early a request may arrive, in intervals (60/RPM seconds)
COOLDOWN_SECONDS = 1.0  # the wait a real RPM 429 names, whatever the tier

_SPEC = re.compile(r"^(?P<tier>tier[0-5])(?:-x(?P<scale>\d+(?:\.\d+)?))?$")
MAX_SCALE = 1000.0  # beyond this the server's own overhead is larger than the intervals it enforces


@dataclass(frozen=True)
class LimitsSpec:
    tier: Tier
    scale: float
    spec: str


def parse_limits_spec(spec: str) -> LimitsSpec:
    match = _SPEC.match(spec)
    if not match:
        raise KimiError(404, "resource_not_found_error",
                        f"Unknown limits {spec[:60]!r}; use tier0..tier5, optionally with a time scale such as tier1-x60")
    scale = float(match["scale"] or 1)
    if scale < 1:  # slowing time down would only hold requests open for longer
        raise KimiError(404, "resource_not_found_error", "the time scale speeds time up: use 1 or more, e.g. tier1-x60")
    if scale > MAX_SCALE:
        raise KimiError(404, "resource_not_found_error",
                        f"the time scale goes up to {MAX_SCALE:g} (x{scale:g} was asked), e.g. tier1-x60")
    return LimitsSpec(TIERS[match["tier"]], scale, spec)


class RateLimiter:
    """Admits or refuses requests for one tier; all times are simulated seconds."""

    def __init__(self, spec: LimitsSpec, clock=time.monotonic):
        self.tier, self.scale, self._clock = spec.tier, spec.scale, clock
        self._lock = threading.Lock()
        self._in_flight = 0
        self.interval = 60.0 / self.tier.rpm  # simulated seconds between two requests, on average
        self.tolerance = self.interval * TOLERANCE
        self._next_slot = 0.0  # the simulated time the next request is due (GCRA's "theoretical arrival time")
        self._tokens: deque[tuple[float, int]] = deque()
        self.admitted = 0
        self.refused = 0

    @property
    def announced_wait(self) -> float:
        """The wait a 429 names, in real seconds: Kimi's 1-second cooldown on the sped-up clock."""
        return COOLDOWN_SECONDS / self.scale

    def now(self) -> float:
        return self._clock() * self.scale

    def admit(self, tokens: int) -> None:
        """Take a slot or raise the 429 Kimi would send. Call release() when the answer is done."""
        with self._lock:
            now = self.now()
            wait = self.announced_wait
            if self._in_flight >= self.tier.concurrency:
                self.refused += 1
                raise KimiError(429, "rate_limit_reached_error",
                                f"Your account {ACCOUNT} request reached organization max concurrency: "
                                f"{self.tier.concurrency}, please try again after {format_seconds(wait)} seconds",
                                cooldown_headers(wait))
            if now < self._next_slot - self.tolerance:
                self.refused += 1
                raise KimiError(429, "rate_limit_reached_error",
                                f"Your account {ACCOUNT} request reached organization max RPM: {self.tier.rpm}, "
                                f"please try again after {format_seconds(wait)} seconds", cooldown_headers(wait))
            while self._tokens and self._tokens[0][0] <= now - 60:
                self._tokens.popleft()
            used = sum(n for _, n in self._tokens)
            if used + tokens > self.tier.tpm:
                self.refused += 1
                raise KimiError(429, "rate_limit_reached_error",
                                f"Your account {ACCOUNT} request reached organization TPM rate limit, "
                                f"current:{used}, limit:{self.tier.tpm}")
            self._tokens.append((now, tokens))
            self._next_slot = max(now, self._next_slot) + self.interval
            self._in_flight += 1
            self.admitted += 1

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def stats(self) -> dict[str, int | str | float]:
        with self._lock:
            return {"tier": self.tier.name, "scale": self.scale, "admitted": self.admitted,
                    "refused": self.refused, "in_flight": self._in_flight}
