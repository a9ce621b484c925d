"""The notebook entry point: one call in a notebook's first cell.

    >>> from helpers import start      # doctest: +SKIP
    >>> course = start()               # doctest: +SKIP
    Mode: replay · answers come from recordings at http://127.0.0.1:PORT/v1 (no key needed) · ...

`start()` reads the settings, starts the local server when the mode needs it (a free port,
ready before it returns, gone when the kernel goes), and exports KIMI_BASE_URL,
MOONSHOT_API_KEY and KIMI_MODEL into os.environ so `!curl` cells see them too, and LAB_MODEL:
the (retired) model the original lab's requests name, for the lessons that send them as written.
Running it twice is safe: the second call reuses what the first started.
"""
from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from . import short_errors
from .faults import FAULTS
from .lab import LAB_MODEL
from .language import say
from .server import KimiServer
from .settings import FLAGSHIP_MODEL, REPLAY_API_KEY, Settings, SettingsError, load_settings, repr_hiding_secrets


@dataclass
class Course:
    """What a notebook needs: where to send requests, with which key and model."""

    settings: Settings
    base_url: str
    api_key: str = field(repr=False)
    server: KimiServer | None

    def __repr__(self) -> str:
        """The dataclass repr, with the key shown only as set or not: typing `course` in a cell shows no key."""
        return repr_hiding_secrets(self)

    @property
    def mode(self) -> str:
        return self.settings.mode

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def flagship_model(self) -> str:
        """Kimi's flagship model (kimi-k3 since 2026-07-16); the course's own stays `model`."""
        return FLAGSHIP_MODEL

    @property
    def lab_model(self) -> str:
        """The model the original lab's requests name (retired on 2026-08-31)."""
        return LAB_MODEL

    def summary(self) -> str:
        """The mode line `start()` prints, in the language of the moment."""
        s = self.settings
        if s.mode == "replay" and s.has_key:
            # A learner with a key who chose replay: the key is there, KIMI_MODE is what keeps the course offline.
            in_dotenv = s.mode_set_in == ".env"
            where = say("in .env", "在 .env 里") if in_dotenv else say("in your environment", "在你的环境变量里")
            undo = say("delete that line", "删掉那一行") if in_dotenv else say("unset it", "取消这个环境变量")
            return str(say(f"Mode: replay · answers come from recordings at {self.base_url} (your key is not used) · "
                           f"chosen {where.en}: KIMI_MODE=replay; to go live, {undo.en} and restart the kernel.",
                           f"模式：回放（replay）· 回答来自录制文件，由 {self.base_url} 提供（不会用到你的 API 密钥）· "
                           f"这是{where.zh}选的：KIMI_MODE=replay；要切换到在线模式，{undo.zh}，然后重启内核。"))
        if s.mode == "replay":
            return str(say(f"Mode: replay · answers come from recordings at {self.base_url} (no key needed) · "
                           "to go live, put MOONSHOT_API_KEY in .env and restart the kernel.",
                           f"模式：回放（replay）· 回答来自录制文件，由 {self.base_url} 提供（不需要 API 密钥）· "
                           "要切换到在线模式，把 MOONSHOT_API_KEY 写进 .env，然后重启内核。"))
        if s.mode == "record":
            return str(say(f"Mode: record · requests go through {self.base_url} to {s.base_url} and are saved in "
                           "recordings/ · set KIMI_MODE=replay in .env to stop recording.",
                           f"模式：录制（record）· 请求经 {self.base_url} 发往 {s.base_url}，并保存到 recordings/ · "
                           "要停止录制，在 .env 里设置 KIMI_MODE=replay。"))
        return str(say(f"Mode: live · talking to {self.base_url} with your key · "
                       "to work offline, set KIMI_MODE=replay in .env and restart the kernel.",
                       f"模式：在线（live）· 正在用你的 API 密钥访问 {self.base_url} · "
                       "要离线学习，在 .env 里设置 KIMI_MODE=replay，然后重启内核。"))


_course: Course | None = None
_passthrough: KimiServer | None = None
_tags = itertools.count(1)

NO_KEY_HELP = say("""\
KIMI_MODE is live, but no MOONSHOT_API_KEY was found.
  * Get a key: sign in at https://platform.moonshot.cn (or https://platform.moonshot.ai outside China),
    open "API Keys", create one and copy it at once: it is shown only once.
  * Put it in a file named .env at the top of the course folder:  MOONSHOT_API_KEY=sk-...
    (.env is ignored by git, so the key never lands in a commit.)
  * A key from platform.moonshot.ai also needs KIMI_BASE_URL=https://api.moonshot.ai/v1 in .env.
  * No key? Delete KIMI_MODE=live from .env (or set KIMI_MODE=replay) to work offline from recordings.""", """\
KIMI_MODE 是 live（在线模式），但没有找到 MOONSHOT_API_KEY。
  * 获取 API 密钥：登录 https://platform.moonshot.cn（在中国大陆以外用 https://platform.moonshot.ai），
    打开“API Keys”，新建一个密钥并马上复制：它只显示这一次。
  * 把它写进课程文件夹最上层的 .env 文件：  MOONSHOT_API_KEY=sk-...
    （git 会忽略 .env，所以密钥不会进到任何提交里。）
  * platform.moonshot.ai 的密钥还需要在 .env 里加上 KIMI_BASE_URL=https://api.moonshot.ai/v1。
  * 没有密钥？从 .env 里删掉 KIMI_MODE=live（或者设置 KIMI_MODE=replay），用录制文件离线学习。""")


def start(quiet: bool = False) -> Course:
    """Set up the course for this kernel and print one line saying how it runs.

    Example:
        >>> course = start(quiet=True)   # doctest: +SKIP
        >>> course.mode                  # doctest: +SKIP
        'replay'
    """
    global _course
    if _course is None:
        settings = load_settings()
        if settings.mode == "live" and not settings.has_key:
            print(NO_KEY_HELP)
            raise SettingsError(str(say("No MOONSHOT_API_KEY for live mode: see the steps printed above.",
                                        "在线模式需要 MOONSHOT_API_KEY，但没有找到：按上面打印的步骤操作。")))
        _course = _open(settings)
    os.environ["KIMI_MODE"] = _course.mode
    os.environ["KIMI_BASE_URL"] = _course.base_url
    os.environ["MOONSHOT_API_KEY"] = _course.api_key
    os.environ["KIMI_MODEL"] = _course.model
    os.environ["LAB_MODEL"] = LAB_MODEL
    # `!python ...` in a notebook cell should run the kernel's own Python (the course's .venv), not another one.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    short_errors.install()  # in a notebook: an HTTP error shows Kimi's answer, not pages of library frames
    if not quiet:
        print(_course.summary())
    return _course


def _open(settings: Settings) -> Course:
    if settings.mode == "replay":
        server = KimiServer("replay", settings.recordings_dir, accepted_key=REPLAY_API_KEY,
                            pace=settings.replay_pace).start()
        return Course(settings, server.base_url, REPLAY_API_KEY, server)
    if settings.mode == "record":
        server = KimiServer("record", settings.recordings_dir, upstream=settings.base_url,
                            pace=settings.replay_pace, overwrite=settings.overwrite_recordings).start()
        return Course(settings, server.base_url, settings.api_key or "", server)
    return Course(settings, settings.base_url, settings.api_key or "", None)


def current() -> Course:
    """The course started in this kernel (starts it quietly if needed)."""
    return _course if _course is not None else start(quiet=True)


def local_server() -> KimiServer:
    """The local server: the replay/record one, or in live mode a pass-through one in front of the real API."""
    global _passthrough
    course = current()
    if course.server is not None:
        return course.server
    if _passthrough is None:
        _passthrough = KimiServer("passthrough", course.settings.recordings_dir, upstream=course.settings.base_url).start()
    return _passthrough


def fault_base_url(fault: str, times: int | None = None, seconds: float | None = None) -> str:
    """A base URL whose requests meet a simulated fault (in every mode, always labelled simulated).

    times:   fail only the first N requests, then answer normally (a fresh counter each call).
    seconds: for "slow", how long to wait before answering.

    Example:
        >>> fault_base_url("overloaded", times=2)     # doctest: +SKIP
        'http://127.0.0.1:PORT/simulate/overloaded-2~1/v1'
    """
    if fault not in FAULTS:
        raise ValueError(str(say(f"Unknown fault {fault!r}. Choose one of: {', '.join(FAULTS)}",
                                 f"没有名为 {fault!r} 的故障。可选的有：{', '.join(FAULTS)}")))
    spec = fault
    if fault == "slow":
        spec += f"-{seconds if seconds is not None else 5:g}s"
    elif seconds is not None:
        raise ValueError(str(say("seconds= only applies to the 'slow' fault", "seconds= 只对 'slow' 故障有效")))
    if times is not None:
        if times < 1:
            raise ValueError(str(say("times must be 1 or more", "times 至少要是 1")))
        spec += f"-{times}~{next(_tags)}"
    return f"{local_server().url}/simulate/{spec}/v1"


def limits_base_url(tier: str = "tier1", scale: float = 1) -> str:
    """A base URL where the local server enforces a published rate-limit tier, time sped up `scale` times.

    Example:
        >>> limits_base_url("tier1", scale=60)        # doctest: +SKIP
        'http://127.0.0.1:PORT/limits/tier1-x60/v1'
    """
    spec = tier if scale == 1 else f"{tier}-x{scale:g}"
    return f"{local_server().url}/limits/{spec}/v1"


def request_log() -> list[dict[str, Any]]:
    """What the local server received, oldest first (keys masked). Same data as GET /_course/requests."""
    return local_server().log.entries()


def clear_request_log() -> None:
    """Forget the requests logged so far."""
    local_server().log.clear()


def last_request() -> dict[str, Any] | None:
    """The most recent request the local server received, or None."""
    entries = request_log()
    return entries[-1] if entries else None
