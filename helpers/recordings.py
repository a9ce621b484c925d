"""Recordings: recorded exchanges with Kimi, one human-readable JSON file each.

A recording holds the request (method, path, JSON body), the response (status, headers,
and a JSON body or a list of SSE events with their timing), and `source`: where it came from.

Example:
    >>> key = request_key("POST", "/v1/chat/completions", {"b": 1, "a": [1, 2]})
    >>> key
    'POST /v1/chat/completions {"a":[1,2],"b":1}'
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .redact import SECRET_HEADERS, redact_query, redact_text, redact_value

# Response headers worth keeping from the real service. Anything else (cookies,
# account ids such as Msh-Uid / Msh-Gid, CDN noise) is dropped when recording.
KEPT_RESPONSE_HEADERS = ("content-type", "msh-request-id", "server-timing", "msh-trace-mode", "x-msh-trace-id",
                         "retry-after", "x-retry-after", "msh-cooldown-seconds", "msh-context-cache-token-saved",
                         "vary")
STALE_TEMP_SECONDS = 60  # a .tmp-*.json this old is left over from a write that was killed


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the same request always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _numbers_by_value(value: Any) -> Any:
    """`value` with every whole float written as an int, so that 1.0 and 1 give the same canonical text."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_numbers_by_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers_by_value(v) for k, v in value.items()}
    return value


def _without_sent_back_thinking(body: Any) -> Any:
    """`body` without the reasoning_content of its assistant messages."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    messages = [{k: v for k, v in m.items() if k != "reasoning_content"}
                if isinstance(m, dict) and m.get("role") == "assistant" else m for m in body["messages"]]
    return {**body, "messages": messages}


def request_key(method: str, path: str, body: Any, query: str = "") -> str:
    """The replay match key: method, path (with its query string, if any) and canonical body.

    Key order and spacing in the body don't matter, nor how a number is written (1 and 1.0 are the same JSON number),
    nor the thinking a client sends back with an assistant message (`reasoning_content`, as the openai SDK does when
    a history keeps `completion.choices[0].message` itself): the recorded answer to the conversation is the same.

        >>> request_key("POST", "/v1/x", {"temperature": 1.0}) == request_key("POST", "/v1/x", {"temperature": 1})
        True
    """
    body_text = ""
    if body is not None:
        body = _without_sent_back_thinking(body)
        body_text = canonical_json(body)
        if ".0" in body_text or "e+" in body_text:  # a whole float may be in it (1.0, 1e+16): write it as an int
            body_text = canonical_json(_numbers_by_value(body))
    target = f"{path}?{query}" if query else path
    return f"{method.upper()} {target} {body_text}".rstrip()


def describe_differences(wanted: Any, recorded: Any, prefix: str = "") -> list[str]:
    """Name the fields where two request bodies differ, e.g. ['temperature: 0.5 here, 0.3 recorded'].

    Example:
        >>> describe_differences({"t": 0.5, "m": "x"}, {"t": 0.3, "m": "x"})
        ['t: 0.5 here, 0.3 recorded']
    """
    if isinstance(wanted, dict) and isinstance(recorded, dict):
        out: list[str] = []
        for name in sorted(set(wanted) | set(recorded)):
            where = f"{prefix}{name}"
            if name not in recorded:
                out.append(f"{where}: sent here, not in the recording")
            elif name not in wanted:
                out.append(f"{where}: in the recording, not sent here")
            else:
                out.extend(describe_differences(wanted[name], recorded[name], where + "."))
        return out
    if isinstance(wanted, list) and isinstance(recorded, list) and len(wanted) == len(recorded):
        out = []
        for i, (a, b) in enumerate(zip(wanted, recorded)):
            out.extend(describe_differences(a, b, f"{prefix.rstrip('.')}[{i}]."))
        return out
    if wanted == recorded:
        return []
    where = prefix.rstrip(".") or "body"
    if isinstance(wanted, list) and isinstance(recorded, list):
        return [f"{where}: {len(wanted)} items here, {len(recorded)} recorded"]
    return [f"{where}: {_short(wanted)} here, {_short(recorded)} recorded"]


def _short(value: Any, limit: int = 40) -> str:
    """A value as JSON, cut to `limit` characters (a long text is cut before it is encoded: bodies can be MiBs).

    Example:
        >>> _short("x" * 100, 10)
        '"xxxxxxxx…'
    """
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Recording:
    """One recorded exchange, as stored in recordings/<name>.json."""

    name: str
    source: dict[str, Any]
    request: dict[str, Any]
    response: dict[str, Any]
    path: Path | None = None
    _encoded: bytes | None = field(default=None, repr=False, compare=False)
    _models: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return request_key(self.request["method"], self.request["path"], self.request.get("body"),
                           self.request.get("query", ""))

    def encoded_body(self) -> bytes:
        """The recorded JSON body as the server sends it (compact UTF-8), encoded once."""
        if self._encoded is None:
            self._encoded = json.dumps(self.response.get("body"), ensure_ascii=False,
                                       separators=(",", ":")).encode("utf-8")
        return self._encoded

    @property
    def is_stream(self) -> bool:
        return "events" in self.response

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "request": self.request, "response": self.response}

    @classmethod
    def from_file(cls, path: Path) -> Recording:
        data = json.loads(path.read_text(encoding="utf-8"))
        for part in ("name", "source", "request", "response"):
            if part not in data:
                raise ValueError(f"{path.name}: a recording needs '{part}'")
        if "kind" not in data["source"]:
            raise ValueError(f"{path.name}: source.kind must say where the recording came from")
        return cls(data["name"], data["source"], data["request"], data["response"], path)


def recording_filename(method: str, path: str, body: Any, query: str = "") -> str:
    """A stable file name for a new recording: the endpoint plus a short hash of the request.

    Only letters, digits, '-' and '_' are kept, never a leading dot (the index skips hidden files), and the
    name stays short whatever the path.

    Example:
        >>> recording_filename("GET", "/v1/.well-known", None)
        'well-known-fc80a16cf0.json'
    """
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", path.strip("/").replace("v1/", "", 1)).strip("-_.")[:60] or "root"
    digest = hashlib.sha256(request_key(method, path, body, query).encode()).hexdigest()[:10]
    return f"{slug}-{digest}.json"


def write_recording(folder: Path, recording: Recording, overwrite: bool = False) -> Path:
    """Write a recording atomically. Refuses to replace an existing file unless overwrite=True."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{recording.name}.json"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target.name} exists; set KIMI_RECORD_OVERWRITE=1 to replace recordings")
    text = json.dumps(recording.to_json(), ensure_ascii=False, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # a failed write leaves neither a half file nor a stray temp
        raise
    recording.path = target
    return target


@dataclass
class RecordingIndex:
    """All recordings in a folder, looked up by request key.

    Several recordings with the same key are served in name order, the last one repeating.
    """

    folder: Path
    by_key: dict[str, list[Recording]] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, folder: Path) -> RecordingIndex:
        index = cls(folder)
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.name.startswith("."):  # a write in progress (.tmp-*.json), not a recording
                _remove_if_stale(path)
                continue
            index.add(Recording.from_file(path))
        return index

    def add(self, recording: Recording) -> None:
        with self.lock:
            self.by_key.setdefault(recording.key, []).append(recording)
            self.by_key[recording.key].sort(key=lambda r: r.name)

    def replace(self, recording: Recording) -> None:
        """Put `recording` in place of any recording with the same key."""
        with self.lock:
            self.by_key[recording.key] = [recording]

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_key.values())

    def all(self) -> list[Recording]:
        return [r for group in self.by_key.values() for r in group]

    def find(self, method: str, path: str, body: Any, query: str = "") -> Recording | None:
        key = request_key(method, path, body, query)
        with self.lock:
            group = self.by_key.get(key)
            if not group:
                return None
            n = self.served.get(key, 0)
            self.served[key] = n + 1
            return group[min(n, len(group) - 1)]

    def reset(self) -> None:
        with self.lock:
            self.served.clear()

    def nearest(self, method: str, path: str, body: Any) -> tuple[Recording | None, list[str]]:
        """The recording most like this request, and how they differ (for the replay-miss message)."""
        best: tuple[int, Recording | None, list[str]] = (10**9, None, [])
        for rec in self.all():
            if rec.request["method"].upper() != method.upper() or rec.request["path"] != path:
                continue
            diffs = describe_differences(body, rec.request.get("body"))
            if len(diffs) < best[0]:
                best = (len(diffs), rec, diffs)
        return best[1], best[2]

    def models(self) -> list[str]:
        """Model ids the replayed /v1/models answer lists."""
        rec = self.find_exact("GET", "/v1/models")
        if rec is None:
            return []
        if rec._models is None:
            rec._models = [m["id"] for m in rec.response.get("body", {}).get("data", [])]
        return rec._models

    def find_exact(self, method: str, path: str, body: Any = None, query: str = "") -> Recording | None:
        group = self.by_key.get(request_key(method, path, body, query))
        return group[0] if group else None


def scrub_headers(headers: dict[str, str]) -> dict[str, str]:
    """Keep only the response headers worth replaying; never secrets or account ids."""
    kept = {}
    for name, value in headers.items():
        low = name.lower()
        if low in SECRET_HEADERS:
            continue
        if low in KEPT_RESPONSE_HEADERS:
            kept[_title(low)] = redact_text(value)
    return kept


def redact_exchange(request: dict[str, Any], response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request and response as they may be written to disk: keys, account ids and secret headers removed
    wherever they appear (body, query, headers, stream events).

    Example:
        >>> _, answer = redact_exchange({}, {"headers": {"Msh-Uid": "u1", "Msh-Request-Id": "r1"},
        ...                                  "body": {"echo": "sk-" + "x1" * 12}})
        >>> answer
        {'body': {'echo': 'sk-***'}, 'headers': {'Msh-Request-Id': 'r1'}}
    """
    request = redact_value(request)
    if request.get("query"):
        request["query"] = redact_query(request["query"])
    kept_headers = scrub_headers(dict(response.get("headers", {})))
    answer = redact_value({k: v for k, v in response.items() if k != "headers"})
    answer["headers"] = kept_headers
    return request, answer


def _remove_if_stale(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
            path.unlink()
    except OSError:  # another process removed or is finishing it
        pass


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))
