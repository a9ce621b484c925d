"""What a learner reads outside the checkers speaks the notebook's language too: the mode line `start()` prints, a
SettingsError, the "Run first" advice after a kernel restart, and the local server's replay miss (over HTTP: the
server runs in the notebook's process, so the language of the moment is the notebook's). English without
`speaking("zh")`, Chinese with it; the English is what the other tests and the stored notebook outputs compare."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from helpers.checks import prerequisites
from helpers.course import Course
from helpers.language import speaking
from helpers.settings import RECORDINGS_DIR, REPLAY_API_KEY, SettingsError, load_settings

CHAT = "/v1/chat/completions"


def _mode_line(dotenv: Path) -> str:
    settings = load_settings(environ={}, dotenv_path=dotenv)
    return Course(settings, "http://127.0.0.1:8000/v1", REPLAY_API_KEY, None).summary()


def test_the_mode_line(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text("", encoding="utf-8")
    assert _mode_line(empty) == ("Mode: replay · answers come from recordings at http://127.0.0.1:8000/v1 (no key "
                                 "needed) · to go live, put MOONSHOT_API_KEY in .env and restart the kernel.")
    with speaking("zh"):
        line = _mode_line(empty)
    assert line.startswith("模式：回放（replay）· 回答来自录制文件，由 http://127.0.0.1:8000/v1 提供")
    assert "把 MOONSHOT_API_KEY 写进 .env，然后重启内核。" in line


def _settings_error(environ: dict[str, str], dotenv: Path) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(environ=environ, dotenv_path=dotenv)
    return str(info.value)


def test_a_settings_error(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text("", encoding="utf-8")
    bad = {"KIMI_BASE_URL": "https://api.moonshot.cn"}
    assert _settings_error(bad, empty) == ("KIMI_BASE_URL='https://api.moonshot.cn' must end in /v1. Add /v1, as in "
                                           "KIMI_BASE_URL=https://api.moonshot.cn/v1 (or https://api.moonshot.ai/v1).")
    with speaking("zh"):
        message = _settings_error(bad, empty)
    assert message == ("KIMI_BASE_URL='https://api.moonshot.cn' 必须以 /v1 结尾。加上 /v1，写成 "
                       "KIMI_BASE_URL=https://api.moonshot.cn/v1（或 https://api.moonshot.ai/v1）。")


def test_the_recovery_advice():
    cell = "# Exercise 02.3 — continue\nmessages_3 = messages + [reply_2]\n"
    advice = prerequisites.where_to_start(cell, ["messages", "reply_2"])
    assert advice is not None
    assert advice.startswith("Run first, top to bottom: the two cells at the top (`course = start()` and the imports)")
    assert advice.endswith("(they define `messages`, `reply_2`); then this cell.")
    with speaking("zh"):
        zh = prerequisites.where_to_start(cell, ["messages", "reply_2"])
    assert zh is not None
    assert zh.startswith("先从上到下运行：最上面的两个单元格（`course = start()` 和导入），§9 的单元格 `CHAT_URL = ")
    assert "，§10 的单元格 `LAB_SYSTEM_PROMPT = (`，§10 的单元格 `messages.append(" in zh
    assert zh.endswith("（它们定义了 `messages`, `reply_2`）；然后再运行这个单元格。")
    assert "the cell" not in zh and "§10's" not in zh


def _miss(server, body) -> str:
    r = requests.post(server.url + CHAT, json=body, headers={"Authorization": f"Bearer {REPLAY_API_KEY}"}, timeout=30)
    assert r.status_code == 404, r.text[:300]
    payload = r.json()
    assert list(payload) == ["error"] and payload["error"]["type"] == "recording_not_found_error"
    return payload["error"]["message"]


def test_a_replay_miss_over_http(fresh):
    server = fresh
    body = json.loads((RECORDINGS_DIR / "l02-what-can-you-do.json").read_text(encoding="utf-8"))["request"]["body"]
    body["messages"][0]["content"] += "!"
    english = _miss(server, body)
    assert english.startswith("[local replay server] No recording matches this request: the nearest recording is "
                              "'l02-what-can-you-do', which differs in 1 field: messages[0].content: "
                              '"你能干吗？⟨!⟩" here, "你能干吗？⟨⟩" recorded. To get an answer, undo that change')
    assert english.endswith("Course maintainers: `make record`, with a key, records the course's requests anew.")
    with speaking("zh"):
        chinese = _miss(server, body)
    assert chinese.startswith("[本地回放服务器] 没有与这个请求匹配的录制文件：最接近的录制文件是 "
                              "'l02-what-can-you-do'，两者有 1 个字段不同：messages[0].content：这里是 "
                              '"你能干吗？⟨!⟩"，录制的是 "你能干吗？⟨⟩"。要得到回答，就撤销这处改动')
    assert chinese.endswith("课程维护者：有 API 密钥时，运行 `make record` 可以重新录制课程的请求。")
    assert "No recording" not in chinese and "here" not in chinese
