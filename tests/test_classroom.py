"""The classroom's promises: the instructor guide's times come from the lessons, every lesson has its guide
section, the instructor extras are pinned in both lists, and a student copy holds no solutions."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from helpers import lessons, studentcopy
from helpers.settings import REPO_ROOT
from tests.test_project import _pins

GUIDE = REPO_ROOT / "classroom" / "instructor-guide.md"
ALL = lessons.all_lessons()


def test_instructor_extras_are_pinned_and_match_environment_instructor_yml():
    req = _pins((REPO_ROOT / "requirements-instructor.txt").read_text().splitlines())
    env = _pins((REPO_ROOT / "environment-instructor.yml").read_text().split("- pip:", 1)[1].splitlines())
    assert req and all(req.values()), req
    assert req == env, set(req.items()) ^ set(env.items())
    for needed in ("sphinx", "myst-nb", "sphinx-book-theme", "jupyterlab-rise"):
        assert needed in req
    base = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    assert not set(req) & set(base), "a package pinned in both lists: keep each in one"
    assert "jupyterlab-rise" not in base, "make lab stays lean: RISE is an instructor extra"


def test_every_lesson_states_its_time():
    missing = [lesson.path.name for lesson in ALL if not lesson.minutes or lesson.minutes_from != "metadata"]
    assert not missing, f"no metadata.course.minutes in {missing}"


def test_the_metadata_the_first_cell_the_readme_and_the_guide_agree_on_each_time():
    problems = lessons.time_disagreements(ALL, (REPO_ROOT / "README.md").read_text(encoding="utf-8"),
                                          GUIDE.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_a_disagreement_on_a_time_is_caught_in_each_place():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    lesson = ALL[1]
    row = re.search(rf"^\|\s*{lesson.number}\s*\|.*$", readme, re.MULTILINE).group(0)
    wrong_readme = readme.replace(row, row.replace(f"| {lesson.minutes} min |", f"| {lesson.minutes + 5} min |"))
    assert wrong_readme != readme
    assert any("README.md course map" in p and lesson.number in p
               for p in lessons.time_disagreements(ALL, wrong_readme, guide))
    wrong_table = re.sub(rf"^(\| {lesson.number} · [^|]+\| )\d+", r"\g<1>99", guide, flags=re.MULTILINE)
    assert any("timing table" in p for p in lessons.time_disagreements(ALL, readme, wrong_table))
    wrong_section = guide.replace(f"**Time:** {lesson.minutes} min (from the lesson's metadata)",
                                  f"**Time:** {lesson.minutes + 1} min (from the lesson's metadata)", 1)
    assert wrong_section != guide
    assert any(f"### {lesson.number} section" in p for p in lessons.time_disagreements(ALL, readme, wrong_section))
    moved = dataclasses.replace(lesson, minutes=lesson.minutes + 10)
    found = lessons.time_disagreements([moved], readme, guide)
    assert any("cell 0: says about" in p for p in found) and any("README.md" in p for p in found)
    assert any("no metadata.course.minutes" in p
               for p in lessons.time_disagreements([dataclasses.replace(lesson, minutes_from="opening cell")],
                                                   readme, guide))


def _guide_sections() -> dict[str, str]:
    text = GUIDE.read_text(encoding="utf-8")
    parts = re.split(r"^### (\d\d) · .*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.mark.parametrize("lesson", ALL, ids=lambda lesson: lesson.stem)
def test_the_guide_covers_the_lesson_with_its_own_time(lesson):
    sections = _guide_sections()
    assert lesson.number in sections, f"the instructor guide has no '### {lesson.number} · ...' section"
    body = sections[lesson.number]
    stated = re.search(r"\*\*Time:\*\* (\d+) min", body)
    assert stated and int(stated.group(1)) == lesson.minutes, \
        f"guide says {stated and stated.group(1)} min, {lesson.path.name} says {lesson.minutes} ({lesson.minutes_from})"
    row = re.search(rf"^\| {lesson.number} · [^|]+\| (\d+) \|", GUIDE.read_text(encoding="utf-8"), re.MULTILINE)
    assert row and int(row.group(1)) == lesson.minutes, f"the guide's timing table disagrees for {lesson.number}"
    for part in ("**Demonstrate:**", "**Pause:**", "**Common mistakes:**", "**Ask the room:**"):
        assert part in body, f"{lesson.number}: no {part}"
    for ex, _ in lesson.exercises:
        assert ex in body or f"{ex[:2]}." in body, f"the guide's {lesson.number} section never mentions {ex}"


def test_the_guide_covers_the_room():
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("## Running a class offline on a shared JupyterHub", "## Going live with one key for a room",
                    "## Collecting and grading notebooks"):
        assert heading in text
    assert "make student-copy" in text and "python -m helpers grade" in text


def test_student_copy_has_the_lessons_and_no_solutions(tmp_path):
    dest = tmp_path / "student"
    done = subprocess.run(["make", "-s", "student-copy", f"DEST={dest}"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    for nb in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/{nb.name}" in files and f"notebooks/zh/{nb.name}" in files   # both editions
        assert (dest / "notebooks" / nb.name).read_bytes() == nb.read_bytes()
    assert {"README.md", "Makefile", "requirements.txt", "helpers/checks/lesson01.py", "tests/sanitize.cfg"} <= files
    leaked = [f for f in files if f.startswith(("solutions/", "classroom/", "instructor/", ".ci/"))
              or f.endswith("-solutions.ipynb") or f in ("requirements-instructor.txt", ".env")
              or (f.startswith("tests/") and f != "tests/sanitize.cfg")]
    assert not leaked, leaked
    readme = (dest / "README.md").read_text(encoding="utf-8")
    assert "## The course map" in readme and "## For instructors" not in readme and "make solutions" not in readme
    readme_zh = (dest / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "## 课程地图" in readme_zh and "## 给老师" not in readme_zh and "instructor-guide" not in readme_zh
    # The copy runs on its own: its helpers load every checker, and a blank gets "not yet".
    probe = ("import helpers, helpers.checks as c; c._load_lessons(); print(helpers.__file__); "
             "print(c.run_check('00.3', BASE_URLS={'platform.moonshot.cn': ..., 'platform.moonshot.ai': ...})[1])")
    env = {**os.environ, "PYTHONPATH": str(dest)}
    ran = subprocess.run([sys.executable, "-c", probe], cwd=dest, capture_output=True, text=True, env=env, timeout=60)
    assert ran.returncode == 0, ran.stderr
    where, verdict = ran.stdout.splitlines()[0], "\n".join(ran.stdout.splitlines()[1:])
    assert where.startswith(str(dest)), where
    assert "not yet" in verdict
    # Its own test suite (make test there) collects: every notebook, without the plugin that needs tests/ and solutions/
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0"], cwd=dest,
                               capture_output=True, text=True, env=env, timeout=120)
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    assert "notebooks/01_curl.ipynb::Cell 0" in collected.stdout and "Solution" not in collected.stdout
    again = subprocess.run(["make", "-s", "student-copy", f"DEST={dest}"], cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode != 0 and "not empty" in again.stderr


def test_student_copy_refuses_to_write_into_the_course():
    with pytest.raises(ValueError, match="inside the course"):
        studentcopy.write_copy(REPO_ROOT / "student")
