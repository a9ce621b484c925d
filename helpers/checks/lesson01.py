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

from . import Message, Said, code, exercise, is_blank, learner, require, say

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


def _auth_advice(entry: dict[str, Any] | None) -> Said:
    if entry is not None:
        auth = _header(entry, "Authorization")
        if auth is None:
            return say("your request had no Authorization header. Add "
                       "-H \"Authorization: Bearer $MOONSHOT_API_KEY\".",
                       "你的请求没有 Authorization 请求头。加上 -H \"Authorization: Bearer $MOONSHOT_API_KEY\"。")
        scheme, space, _ = auth.strip().partition(" ")
        if not space or not scheme.isalpha():  # the log shows the key alone as ***
            return say("your Authorization header held the key alone, without the word Bearer and a space in front. "
                       "On the wire it should read `Authorization: Bearer <your key>`, so write "
                       "-H \"Authorization: Bearer $MOONSHOT_API_KEY\".",
                       "你的 Authorization 请求头里只有密钥本身，前面少了 Bearer 这个词和一个空格。实际发出去的应该是 "
                       "`Authorization: Bearer <your key>`，所以要写 -H \"Authorization: Bearer $MOONSHOT_API_KEY\"。")
        if scheme.lower() != "bearer":
            return say(f"your Authorization header starts with the word {scheme!r}; Kimi expects Bearer: "
                       "-H \"Authorization: Bearer $MOONSHOT_API_KEY\".",
                       f"你的 Authorization 请求头以 {scheme!r} 这个词开头；Kimi 要求的是 Bearer："
                       "-H \"Authorization: Bearer $MOONSHOT_API_KEY\"。")
    return say("the key was missing or not accepted. Write -H \"Authorization: Bearer $MOONSHOT_API_KEY\" with double "
               "quotes: inside single quotes the shell sends the text $MOONSHOT_API_KEY instead of the key.",
               "密钥缺失，或者没有被接受。写 -H \"Authorization: Bearer $MOONSHOT_API_KEY\"，并且要用双引号："
               "在单引号里，shell 发出去的是 $MOONSHOT_API_KEY 这串文字本身，而不是你的密钥。")


def _curl_trouble(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("curl: ("):
            return line.strip()
    return None


_OFFLINE = say("Your key and the URL are not the problem: check the network connection (or a proxy or firewall), "
               "or work offline: set KIMI_MODE=replay in .env and restart the kernel.",
               "问题不在你的密钥和 URL：检查网络连接（或者代理、防火墙），或者改为离线学习：在 .env 里设置 "
               "KIMI_MODE=replay，然后重启内核。")


KIMI_HOSTS = ("api.moonshot.cn", "api.moonshot.ai")
_WHAT_ZH = {"look up": "解析", "connect to": "连接到"}   # what the computer couldn't do, in the Chinese messages


def _kimi_host_unreachable(host: str, base: str, local: bool, what: str) -> Said:
    """Kimi's own host, written out instead of $KIMI_BASE_URL, and the network doesn't reach it."""
    if local:
        return say(f" Your computer couldn't {what} {host}: that is the network, not the URL's spelling. In this mode "
                   f"requests go to the local server, so write $KIMI_BASE_URL ({base}), then /chat/completions.",
                   f"你的电脑无法{_WHAT_ZH[what]} {host}：这是网络的问题，不是 URL 拼错了。在这个模式下，请求发往"
                   f"本地服务器，所以要写 $KIMI_BASE_URL（{base}），后面再接 /chat/completions。")
    return say(f" Your computer couldn't {what} {host}: that is the network, not your key. (Your key belongs with "
               f"$KIMI_BASE_URL, {base}: write that rather than the host.) ",
               f"你的电脑无法{_WHAT_ZH[what]} {host}：这是网络的问题，不是你的密钥。（你的密钥对应的是 "
               f"$KIMI_BASE_URL，也就是 {base}：请写它，而不是直接写主机名。）") + _OFFLINE


def _failure_advice(trouble: str) -> str:
    """What to do about curl's own error line, in the language being spoken (_failure_said gives both)."""
    return str(_failure_said(trouble))


def _failure_said(trouble: str) -> Said:
    """What to do about curl's own error line: the network, the local server, or the URL the learner typed."""
    base = os.environ.get("KIMI_BASE_URL", "")
    base_host = urlsplit(base).hostname or ""
    local = base_host in ("127.0.0.1", "localhost")
    url_advice = say(f" Check the URL: it should start with $KIMI_BASE_URL ({base}), then /chat/completions.",
                     f"检查 URL：它应该以 $KIMI_BASE_URL（{base}）开头，后面接 /chat/completions。")
    found = re.search(r"Could not resolve proxy: ([^\s:/]+)", trouble)
    if found:
        return say(f" Your computer couldn't look up the proxy {found.group(1)} (set in your environment's proxy "
                   f"variables): that is the network's settings, not your request. ",
                   f"你的电脑无法解析代理 {found.group(1)}（它设置在你环境里的代理变量中）：这是网络设置的问题，"
                   "不是你的请求。") + _OFFLINE
    found = re.search(r"Could not resolve host: ([^\s:/]+)", trouble)
    if found:
        host = found.group(1)
        if host == base_host and not local:
            return say(f" Your computer couldn't look up {host}: it seems to have no network. ",
                       f"你的电脑无法解析 {host}：它好像没有联网。") + _OFFLINE
        if host in KIMI_HOSTS:
            return _kimi_host_unreachable(host, base, local, "look up")
        return say(f" There is no host called {host}.", f"不存在叫 {host} 的主机。") + url_advice
    found = re.search(r"(?:Failed to connect to|connect to) ([^\s]+) port (\d+)", trouble)
    if found or "Couldn't connect to server" in trouble or "Connection refused" in trouble:
        host = found.group(1) if found else base_host
        if host in ("127.0.0.1", "localhost") and local:
            if found and urlsplit(base).port is not None and found.group(2) != str(urlsplit(base).port):
                return say(f" Nothing listens on port {found.group(2)}.",
                           f"端口 {found.group(2)} 上没有程序在监听。") + url_advice
            return say(" The course's local server isn't answering: restart the kernel (Kernel → Restart) and run the "
                       "notebook's first cell, start(), again.",
                       "课程的本地服务器没有响应：重启内核（Kernel → Restart），再运行一次笔记本的第一个单元格 start()。")
        if host == base_host:
            return say(f" Your computer couldn't connect to {host}. ", f"你的电脑无法连接到 {host}。") + _OFFLINE
        if host in KIMI_HOSTS:
            return _kimi_host_unreachable(host, base, local, "connect to")
        return say(f" Nothing answered at {host}.", f"{host} 没有任何响应。") + url_advice
    if trouble.startswith(("curl: (28)", "curl: (56)", "curl: (52)", "curl: (35)", "curl: (60)")):
        return say(" The connection to the API broke down or timed out: that is the network, not your request. ",
                   "和 API 的连接中断了，或者超时了：这是网络的问题，不是你的请求。") + _OFFLINE
    if trouble.startswith("curl: (3)"):
        return say(" curl couldn't read the URL (a space or a quote inside it?).",
                   "curl 无法识别这个 URL（里面是不是有空格或引号？）。") + url_advice
    return url_advice


def _curl_output(out: Any, flags: Message) -> str:
    """What the learner's `out = !curl ...` printed, once it is there and curl itself didn't fail."""
    require(not is_blank(out), say("Run the exercise cell first: it sets out.", "先运行练习单元格：out 是由它设置的。"))
    text = output_text(out)
    require(text.strip(), say("curl printed nothing. Keep ", "curl 什么也没输出。保留 ") + flags
            + say(" and run the cell again.", "，然后重新运行这个单元格。"))
    trouble = _curl_trouble(text)
    if trouble is not None:
        require(False, say(f"curl itself failed: {trouble}.", f"curl 本身出错了：{trouble}。") + _failure_said(trouble))
    return text


# ---------------------------------------------------------------------------------------------------------------------
@exercise("01.1", hints=[
    say("Section 1's table has both pieces: the endpoint that answers chat messages, and the header your key travels in.",
        "第 1 节的表格里两样都有：回答聊天消息的接口，以及携带 API 密钥的请求头。"),
    say("The path is /chat/completions. The header is Authorization: the word Bearer, a space, then "
        "$MOONSHOT_API_KEY, inside double quotes so that the shell fills it in.",
        "路径是 /chat/completions。请求头是 Authorization：先写 Bearer 这个词，加一个空格，再写 $MOONSHOT_API_KEY；"
        "整个放在双引号里，shell 才会把它替换成你的密钥。"),
    code(
        'out = !curl -sS $KIMI_BASE_URL/chat/completions \\',
        '  -H "Content-Type: application/json" \\',
        '  -H "Authorization: Bearer $MOONSHOT_API_KEY" \\',
        '  -d \'{"model": "\'"$KIMI_MODEL"\'", \\',
        '       "messages": [{"role": "user", "content": "用一句话介绍你自己"}]}\'',
    ),
])
def _(out):
    text = _curl_output(out, say("-sS (silent, but still show errors)", "-sS（静默，但仍然显示错误）"))
    _, body = parse_http_output(text)
    require(body is not None, say(f"curl's output isn't JSON: {text[:80]!r}. Did the request reach the API?",
                                  f"curl 的输出不是 JSON：{text[:80]!r}。请求到达 API 了吗？"))
    entry = _logged(INTRODUCE)
    err = _error(body)
    if err is not None:
        kind, message = err
        if kind == "url.not_found":
            path = entry["path"] if entry else None
            where = (say(f"Your request went to {path}, a path", f"你的请求发到了 {path}，API 没有这个路径") if path
                     else say("Your request went to a path", "你的请求发到了一个 API 没有的路径"))
            extra = ""
            if entry is not None and _header(entry, "Authorization") is None:
                extra = say(" Then the key: your request had no Authorization header yet.",
                            "然后是密钥：你的请求还没有 Authorization 请求头。")
            require(False, where + say(" the API doesn't have (404 url.not_found). The chat endpoint is "
                                       "$KIMI_BASE_URL/chat/completions.",
                                       "（404 url.not_found）。聊天接口是 $KIMI_BASE_URL/chat/completions。") + extra)
        if kind in AUTH_TYPES:
            also = ""
            if entry is not None and not entry["path"].rstrip("/").endswith("/chat/completions"):
                also = say(f" Then the path: your request went to {entry['path']}; the chat endpoint is "
                           "$KIMI_BASE_URL/chat/completions.",
                           f"还有路径：你的请求发到了 {entry['path']}；聊天接口是 $KIMI_BASE_URL/chat/completions。")
            require(False, say(f"Kimi answered 401 ({message}): ", f"Kimi 返回了 401（{message}）：")
                    + _auth_advice(entry) + also)
        require(kind != "recording_not_found_error",
                say(f"Replay mode has no answer for that exact request. Keep the body as given (the message "
                    f"{INTRODUCE!r}, the model from $KIMI_MODEL). The server said: {message}",
                    f"回放模式里没有和这个请求完全一致的回答。请求体请保持原样（消息是 {INTRODUCE!r}，"
                    f"模型来自 $KIMI_MODEL）。服务器的回复：{message}"))
        require(False, say(f"Kimi answered with an error, {kind}: {message}", f"Kimi 返回了一个错误，{kind}：{message}"))
    require(body.get("object") == "chat.completion" and body.get("choices"),
            say(f"That JSON isn't a chat completion: {json.dumps(body, ensure_ascii=False)[:100]}",
                f"这段 JSON 不是一个 chat completion：{json.dumps(body, ensure_ascii=False)[:100]}"))
    if entry is not None:
        require(entry["path"].rstrip("/").endswith("/chat/completions"),
                say(f"The answer came back, but from {entry['path']}: use $KIMI_BASE_URL/chat/completions.",
                    f"回答是收到了，但它来自 {entry['path']}：请用 $KIMI_BASE_URL/chat/completions。"))
    content = body["choices"][0].get("message", {}).get("content", "")
    return say(f"Kimi answered: {content}", f"Kimi 的回答：{content}")


# ---------------------------------------------------------------------------------------------------------------------
@exercise("01.2", hints=[
    say("reply is a dict: section 5's table says where each of the three lives in it.",
        "reply 是一个 dict：第 5 节的表格写明了这三项分别在它的什么位置。"),
    say("choices is a list, so take [0] first. The answer is in its message's content, finish_reason sits next "
        "to message, and the token counts are in reply[\"usage\"].",
        "choices 是一个列表，所以先取 [0]。回答在它的 message 的 content 里，finish_reason 和 message 并列，"
        "token 数在 reply[\"usage\"] 里。"),
    code(
        'answer = reply["choices"][0]["message"]["content"]',
        'finish_reason = reply["choices"][0]["finish_reason"]',
        'total_tokens = reply["usage"]["total_tokens"]',
    ),
])
def _(reply, answer, finish_reason, total_tokens):
    require(isinstance(reply, dict) and reply.get("choices"),
            say("reply isn't a chat completion: run the cells of section 5 again (they set reply).",
                "reply 不是一个 chat completion：重新运行第 5 节的单元格（reply 是由它们设置的）。"))
    where = {"answer": "reply[\"choices\"][0][\"message\"][\"content\"]",
             "finish_reason": "reply[\"choices\"][0][\"finish_reason\"]",
             "total_tokens": "reply[\"usage\"][\"total_tokens\"]"}
    for name, value in learner.typed_values(learner.exercise_cell("01.2"), tuple(where)).items():
        require(False, say(f"You typed {name}'s value ({value!r}) yourself. Read it from reply, {where[name]}, so that "
                           "it is right for any reply"
                           + (" (one cut off by max_tokens says \"length\")." if name == "finish_reason" else "."),
                           f"{name} 的值（{value!r}）是你自己敲进去的。请从 reply 里读取：{where[name]}，"
                           "这样换成任何回答都对"
                           + ("（被 max_tokens 截断的回答会是 \"length\"）。" if name == "finish_reason" else "。")))
    choice = reply["choices"][0]
    message = choice["message"]
    require(not is_blank(answer), say("Fill in answer (replace the ...).", "填上 answer（替换 ...）。"))
    require(not isinstance(answer, list),
            say("answer is a list: that's choices. Take [0], then [\"message\"], then [\"content\"].",
                "answer 是一个列表：那是 choices。先取 [0]，再取 [\"message\"]，然后是 [\"content\"]。"))
    require(not isinstance(answer, dict) or "message" not in answer,
            say("answer is a whole choice: go one step further, [\"message\"][\"content\"].",
                "answer 是整个 choice：再往下走一步，[\"message\"][\"content\"]。"))
    require(not isinstance(answer, dict), say("answer is the whole message (a dict): take its [\"content\"].",
                                              "answer 是整个 message（一个 dict）：取它的 [\"content\"]。"))
    require(answer != message.get("reasoning_content"),
            say("That's reasoning_content: the model's thinking before it answers. The answer itself is in content.",
                "这是 reasoning_content：模型在回答之前的思考内容。回答本身在 content 里。"))
    require(answer == message["content"], say(f"answer should be the text of the reply's message, not {answer!r}.",
                                              f"answer 应该是回答中 message 的文本，而不是 {answer!r}。"))
    require(not is_blank(finish_reason), say("Fill in finish_reason (replace the ...).",
                                             "填上 finish_reason（替换 ...）。"))
    require(finish_reason == choice["finish_reason"],
            say(f"finish_reason should come from the reply: reply[\"choices\"][0][\"finish_reason\"], not {finish_reason!r}.",
                f"finish_reason 应该从回答里读取：reply[\"choices\"][0][\"finish_reason\"]，而不是 {finish_reason!r}。"))
    require(not is_blank(total_tokens), say("Fill in total_tokens (replace the ...).", "填上 total_tokens（替换 ...）。"))
    usage = reply["usage"]
    require(not isinstance(total_tokens, dict),
            say("total_tokens is the whole usage dict: take its [\"total_tokens\"].",
                "total_tokens 是整个 usage dict：取它的 [\"total_tokens\"]。"))
    require(total_tokens != usage["prompt_tokens"] or usage["prompt_tokens"] == usage["total_tokens"],
            say("That's prompt_tokens, what your messages cost. total_tokens counts the answer (and the thinking) too.",
                "这是 prompt_tokens，也就是你发送的消息消耗的 token 数。total_tokens 还包括回答（以及思考）的部分。"))
    require(total_tokens != usage["completion_tokens"] or usage["completion_tokens"] == usage["total_tokens"],
            say("That's completion_tokens, what the answer cost. total_tokens adds the prompt's tokens.",
                "这是 completion_tokens，也就是回答消耗的 token 数。total_tokens 还要再加上 prompt 的 token 数。"))
    require(total_tokens == usage["total_tokens"],
            say(f"total_tokens should be reply[\"usage\"][\"total_tokens\"], not {total_tokens!r}.",
                f"total_tokens 应该是 reply[\"usage\"][\"total_tokens\"]，而不是 {total_tokens!r}。"))
    return say(f"finish_reason {finish_reason!r} means the model ended on its own; \"length\" would mean it ran out of "
               "tokens mid-answer.",
               f"finish_reason 是 {finish_reason!r}，说明模型是自己结束回答的；如果是 \"length\"，就说明它答到一半"
               "用完了 token。")


# ---------------------------------------------------------------------------------------------------------------------
@exercise("01.3", hints=[
    say("Run it once with the ... as it is and read what Kimi says: the 400 message names the problem.",
        "先保留 ... 原样运行一次，看看 Kimi 怎么说：400 错误的信息会点明问题在哪里。"),
    say("The course's model fixes its temperature while it thinks: it accepts only 1. Send 1, or leave the "
        "field out (mind the comma before it).",
        "课程用的模型在思考时 temperature 是固定的：只接受 1。传 1，或者干脆去掉这个字段（注意它前面的逗号）。"),
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
    require(status is not None, say("Keep the -i in the command: it prints the status line this check reads.",
                                    "保留命令里的 -i：它会打印状态行，这个检查要读它。"))
    err = _error(body)
    if status != 200 or err is not None:
        kind, message = err if err else ("", "")
        require("not valid JSON" not in message and "body is empty" not in message,
                say(f"HTTP {status}: the body isn't valid JSON yet. Replace the ... with a number, or delete "
                    "`, \"temperature\": ...` (the comma before it too).",
                    f"HTTP {status}：请求体还不是合法的 JSON。把 ... 换成一个数字，或者删掉 "
                    "`, \"temperature\": ...`（连同它前面的逗号）。"))
        require("only" not in message or "temperature" not in message,
                say(f"HTTP {status}: Kimi says \"{message}\". This model fixes its temperature: leave the field out, "
                    "or send the one value it allows.",
                    f"HTTP {status}：Kimi 说 \"{message}\"。这个模型的 temperature 是固定的：去掉这个字段，"
                    "或者传它唯一允许的那个值。"))
        require("temperature" not in message,
                say(f"HTTP {status}: \"{message}\". Kimi's temperature range is 0 to 1 (not OpenAI's 0 to 2).",
                    f"HTTP {status}：\"{message}\"。Kimi 的 temperature 范围是 0 到 1（不是 OpenAI 的 0 到 2）。"))
        require(kind not in AUTH_TYPES, say(f"HTTP {status}: {message}. Keep the Authorization header as given.",
                                            f"HTTP {status}：{message}。Authorization 请求头请保持原样。"))
        require(kind != "recording_not_found_error",
                say("Replay mode has answers for this body without temperature, or with temperature 1; keep the rest "
                    f"as given. The server said: {message}",
                    "回放模式里有这个请求体不带 temperature、或者 temperature 为 1 时的回答；其余部分请保持原样。"
                    f"服务器的回复：{message}"))
        require(False, say(f"HTTP {status}: {kind}: {message}", f"HTTP {status}，错误类型 {kind}：{message}"))
    require(isinstance(body, dict) and body.get("choices"),
            say("HTTP 200, but the body isn't a chat completion.", "HTTP 200，但响应体不是一个 chat completion。"))
    return say("HTTP 200. With this model, leave temperature out: the next lessons do.",
               "HTTP 200。用这个模型时，就别传 temperature 了：后面的课程都是这样做的。")
