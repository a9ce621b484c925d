"""pytest plugin: prove each exercise's solution in the kernel nbval has just run the notebook in.

nbval runs a notebook's cells one by one in one kernel and compares their outputs with the stored ones (the
blanks, whose check cells print "not yet"). After its last cell this plugin adds one item per exercise to the
same notebook, in the same kernel: the exercise cell with its body replaced by the solution from
solutions/NN_topic.py, then the code cells up to the next exercise (its check cell), which must print the pass
mark for every exercise they check. This is the solution notebook (helpers.notebooks.solution_notebook) run
from its first exercise on, without starting a kernel and running the lesson a second time: every lesson keeps
its exercises at the end, after the cells they build on (tests/test_exercises.py holds them there).

It also sets the replay pace each notebook is tested at (helpers.notebooks.pace_for_tests) before nbval starts
its kernel.

    .venv/bin/python -m pytest --nbval notebooks/05_errors.ipynb     # the notebook, then its solutions
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from helpers import checks
from helpers.language import language_of, speaking
from helpers.notebooks import checked_ids, exercise_id, pace_for_tests, solutions_for

CELL_TIMEOUT = 180
# Checks that time a rate-limited batch: a busy machine can only slow a batch down, never speed it past the tier
# (the server enforces that), so a second try after a shortfall proves as much as one, and a stall does not fail.
RETRIED = {"08.2": "times a paced batch against tier2"}


def segments(nb) -> list[tuple[str, list[Any]]]:
    """[(exercise id, [its exercise cell, the code cells up to the next exercise])], from the first exercise on."""
    found: list[tuple[str, list[Any]]] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        ex = exercise_id(cell)
        if ex is not None:
            found.append((ex, [cell]))
        elif found:
            found[-1][1].append(cell)
    return found


class SolutionItem(pytest.Item):
    """One exercise's solution, run in the notebook's nbval kernel after every stored cell."""

    def __init__(self, *, exercise: str, cells: list[Any], solution: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exercise, self.cells, self.solution = exercise, cells, solution
        self.language = language_of(self.path)   # the edition's check lines

    def _run(self, source: str) -> tuple[str, str | None]:
        """Run source in the nbval kernel: (what it printed, the error's text or None)."""
        kernel = self.parent.kernel
        if kernel is None or not kernel.is_alive():
            raise RuntimeError("the notebook's kernel is not running (an earlier cell crashed it?)")
        printed: list[str] = []
        error: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                printed.append(content["text"])
            elif msg["msg_type"] == "error":
                error.append(f"{content['ename']}: {content['evalue']}")
            elif msg["msg_type"] in ("execute_result", "display_data"):
                printed.append(content.get("data", {}).get("text/plain", ""))

        reply = kernel.kc.execute_interactive(source, timeout=CELL_TIMEOUT, output_hook=hook, allow_stdin=False,
                                              store_history=False, stop_on_error=False)
        if reply["content"]["status"] == "error" and not error:
            error.append(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        return "".join(printed), (error[0] if error else None)

    def runtest(self) -> None:
        tries = 2 if self.exercise in RETRIED else 1
        for attempt in range(1, tries + 1):
            try:
                self._run_segment()
                return
            except pytest.fail.Exception:
                if attempt == tries:
                    raise

    def _run_segment(self) -> None:
        first = self.cells[0].source.split("\n", 1)[0]
        sources = [first + "\n" + self.solution] + [c.source for c in self.cells[1:]]
        expected = set()
        for i, source in enumerate(sources):
            printed, error = self._run(source)
            where = "the solution" if i == 0 else f"the cell after it ({source.splitlines()[0][:60]!r})"
            if error:
                pytest.fail(f"Exercise {self.exercise}: {where} raised {error}\n{printed}", pytrace=False)
            for ex in checked_ids(source):
                expected.add(ex)
                with speaking(self.language):
                    passed = str(checks.pass_line(ex))
                if passed not in printed:
                    pytest.fail(f"Exercise {ex} with its solution printed:\n{printed}", pytrace=False)
        if self.exercise not in expected:
            pytest.fail(f"Exercise {self.exercise} has no check cell after it", pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}: solution {self.exercise}"


def _with_solutions(collect):
    def collect_then_solutions(self):
        yield from collect(self)
        path = Path(str(self.fspath))
        if not path.name[:2].isdigit():
            return
        solutions = solutions_for(path)
        for ex, cells in segments(nbformat.read(path, as_version=4)):
            if ex in solutions:  # a missing one fails tests/test_exercises.py, with its name
                yield SolutionItem.from_parent(self, name=f"Solution {ex}", exercise=ex, cells=cells,
                                               solution=solutions[ex])
    return collect_then_solutions


def pytest_configure(config: pytest.Config) -> None:
    if not getattr(config.option, "nbval", False):
        return
    from nbval.plugin import IPyNbFile

    if not getattr(IPyNbFile.collect, "_with_solutions", False):
        IPyNbFile.collect = _with_solutions(IPyNbFile.collect)
        IPyNbFile.collect._with_solutions = True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before nbval starts a notebook's kernel (its first cell's setup), set the pace the kernel inherits."""
    notebook = item.parent
    if notebook is not None and notebook.__class__.__name__ == "IPyNbFile" and notebook.kernel is None:
        _take_workspace(item)
        os.environ["KIMI_REPLAY_PACE"] = pace_for_tests(notebook.path)




# Lessons whose notebooks write the same files (workspace/kimi_client/ next to them): under xdist, two workers could
# run them at once, and one would clear the package while the other is using it. A lock on the workspace makes the
# second wait. Each edition has its own workspace (notebooks/workspace/, notebooks/zh/workspace/) and its own lock.
SHARED_WORKSPACE = ("09", "10")
_held: dict[str, Any] = {}


def _shares_the_workspace(item: pytest.Item) -> bool:
    notebook = item.parent
    return (notebook is not None and notebook.__class__.__name__ == "IPyNbFile"
            and notebook.path.name[:2] in SHARED_WORKSPACE and (notebook.path.parent / "workspace").is_dir())


def _take_workspace(item: pytest.Item) -> None:
    """Before the first cell of lesson 09 or 10: wait until no other worker is running either, then hold the lock."""
    import fcntl

    if item.parent in _held or not _shares_the_workspace(item):
        return
    lock_file = (item.parent.path.parent / "workspace" / ".capstone.lock").open("w")
    fcntl.flock(lock_file, fcntl.LOCK_EX)
    _held[item.parent] = lock_file


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the notebook's last item (its last solution): let the other lesson's notebook run."""
    if item.parent in _held and (nextitem is None or nextitem.parent is not item.parent):
        _held.pop(item.parent).close()  # closing the file releases the lock
