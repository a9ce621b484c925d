"""Writing recordings by hand, shaped after real captured exchanges, when no key is at hand.

A hand-written recording is honest about itself: its `source.kind` is "handwritten", it names
the capture its shape follows (`shaped_after`, a file in tests/captures/) and the documentation
for what no capture shows, and it says the reply text and token counts were written for the
course rather than produced by the model. `make record` with a key replaces them with live
recordings (`source.kind` "recorded").

The shape, as the captures show it (tests/test_fidelity.py holds every recording to it): the
headers of api.moonshot.ai (Server-Timing, Msh-Request-Id as a UUID v1, Msh-Trace-Mode: on,
Vary: Origin, X-Msh-Trace-Id of 32 hex digits, and Msh-Context-Cache-Token-Saved on a cache hit);
the body's keys in the order id, object, created, model, choices, usage, with no
system_fingerprint; an id of "chatcmpl-" and 24 hex digits, the first 8 the creation time;
usage with completion_tokens_details.reasoning_tokens when the model thought, and cached_tokens
at the top and in prompt_tokens_details on a cache hit; a stream of "data: <json>" events whose
chunks all carry system_fingerprint, the role only in the first, usage inside the last choice,
then "data: [DONE]".

The sources live in recordings/handwritten/*.py, each defining RECORDINGS (a list built with
the functions below); `python -m helpers.authoring` writes them to recordings/*.json.

Example:
    >>> rec = chat("demo", {"model": "some-model", "messages": [{"role": "user", "content": "hi"}]}, "Hello!")
    >>> rec.response["body"]["choices"][0]["message"]["content"]
    'Hello!'
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from .recordings import Recording, write_recording
from .redact import redact_text, redact_value
from .settings import RECORDINGS_DIR
from .wire import JSON_CONTENT_TYPE, SSE_CONTENT_TYPE, kimi_headers

CHAT_DOCS = "https://platform.moonshot.cn/docs/api/chat (request, response and SSE chunk format)"
ERRORS_DOCS = "https://platform.kimi.com/docs/api/errors (status codes, error types and messages)"
HANDWRITTEN_NOTE = ("written by hand for the course, shaped after the named capture; the reply text and the "
                    "token counts were written, not produced by the model. `make record` replaces it with a live recording.")
# The captures (tests/captures/<name>.json) each kind of hand-written answer is shaped after.
CHAT_CAPTURE = "real_200_chat_nonstream_kimi_k3"
CACHE_CAPTURE = "real_200_chat_cache_hit_kimi_k3"
STREAM_CAPTURES = "real_sse_kimi_k2_0905_preview, real_sse_final_chunk_kimi_k2_turbo_cached"
ERROR_CAPTURE = "real_400_temperature"
STREAM_HEADERS_NOTE = ("No real stream's headers were found: a stream carries the headers of a real non-streamed "
                       "answer (real_200_chat_nonstream_kimi_k3) with Content-Type text/event-stream (inferred).")
STREAM_USAGE_NOTE = "The usage of the last chunk is shaped like the non-streamed answer's (inferred for thinking models)."


def handwritten(basis: str = CHAT_DOCS, note: str = HANDWRITTEN_NOTE, shaped_after: str = CHAT_CAPTURE
                ) -> dict[str, str]:
    return {"kind": "handwritten", "shaped_after": shaped_after, "basis": basis, "note": note}


def _seed(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()




def estimate_tokens(text: str) -> int:
    """A rough count: about one token per CJK character and per 4 other characters."""
    cjk = len(re.findall(r"[\u3000-\u9fff\uff00-\uffef]", text))
    return cjk + max(0, len(text) - cjk + 3) // 4


def prompt_tokens_for(messages: list[dict[str, Any]]) -> int:
    return sum(estimate_tokens(str(m.get("content", ""))) + 4 for m in messages) + 2


def _headers(name: str, content_type: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of a real api.moonshot.ai answer (real_200_chat_nonstream_kimi_k3), in its order."""
    return {"Content-Type": content_type, **kimi_headers("request-id:" + name, extra)}


def fingerprint(name: str) -> str:
    """A stream's system_fingerprint: "fpv0_" and 8 hex digits, as real chunks carry."""
    return "fpv0_" + _seed("fingerprint:" + name)[:8]


def pieces(text: str, size: int = 3) -> list[str]:
    """Split reply text into stream deltas: a few characters each, words kept whole."""
    out, current = [], ""
    for token in re.findall(r"[A-Za-z0-9_'.-]+\s*|\s+|.", text):
        current += token
        if len(current) >= size or token.endswith(("\n", "。", "！", "？", ".", "!")):
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def chat(name: str, body: dict[str, Any], content: str, reasoning: str | None = None, finish_reason: str = "stop",
         completion_tokens: int | None = None, elapsed: float | None = None, source: dict[str, str] | None = None,
         first_token_at: float = 0.45, seconds_per_piece: float = 0.035, cached_tokens: int = 0) -> Recording:
    """A 200 chat completion for `body`, streamed as SSE when body["stream"] is true.

    `reasoning` is the thinking text (its tokens are reported as completion_tokens_details.reasoning_tokens and
    counted in completion_tokens, as real answers do); `cached_tokens` makes it a cache hit (real_200_chat_cache_hit_kimi_k3).
    """
    seed = _seed(name)
    created = 1788300000 + int(seed[:6], 16) % 5_000_000  # September-October 2026
    cid = f"chatcmpl-{created:08x}{seed[6:22]}"
    model = body["model"]
    prompt = prompt_tokens_for(body["messages"])
    thought = estimate_tokens(reasoning) if reasoning else 0
    completion = completion_tokens if completion_tokens is not None else estimate_tokens(content) + thought
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if not 0 <= cached_tokens <= prompt:
        raise ValueError(f"{name}: cached_tokens must be between 0 and the prompt's {prompt} tokens")
    if cached_tokens:
        usage["cached_tokens"] = cached_tokens
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": min(thought, completion)}
    if cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    extra = {"Msh-Context-Cache-Token-Saved": str(cached_tokens)} if cached_tokens else None
    shaped_after = CACHE_CAPTURE if cached_tokens else CHAT_CAPTURE
    request = {"method": "POST", "path": "/v1/chat/completions", "body": body}
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    if not body.get("stream"):
        took = elapsed if elapsed is not None else round(first_token_at + seconds_per_piece * len(pieces(content + (reasoning or ""))), 3)
        response_body = {"id": cid, "object": "chat.completion", "created": created, "model": model,
                         "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}], "usage": usage}
        response = {"status": 200, "headers": _headers(name, JSON_CONTENT_TYPE, extra), "elapsed": took,
                    "body": response_body}
        return Recording(name, source or handwritten(shaped_after=shaped_after), request, response)

    system_fingerprint = fingerprint(name)

    def chunk(delta: dict[str, Any], finish: str | None = None, with_usage: bool = False) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        if with_usage:
            choice["usage"] = usage
        return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [choice],
                "system_fingerprint": system_fingerprint}

    at = 0.0
    events = [{"at": round(at + first_token_at * 0.4, 3), "data": chunk({"role": "assistant", "content": ""})}]
    at = first_token_at
    for part in pieces(reasoning or ""):
        events.append({"at": round(at, 3), "data": chunk({"reasoning_content": part})})
        at += seconds_per_piece
    for part in pieces(content):
        events.append({"at": round(at, 3), "data": chunk({"content": part})})
        at += seconds_per_piece
    events.append({"at": round(at, 3), "data": chunk({}, finish_reason, with_usage=True)})
    events.append({"at": round(at, 3), "data": "[DONE]"})
    response = {"status": 200, "headers": _headers(name, SSE_CONTENT_TYPE, extra), "events": events}
    stream_source = handwritten(CHAT_DOCS, f"{HANDWRITTEN_NOTE} {STREAM_HEADERS_NOTE} {STREAM_USAGE_NOTE}",
                                shaped_after=f"{STREAM_CAPTURES}, {shaped_after}")
    return Recording(name, source or stream_source, request, response)


def error(name: str, body: Any, status: int, type_: str, message: str, path: str = "/v1/chat/completions",
          method: str = "POST", source: dict[str, str] | None = None) -> Recording:
    """A recorded error answer in Kimi's shape {"error": {"message", "type"}}."""
    request = {"method": method, "path": path, "body": body}
    response = {"status": status, "headers": _headers(name, JSON_CONTENT_TYPE), "elapsed": 0.05,
                "body": {"error": {"message": message, "type": type_}}}
    return Recording(name, source or handwritten(ERRORS_DOCS, shaped_after=ERROR_CAPTURE), request, response)


def json_answer(name: str, method: str, path: str, body: Any, answer: Any, basis: str,
                elapsed: float = 0.08, note: str = HANDWRITTEN_NOTE) -> Recording:
    """A recorded 200 JSON answer for any endpoint (models, balance, token counts).

    No real body of these endpoints was found: the body follows the documentation; the headers follow a real answer.
    """
    request = {"method": method, "path": path, "body": body}
    response = {"status": 200, "headers": _headers(name, JSON_CONTENT_TYPE), "elapsed": elapsed, "body": answer}
    return Recording(name, handwritten(basis, note, shaped_after=f"{CHAT_CAPTURE} (headers only)"), request, response)


CAPTURES_DIR = RECORDINGS_DIR.parent / "tests" / "captures"
# Left out of a captured answer: the transport's own headers (the local server writes its own) and the Cloudflare
# edge's, which say nothing about the request.
TRANSPORT_HEADERS = ("date", "content-length", "connection", "transfer-encoding", "server",
                     "strict-transport-security", "cf-cache-status", "cf-ray")


def captured(name: str, capture: str, folder: Path = CAPTURES_DIR) -> Recording:
    """A real captured exchange (tests/captures/<capture>.json), used as it is, as a recording named `name`.

    Its source names the capture and where it came from; account ids are replaced by placeholders; the transport's
    own headers (Date, Content-Length, Connection, Server) are left to the local server, which writes its own, and
    the Cloudflare edge's (CF-RAY, cf-cache-status, Strict-Transport-Security) are left out.
    """
    data = json.loads((folder / f"{capture}.json").read_text(encoding="utf-8"))
    request = {"method": data["request"]["method"], "path": data["request"]["path"], "body": data["request"]["body"]}
    response = data["response"]
    headers = {k: redact_text(v) for k, v in (response.get("headers") or {}).items()
               if k.lower() not in TRANSPORT_HEADERS}
    answer = {"status": response["status"], "headers": headers, "body": redact_value(response["body"])}
    source = {"kind": "captured", "capture": capture, **data["source"],
              "note": "a live exchange a third party published, used as it is (account ids as placeholders); "
                      "the local server writes its own Date, Content-Length and Server headers, and the Cloudflare "
                      "edge's headers are left out."}
    return Recording(name, source, request, answer)


HANDWRITTEN_DIR = RECORDINGS_DIR / "handwritten"


def source(name: str, folder: Path = HANDWRITTEN_DIR):
    """The hand-written source `<folder>/<name>.py` as a module, loaded once.

    One source reuses another's texts this way, e.g. a later turn that repeats an earlier reply:
    `source("lesson01").RECORDINGS`.
    """
    module_name = f"handwritten_{folder.name}_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, folder / f"{name}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {folder / f'{name}.py'} as a module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return sys.modules[module_name]


def recording_named(source_name: str, name: str) -> Recording:
    """A recording another hand-written source defines, e.g. recording_named("lesson01", "l01-hello-lilei")."""
    for recording in source(source_name).RECORDINGS:
        if recording.name == name:
            return recording
    raise KeyError(f"recordings/handwritten/{source_name}.py defines no recording named {name!r}")


def reply_of(recording: Recording) -> dict[str, Any]:
    """The assistant message a non-streamed chat recording answers with."""
    return recording.response["body"]["choices"][0]["message"]


def load_sources(folder: Path = HANDWRITTEN_DIR) -> list[Recording]:
    """Every recording defined in recordings/handwritten/*.py (each file defines RECORDINGS).

    Two recordings of the same request are refused: the second would only be served on a repeat.
    """
    found: list[Recording] = []
    for path in sorted(folder.glob("*.py")):
        found.extend(source(path.stem, folder).RECORDINGS)
    names = [r.name for r in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"recording names used twice: {', '.join(duplicates)}")
    first: dict[str, str] = {}
    for recording in found:
        if recording.key in first:
            raise ValueError(f"{recording.name} records the same request as {first[recording.key]}: "
                             "reuse that recording (authoring.source) instead of writing a second one")
        first[recording.key] = recording.name
    return found


def _kind(path: Path) -> str | None:
    return json.loads(path.read_text(encoding="utf-8"))["source"].get("kind")


def write_all(folder: Path = RECORDINGS_DIR) -> list[Path]:
    """Write every hand-written (and captured) recording, and delete such files no source defines any more.

    A live recording (source.kind "recorded") is never touched.
    """
    recordings = load_sources(folder / "handwritten")
    written = []
    for recording in recordings:
        target = folder / f"{recording.name}.json"
        if target.exists() and _kind(target) == "recorded":
            continue
        written.append(write_recording(folder, recording, overwrite=True))
    defined = {f"{r.name}.json" for r in recordings}
    for path in folder.glob("*.json"):
        if path.name not in defined and not path.name.startswith(".") and _kind(path) in ("handwritten", "captured"):
            path.unlink()
    return written


if __name__ == "__main__":
    paths = write_all()
    print(f"wrote {len(paths)} hand-written recordings to {RECORDINGS_DIR}")
    sys.exit(0)
