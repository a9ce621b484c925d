"""Settings: where .env is found, the defaults, how the mode is inferred, and the messages for bad values.

Every test passes `environ=` and `dotenv_path=` (or a temporary folder), so nothing on this machine leaks in.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from helpers import settings as settings_mod
from helpers.course import Course
from helpers.settings import (DEFAULT_BASE_URL, DEFAULT_MODEL, INTERNATIONAL_BASE_URL, RECORDINGS_DIR, REPLAY_API_KEY,
                              REPO_ROOT, SettingsError, find_dotenv_file, is_local_url, load_settings)

FAKE_KEY = "test-key-not-real-1234"  # shaped nothing like a real key on purpose
KEY = "sk-" + "a1B2c3D4" * 6  # shaped like a real key (sk- and 48 letters and digits), but made up
FULL_WIDTH_KEY = "".join(chr(ord(c) + 0xFEE0) for c in KEY)  # the same key typed with a Chinese IME in full-width


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
    ({"KIMI_REPLAY_PACE": "-1"}, ["KIMI_REPLAY_PACE", "0–10"]),
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


def raised_message(environ: dict[str, str], dotenv: Path) -> str:
    """The message of the SettingsError that `environ` causes."""
    with pytest.raises(SettingsError) as info:
        load_settings(environ=environ, dotenv_path=dotenv)
    return str(info.value)


def assert_hides(message: str, secret: str) -> None:
    """Neither the secret nor any 10 characters in a row of KEY appear in the message."""
    assert secret not in message
    for start in range(len(KEY) - 9):
        assert KEY[start:start + 10] not in message


@pytest.mark.parametrize("value, needles", [
    (KEY[:20] + "\n" + KEY[20:], ["more than one line", "single line"]),
    (KEY + "\r\n" + KEY, ["more than one line"]),
    (KEY[:20] + " " + KEY[20:], ["space or tab", "remove the spaces"]),
    (KEY[:20] + "\t" + KEY[20:], ["space or tab"]),
    (KEY[:10] + "ｂ" + KEY[11:], ["non-ASCII", "full-width", "character 11", "half-width"]),
    (FULL_WIDTH_KEY, ["non-ASCII", "full-width", "character 1)"]),
    ("Bearer " + KEY, ['starts with "Bearer "', 'Paste only the key, without "Bearer "']),
    ("bearer " + KEY, ['without "Bearer "']),
])
def test_a_key_that_cannot_be_a_key_as_pasted_is_rejected(empty_dotenv, value, needles):
    message = raised_message({"MOONSHOT_API_KEY": value}, empty_dotenv)
    assert message.startswith("MOONSHOT_API_KEY ")
    for needle in needles:
        assert needle in message
    assert_hides(message, value)


def test_a_full_width_key_in_dotenv_is_rejected_too(tmp_path):
    env = write_env(tmp_path, f"MOONSHOT_API_KEY={FULL_WIDTH_KEY}\n")
    message = raised_message({}, env)
    assert "MOONSHOT_API_KEY" in message and "non-ASCII" in message
    assert_hides(message, FULL_WIDTH_KEY)


def test_a_key_with_a_space_in_dotenv_is_rejected_too(tmp_path):
    env = write_env(tmp_path, f"MOONSHOT_API_KEY={KEY[:20]} {KEY[20:]}\n")
    message = raised_message({}, env)
    assert "MOONSHOT_API_KEY" in message and "space" in message
    assert_hides(message, KEY[20:])


@pytest.mark.parametrize("url, needles", [
    ("https://api.moonshot.cn", ["must end in /v1", "Add /v1", DEFAULT_BASE_URL]),
    ("https://api.moonshot.ai/", ["must end in /v1", "Add /v1"]),
    ("http://127.0.0.1:8000", ["must end in /v1"]),
    ("https://api.moonshot.cn/v1/chat/completions", ["ends in /chat/completions", "the base URL stops at /v1"]),
    ("https://api.moonshot.ai/v1/chat/completions/", ["the base URL stops at /v1"]),
    ("ftp://api.moonshot.cn/v1", ["must start with https://"]),
    ("api.moonshot.cn/v1", ["must start with https://"]),
])
def test_a_base_url_that_is_not_a_v1_base_url_is_rejected(empty_dotenv, url, needles):
    message = raised_message({"KIMI_BASE_URL": url}, empty_dotenv)
    assert message.startswith(f"KIMI_BASE_URL={url.rstrip('/')!r} ")
    for needle in needles:
        assert needle in message


@pytest.mark.parametrize("pace", ["inf", "-inf", "Infinity", "nan", "-1", "-0.5", "10.5", "1e3"])
def test_a_replay_pace_outside_0_to_10_is_rejected(empty_dotenv, pace):
    message = raised_message({"KIMI_REPLAY_PACE": pace}, empty_dotenv)
    assert message.startswith(f"KIMI_REPLAY_PACE={pace!r} ")
    assert "outside the range 0–10" in message and "1 plays recordings as recorded" in message


@pytest.mark.parametrize("name", ["KIMI_MODEL", "KIMI_BASE_URL", "KIMI_MODE", "KIMI_REPLAY_PACE", "KIMI_RECORDINGS_DIR",
                                  "KIMI_RECORD_OVERWRITE"])
def test_a_key_pasted_into_another_variable_is_named_and_masked(empty_dotenv, name):
    message = raised_message({name: KEY}, empty_dotenv)
    assert message.startswith(f"{name}='sk-…' ({len(KEY)} characters, hidden) looks like an API key")
    assert "belongs in MOONSHOT_API_KEY" in message and f"fix the {name} line or delete it" in message
    assert_hides(message, KEY)


def test_a_key_pasted_into_another_variable_in_dotenv_is_caught_even_with_a_good_key(tmp_path):
    env = write_env(tmp_path, f'MOONSHOT_API_KEY={KEY}\nKIMI_MODEL="{KEY}"\n')
    message = raised_message({}, env)
    assert message.startswith("KIMI_MODEL=") and "MOONSHOT_API_KEY" in message
    assert_hides(message, KEY)


@pytest.mark.parametrize("model", ["kimi k2.6", "kimi-k2.6\tpreview", "kimi-k2.6 \n kimi-k2.5"])
def test_a_model_id_with_spaces_is_rejected(empty_dotenv, model):
    message = raised_message({"KIMI_MODEL": model}, empty_dotenv)
    assert message.startswith(f"KIMI_MODEL={model!r} contains a space")
    assert DEFAULT_MODEL in message and "delete the line" in message


@pytest.mark.parametrize("name, value, needle", [
    ("KIMI_MODE", "live " + KEY, "is not one of live, replay, record"),
    ("KIMI_BASE_URL", "https://api.moonshot.cn/v1?api_key=" + KEY, "must end in /v1"),
    ("KIMI_BASE_URL", "api.moonshot.cn/v1 " + KEY, "must start with https://"),
    ("KIMI_REPLAY_PACE", "1 " + KEY, "must be a number"),
    ("KIMI_MODEL", "kimi " + KEY, "contains a space"),
])
def test_every_message_masks_a_key_inside_a_bad_value(empty_dotenv, name, value, needle):
    message = raised_message({name: value}, empty_dotenv)
    assert message.startswith(f"{name}=") and needle in message
    assert "characters, hidden)" in message
    assert_hides(message, value)


# ---- values that must still load ----------------------------------------------------------------------

@pytest.mark.parametrize("base_url", [DEFAULT_BASE_URL, INTERNATIONAL_BASE_URL, "http://127.0.0.1:8000/v1",
                                      "http://localhost:8000/v1/", "http://127.0.0.1:8000/simulate/overloaded-2~1/v1"])
def test_a_real_shaped_key_and_good_base_urls_load(empty_dotenv, base_url):
    s = load_settings(environ={"MOONSHOT_API_KEY": KEY, "KIMI_BASE_URL": base_url}, dotenv_path=empty_dotenv)
    assert (s.mode, s.api_key, s.base_url) == ("live", KEY, base_url.rstrip("/"))


def test_a_real_shaped_key_in_dotenv_loads(tmp_path):
    env = write_env(tmp_path, f"MOONSHOT_API_KEY={KEY}\nKIMI_BASE_URL={INTERNATIONAL_BASE_URL}\n")
    s = load_settings(environ={}, dotenv_path=env)
    assert (s.api_key, s.base_url) == (KEY, INTERNATIONAL_BASE_URL)


@pytest.mark.parametrize("text, pace", [("0", 0.0), ("1", 1.0), ("0.0", 0.0), ("0.25", 0.25), ("10", 10.0)])
def test_a_replay_pace_from_0_to_10_loads(empty_dotenv, text, pace):
    assert load_settings(environ={"KIMI_REPLAY_PACE": text}, dotenv_path=empty_dotenv).replay_pace == pace


# ---- repr never shows the key ---------------------------------------------------------------------------

def test_the_settings_repr_hides_the_key(empty_dotenv):
    s = load_settings(environ={"MOONSHOT_API_KEY": KEY}, dotenv_path=empty_dotenv)
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert_hides(text, KEY)
        assert "api_key=<set, hidden>" in text
        assert text.startswith("Settings(mode='live', api_key=<set, hidden>, base_url='https://api.moonshot.cn/v1'")


def test_the_settings_repr_says_when_no_key_is_set(empty_dotenv):
    assert "api_key=<not set>" in repr(load_settings(environ={}, dotenv_path=empty_dotenv))


def test_the_course_repr_hides_the_key(empty_dotenv):
    settings = load_settings(environ={"MOONSHOT_API_KEY": KEY}, dotenv_path=empty_dotenv)
    course = Course(settings, settings.base_url, KEY, None)
    for text in (repr(course), str(course), f"{course!r}", repr([course])):
        assert_hides(text, KEY)
        assert text.count("api_key=<set, hidden>") == 2  # the course's own and its settings'
        assert "base_url='https://api.moonshot.cn/v1'" in text and "server=None" in text
    assert course.api_key == KEY  # hidden from the repr, still there for the code that sends it


def test_the_course_repr_hides_the_offline_placeholder_too(empty_dotenv):
    settings = load_settings(environ={}, dotenv_path=empty_dotenv)
    course = Course(settings, "http://127.0.0.1:8000/v1", REPLAY_API_KEY, None)
    assert REPLAY_API_KEY not in repr(course) and REPLAY_API_KEY not in str(course)
    assert "api_key=<set, hidden>" in repr(course) and "api_key=<not set>" in repr(course)


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


def test_the_test_environment_leaves_out_a_maintainers_settings_and_pytest_options(monkeypatch):
    from helpers.notebooks import use_test_environment

    monkeypatch.setenv("PYTEST_ADDOPTS", "-x --tb=long")
    monkeypatch.setenv("KIMI_MODEL", "kimi-k2.5")
    monkeypatch.setenv("KIMI_MODE", "live")
    monkeypatch.setenv("MOONSHOT_API_KEY", KEY)
    use_test_environment()
    # what lesson 10's inner pytest and every notebook kernel inherit
    assert "PYTEST_ADDOPTS" not in os.environ and "MOONSHOT_API_KEY" not in os.environ
    assert os.environ["KIMI_MODE"] == "replay" and os.environ["KIMI_MODEL"] == DEFAULT_MODEL


# ---- the mode line says what chose the mode -------------------------------------------------------------------------

def _replay_line(settings) -> str:
    return Course(settings, "http://127.0.0.1:8000/v1", REPLAY_API_KEY, None).summary()


def test_the_mode_line_without_a_key_says_how_to_go_live(empty_dotenv):
    line = _replay_line(load_settings(environ={}, dotenv_path=empty_dotenv))
    assert line.endswith("to go live, put MOONSHOT_API_KEY in .env and restart the kernel.")
    assert "(no key needed)" in line


def test_the_mode_line_with_a_key_and_replay_chosen_in_dotenv_says_so(tmp_path):
    path = write_env(tmp_path, f"MOONSHOT_API_KEY={KEY}\nKIMI_MODE=replay\n")
    settings = load_settings(environ={}, dotenv_path=path)
    assert (settings.mode, settings.has_key, settings.mode_set_in) == ("replay", True, ".env")
    line = _replay_line(settings)
    assert "put MOONSHOT_API_KEY in .env" not in line, "the learner has a key: don't ask for one"
    assert "chosen in .env: KIMI_MODE=replay; to go live, delete that line and restart the kernel." in line
    assert "(your key is not used)" in line and line.count("\n") == 0
    assert_hides(line, KEY)


def test_the_mode_line_with_a_key_and_replay_chosen_in_the_environment_says_so(tmp_path):
    path = write_env(tmp_path, f"MOONSHOT_API_KEY={KEY}\n")
    settings = load_settings(environ={"KIMI_MODE": "replay"}, dotenv_path=path)
    assert settings.mode_set_in == "the environment"
    line = _replay_line(settings)
    assert "chosen in your environment: KIMI_MODE=replay; to go live, unset it and restart the kernel." in line
    assert "MOONSHOT_API_KEY in .env" not in line
    assert_hides(line, KEY)


def test_where_the_mode_was_set_is_none_when_the_key_decides(tmp_path):
    path = write_env(tmp_path, f"MOONSHOT_API_KEY={KEY}\n")
    assert load_settings(environ={}, dotenv_path=path).mode_set_in is None
    assert load_settings(environ={}, dotenv_path=write_env(tmp_path, "")).mode_set_in is None
