"""Settings: where .env is found, the defaults, how the mode is inferred, and the messages for bad values.

Every test passes `environ=` and `dotenv_path=` (or a temporary folder), so nothing on this machine leaks in.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import settings as settings_mod
from helpers.settings import (DEFAULT_BASE_URL, DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY, REPO_ROOT,
                              SettingsError, find_dotenv_file, is_local_url, load_settings)

FAKE_KEY = "test-key-not-real-1234"  # shaped nothing like a real key on purpose


@pytest.fixture
def empty_dotenv(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text("")
    return path


def write_env(folder: Path, text: str) -> Path:
    path = folder / ".env"
    path.write_text(text, encoding="utf-8")
    return path


# ---- finding .env --------------------------------------------------------------------------------

def test_dotenv_found_in_the_starting_folder(tmp_path):
    env = write_env(tmp_path, "KIMI_MODE=replay\n")
    assert find_dotenv_file(tmp_path) == env


def test_dotenv_found_from_a_subfolder(tmp_path):
    env = write_env(tmp_path, "KIMI_MODE=replay\n")
    deep = tmp_path / "notebooks" / "extra"
    deep.mkdir(parents=True)
    assert find_dotenv_file(deep) == env


def test_nearest_dotenv_wins(tmp_path):
    write_env(tmp_path, "KIMI_MODEL=outer\n")
    inner = tmp_path / "sub"
    inner.mkdir()
    nearest = write_env(inner, "KIMI_MODEL=inner\n")
    assert find_dotenv_file(inner) == nearest


def test_without_any_dotenv_only_the_repo_root_one_is_used(tmp_path):
    folder = tmp_path / "nowhere"
    folder.mkdir()
    repo_env = REPO_ROOT / ".env"
    assert find_dotenv_file(folder) == (repo_env if repo_env.is_file() else None)


def test_find_dotenv_defaults_to_the_working_folder(tmp_path, monkeypatch):
    env = write_env(tmp_path, "")
    sub = tmp_path / "a"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert find_dotenv_file() == env


def test_load_settings_reads_the_dotenv_found_from_the_working_folder(tmp_path, monkeypatch):
    write_env(tmp_path, "KIMI_MODE=replay\nKIMI_MODEL=model-from-dotenv\nKIMI_REPLAY_PACE=0.25\n")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    s = load_settings(environ={})
    assert (s.mode, s.model, s.replay_pace) == ("replay", "model-from-dotenv", 0.25)


# ---- defaults and precedence -------------------------------------------------------------------------

def test_defaults_without_any_setting(empty_dotenv):
    s = load_settings(environ={}, dotenv_path=empty_dotenv)
    assert s.mode == "replay"
    assert s.api_key is None and not s.has_key
    assert s.base_url == DEFAULT_BASE_URL == "https://api.moonshot.cn/v1"
    assert s.model == DEFAULT_MODEL
    assert s.replay_pace == 1.0
    assert s.recordings_dir == RECORDINGS_DIR
    assert s.overwrite_recordings is False


def test_the_environment_wins_over_dotenv(tmp_path):
    env = write_env(tmp_path, "KIMI_MODEL=from-file\nKIMI_REPLAY_PACE=2\n")
    s = load_settings(environ={"KIMI_MODEL": "from-env"}, dotenv_path=env)
    assert s.model == "from-env"
    assert s.replay_pace == 2.0  # what only the file sets still counts


def test_an_empty_environment_value_does_not_hide_the_dotenv_value(tmp_path):
    env = write_env(tmp_path, "KIMI_MODEL=from-file\n")
    assert load_settings(environ={"KIMI_MODEL": ""}, dotenv_path=env).model == "from-file"


def test_values_are_unquoted_and_trimmed(tmp_path):
    env = write_env(tmp_path, f"MOONSHOT_API_KEY=\"{FAKE_KEY}\"\nKIMI_MODEL='  quoted-model  '\n")
    s = load_settings(environ={}, dotenv_path=env)
    assert s.api_key == FAKE_KEY
    assert s.model == "quoted-model"


def test_empty_model_falls_back_to_the_default(empty_dotenv):
    assert load_settings(environ={"KIMI_MODEL": "  "}, dotenv_path=empty_dotenv).model == DEFAULT_MODEL


def test_base_url_trailing_slash_is_dropped(empty_dotenv):
    s = load_settings(environ={"KIMI_BASE_URL": "https://api.moonshot.ai/v1/"}, dotenv_path=empty_dotenv)
    assert s.base_url == "https://api.moonshot.ai/v1"


@pytest.mark.parametrize("text, expected", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
                                            ("no", False)])
def test_record_overwrite_flag(empty_dotenv, text, expected):
    s = load_settings(environ={"KIMI_RECORD_OVERWRITE": text}, dotenv_path=empty_dotenv)
    assert s.overwrite_recordings is expected


def test_recordings_dir_can_be_moved(empty_dotenv, tmp_path):
    s = load_settings(environ={"KIMI_RECORDINGS_DIR": str(tmp_path / "recs")}, dotenv_path=empty_dotenv)
    assert s.recordings_dir == tmp_path / "recs"


# ---- mode inference ---------------------------------------------------------------------------------

@pytest.mark.parametrize("environ, mode", [
    ({}, "replay"),
    ({"MOONSHOT_API_KEY": FAKE_KEY}, "live"),
    ({"MOONSHOT_API_KEY": FAKE_KEY, "KIMI_MODE": "replay"}, "replay"),
    ({"MOONSHOT_API_KEY": FAKE_KEY, "KIMI_MODE": "record"}, "record"),
    ({"KIMI_MODE": "LIVE"}, "live"),  # case does not matter; start() then explains the missing key
    ({"KIMI_MODE": " Replay "}, "replay"),
])
def test_mode_inference(empty_dotenv, environ, mode):
    assert load_settings(environ=environ, dotenv_path=empty_dotenv).mode == mode


def test_key_in_dotenv_means_live(tmp_path):
    env = write_env(tmp_path, f"MOONSHOT_API_KEY={FAKE_KEY}\n")
    s = load_settings(environ={}, dotenv_path=env)
    assert (s.mode, s.api_key, s.has_key) == ("live", FAKE_KEY, True)


def test_the_offline_placeholder_key_is_no_key_for_the_real_service(empty_dotenv):
    s = load_settings(environ={"MOONSHOT_API_KEY": REPLAY_API_KEY}, dotenv_path=empty_dotenv)
    assert s.api_key is None and s.mode == "replay"


def test_the_offline_placeholder_key_counts_for_a_local_server(empty_dotenv):
    # what `python -m helpers serve` tells you to export: live mode pointed at the local server
    s = load_settings(environ={"MOONSHOT_API_KEY": REPLAY_API_KEY, "KIMI_BASE_URL": "http://127.0.0.1:8000/v1"},
                      dotenv_path=empty_dotenv)
    assert (s.mode, s.api_key, s.base_url) == ("live", REPLAY_API_KEY, "http://127.0.0.1:8000/v1")


@pytest.mark.parametrize("url, local", [("http://127.0.0.1:8000/v1", True), ("http://localhost/v1", True),
                                        ("https://api.moonshot.cn/v1", False), ("http://127.0.0.2:80/v1", False)])
def test_is_local_url(url, local):
    assert is_local_url(url) is local


def test_describe_never_shows_the_key(empty_dotenv):
    s = load_settings(environ={"MOONSHOT_API_KEY": FAKE_KEY}, dotenv_path=empty_dotenv)
    text = s.describe()
    assert FAKE_KEY not in text
    assert "a key is set" in text and "mode=live" in text and DEFAULT_BASE_URL in text


# ---- bad values: SettingsError with a message that says how to fix it ---------------------------------

@pytest.mark.parametrize("environ, needles", [
    ({"KIMI_MODE": "offline"}, ["KIMI_MODE='offline'", "live, replay, record"]),
    ({"KIMI_BASE_URL": "api.moonshot.cn/v1"}, ["KIMI_BASE_URL", "https://"]),
    ({"KIMI_REPLAY_PACE": "fast"}, ["KIMI_REPLAY_PACE='fast'", "number"]),
    ({"KIMI_REPLAY_PACE": "-1"}, ["KIMI_REPLAY_PACE", "0 or more"]),
    ({"MOONSHOT_API_KEY": "sk-..."}, ["placeholder", ".env"]),
    ({"MOONSHOT_API_KEY": "your-key-here"}, ["placeholder", "platform.moonshot"]),
])
def test_bad_values_raise_a_clear_settings_error(empty_dotenv, environ, needles):
    with pytest.raises(SettingsError) as info:
        load_settings(environ=environ, dotenv_path=empty_dotenv)
    message = str(info.value)
    for needle in needles:
        assert needle in message
    assert isinstance(info.value, ValueError)  # callers catching ValueError still catch it


def test_a_bad_value_in_dotenv_is_reported_too(tmp_path):
    env = write_env(tmp_path, "KIMI_MODE=sometimes\n")
    with pytest.raises(SettingsError, match="KIMI_MODE='sometimes'"):
        load_settings(environ={}, dotenv_path=env)


# ---- the model id has one home ----------------------------------------------------------------------------

def test_the_model_comes_from_settings_only():
    assert load_settings(environ={"KIMI_MODE": "replay"}, dotenv_path=Path("/dev/null")).model == DEFAULT_MODEL
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]+", DEFAULT_MODEL)
    # settings.py defines it once; only wire.py may name it (the per-model parameter rules)
    source = Path(settings_mod.__file__).read_text(encoding="utf-8")
    assert source.count(f'"{DEFAULT_MODEL}"') == 1
    others = [p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "helpers").rglob("*.py")
              if p.name not in ("settings.py", "wire.py") and DEFAULT_MODEL in p.read_text(encoding="utf-8")]
    assert others == []
