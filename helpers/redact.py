"""Redaction: keys, account ids, cookies and auth values never reach a file, a log or an output.

Everything the local server writes down (recordings, the request log, its own error messages) and every
message the settings show passes through here first. A placeholder keeps the shape of what it replaces,
so a reader still sees that a key or an account id was there.

Example:
    >>> redact_text("Authorization: Bearer sk-" + "a1" * 16)
    'Authorization: Bearer sk-***'
    >>> redact_text("Your account org-8f3a2b<ak-f4c9e1d2> request reached organization max RPM: 3")
    'Your account org-course<ak-course> request reached organization max RPM: 3'
    >>> mask_headers({"Authorization": "Bearer sk-secret", "Accept": "*/*"})
    {'Authorization': 'Bearer ***', 'Accept': '*/*'}
"""
from __future__ import annotations

import re
from typing import Any, Mapping

KEY_PLACEHOLDER = "sk-***"
ACCOUNT_PLACEHOLDER = "org-course<ak-course>"

# What a Moonshot key looks like (sk- and 20 or more characters), and the account ids Kimi puts in 429 messages.
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{20,}")
_ACCOUNT = re.compile(r"org-[A-Za-z0-9]+<ak-[A-Za-z0-9]+>")
_ORG = re.compile(r"\borg-(?!course\b)[A-Za-z0-9]{4,}")
_AK = re.compile(r"\bak-(?!course\b)[A-Za-z0-9]{4,}")

# Headers whose values are secrets or identify an account, in requests and in answers.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie",
                            "msh-uid", "msh-gid"})
# Query parameters that carry a key when a client puts it in the URL.
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "access_token", "token", "authorization"})


def redact_text(text: str) -> str:
    """Replace key-like strings and account ids in `text` with placeholders of the same shape."""
    if "sk-" in text:
        text = KEY_PATTERN.sub(KEY_PLACEHOLDER, text)
    if "org-" in text or "ak-" in text:
        text = _ACCOUNT.sub(ACCOUNT_PLACEHOLDER, text)
        text = _ORG.sub("org-course", text)
        text = _AK.sub("ak-course", text)
    return text


def redact_value(value: Any) -> Any:
    """`redact_text` applied to every string (keys included) inside a JSON value.

    Example:
        >>> redact_value({"echo": ["key sk-" + "K2" * 12], "n": 1})
        {'echo': ['key sk-***'], 'n': 1}
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {redact_text(k) if isinstance(k, str) else k: redact_value(v) for k, v in value.items()}
    return value


def mask_header(name: str, value: str) -> str:
    """The value of one header as it may be shown: secrets become '***', keeping an auth scheme's name."""
    if name.lower() not in SECRET_HEADERS:
        return redact_text(value) if ("sk-" in value or "org-" in value or "ak-" in value) else value
    scheme, space, _ = value.strip().partition(" ")
    if space and name.lower() in ("authorization", "proxy-authorization") and scheme.isalpha():
        return f"{scheme} ***"
    return "***"


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as they may be shown or logged, secrets masked (see `mask_header`)."""
    return {name: mask_header(name, value) for name, value in headers.items()}


def redact_query(query: str) -> str:
    """A query string with key-carrying parameters masked.

    Example:
        >>> redact_query("purpose=file-extract&api_key=anything")
        'purpose=file-extract&api_key=***'
    """
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        parts.append(f"{name}{eq}***" if eq and name.lower() in SECRET_PARAMS else redact_text(part))
    return "&".join(parts)


def mask_secret(value: str) -> str:
    """How a setting that may hold a key is quoted in an error message: never the value itself.

    Example:
        >>> mask_secret("sk-" + "z" * 26)
        "'sk-…' (29 characters, hidden)"
        >>> mask_secret("replay")
        "'replay'"
    """
    if looks_like_key(value):
        return f"'{value.strip()[:3]}…' ({len(value)} characters, hidden)"
    return repr(value)


def looks_like_key(value: str) -> bool:
    """True when a text holds something shaped like an API key (sk-…), however it is wrapped."""
    return bool(re.search(r"sk-\S{8,}", value)) or bool(KEY_PATTERN.search(value))
