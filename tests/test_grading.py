"""Grading a classroom: what students really submit, graded with the course's own checkers.

One folder of small lesson-01 submissions is graded once (a module fixture): a solution, the blank notebook
under another name, one that loops forever, one that raises, one that is not JSON, one whose check cell and
checker were tampered with, one with cells deleted and reordered, one without an exercise cell.
"""
from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import grading
from helpers.notebooks import exercise_id, solution_notebook
from helpers.settings import REPO_ROOT

LESSON = REPO_ROOT / "notebooks" / "01_curl.ipynb"


def _cell_index(nb, predicate) -> int:
    return next(i for i, c in enumerate(nb.cells) if predicate(c))


def _exercise_cell(nb, ex):
    return nb.cells[_cell_index(nb, lambda c: exercise_id(c) == ex)]


def _check_cell(nb, ex):
    return nb.cells[_cell_index(nb, lambda c: c.cell_type == "code" and f'check("{ex}"' in c.source)]


def _submissions(root: Path) -> None:
    def put(student: str, name: str, nb) -> None:
        (root / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, root / student / name)

    put("ana", "01_curl.ipynb", solution_notebook(LESSON))
    put("bo", "my homework (final).ipynb", nbformat.read(LESSON, as_version=4))  # blanks, renamed

    loops = solution_notebook(LESSON)
    _exercise_cell(loops, "01.2").source += "\nwhile True:\n    pass\n"
    put("cai", "01_curl.ipynb", loops)

    raises = solution_notebook(LESSON)
    cell = _exercise_cell(raises, "01.2")
    cell.source = cell.source.split("\n", 1)[0] + "\nanswer = reply['choices'][0]['message']['content']\n1 / 0\n"
    put("dan", "01_curl.ipynb", raises)

    (root / "eve").mkdir()
    (root / "eve" / "01_curl.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x = ', encoding="utf-8")

    tamper = nbformat.read(LESSON, as_version=4)  # blanks, and an attempt to pass anyway
    _check_cell(tamper, "01.1").source = 'check("01.1", out=["HTTP/1.1 200 OK", "{}"])'
    cell = _exercise_cell(tamper, "01.2")
    cell.source += ("\nimport helpers.checks as hc\nhc.REGISTRY['01.2'].checker = lambda **kw: 'ok'\n"
                    "print('✅ Exercise 01.2 passed.')")
    put("fay", "01_curl.ipynb", tamper)

    shuffled = solution_notebook(LESSON)  # demo cells deleted, 01.3 moved to the top
    ex3 = _exercise_cell(shuffled, "01.3")
    keep = [c for c in shuffled.cells if c.cell_type == "markdown" or exercise_id(c) or "check(" in c.source
            or "start()" in c.source]
    keep.remove(ex3)
    shuffled.cells = [keep[0], ex3, *keep[1:]]
    put("gus", "01_curl.ipynb", shuffled)

    gone = solution_notebook(LESSON)
    gone.cells = [c for c in gone.cells if exercise_id(c) != "01.2"]
    put("hal", "01_curl.ipynb", gone)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    _submissions(root)
    old = os.environ.get("KIMI_REPLAY_PACE")
    os.environ["KIMI_REPLAY_PACE"] = "0"  # lesson 01's checks don't depend on the pacing
    try:
        rows = asyncio.run(grading.grade_all(root, jobs=4, time_limit=90, cell_limit=4))
    finally:
        if old is None:
            os.environ.pop("KIMI_REPLAY_PACE", None)
        else:
            os.environ["KIMI_REPLAY_PACE"] = old
    out = root.parent / "grades.csv"
    grading.write_gradebook(rows, out)
    pages = grading.write_feedback_pages(rows, root.parent / "feedback")
    with out.open(encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    return {(r["student"], r["exercise"]): r for r in table}, table, pages


def test_gradebook_has_the_columns_and_a_row_per_exercise(graded):
    by_key, table, _ = graded
    assert list(table[0]) == list(grading.FIELDS)
    assert {r["student"] for r in table} == {"ana", "bo", "cai", "dan", "eve", "fay", "gus", "hal"}
    for student in ("ana", "bo", "cai", "dan", "eve", "fay", "gus", "hal"):
        assert [r["exercise"] for r in table if r["student"] == student] == ["01.1", "01.2", "01.3"], student
    assert all(r["verdict"] in grading.VERDICTS and r["feedback"] for r in table)
    assert {r["notebook"] for r in table} == {"01_curl"}


def test_a_solution_passes_and_blanks_do_not(graded):
    by_key, _, _ = graded
    assert all(by_key["ana", ex]["verdict"] == "passed" for ex in ("01.1", "01.2", "01.3"))
    assert "✅ Exercise 01.2 passed" in by_key["ana", "01.2"]["feedback"]
    for ex in ("01.1", "01.2", "01.3"):
        assert by_key["bo", ex]["verdict"] == "not yet"
        assert f"❌ Exercise {ex} — not yet" in by_key["bo", ex]["feedback"]
    assert "named my homework (final).ipynb" in by_key["bo", "01.1"]["feedback"]


def test_an_endless_loop_is_cut_off_and_the_rest_still_graded(graded):
    by_key, _, _ = graded
    assert by_key["cai", "01.2"]["verdict"] == "timed out"
    assert "time limit" in by_key["cai", "01.2"]["feedback"]
    assert by_key["cai", "01.1"]["verdict"] == "passed"
    assert by_key["cai", "01.3"]["verdict"] == "passed"


def test_an_exception_is_reported_and_the_check_still_runs(graded):
    by_key, _, _ = graded
    row = by_key["dan", "01.2"]
    assert row["verdict"] == "not yet"
    assert "raised ZeroDivisionError" in row["feedback"]
    assert "not yet" in row["feedback"]  # the checker's own verdict: finish_reason was never set
    assert by_key["dan", "01.3"]["verdict"] == "passed"


def test_a_file_that_is_not_json_is_unreadable_with_the_reason(graded):
    by_key, _, _ = graded
    for ex in ("01.1", "01.2", "01.3"):
        assert by_key["eve", ex]["verdict"] == "unreadable"
    assert "not valid notebook JSON" in by_key["eve", "01.1"]["feedback"]


def test_edited_check_cells_and_replaced_checkers_are_flagged_and_not_trusted(graded):
    by_key, _, _ = graded
    assert by_key["fay", "01.1"]["verdict"] == "not yet"
    assert "FLAGGED: the check cell was changed" in by_key["fay", "01.1"]["feedback"]
    row = by_key["fay", "01.2"]
    assert row["verdict"] == "not yet", row
    assert "FLAGGED" in row["feedback"] and "checker of 01.2 was replaced" in row["feedback"]


def test_deleted_and_reordered_cells_are_graded_in_the_lessons_context(graded):
    by_key, _, _ = graded
    assert all(by_key["gus", ex]["verdict"] == "passed" for ex in ("01.1", "01.2", "01.3")), \
        [by_key["gus", ex] for ex in ("01.1", "01.2", "01.3")]
    assert "different order" in by_key["gus", "01.1"]["feedback"]
    assert "missing or changed" in by_key["gus", "01.1"]["feedback"]


def test_a_deleted_exercise_cell_is_missing(graded):
    by_key, _, _ = graded
    assert by_key["hal", "01.2"]["verdict"] == "missing"
    assert "was not found" in by_key["hal", "01.2"]["feedback"]
    assert by_key["hal", "01.1"]["verdict"] == "passed"


def test_one_feedback_page_per_student(graded):
    _, _, pages = graded
    assert sorted(p.stem for p in pages) == ["ana", "bo", "cai", "dan", "eve", "fay", "gus", "hal"]
    text = (pages[0].parent / "cai.html").read_text(encoding="utf-8")
    assert "<h1>Feedback for cai</h1>" in text and "2 of 3 exercises passed" in text and "timed out" in text


def test_the_slice_keeps_what_a_check_reads():
    nb = solution_notebook(LESSON)
    plan = grading.build_plan(LESSON, nb, ["01.2"])
    kinds = [s.kind for s in plan.steps]
    assert kinds[0] == "lesson" and "start()" in plan.steps[0].source
    assert kinds[-2:] == ["exercise", "check"]
    assert any("reply =" in s.source for s in plan.steps), "01.2 reads reply, defined by a lesson cell"
    assert len(plan.steps) < len([c for c in nb.cells if c.cell_type == "code"])


def test_check_command_exit_codes(tmp_path):
    solved = tmp_path / "solved.ipynb"
    nbformat.write(solution_notebook(LESSON), solved)
    env = {**os.environ, "KIMI_REPLAY_PACE": "0"}

    def command(*args):
        return subprocess.Popen([sys.executable, "-m", "helpers", "check", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    runs = [command("01.1", "--notebook", str(solved)), command("01.2", "--notebook", str(LESSON)),
            command("1.1", "--notebook", str(solved)), command("01.1", "--notebook", str(tmp_path / "no")),
            command("01.9", "--notebook", str(LESSON))]
    (ok, blank, bad_id, gone, unknown) = [(p.wait(timeout=120), *p.communicate()) for p in runs]
    assert ok[0] == 0 and ok[1].startswith("✅ Exercise 01.1 passed"), ok
    assert blank[0] == 1 and blank[1].startswith("❌ Exercise 01.2 — not yet"), blank
    assert bad_id[0] == 2 and "not an exercise" in bad_id[2], bad_id
    assert gone[0] == 2 and "does not exist" in gone[2], gone
    assert unknown[0] == 2 and "no exercise 01.9" in unknown[2], unknown


def test_unreadable_notebooks_are_told_apart(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_bytes(b"\xff\xfe")
    assert "not UTF-8" in grading.read_notebook(bad)[1]
    bad.write_text(json.dumps({"cells": "nope"}), encoding="utf-8")
    assert grading.read_notebook(bad)[0] is None
    good, problem = grading.read_notebook(LESSON)
    assert problem is None and good.cells
