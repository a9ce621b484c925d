"""Short errors: when a notebook cell fails inside an HTTP library, show what the learner needs and not the
library's frames.

An error from the openai SDK, requests or httpx still raises for real (the cell stops, Jupyter marks it as an error,
`%tb` prints every frame), but what the cell shows is a few lines: the exception, Kimi's status, error type and
message, the request id, and the line of the learner's own cell that raised.

Example:
    >>> import requests
    >>> error = requests.ConnectionError("Failed to establish a new connection: [Errno 111] Connection refused")
    >>> print("\\n".join(summary(error)))
    requests.exceptions.ConnectionError: Failed to establish a new connection: [Errno 111] Connection refused
      No answer came back: nothing was listening, or the network is down.
"""
from __future__ import annotations

import json
import sys
import traceback
from types import TracebackType
from typing import Any

from .checks.learner import ipython_shell
from .language import say

LIBRARIES = ("openai", "httpx", "httpcore", "requests", "urllib3")


ERROR_LIBRARIES = ("openai", "requests", "httpx")  # their errors are shown short; every other error as usual


def is_library_error(error: BaseException) -> bool:
    """True for an error raised by one of the HTTP libraries (told by its class's module: nothing is imported).

    Example:
        >>> is_library_error(ValueError("x"))
        False
    """
    return any(cls.__module__.partition(".")[0] in ERROR_LIBRARIES for cls in type(error).__mro__)


def kimi_error(response: Any) -> tuple[str | None, str | None]:
    """(type, message) from an error answer's JSON body, if it has one."""
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 — not JSON, or already closed
        try:
            body = json.loads(getattr(response, "text", "") or "")
        except Exception:  # noqa: BLE001
            return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("type"), error.get("message")
    if isinstance(error, str):
        return error, body.get("message")
    return None, None


def summary(error: BaseException) -> list[str]:
    """The lines worth reading about an HTTP error: what it is, and what the service said."""
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    response = getattr(error, "response", None)
    status = getattr(error, "status_code", None) or getattr(response, "status_code", None)
    kind = getattr(error, "type", None)
    message = getattr(error, "message", None) if isinstance(getattr(error, "message", None), str) else None
    if response is not None:
        body_kind, body_message = kimi_error(response)
        kind, message = kind or body_kind, body_message or message
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    first = message or text
    lines = [f"{name}: {first}"]
    if response is not None and status is not None:
        headers = getattr(response, "headers", {}) or {}
        details = [f"HTTP {status}"]
        if kind:
            details.append(str(say(f"type {kind}", f"类型 {kind}")))
        request_id = headers.get("msh-request-id") if hasattr(headers, "get") else None
        details.append(str(say(f"request id {request_id}", f"请求 id {request_id}")) if request_id else
                       str(say("no request id", "没有请求 id")))
        lines.append("  " + " · ".join(details))
    elif status is None:
        lines.append(str(say("  No answer came back: nothing was listening, or the network is down.",
                             "  没有收到回答：要么那里没有服务在监听，要么网络断了。")
                         if "onnect" in type(error).__name__ or "onnect" in str(error) else
                         say("  No answer came back in time.", "  没能及时收到回答（超时）。")
                         if "imeout" in type(error).__name__ else
                         say("  No HTTP answer to show.", "  没有可以显示的 HTTP 响应。")))
    return lines


def _cell_frames(tb: TracebackType | None) -> tuple[list[str], int]:
    """The learner's own lines in the traceback (cells and course code), and how many library frames were left out."""
    shown, hidden = [], 0
    for frame in traceback.extract_tb(tb):
        in_library = "site-packages" in frame.filename or any(f"/{lib}/" in frame.filename for lib in LIBRARIES)
        if in_library or frame.filename.endswith("interactiveshell.py"):
            hidden += 1
            continue
        where = str(say("your cell", "你的单元格")) if ("ipykernel_" in frame.filename or frame.filename.startswith("<")) \
            else frame.filename
        code = (frame.line or '').strip()
        shown.append(str(say(f"  {where}, line {frame.lineno}: {code}", f"  {where}，第 {frame.lineno} 行：{code}")))
    return shown, hidden


def short_traceback(error: BaseException, tb: TracebackType | None) -> list[str]:
    frames, hidden = _cell_frames(tb)
    lines = summary(error) + frames
    if hidden:
        lines.append(str(say(f"  ({hidden} frames inside the HTTP libraries are hidden: run %tb to see them all.)",
                             f"  （HTTP 库内部的 {hidden} 层调用已隐藏：运行 %tb 可以看到全部。）")))
    return lines


def _handler(shell: Any, etype: type[BaseException], value: BaseException, tb: TracebackType | None,
             tb_offset: Any = None) -> list[str]:
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # so that %tb shows every frame
    stb = short_traceback(value, tb)
    shell._showtraceback(etype, value, stb)  # an error output, as for any exception, only shorter
    return stb


def _name_error_advice(shell: Any, error: NameError) -> str | None:
    """Which earlier cells define what the cell that just failed lacks (after a kernel restart), in one line."""
    from .checks.prerequisites import name_error_advice

    history = shell.user_ns.get("_ih") or [""]
    source = history[-1] if isinstance(history[-1], str) else ""
    return name_error_advice(source, error, shell.user_ns) if source.strip() else None


def install() -> bool:
    """In a notebook, show HTTP-library errors short from now on (once per kernel); False outside a notebook.

    The shell's own `showtraceback` is wrapped: an error of openai, requests or httpx is shown short, any other
    error as IPython shows it. The libraries need not be imported yet (`import openai` alone takes about a second,
    which the first cell of every notebook would otherwise pay), and a cell that imports one and fails at once is
    covered too.
    """
    shell = ipython_shell()
    if shell is None:
        return False
    if not getattr(shell, "_kimi_short_errors", False):
        shell._kimi_short_errors = True
        plain = shell.showtraceback

        def showtraceback(exc_tuple: Any = None, *args: Any, **kwargs: Any) -> Any:
            _, value, tb = exc_tuple if exc_tuple is not None else sys.exc_info()
            if value is not None and is_library_error(value) and not kwargs.get("exception_only"):
                _handler(shell, type(value), value, tb)
                return None
            shown = plain(exc_tuple, *args, **kwargs)
            if isinstance(value, NameError):
                advice = _name_error_advice(shell, value)
                if advice:
                    print(f"💡 {advice}")
            return shown

        shell.showtraceback = showtraceback
    return True

