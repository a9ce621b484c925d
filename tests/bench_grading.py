"""Grading a classroom, measured: 40 submissions of one notebook against the floor of 40 kernel starts.

    .venv/bin/python -m tests.bench_grading            # part of make bench
    .venv/bin/python -m tests.bench_grading --n 10
    .venv/bin/python -m tests.bench_grading --all-lessons   # every lesson's solution passes, every blank does not

The submissions are lesson 01 (half solved, half blank), graded by `python -m helpers grade` as an instructor runs
it (replay at the pace the tests use, the default number of kernels at a time). The floor starts as many kernels,
the same number at a time, through the same client library, runs one trivial cell in each and stops it: what any
grader that gives every notebook its own kernel pays before the first line of a notebook.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

from helpers import grading
from helpers.notebooks import solution_notebook, use_test_environment
from helpers.settings import REPO_ROOT

LESSON = REPO_ROOT / "notebooks" / "01_curl.ipynb"
GOAL = 1.5


async def _kernel_floor(n: int, jobs: int) -> float:
    from nbclient import NotebookClient

    limit = asyncio.Semaphore(jobs)

    async def one() -> None:
        async with limit:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
            client = NotebookClient(nb, kernel_name="python3", timeout=60)
            await client.async_execute()
            if nb.cells[0].outputs[0]["data"]["text/plain"] != "2":
                raise RuntimeError("the trivial cell did not run")

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return time.perf_counter() - started


def _lay_out(root: Path, n: int) -> None:
    solved, blank = solution_notebook(LESSON), nbformat.read(LESSON, as_version=4)
    for i in range(n):
        folder = root / f"student{i + 1:02d}"
        folder.mkdir(parents=True)
        nbformat.write(solved if i % 2 == 0 else blank, folder / LESSON.name)


def bench_grading(n: int = 40, jobs: int | None = None) -> dict[str, Any]:
    use_test_environment()
    jobs = jobs or grading.default_jobs()  # what `grade` uses by default
    with tempfile.TemporaryDirectory(prefix="kimi-bench-grade-") as tmp:
        root = Path(tmp) / "submissions"
        _lay_out(root, n)
        out = Path(tmp) / "grades.csv"
        started = time.perf_counter()
        command = [sys.executable, "-m", "helpers", "grade", str(root), "--out", str(out), "--jobs", str(jobs)]
        done = subprocess.run(command,
                              capture_output=True, text=True, cwd=REPO_ROOT)
        graded_s = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"grade failed: {done.stderr[-2000:]}")
        rows = out.read_text(encoding="utf-8").splitlines()[1:]
        verdicts = {v: sum(1 for r in rows if f",{v}," in r) for v in grading.VERDICTS}
    floor_s = asyncio.run(_kernel_floor(n, jobs))
    expected_passed = 3 * ((n + 1) // 2)
    return {"submissions": n, "notebook": LESSON.name, "jobs": jobs, "graded_s": round(graded_s, 2),
            "floor_s": round(floor_s, 2), "ratio": round(graded_s / floor_s, 2), "goal": GOAL,
            "replay_pace": float(os.environ["KIMI_REPLAY_PACE"]), "verdicts": verdicts,
            "verdicts_as_expected": verdicts["passed"] == expected_passed and verdicts["not yet"] == 3 * (n // 2)}


def selfcheck_all_lessons(jobs: int | None = None) -> dict[str, Any]:
    """Every lesson through `grade`, cut down as it grades: each solution must pass and each blank must not.
    (This is what shows that cutting a notebook down to what its checks need keeps what they need.)"""
    use_test_environment()
    wrong = []
    with tempfile.TemporaryDirectory(prefix="kimi-bench-grade-all-") as tmp:
        root = Path(tmp) / "submissions"
        for lesson in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            for who, nb in (("solved", solution_notebook(lesson)), ("blank", nbformat.read(lesson, as_version=4))):
                (root / who).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, root / who / lesson.name)
        started = time.perf_counter()
        rows = asyncio.run(grading.grade_all(root, jobs))
        took = time.perf_counter() - started
    for r in rows:
        expected = grading.PASSED if r.student == "solved" else grading.NOT_YET
        if r.verdict != expected:
            wrong.append(f"{r.student} {r.exercise}: {r.verdict}: {r.feedback[:160]}")
    return {"exercises": len(rows) // 2, "seconds": round(took, 1), "wrong": wrong}


def report(g: dict[str, Any]) -> str:
    ok = "as expected" if g["verdicts_as_expected"] else f"NOT as expected: {g['verdicts']}"
    return "\n".join([
        f"(e) grading a classroom: {g['submissions']} submissions of {g['notebook']}, {g['jobs']} kernels at a time, "
        f"replay pace {g['replay_pace']:g}",
        f"    {'kernel start + 1 cell + stop, x' + str(g['submissions']) + ' (floor)':44}{g['floor_s']:>8.1f} s",
        f"    {'python -m helpers grade (whole command)':44}{g['graded_s']:>8.1f} s",
        f"    {'ratio (grade / floor)':44}{g['ratio']:>8.2f}×  (goal ≤ {g['goal']}×)",
        f"    verdicts: {g['verdicts']['passed']} passed, {g['verdicts']['not yet']} not yet ({ok})"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench_grading", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--jobs", type=int, default=None, help="kernels at a time (default: as grade)")
    parser.add_argument("--all-lessons", action="store_true",
                        help="instead: grade every lesson's solution and blank, and say which verdicts are wrong")
    args = parser.parse_args(argv)
    if args.all_lessons:
        check = selfcheck_all_lessons(args.jobs)
        print(f"every lesson through grade: {check['exercises']} exercises, solved and blank, in {check['seconds']} s; "
              f"wrong verdicts: {len(check['wrong'])}")
        for line in check["wrong"]:
            print("  " + line)
        return 1 if check["wrong"] else 0
    result = bench_grading(args.n, args.jobs)
    print(report(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
