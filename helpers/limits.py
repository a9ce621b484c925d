"""Rate limits: the local server enforcing one of Kimi's published tiers.

Kimi limits each account by concurrency (requests in flight), RPM (requests per minute)
and TPM (tokens per minute); past a limit it answers HTTP 429 `rate_limit_reached_error`
saying when to try again. Kimi does not publish how it counts a minute, so this server
takes the strictest reading: the RPM is spread evenly (one request every 60/RPM seconds)
and tokens are counted over a sliding minute. Time can be scaled (x60 = a minute lasts
one second) so a lesson runs in seconds; limits, messages and waits are in simulated seconds.

    http://127.0.0.1:PORT/limits/tier1-x60/v1/chat/completions

Example:
    >>> TIERS["tier1"]
    Tier(name='tier1', concurrency=50, rpm=200, tpm=2000000)
    >>> parse_limits_spec("tier0-x20").scale
    20.0
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass

from .faults import ACCOUNT
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

_SPEC = re.compile(r"^(?P<tier>tier[0-5])(?:-x(?P<scale>\d+(?:\.\d+)?))?$")


@dataclass(frozen=True)
class LimitsSpec:
    tier: Tier
    scale: float
    spec: str


def parse_limits_spec(spec: str) -> LimitsSpec:
    match = _SPEC.match(spec)
    if not match:
        raise KimiError(404, "resource_not_found_error",
                        f"Unknown limits {spec!r}; use tier0..tier5, optionally with a time scale such as tier1-x60")
    scale = float(match["scale"] or 1)
    if scale <= 0:
        raise KimiError(404, "resource_not_found_error", "the time scale must be more than 0")
    return LimitsSpec(TIERS[match["tier"]], scale, spec)


class RateLimiter:
    """Admits or refuses requests for one tier; all times are simulated seconds."""

    def __init__(self, spec: LimitsSpec, clock=time.monotonic):
        self.tier, self.scale, self._clock = spec.tier, spec.scale, clock
        self._lock = threading.Lock()
        self._in_flight = 0
        self._next_slot = 0.0  # earliest simulated time the next request may start
        self._tokens: deque[tuple[float, int]] = deque()
        self.admitted = 0
        self.refused = 0

    def now(self) -> float:
        return self._clock() * self.scale

    def admit(self, tokens: int) -> None:
        """Take a slot or raise the 429 Kimi would send. Call release() when the answer is done."""
        with self._lock:
            now = self.now()
            if self._in_flight >= self.tier.concurrency:
                self.refused += 1
                raise KimiError(429, "rate_limit_reached_error",
                                f"Your account {ACCOUNT} request reached organization max concurrency: "
                                f"{self.tier.concurrency}, please try again after 1 seconds")
            if now < self._next_slot:
                self.refused += 1
                wait = max(1, math.ceil(self._next_slot - now))
                raise KimiError(429, "rate_limit_reached_error",
                                f"Your account {ACCOUNT} request reached organization max RPM: {self.tier.rpm}, "
                                f"please try again after {wait} seconds")
            while self._tokens and self._tokens[0][0] <= now - 60:
                self._tokens.popleft()
            used = sum(n for _, n in self._tokens)
            if used + tokens > self.tier.tpm:
                self.refused += 1
                raise KimiError(429, "rate_limit_reached_error",
                                f"Your account {ACCOUNT} request reached organization TPM rate limit, "
                                f"current:{used}, limit:{self.tier.tpm}")
            self._tokens.append((now, tokens))
            self._next_slot = max(now, self._next_slot) + 60.0 / self.tier.rpm
            self._in_flight += 1
            self.admitted += 1

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def stats(self) -> dict[str, int | str | float]:
        with self._lock:
            return {"tier": self.tier.name, "scale": self.scale, "admitted": self.admitted,
                    "refused": self.refused, "in_flight": self._in_flight}
