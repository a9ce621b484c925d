"""The request log: what the local server received, in order, secrets masked, bounded in size.

Each entry is plain JSON (method, path, headers, body, status, …), so checkers and lessons can look at what a
client really put on the wire. The log keeps the newest 5,000 entries and at most about 32 MiB: a long text in a
body is shortened with a marker, a body too large to keep is replaced by a short note, and the oldest entries go
first when the log is full.

Example:
    >>> log = RequestLog()
    >>> entry = log.add({"method": "POST", "path": "/v1/chat/completions",
    ...                  "body": loggable_body({"content": "x" * 5000, "key": "sk-" + "k" * 24})})
    >>> log.entries()[0]["body"]["content"][-32:]
    'xxx…[shortened: 5000 characters]'
    >>> log.entries()[0]["body"]["key"]
    'sk-***'
"""
from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from .redact import mask_headers, redact_value

MAX_ENTRIES = 5000
MAX_LOG_BYTES = 32 * 1024 * 1024
MAX_TEXT = 4000  # characters of one string kept in a logged body
MAX_ENTRY_BYTES = 16 * 1024  # JSON bytes of one logged body, after shortening texts


def shorten(value: Any, max_text: int = MAX_TEXT) -> Any:
    """A copy of a JSON value whose long strings end in a marker saying how long they were."""
    if isinstance(value, str):
        return value if len(value) <= max_text else value[:max_text] + f"…[shortened: {len(value)} characters]"
    if isinstance(value, list):
        return [shorten(v, max_text) for v in value]
    if isinstance(value, dict):
        return {k: shorten(v, max_text) for k, v in value.items()}
    return value


def loggable_body(body: Any) -> Any:
    """What the log keeps of a request body: redacted, shortened, and never more than MAX_ENTRY_BYTES."""
    return loggable_body_and_size(body)[0]


def loggable_body_and_size(body: Any) -> tuple[Any, int]:
    """`loggable_body`, and the length of what is kept as JSON text."""
    text = json.dumps(body, ensure_ascii=False)
    if len(text) <= MAX_TEXT and "sk-" not in text and "org-" not in text and "ak-" not in text:
        return body, len(text)  # short and clean: nothing to shorten or redact (the common case)
    kept = shorten(redact_value(body))
    text = json.dumps(kept, ensure_ascii=False)
    size = len(text.encode("utf-8"))
    if size <= MAX_ENTRY_BYTES:
        return kept, len(text)
    note = f"{text[:1000]}…[shortened: the body was {size} bytes]"
    return note, len(note)


class RequestLog:
    """What the server received: method, path, headers (secrets masked) and body, oldest first."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_LOG_BYTES) -> None:
        self._entries: deque[tuple[int, dict[str, Any], bool]] = deque()
        self._lock = threading.Lock()
        self._next = 1
        self._bytes = 0
        self.max_entries, self.max_bytes = max_entries, max_bytes

    def add(self, entry: dict[str, Any], body_size: int | None = None, as_received: bool = False) -> dict[str, Any]:
        """Append an entry (numbered `n`); the caller may fill in `status` and `elapsed_ms` later.

        `body_size` is the length of the entry's body as JSON, when the caller knows it already. With
        `as_received`, the entry's headers and (short) body are kept as they arrived and masked, redacted and
        shortened when the log is read: the work is done for the entries someone looks at, not for every request.
        """
        if body_size is None:
            body = entry.get("body")
            body_size = len(json.dumps(body, ensure_ascii=False)) if isinstance(body, (dict, list)) else len(str(body))
        size = 512 + body_size
        with self._lock:
            entry["n"] = self._next
            self._next += 1
            self._entries.append((size, entry, as_received))
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._bytes -= self._entries.popleft()[0]
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """A copy of every entry, oldest first, secrets masked."""
        with self._lock:
            kept = list(self._entries)
        return [_shown(entry) if as_received else dict(entry) for _, entry, as_received in kept]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry kept as received, as the log shows it: headers masked, body redacted and shortened."""
    shown = dict(entry)
    shown["headers"] = mask_headers(entry.get("headers") or {})
    shown["body"] = loggable_body(entry.get("body"))
    return shown
