"""Checkers for notebooks/00_setup_and_your_key.ipynb.

00.1  looks_like_a_key(text): spot a key before a cell, a file or a screenshot is shared
00.2  read_key(environ): the key from the environment, or an error that says how to fix it
00.3  BASE_URLS: which base URL a key from each platform belongs to

Example:
    >>> from helpers.checks import run_check
    >>> run_check("00.3", BASE_URLS={"platform.moonshot.cn": ..., "platform.moonshot.ai": ...})[0]
    False
"""
from __future__ import annotations

from typing import Any

from ..settings import DEFAULT_BASE_URL, INTERNATIONAL_BASE_URL
from . import code, exercise, is_blank, require, say

ENV_NAME = "MOONSHOT_API_KEY"
# How the setting is wrong, in the Chinese messages of 00.2.
_CASE_ZH = {"missing": "没有设置", "empty": "是空的"}


def _fake_key(seed: str) -> str:
    """A string shaped like a key, built at run time so no key-shaped text sits in any file."""
    return "sk-" + (seed * 12)[:48]


def _run(n: int) -> str:
    """n letters and digits of both cases, like the characters of a key."""
    return ("aB3dE9gH2k" * 8)[:n]


_PLAIN_TEXT = "print('A key is available:', bool(api_key))"


def _short(text: str, key: str) -> str:
    """Show a test string without printing the whole key-shaped value."""
    return text.replace(key, key[:9] + "…")


# ---------------------------------------------------------------------------------------------------------------------
@exercise("00.1", hints=[
    say("A key has a fixed shape, and a regular expression describes a shape: the cell already imports `re`.",
        "API 密钥有固定的格式，而正则表达式正是用来描述格式的：单元格里已经导入了 `re`。"),
    say("The shape is sk- and then 20 or more letters or digits, r\"sk-[A-Za-z0-9]{20,}\". re.search(pattern, "
        "text) finds it anywhere in the text, and returns None when it isn't there.",
        "格式是 sk- 后面跟 20 个或更多字母或数字：r\"sk-[A-Za-z0-9]{20,}\"。re.search(pattern, text) "
        "会在整段文本的任意位置查找它，找不到时返回 None。"),
    code(
        'import re',
        '',
        'def looks_like_a_key(text):',
        '    return re.search(r"sk-[A-Za-z0-9]{20,}", text) is not None',
    ),
])
def _(looks_like_a_key):
    require(callable(looks_like_a_key),
            say("looks_like_a_key should be a function: keep the `def looks_like_a_key(text):` line.",
                "looks_like_a_key 应该是一个函数：保留 `def looks_like_a_key(text):` 这一行。"))
    key = _fake_key("Ab3dE9")
    must_flag = [
        f"api_key = '{key}'",
        f"Authorization: Bearer {key}",
        f"MOONSHOT_API_KEY={key}",
        key,
    ]
    must_pass = [
        "sk-replay-offline",
        "the sk-learn-and-pandas-notebook-of-the-week",
        "sk-" + "_" * 30,
        "api_key = os.environ['MOONSHOT_API_KEY']",
        "api_key = 'sk-REDACTED'",
        "MOONSHOT_API_KEY=",
        "Ask-me-anything",
        "",
    ]
    first = looks_like_a_key(must_flag[0])
    require(not is_blank(first), say("Replace the ... after `return` with an expression that is True or False.",
                                     "把 `return` 后面的 ... 换成一个结果为 True 或 False 的表达式。"))
    require(first is not None, say("Your function returns None: it needs a `return` with True or False.",
                                   "你的函数返回了 None：它需要一个返回 True 或 False 的 `return`。"))
    require(isinstance(first, bool),
            say(f"Your function returned {type(first).__name__}, not True or False. re.search gives a match or None: "
                "compare it with `is not None` (or wrap it in bool(...)).",
                f"你的函数返回的是 {type(first).__name__}，而不是 True 或 False。re.search 返回的是 match 对象或 None："
                "用 `is not None` 和它比较（或者用 bool(...) 包起来）。"))
    # The length first: sk- and a run of mixed-case letters and digits, one character at a time.
    flagged_at = [n for n in range(1, 81) if looks_like_a_key("sk-" + _run(n)) is True]
    if not flagged_at:
        one_case = any(looks_like_a_key("sk-" + change(_run(30))) is True for change in (str.lower, str.upper))
        require(not one_case, say("It flags a key only when its letters are all small (or all capitals): a key mixes "
                                  "capital and small letters and digits. Use [A-Za-z0-9].",
                                  "只有字母全是小写（或全是大写）时，它才认出密钥；可密钥里大写字母、小写字母和数字是混在一起的。"
                                  "请用 [A-Za-z0-9]。"))
        require(False, say(f"It didn't flag a bare key, {_short(key, key)!r}. A key is `sk-` followed by 20 or more "
                           "letters or digits; search for that pattern anywhere in the text.",
                           f"单独一个密钥 {_short(key, key)!r}，它都没有认出来。密钥是 `sk-` 后面跟 20 个或更多字母或数字："
                           "在整段文本的任意位置搜索这个模式。"))
    shortest = flagged_at[0]
    require(shortest >= 20, say(f"It flagged sk- followed by only {shortest} characters: a key has 20 or more, so ask "
                                "for {20,}.",
                                f"sk- 后面只跟 {shortest} 个字符，它就当成了密钥：密钥至少有 20 个字符，所以要写 "
                                "{20,}。"))
    require(shortest <= 20, say(f"It missed sk- followed by 20 characters; it flags a key only from {shortest} characters "
                                "on. The rule is 20 or more: write {20,}, not {" + str(shortest) + ",}.",
                                f"sk- 后面跟 20 个字符的密钥它漏掉了；要到 {shortest} 个字符它才认出来。规则是 20 个或更多："
                                "写 {20,}，而不是 {" + str(shortest) + ",}。"))
    longer = [n for n in range(20, 81) if n not in flagged_at]
    if longer:
        require(False, say(f"It flagged sk- with 20 characters but not with {longer[0]}: a key may be longer than 20. "
                           "Write {20,} (at least 20, no upper limit).",
                           f"sk- 后面跟 20 个字符时它能认出来，跟 {longer[0]} 个时却认不出：密钥可以比 20 个字符长。"
                           "写 {20,}（至少 20 个，没有上限）。"))
    require(looks_like_a_key(_PLAIN_TEXT) is False,
            say("It flags any text: look for `sk-` followed by 20 or more letters or digits, not for anything.",
                "它把什么文本都当成了密钥：要找的是 `sk-` 后面跟 20 个或更多字母或数字，而不是随便什么内容。"))
    for text in must_flag:
        if looks_like_a_key(text) is not True:
            at_start = looks_like_a_key(key) is True and not text.startswith("sk-")
            require(False, say(f"It missed the key in {_short(text, key)!r}"
                               + (": re.match looks only at the very start of the text. A key can sit anywhere in a "
                                  "line, after a quote, `=` or `Bearer `: use re.search." if at_start else "."),
                               f"它漏掉了 {_short(text, key)!r} 里的密钥"
                               + ("：re.match 只看文本的最开头。密钥可能出现在一行里的任何位置，比如引号、`=` 或 "
                                  "`Bearer ` 后面：请用 re.search。" if at_start else "。")))
    for text in must_pass:
        why = (say(": it is the course's offline placeholder (its letters stop at a hyphen).",
                   "：这是本课程离线时用的占位符（字母到连字符就断了）。") if "replay" in text else
               say(": \\w matches the underscore too; a key's characters are letters and digits only, [A-Za-z0-9].",
                   "：\\w 也会匹配下划线；密钥的字符只有字母和数字，也就是 [A-Za-z0-9]。")
               if "_" in text else
               say(": a key is `sk-` followed by 20 or more letters or digits in one run, and a hyphen breaks the run.",
                   "：密钥是 `sk-` 后面连续跟 20 个或更多字母或数字，连字符会把这一串打断。")
               if "-" in text[3:] else
               say(": a key is `sk-` followed by 20 or more letters or digits, in one run.",
                   "：密钥是 `sk-` 后面连续跟 20 个或更多字母或数字。"))
        require(looks_like_a_key(text) is False,
                say(f"It flagged {text!r}, which is not a key", f"它把 {text!r} 当成了密钥，可这并不是密钥") + why)
    return say("Run it over a notebook or a file before you share it; this course's own tests do the same.",
               "分享笔记本或文件之前，先用它检查一遍；本课程自己的测试也是这么做的。")


# ---------------------------------------------------------------------------------------------------------------------
@exercise("00.2", hints=[
    say("environ works like a dict: which of a dict's methods gives a value, or None when the name is missing?",
        "environ 用起来和 dict 一样：dict 的哪个方法能取出值，并且在名字不存在时返回 None？"),
    say("environ.get(\"MOONSHOT_API_KEY\") is None when the name is missing, and `if not key:` catches an empty "
        "value too. The error's message should name MOONSHOT_API_KEY and the .env file.",
        "名字不存在时，environ.get(\"MOONSHOT_API_KEY\") 是 None；`if not key:` 还能顺便拦住空值。"
        "错误信息里要写出 MOONSHOT_API_KEY 和 .env 文件。"),
    code(
        'def read_key(environ):',
        '    key = environ.get("MOONSHOT_API_KEY")',
        '    if not key:',
        '        raise RuntimeError("MOONSHOT_API_KEY is not set: put MOONSHOT_API_KEY=<your key> in the .env file "',
        '                           "at the top of the course folder, then restart the kernel.")',
        '    return key',
    ),
])
def _(read_key):
    require(callable(read_key), say("read_key should be a function: keep the `def read_key(environ):` line.",
                                    "read_key 应该是一个函数：保留 `def read_key(environ):` 这一行。"))
    key = _fake_key("Zx8Qw2")
    try:
        got = read_key({ENV_NAME: key})
    except Exception as exc:  # noqa: BLE001 — the learner's function may raise anything
        require(False, say(f"With {ENV_NAME} set, read_key raised {exc.__class__.__name__}: it should return the key. "
                           f"Look the value up with environ.get(\"{ENV_NAME}\").",
                           f"设置了 {ENV_NAME} 时，read_key 却抛出了 {exc.__class__.__name__}：它应该返回密钥。"
                           f"用 environ.get(\"{ENV_NAME}\") 取出这个值。"))
    require(not is_blank(got), say("Replace the ... blanks in read_key.", "把 read_key 里的 ... 空白换成你的代码。"))
    require(got == key, say(f"With {ENV_NAME} set, read_key should return its value; it returned "
                            + (f"a different string ({len(got)} characters)." if isinstance(got, str) else f"{got!r}."),
                            f"设置了 {ENV_NAME} 时，read_key 应该返回它的值；它返回的却是"
                            + (f"另一个字符串（{len(got)} 个字符）。" if isinstance(got, str) else f" {got!r}。")))
    for environ, case in (({}, "missing"), ({ENV_NAME: ""}, "empty"), ({"OPENAI_API_KEY": key}, "missing")):
        try:
            result = read_key(environ)
        except KeyError:
            require(False, say(f"When {ENV_NAME} is {case}, read_key raised a bare KeyError, which tells a learner little. "
                               "Use environ.get(...) and raise an error with a message that says what to do.",
                               f"{ENV_NAME} {_CASE_ZH[case]}时，read_key 只抛出了一个不带说明的 KeyError，"
                               "学习者从中看不出什么。用 environ.get(...)，再抛出一个错误，在信息里说明该怎么做。"))
        except Exception as exc:  # noqa: BLE001
            message = str(exc)
            require(message and message != "Ellipsis",
                    say("The error has no message yet: replace the ... in raise "
                        "RuntimeError(...) with a sentence that says how to fix it.",
                        "这个错误还没有信息：把 raise RuntimeError(...) 里的 ... 换成一句话，说明怎样解决。"))
            require(ENV_NAME in message, say(f"Your error message should name the setting: say \"{ENV_NAME}\".",
                                             f"你的错误信息应该写出这个设置的名字：\"{ENV_NAME}\"。"))
            require(".env" in message, say("Your error message should say where the key goes: mention the .env file.",
                                           "你的错误信息应该说明密钥该放在哪里：提到 .env 文件。"))
            require(key not in message, say("Your error message contains the key itself: never put a key in a message.",
                                            "你的错误信息里包含了密钥本身：永远不要把密钥写进信息里。"))
            continue
        require(False, say(f"When {ENV_NAME} is {case}, read_key returned {result!r} instead of raising an error. "
                           "A missing key should stop the program with a message, not fail later with a 401.",
                           f"{ENV_NAME} {_CASE_ZH[case]}时，read_key 返回了 {result!r}，而没有抛出错误。"
                           "缺少密钥时，程序应该立刻停下并给出说明，而不是等到后面才以 401 失败。"))
    return say("A missing key now fails at once, with a message that says what to do.",
               "现在缺少密钥时会立刻报错，并告诉你该怎么做。")


# ---------------------------------------------------------------------------------------------------------------------
EXPECTED_HOSTS = {"platform.moonshot.cn": DEFAULT_BASE_URL, "platform.moonshot.ai": INTERNATIONAL_BASE_URL}


@exercise("00.3", hints=[
    say("Each platform's console goes with the API on the same domain: section 3's table.",
        "每个平台的控制台都对应同一个域名下的 API：见第 3 节的表格。"),
    say("A base URL starts with https://api.moonshot. and ends with /v1 (clients add /chat/completions after it).",
        "base URL 以 https://api.moonshot. 开头，以 /v1 结尾（客户端会在它后面加上 /chat/completions）。"),
    code(
        'BASE_URLS = {',
        '    "platform.moonshot.cn": "https://api.moonshot.cn/v1",',
        '    "platform.moonshot.ai": "https://api.moonshot.ai/v1",',
        '}',
    ),
])
def _(BASE_URLS: Any):
    require(isinstance(BASE_URLS, dict), say("BASE_URLS should be a dict: {platform: base URL}.",
                                             "BASE_URLS 应该是一个 dict：{平台: base URL}。"))
    for platform in EXPECTED_HOSTS:
        require(platform in BASE_URLS, say(f"Keep the key {platform!r} in BASE_URLS.",
                                           f"保留 BASE_URLS 里的键 {platform!r}。"))
    for platform, expected in EXPECTED_HOSTS.items():
        url = BASE_URLS[platform]
        require(not is_blank(url), say(f"Fill in the base URL for {platform} (replace the ...).",
                                       f"填上 {platform} 的 base URL（替换 ...）。"))
        require(isinstance(url, str), say(f"The base URL for {platform} should be a string, in quotes.",
                                          f"{platform} 的 base URL 应该是字符串，要加引号。"))
        url = url.strip()
        other = "platform.moonshot.ai" if platform.endswith(".cn") else "platform.moonshot.cn"
        require("platform.moonshot" not in url, say(f"{url} is the website where you manage keys. The API lives on "
                                                    "another host: api.moonshot...",
                                                    f"{url} 是你管理 API 密钥的网站。API 在另一个主机上：api.moonshot..."))
        require(not url.startswith("http://"), say(f"{url} starts with http://: the API only speaks https://.",
                                                   f"{url} 以 http:// 开头：API 只接受 https://。"))
        require(url.startswith("https://"), say(f"{url} should start with https://.", f"{url} 应该以 https:// 开头。"))
        require("/chat/completions" not in url, say(f"{url} is the chat endpoint. The base URL stops at /v1; clients add "
                                                    "/chat/completions themselves.",
                                                    f"{url} 是聊天接口。base URL 到 /v1 为止；/chat/completions "
                                                    "由客户端自己加上。"))
        require(url.rstrip("/").endswith("/v1"), say(f"{url} should end with /v1, the API's version prefix.",
                                                     f"{url} 应该以 /v1 结尾，这是 API 的版本前缀。"))
        host = url.split("//", 1)[1].split("/", 1)[0]
        if host == EXPECTED_HOSTS[other].split("//", 1)[1].split("/", 1)[0]:
            require(False, say(f"A key from {platform} sent to {host} gets 401 Invalid Authentication: a key works "
                               f"only on its own platform. The .cn console goes with api.moonshot.cn, the .ai one "
                               "with api.moonshot.ai.",
                               f"在 {platform} 创建的密钥发到 {host}，会得到 401 Invalid Authentication：密钥只能在"
                               "它自己的平台上使用。.cn 的控制台对应 api.moonshot.cn，.ai 的对应 api.moonshot.ai。"))
        require(url.rstrip("/") == expected, say(f"The base URL for {platform} should be {expected}, not {url}.",
                                                 f"{platform} 的 base URL 应该是 {expected}，而不是 {url}。"))
    return say("Put the one that matches your key in .env as KIMI_BASE_URL (api.moonshot.cn is the default).",
               "把和你的密钥对应的那个写进 .env，作为 KIMI_BASE_URL（默认是 api.moonshot.cn）。")
