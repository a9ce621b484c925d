# Solutions for notebooks/09_write_your_client.ipynb: each section replaces the body of its exercise cell.

# %% Exercise 09.1
from kimi_client.errors import BY_STATUS, BY_TYPE, KimiError, ServerError, retry_after_seconds


def error_from_body(status, body, request_id=None, headers=None):
    """The KimiError for an error answer: chosen by error.type first, then by the HTTP status."""
    info = body.get("error") if isinstance(body, dict) else None
    info = info if isinstance(info, dict) else {}             # a proxy's HTML page or an empty body has no "error"
    message = info.get("message") or f"HTTP {status} without an error message"
    kind = BY_TYPE.get(info.get("type")) or BY_STATUS.get(status)   # the class for Kimi's type, else for the status
    if kind is None:
        kind = ServerError if status and status >= 500 else KimiError   # neither knows it: a 5xx is Kimi's trouble
    return kind(message, status=status, type=info.get("type"), request_id=request_id,
                retry_after=retry_after_seconds(message, headers))   # the seconds Kimi asked us to wait, if it said

# %% Exercise 09.2
import random
import time
from dataclasses import dataclass
from typing import Callable

from kimi_client.errors import KimiError


@dataclass
class RetryPolicy:
    max_attempts: int = 4          # the first try and up to three more
    base_delay: float = 1.0        # the first wait when Kimi doesn't say; it doubles each time
    max_delay: float = 60.0        # longest wait; asked to wait longer, give up instead
    jitter: bool = True            # add up to 25% at random, so many clients don't retry in step
    sleep: Callable[[float], None] = time.sleep   # tests pass a fake that records the waits

    def should_retry(self, error: KimiError, attempt: int) -> bool:
        """Try again after failed attempt number `attempt` (1, 2, ...)?"""
        if not error.retryable or attempt >= self.max_attempts:   # can't succeed, or no attempts left
            return False
        return error.retry_after is None or error.retry_after <= self.max_delay   # Kimi named no wait, or one we are willing to make

    def delay(self, error: KimiError, attempt: int) -> float:
        """Seconds to wait before the next attempt: as long as Kimi asked, else 1, 2, 4, ... × base_delay."""
        if error.retry_after is not None:
            wait = error.retry_after                           # never sooner than Kimi said
        else:
            wait = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)   # base_delay, doubled for each attempt after the first
        if self.jitter:
            wait *= 1 + random.random() / 4
        return wait

# %% Exercise 09.3
from kimi_client.errors import StreamBroken


def read_text(response):
    """Yield the answer's text as it arrives. If the stream stops before [DONE] (an error event,
    a dropped connection, a silent end), raise StreamBroken with the text so far in .partial."""
    request_id = response.headers.get("Msh-Request-Id")
    received = []

    def broken(message, kind=None):
        return StreamBroken(message, partial="".join(received), type=kind, request_id=request_id)   # the text so far

    with response:                          # closes the connection however we leave
        try:
            for event in sse_events(response.iter_lines()):
                if event == "[DONE]":
                    return
                if "error" in event:        # Kimi can end a stream with an error instead of [DONE]
                    error = event["error"]
                    raise broken(f"the stream stopped with an error: {error.get('message')}", error.get("type"))
                for choice in event.get("choices", []):
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        received.append(piece)   # keep the piece, and hand it to the caller
                        yield piece
        except requests.RequestException as exc:
            raise broken(f"the connection dropped mid-stream ({exc.__class__.__name__})") from None
    raise broken("the stream ended without [DONE]")   # the stream just ended, without [DONE]
