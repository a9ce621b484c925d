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

from .language import Said, say
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


@dataclass(frozen=True)
class Difference:
    """One field where a request differs from a recording.

    kind: "changed" (both have it, with other values), "extra" (sent here, not in the recording) or "missing" (in the
    recording, not sent here). `chars` is how many characters changed, for choosing the nearest recording.
    """

    where: str
    kind: str
    here: Any = None
    recorded: Any = None
    chars: int = 0
    note: str | Said = ""

    def text(self) -> str:
        """The difference in one bounded line, the text here and the recorded text side by side (in the language of
        the moment).

        Example:
            >>> Difference("messages[0].content", "changed", "你能做什么？!", "你能做什么？").text()
            'messages[0].content: "你能做什么？⟨!⟩" here, "你能做什么？⟨⟩" recorded'
        """
        where = _cut(redact_text(self.where[:200]), 80)
        if self.kind == "extra":
            shown = say(f"{where}: sent here, not in the recording", f"{where}：这里发送了，录制文件里没有") + (
                say(f", {self.note}", f"，{self.note}") if self.note else "")
            return str(shown + (say(f" ({_short(self.here, 60)})", f"（{_short(self.here, 60)}）")
                                if isinstance(self.here, (dict, list)) else ""))
        elif self.kind == "missing":
            shown = say(f"{where}: in the recording, not sent here", f"{where}：录制文件里有，这里没有发送")
            shown += say(f" ({_short(self.recorded, 60)})", f"（{_short(self.recorded, 60)}）") \
                if isinstance(self.recorded, (dict, list)) else ""
        elif isinstance(self.here, str) and isinstance(self.recorded, str):
            here, recorded = _side_by_side(self.here, self.recorded)
            shown = say(f"{where}: {here} here, {recorded} recorded", f"{where}：这里是 {here}，录制的是 {recorded}")
        else:
            shown = say(f"{where}: {_short(self.here)} here, {_short(self.recorded)} recorded",
                        f"{where}：这里是 {_short(self.here)}，录制的是 {_short(self.recorded)}")
        return str(shown)


def compare(wanted: Any, recorded: Any, prefix: str = "") -> list[Difference]:
    """The fields where two request bodies differ, as JSON sees them: numbers by value (1 and 1.0 are one number,
    true is not 1), lists item by item, an item added or left out named as such rather than every later one changed.

    Example:
        >>> [d.text() for d in compare({"n": 1.0, "m": ["a", "b"]}, {"n": 1, "m": ["a", "b", "b"]})]
        ['m[2]: in the recording, not sent here']
    """
    if isinstance(wanted, dict) and isinstance(recorded, dict):
        out: list[Difference] = []
        for name in sorted(set(wanted) | set(recorded), key=str):
            where = f"{prefix}{name}"
            if name not in recorded:
                out.append(Difference(where, "extra", here=wanted[name], chars=_size(wanted[name])))
            elif name not in wanted:
                out.append(Difference(where, "missing", recorded=recorded[name], chars=_size(recorded[name])))
            else:
                out.extend(compare(wanted[name], recorded[name], where + "."))
        return out
    where = prefix.rstrip(".") or "body"
    if isinstance(wanted, list) and isinstance(recorded, list):
        return _compare_lists(wanted, recorded, where)
    if json_equal(wanted, recorded):
        return []
    here_text = wanted if isinstance(wanted, str) else canonical_json(wanted)
    recorded_text = recorded if isinstance(recorded, str) else canonical_json(recorded)
    start = _common_prefix(here_text, recorded_text)
    end = _common_suffix(here_text[start:], recorded_text[start:])
    chars = max(len(here_text), len(recorded_text)) - start - end
    return [Difference(where, "changed", wanted, recorded, max(chars, 1))]


def _compare_lists(wanted: list[Any], recorded: list[Any], where: str) -> list[Difference]:
    """Lists: the same items at the start and at the end match; the rest in between are compared in place, and any
    left over were added here (or are missing here). An added item equal to its neighbour is said to be a copy."""
    if len(wanted) == len(recorded):
        return [d for i, (a, b) in enumerate(zip(wanted, recorded)) for d in compare(a, b, f"{where}[{i}].")]
    start = 0
    while start < min(len(wanted), len(recorded)) and json_equal(wanted[start], recorded[start]):
        start += 1
    end = 0
    while end < min(len(wanted), len(recorded)) - start and json_equal(wanted[-1 - end], recorded[-1 - end]):
        end += 1
    here, there = wanted[start:len(wanted) - end], recorded[start:len(recorded) - end]
    out: list[Difference] = []
    for i, (a, b) in enumerate(zip(here, there)):
        out.extend(compare(a, b, f"{where}[{start + i}]."))
    for i in range(len(there), len(here)):
        at = start + i
        copy_of = next((j for j in (at - 1, at + 1) if 0 <= j < len(wanted) and j != at
                        and json_equal(wanted[j], wanted[at])), None)
        note = say(f"a second copy of {where}[{copy_of}]", f"是 {where}[{copy_of}] 的重复副本") \
            if copy_of is not None else ""
        out.append(Difference(f"{where}[{at}]", "extra", here=wanted[at], chars=_size(wanted[at]), note=note))
    for i in range(len(here), len(there)):
        out.append(Difference(f"{where}[{start + i}]", "missing", recorded=there[i], chars=_size(there[i])))
    return out


def describe_differences(wanted: Any, recorded: Any) -> list[str]:
    """Name the fields where two request bodies differ, e.g. ['temperature: 0.5 here, 0.3 recorded'].

    Example:
        >>> describe_differences({"t": 0.5, "m": "x"}, {"t": 0.3, "m": "x"})
        ['t: 0.5 here, 0.3 recorded']
    """
    return [d.text() for d in compare(wanted, recorded)]


def json_equal(a: Any, b: Any) -> bool:
    """Equal as JSON values, the way the replay match key sees them: numbers by value (1 == 1.0), but a boolean is not
    a number (true != 1). The same answer as comparing the two canonical texts, without writing them out: a prompt
    can be MiBs, and a miss compares it with every recording.

    Example:
        >>> json_equal({"n": [1.0, True]}, {"n": [1, True]}), json_equal(True, 1), json_equal(0, False)
        (True, False, False)
    """
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)  # NaN is written "NaN": two NaNs have the same text
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict) and all(isinstance(k, str) for k in (*a, *b)):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return canonical_json(_numbers_by_value(a)) == canonical_json(_numbers_by_value(b))


def _common_prefix(a: str, b: str) -> int:
    """How many characters two texts share at the start (a binary search: prompts can be MiBs)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: str, b: str) -> int:
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            low = mid
        else:
            high = mid - 1
    return low


def _side_by_side(here: str, recorded: str, context: int = 12, middle: int = 30) -> tuple[str, str]:
    """The two texts around what changed, the changed part in ⟨ ⟩, each cut to a few dozen characters.

    Example:
        >>> _side_by_side("我叫什么名字?", "我叫什么名字？")
        ('"我叫什么名字⟨?⟩"', '"我叫什么名字⟨？⟩"')
    """
    here, recorded = redact_text(here), redact_text(recorded)  # before cutting: a cut key escapes the redaction
    start = _common_prefix(here, recorded)
    end = _common_suffix(here[start:], recorded[start:])

    def show(text: str) -> str:
        before = text[max(0, start - context):start]
        changed = text[start:len(text) - end]
        after = text[len(text) - end:][:context]
        if len(changed) > middle:
            changed = changed[:middle - 1] + "…"
        mark = ("⟨", "⟩") if start or end else ("", "")  # nothing shared: the whole text changed, no marks
        inner = json.dumps(before, ensure_ascii=False)[1:-1] + mark[0] + json.dumps(changed, ensure_ascii=False)[1:-1] \
            + mark[1] + json.dumps(after, ensure_ascii=False)[1:-1]
        return '"' + ("…" if start > context else "") + inner + ("…" if end > context else "") + '"'
    return show(here), show(recorded)


def _size(value: Any, limit: int = 100_000) -> int:
    """About how many characters a JSON value has, counted up to `limit` (an added item counts as that many changed)."""
    if isinstance(value, str):
        return min(len(value) + 2, limit)
    if isinstance(value, dict):
        total = 2
        for k, v in value.items():
            total += len(str(k)) + 4 + _size(v, limit - total)
            if total >= limit:
                return limit
        return total
    if isinstance(value, list):
        total = 2
        for v in value:
            total += 1 + _size(v, limit - total)
            if total >= limit:
                return limit
        return total
    return len(str(value))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _short(value: Any, limit: int = 40) -> str:
    """A value as JSON, cut to `limit` characters (a long text is cut before it is encoded: bodies can be MiBs).

    Example:
        >>> _short("x" * 100, 10)
        '"xxxxxxxx…'
    """
    # trimmed with a margin, then redacted, then cut: a key that starts within the shown part is whole when redacted
    text = json.dumps(redact_value(_trimmed(value, limit + 64)), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _trimmed(value: Any, limit: int) -> Any:
    """A JSON value with every long text cut and at most a few items, small enough to encode whatever its size."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, dict):
        return {str(k)[:limit]: _trimmed(v, limit) for k, v in list(value.items())[:8]}
    if isinstance(value, list):
        return [_trimmed(v, limit) for v in value[:8]]
    return value


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
class Nearest:
    """The recording nearest a request that missed: how they differ, and the recordings exactly as near.

    `sent_messages` and `recorded_messages` are the numbers of messages in the request and in the recording (None for a
    body without a list of messages).
    """

    recording: Recording
    differences: list[Difference]
    ties: list[str] = field(default_factory=list)
    sent_messages: int | None = None
    recorded_messages: int | None = None


def _message_count(body: Any) -> int | None:
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        return len(body["messages"])
    return None


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

    def nearest(self, method: str, path: str, body: Any) -> Nearest | None:
        """The recording most like this request, and how they differ (for the replay-miss message).

        Only recordings of the same method and path count. The nearest has the fewest changed fields (a message added
        or left out is one), then, of those, the same number of messages if one has it, then the fewest changed
        characters; recordings exactly as near are named too. The thinking an assistant message carries back
        (`reasoning_content`) is left out, as the match key does.

        Fields come first, not the number of messages: a history that lost one message ([system, user, user]) is
        nearest the recording with that message, not another conversation that happens to have three.
        """
        wanted = _without_sent_back_thinking(body)
        count = _message_count(wanted)
        scored: list[tuple[tuple[int, int, int], Recording, list[Difference]]] = []
        with self.lock:
            groups = [group[0] for group in self.by_key.values() if group]
        for rec in sorted(groups, key=lambda r: r.name):
            if rec.request["method"].upper() != method.upper() or rec.request["path"] != path:
                continue
            recorded = _without_sent_back_thinking(rec.request.get("body"))
            diffs = compare(wanted, recorded)
            scored.append(((len(diffs), int(_message_count(recorded) != count), sum(d.chars for d in diffs)),
                           rec, diffs))
        if not scored:
            return None
        score, best, diffs = min(scored, key=lambda item: item[0])
        ties = [rec.name for other, rec, _ in scored if other == score and rec is not best]
        return Nearest(best, diffs, ties, count, _message_count(_without_sent_back_thinking(best.request.get("body"))))

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
