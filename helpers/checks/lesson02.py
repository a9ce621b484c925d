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
from ..language import Said
from . import code, exercise, is_blank, require, say
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


def _check_auth_header(headers: Any, where: Said) -> None:
    auth = headers.get("Authorization")
    require(auth is not None, where + say(" had no Authorization header: Kimi needs it to know who is asking.",
                                          "没有 Authorization 请求头：Kimi 要靠它知道是谁在发请求。"))
    require(not is_blank(auth), say("Replace the ... after session_1.headers[\"Authorization\"] = with "
                                    "\"Bearer \" and the key from os.environ.",
                                    "把 session_1.headers[\"Authorization\"] = 后面的 ... 换成 \"Bearer \" "
                                    "加上 os.environ 里的密钥。"))
    require(isinstance(auth, str), say(f"The Authorization header should be a string, not {type(auth).__name__}.",
                                       f"Authorization 请求头应该是字符串，而不是 {type(auth).__name__}。"))
    require(auth.startswith("Bearer "), say("The Authorization header should start with the word Bearer and one space, "
                                            "then the key: f\"Bearer {os.environ['MOONSHOT_API_KEY']}\".",
                                            "Authorization 请求头应该以单词 Bearer 和一个空格开头，后面接密钥："
                                            "f\"Bearer {os.environ['MOONSHOT_API_KEY']}\"。"))
    require(auth[len("Bearer "):] == _key(), say("The key in your Authorization header isn't the one in "
                                                 "os.environ[\"MOONSHOT_API_KEY\"]. Read it from there; never type a key.",
                                                 "你的 Authorization 请求头里的密钥和 os.environ[\"MOONSHOT_API_KEY\"] "
                                                 "里的不一样。请从那里读取，千万不要手动输入密钥。"))


@exercise("02.1", hints=[
    say("A Session has a headers dict of its own, and every request it sends carries those headers.",
        "Session 有自己的 headers 字典，它发出的每个请求都会带上这些请求头。"),
    say("The header's value is f\"Bearer {os.environ['MOONSHOT_API_KEY']}\". A session posts like requests does: "
        "session_1.post(url, json=body, timeout=...).",
        "这个请求头的值是 f\"Bearer {os.environ['MOONSHOT_API_KEY']}\"。Session 发 POST 请求的写法和 requests "
        "一样：session_1.post(url, json=body, timeout=...)。"),
    code(
        'session_1 = requests.Session()',
        'session_1.headers["Authorization"] = f"Bearer {os.environ[\'MOONSHOT_API_KEY\']}"',
        'response_1 = session_1.post(url, json=body, timeout=60)',
    ),
])
def _(session, response):
    require(isinstance(session, requests.Session), say("Keep session_1 = requests.Session() as the cell had it.",
                                                       "保留单元格里原有的 session_1 = requests.Session()。"))
    _check_auth_header(session.headers, say("Your session", "你的会话"))
    require(not is_blank(response), say("Replace the ... after response_1 = with session_1.post(...).",
                                        "把 response_1 = 后面的 ... 换成 session_1.post(...)。"))
    require(isinstance(response, requests.Response),
            say(f"response_1 should be what session_1.post(...) returns (a requests Response), not {type(response).__name__}.",
                f"response_1 应该是 session_1.post(...) 的返回值（一个 requests 的 Response），"
                f"而不是 {type(response).__name__}。"))
    sent = response.request
    require(response.connection is session.get_adapter(sent.url),
            say("response_1 didn't come from session_1: you sent it with requests.post(...) (or another session), so "
                "the session's Authorization header never went along. Send it with session_1.post(url, json=body, "
                "timeout=60).",
                "response_1 不是 session_1 发出去的：你用的是 requests.post(...)（或者另一个 session），所以会话里的 "
                "Authorization 请求头根本没有带上。请用 session_1.post(url, json=body, timeout=60) 发送。"))
    require(sent.method == "POST", say(f"Your request used {sent.method}; a chat request is a POST.",
                                       f"你的请求用的是 {sent.method}；聊天请求应该是 POST。"))
    require(sent.url.split("?")[0].endswith("/chat/completions"),
            say("Your request went to a URL that doesn't end in /chat/completions: use url from §2.",
                "你的请求发到了一个不以 /chat/completions 结尾的 URL：请使用 §2 里的 url。"))
    _check_auth_header(sent.headers, say("Your request", "你的请求"))
    content_type = sent.headers.get("Content-Type")
    require(content_type is not None, say("Your request had no Content-Type header, so it didn't say its body is JSON. "
                                          "Pass the dict with json=body and requests adds the header for you.",
                                          "你的请求没有 Content-Type 请求头，所以它没有说明请求体是 JSON。"
                                          "用 json=body 传入字典，requests 会替你加上这个请求头。"))
    require(content_type.startswith("application/json"),
            say(f"Your request said Content-Type: {content_type}. Pass the dict with json=body, not data=.",
                f"你的请求声明的是 Content-Type: {content_type}。请用 json=body 传入字典，而不是 data=。"))
    try:
        body = _sent_json(sent)
    except ValueError:
        body = None
    require(isinstance(body, dict), say("The body you sent isn't a JSON object: pass the dict with json=body.",
                                        "你发送的请求体不是 JSON 对象：请用 json=body 传入字典。"))
    require(body.get("model") == _model(), say(f"Your body's model is {body.get('model')!r}; use course.model "
                                               "(the body from §3 has it).",
                                               f"你的请求体里的 model 是 {body.get('model')!r}；请使用 course.model"
                                               "（§3 的 body 里就是它）。"))
    require("temperature" not in body, say("Leave temperature out: the course's model fixes its own.",
                                           "不要写 temperature：课程用的模型有它自己固定的 temperature。"))
    require(body.get("messages") == [{"role": "user", "content": PARAPHRASE_PROMPT}],
            say("Send the paraphrase request: the body from §3, whose only message is the user's PARAPHRASE_PROMPT.",
                "发送改写请求：用 §3 的 body，它只有一条消息，就是用户的 PARAPHRASE_PROMPT。"))
    require(_had_timeout(session, sent.url, "02.1"),
            say("Your request went out without a timeout: without one, a server that never answers keeps your program "
                "waiting for ever. Add timeout=60 to session_1.post(...).",
                "你的请求发出时没有设置超时：没有超时，一个永远不回答的服务器会让你的程序一直等下去。"
                "给 session_1.post(...) 加上 timeout=60。"))
    require(response.status_code == 200, say(f"Kimi answered {response.status_code}: {_kimi_reason(response)}",
                                              f"Kimi 返回了 {response.status_code}：{_kimi_reason(response)}"))
    answer = response.json()["choices"][0]["message"]["content"]
    posts = learner.calls(learner.exercise_cell("02.1"), "post")
    if any("headers" in learner.keywords(call) for call in posts):
        return say("It works, but you passed headers= as well: the session already carries the Authorization header, "
                   f"so session_1.post(url, json=body, timeout=60) is enough. Kimi answered: {answer}",
                   "能通过，但你还额外传了 headers=：会话本身已经带着 Authorization 请求头，"
                   f"所以 session_1.post(url, json=body, timeout=60) 就够了。Kimi 的回答：{answer}")
    return say(f"The session added the key by itself. Kimi answered: {answer}",
               f"会话自己加上了密钥。Kimi 的回答：{answer}")


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
    say("Two blanks: a list with one more message in front, and the method of a Response that turns an error "
        "status into an exception (section 6).",
        "有两处空白：一个在最前面多放一条消息的列表，以及 Response 上把错误状态码变成异常的那个方法（第 6 节）。"),
    say("[{\"role\": \"system\", \"content\": system}] + messages puts the system message first; "
        "response.raise_for_status() raises requests.HTTPError for any 4xx or 5xx answer.",
        "[{\"role\": \"system\", \"content\": system}] + messages 把系统消息放在最前面；"
        "只要响应是 4xx 或 5xx，response.raise_for_status() 就会抛出 requests.HTTPError。"),
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
    require(callable(fn), say("kimi_chat_with_system should be the function the cell defines: run that cell first.",
                              "kimi_chat_with_system 应该是那个单元格定义的函数：先运行那个单元格。"))

    # 1. With a system prompt: the lab's system prompt and Li Lei's question.
    error = None
    with _watch_requests() as sent:
        try:
            answer = fn(HELLO, system=LAB_SYSTEM_PROMPT)
        except Exception as exc:  # reported below, as feedback
            error = exc
    if not sent:
        require(error is None, say(f"Your function raised {type(error).__name__} before it sent anything: {error}. "
                                   "Did you replace the first ... with a list?",
                                   f"你的函数还没发出任何请求就抛出了 {type(error).__name__}：{error}。"
                                   "你把第一个 ... 换成列表了吗？"))
        require(False, say("Your function sent no request.", "你的函数没有发出任何请求。"))
    prepared, options = sent[-1]
    body = _sent_json(prepared)
    messages = body.get("messages")
    require(messages is not None, say("Your function sent \"messages\": null. list.append(...) changes a list in place "
                                      "and returns None: build the new list instead, "
                                      "[{\"role\": \"system\", \"content\": system}] + messages.",
                                      "你的函数发送的是 \"messages\": null。list.append(...) 会原地修改列表并返回 "
                                      "None：请改为构建一个新列表，"
                                      "[{\"role\": \"system\", \"content\": system}] + messages。"))
    require(not isinstance(messages, dict), say("Your function sent one message, not a list: put the system message and "
                                                "the user's in one list, [{...system...}] + messages.",
                                                "你的函数发送的是一条消息，而不是列表：把系统消息和用户消息放进同一个"
                                                "列表，[{...system...}] + messages。"))
    require(isinstance(messages, list) and messages and messages[0] == {"role": "system", "content": LAB_SYSTEM_PROMPT},
            say("With system=..., the first message should be {\"role\": \"system\", \"content\": system}. "
                f"Your function sent: {json.dumps(messages, ensure_ascii=False)[:120]}",
                "传了 system=... 时，第一条消息应该是 {\"role\": \"system\", \"content\": system}。"
                f"你的函数发送的是：{json.dumps(messages, ensure_ascii=False)[:120]}"))
    require(messages[1:] == [{"role": "user", "content": HELLO}],
            say("After the system message comes the user's message, once, and nothing else.",
                "系统消息后面是用户的消息，只有一条，此外什么都没有。"))
    timeout = options.get("timeout")
    require(timeout is not None, say("Your request went out without a timeout: pass timeout=timeout to requests.post().",
                                     "你的请求发出时没有设置超时：给 requests.post() 传入 timeout=timeout。"))
    require(error is None, say(f"Kimi got the right request, but your function raised {type(error).__name__}: {error}",
                               f"Kimi 收到的请求是对的，但你的函数抛出了 {type(error).__name__}：{error}"))
    require(isinstance(answer, str) and answer, say(f"The function should return the answer text, not {answer!r}.",
                                                    f"这个函数应该返回回答的文本，而不是 {answer!r}。"))

    # 2. Without a system prompt: only the user's message.
    error = None
    with _watch_requests() as sent:
        try:
            fn(WHAT_CAN_YOU_DO)
        except Exception as exc:  # reported below, as feedback
            error = exc
    require(sent, say(f"Called without a system prompt, your function raised {type(error).__name__} before it sent "
                      f"anything: {error}",
                      f"不带系统提示词调用时，你的函数还没发出任何请求就抛出了 {type(error).__name__}：{error}"))
    body = _sent_json(sent[-1][0])
    require(body.get("messages") == [{"role": "user", "content": WHAT_CAN_YOU_DO}],
            say("Without a system prompt, send only the user's message (no system message with content None).",
                "没有系统提示词时，只发送用户的消息（不要发一条 content 为 None 的系统消息）。"))
    require("temperature" not in body, say("Without temperature=..., leave temperature out of the body.",
                                           "没有传 temperature=... 时，请求体里就不要有 temperature。"))
    require(error is None, say(f"Called without a system prompt, your function raised {type(error).__name__}: {error}",
                               f"不带系统提示词调用时，你的函数抛出了 {type(error).__name__}：{error}"))

    # 3. A temperature Kimi refuses: the function must raise, not reach for choices.
    with _watch_requests() as sent:
        try:
            result = fn(WHAT_CAN_YOU_DO, temperature=0.5)
        except KeyError as exc:
            source = learner.exercise_cell("02.2") or ""
            require(not re.search(r"raise_for_status\b(?!\s*\()", source),
                    say("Kimi refused temperature 0.5 with a 400, and your function went on to read choices: "
                        "response.raise_for_status without () only names the method. Call it: "
                        "response.raise_for_status().",
                        "Kimi 用 400 拒绝了 temperature 0.5，你的函数却接着去读 choices：不带 () 的 "
                        "response.raise_for_status 只是写出了这个方法，并没有调用它。请调用它："
                        "response.raise_for_status()。"))
            require(False, say(f"Kimi refused temperature 0.5 with a 400, and your function failed with KeyError: {exc}: "
                               "it read choices from an error body. Check the status first: response.raise_for_status().",
                               f"Kimi 用 400 拒绝了 temperature 0.5，你的函数因 KeyError 失败：{exc}：它从错误响应体里"
                               "读取 choices。先检查状态码：response.raise_for_status()。"))
        except Exception:
            result = None
        else:
            require(False, say(f"Kimi answered 400, but your function returned {result!r} instead of raising. "
                               "Check the status before reading the answer: response.raise_for_status().",
                               f"Kimi 返回了 400，你的函数却没有抛出异常，而是返回了 {result!r}。"
                               "读取回答之前先检查状态码：response.raise_for_status()。"))
    require(sent and _sent_json(sent[-1][0]).get("temperature") == 0.5,
            say("With temperature=0.5, the body should carry \"temperature\": 0.5.",
                "传了 temperature=0.5 时，请求体里应该有 \"temperature\": 0.5。"))
    return say("A system prompt when you want one, a timeout, and an error you can't miss when Kimi says no.",
               "需要时带上系统提示词，设置好超时，Kimi 拒绝时抛出一个你不会忽略的错误。")


EXPECTED_ROLES = ["system", "user", "assistant", "user", "assistant", "user"]


def _history_problem(messages: list[Any]) -> Said | None:
    """What is wrong with §10's `messages` (four messages: system, user, Kimi's reply, 我叫什么名字？), or None."""
    expected = [("system", LAB_SYSTEM_PROMPT), ("user", HELLO), ("assistant", None), ("user", ASK_NAME)]
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in (
                "system", "user", "assistant"):
            shown = repr(m)[:60]
            return say(f"messages[{i}] is not a message dict with a role and a text content ({shown})",
                       f"messages[{i}] 不是带 role 和文本 content 的消息字典（{shown}）")
        if i < 4 and (m["role"] != expected[i][0] or (expected[i][1] is not None and m["content"] != expected[i][1])):
            return say(f"messages[{i}] should be the {expected[i][0]} message of §10, and is {repr(m)[:60]}",
                       f"messages[{i}] 应该是 §10 里的 {expected[i][0]} 消息，现在却是 {repr(m)[:60]}")
    if len(messages) != 4:
        return say(f"it now holds {len(messages)} messages instead of 4",
                   f"它现在有 {len(messages)} 条消息，而不是 4 条")
    return None


def _section_10_cells() -> Said:
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
        return say("the §10 cells (the one that builds messages, then the one that appends reply_1 and asks 我叫什么名字？)",
                   "§10 的单元格（先是构建 messages 的那个，然后是追加 reply_1 并问 我叫什么名字？ 的那个）")
    labels = [c.label() for c in chosen]
    return say(", then ".join(labels), "，然后是 ".join(labels))


@exercise("02.3", hints=[
    say("A conversation is one list of messages in order: the old ones, then Kimi's reply, then the new question.",
        "一段对话就是一个按顺序排列的消息列表：先是之前的消息，然后是 Kimi 的回复，最后是新的问题。"),
    say("messages + [...] makes a new list from the old one. Kimi's reply is a message with the role "
        "\"assistant\", the new question one with the role \"user\".",
        "messages + [...] 会在旧列表的基础上生成一个新列表。Kimi 的回复是一条 role 为 \"assistant\" 的消息，"
        "新的问题是一条 role 为 \"user\" 的消息。"),
    code(
        'summary_question = "用一句话总结我们刚才的对话。"',
        'messages_3 = messages + [',
        '    {"role": "assistant", "content": reply_2},',
        '    {"role": "user", "content": summary_question},',
        ']',
    ),
])
def _(messages_3, reply_2):
    require(not is_blank(messages_3), say("Replace the ... after messages_3 = with the list of messages to send.",
                                          "把 messages_3 = 后面的 ... 换成要发送的消息列表。"))
    messages = learner.namespace().get("messages")
    now = [m.get("role") if isinstance(m, dict) else m for m in messages] if isinstance(messages, list) else None
    # appending to messages itself is fine once (then messages_3 is messages, with six messages)
    appended_once = messages is messages_3 and now == EXPECTED_ROLES
    problem = None if now is None or appended_once else _history_problem(messages)
    corrupted = problem is not None
    # (problem or ""): rerun is shown only when there is a problem
    rerun = (say("messages has changed since §10: ", "§10 之后 messages 被改动了：") + (problem or "")
             + say(". Re-run ", "。请重新运行 ") + _section_10_cells()
             + say(" (they rebuild messages), then run this exercise cell once.",
                   "（它们会重新构建 messages），然后把这个练习单元格运行一次。"))
    if messages_3 is None:
        require(False, say("messages_3 is None: list.append(...) changes the list in place and returns None. ",
                           "messages_3 是 None：list.append(...) 会原地修改列表，并返回 None。")
                       + (rerun + say(" Build messages_3 as a new list: messages + [ ... two dicts ... ].",
                                      "把 messages_3 构建成一个新列表：messages + [ ... 两个字典 ... ]。") if corrupted else
                          say("Build a new list instead: messages_3 = messages + [ ... two dicts ... ].",
                              "请改为构建一个新列表：messages_3 = messages + [ ... 两个字典 ... ]。")))
    require(isinstance(messages_3, list), say(f"messages_3 should be a list of messages, not {type(messages_3).__name__}.",
                                              f"messages_3 应该是一个消息列表，而不是 {type(messages_3).__name__}。"))
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages_3]
    if len(roles) > len(EXPECTED_ROLES) and roles[:6] == EXPECTED_ROLES:
        require(False, say(f"Your list has {len(roles)} messages: did you run an append cell twice? ",
                           f"你的列表里有 {len(roles)} 条消息：是不是把某个 append 单元格运行了两次？")
                       + (rerun if corrupted else say("Re-run §10 (it rebuilds messages), then build messages_3 once.",
                                                      "重新运行 §10（它会重新构建 messages），然后只构建一次 messages_3。")))
    require(not corrupted, rerun)  # before judging messages_3: it is built from messages
    require(all(isinstance(m, dict) for m in messages_3),
            say("Each message should be a dict like {\"role\": \"user\", \"content\": \"...\"}.",
                "每条消息都应该是像 {\"role\": \"user\", \"content\": \"...\"} 这样的字典。"))
    require(roles == EXPECTED_ROLES, say(f"Your list's roles are {roles}; a third turn sends {EXPECTED_ROLES}: "
                                         "the four messages of §10, Kimi's reply, the new question.",
                                         f"你的列表里各条消息的 role 依次是 {roles}；第三轮对话要发送的是 "
                                         f"{EXPECTED_ROLES}：§10 的四条消息、Kimi 的回复、新的问题。"))
    require(all(isinstance(m.get("content"), str) and m.get("content") for m in messages_3),
            say("Every message needs its text as a non-empty string under \"content\".",
                "每条消息的文本都要放在 \"content\" 下，而且是非空字符串。"))
    require(messages_3[0]["content"] == LAB_SYSTEM_PROMPT and messages_3[1]["content"] == HELLO
            and messages_3[3]["content"] == ASK_NAME,
            say("The first four messages should be the ones in messages (from §10), unchanged.",
                "前四条消息应该就是 messages（来自 §10）里的那几条，原样不动。"))
    require(messages_3[4]["content"] == reply_2, say("The fifth message should be Kimi's last reply, reply_2, word for word.",
                                                     "第五条消息应该是 Kimi 上一次的回复 reply_2，一字不差。"))
    question = learner.namespace().get("summary_question", SUMMARIZE)
    require(messages_3[5]["content"] == question, say("The last message should be the new question, summary_question.",
                                                      "最后一条消息应该是新的问题 summary_question。"))
    from ..course import current
    if current().mode == "replay":
        require(messages_3[5]["content"] == SUMMARIZE,
                say(f"You changed the question to {messages_3[5]['content']!r}. Replay mode has Kimi's answer only for "
                    f"the question as given, {SUMMARIZE!r}: put summary_question back as it was (in live mode, with your "
                    "own key, you can ask anything).",
                    f"你把问题改成了 {messages_3[5]['content']!r}。回放模式里只有 Kimi 对原来那个问题 {SUMMARIZE!r} "
                    "的回答：请把 summary_question 改回原样（在在线模式下用你自己的密钥，想问什么都可以）。"))
    response = requests.post(_chat_url(), headers={"Authorization": f"Bearer {_key()}"},
                             json={"model": _model(), "messages": messages_3}, timeout=120)
    require(response.status_code == 200, say(f"The list is right, but Kimi answered {response.status_code}: "
                                             f"{_kimi_reason(response)}",
                                             f"列表是对的，但 Kimi 返回了 {response.status_code}："
                                             f"{_kimi_reason(response)}"))
    answer = response.json()["choices"][0]["message"]["content"]
    return say(f"The whole conversation went along, so Kimi could sum it up: {answer}",
               f"整段对话都一起发了过去，所以 Kimi 能把它总结出来：{answer}")
