"""Recovery after a kernel restart: a NameError in an exercise or check cell is followed by one line naming the
earlier cells to run first, and those cells are enough.

Every exercise of every lesson, for real: a fresh namespace (a kernel restart), the exercise's solution run at once
(it fails with NameError unless it needs nothing), then exactly the cells the advice names, then the exercise and
its check cell again: no NameError is left, and the check passes. Plus 02.3's corrupted `messages`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.checks import prerequisites
from helpers.notebooks import exercise_id, solution_notebook
from tests.learner import CHECK_CALL, LearnerNotebook, forget_capstone_package, start_replay_course, stop_course
from tests.nbsolutions import RETRIED

STEMS = [p.stem for p in sorted(prerequisites.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")) if p.name[:2] <= "10"]
EXERCISES = [(stem, exercise_id(cell)) for stem in STEMS
             for cell in solution_notebook(prerequisites.NOTEBOOKS_DIR / f"{stem}.ipynb").cells if exercise_id(cell)]


@pytest.fixture(scope="module", autouse=True)
def replay_course():
    saved = start_replay_course()
    yield
    stop_course(saved)


@pytest.fixture(scope="module")
def notebooks():
    return {}


def test_every_lesson_00_to_10_has_exercises_here():
    assert {stem[:2] for stem, _ in EXERCISES} == {f"{n:02d}" for n in range(11)}


def test_advice_names_cells_by_section_and_first_line():
    source = prerequisites.lesson_path("02").read_text(encoding="utf-8")
    assert "# Exercise 02.3" in source
    advice = prerequisites.where_to_start("# Exercise 02.3 — continue\nmessages_3 = messages + [reply_2]\n",
                                          ["messages", "reply_2"])
    assert advice.startswith("Run first, top to bottom: the two cells at the top (`course = start()` and the imports)")
    assert "§10's cell `LAB_SYSTEM_PROMPT = (`, §10's cell `messages.append(" in advice
    assert "\n" not in advice and len(advice) < 400
    assert prerequisites.where_to_start("print('not a lesson cell')", ["x"]) is None


def fresh(nb: LearnerNotebook) -> None:
    """A kernel restart: an empty namespace, nothing run, and no package of the capstone's imported."""
    LearnerNotebook._owner = None
    nb._claim()
    forget_capstone_package()


@pytest.fixture(scope="module")
def capstone_folders(tmp_path_factory):
    return {}


def left_on_disk(nb: LearnerNotebook, folders: dict, tmp_path_factory) -> Path:
    """A folder holding what a learner's run of the whole lesson left on disk (the capstone's workspace/), made once
    per lesson: every code cell before its last exercise, but the `!pytest` run, which writes nothing it needs."""
    if nb.stem not in folders:
        folder = folders[nb.stem] = tmp_path_factory.mktemp(nb.stem)
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(folder)
            last = max(i for i, c in enumerate(nb.nb.cells) if exercise_id(c))
            for cell in nb.nb.cells[:last]:
                if cell.cell_type == "code" and not cell.source.startswith("!") and not CHECK_CALL.search(cell.source):
                    nb.run(cell.source)
    return folders[nb.stem]


@pytest.mark.parametrize("stem,ex", EXERCISES, ids=[ex for _, ex in EXERCISES])
def test_after_a_restart_the_advice_names_the_cells_to_run(stem, ex, notebooks, capsys, monkeypatch,
                                                            capstone_folders, tmp_path_factory):
    nb = notebooks.setdefault(stem, LearnerNotebook(stem))
    fresh(nb)
    if stem[:2] in ("09", "10"):  # the capstone's package is on disk, in workspace/, as the learner's run left it
        folder = left_on_disk(nb, capstone_folders, tmp_path_factory)
        fresh(nb)
        monkeypatch.chdir(folder)
    index = nb._index(ex)
    exercise_source = nb.nb.cells[index].source
    check_source = nb.check_cell(ex)
    cells = {c.index: c for c in prerequisites.lesson_cells(prerequisites.lesson_path(stem[:2]))}
    # what a learner sees: the exercise cell fails at once, and the line under its error names the cells
    first = nb.run(exercise_source)
    to_run: list[int] = []
    if isinstance(first.error_in_exec, NameError):
        advice = prerequisites.name_error_advice(exercise_source, first.error_in_exec, nb.sh.user_ns)
        assert advice and advice.startswith("Run first, top to bottom:") and "\n" not in advice, advice
        to_run = [c.index for c in prerequisites.cells_before(tuple(cells.values()), index, prerequisites.missing_names(
            exercise_source, first.error_in_exec.name, nb.sh.user_ns))]
    # the check cell too, in a fresh kernel
    fresh(nb)
    check = nb.run(check_source)
    assert isinstance(check.error_in_exec, NameError)
    advice = prerequisites.name_error_advice(check_source, check.error_in_exec, nb.sh.user_ns)
    assert advice and ("the setup cell at the top" in advice or "the two cells at the top" in advice), advice
    # run exactly the named cells (of the exercise and its check cell), then both: no NameError, and a pass
    fresh(nb)
    needed = set(to_run) | {c.index for c in prerequisites.cells_before(
        tuple(cells.values()), index + 1, prerequisites.missing_names(check_source, "check", {}))}
    needed.add(min(cells))  # the setup cell, which the advice always names first
    # files a cell wrote (%%writefile) are still on disk after a restart: write them as the learner had them
    needed |= {i for i in cells if i < index and nb.nb.cells[i].source.startswith("%%writefile")}
    for i in sorted(needed):
        source = nb.nb.cells[i].source
        if CHECK_CALL.search(source):
            continue
        result = nb.run(source)
        assert not isinstance(result.error_in_exec, NameError), (i, result.error_in_exec)
    again = nb.run(exercise_source)
    assert not isinstance(again.error_in_exec, NameError), again.error_in_exec
    passed, feedback = nb.check(ex)
    if not passed and "Run first, top to bottom:" in feedback:
        # a function that only meets a missing name when the checker calls it: the checker named the cells; run them
        for cell in prerequisites.cells_before(tuple(cells.values()), index, prerequisites.missing_names(
                exercise_source, None, nb.sh.user_ns)):
            assert not isinstance(nb.run(nb.nb.cells[cell.index].source).error_in_exec, NameError)
        nb.run(exercise_source)
        passed, feedback = nb.check(ex)
    if not passed and ex in RETRIED:  # a busy machine can only slow a timed batch down: one more try, as nbval's has
        nb.run(exercise_source)
        passed, feedback = nb.check(ex)
    assert passed, feedback


def test_the_hook_prints_the_line_under_a_name_error(notebooks):
    from helpers import short_errors

    nb = notebooks.setdefault("02_requests", LearnerNotebook("02_requests"))
    fresh(nb)
    nb.run(nb.nb.cells[1].source)  # the setup cell: start() installs the hook
    assert short_errors.install()
    result = nb.run(nb.check_cell("02.3"))
    assert isinstance(result.error_in_exec, NameError)
    assert re.search(r"💡 Run first, top to bottom: .*§10's cell `LAB_SYSTEM_PROMPT = \(`", result.printed), \
        result.printed


# ---- 02.3: a corrupted `messages` ------------------------------------------------------------------------------

@pytest.mark.parametrize("damage,said", [
    ("messages.append({'role': 'assistant', 'content': reply_2})", "now holds 5 messages instead of 4"),
    ("messages[2] = reply_1", "messages[2] is not a message dict"),
    ("messages[1] = {'role': 'user', 'content': '你好'}", "messages[1] should be the user message of §10"),
    ("messages.append(None)", "messages[4] is not a message dict"),
])
def test_02_3_a_corrupted_messages_says_which_cells_to_re_run(damage, said, notebooks):
    nb = notebooks.setdefault("02_requests", LearnerNotebook("02_requests"))
    fresh(nb)
    nb.run_upto("02.3")
    nb.run(damage)
    passed, feedback = nb.try_answer("02.3")
    assert not passed and said in feedback, feedback
    assert "Re-run §10's cell `LAB_SYSTEM_PROMPT = (`, then §10's cell `messages.append(" in feedback, feedback
    for cell in nb.nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(("LAB_SYSTEM_PROMPT = (", "messages.append(")):
            nb.run(cell.source)
    passed, feedback = nb.try_answer("02.3")
    assert passed, feedback
