"""Checkers for notebooks/04_whats_the_difference.ipynb."""
from __future__ import annotations

import json

import requests

from . import NotYet, code, exercise, is_blank, require, say

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
_IN_CHINESE = {"curl": "curl", "requests": "requests", "the SDK (OpenAI)": "OpenAI SDK",
               "the async SDK (AsyncOpenAI)": "异步的 AsyncOpenAI SDK", "a newer curl": "新版本的 curl"}


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
    say("Every client names itself in one header of each request it sends: look at the log entries of section 3.",
        "每个客户端都会在它发出的每个请求里，用一个请求头报上自己的名字：看看第 3 节的日志条目。"),
    say("The user-agent: curl sends 'curl/…', requests 'python-requests/…', the SDK 'OpenAI/Python …' "
        "(AsyncOpenAI 'AsyncOpenAI/Python …'). Clients write header names in different cases: lower-case them "
        "first.",
        "就是 user-agent：curl 发送 'curl/…'，requests 发送 'python-requests/…'，SDK 发送 'OpenAI/Python …'"
        "（AsyncOpenAI 发送 'AsyncOpenAI/Python …'）。不同的客户端写请求头名称时大小写不一样：先把名称转成小写。"),
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
    require(callable(which_client), say("which_client should be a function: def which_client(entry): ...",
                                        "which_client 应该是一个函数：def which_client(entry): ..."))
    for expected, label, headers in _CASES:
        try:
            got = which_client(_entry(headers))
        except KeyError as exc:
            raise NotYet(say(f"which_client raised KeyError {exc} on the request from {label}: that header isn't there "
                             "under that exact name. The SDK sends 'user-agent' in lower case; use .get() on "
                             "lower-cased names.",
                             f"处理来自 {_IN_CHINESE[label]} 的请求时，which_client 抛出了 KeyError {exc}：这个请求里"
                             "没有名字一模一样（连大小写都一样）的请求头。SDK 发送的 'user-agent' 是小写的；"
                             "先把名称转成小写，再用 .get()。")) from None
        if got is None and label == "curl":
            require(False, say("which_client returned None for a request from curl. Replace the ... with code that returns "
                               "'curl', 'requests' or 'openai': the user-agent header names the client.",
                               "对来自 curl 的请求，which_client 返回了 None。把 ... 换成返回 'curl'、'requests' 或 "
                               "'openai' 的代码：user-agent 请求头里写着客户端的名字。"))
        if got != expected and label.startswith("the SDK"):
            agent = headers["user-agent"]
            if got == "requests":
                require(False, say(f"For a request from the SDK it returned 'requests': the SDK's user-agent, {agent!r}, "
                                   "has 'Python' in it too. requests' own user-agent starts with 'python-requests/': "
                                   "test for that, not for 'python'.",
                                   f"对来自 SDK 的请求，它返回了 'requests'：SDK 的 user-agent {agent!r} 里也有 "
                                   "'Python'。requests 自己的 user-agent 以 'python-requests/' 开头：要判断的是这个，"
                                   "而不是 'python'。"))
            if _with_capitalised_names(which_client, headers) == expected:
                require(False, say(f"For a request from the SDK it returned {got!r}, not 'openai'. The SDK writes header "
                                   "names in lower case ('user-agent'), so headers['User-Agent'] finds nothing there: "
                                   "compare header names without caring about case.",
                                   f"对来自 SDK 的请求，它返回了 {got!r}，而不是 'openai'。SDK 写的请求头名称是小写的"
                                   "（'user-agent'），所以 headers['User-Agent'] 在那里什么也找不到：比较请求头名称时"
                                   "不要区分大小写。"))
            require(False, say(f"For a request from the SDK (user-agent {agent!r}) it returned {got!r}, not 'openai'. "
                               "Look for 'openai' in the user-agent, in any case: 'openai' in agent.lower().",
                               f"对来自 SDK 的请求（user-agent 是 {agent!r}），它返回了 {got!r}，而不是 'openai'。"
                               "在 user-agent 里找 'openai'，不管大小写：'openai' in agent.lower()。"))
        if got != expected and "async" in label:
            require(False, say(f"For a request from AsyncOpenAI (user-agent 'AsyncOpenAI/Python …') it returned {got!r}. "
                               "That's the SDK too: return 'openai'.",
                               f"对来自 AsyncOpenAI 的请求（user-agent 是 'AsyncOpenAI/Python …'），它返回了 {got!r}。"
                               "这也是 SDK：应该返回 'openai'。"))
        if got != expected and label == "a newer curl":
            require(False, say(f"For curl 8.11.1 it returned {got!r}. Don't match one exact version: "
                               "check that the user-agent starts with 'curl/'.",
                               f"对 curl 8.11.1，它返回了 {got!r}。不要只匹配某一个具体版本："
                               "检查 user-agent 是否以 'curl/' 开头。"))
        require(got == expected, say(f"For a request from {label} it returned {got!r}; it should return {expected!r}. "
                                     f"Its user-agent was {headers.get('User-Agent') or headers.get('user-agent')!r}.",
                                     f"对来自 {_IN_CHINESE[label]} 的请求，它返回了 {got!r}；应该返回 {expected!r}。"
                                     f"这个请求的 user-agent 是 "
                                     f"{headers.get('User-Agent') or headers.get('user-agent')!r}。"))
    return say("Headers are how a server tells clients apart, and header names are case-insensitive.",
               "服务器靠请求头区分不同的客户端，而请求头名称不区分大小写。")


@exercise("04.2", hints=[
    say("json= did two things for you: it turned BODY into bytes, and it added a header. With data= both are yours to do.",
        "json= 替你做了两件事：把 BODY 变成字节（bytes），并加上了一个请求头。用 data= 时，这两件事都要你自己做。"),
    say("json.dumps(BODY, ensure_ascii=False, separators=(',', ':')) is the compact text and .encode('utf-8') "
        "makes it bytes. The missing header is 'Content-Type': 'application/json'.",
        "json.dumps(BODY, ensure_ascii=False, separators=(',', ':')) 得到紧凑的文本，.encode('utf-8') "
        "再把它变成字节。缺少的请求头是 'Content-Type': 'application/json'。"),
    code(
        'compact_headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}',
        'body_bytes = json.dumps(BODY, ensure_ascii=False, separators=(",", ":")).encode("utf-8")',
        'compact_response = requests.post(f"{BASE_URL}/chat/completions", headers=compact_headers, data=body_bytes, timeout=60)',
    ),
])
def _(compact_response, body_bytes):
    require(not is_blank(body_bytes), say("Replace the ... after body_bytes = with BODY as compact JSON, turned into bytes.",
                                          "把 body_bytes = 后面的 ... 换成紧凑 JSON 形式的 BODY，并把它转成字节。"))
    require(not isinstance(body_bytes, str),
            say("body_bytes is still text (a str). Call .encode('utf-8') on it: on the wire a body is bytes, and "
                "encoding it yourself means you decide how the Chinese becomes bytes.",
                "body_bytes 还是文本（str）。对它调用 .encode('utf-8')：在网络上传输的请求体是字节，自己来编码，"
                "就由你决定中文怎样变成字节。"))
    require(isinstance(body_bytes, bytes), say(f"body_bytes should be bytes, not {type(body_bytes).__name__}.",
                                               f"body_bytes 应该是 bytes，而不是 {type(body_bytes).__name__}。"))
    try:
        body_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise NotYet(say("body_bytes isn't UTF-8: JSON on the wire is UTF-8, and Kimi reads it so. "
                         "Encode the text with .encode('utf-8').",
                         "body_bytes 不是 UTF-8：在网络上传输的 JSON 用 UTF-8 编码，Kimi 也按 UTF-8 读取。"
                         "用 .encode('utf-8') 来编码文本。")) from None
    try:
        decoded = json.loads(body_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotYet(say(f"body_bytes isn't valid JSON ({exc.__class__.__name__}). Build it with json.dumps(BODY, ...).",
                         f"body_bytes 不是合法的 JSON（{exc.__class__.__name__}）。用 json.dumps(BODY, ...) 来生成它。")
                     ) from None
    require(isinstance(decoded, dict) and "model" in decoded and "messages" in decoded,
            say("body_bytes should hold the whole BODY, with its model and messages.",
                "body_bytes 应该包含完整的 BODY，连同其中的 model 和 messages。"))
    require(b"\\u" not in body_bytes, say("The Chinese is still escaped as \\u…: pass ensure_ascii=False to json.dumps.",
                                         "中文仍然被转义成了 \\u…：给 json.dumps 传入 ensure_ascii=False。"))
    compact = json.dumps(decoded, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    require(body_bytes == compact, say("There are still spaces in it (after ',' or ':', or new lines): "
                                       "pass separators=(',', ':') to json.dumps and no indent.",
                                       "里面还有空白（',' 或 ':' 后面的空格，或者换行）：给 json.dumps 传入 "
                                       "separators=(',', ':')，并且不要传 indent。"))
    require(not is_blank(compact_response), say("Now send it: compact_response = requests.post(..., data=body_bytes).",
                                                "现在把它发出去：compact_response = requests.post(..., data=body_bytes)。"))
    require(isinstance(compact_response, requests.Response),
            say(f"compact_response should be what requests.post(...) returned, not a {type(compact_response).__name__}.",
                f"compact_response 应该是 requests.post(...) 的返回值，而不是 {type(compact_response).__name__}。"))
    sent = compact_response.request
    require(sent.body == body_bytes, say("The request you sent didn't carry body_bytes as its body: pass data=body_bytes "
                                         "(json= would write its own, spaced-out body).",
                                         "你发出的请求的请求体不是 body_bytes：请传入 data=body_bytes"
                                         "（json= 会自己另写一个带空格的请求体）。"))
    require(sent.headers.get("Authorization", "").startswith("Bearer "),
            say("Your request had no Authorization header: keep compact_headers' Authorization and pass headers=compact_headers.",
                "你的请求没有 Authorization 请求头：保留 compact_headers 里的 Authorization，并传入 headers=compact_headers。"))
    content_type = sent.headers.get("Content-Type")
    require(content_type is not None, say("Your request had no Content-Type header. With data=, requests doesn't add one: "
                                          "add 'Content-Type': 'application/json' to compact_headers.",
                                          "你的请求没有 Content-Type 请求头。用 data= 时，requests 不会替你加上它："
                                          "在 compact_headers 里加上 'Content-Type': 'application/json'。"))
    require(content_type.split(";")[0].strip() == "application/json",
            say(f"Your Content-Type was {content_type!r}; a JSON body needs 'application/json'.",
                f"你的 Content-Type 是 {content_type!r}；JSON 请求体需要的是 'application/json'。"))
    if compact_response.status_code != 200:
        try:
            message = compact_response.json()["error"]["message"]
        except Exception:
            message = compact_response.text[:200]
        require(False, say(f"The server answered {compact_response.status_code}: {message}",
                           f"服务器返回了 {compact_response.status_code}：{message}"))
    spaced = len(json.dumps(decoded).encode("utf-8"))
    return say(f"Your body was {len(body_bytes)} bytes on the wire, where json= would have sent {spaced}: "
               "the same JSON, the SDK's way.",
               f"你的请求体在网络上是 {len(body_bytes)} 字节，而 json= 会发送 {spaced} 字节："
               "同样的 JSON，和 SDK 的发送方式一样。")
