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
from . import code, exercise, is_blank, require

ENV_NAME = "MOONSHOT_API_KEY"


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
    "A key has a fixed shape, and a regular expression describes a shape: the cell already imports `re`.",
    "The shape is sk- and then 20 or more letters or digits, r\"sk-[A-Za-z0-9]{20,}\". re.search(pattern, "
    "text) finds it anywhere in the text, and returns None when it isn't there.",
    code(
        'import re',
        '',
        'def looks_like_a_key(text):',
        '    return re.search(r"sk-[A-Za-z0-9]{20,}", text) is not None',
    ),
])
def _(looks_like_a_key):
    require(callable(looks_like_a_key), "looks_like_a_key should be a function: keep the `def looks_like_a_key(text):` line.")
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
    require(not is_blank(first), "Replace the ... after `return` with an expression that is True or False.")
    require(first is not None, "Your function returns None: it needs a `return` with True or False.")
    require(isinstance(first, bool),
            f"Your function returned {type(first).__name__}, not True or False. re.search gives a match or None: "
            "compare it with `is not None` (or wrap it in bool(...)).")
    # The length first: sk- and a run of mixed-case letters and digits, one character at a time.
    flagged_at = [n for n in range(1, 81) if looks_like_a_key("sk-" + _run(n)) is True]
    if not flagged_at:
        one_case = any(looks_like_a_key("sk-" + change(_run(30))) is True for change in (str.lower, str.upper))
        require(not one_case, "It flags a key only when its letters are all small (or all capitals): a key mixes "
                              "capital and small letters and digits. Use [A-Za-z0-9].")
        require(False, f"It didn't flag a bare key, {_short(key, key)!r}. A key is `sk-` followed by 20 or more "
                       "letters or digits; search for that pattern anywhere in the text.")
    shortest = flagged_at[0]
    require(shortest >= 20, f"It flagged sk- followed by only {shortest} characters: a key has 20 or more, so ask "
                            "for {20,}.")
    require(shortest <= 20, f"It missed sk- followed by 20 characters; it flags a key only from {shortest} characters "
                            "on. The rule is 20 or more: write {20,}, not {" + str(shortest) + ",}.")
    longer = [n for n in range(20, 81) if n not in flagged_at]
    if longer:
        require(False, f"It flagged sk- with 20 characters but not with {longer[0]}: a key may be longer than 20. "
                       "Write {20,} (at least 20, no upper limit).")
    require(looks_like_a_key(_PLAIN_TEXT) is False, "It flags any text: look for `sk-` followed by 20 or more letters "
                                                     "or digits, not for anything.")
    for text in must_flag:
        if looks_like_a_key(text) is not True:
            at_start = looks_like_a_key(key) is True and not text.startswith("sk-")
            require(False, f"It missed the key in {_short(text, key)!r}"
                           + (": re.match looks only at the very start of the text. A key can sit anywhere in a "
                              "line, after a quote, `=` or `Bearer `: use re.search." if at_start else "."))
    for text in must_pass:
        require(looks_like_a_key(text) is False,
                f"It flagged {text!r}, which is not a key"
                + (": it is the course's offline placeholder (its letters stop at a hyphen)." if "replay" in text else
                   ": \\w matches the underscore too; a key's characters are letters and digits only, [A-Za-z0-9]."
                   if "_" in text else
                   ": a key is `sk-` followed by 20 or more letters or digits in one run, and a hyphen breaks the run."
                   if "-" in text[3:] else
                   ": a key is `sk-` followed by 20 or more letters or digits, in one run."))
    return "Run it over a notebook or a file before you share it; this course's own tests do the same."


# ---------------------------------------------------------------------------------------------------------------------
@exercise("00.2", hints=[
    "environ works like a dict: which of a dict's methods gives a value, or None when the name is missing?",
    "environ.get(\"MOONSHOT_API_KEY\") is None when the name is missing, and `if not key:` catches an empty "
    "value too. The error's message should name MOONSHOT_API_KEY and the .env file.",
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
    require(callable(read_key), "read_key should be a function: keep the `def read_key(environ):` line.")
    key = _fake_key("Zx8Qw2")
    try:
        got = read_key({ENV_NAME: key})
    except Exception as exc:  # noqa: BLE001 — the learner's function may raise anything
        require(False, f"With {ENV_NAME} set, read_key raised {exc.__class__.__name__}: it should return the key. "
                       f"Look the value up with environ.get(\"{ENV_NAME}\").")
    require(not is_blank(got), "Replace the ... blanks in read_key.")
    require(got == key, f"With {ENV_NAME} set, read_key should return its value; it returned "
                        + (f"a different string ({len(got)} characters)." if isinstance(got, str) else f"{got!r}."))
    for environ, case in (({}, "missing"), ({ENV_NAME: ""}, "empty"), ({"OPENAI_API_KEY": key}, "missing")):
        try:
            result = read_key(environ)
        except KeyError:
            require(False, f"When {ENV_NAME} is {case}, read_key raised a bare KeyError, which tells a learner little. "
                           "Use environ.get(...) and raise an error with a message that says what to do.")
        except Exception as exc:  # noqa: BLE001
            message = str(exc)
            require(message and message != "Ellipsis", "The error has no message yet: replace the ... in raise "
                                                       "RuntimeError(...) with a sentence that says how to fix it.")
            require(ENV_NAME in message, f"Your error message should name the setting: say \"{ENV_NAME}\".")
            require(".env" in message, "Your error message should say where the key goes: mention the .env file.")
            require(key not in message, "Your error message contains the key itself: never put a key in a message.")
            continue
        require(False, f"When {ENV_NAME} is {case}, read_key returned {result!r} instead of raising an error. "
                       "A missing key should stop the program with a message, not fail later with a 401.")
    return "A missing key now fails at once, with a message that says what to do."


# ---------------------------------------------------------------------------------------------------------------------
EXPECTED_HOSTS = {"platform.moonshot.cn": DEFAULT_BASE_URL, "platform.moonshot.ai": INTERNATIONAL_BASE_URL}


@exercise("00.3", hints=[
    "Each platform's console goes with the API on the same domain: section 3's table.",
    "A base URL starts with https://api.moonshot. and ends with /v1 (clients add /chat/completions after it).",
    code(
        'BASE_URLS = {',
        '    "platform.moonshot.cn": "https://api.moonshot.cn/v1",',
        '    "platform.moonshot.ai": "https://api.moonshot.ai/v1",',
        '}',
    ),
])
def _(BASE_URLS: Any):
    require(isinstance(BASE_URLS, dict), "BASE_URLS should be a dict: {platform: base URL}.")
    for platform in EXPECTED_HOSTS:
        require(platform in BASE_URLS, f"Keep the key {platform!r} in BASE_URLS.")
    for platform, expected in EXPECTED_HOSTS.items():
        url = BASE_URLS[platform]
        require(not is_blank(url), f"Fill in the base URL for {platform} (replace the ...).")
        require(isinstance(url, str), f"The base URL for {platform} should be a string, in quotes.")
        url = url.strip()
        other = "platform.moonshot.ai" if platform.endswith(".cn") else "platform.moonshot.cn"
        require("platform.moonshot" not in url, f"{url} is the website where you manage keys. The API lives on "
                                                "another host: api.moonshot...")
        require(not url.startswith("http://"), f"{url} starts with http://: the API only speaks https://.")
        require(url.startswith("https://"), f"{url} should start with https://.")
        require("/chat/completions" not in url, f"{url} is the chat endpoint. The base URL stops at /v1; clients add "
                                                "/chat/completions themselves.")
        require(url.rstrip("/").endswith("/v1"), f"{url} should end with /v1, the API's version prefix.")
        host = url.split("//", 1)[1].split("/", 1)[0]
        if host == EXPECTED_HOSTS[other].split("//", 1)[1].split("/", 1)[0]:
            require(False, f"A key from {platform} sent to {host} gets 401 Invalid Authentication: a key works "
                           f"only on its own platform. The .cn console goes with api.moonshot.cn, the .ai one "
                           "with api.moonshot.ai.")
        require(url.rstrip("/") == expected, f"The base URL for {platform} should be {expected}, not {url}.")
    return "Put the one that matches your key in .env as KIMI_BASE_URL (api.moonshot.cn is the default)."
