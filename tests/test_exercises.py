"""Exercises: every one has a checker and a solution; blanks get 'not yet', solutions pass.

The solution notebook is the learner's notebook with each exercise cell's body replaced by
its solution (helpers.notebooks.solution_notebook), so the two cannot drift apart.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from helpers import checks
from helpers.notebooks import execute, exercise_ids, solution_notebook, solutions_for
from helpers.settings import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _check_outputs(nb) -> dict[str, str]:
    """{exercise id: printed output} for every cell that calls check("NN.K", ...)."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for ex in re.findall(r'check\(\s*"(\d\d\.\d+)"', cell.source):
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
def test_solutions_pass_their_checkers(path):
    nb = execute(solution_notebook(path), path.parent)
    outputs = _check_outputs(nb)
    assert outputs, f"{path.name}: no check cells found"
    for ex, text in outputs.items():
        assert f"{checks.PASS_MARK} Exercise {ex} passed" in text, f"{path.name} {ex} with its solution printed {text!r}"
