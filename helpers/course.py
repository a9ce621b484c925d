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
        s = self.settings
        if s.mode == "replay" and s.has_key:
            # A learner with a key who chose replay: the key is there, KIMI_MODE is what keeps the course offline.
            where = "in .env" if s.mode_set_in == ".env" else "in your environment"
            undo = "delete that line" if s.mode_set_in == ".env" else "unset it"
            return (f"Mode: replay · answers come from recordings at {self.base_url} (your key is not used) · "
                    f"chosen {where}: KIMI_MODE=replay; to go live, {undo} and restart the kernel.")
        if s.mode == "replay":
            return (f"Mode: replay · answers come from recordings at {self.base_url} (no key needed) · "
                    "to go live, put MOONSHOT_API_KEY in .env and restart the kernel.")
        if s.mode == "record":
            return (f"Mode: record · requests go through {self.base_url} to {s.base_url} and are saved in recordings/ · "
                    "set KIMI_MODE=replay in .env to stop recording.")
        return (f"Mode: live · talking to {self.base_url} with your key · "
                "to work offline, set KIMI_MODE=replay in .env and restart the kernel.")


_course: Course | None = None
_passthrough: KimiServer | None = None
_tags = itertools.count(1)

NO_KEY_HELP = """\
KIMI_MODE is live, but no MOONSHOT_API_KEY was found.
  * Get a key: sign in at https://platform.moonshot.cn (or https://platform.moonshot.ai outside China),
    open "API Keys", create one and copy it at once: it is shown only once.
  * Put it in a file named .env at the top of the course folder:  MOONSHOT_API_KEY=sk-...
    (.env is ignored by git, so the key never lands in a commit.)
  * A key from platform.moonshot.ai also needs KIMI_BASE_URL=https://api.moonshot.ai/v1 in .env.
  * No key? Delete KIMI_MODE=live from .env (or set KIMI_MODE=replay) to work offline from recordings."""


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
            raise SettingsError("No MOONSHOT_API_KEY for live mode: see the steps printed above.")
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
        raise ValueError(f"Unknown fault {fault!r}. Choose one of: {', '.join(FAULTS)}")
    spec = fault
    if fault == "slow":
        spec += f"-{seconds if seconds is not None else 5:g}s"
    elif seconds is not None:
        raise ValueError("seconds= only applies to the 'slow' fault")
    if times is not None:
        if times < 1:
            raise ValueError("times must be 1 or more")
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
