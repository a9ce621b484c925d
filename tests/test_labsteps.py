"""The lab platform's steps: every lesson written as a step file that parses back as the platform reads it, with
one checker per exercise that calls `python -m helpers check`, and a checker that really runs."""
from __future__ import annotations

import os
import subprocess

import pytest

from helpers import labsteps, lessons
from helpers.settings import REPO_ROOT
from tests.test_notebook_lint import KEY_PATTERN

ALL = lessons.all_lessons()


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    out = tmp_path_factory.mktemp("steps")
    done = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "helpers", "labsteps", str(out),
                           "--course-dir", str(REPO_ROOT)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"wrote {len(ALL)} step files" in done.stdout
    return out


@pytest.mark.parametrize("lesson", ALL, ids=lambda lesson: lesson.stem)
def test_each_lesson_is_a_step_that_parses(steps, lesson):
    path = steps / f"{lesson.stem}.md"
    text = path.read_text(encoding="utf-8")
    step = labsteps.parse_step(text)
    assert step.front_matter == {"show": "step", "version": "1.0", "enable_checker": "true"}
    assert step.title == lesson.title
    assert [c.name for c in step.checkers] == [f"exercise {ex}" for ex, _ in lesson.exercises]
    for checker, (ex, _) in zip(step.checkers, lesson.exercises):
        assert checker.script.startswith("#!/bin/bash\n")
        assert f"-m helpers check {ex} --notebook {REPO_ROOT}/notebooks/{lesson.path.name}" in checker.script
        assert ex in checker.error and checker.timeout and checker.timeout > 0
    for section in lesson.sections:
        assert f"## {section}" in step.body
    assert (steps / "notebooks" / lesson.path.name).read_bytes() == lesson.path.read_bytes()
    assert not KEY_PATTERN.search(text)
    assert "](0" not in text.replace("](notebooks/0", ""), "links between lessons point into notebooks/"


def test_a_checker_script_runs_and_fails_on_a_blank(steps):
    step = labsteps.parse_step((steps / "01_curl.md").read_text(encoding="utf-8"))
    script = step.checkers[0].script
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "KIMI_REPLAY_PACE": "0"})
    assert ran.returncode == 1, ran.stdout + ran.stderr   # the stored notebook has blanks: "not yet"
    assert ran.stdout.startswith("❌ Exercise 01.1 — not yet")


@pytest.mark.parametrize("broken, message", [
    ("# no front matter\n", "front matter"),
    ("---\nshow step\n---\n", "key: value"),
    ("---\nshow: step\n---\n```checker\n  script: |\n    true\n```\n", "must start with '- name:'"),
    ("---\nshow: step\n---\n```checker\n- name: x\n  error: e\n```\n", "needs a script"),
])
def test_malformed_steps_get_a_clear_error(broken, message):
    with pytest.raises(ValueError, match=message):
        labsteps.parse_step(broken)
