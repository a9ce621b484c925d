"""The checkers against the mistakes a learner is likely to make: each wrong answer gets "not yet" with feedback
that names the real problem, and the right answer still passes.

Answers that need the course (a request, a stream, curl) run as a learner runs them: the notebook's cells in a real
IPython shell up to the exercise (tests/learner.py), then the learner's version of the exercise cell and the check
cell, against the replay server the notebook's first cell starts. Pure functions are checked with run_check.
"""
from __future__ import annotations

import pytest

from helpers.checks import NOT_YET_MARK, PASS_MARK, run_check

from tests.learner import LearnerNotebook, start_replay_course, stop_course


@pytest.fixture(scope="module", autouse=True)
def replay_course():
    saved = start_replay_course()
    yield
    stop_course(saved)


def passes(verdict: tuple[bool, str]) -> None:
    passed, feedback = verdict
    assert passed and feedback.startswith(PASS_MARK), feedback


def not_yet(verdict: tuple[bool, str], *parts: str) -> str:
    """The verdict is "not yet", and its feedback holds every one of `parts`."""
    passed, feedback = verdict
    assert not passed and f"{NOT_YET_MARK} Exercise" in feedback and "— not yet:" in feedback, feedback
    for part in parts:
        assert part in feedback, f"{part!r} is not in the feedback: {feedback}"
    assert "Traceback" not in feedback
    return feedback


@pytest.fixture(scope="module")
def nb02():
    return LearnerNotebook("02_requests")


# ---- 02 -------------------------------------------------------------------------------------------------------------
KEY_ON_SESSION = ("session_1 = requests.Session()\n"
                  "session_1.headers[\"Authorization\"] = f\"Bearer {os.environ['MOONSHOT_API_KEY']}\"\n")


def test_02_1_the_solution_passes(nb02):
    passes(nb02.try_answer("02.1"))


def test_02_1_without_a_timeout(nb02):
    not_yet(nb02.try_answer("02.1", KEY_ON_SESSION + "response_1 = session_1.post(url, json=body)"),
            "without a timeout", "timeout=60")
    not_yet(nb02.try_answer("02.1", KEY_ON_SESSION + "response_1 = session_1.post(url, json=body, timeout=None)"),
            "without a timeout")


def test_02_1_requests_post_instead_of_the_session(nb02):
    feedback = not_yet(nb02.try_answer("02.1", KEY_ON_SESSION + "response_1 = requests.post(url, json=body, "
                                                                "headers=headers, timeout=60)"),
                       "didn't come from session_1", "requests.post")
    assert "added the key by itself" not in feedback


def test_02_1_headers_passed_again_passes_but_says_so(nb02):
    passed, feedback = nb02.try_answer("02.1", KEY_ON_SESSION + "response_1 = session_1.post(url, json=body, "
                                                                "headers=headers, timeout=60)")
    assert passed and "already carries the Authorization header" in feedback, feedback


def test_02_3_the_solution_passes(nb02):
    passes(nb02.try_answer("02.3"))


def test_02_3_a_changed_question_in_replay(nb02):
    not_yet(nb02.try_answer("02.3", 'summary_question = "总结一下。"\n'
                                    'messages_3 = messages + [{"role": "assistant", "content": reply_2}, '
                                    '{"role": "user", "content": summary_question}]'),
            "You changed the question to '总结一下。'", "put summary_question back", "live mode")


def test_02_3_append_returns_none_and_corrupts_messages(nb02):
    not_yet(nb02.try_answer("02.3", 'summary_question = "用一句话总结我们刚才的对话。"\n'
                                    'messages_3 = messages.append({"role": "assistant", "content": reply_2})'),
            "messages_3 is None", "returns None", "now holds 5 messages", "Re-run the §10 cells")
    # fixed, but messages still holds the stray message: the feedback says which cells to re-run; then it passes
    not_yet(nb02.try_answer("02.3"), "now holds 5 messages", "Re-run the §10 cells")
    for cell in nb02.nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(("LAB_SYSTEM_PROMPT = (", "messages.append(")):
            nb02.run(cell.source)
    passes(nb02.try_answer("02.3"))


def test_02_3_appending_in_place_once_passes_twice_is_named(nb02):
    append = ('summary_question = "用一句话总结我们刚才的对话。"\n'
              'messages.append({"role": "assistant", "content": reply_2})\n'
              'messages.append({"role": "user", "content": summary_question})\n'
              'messages_3 = messages')
    passes(nb02.try_answer("02.3", append))
    not_yet(nb02.try_answer("02.3", append), "8 messages", "run an append cell twice", "Re-run the §10 cells")


# ---- 01 -------------------------------------------------------------------------------------------------------------
def curl_cell(path: str = "$KIMI_BASE_URL/chat/completions", auth: str = "Authorization: Bearer $MOONSHOT_API_KEY",
              flags: str = "-sS", extra: str = "") -> str:
    return (f"out = !curl {flags} {path} \\\n"
            "  -H \"Content-Type: application/json\" \\\n"
            f"  -H \"{auth}\" \\\n"
            "  -d '{\"model\": \"'\"$KIMI_MODEL\"'\", \\\n"
            "       \"messages\": [{\"role\": \"user\", \"content\": \"" + ("用一句话介绍你自己" if not extra else
                                                                      "你好，我叫李雷，1+1等于多少？") + "\"}]"
            + extra + "}'")


@pytest.fixture(scope="module")
def nb01():
    return LearnerNotebook("01_curl")


def test_01_1_the_solution_passes(nb01):
    passes(nb01.try_answer("01.1"))
    passes(nb01.try_answer("01.1", curl_cell()))


def test_01_1_the_key_without_bearer(nb01):
    feedback = not_yet(nb01.try_answer("01.1", curl_cell(auth="Authorization: $MOONSHOT_API_KEY")),
                       "401", "without the word Bearer", "`Authorization: Bearer <your key>`")
    assert "'***'" not in feedback


def test_01_1_another_scheme(nb01):
    not_yet(nb01.try_answer("01.1", curl_cell(auth="Authorization: Token $MOONSHOT_API_KEY")),
            "starts with the word 'Token'", "Bearer")


def test_01_1_a_wrong_path_with_and_without_the_key(nb01):
    not_yet(nb01.try_answer("01.1", curl_cell(path="$KIMI_BASE_URL/chat", auth="Content-Type: application/json")),
            "401", "no Authorization header", "Then the path: your request went to /v1/chat;",
            "$KIMI_BASE_URL/chat/completions")
    not_yet(nb01.try_answer("01.1", curl_cell(path="$KIMI_BASE_URL/chat")), "went to /v1/chat", "404")


def test_01_1_no_network_blames_the_network(nb01, monkeypatch):
    # Live mode on a machine whose network can't look up the API's host: curl prints "Could not resolve host".
    # (.invalid never resolves, anywhere, so this is that situation on every machine.)
    monkeypatch.setenv("KIMI_BASE_URL", "https://api.moonshot.invalid/v1")
    feedback = not_yet(nb01.try_answer("01.1", curl_cell()),
                       "curl: (6) Could not resolve host: api.moonshot.invalid", "no network",
                       "Your key and the URL are not the problem", "KIMI_MODE=replay")
    assert "Authorization" not in feedback


def test_01_1_a_mistyped_host_blames_the_url(nb01):
    feedback = not_yet(nb01.try_answer("01.1", curl_cell(path="https://api.moonshot.invalid/v1/chat/completions")),
                       "There is no host called api.moonshot.invalid", "should start with $KIMI_BASE_URL")
    assert "network" not in feedback


def test_01_1_the_local_server_gone(nb01, monkeypatch):
    # replay mode, but nothing listens where KIMI_BASE_URL points (the server of a kernel that is gone)
    monkeypatch.setenv("KIMI_BASE_URL", "http://127.0.0.1:9/v1")
    not_yet(nb01.try_answer("01.1", curl_cell()), "Failed to connect to 127.0.0.1 port 9",
            "local server isn't answering", "start()")


def test_01_3_temperature_1_and_1_0_both_pass(nb01):
    passes(nb01.try_answer("01.3"))
    passes(nb01.try_answer("01.3", curl_cell(flags="-sS -i", extra=', \\\n       "temperature": 1')))
    passes(nb01.try_answer("01.3", curl_cell(flags="-sS -i", extra=', \\\n       "temperature": 1.0')))


def test_01_3_a_temperature_the_model_refuses(nb01):
    not_yet(nb01.try_answer("01.3", curl_cell(flags="-sS -i", extra=', \\\n       "temperature": 0.3')),
            "HTTP 400", "leave the field out")
    not_yet(nb01.try_answer("01.3", curl_cell(flags="-sS", extra=', \\\n       "temperature": 1')), "Keep the -i")
