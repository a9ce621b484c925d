"""Exercises: every one has a checker and a solution; blanks get 'not yet', solutions pass.

The solution notebook is the learner's notebook with each exercise cell's body replaced by
its solution (helpers.notebooks.solution_notebook), so the two cannot drift apart. That every
solution passes is proved under --nbval, in the kernel that has just run the notebook
(tests/nbsolutions.py: items named `notebooks/NN_x.ipynb::Solution NN.K`).
"""
from __future__ import annotations


import nbformat
import pytest

from helpers import checks
from helpers.notebooks import checked_ids, exercise_id, exercise_ids, solution_notebook, solutions_for
from tests.nbsolutions import segments
from helpers.settings import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _check_outputs(nb) -> dict[str, str]:
    """{exercise id: printed output} for every cell that calls check("NN.K", ...)."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for ex in checked_ids(cell.source):
            found[ex] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_are_complete(path):
    nb = nbformat.read(path, as_version=4)
    ids = exercise_ids(nb)
    assert len(ids) >= 2, f"{path.name} has {len(ids)} exercises; at least two expected"
    assert len(ids) == len(set(ids)), f"{path.name}: an exercise id is used twice"
    assert all(i.startswith(path.name[:2] + ".") for i in ids), f"{path.name}: ids should start with its number: {ids}"
    assert sorted(solutions_for(path)) == sorted(ids), f"solutions/{path.stem}.py must solve exactly {ids}"
    checks._load_lessons()
    missing = [i for i in ids if i not in checks.REGISTRY]
    assert not missing, f"no checker registered for {missing}"
    assert all(checks.REGISTRY[i].hints for i in ids), "every exercise needs at least one hint"
    assert sorted(_check_outputs(nb)) == sorted(ids), f"{path.name}: each exercise needs one check cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_blanks_get_not_yet_feedback(path):
    outputs = _check_outputs(nbformat.read(path, as_version=4))
    for ex, text in outputs.items():
        assert f"{checks.NOT_YET_MARK} Exercise {ex} — not yet" in text, f"{path.name} {ex}: stored output {text!r}"
        assert "Traceback" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solution_notebook_puts_each_solution_in_its_cell(path):
    nb = solution_notebook(path)
    solutions = solutions_for(path)
    bodies = {exercise_id(c): c.source.split("\n", 1)[1] for c in nb.cells if exercise_id(c)}
    assert bodies == solutions


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_exercise_is_followed_by_its_check_before_the_next(path):
    """What tests/nbsolutions.py relies on: exercise, its check, next exercise; nothing else code after them
    but what the exercises build on."""
    found = segments(nbformat.read(path, as_version=4))
    assert [ex for ex, _ in found] == exercise_ids(nbformat.read(path, as_version=4))
    for ex, cells in found:
        assert ex in {i for c in cells[1:] for i in checked_ids(c.source)}, f"{path.name}: {ex} has no check cell after it"
        assert len(cells) <= 3, f"{path.name}: {len(cells) - 1} code cells follow exercise {ex}; keep lesson code above the exercises"


def _as_python(cell_code: str) -> str:
    """A cell's code as IPython runs it (`out = !curl ...` becomes a call), without IPython's dedent of a first line."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_code)


def last_hint_problems(ex: str, hints: list[str], solution: str | None) -> list[str]:
    """What is wrong with an exercise's hints: the last must be the answer as code that parses as written."""
    import ast

    from helpers.checks import Code
    from helpers.notebooks import as_cell_source

    last = hints[-1] if hints else None
    if not isinstance(last, Code):
        return [f"{ex}: the last hint should be the answer, written with code(...)"]
    problems = []
    if len(hints) < 3:
        problems.append(f"{ex}: {len(hints)} hints; give a nudge, a closer hint, then the answer")
    if last != last.lstrip() or any(line != line.rstrip() for line in last.splitlines()):
        problems.append(f"{ex}: the answer starts with (or lines end in) spaces; write it as it goes in the cell")
    try:
        tree = ast.parse(_as_python(last))
    except SyntaxError as exc:
        return problems + [f"{ex}: the answer does not parse as written: {exc.msg} (line {exc.lineno})"]
    if solution is not None:
        wanted = ast.parse(_as_python(as_cell_source(solution)))
        if ast.dump(tree) != ast.dump(wanted):
            problems.append(f"{ex}: the answer in the last hint is not the code of solutions/ for it")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_last_hint_is_the_answer_as_code_that_parses_as_written(path):
    checks._load_lessons()
    solutions = solutions_for(path)
    problems = [p for ex in exercise_ids(nbformat.read(path, as_version=4))
                for p in last_hint_problems(ex, checks.REGISTRY[ex].hints, solutions.get(ex))]
    assert not problems, "\n".join(problems)


def test_the_hint_check_catches_an_answer_that_does_not_paste():
    from helpers.checks import code

    nudge, closer = "An idea.", "Closer."
    answer = ["for k in range(3):", "    total = k", "print(total)"]
    assert last_hint_problems("T.1", [nudge, closer, code(*answer)], "for k in range(3):\n    total = k\nprint(total)") == []
    # the old 08.1: the first line without its indentation, the next ones with it (dedent alone would hide this)
    misindented = code("start = 0.0", "        if k >= 1:", "            start = 1.0")
    assert "does not parse as written" in last_hint_problems("T.1", [nudge, closer, misindented], None)[0]
    assert "starts with" in last_hint_problems("T.1", [nudge, closer, code("    x = 1")], None)[0]
    assert "written with code" in last_hint_problems("T.1", [nudge, closer, "x = 1   and   y = 2"], None)[0]
    assert "not the code of solutions" in last_hint_problems("T.1", [nudge, closer, code("x = 2")], "x = 1")[0]
    assert "give a nudge" in last_hint_problems("T.1", [code("x = 1")], None)[0]
    shell = code('out = !curl -sS $KIMI_BASE_URL/models \\', '  -H "Authorization: Bearer $MOONSHOT_API_KEY"')
    assert last_hint_problems("T.1", [nudge, closer, shell], None) == []
