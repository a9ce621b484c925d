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

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

REPO_ROOT = Path(__file__).resolve().parent.parent
RECORDINGS_DIR = REPO_ROOT / "recordings"

DEFAULT_BASE_URL = "https://api.moonshot.cn/v1"
INTERNATIONAL_BASE_URL = "https://api.moonshot.ai/v1"
DEFAULT_MODEL = "kimi-k2.6"
MODES = ("live", "replay", "record")

# The key the local server accepts in replay mode. It is not a secret and never
# reaches the real service: it only says "this request came from the course".
REPLAY_API_KEY = "sk-replay-offline"


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
    """

    mode: str
    api_key: str | None
    base_url: str
    model: str
    replay_pace: float = 1.0
    recordings_dir: Path = RECORDINGS_DIR
    overwrite_recordings: bool = False

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def describe(self) -> str:
        """One line for humans, never including the key itself."""
        key = "a key is set" if self.has_key else "no key"
        return f"mode={self.mode}, base_url={self.base_url}, model={self.model}, {key}"


def find_dotenv_file(start: Path | None = None) -> Path | None:
    """Return the nearest `.env` walking up from `start` (default: the working folder) to the repo root.

    Example:
        >>> find_dotenv_file(Path("/nonexistent")) is None or True
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


def load_settings(environ: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Read `.env` and the environment (the environment wins) and return checked Settings.

    Example:
        >>> load_settings({"KIMI_MODE": "replay"}, dotenv_path=Path("/dev/null")).mode
        'replay'
    """
    env = dict(os.environ if environ is None else environ)
    path = dotenv_path if dotenv_path is not None else find_dotenv_file()
    file_values = {k: v for k, v in (dotenv_values(path) if path else {}).items() if v is not None}
    merged = {**file_values, **{k: v for k, v in env.items() if v != ""}}

    base_url = (_clean(merged.get("KIMI_BASE_URL")) or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise SettingsError(f"KIMI_BASE_URL={base_url!r} must start with https:// (for example {DEFAULT_BASE_URL}).")

    api_key = _clean(merged.get("MOONSHOT_API_KEY"))
    if api_key == REPLAY_API_KEY and not is_local_url(base_url):
        api_key = None  # the offline placeholder is only a key for a local server
    if api_key and api_key in {"sk-...", "your-key-here", "MOONSHOT_API_KEY"}:
        raise SettingsError(
            f"MOONSHOT_API_KEY is still the placeholder {api_key!r}. Paste the key you copied from "
            "platform.moonshot.cn (or .ai) into .env, or delete the line to use replay mode."
        )

    mode = (_clean(merged.get("KIMI_MODE")) or ("live" if api_key else "replay")).lower()
    if mode not in MODES:
        raise SettingsError(f"KIMI_MODE={mode!r} is not one of {', '.join(MODES)}. Fix it in .env or unset it.")


    model = _clean(merged.get("KIMI_MODEL")) or DEFAULT_MODEL

    pace_text = _clean(merged.get("KIMI_REPLAY_PACE")) or "1"
    try:
        pace = float(pace_text)
    except ValueError:
        raise SettingsError(f"KIMI_REPLAY_PACE={pace_text!r} must be a number such as 1 (as recorded) or 0 (instant).") from None
    if pace < 0:
        raise SettingsError("KIMI_REPLAY_PACE must be 0 or more.")

    recordings = Path(_clean(merged.get("KIMI_RECORDINGS_DIR")) or RECORDINGS_DIR)
    overwrite = (_clean(merged.get("KIMI_RECORD_OVERWRITE")) or "").lower() in {"1", "true", "yes"}
    return Settings(mode=mode, api_key=api_key, base_url=base_url, model=model, replay_pace=pace,
                    recordings_dir=recordings, overwrite_recordings=overwrite)
