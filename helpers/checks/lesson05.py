"""Checkers for notebooks/05_errors.ipynb."""
from __future__ import annotations

from typing import Any

from . import NotYet, code, exercise, is_blank, require

# (status, error.type, should it be retried?, why) — Kimi's error table plus the statuses any gateway may send.
_RETRY_CASES = [
    (429, "rate_limit_reached_error", True, "a rate limit passes: wait as long as the message says, then retry"),
    (429, "engine_overloaded_error", True, "an overloaded engine is Kimi being busy: back off and retry"),
    (429, "exceeded_current_quota_error", False,
     "the quota error means the balance is used up: no retry can succeed until someone tops up"),
    (500, "unexpected_output", True, "a 500 is a failure on Kimi's side: a later try can succeed"),
    (503, None, True, "a 503 (service unavailable, maybe with no Kimi error type at all) is worth another try"),
    (400, "invalid_request_error", False, "a 400 means the request itself is wrong: sending it again changes nothing"),
    (400, "content_filter", False, "content_filter rejects the input: the same input is rejected again"),
    (401, "invalid_authentication_error", False, "a 401 means a wrong key (or the wrong platform): fix the key"),
    (403, "permission_denied_error", False, "a 403 means your account may not use this: retrying won't change that"),
    (404, "resource_not_found_error", False, "a 404 means the model doesn't exist (any more): pick another model"),
]


@exercise("05.1", hints=[
    "Ask of each error: would the same request, sent again a little later, get a different answer? "
    "Sections 2–9 say for each.",
    "Statuses of 500 or more can pass with time, and so can a 429 whose type is rate_limit_reached_error "
    "or engine_overloaded_error. The quota error is a 429 too: check error_type, not only the status.",
    code(
        'def should_retry(status, error_type):',
        '    if status >= 500:',
        "        return True                     # something broke on Kimi's side: a later try can succeed",
        '    return status == 429 and error_type in {"rate_limit_reached_error", "engine_overloaded_error"}',
    ),
])
def _(should_retry):
    require(callable(should_retry), "should_retry should be a function: def should_retry(status, error_type): ...")
    for status, error_type, expected, why in _RETRY_CASES:
        got = should_retry(status, error_type)
        require(got is not None and not is_blank(got),
                f"should_retry({status}, {error_type!r}) returned {got!r}. Replace the ... with code that "
                "returns True or False.")
        require(isinstance(got, bool), f"should_retry({status}, {error_type!r}) returned {got!r}; "
                                       "return True or False.")
        if got != expected:
            raise NotYet(f"should_retry({status}, {error_type!r}) returned {got}, but {why}.")
    return "Only errors that can pass with time are worth another try; the quota error never is."


_WAIT_CASES = [
    ("Your account org-course<ak-course> request reached organization max RPM: 3, please try again after 1 seconds", 1),
    ("Your account org-x<ak-y> request reached organization max concurrency: 1, please try again after 20 seconds", 20),
    ("Your account org-x<ak-y> request reached organization max RPM: 200, please try again after 7 seconds", 7),
    ("please try again after 2.5 seconds", 2.5),
    ("The engine is currently overloaded, please try again later", None),
    ("You exceeded your current token quota: <org-course> 0, please check your account balance", None),
    ("Your account org-x<ak-y> request reached organization TPM rate limit, current:2100000, limit:2000000", None),
]


@exercise("05.2", hints=[
    "The wait is a number inside a sentence: a regular expression can find it and capture it.",
    "re.search(r'try again after (\\d+(?:\\.\\d+)?) seconds?', message) captures the number in group(1), and "
    "returns None when the message names no wait. float(...) makes it a number.",
    code(
        'def retry_after_seconds(message):',
        '    found = re.search(r"try again after (\\d+(?:\\.\\d+)?) seconds?", message)',
        '    return float(found.group(1)) if found else None',
    ),
])
def _(retry_after_seconds):
    require(callable(retry_after_seconds),
            "retry_after_seconds should be a function: def retry_after_seconds(message): ...")
    first_message, first_wait = _WAIT_CASES[0]
    got = retry_after_seconds(first_message)
    require(got is not None and not is_blank(got),
            f"For {first_message!r} it returned {got!r}. Replace the ... with code that finds the number of seconds.")
    for message, expected in _WAIT_CASES:
        got = retry_after_seconds(message)
        if expected is None:
            require(got is None, f"For {message!r} it returned {got!r}, but that message names no wait: return None. "
                                 "(Careful with numbers that aren't a wait, like the RPM or the token counts.)")
            continue
        if isinstance(got, str):
            same = got.strip().replace(".", "", 1).isdigit() and float(got) == expected
            raise NotYet(f"For {message!r} it returned the text {got!r}. " + (
                "Turn it into a number with float(...), so you can pass it to time.sleep()." if same else
                f"The wait there is {expected:g}: take the number right after 'try again after', as a number."))
        require(isinstance(got, (int, float)) and not isinstance(got, bool),
                f"For {message!r} it returned {got!r}; return the number of seconds.")
        require(got == expected, f"For {message!r} it returned {got!r}, not {expected!r}. "
                                 "Take the number right after 'try again after' (it can have a decimal point).")
    return "Now a retry can wait exactly as long as Kimi asks, and no longer."


def _sdk_errors() -> list[tuple[str, Exception]]:
    """Real exceptions from the SDK: a 500, a quota 429, a broken stream and a refused connection."""
    from openai import OpenAI, OpenAIError

    from ..course import current, fault_base_url
    from ..settings import REPLAY_API_KEY

    course = current()
    model = course.model
    messages: Any = [{"role": "user", "content": "用一句话解释 HTTP 状态码 429 是什么意思。"}]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("a 500 from the server", fault_base_url("server_error"), {}),
        ("the quota error (429)", fault_base_url("quota"), {}),
        ("an error in the middle of a stream", fault_base_url("stream_error"), {"stream": True}),
        ("a connection error (nothing answered)", "http://127.0.0.1:1/v1", {}),
    ]
    found: list[tuple[str, Exception]] = []
    for label, base_url, extra in calls:
        client = OpenAI(api_key=course.api_key or REPLAY_API_KEY, base_url=base_url, max_retries=0, timeout=30)
        try:
            result = client.chat.completions.create(model=model, messages=messages, **extra)
            for _ in (result if extra.get("stream") else []):
                pass
        except OpenAIError as exc:
            found.append((label, exc))
    return found


def _expected(error: Exception) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return {"request_id": response.headers.get("msh-request-id") if response is not None else None,
            "status": getattr(error, "status_code", None),
            "type": getattr(error, "type", None)}


def _messages(error: Exception) -> set[str]:
    body = getattr(error, "body", None)
    texts = {getattr(error, "message", None), str(error)}
    if isinstance(body, dict):
        texts.add(body.get("message"))
    return {t for t in texts if t}


@exercise("05.3", hints=[
    "Not every exception has everything: when no answer came back at all, there is no response and no status.",
    "getattr(error, 'response', None) and getattr(error, 'status_code', None) give None instead of an "
    "AttributeError. The id is response.headers.get('msh-request-id') (error.request_id is None with Kimi).",
    code(
        'def support_note(error):',
        '    response = getattr(error, "response", None)           # only when the service answered',
        '    return {',
        '        "request_id": response.headers.get("msh-request-id") if response is not None else None,',
        '        "status": getattr(error, "status_code", None),',
        '        "type": error.type,',
        '        "message": error.message,',
        '    }',
    ),
])
def _(support_note):
    require(callable(support_note), "support_note should be a function: def support_note(error): ...")
    errors = _sdk_errors()
    require(errors, "The check couldn't make any error happen: run the notebook's first cell (start()) again.")
    for label, error in errors:
        try:
            note = support_note(error)
        except AttributeError as exc:
            raise NotYet(f"support_note raised AttributeError for {label} ({exc}). Not every error has every "
                         "attribute: only errors with an error status (APIStatusError) carry .response and "
                         ".status_code; connection errors and errors inside a stream don't. "
                         "Use getattr(error, 'response', None).") from None
        require(isinstance(note, dict), f"support_note should return a dict, not {type(note).__name__}.")
        for key in ("request_id", "status", "type", "message"):
            require(key in note, f"The dict has no {key!r} key; it needs request_id, status, type and message.")
            require(not is_blank(note[key]), f"Fill in the ... for {key!r}.")
        want = _expected(error)
        if note["request_id"] != want["request_id"]:
            if note["request_id"] is None:
                raise NotYet(f"request_id was None for {label}, but that answer carried an Msh-Request-Id header. "
                             "error.request_id reads x-request-id, which Kimi doesn't send: read "
                             "error.response.headers.get('msh-request-id').")
            raise NotYet(f"For {label}, request_id was {note['request_id']!r}; it should be "
                         f"{want['request_id']!r}, the response's msh-request-id header (None when no response came).")
        require(note["status"] == want["status"],
                f"For {label}, status was {note['status']!r}; it should be {want['status']!r} "
                "(error.status_code, or None when there is no status).")
        require(note["type"] == want["type"],
                f"For {label}, type was {note['type']!r}; it should be {want['type']!r} (error.type).")
        require(isinstance(note["message"], str) and note["message"] in _messages(error),
                f"For {label}, message was {note['message']!r}; use error.message.")
    return "That dict is what support needs, and it never includes your key."
