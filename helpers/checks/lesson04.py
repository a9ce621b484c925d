"""Checkers for notebooks/04_whats_the_difference.ipynb."""
from __future__ import annotations

import json

import requests

from . import NotYet, code, exercise, is_blank, require

# Request-log entries as the local server logs them (versions as installed for the course; the key masked).
_CURL = {"Host": "127.0.0.1:PORT", "User-Agent": "curl/8.5.0", "Accept": "*/*", "Content-Type": "application/json",
         "Authorization": "Bearer ***", "Content-Length": "206"}
_REQUESTS = {"Host": "127.0.0.1:PORT", "User-Agent": "python-requests/2.34.2", "Accept-Encoding": "gzip, deflate",
             "Accept": "*/*", "Connection": "keep-alive", "Authorization": "Bearer ***", "Content-Length": "243",
             "Content-Type": "application/json"}
_SDK_COMMON = {"Host": "127.0.0.1:PORT", "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive",
               "authorization": "Bearer ***", "accept": "application/json", "content-type": "application/json",
               "x-stainless-lang": "python", "x-stainless-package-version": "3.54.0", "x-stainless-os": "Linux",
               "x-stainless-arch": "x64", "x-stainless-runtime": "CPython", "x-stainless-runtime-version": "3.11.7",
               "x-stainless-retry-count": "0", "x-stainless-read-timeout": "600", "Content-Length": "168"}
_SDK = {**_SDK_COMMON, "user-agent": "OpenAI/Python 3.54.0", "x-stainless-async": "false"}
_ASYNC_SDK = {**_SDK_COMMON, "user-agent": "AsyncOpenAI/Python 3.54.0", "x-stainless-async": "async:asyncio"}
_A_NEWER_CURL = {**_CURL, "User-Agent": "curl/8.11.1"}

_CASES = [
    ("curl", "curl", _CURL),
    ("requests", "requests", _REQUESTS),
    ("openai", "the SDK (OpenAI)", _SDK),
    ("openai", "the async SDK (AsyncOpenAI)", _ASYNC_SDK),
    ("curl", "a newer curl", _A_NEWER_CURL),
]


def _entry(headers: dict[str, str]) -> dict:
    return {"method": "POST", "path": "/v1/chat/completions", "headers": dict(headers), "body": None}


def _with_capitalised_names(which_client, headers: dict[str, str]) -> object:
    """What which_client says for these headers with names written as curl and requests write them."""
    named = {"-".join(part.capitalize() for part in name.split("-")): value for name, value in headers.items()}
    try:
        return which_client(_entry(named))
    except Exception:  # noqa: BLE001 — only a diagnosis
        return None


@exercise("04.1", hints=[
    "Every client names itself in one header of each request it sends: look at the log entries of section 3.",
    "The user-agent: curl sends 'curl/…', requests 'python-requests/…', the SDK 'OpenAI/Python …' "
    "(AsyncOpenAI 'AsyncOpenAI/Python …'). Clients write header names in different cases: lower-case them "
    "first.",
    code(
        'def which_client(entry):',
        '    headers = {name.lower(): value for name, value in entry["headers"].items()}   # names are case-insensitive',
        '    agent = headers.get("user-agent", "")',
        '    if agent.startswith("curl/"):',
        '        return "curl"',
        '    if agent.startswith("python-requests/"):',
        '        return "requests"',
        '    if "openai" in agent.lower() or "x-stainless-lang" in headers:',
        '        return "openai"',
        '    return None',
    ),
])
def _(which_client):
    require(callable(which_client), "which_client should be a function: def which_client(entry): ...")
    for expected, label, headers in _CASES:
        try:
            got = which_client(_entry(headers))
        except KeyError as exc:
            raise NotYet(f"which_client raised KeyError {exc} on the request from {label}: that header isn't there "
                         "under that exact name. The SDK sends 'user-agent' in lower case; use .get() on "
                         "lower-cased names.") from None
        if got is None and label == "curl":
            require(False, "which_client returned None for a request from curl. Replace the ... with code that returns "
                           "'curl', 'requests' or 'openai': the user-agent header names the client.")
        if got != expected and label.startswith("the SDK"):
            agent = headers["user-agent"]
            if got == "requests":
                require(False, f"For a request from the SDK it returned 'requests': the SDK's user-agent, {agent!r}, "
                               "has 'Python' in it too. requests' own user-agent starts with 'python-requests/': "
                               "test for that, not for 'python'.")
            if _with_capitalised_names(which_client, headers) == expected:
                require(False, f"For a request from the SDK it returned {got!r}, not 'openai'. The SDK writes header "
                               "names in lower case ('user-agent'), so headers['User-Agent'] finds nothing there: "
                               "compare header names without caring about case.")
            require(False, f"For a request from the SDK (user-agent {agent!r}) it returned {got!r}, not 'openai'. "
                           "Look for 'openai' in the user-agent, in any case: 'openai' in agent.lower().")
        if got != expected and "async" in label:
            require(False, f"For a request from AsyncOpenAI (user-agent 'AsyncOpenAI/Python …') it returned {got!r}. "
                           "That's the SDK too: return 'openai'.")
        if got != expected and label == "a newer curl":
            require(False, f"For curl 8.11.1 it returned {got!r}. Don't match one exact version: "
                           "check that the user-agent starts with 'curl/'.")
        require(got == expected, f"For a request from {label} it returned {got!r}; it should return {expected!r}. "
                                 f"Its user-agent was {headers.get('User-Agent') or headers.get('user-agent')!r}.")
    return "Headers are how a server tells clients apart, and header names are case-insensitive."


@exercise("04.2", hints=[
    "json= did two things for you: it turned BODY into bytes, and it added a header. With data= both are yours to do.",
    "json.dumps(BODY, ensure_ascii=False, separators=(',', ':')) is the compact text and .encode('utf-8') "
    "makes it bytes. The missing header is 'Content-Type': 'application/json'.",
    code(
        'compact_headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}',
        'body_bytes = json.dumps(BODY, ensure_ascii=False, separators=(",", ":")).encode("utf-8")',
        'compact_response = requests.post(f"{BASE_URL}/chat/completions", headers=compact_headers, data=body_bytes, timeout=60)',
    ),
])
def _(compact_response, body_bytes):
    require(not is_blank(body_bytes), "Replace the ... after body_bytes = with BODY as compact JSON, turned into bytes.")
    require(not isinstance(body_bytes, str),
            "body_bytes is still text (a str). Call .encode('utf-8') on it: on the wire a body is bytes, and "
            "encoding it yourself means you decide how the Chinese becomes bytes.")
    require(isinstance(body_bytes, bytes), f"body_bytes should be bytes, not {type(body_bytes).__name__}.")
    try:
        body_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise NotYet("body_bytes isn't UTF-8: JSON on the wire is UTF-8, and Kimi reads it so. "
                     "Encode the text with .encode('utf-8').") from None
    try:
        decoded = json.loads(body_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotYet(f"body_bytes isn't valid JSON ({exc.__class__.__name__}). Build it with json.dumps(BODY, ...).") from None
    require(isinstance(decoded, dict) and "model" in decoded and "messages" in decoded,
            "body_bytes should hold the whole BODY, with its model and messages.")
    require(b"\\u" not in body_bytes, "The Chinese is still escaped as \\u…: pass ensure_ascii=False to json.dumps.")
    compact = json.dumps(decoded, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    require(body_bytes == compact, "There are still spaces in it (after ',' or ':', or new lines): "
                                   "pass separators=(',', ':') to json.dumps and no indent.")
    require(not is_blank(compact_response), "Now send it: compact_response = requests.post(..., data=body_bytes).")
    require(isinstance(compact_response, requests.Response),
            f"compact_response should be what requests.post(...) returned, not a {type(compact_response).__name__}.")
    sent = compact_response.request
    require(sent.body == body_bytes, "The request you sent didn't carry body_bytes as its body: pass data=body_bytes "
                                     "(json= would write its own, spaced-out body).")
    require(sent.headers.get("Authorization", "").startswith("Bearer "),
            "Your request had no Authorization header: keep compact_headers' Authorization and pass headers=compact_headers.")
    content_type = sent.headers.get("Content-Type")
    require(content_type is not None, "Your request had no Content-Type header. With data=, requests doesn't add one: "
                                      "add 'Content-Type': 'application/json' to compact_headers.")
    require(content_type.split(";")[0].strip() == "application/json",
            f"Your Content-Type was {content_type!r}; a JSON body needs 'application/json'.")
    if compact_response.status_code != 200:
        try:
            message = compact_response.json()["error"]["message"]
        except Exception:
            message = compact_response.text[:200]
        require(False, f"The server answered {compact_response.status_code}: {message}")
    spaced = len(json.dumps(decoded).encode("utf-8"))
    return (f"Your body was {len(body_bytes)} bytes on the wire, where json= would have sent {spaced}: "
            "the same JSON, the SDK's way.")
