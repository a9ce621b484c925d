"""The classroom commands of `python -m helpers`: check one exercise, grade a folder of submissions, write the
lab platform's step files.

    python -m helpers check 01.1 --notebook notebooks/01_curl.ipynb
    python -m helpers grade SUBMISSIONS/ --out grades.csv
    python -m helpers labsteps OUT/
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

COMMANDS = ("check", "grade", "labsteps")


def add_commands(sub: argparse._SubParsersAction) -> None:
    from .grading import DEFAULT_CELL_LIMIT, DEFAULT_TIME_LIMIT

    check = sub.add_parser("check", help="check one exercise of a notebook: exit 0 passed, 1 not yet, 2 bad input")
    check.add_argument("exercise", help="an exercise id such as 01.1")
    check.add_argument("--notebook", type=Path, required=True, help="the learner's notebook")
    check.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds for the notebook")
    grade = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV gradebook")
    grade.add_argument("submissions", type=Path, help="SUBMISSIONS/<student>/*.ipynb or SUBMISSIONS/<student>.ipynb")
    grade.add_argument("--out", type=Path, default=Path("grades.csv"), help="the gradebook (default grades.csv)")
    grade.add_argument("--feedback", type=Path, default=None,
                       help="folder for one feedback page per student (default: next to --out, <out>-feedback/)")
    grade.add_argument("--jobs", type=int, default=None, help="kernels at a time (default: 4 per CPU, at most 32)")
    grade.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT,
                       help=f"seconds per notebook (default {DEFAULT_TIME_LIMIT:g})")
    grade.add_argument("--cell-limit", type=float, default=DEFAULT_CELL_LIMIT,
                       help=f"seconds per exercise cell (default {DEFAULT_CELL_LIMIT:g})")
    steps = sub.add_parser("labsteps", help="write each lesson as the lab platform's step files")
    steps.add_argument("out", type=Path, help="the folder to write into")
    steps.add_argument("--course-dir", default=None,
                       help="where the course lives on the platform (default /home/project/kimi-api-course)")


def run(args: argparse.Namespace) -> int:
    from . import grading

    if args.command == "check":
        try:
            row = grading.check_notebook(args.exercise, args.notebook, args.time_limit)
        except (KeyError, FileNotFoundError) as exc:
            print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2
        print(row.feedback)
        return 0 if row.verdict == grading.PASSED else 1
    if args.command == "grade":
        if args.jobs is not None and args.jobs < 1:
            print("error: --jobs must be 1 or more", file=sys.stderr)
            return 2
        started = time.perf_counter()
        try:
            rows = asyncio.run(grading.grade_all(args.submissions, args.jobs, args.time_limit, args.cell_limit))
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if not rows:
            print(f"error: no .ipynb files under {args.submissions}", file=sys.stderr)
            return 2
        grading.write_gradebook(rows, args.out)
        pages = grading.write_feedback_pages(rows, args.feedback or grading.default_feedback_dir(args.out))
        print(f"{grading.summary(rows)} in {time.perf_counter() - started:.1f} s")
        print(f"gradebook: {args.out}; feedback pages: {pages[0].parent}/ ({len(pages)})")
        return 0
    if args.command == "labsteps":
        from .labsteps import DEFAULT_COURSE_DIR, write_steps

        written = write_steps(args.out, args.course_dir or DEFAULT_COURSE_DIR)
        print(f"wrote {len(written)} step files to {args.out}")
        return 0
    raise ValueError(args.command)
