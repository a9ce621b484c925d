"""Checkers for notebook 02 (requests): a Session, kimi_chat() with a system prompt, one more turn.

They look at what really went on the wire: `response.request` (the PreparedRequest requests sent),
and for functions, the requests they send while the checker calls them. That works in every mode.
"""
from __future__ import annotations

import ast
import json
import os
import re
from contextlib import contextmanager
from typing import Any, Iterator

import requests

from ..lab import ARTICLE_QUESTION as WHAT_CAN_YOU_DO
from ..lab import HELLO_LILEI as HELLO
from ..lab import LAB_SYSTEM_PROMPT, PARAPHRASE_PROMPT
from . import code, exercise, is_blank, require
from . import learner

ASK_NAME = "我叫什么名字？"
SUMMARIZE = "用一句话总结我们刚才的对话。"


def _model() -> str:
    from ..course import current
    return current().model


def _key() -> str | None:
    return os.environ.get("MOONSHOT_API_KEY")


def _chat_url() -> str:
    return os.environ["KIMI_BASE_URL"].rstrip("/") + "/chat/completions"


def _sent_json(prepared: requests.PreparedRequest) -> Any:
    body = prepared.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body) if isinstance(body, str) and body else None


def _kimi_reason(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


@contextmanager
def _watch_requests() -> Iterator[list[tuple[requests.PreparedRequest, dict[str, Any]]]]:
    """Record every request requests sends (the PreparedRequest and send()'s keyword arguments)."""
    sent: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []
    original = requests.Session.send

    def send(self, request, **kwargs):
        sent.append((request, kwargs))
        return original(self, request, **kwargs)

    requests.Session.send = send  # type: ignore[method-assign]  # watching every Session, then restoring it
    try:
        yield sent
    finally:
        requests.Session.send = original  # type: ignore[method-assign]


def _check_auth_header(headers: Any, where: str) -> None:
    auth = headers.get("Authorization")
    require(auth is not None, f"{where} had no Authorization header: Kimi needs it to know who is asking.")
    require(not is_blank(auth), "Replace the ... after session_1.headers[\"Authorization\"] = with "
                                "\"Bearer \" and the key from os.environ.")
    require(isinstance(auth, str), f"The Authorization header should be a string, not {type(auth).__name__}.")
    require(auth.startswith("Bearer "), "The Authorization header should start with the word Bearer and one space, "
                                        "then the key: f\"Bearer {os.environ['MOONSHOT_API_KEY']}\".")
    require(auth[len("Bearer "):] == _key(), "The key in your Authorization header isn't the one in "
                                            "os.environ[\"MOONSHOT_API_KEY\"]. Read it from there; never type a key.")


@exercise("02.1", hints=[
    "A Session has a headers dict of its own, and every request it sends carries those headers.",
    "The header's value is f\"Bearer {os.environ['MOONSHOT_API_KEY']}\". A session posts like requests does: "
    "session_1.post(url, json=body, timeout=...).",
    code(
        'session_1 = requests.Session()',
        'session_1.headers["Authorization"] = f"Bearer {os.environ[\'MOONSHOT_API_KEY\']}"',
        'response_1 = session_1.post(url, json=body, timeout=60)',
    ),
])
def _(session, response):
    require(isinstance(session, requests.Session), "Keep session_1 = requests.Session() as the cell had it.")
    _check_auth_header(session.headers, "Your session")
    require(not is_blank(response), "Replace the ... after response_1 = with session_1.post(...).")
    require(isinstance(response, requests.Response),
            f"response_1 should be what session_1.post(...) returns (a requests Response), not {type(response).__name__}.")
    sent = response.request
    require(response.connection is session.get_adapter(sent.url),
            "response_1 didn't come from session_1: you sent it with requests.post(...) (or another session), so "
            "the session's Authorization header never went along. Send it with session_1.post(url, json=body, "
            "timeout=60).")
    require(sent.method == "POST", f"Your request used {sent.method}; a chat request is a POST.")
    require(sent.url.split("?")[0].endswith("/chat/completions"),
            "Your request went to a URL that doesn't end in /chat/completions: use url from §2.")
    _check_auth_header(sent.headers, "Your request")
    content_type = sent.headers.get("Content-Type")
    require(content_type is not None, "Your request had no Content-Type header, so it didn't say its body is JSON. "
                                      "Pass the dict with json=body and requests adds the header for you.")
    require(content_type.startswith("application/json"),
            f"Your request said Content-Type: {content_type}. Pass the dict with json=body, not data=.")
    try:
        body = _sent_json(sent)
    except ValueError:
        body = None
    require(isinstance(body, dict), "The body you sent isn't a JSON object: pass the dict with json=body.")
    require(body.get("model") == _model(), f"Your body's model is {body.get('model')!r}; use course.model "
                                           "(the body from §3 has it).")
    require("temperature" not in body, "Leave temperature out: the course's model fixes its own.")
    require(body.get("messages") == [{"role": "user", "content": PARAPHRASE_PROMPT}],
            "Send the paraphrase request: the body from §3, whose only message is the user's PARAPHRASE_PROMPT.")
    require(_had_timeout(session, sent.url, "02.1"),
            "Your request went out without a timeout: without one, a server that never answers keeps your program "
            "waiting for ever. Add timeout=60 to session_1.post(...).")
    require(response.status_code == 200, f"Kimi answered {response.status_code}: {_kimi_reason(response)}")
    answer = response.json()["choices"][0]["message"]["content"]
    posts = learner.calls(learner.exercise_cell("02.1"), "post")
    if any("headers" in learner.keywords(call) for call in posts):
        return ("It works, but you passed headers= as well: the session already carries the Authorization header, "
                f"so session_1.post(url, json=body, timeout=60) is enough. Kimi answered: {answer}")
    return f"The session added the key by itself. Kimi answered: {answer}"


def _had_timeout(session: requests.Session, url: str, exercise_id: str) -> bool:
    """Whether the request went out with a timeout: from the exercise cell when there is one (a notebook), else
    from the connection it used, which keeps the timeout it was opened with."""
    posts = learner.calls(learner.exercise_cell(exercise_id), "post")
    if posts and not any(k.arg is None for call in posts for k in call.keywords):  # **options: can't tell from here
        return any(_is_a_timeout(learner.keywords(call).get("timeout")) for call in posts)
    adapter = session.get_adapter(url)
    if not isinstance(adapter, requests.adapters.HTTPAdapter):
        return True  # a custom adapter: nothing to read the timeout from
    pools = adapter.poolmanager.pools
    queues = [pools[key].pool for key in list(pools.keys())]
    connections = [c for queue in queues if queue is not None for c in list(queue.queue) if c is not None]
    return not connections or any(c.timeout is not None for c in connections)


def _is_a_timeout(value: Any) -> bool:
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


@exercise("02.2", hints=[
    "Two blanks: a list with one more message in front, and the method of a Response that turns an error "
    "status into an exception (section 6).",
    "[{\"role\": \"system\", \"content\": system}] + messages puts the system message first; "
    "response.raise_for_status() raises requests.HTTPError for any 4xx or 5xx answer.",
    code(
        'def kimi_chat_with_system(user_message, system=None, model=None, temperature=None, timeout=60):',
        '    messages = [{"role": "user", "content": user_message}]',
        '    if system is not None:',
        '        messages = [{"role": "system", "content": system}] + messages',
        '    body = {"model": model or course.model, "messages": messages}',
        '    if temperature is not None:',
        '        body["temperature"] = temperature',
        '    response = requests.post(CHAT_URL, headers=HEADERS, json=body, timeout=timeout)',
        '    response.raise_for_status()',
        '    return response.json()["choices"][0]["message"]["content"]',
    ),
])
def _(kimi_chat_with_system):
    fn = kimi_chat_with_system
    require(callable(fn), "kimi_chat_with_system should be the function the cell defines: run that cell first.")

    # 1. With a system prompt: the lab's system prompt and Li Lei's question.
    error = None
    with _watch_requests() as sent:
        try:
            answer = fn(HELLO, system=LAB_SYSTEM_PROMPT)
        except Exception as exc:  # reported below, as feedback
            error = exc
    if not sent:
        require(error is None, f"Your function raised {type(error).__name__} before it sent anything: {error}. "
                               "Did you replace the first ... with a list?")
        require(False, "Your function sent no request.")
    prepared, options = sent[-1]
    body = _sent_json(prepared)
    messages = body.get("messages")
    require(messages is not None, "Your function sent \"messages\": null. list.append(...) changes a list in place "
                                  "and returns None: build the new list instead, "
                                  "[{\"role\": \"system\", \"content\": system}] + messages.")
    require(not isinstance(messages, dict), "Your function sent one message, not a list: put the system message and "
                                            "the user's in one list, [{...system...}] + messages.")
    require(isinstance(messages, list) and messages and messages[0] == {"role": "system", "content": LAB_SYSTEM_PROMPT},
            "With system=..., the first message should be {\"role\": \"system\", \"content\": system}. "
            f"Your function sent: {json.dumps(messages, ensure_ascii=False)[:120]}")
    require(messages[1:] == [{"role": "user", "content": HELLO}],
            "After the system message comes the user's message, once, and nothing else.")
    timeout = options.get("timeout")
    require(timeout is not None, "Your request went out without a timeout: pass timeout=timeout to requests.post().")
    require(error is None, f"Kimi got the right request, but your function raised {type(error).__name__}: {error}")
    require(isinstance(answer, str) and answer, f"The function should return the answer text, not {answer!r}.")

    # 2. Without a system prompt: only the user's message.
    error = None
    with _watch_requests() as sent:
        try:
            fn(WHAT_CAN_YOU_DO)
        except Exception as exc:  # reported below, as feedback
            error = exc
    require(sent, f"Called without a system prompt, your function raised {type(error).__name__} before it sent "
                  f"anything: {error}")
    body = _sent_json(sent[-1][0])
    require(body.get("messages") == [{"role": "user", "content": WHAT_CAN_YOU_DO}],
            "Without a system prompt, send only the user's message (no system message with content None).")
    require("temperature" not in body, "Without temperature=..., leave temperature out of the body.")
    require(error is None, f"Called without a system prompt, your function raised {type(error).__name__}: {error}")

    # 3. A temperature Kimi refuses: the function must raise, not reach for choices.
    with _watch_requests() as sent:
        try:
            result = fn(WHAT_CAN_YOU_DO, temperature=0.5)
        except KeyError as exc:
            source = learner.exercise_cell("02.2") or ""
            require(not re.search(r"raise_for_status\b(?!\s*\()", source),
                    "Kimi refused temperature 0.5 with a 400, and your function went on to read choices: "
                    "response.raise_for_status without () only names the method. Call it: response.raise_for_status().")
            require(False, f"Kimi refused temperature 0.5 with a 400, and your function failed with KeyError: {exc}: "
                           "it read choices from an error body. Check the status first: response.raise_for_status().")
        except Exception:
            result = None
        else:
            require(False, f"Kimi answered 400, but your function returned {result!r} instead of raising. "
                           "Check the status before reading the answer: response.raise_for_status().")
    require(sent and _sent_json(sent[-1][0]).get("temperature") == 0.5,
            "With temperature=0.5, the body should carry \"temperature\": 0.5.")
    return "A system prompt when you want one, a timeout, and an error you can't miss when Kimi says no."


EXPECTED_ROLES = ["system", "user", "assistant", "user", "assistant", "user"]


def _history_problem(messages: list[Any]) -> str | None:
    """What is wrong with §10's `messages` (four messages: system, user, Kimi's reply, 我叫什么名字？), or None."""
    expected = [("system", LAB_SYSTEM_PROMPT), ("user", HELLO), ("assistant", None), ("user", ASK_NAME)]
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in (
                "system", "user", "assistant"):
            shown = repr(m)[:60]
            return f"messages[{i}] is not a message dict with a role and a text content ({shown})"
        if i < 4 and (m["role"] != expected[i][0] or (expected[i][1] is not None and m["content"] != expected[i][1])):
            return f"messages[{i}] should be the {expected[i][0]} message of §10, and is {repr(m)[:60]}"
    if len(messages) != 4:
        return f"it now holds {len(messages)} messages instead of 4"
    return None


def _section_10_cells() -> str:
    """The §10 cells that build `messages`, named as the learner sees them (their first lines)."""
    from .prerequisites import cells_before, lesson_cells, lesson_path

    path = lesson_path("02")
    try:
        cells = lesson_cells(path) if path else ()
        exercise = next(c for c in cells if c.first_line.startswith("# Exercise 02.3"))
        chosen = [c for c in cells_before(cells, exercise.index, ["messages", "reply_2"]) if c.section == "10"]
    except (StopIteration, OSError, ValueError):
        chosen = []
    if not chosen:
        return "the §10 cells (the one that builds messages, then the one that appends reply_1 and asks 我叫什么名字？)"
    return ", then ".join(c.label() for c in chosen)


@exercise("02.3", hints=[
    "A conversation is one list of messages in order: the old ones, then Kimi's reply, then the new question.",
    "messages + [...] makes a new list from the old one. Kimi's reply is a message with the role "
    "\"assistant\", the new question one with the role \"user\".",
    code(
        'summary_question = "用一句话总结我们刚才的对话。"',
        'messages_3 = messages + [',
        '    {"role": "assistant", "content": reply_2},',
        '    {"role": "user", "content": summary_question},',
        ']',
    ),
])
def _(messages_3, reply_2):
    require(not is_blank(messages_3), "Replace the ... after messages_3 = with the list of messages to send.")
    messages = learner.namespace().get("messages")
    now = [m.get("role") if isinstance(m, dict) else m for m in messages] if isinstance(messages, list) else None
    # appending to messages itself is fine once (then messages_3 is messages, with six messages)
    appended_once = messages is messages_3 and now == EXPECTED_ROLES
    problem = None if now is None or appended_once else _history_problem(messages)
    corrupted = problem is not None
    rerun = (f"messages has changed since §10: {problem}. Re-run {_section_10_cells()} (they rebuild messages), then "
             "run this exercise cell once.")
    if messages_3 is None:
        require(False, "messages_3 is None: list.append(...) changes the list in place and returns None. "
                       + (rerun + " Build messages_3 as a new list: messages + [ ... two dicts ... ]." if corrupted else
                          "Build a new list instead: messages_3 = messages + [ ... two dicts ... ]."))
    require(isinstance(messages_3, list), f"messages_3 should be a list of messages, not {type(messages_3).__name__}.")
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages_3]
    if len(roles) > len(EXPECTED_ROLES) and roles[:6] == EXPECTED_ROLES:
        require(False, f"Your list has {len(roles)} messages: did you run an append cell twice? "
                       + (rerun if corrupted else "Re-run §10 (it rebuilds messages), then build messages_3 once."))
    require(not corrupted, rerun)  # before judging messages_3: it is built from messages
    require(all(isinstance(m, dict) for m in messages_3),
            "Each message should be a dict like {\"role\": \"user\", \"content\": \"...\"}.")
    require(roles == EXPECTED_ROLES, f"Your list's roles are {roles}; a third turn sends {EXPECTED_ROLES}: "
                                     "the four messages of §10, Kimi's reply, the new question.")
    require(all(isinstance(m.get("content"), str) and m.get("content") for m in messages_3),
            "Every message needs its text as a non-empty string under \"content\".")
    require(messages_3[0]["content"] == LAB_SYSTEM_PROMPT and messages_3[1]["content"] == HELLO
            and messages_3[3]["content"] == ASK_NAME,
            "The first four messages should be the ones in messages (from §10), unchanged.")
    require(messages_3[4]["content"] == reply_2, "The fifth message should be Kimi's last reply, reply_2, word for word.")
    question = learner.namespace().get("summary_question", SUMMARIZE)
    require(messages_3[5]["content"] == question, "The last message should be the new question, summary_question.")
    from ..course import current
    if current().mode == "replay":
        require(messages_3[5]["content"] == SUMMARIZE,
                f"You changed the question to {messages_3[5]['content']!r}. Replay mode has Kimi's answer only for "
                f"the question as given, {SUMMARIZE!r}: put summary_question back as it was (in live mode, with your "
                "own key, you can ask anything).")
    response = requests.post(_chat_url(), headers={"Authorization": f"Bearer {_key()}"},
                             json={"model": _model(), "messages": messages_3}, timeout=120)
    require(response.status_code == 200, f"The list is right, but Kimi answered {response.status_code}: "
                                         f"{_kimi_reason(response)}")
    answer = response.json()["choices"][0]["message"]["content"]
    return f"The whole conversation went along, so Kimi could sum it up: {answer}"
