"""The exercise framework (helpers.checks): check / hint / run_check / require / is_blank.

Whatever a learner's answer does, the feedback is a friendly line, never a traceback. These tests use their own
registry, so the lesson checkers (written alongside the notebooks) don't affect them."""
from __future__ import annotations

import sys

import pytest

from helpers import checks
from helpers.checks import NotYet, check, exercise, hint, is_blank, require, run_check


@pytest.fixture(autouse=True)
def own_registry(monkeypatch):
    monkeypatch.setattr(checks, "REGISTRY", {})
    monkeypatch.setattr(checks, "_loaded", True)  # don't import the lesson modules here


@pytest.fixture
def sum_exercise():
    @exercise("T.1", hints=["It is a number.", "answer = 2"])
    def _(answer):
        require(not is_blank(answer), "Replace the ... with your answer.")
        require(answer == 2, f"{answer!r} is not 1+1.")
        return "Right: 1+1 is 2."

    return checks.REGISTRY["T.1"]


# ---- require and is_blank -------------------------------------------------------------------------------------------

def test_require_and_is_blank():
    require(True, "never shown")
    require([1], "never shown")
    for falsy in (False, 0, "", [], None):
        with pytest.raises(NotYet, match="^say why$"):
            require(falsy, "say why")
    assert is_blank(...) is True
    assert [is_blank(v) for v in (None, 0, "", "...", [])] == [False] * 5


# ---- check and run_check -----------------------------------------------------------------------------------------------

def test_a_passing_answer(sum_exercise, capsys):
    check("T.1", answer=2)
    assert capsys.readouterr().out == "✅ Exercise T.1 passed. Right: 1+1 is 2.\n"
    assert sum_exercise.passed is True


def test_a_blank_answer(sum_exercise, capsys):
    check("T.1", answer=...)
    assert capsys.readouterr().out == ("❌ Exercise T.1 — not yet: Replace the ... with your answer.\n"
                                       "   Need a nudge? Run hint(\"T.1\").\n")
    assert sum_exercise.passed is False


def test_a_wrong_answer_then_a_right_one(sum_exercise):
    assert run_check("T.1", answer=3) == (False, "❌ Exercise T.1 — not yet: 3 is not 1+1.\n   Need a nudge? Run hint(\"T.1\").")
    assert sum_exercise.passed is False
    passed, feedback = run_check("T.1", answer=2)
    assert passed and sum_exercise.passed
    passed, _ = run_check("T.1", answer=5)
    assert not passed and not sum_exercise.passed


def test_a_checker_without_a_message():
    @exercise("T.2", hints=[])
    def _(x):
        require(x, "x must be truthy")

    assert run_check("T.2", x=1) == (True, "✅ Exercise T.2 passed.")


def test_anything_the_answer_raises_becomes_feedback(sum_exercise, capsys):
    class Strange:
        def __eq__(self, other):
            raise RuntimeError("I refuse to be compared")

    @exercise("T.3", hints=["Divide."])
    def _(answer):
        require(answer == 1 / answer, "not its own inverse")
        return "ok"

    check("T.3", answer=0)
    check("T.3", answer={"a": 1})
    check("T.1", answer=Strange())
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "❌ Exercise T.3 — not yet: checking your answer raised ZeroDivisionError: division by zero"
    assert lines[2].startswith("❌ Exercise T.3 — not yet: checking your answer raised TypeError: unsupported operand")
    assert lines[4] == "❌ Exercise T.1 — not yet: checking your answer raised RuntimeError: I refuse to be compared"
    assert lines[1::2] == ['   Need a nudge? Run hint("T.3").'] * 2 + ['   Need a nudge? Run hint("T.1").']
    assert "Traceback" not in out and err == ""


def test_a_type_error_from_the_answer_is_not_blamed_on_the_check_cell():
    @exercise("T.4", hints=[])
    def _(count):
        require(int(count) == 3, "count should be 3")

    passed, feedback = run_check("T.4", count=None)  # int(None): "int() argument must be ..."
    assert not passed
    assert feedback.startswith("❌ Exercise T.4 — not yet: checking your answer raised TypeError: int() argument")
    assert "check cell was changed" not in feedback


def test_a_changed_check_cell_is_named(sum_exercise):
    for answers in ({"answr": 2}, {}, {"answer": 2, "extra": 1}):
        passed, feedback = run_check("T.1", **answers)
        assert not passed
        assert feedback.startswith("❌ Exercise T.1 — the check cell was changed: ") and feedback.endswith("Restore it.")
    assert sum_exercise.passed is False


def test_an_unknown_exercise(sum_exercise, capsys):
    assert run_check("T.9", answer=1) == (False, "There is no exercise 'T.9'. Known exercises: T.1")
    check("T.9", answer=1)
    hint("T.9")
    out, err = capsys.readouterr()
    assert out == "There is no exercise 'T.9'. Known exercises: T.1\n" * 2 and err == ""


def test_no_exercises_at_all():
    assert run_check("T.1") == (False, "There is no exercise 'T.1'. Known exercises: none")


# ---- hints -----------------------------------------------------------------------------------------------------------------

def test_hints_come_one_at_a_time_and_the_last_repeats(sum_exercise, capsys):
    for _ in range(4):
        hint("T.1")
    assert capsys.readouterr().out.splitlines() == [
        "💡 Hint 1 of 2 for T.1: It is a number.",
        "💡 Hint 2 of 2 for T.1: answer = 2",
        "💡 Hint 2 of 2 for T.1: answer = 2",
        "💡 Hint 2 of 2 for T.1: answer = 2",
    ]


def test_an_exercise_without_hints(capsys):
    exercise("T.5", hints=[])(lambda: None)
    hint("T.5")
    assert capsys.readouterr().out == "No hints for T.5.\n"


def test_registering_again_replaces_the_checker():
    exercise("T.6", hints=["a"])(lambda: "first")
    exercise("T.6", hints=["b"])(lambda: "second")
    assert run_check("T.6") == (True, "✅ Exercise T.6 passed. second")
    assert checks.REGISTRY["T.6"].hints == ["b"]


# ---- lesson modules are found and loaded once ---------------------------------------------------------------------------------

def test_lesson_modules_are_loaded_on_first_use(tmp_path, monkeypatch):
    (tmp_path / "lesson99.py").write_text(
        "from helpers.checks import exercise, require\n"
        "@exercise('99.1', hints=['Two.'])\n"
        "def _(answer):\n"
        "    require(answer == 2, 'Not 2.')\n"
        "    return 'Two it is.'\n", encoding="utf-8")
    (tmp_path / "notes.py").write_text("raise RuntimeError('only lessonNN modules are loaded')\n", encoding="utf-8")
    monkeypatch.setattr(checks, "__path__", [str(tmp_path)])
    monkeypatch.setattr(checks, "_loaded", False)
    monkeypatch.delitem(sys.modules, "helpers.checks.lesson99", raising=False)
    try:
        assert run_check("99.1", answer=2) == (True, "✅ Exercise 99.1 passed. Two it is.")
        assert checks._loaded is True
        assert run_check("99.1", answer=3)[0] is False
    finally:
        sys.modules.pop("helpers.checks.lesson99", None)
