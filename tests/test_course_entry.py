"""The notebook entry point `helpers.start()` and `python -m helpers`, each run in a subprocess with a clean
environment (start() keeps module state, and a kernel is a fresh process too).

Every subprocess runs in a temporary folder holding its own .env, and reads recordings from a temporary folder
(KIMI_RECORDINGS_DIR), so neither a maintainer's .env nor half-written recordings can change the outcome."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from helpers.recordings import Recording, write_recording
from helpers.settings import DEFAULT_BASE_URL, DEFAULT_MODEL, RECORDINGS_DIR, REPLAY_API_KEY

HELLO = json.loads((RECORDINGS_DIR / "l01-hello-lilei.json").read_text(encoding="utf-8"))
FAKE_KEY = "test-live-key-not-real-0000"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("recordings")
    for name in ("l01-hello-lilei", "models-list", "balance"):
        write_recording(folder, Recording.from_file(RECORDINGS_DIR / f"{name}.json"))
    return folder


def clean_env(recordings: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
           "KIMI_RECORDINGS_DIR": str(recordings), "KIMI_REPLAY_PACE": "0"}
    env.update(extra)
    return env


def run_python(script: str, cwd: Path, env: dict[str, str]) -> tuple[str, dict]:
    """Run `script`; it prints its findings as one last line `RESULT {json}`. Returns (other stdout, findings)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    before, _, result = done.stdout.rpartition("RESULT ")
    return before, json.loads(result)


REPLAY_SCRIPT = """
    import contextlib, io, json, os, threading, urllib.request
    import openai, requests
    from helpers import start, request_log, clear_request_log, last_request, fault_base_url, limits_base_url

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        course = start()
    first_output = out.getvalue()
    # the server answers the moment start() returns: no retry, no waiting
    request = urllib.request.Request(os.environ["KIMI_BASE_URL"] + "/models",
                                     headers={"Authorization": "Bearer " + os.environ["MOONSHOT_API_KEY"]})
    models_status = urllib.request.urlopen(request, timeout=5).status
    exported = {name: os.environ.get(name) for name in ("KIMI_BASE_URL", "MOONSHOT_API_KEY", "KIMI_MODEL", "KIMI_MODE")}

    out2 = io.StringIO()
    with contextlib.redirect_stdout(out2):
        again = start()
        quiet = start(quiet=True)

    client = openai.OpenAI(base_url=os.environ["KIMI_BASE_URL"], api_key=os.environ["MOONSHOT_API_KEY"], max_retries=0)
    hello = client.chat.completions.create(**HELLO_BODY).choices[0].message.content
    log = request_log()
    last = last_request()
    clear_request_log()
    after_clear = request_log()

    flaky = fault_base_url("overloaded", times=2)
    fault_statuses = [requests.post(flaky + "/chat/completions", json=HELLO_BODY,
                                    headers={"Authorization": "Bearer " + os.environ["MOONSHOT_API_KEY"]}).status_code
                      for _ in range(3)]
    limited = limits_base_url("tier0", scale=60)
    limited_status = requests.post(limited + "/chat/completions", json=HELLO_BODY,
                                   headers={"Authorization": "Bearer " + os.environ["MOONSHOT_API_KEY"]}).status_code
    print("RESULT " + json.dumps({
        "first_output": first_output, "second_output": out2.getvalue(), "models_status": models_status,
        "exported": exported, "same_course": again is course and quiet is course,
        "server_threads": sum(t.name == "kimi-local-server" for t in threading.enumerate()),
        "mode": course.mode, "model": course.model, "base_url": course.base_url, "hello": hello,
        "log": log, "last": last, "after_clear": after_clear, "flaky": flaky, "fault_statuses": fault_statuses,
        "limited": limited, "limited_status": limited_status,
    }, ensure_ascii=False))
"""


def test_start_in_replay_mode(tmp_path, recordings):
    (tmp_path / ".env").write_text("")
    script = f"HELLO_BODY = {HELLO['request']['body']!r}\n" + textwrap.dedent(REPLAY_SCRIPT)
    _, r = run_python(script, tmp_path, clean_env(recordings))

    # one line that says the mode, the base URL and how to switch
    assert r["first_output"].count("\n") == 1
    line = r["first_output"].strip()
    assert re.fullmatch(r"Mode: replay · answers come from recordings at http://127\.0\.0\.1:\d+/v1 \(no key needed\) · "
                        r"to go live, put MOONSHOT_API_KEY in \.env and restart the kernel\.", line)
    assert r["models_status"] == 200
    assert r["exported"] == {"KIMI_BASE_URL": r["base_url"], "MOONSHOT_API_KEY": REPLAY_API_KEY,
                             "KIMI_MODEL": DEFAULT_MODEL, "KIMI_MODE": "replay"}
    assert r["base_url"] in line
    assert (r["mode"], r["model"]) == ("replay", DEFAULT_MODEL)

    # twice is safe: the same course, the same server; the second call prints its line again, quiet prints nothing
    assert r["same_course"] is True and r["server_threads"] == 1
    assert r["second_output"] == r["first_output"]

    # what notebooks do next works, the request log included
    assert r["hello"] == HELLO["response"]["body"]["choices"][0]["message"]["content"]
    assert [(e["method"], e["path"], e["status"]) for e in r["log"]] == [
        ("GET", "/v1/models", 200), ("POST", "/v1/chat/completions", 200)]
    assert r["last"] == r["log"][-1] and r["last"]["recording"] == "l01-hello-lilei"
    assert REPLAY_API_KEY not in json.dumps(r["log"])
    assert {k.lower(): v for k, v in r["last"]["headers"].items()}["authorization"] == "Bearer ***"
    assert r["after_clear"] == []

    port = r["base_url"].split(":")[2].split("/")[0]
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/simulate/overloaded-2~\d+/v1", r["flaky"])
    assert r["fault_statuses"] == [429, 429, 200]
    assert r["limited"] == f"http://127.0.0.1:{port}/limits/tier0-x60/v1"
    assert r["limited_status"] == 200


LIVE_SCRIPT = """
    import json, os, threading, requests
    from helpers import start, fault_base_url
    course = start()
    flaky = fault_base_url("rate_limit")
    answer = requests.post(flaky + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                           headers={"Authorization": "Bearer " + os.environ["MOONSHOT_API_KEY"]}, timeout=10)
    print("RESULT " + json.dumps({
        "server": course.server is not None, "base_url": course.base_url, "model": course.model,
        "exported": {name: os.environ.get(name) for name in ("KIMI_BASE_URL", "MOONSHOT_API_KEY", "KIMI_MODEL", "KIMI_MODE")},
        "fault_status": answer.status_code, "fault_label": answer.headers.get("X-Simulated-Fault"),
    }))
"""


def test_start_in_live_mode_talks_to_the_real_service_directly(tmp_path, recordings):
    (tmp_path / ".env").write_text(f"MOONSHOT_API_KEY={FAKE_KEY}\nKIMI_MODEL=model-from-dotenv\n")
    before, r = run_python(LIVE_SCRIPT, tmp_path, clean_env(recordings))
    assert before.strip() == (f"Mode: live · talking to {DEFAULT_BASE_URL} with your key · "
                              "to work offline, set KIMI_MODE=replay in .env and restart the kernel.")
    assert FAKE_KEY not in before
    assert r["server"] is False and r["base_url"] == DEFAULT_BASE_URL
    assert r["exported"] == {"KIMI_BASE_URL": DEFAULT_BASE_URL, "MOONSHOT_API_KEY": FAKE_KEY,
                             "KIMI_MODEL": "model-from-dotenv", "KIMI_MODE": "live"}
    assert r["model"] == "model-from-dotenv"
    # the local extras still work: a simulated fault answers locally, never reaching the service
    assert (r["fault_status"], r["fault_label"]) == (429, "rate_limit")


NO_KEY_SCRIPT = """
    import json
    from helpers import start, SettingsError
    try:
        start()
    except SettingsError as exc:
        print("RESULT " + json.dumps({"raised": type(exc).__name__, "message": str(exc)}))
    else:
        print("RESULT " + json.dumps({"raised": None}))
"""


def test_live_mode_without_a_key_explains_how_to_get_one(tmp_path, recordings):
    (tmp_path / ".env").write_text("KIMI_MODE=live\n")
    notebooks = tmp_path / "notebooks"  # .env is found from a subfolder, as from notebooks/
    notebooks.mkdir()
    before, r = run_python(NO_KEY_SCRIPT, notebooks, clean_env(recordings))
    assert r["raised"] == "SettingsError"
    assert "MOONSHOT_API_KEY" in r["message"] and "steps printed above" in r["message"]
    assert "https://platform.moonshot.cn" in before and "https://platform.moonshot.ai" in before
    assert "API Keys" in before and ".env" in before and "KIMI_MODE=replay" in before


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_python_m_helpers_serve(tmp_path, recordings):
    port = free_port()
    env = clean_env(recordings)
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.strip() == f"Local Kimi server (replay) on http://127.0.0.1:{port}/v1"
        assert "another terminal" in proc.stdout.readline()
        assert f"Authorization: Bearer {REPLAY_API_KEY}" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}/v1"
        headers = {"Authorization": f"Bearer {REPLAY_API_KEY}"}
        assert requests.get(base + "/models", headers=headers, timeout=5).status_code == 200
        answer = requests.post(base + "/chat/completions", json=HELLO["request"]["body"], headers=headers, timeout=5)
        assert answer.json()["choices"][0]["message"]["content"] == HELLO["response"]["body"]["choices"][0]["message"]["content"]
        assert requests.get(base + "/models", timeout=5).status_code == 401

        # a second server on the same port says so and exits with 2
        busy = subprocess.run([sys.executable, "-m", "helpers", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=30)
        assert busy.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr and "Traceback" not in busy.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_python_m_helpers_check_recordings(tmp_path, recordings):
    done = subprocess.run([sys.executable, "-m", "helpers", "check-recordings"], cwd=tmp_path,
                          env=clean_env(recordings), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == f"3 recordings OK in {recordings}"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.json").write_text(json.dumps({"name": "bad", "source": {}, "request": {}, "response": {}}))
    done = subprocess.run([sys.executable, "-m", "helpers", "check-recordings"], cwd=tmp_path,
                          env=clean_env(broken), capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "bad.json: source.kind" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_setting_stops_the_command_with_its_message(tmp_path, recordings):
    (tmp_path / ".env").write_text("KIMI_REPLAY_PACE=fast\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "helpers", "serve", "--port", "0"], cwd=tmp_path,
                          env={k: v for k, v in clean_env(recordings).items() if k != "KIMI_REPLAY_PACE"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error: KIMI_REPLAY_PACE='fast' must be a number")
    assert time.monotonic() - started < 20
