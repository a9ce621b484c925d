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

from helpers.checks import code, exercise, is_blank, learner, require

BLANKS = "Replace every ... with your answer first."


def _errors() -> Any:
    """The notebook's kimi_client.errors, or friendly feedback if it hasn't been written yet."""
    try:
        from kimi_client import errors
    except ImportError as exc:
        require(False, f"kimi_client can't be imported ({exc}). Run the notebook's cells from the top first: "
                       "sections 2 to 4 write it into workspace/.")
    return errors


def _blanks_left(exercise_id: str, answer: Any) -> bool:
    """Whether the exercise as last run (or else `answer`'s own source) still has a `...` blank."""
    import inspect

    source = learner.exercise_cell(exercise_id)
    if source is None:
        try:
            source = inspect.getsource(answer)
        except (OSError, TypeError):
            return False
    try:
        tree = ast.parse(source)
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
    "BY_TYPE maps Kimi's error.type to a class, BY_STATUS the HTTP status. Look the type up first, and the status "
    "only if the type finds nothing: `a or b` gives b when a is None.",
    "The class: `BY_TYPE.get(info.get(\"type\")) or BY_STATUS.get(status)`. Neither knows it: "
    "`ServerError if status and status >= 500 else KimiError`. The wait: `retry_after_seconds(message, headers)`.",
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
    require(callable(error_from_body), "error_from_body should be the function defined in the exercise cell.")
    require(not _blanks_left("09.1", error_from_body), BLANKS)
    errors = _errors()
    for what, status, body, headers, want, wait in _error_cases(errors):
        try:
            got = error_from_body(status, body, "req-42", headers)
        except Exception as exc:  # noqa: BLE001 - any error in the learner's function is feedback
            require("ellipsis" not in str(exc).lower(), BLANKS)
            if isinstance(exc, TypeError) and "NoneType" in str(exc) and "callable" in str(exc):
                require(False, f"For {what} (HTTP {status}) neither table knows the answer, so kind was still None "
                               "when it was called. Give it the fallback: ServerError for 500 and above, else KimiError.")
            require(False, f"error_from_body(...) for {what} (HTTP {status}) raised {type(exc).__name__}: {exc}")
        if isinstance(got, BaseException) and not isinstance(got, errors.KimiError):
            require(False, f"For {what} yours returned a {type(got).__name__}; return one of the KimiError classes.")
        require(isinstance(got, errors.KimiError),
                f"error_from_body should return the exception (not raise it, not print it); for {what} it returned "
                f"{got!r}.")
        kind = body.get("error", {}).get("type") if isinstance(body, dict) else None
        if type(got) is not want:
            if want is errors.QuotaExceeded and type(got) is errors.RateLimited:
                require(False, "A used-up balance (HTTP 429, exceeded_current_quota_error) became RateLimited: the "
                               "status was looked at first. Three different 429s need three classes: look the type "
                               "up in BY_TYPE first, and the status only when the type finds nothing.")
            if want is errors.KimiError and type(got) is errors.ServerError:
                require(False, f"{what.capitalize()} (HTTP {status}) became a ServerError, which is retryable. Only "
                               "a status of 500 or more is Kimi's trouble; anything else nobody knows is a plain "
                               "KimiError.")
            if want is errors.ServerError and type(got) is errors.KimiError:
                require(False, f"For {what} (HTTP {status}) yours gave a plain KimiError, which is never retried. "
                               "A status of 500 or more that no table knows is Kimi's trouble: ServerError.")
            require(False, f"For {what} (HTTP {status}, type {kind!r}) yours returned {type(got).__name__}; it "
                           f"should be {want.__name__}.")
        message = body["error"]["message"] if isinstance(body, dict) and body.get("error", {}).get("message") \
            else f"HTTP {status} without an error message"
        require(got.message == message, f"For {what}, Kimi's message was lost: yours says {got.message!r}.")
        require(got.status == status and got.type == kind and got.request_id == "req-42",
                f"For {what} the error should keep the status ({status}), Kimi's type ({kind!r}) and the request id "
                f"it was given; yours has {got.status!r}, {got.type!r}, {got.request_id!r}.")
        require(not is_blank(got.retry_after), BLANKS)
        if wait is not None and got.retry_after is None:
            where = "its Retry-After header" if headers.get("Retry-After") else "its message"
            require(False, f"For {what} Kimi asked to wait {wait:g} s ({where}), but yours has retry_after=None. "
                           "retry_after_seconds(message, headers) reads both.")
        require(got.retry_after == wait, f"For {what} the wait should be {wait!r} seconds; yours is {got.retry_after!r}.")
    return ("Thirteen error answers, thirteen right classes, each with Kimi's message, its type, the request id and "
            "the wait it named. Lesson 10 puts this function into errors.py.")


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
    "should_retry: `not error.retryable` covers rule 1, and `attempt >= self.max_attempts` means none are left. Then "
    "retry unless Kimi named a wait longer than max_delay.",
    "delay: `wait = error.retry_after` when Kimi said; else `min(self.base_delay * 2 ** (attempt - 1), "
    "self.max_delay)`: after attempt 1 that is base_delay itself.",
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
    require(isinstance(RetryPolicy, type), "RetryPolicy should be the class defined in the exercise cell.")
    require(not _blanks_left("09.2", RetryPolicy.should_retry) and not _blanks_left("09.2", RetryPolicy.delay), BLANKS)
    errors = _errors()
    cases = _retry_errors(errors)

    def policy(**settings: Any) -> Any:
        try:
            return RetryPolicy(**{"jitter": False, "sleep": lambda seconds: None, **settings})
        except TypeError as exc:
            require(False, f"RetryPolicy({', '.join(settings) or 'jitter=False'}) failed ({exc}): keep its fields "
                           "max_attempts, base_delay, max_delay, jitter and sleep as the cell has them.")

    def ask(p: Any, method: str, what: str, attempt: int) -> Any:
        try:
            return getattr(p, method)(cases[what], attempt)
        except Exception as exc:  # noqa: BLE001
            require(False, f"{method}() for {what} after attempt {attempt} raised {type(exc).__name__}: {exc}")

    p = policy()
    require(not any(is_blank(ask(p, "delay", what, 1)) for what in ["a busy engine", "a rate limit that asks for 3 s"]),
            BLANKS)
    for what in ["a used-up balance", "a wrong key"]:
        require(ask(p, "should_retry", what, 1) is False,
                f"should_retry said yes to {what} ({type(cases[what]).__name__}, retryable=False): that request can "
                "never succeed, so rule 1 says raise it at once.")
    for attempt in (1, 2, 3):
        answer = ask(p, "should_retry", "a busy engine", attempt)
        require(isinstance(answer, bool), f"should_retry should return True or False, not {answer!r}.")
        require(answer, f"After attempt {attempt} of max_attempts=4 a busy engine should be tried again; yours "
                        "says no." + (" Look at how you compare attempt with max_attempts." if attempt == 3 else ""))
    require(ask(p, "should_retry", "a busy engine", 4) is False,
            "After attempt 4 of max_attempts=4 there are no attempts left, but yours says try again: a fifth attempt. "
            "Compare with >=.")
    require(ask(policy(max_attempts=2), "should_retry", "a busy engine", 2) is False,
            "With max_attempts=2, after attempt 2 yours still says try again.")
    require(ask(p, "should_retry", "a 500", 1) is True, "A 500 is retryable, but yours says not to try again.")
    require(ask(p, "should_retry", "a rate limit that asks for 3 s", 1) is True,
            "A rate limit that asks for 3 seconds (less than max_delay, 60) should be tried again; yours says no.")
    require(ask(p, "should_retry", "a rate limit that asks for 120 s", 1) is False,
            "Kimi asked for 120 seconds, more than max_delay (60): rule 4 says give up instead of retrying early, "
            "but yours says try again.")
    for attempt, want in [(1, 1.0), (2, 2.0), (3, 4.0)]:
        wait = ask(p, "delay", "a busy engine", attempt)
        require(isinstance(wait, (int, float)) and not isinstance(wait, bool),
                f"delay should return a number of seconds, not {wait!r}.")
        if attempt == 1 and wait == 2.0:
            require(False, "After attempt 1 the wait should be base_delay itself (1 s); yours waits 2 s, a doubling "
                           "too many: base_delay * 2 ** (attempt - 1).")
        require(wait == want, f"With Kimi naming no wait, the waits should be 1, 2, 4 s (base_delay doubling); after "
                              f"attempt {attempt} yours is {wait!r}.")
    for attempt in (1, 2, 3):
        wait = ask(p, "delay", "a rate limit that asks for 3 s", attempt)
        require(wait == 3.0, f"Kimi asked for 3 seconds; after attempt {attempt} yours waits {wait!r}. Wait exactly "
                             "as long as Kimi said: never sooner, and no need for longer.")
    capped = [ask(policy(base_delay=10, max_delay=25), "delay", "a busy engine", n) for n in (1, 2, 3)]
    require(capped == [10, 20, 25], f"With base_delay=10 and max_delay=25 the waits should be 10, 20, 25 (never more "
                                    f"than max_delay); yours are {capped}.")
    jittered = policy(jitter=True)
    for _ in range(50):
        wait = ask(jittered, "delay", "a rate limit that asks for 3 s", 1)
        require(3.0 <= wait <= 3.75, f"With jitter, a 3 s wait should become 3 to 3.75 s (never less); yours gave "
                                     f"{wait:.2f}.")
    return ("Your policy retries only what can succeed, never sooner than Kimi asks, backs off 1, 2, 4 s otherwise, "
            "and stops after four attempts. Lesson 10 gives it a file of its own: retries.py.")


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
    "Three blanks: the text so far is the pieces in `received` joined together; each piece is kept (append) and "
    "handed on (yield); and when the loop ends without [DONE], raise broken(...) with a message that says so.",
    "`partial=\"\".join(received)`; `received.append(piece)` then `yield piece`; and at the end "
    "`raise broken(\"the stream ended without [DONE]\")`.",
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
    require(callable(read_text), "read_text should be the function defined in the exercise cell.")
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
                    f"read_text returned {result!r} for {what}: it should hand on the pieces as they arrive, with "
                    "`yield piece`.")
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
    require(raised is None, f"A good stream, which ends with [DONE], raised {type(raised).__name__}: {raised}")
    require(pieces and all(isinstance(p, str) for p in pieces),
            f"For a good stream read_text gave {pieces!r}: it should yield the answer's pieces of text.")
    require(len(pieces) > 1, "read_text gave the whole answer as one piece: yield each piece as it arrives.")
    whole = "".join(pieces)
    require("百度" in whole, f"The pieces of a good stream should add up to the answer; yours: {whole!r}")

    held = _HeldBackStream(["百度", "指数", "是什么"])
    first_at = None
    for _piece in read_text(held):
        if first_at is None:
            first_at = held.read
    require(first_at is not None and first_at <= 2,
            "read_text held the pieces back until the stream had ended: the first piece should reach the caller as "
            "soon as its line has arrived (yield each piece in the loop).")
    require(held.closed, "read_text didn't close the stream's response: keep the `with response:` around the loop.")

    for fault, what, kind in [("stream_error", "a stream that ends with an error event", "engine_overloaded_error"),
                              ("disconnect", "a stream whose connection drops", None)]:
        pieces, raised = read(_post(fault_base_url(fault), body, key, stream=True), what)
        require(raised is not None, f"For {what}, read_text ended quietly with {''.join(pieces)!r}, half an answer "
                                    "passed off as a whole one. Raise StreamBroken.")
        require(isinstance(raised, errors.StreamBroken),
                f"For {what}, read_text raised {type(raised).__name__} ({raised}); raise StreamBroken, so the "
                "caller has one exception to catch for every cut-off answer.")
        broken: Any = raised
        require(pieces and broken.partial == "".join(pieces),
                f"For {what}, .partial should hold the text that had arrived, {''.join(pieces)!r}; yours holds "
                f"{broken.partial!r}.")
        if kind:
            require(broken.type == kind, f"For {what}, StreamBroken should keep Kimi's error type ({kind!r}); "
                                         f"yours has {broken.type!r}.")

    pieces, raised = read(_cut_response("百度指数是"), "a stream that just ends")
    require(raised is not None, "A stream that just ended, with no [DONE] and no error, passed as a whole answer. "
                                "When the loop ends without [DONE], raise StreamBroken.")
    require(isinstance(raised, errors.StreamBroken) and raised.partial == "百度指数是",
            f"A stream that just ends should raise StreamBroken with the text so far ('百度指数是') in .partial; "
            f"yours raised {type(raised).__name__}: {raised}")
    return ("Your reader hands each piece on as it arrives and never passes a cut-off answer off as a whole one: an "
            "error event, a dropped connection and a silent end all raise StreamBroken, with the text so far. "
            "Lesson 10 adds it to streaming.py.")
