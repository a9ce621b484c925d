"""Deliberate errors stay short: an HTTP error in a notebook cell still raises, but shows the exception, Kimi's
status, error type, message and request id, and the cell's own line, not the libraries' frames.

The cells run in a real IPython shell (tests/learner.py), whose first cell, start(), installs the short display."""
from __future__ import annotations

import pytest

from tests.learner import LearnerNotebook, start_replay_course, stop_course


@pytest.fixture(scope="module")
def nb05():
    saved = start_replay_course()
    nb = LearnerNotebook("05_errors")
    first = next(cell for cell in nb.nb.cells if cell.cell_type == "code")
    assert "start()" in first.source
    nb._claim()
    result = nb.run(first.source)  # the notebook's first cell: start() installs the short display
    assert result.error_in_exec is None, result.error_in_exec
    yield nb
    stop_course(saved)


def test_a_400_from_the_sdk_shows_kimis_answer_in_a_few_lines(nb05):
    result = nb05.run("from openai import OpenAI\n"
                      "import os\n"
                      "sdk = OpenAI(api_key=os.environ['MOONSHOT_API_KEY'], base_url=os.environ['KIMI_BASE_URL'],"
                      " max_retries=0)\n"
                      "sdk.chat.completions.create(model=course.model, temperature=0.5,\n"
                      "                            messages=[{'role': 'user', 'content': '你好'}])\n")
    import openai
    assert isinstance(result.error_in_exec, openai.BadRequestError)  # the cell still raises for real
    lines = result.printed.strip().splitlines()
    assert len(lines) <= 6, result.printed
    assert lines[0].startswith("openai.BadRequestError: invalid temperature"), lines[0]
    assert "HTTP 400 · type invalid_request_error · request id " in lines[1]
    assert "no request id" not in lines[1]
    assert any(line.startswith("  your cell, line 4: sdk.chat.completions.create(") for line in lines), lines
    assert "frames inside the HTTP libraries are hidden: run %tb" in lines[-1]
    assert "site-packages" not in result.printed and "httpx" not in result.printed


def test_a_requests_http_error_shows_the_servers_message(nb05):
    result = nb05.run("import requests, os\n"
                      "r = requests.post(os.environ['KIMI_BASE_URL'] + '/chat/completions', timeout=10,\n"
                      "                  headers={'Authorization': 'Bearer ' + os.environ['MOONSHOT_API_KEY']},\n"
                      "                  json={'messages': [{'role': 'user', 'content': '你好'}]})\n"
                      "r.raise_for_status()\n")
    import requests
    assert isinstance(result.error_in_exec, requests.HTTPError)
    lines = result.printed.strip().splitlines()
    assert len(lines) <= 5, result.printed
    assert lines[0].startswith("requests.exceptions.HTTPError: ") and "400 Client Error" not in lines[0], lines[0]
    assert lines[1].startswith("  HTTP 400 · type invalid_request_error")


def test_no_answer_at_all(nb05):
    result = nb05.run("import requests\nrequests.get('http://127.0.0.1:9/v1/models', timeout=5)\n")
    lines = result.printed.strip().splitlines()
    assert lines[0].startswith("requests.exceptions.ConnectionError: "), lines
    assert lines[1] == "  No answer came back: nothing was listening, or the network is down."
    assert len(lines) <= 5


def test_other_errors_keep_their_usual_traceback(nb05):
    result = nb05.run("def f():\n    return 1 / 0\nf()\n")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "Traceback" in result.printed and "ZeroDivisionError" in result.printed
    assert "frames inside the HTTP libraries" not in result.printed


def test_tb_still_shows_every_frame(nb05):
    nb05.run("import requests\nrequests.get('http://127.0.0.1:9/v1/models', timeout=5)\n")
    full = nb05.run("%tb")
    assert "urllib3" in full.printed or "site-packages" in full.printed, full.printed[-500:]
