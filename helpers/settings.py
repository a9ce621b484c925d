"""Settings: the one place the course reads its configuration.

Everything configurable comes from the environment or a `.env` file (found from the
repo root or any folder below it). The model id lives here and nowhere else.

Example:
    >>> from helpers.settings import load_settings
    >>> s = load_settings()
    >>> s.mode in ("live", "replay", "record")
    True
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .language import say
from .redact import looks_like_key, mask_secret

REPO_ROOT = Path(__file__).resolve().parent.parent
RECORDINGS_DIR = REPO_ROOT / "recordings"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"

DEFAULT_BASE_URL = "https://api.moonshot.cn/v1"
INTERNATIONAL_BASE_URL = "https://api.moonshot.ai/v1"
DEFAULT_MODEL = "kimi-k2.6"
# Kimi's flagship since 2026-07-16 (thinking always on, sampling fixed): lesson 07 shows two real answers of it.
FLAGSHIP_MODEL = "kimi-k3"
MODES = ("live", "replay", "record")

# The key the local server accepts in replay mode. It is not a secret and never
# reaches the real service: it only says "this request came from the course".
REPLAY_API_KEY = "sk-replay-offline"

# The course's own variables other than the key: a key pasted into one of them is caught before anything else.
OTHER_VARIABLES = ("KIMI_MODE", "KIMI_BASE_URL", "KIMI_MODEL", "KIMI_REPLAY_PACE", "KIMI_RECORDINGS_DIR",
                   "KIMI_RECORD_OVERWRITE")
MAX_REPLAY_PACE = 10.0


class SettingsError(ValueError):
    """A setting has a value the course cannot use; the message says how to fix it."""


@dataclass(frozen=True)
class Settings:
    """What the course needs to know to talk to Kimi.

    mode:        "live" (the real API), "replay" (recorded answers, no key) or "record".
    api_key:     your MOONSHOT_API_KEY, or None.
    base_url:    the real service the key belongs to (live and record mode).
    model:       the model id every notebook uses (KIMI_MODEL).
    replay_pace: how fast recorded streams and delays play back: 1.0 = as recorded, 0 = instant.
    mode_set_in: where KIMI_MODE was set (".env" or "the environment"), or None when the mode follows from the key.
    """

    mode: str
    api_key: str | None = field(repr=False)
    base_url: str
    model: str
    replay_pace: float = 1.0
    recordings_dir: Path = RECORDINGS_DIR
    overwrite_recordings: bool = False
    mode_set_in: str | None = None

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def describe(self) -> str:
        """One line for humans, never including the key itself."""
        key = "a key is set" if self.has_key else "no key"
        return f"mode={self.mode}, base_url={self.base_url}, model={self.model}, {key}"

    def __repr__(self) -> str:
        """The dataclass repr, with the key shown only as set or not (see `repr_hiding_secrets`)."""
        return repr_hiding_secrets(self)


def repr_hiding_secrets(obj: Any) -> str:
    """A dataclass's repr in which every `field(repr=False)` shows only whether it is set.

    Example:
        >>> Settings("live", "sk-" + "x" * 48, DEFAULT_BASE_URL, "some-model")  # doctest: +ELLIPSIS
        Settings(mode='live', api_key=<set, hidden>, base_url='https://api.moonshot.cn/v1', model='some-model', ...)
    """
    parts = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.repr:
            parts.append(f"{f.name}={value!r}")
        else:
            parts.append(f"{f.name}={'<set, hidden>' if value else '<not set>'}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def find_dotenv_file(start: Path | None = None) -> Path | None:
    """Return the nearest `.env` walking up from `start` (default: the working folder) to the repo root.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = (Path(folder) / ".env").write_text("KIMI_MODE=replay")
        ...     find_dotenv_file(Path(folder)) == Path(folder).resolve() / ".env"
        True
    """
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
        if folder == REPO_ROOT:
            break
    candidate = REPO_ROOT / ".env"
    return candidate if candidate.is_file() else None


def is_local_url(url: str) -> bool:
    """True for a server on this machine (http://127.0.0.1:PORT/..., http://localhost/...)."""
    host = url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost", "[::1]")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().strip('"').strip("'").strip()
    return value or None


def _check_not_a_key(name: str, value: str | None) -> None:
    """Stop when a key was pasted into a variable other than MOONSHOT_API_KEY."""
    if value and value.startswith("sk-") and looks_like_key(value):
        raise SettingsError(str(say(
            f"{name}={mask_secret(value)} looks like an API key, which belongs in MOONSHOT_API_KEY, not in {name}. "
            f"In .env, put the key on the line MOONSHOT_API_KEY=..., then fix the {name} line or delete it.",
            f"{name}={mask_secret(value)} 看起来是一个 API 密钥，它应该写在 MOONSHOT_API_KEY 里，而不是 {name} 里。"
            f"在 .env 里把密钥写到 MOONSHOT_API_KEY=... 这一行，再改好 {name} 这一行，或者把它删掉。"
        )))


def _check_key(key: str) -> None:
    """Stop when MOONSHOT_API_KEY cannot be a key as pasted. The message never quotes the key."""
    if key.lower().startswith("bearer "):
        raise SettingsError(str(say('MOONSHOT_API_KEY starts with "Bearer ". Paste only the key, without "Bearer ": '
                                    "MOONSHOT_API_KEY=sk-... (the course adds \"Bearer \" itself when it sends the key).",
                                    'MOONSHOT_API_KEY 以 "Bearer " 开头。只粘贴密钥本身，不要带 "Bearer "：'
                                    'MOONSHOT_API_KEY=sk-...（课程发送密钥时会自己加上 "Bearer "）。')))
    if "\n" in key or "\r" in key:
        raise SettingsError(str(say("MOONSHOT_API_KEY spans more than one line. A key is a single line: in .env, keep "
                                    "only the key on the line MOONSHOT_API_KEY=..., with nothing else on it or below it.",
                                    "MOONSHOT_API_KEY 占了不止一行。密钥只有一行：在 .env 里，MOONSHOT_API_KEY=... "
                                    "这一行只写密钥，这一行和它下面都不要有别的内容。")))
    if any(c.isspace() for c in key):
        raise SettingsError(str(say("MOONSHOT_API_KEY contains a space or tab. A key has none: copy it again from "
                                    "platform.moonshot.cn (or .ai), or remove the spaces from the line in .env.",
                                    "MOONSHOT_API_KEY 里有空格或制表符，而密钥里不会有：从 platform.moonshot.cn"
                                    "（或 .ai）重新复制一次，或者删掉 .env 里那一行中的空格。")))
    if not key.isascii():
        position = next(i for i, c in enumerate(key, 1) if not c.isascii())
        raise SettingsError(str(say(
            f"MOONSHOT_API_KEY contains non-ASCII characters (the first is character {position}), such as the "
            "full-width letters a Chinese input method types. A key is plain ASCII letters, digits and '-': "
            "copy it again from platform.moonshot.cn (or .ai), or switch the input method to half-width and retype it.",
            f"MOONSHOT_API_KEY 里有非 ASCII 字符（第一个是第 {position} 个字符），比如中文输入法打出的全角字母。"
            "密钥只由 ASCII 字母、数字和 '-' 组成：从 platform.moonshot.cn（或 .ai）重新复制一次，"
            "或者把输入法切换到半角再重新输入。"
        )))


def _check_base_url(url: str) -> None:
    """Stop when KIMI_BASE_URL is not an http(s) base URL ending in /v1."""
    if not url.startswith(("http://", "https://")):
        raise SettingsError(str(say(
            f"KIMI_BASE_URL={mask_secret(url)} must start with https:// (for example {DEFAULT_BASE_URL}).",
            f"KIMI_BASE_URL={mask_secret(url)} 必须以 https:// 开头（例如 {DEFAULT_BASE_URL}）。")))
    if url.endswith("/chat/completions"):
        raise SettingsError(str(say(
            f"KIMI_BASE_URL={mask_secret(url)} ends in /chat/completions, but the base URL stops at /v1 (the client "
            f"adds /chat/completions itself). Remove it, as in KIMI_BASE_URL={DEFAULT_BASE_URL} (or {INTERNATIONAL_BASE_URL}).",
            f"KIMI_BASE_URL={mask_secret(url)} 以 /chat/completions 结尾，但 base URL 应该到 /v1 为止"
            f"（客户端会自己加上 /chat/completions）。把它删掉，写成 KIMI_BASE_URL={DEFAULT_BASE_URL}"
            f"（或 {INTERNATIONAL_BASE_URL}）。"
        )))
    if not url.endswith("/v1"):
        raise SettingsError(str(say(
            f"KIMI_BASE_URL={mask_secret(url)} must end in /v1. Add /v1, as in KIMI_BASE_URL={DEFAULT_BASE_URL} "
            f"(or {INTERNATIONAL_BASE_URL}).",
            f"KIMI_BASE_URL={mask_secret(url)} 必须以 /v1 结尾。加上 /v1，写成 KIMI_BASE_URL={DEFAULT_BASE_URL}"
            f"（或 {INTERNATIONAL_BASE_URL}）。"
        )))


def load_settings(environ: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Read `.env` and the environment (the environment wins) and return checked Settings.

    Example:
        >>> load_settings({"KIMI_MODE": "replay"}, dotenv_path=Path("/dev/null")).mode
        'replay'
    """
    env = dict(os.environ if environ is None else environ)
    path = dotenv_path if dotenv_path is not None else find_dotenv_file()
    file_values: dict[str, str] = {}
    if path:
        from dotenv import dotenv_values  # only when there is a file to read

        file_values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    merged = {**file_values, **{k: v for k, v in env.items() if v != ""}}
    for name in OTHER_VARIABLES:
        _check_not_a_key(name, _clean(merged.get(name)))

    base_url = (_clean(merged.get("KIMI_BASE_URL")) or DEFAULT_BASE_URL).rstrip("/")
    _check_base_url(base_url)

    api_key = _clean(merged.get("MOONSHOT_API_KEY"))
    if api_key:
        _check_key(api_key)
    if api_key == REPLAY_API_KEY and not is_local_url(base_url):
        api_key = None  # the offline placeholder is only a key for a local server
    if api_key and api_key in {"sk-...", "your-key-here", "MOONSHOT_API_KEY"}:
        raise SettingsError(str(say(
            f"MOONSHOT_API_KEY is still the placeholder {mask_secret(api_key)}. Paste the key you copied from "
            "platform.moonshot.cn (or .ai) into .env, or delete the line to use replay mode.",
            f"MOONSHOT_API_KEY 还是占位符 {mask_secret(api_key)}。把你从 platform.moonshot.cn（或 .ai）"
            "复制的密钥粘贴到 .env 里，或者删掉这一行，使用回放模式。"
        )))

    mode_text = _clean(merged.get("KIMI_MODE"))
    mode = (mode_text or ("live" if api_key else "replay")).lower()
    mode_set_in = None if not mode_text else "the environment" if _clean(env.get("KIMI_MODE")) else ".env"
    if mode not in MODES:
        raise SettingsError(str(say(
            f"KIMI_MODE={mask_secret(mode)} is not one of {', '.join(MODES)}. Fix it in .env or unset it.",
            f"KIMI_MODE={mask_secret(mode)} 不是 {', '.join(MODES)} 中的一个。在 .env 里改正它，或者取消这个设置。")))

    model = _clean(merged.get("KIMI_MODEL")) or DEFAULT_MODEL
    if any(c.isspace() for c in model):
        raise SettingsError(str(say(f"KIMI_MODEL={mask_secret(model)} contains a space. A model id is one word, such as "
                                    f"{DEFAULT_MODEL}: fix it in .env, or delete the line to use the default.",
                                    f"KIMI_MODEL={mask_secret(model)} 里有空格。模型 id 是一个不带空格的词，比如 "
                                    f"{DEFAULT_MODEL}：在 .env 里改正它，或者删掉这一行，使用默认模型。")))

    pace_text = _clean(merged.get("KIMI_REPLAY_PACE")) or "1"
    try:
        pace = float(pace_text)
    except ValueError:
        raise SettingsError(str(say(f"KIMI_REPLAY_PACE={mask_secret(pace_text)} must be a number such as 1 (as "
                                    "recorded) or 0 (instant).",
                                    f"KIMI_REPLAY_PACE={mask_secret(pace_text)} 必须是一个数字，比如 1（按录制时的速度）"
                                    "或 0（立即播放完）。"))) from None
    if not (math.isfinite(pace) and 0 <= pace <= MAX_REPLAY_PACE):
        raise SettingsError(str(say(
            f"KIMI_REPLAY_PACE={mask_secret(pace_text)} is outside the range 0–{MAX_REPLAY_PACE:g}. "
            f"Use a number from 0 (instant) to {MAX_REPLAY_PACE:g}; 1 plays recordings as recorded.",
            f"KIMI_REPLAY_PACE={mask_secret(pace_text)} 超出了 0–{MAX_REPLAY_PACE:g} 的范围。"
            f"请用 0（立即播放完）到 {MAX_REPLAY_PACE:g} 之间的数字；1 表示按录制时的速度回放。")))

    recordings = Path(_clean(merged.get("KIMI_RECORDINGS_DIR")) or RECORDINGS_DIR)
    overwrite = (_clean(merged.get("KIMI_RECORD_OVERWRITE")) or "").lower() in {"1", "true", "yes"}
    return Settings(mode=mode, api_key=api_key, base_url=base_url, model=model, replay_pace=pace,
                    recordings_dir=recordings, overwrite_recordings=overwrite, mode_set_in=mode_set_in)
