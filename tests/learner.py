"""A learner at work, in this process: a notebook's cells run in a real IPython shell up to an exercise, then the
learner's own version of the exercise cell, then the check cell, whose feedback is returned.

The cells before the exercise run as a learner who solved the earlier exercises would have them (their solutions),
against a replay server started by the notebook's own first cell (`start()`), without pacing.

Example:
    >>> nb = LearnerNotebook("02_requests")                       # doctest: +SKIP
    >>> nb.try_answer("02.3", 'messages_3 = messages + [...]')    # doctest: +SKIP
    (False, '❌ Exercise 02.3 — not yet: ...')
"""
from __future__ import annotations

import gc
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from typing import Any

from helpers import course as course_module
from helpers.notebooks import exercise_id, solution_notebook
from helpers.settings import REPO_ROOT

CHECK_CALL = re.compile(r'^check\(\s*"(\d\d\.\d+)"', re.M)


def shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


class LearnerNotebook:
    """One notebook's namespace in the process-wide IPython shell (reset when another notebook takes it)."""

    _owner: LearnerNotebook | None = None

    def __init__(self, stem: str) -> None:
        self.stem = stem
        self.nb = solution_notebook(REPO_ROOT / "notebooks" / f"{stem}.ipynb")
        self.sh = shell()
        from helpers.checks import learner
        learner.watch()  # what `from helpers.checks import check` does in a kernel
        self.ran_upto = -1
        self._last = ""
        LearnerNotebook._owner = None  # run from the top on first use

    def run(self, source: str) -> Any:
        """Run one cell's source; its output is swallowed; an exception in it stays in the result, as in Jupyter."""
        # no Jupyter front end here to show figures: matplotlib draws off screen
        source = "\n".join("" if line.startswith("%matplotlib") else line for line in source.split("\n"))
        with redirect_stdout(StringIO()) as out, redirect_stderr(StringIO()):
            result = self.sh.run_cell(source, store_history=True)
        result.printed = out.getvalue()
        return result

    def _index(self, ex: str) -> int:
        for i, cell in enumerate(self.nb.cells):
            if exercise_id(cell) == ex:
                return i
        raise KeyError(f"{self.stem} has no exercise {ex}")

    def _claim(self) -> None:
        """Take the shell back if another notebook used it since: a fresh namespace, run again from the top."""
        if LearnerNotebook._owner is not self:
            from helpers.checks import learner

            self.sh.reset(new_session=False)
            # reset() ends in a full garbage collection over all this process holds (~20 s of the suite's CPU):
            # what survived this one is frozen out of the next ones; stop_course thaws it.
            gc.freeze()
            learner._last_errors.clear()
            self.ran_upto = -1
            LearnerNotebook._owner = self

    def run_upto(self, ex: str) -> None:
        """Run every code cell before exercise `ex` that hasn't run yet (earlier exercises with their solutions)."""
        self._claim()
        end = self._index(ex)
        for i in range(self.ran_upto + 1, end):
            cell = self.nb.cells[i]
            if cell.cell_type == "code" and not CHECK_CALL.search(cell.source):
                self.run(cell.source)
        self.ran_upto = max(self.ran_upto, end - 1)

    def check_cell(self, ex: str) -> str:
        for cell in self.nb.cells[self._index(ex):]:
            found = CHECK_CALL.search(cell.source)
            if found and found.group(1) == ex:
                return cell.source
        raise KeyError(f"{self.stem}: no check cell for {ex}")

    def try_answer(self, ex: str, body: str | None = None) -> tuple[bool, str]:
        """Run the exercise cell with `body` (None: the solution) after its heading line, then its check cell."""
        self.run_upto(ex)
        self._last = ex
        cell = self.nb.cells[self._index(ex)]
        heading = cell.source.split("\n", 1)[0]
        source = cell.source if body is None else heading + "\n" + body
        self.run(source)
        return self.check()

    def check(self, ex: str | None = None) -> tuple[bool, str]:
        """Run the check cell of `ex` (by default the last exercise tried) as run_check, in the learner's namespace."""
        ex = ex or self._last
        call = self.check_cell(ex).strip().replace("check(", "__verdict = __run_check(", 1)
        self.sh.user_ns["__run_check"] = __import__("helpers.checks", fromlist=["run_check"]).run_check
        result = self.run(call)
        assert result.error_in_exec is None, result.error_in_exec
        return self.sh.user_ns["__verdict"]


def forget_capstone_package() -> None:
    """Drop the capstone's kimi_client from this process's imports, as a kernel restart would: the next import reads
    the workspace/ of the current folder."""
    import sys

    for name in [m for m in sys.modules if m == "kimi_client" or m.startswith("kimi_client.")]:
        del sys.modules[name]


def start_replay_course() -> dict[str, str]:
    """Start this process's course (replay, unpaced); returns the environment to restore afterwards."""
    saved = dict(os.environ)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["KIMI_REPLAY_PACE"] = "0"
    course_module._course = None
    course_module.start(quiet=True)
    return saved


def stop_course(saved: dict[str, str]) -> None:
    """Stop the course and drop the shell, so that later tests in this process run outside any notebook again."""
    from IPython.core.interactiveshell import InteractiveShell

    from helpers.checks import learner

    LearnerNotebook._owner = None
    learner._last_errors.clear()
    InteractiveShell.clear_instance()
    gc.unfreeze()
    course = course_module._course
    if course is not None and course.server is not None:
        course.server.stop()
    course_module._course = None
    os.environ.clear()
    os.environ.update(saved)
