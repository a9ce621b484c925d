"""Checkers for notebooks/01_curl.ipynb.

01.1  send a chat request with curl (the path and the Authorization header), output captured with `out = !curl ...`
01.2  pick the answer, finish_reason and total_tokens out of a reply
01.3  make the lab's temperature work with the course's model, read with `curl -i`

The curl checkers read what curl printed (that works in every mode). In replay and record mode they also look at
what the local server received (helpers.last_request()) to say precisely what to fix; in live mode requests go
straight to Kimi and nothing is logged, so the response alone has to do.

Example:
    >>> parse_http_output('HTTP/1.1 401 Unauthorized\\r\\nContent-Type: application/json\\r\\n\\r\\n{"error": {}}')
    (401, {'error': {}})
    >>> parse_http_output('{"id": "x"}')
    (None, {'id': 'x'})
"""
from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit

from . import code, exercise, is_blank, learner, require

INTRODUCE = "用一句话介绍你自己"
AUTH_TYPES = ("invalid_authentication_error", "incorrect_api_key_error")
STATUS_LINE = re.compile(r"^HTTP/[\d.]+ (\d{3})")


def output_text(out: Any) -> str:
    """What `out = !curl ...` captured (an IPython SList, a list of lines) as one string."""
    if isinstance(out, str):
        return out
    return "\n".join(str(line) for line in out)


def parse_http_output(text: str) -> tuple[int | None, Any]:
    """(status, JSON body) from curl's output; status is None without -i, the body None when there's no JSON."""
    text = text.replace("\r", "")
    status = None
    blocks = text.split("\n\n")
    # curl -i prints one header block per response (e.g. "HTTP/1.1 100 Continue" first): skip them all.
    while blocks and (match := STATUS_LINE.match(blocks[0].lstrip())):
        status = int(match.group(1))
        blocks = blocks[1:]
    body_text = "\n\n".join(blocks)
    start = body_text.find("{")
    if start < 0:
        return status, None
    try:
        body, _ = json.JSONDecoder().raw_decode(body_text[start:])
    except json.JSONDecodeError:
        return status, None
    return status, body


def _error(body: Any) -> tuple[str, str] | None:
    """(type, message) of an error body: Kimi's {"error": {...}} or the gateway's {"error": "url.not_found"}."""
    if not isinstance(body, dict) or "error" not in body:
        return None
    err = body["error"]
    if isinstance(err, dict):
        return str(err.get("type", "")), str(err.get("message", ""))
    return str(err), str(body.get("message", ""))


def _logged(prompt: str | None = None) -> dict[str, Any] | None:
    """The local server's last request if it is the learner's (replay/record); None in live mode or when unsure."""
    try:
        from ..course import current, last_request

        if current().server is None:  # live mode: the request went straight to Kimi, nothing was logged
            return None
        entry = last_request()
    except Exception:  # noqa: BLE001 — the log is a bonus; the response is enough
        return None
    if not entry or (prompt is not None and prompt not in json.dumps(entry.get("body"), ensure_ascii=False)):
        return None
    return entry


def _header(entry: dict[str, Any], name: str) -> str | None:
    for key, value in entry.get("headers", {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _auth_advice(entry: dict[str, Any] | None) -> str:
    if entry is not None:
        auth = _header(entry, "Authorization")
        if auth is None:
            return ("your request had no Authorization header. Add "
                    "-H \"Authorization: Bearer $MOONSHOT_API_KEY\".")
        scheme, space, _ = auth.strip().partition(" ")
        if not space or not scheme.isalpha():  # the log shows the key alone as ***
            return ("your Authorization header held the key alone, without the word Bearer and a space in front. "
                    "On the wire it should read `Authorization: Bearer <your key>`, so write "
                    "-H \"Authorization: Bearer $MOONSHOT_API_KEY\".")
        if scheme.lower() != "bearer":
            return (f"your Authorization header starts with the word {scheme!r}; Kimi expects Bearer: "
                    "-H \"Authorization: Bearer $MOONSHOT_API_KEY\".")
    return ("the key was missing or not accepted. Write -H \"Authorization: Bearer $MOONSHOT_API_KEY\" with double "
            "quotes: inside single quotes the shell sends the text $MOONSHOT_API_KEY instead of the key.")


def _curl_trouble(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("curl: ("):
            return line.strip()
    return None


_OFFLINE = ("Your key and the URL are not the problem: check the network connection (or a proxy or firewall), "
            "or work offline: set KIMI_MODE=replay in .env and restart the kernel.")


KIMI_HOSTS = ("api.moonshot.cn", "api.moonshot.ai")


def _kimi_host_unreachable(host: str, base: str, local: bool, what: str) -> str:
    """Kimi's own host, written out instead of $KIMI_BASE_URL, and the network doesn't reach it."""
    if local:
        return (f" Your computer couldn't {what} {host}: that is the network, not the URL's spelling. In this mode "
                f"requests go to the local server, so write $KIMI_BASE_URL ({base}), then /chat/completions.")
    return (f" Your computer couldn't {what} {host}: that is the network, not your key. (Your key belongs with "
            f"$KIMI_BASE_URL, {base}: write that rather than the host.) {_OFFLINE}")


def _failure_advice(trouble: str) -> str:
    """What to do about curl's own error line: the network, the local server, or the URL the learner typed."""
    base = os.environ.get("KIMI_BASE_URL", "")
    base_host = urlsplit(base).hostname or ""
    local = base_host in ("127.0.0.1", "localhost")
    url_advice = f" Check the URL: it should start with $KIMI_BASE_URL ({base}), then /chat/completions."
    found = re.search(r"Could not resolve proxy: ([^\s:/]+)", trouble)
    if found:
        return (f" Your computer couldn't look up the proxy {found.group(1)} (set in your environment's proxy "
                f"variables): that is the network's settings, not your request. {_OFFLINE}")
    found = re.search(r"Could not resolve host: ([^\s:/]+)", trouble)
    if found:
        host = found.group(1)
        if host == base_host and not local:
            return f" Your computer couldn't look up {host}: it seems to have no network. {_OFFLINE}"
        if host in KIMI_HOSTS:
            return _kimi_host_unreachable(host, base, local, "look up")
        return f" There is no host called {host}.{url_advice}"
    found = re.search(r"(?:Failed to connect to|connect to) ([^\s]+) port (\d+)", trouble)
    if found or "Couldn't connect to server" in trouble or "Connection refused" in trouble:
        host = found.group(1) if found else base_host
        if host in ("127.0.0.1", "localhost") and local:
            if found and urlsplit(base).port is not None and found.group(2) != str(urlsplit(base).port):
                return f" Nothing listens on port {found.group(2)}.{url_advice}"
            return (" The course's local server isn't answering: restart the kernel (Kernel → Restart) and run the "
                    "notebook's first cell, start(), again.")
        if host == base_host:
            return f" Your computer couldn't connect to {host}. {_OFFLINE}"
        if host in KIMI_HOSTS:
            return _kimi_host_unreachable(host, base, local, "connect to")
        return f" Nothing answered at {host}.{url_advice}"
    if trouble.startswith(("curl: (28)", "curl: (56)", "curl: (52)", "curl: (35)", "curl: (60)")):
        return f" The connection to the API broke down or timed out: that is the network, not your request. {_OFFLINE}"
    if trouble.startswith("curl: (3)"):
        return " curl couldn't read the URL (a space or a quote inside it?)." + url_advice
    return url_advice


def _curl_output(out: Any, flags: str) -> str:
    """What the learner's `out = !curl ...` printed, once it is there and curl itself didn't fail."""
    require(not is_blank(out), "Run the exercise cell first: it sets out.")
    text = output_text(out)
    require(text.strip(), f"curl printed nothing. Keep {flags} and run the cell again.")
    trouble = _curl_trouble(text)
    if trouble is not None:
        require(False, f"curl itself failed: {trouble}.{_failure_advice(trouble)}")
    return text


# ---------------------------------------------------------------------------------------------------------------------
@exercise("01.1", hints=[
    "Section 1's table has both pieces: the endpoint that answers chat messages, and the header your key travels in.",
    "The path is /chat/completions. The header is Authorization: the word Bearer, a space, then "
    "$MOONSHOT_API_KEY, inside double quotes so that the shell fills it in.",
    code(
        'out = !curl -sS $KIMI_BASE_URL/chat/completions \\',
        '  -H "Content-Type: application/json" \\',
        '  -H "Authorization: Bearer $MOONSHOT_API_KEY" \\',
        '  -d \'{"model": "\'"$KIMI_MODEL"\'", \\',
        '       "messages": [{"role": "user", "content": "用一句话介绍你自己"}]}\'',
    ),
])
def _(out):
    text = _curl_output(out, "-sS (silent, but still show errors)")
    _, body = parse_http_output(text)
    require(body is not None, f"curl's output isn't JSON: {text[:80]!r}. Did the request reach the API?")
    entry = _logged(INTRODUCE)
    err = _error(body)
    if err is not None:
        kind, message = err
        if kind == "url.not_found":
            path = entry["path"] if entry else None
            where = f"Your request went to {path}, a path" if path else "Your request went to a path"
            extra = ""
            if entry is not None and _header(entry, "Authorization") is None:
                extra = " Then the key: your request had no Authorization header yet."
            require(False, f"{where} the API doesn't have (404 url.not_found). The chat endpoint is "
                           f"$KIMI_BASE_URL/chat/completions.{extra}")
        if kind in AUTH_TYPES:
            also = ""
            if entry is not None and not entry["path"].rstrip("/").endswith("/chat/completions"):
                also = (f" Then the path: your request went to {entry['path']}; the chat endpoint is "
                        "$KIMI_BASE_URL/chat/completions.")
            require(False, f"Kimi answered 401 ({message}): {_auth_advice(entry)}{also}")
        require(kind != "recording_not_found_error",
                f"Replay mode has no answer for that exact request. Keep the body as given (the message "
                f"{INTRODUCE!r}, the model from $KIMI_MODEL). The server said: {message}")
        require(False, f"Kimi answered with an error, {kind}: {message}")
    require(body.get("object") == "chat.completion" and body.get("choices"),
            f"That JSON isn't a chat completion: {json.dumps(body, ensure_ascii=False)[:100]}")
    if entry is not None:
        require(entry["path"].rstrip("/").endswith("/chat/completions"),
                f"The answer came back, but from {entry['path']}: use $KIMI_BASE_URL/chat/completions.")
    content = body["choices"][0].get("message", {}).get("content", "")
    return f"Kimi answered: {content}"


# ---------------------------------------------------------------------------------------------------------------------
@exercise("01.2", hints=[
    "reply is a dict: section 5's table says where each of the three lives in it.",
    "choices is a list, so take [0] first. The answer is in its message's content, finish_reason sits next "
    "to message, and the token counts are in reply[\"usage\"].",
    code(
        'answer = reply["choices"][0]["message"]["content"]',
        'finish_reason = reply["choices"][0]["finish_reason"]',
        'total_tokens = reply["usage"]["total_tokens"]',
    ),
])
def _(reply, answer, finish_reason, total_tokens):
    require(isinstance(reply, dict) and reply.get("choices"),
            "reply isn't a chat completion: run the cells of section 5 again (they set reply).")
    where = {"answer": "reply[\"choices\"][0][\"message\"][\"content\"]",
             "finish_reason": "reply[\"choices\"][0][\"finish_reason\"]",
             "total_tokens": "reply[\"usage\"][\"total_tokens\"]"}
    for name, value in learner.typed_values(learner.exercise_cell("01.2"), tuple(where)).items():
        require(False, f"You typed {name}'s value ({value!r}) yourself. Read it from reply, {where[name]}, so that "
                       "it is right for any reply"
                       + (" (one cut off by max_tokens says \"length\")." if name == "finish_reason" else "."))
    choice = reply["choices"][0]
    message = choice["message"]
    require(not is_blank(answer), "Fill in answer (replace the ...).")
    require(not isinstance(answer, list), "answer is a list: that's choices. Take [0], then [\"message\"], then [\"content\"].")
    require(not isinstance(answer, dict) or "message" not in answer,
            "answer is a whole choice: go one step further, [\"message\"][\"content\"].")
    require(not isinstance(answer, dict), "answer is the whole message (a dict): take its [\"content\"].")
    require(answer != message.get("reasoning_content"),
            "That's reasoning_content: the model's thinking before it answers. The answer itself is in content.")
    require(answer == message["content"], f"answer should be the text of the reply's message, not {answer!r}.")
    require(not is_blank(finish_reason), "Fill in finish_reason (replace the ...).")
    require(finish_reason == choice["finish_reason"],
            f"finish_reason should come from the reply: reply[\"choices\"][0][\"finish_reason\"], not {finish_reason!r}.")
    require(not is_blank(total_tokens), "Fill in total_tokens (replace the ...).")
    usage = reply["usage"]
    require(not isinstance(total_tokens, dict), "total_tokens is the whole usage dict: take its [\"total_tokens\"].")
    require(total_tokens != usage["prompt_tokens"] or usage["prompt_tokens"] == usage["total_tokens"],
            "That's prompt_tokens, what your messages cost. total_tokens counts the answer (and the thinking) too.")
    require(total_tokens != usage["completion_tokens"] or usage["completion_tokens"] == usage["total_tokens"],
            "That's completion_tokens, what the answer cost. total_tokens adds the prompt's tokens.")
    require(total_tokens == usage["total_tokens"], f"total_tokens should be reply[\"usage\"][\"total_tokens\"], "
                                                   f"not {total_tokens!r}.")
    return (f"finish_reason {finish_reason!r} means the model ended on its own; \"length\" would mean it ran out of "
            "tokens mid-answer.")


# ---------------------------------------------------------------------------------------------------------------------
@exercise("01.3", hints=[
    "Run it once with the ... as it is and read what Kimi says: the 400 message names the problem.",
    "The course's model fixes its temperature while it thinks: it accepts only 1. Send 1, or leave the "
    "field out (mind the comma before it).",
    code(
        '# With this model, leave temperature out ("temperature": 1 works too: the one value it allows while thinking).',
        'out = !curl -sS -i $KIMI_BASE_URL/chat/completions \\',
        '  -H "Content-Type: application/json" \\',
        '  -H "Authorization: Bearer $MOONSHOT_API_KEY" \\',
        '  -d \'{"model": "\'"$KIMI_MODEL"\'", \\',
        '       "messages": [{"role": "user", "content": "你好，我叫李雷，1+1等于多少？"}]}\'',
    ),
])
def _(out):
    text = _curl_output(out, "-sS -i")
    status, body = parse_http_output(text)
    require(status is not None, "Keep the -i in the command: it prints the status line this check reads.")
    err = _error(body)
    if status != 200 or err is not None:
        kind, message = err if err else ("", "")
        require("not valid JSON" not in message and "body is empty" not in message,
                f"HTTP {status}: the body isn't valid JSON yet. Replace the ... with a number, or delete "
                "`, \"temperature\": ...` (the comma before it too).")
        require("only" not in message or "temperature" not in message,
                f"HTTP {status}: Kimi says \"{message}\". This model fixes its temperature: leave the field out, "
                "or send the one value it allows.")
        require("temperature" not in message,
                f"HTTP {status}: \"{message}\". Kimi's temperature range is 0 to 1 (not OpenAI's 0 to 2).")
        require(kind not in AUTH_TYPES, f"HTTP {status}: {message}. Keep the Authorization header as given.")
        require(kind != "recording_not_found_error",
                "Replay mode has answers for this body without temperature, or with temperature 1; keep the rest "
                f"as given. The server said: {message}")
        require(False, f"HTTP {status}: {kind}: {message}")
    require(isinstance(body, dict) and body.get("choices"), "HTTP 200, but the body isn't a chat completion.")
    return "HTTP 200. With this model, leave temperature out: the next lessons do."
