"""Grading submitted notebooks with the course's own checkers, and checking one exercise from the command line.

    python -m helpers check 01.1 --notebook path/to/01_curl.ipynb     # exit 0 passed, 1 not yet, 2 bad input
    python -m helpers grade SUBMISSIONS/ --out grades.csv              # a gradebook and one feedback page a student

What a submission is: SUBMISSIONS/<student>/<anything>.ipynb (a folder per student, any depth below it), or
SUBMISSIONS/<student>.ipynb. The lesson is recognised from the exercise cells (`# Exercise 01.2 ...`), then the
title, then the file name, so a renamed file is still graded against the right lesson.

How a notebook is graded: in replay mode, in its own kernel, in a scratch folder of its own, with a time limit.
What runs is the *lesson's* notebook (notebooks/NN_topic.ipynb) with each exercise cell taken from the submission —
the way the solution notebooks are built — cut down to the cells the exercises need (the setup cell, and every
earlier cell that defines or changes a name an exercise or its check reads). So a learner who deleted, moved or
edited a lesson cell is graded as if the lesson were intact, and the lesson's own check cells run, never the
submission's: a changed check cell is flagged and not trusted. Each check goes through helpers.checks.run_check
(the same checkers the notebook's check cells call), and its verdict comes back on a channel of its own, so what a
cell prints cannot pass for a verdict. An exercise cell that loops is interrupted at the cell's time limit; one that
raises is reported with its exception, and the check still runs.

The kernel runs the learner's code: this stops accidents and casual tampering (replacing check(), run_check or a
checker is detected and flagged) but it is not a sandbox. Grade on a machine or account that holds nothing secret.

Example:
    >>> sorted(defined_names("x = 1\\nmessages.append(x)\\ndef f(): pass"))
    ['f', 'messages', 'x']
    >>> sorted(used_names("out = !curl $KIMI_BASE_URL/{path}\\nprint(reply)"))
    ['KIMI_BASE_URL', 'get_ipython', 'path', 'print', 'reply']
"""
from __future__ import annotations

import ast
import asyncio
import csv
import html
import json
import os
import re
import secrets
import tempfile
import time
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import nbformat

from .notebooks import CHECK_CALL, EXERCISE_LINE, exercise_id
from .settings import NOTEBOOKS_DIR

VERDICT_MIME = "application/vnd.kimi-course.verdict+json"

PASSED, NOT_YET, MISSING, TIMED_OUT, NOT_RUN, UNREADABLE = (
    "passed", "not yet", "missing", "timed out", "not run", "unreadable")
VERDICTS = (PASSED, NOT_YET, MISSING, TIMED_OUT, NOT_RUN, UNREADABLE)
FIELDS = ("student", "notebook", "exercise", "verdict", "feedback")

DEFAULT_TIME_LIMIT = 300.0   # seconds for a whole notebook
DEFAULT_CELL_LIMIT = 60.0    # seconds for one cell (a loop in 01.1 still leaves time for 01.2)


# ---- the lessons -----------------------------------------------------------------------------------------
def lessons(notebooks_dir: Path = NOTEBOOKS_DIR) -> dict[str, Path]:
    """{"01": notebooks/01_curl.ipynb, ...}"""
    return {p.name[:2]: p for p in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))}


def read_lesson_notebook(path: Path):
    """A lesson notebook, read once per run (again only if the file changes); callers only read it."""
    return _read_cached(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _read_cached(path: Path, mtime_ns: int):
    return nbformat.read(path, as_version=4)


def _title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def identify_lesson(nb, path: Path, known: dict[str, Path]) -> tuple[str | None, str]:
    """(lesson number, how it was recognised): from the exercise cells, else the title, else the file name."""
    if nb is not None:
        prefixes = Counter(m.group(1)[:2] for c in nb.cells if c.cell_type == "code"
                           for m in [EXERCISE_LINE.match(c.source.split("\n", 1)[0])] if m)
        prefixes.update(m[:2] for c in nb.cells if c.cell_type == "code" for m in CHECK_CALL.findall(c.source))
        for prefix, _ in prefixes.most_common():
            if prefix in known:
                return prefix, "its exercise cells"
        title = _title(nb)
        for prefix, ref in known.items():
            if title and title == _title(read_lesson_notebook(ref)):
                return prefix, "its title"
    match = re.match(r"^(\d\d)(?:_|\b)", path.name)
    if match and match.group(1) in known:
        return match.group(1), "its file name"
    return None, ""


# ---- which cells an exercise needs -------------------------------------------------------------------------
def _python_source(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


@lru_cache(maxsize=4096)  # a lesson's cells are read once per submission: parse each source once per run
def _tree(source: str) -> ast.AST | None:
    try:
        return ast.parse(_python_source(source))
    except (SyntaxError, ValueError):
        return None


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def defined_names(source: str) -> set[str]:
    """Names a cell binds or changes: assignments, defs, imports, and `x.attr = ...`, `x[k] = ...`, `x.method(...)`
    (a cell that appends to a list changes it). Over-approximate on purpose: an extra cell costs time, a missing one
    a wrong verdict."""
    tree = _tree(source)
    if tree is None:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if (base := _base_name(node)):
                names.add(base)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if (base := _base_name(node.func.value)):
                names.add(base)
    return names


def used_names(source: str) -> set[str]:
    """Names a cell reads, including `$name` and `{name}` in shell (`!`) lines."""
    names: set[str] = set()
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("!") or re.match(r"^\w+\s*=\s*!", stripped):
            names.update(re.findall(r"\$\{?(\w+)", line))
            names.update(re.findall(r"\{(\w+)", line))
    tree = _tree(source)
    if tree is not None:
        names.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    return names


def bound_names(source: str) -> set[str]:
    """Names a cell rebinds unconditionally (a top-level `x = ...`, def, class or import): an earlier cell's value
    of such a name is not what later cells see."""
    tree = _tree(source)
    names: set[str] = set()
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names - used_names(source)  # `x = x + 1` needs the earlier x


# Cells whose effect is not a name but the process or the disk: files written (the capstone's %%writefile cells), the
# import path, the environment, the working directory. They run whenever they come before an exercise.
GLOBAL_EFFECT = re.compile(r"^\s*%%|^\s*%(?:cd|env|run|load_ext)\b|\bsys\.path\b|\bos\.environ\b|\bos\.chdir\b|"
                           r"\.write_(?:text|bytes)\(|\bopen\([^)]*[\"'][wax]b?\+?[\"']|\.mkdir\(|\bshutil\.",
                           re.MULTILINE)


def has_global_effect(source: str) -> bool:
    """
    >>> has_global_effect("%%writefile workspace/x.py\\nprint(1)"), has_global_effect("x = 1")
    (True, False)
    """
    return bool(GLOBAL_EFFECT.search(source))


def needed_cells(sources: list[str], targets: Iterable[int]) -> list[int]:
    """Indexes of the cells to run so that the target cells see what they would in a top-to-bottom run:
    cell 0 (the setup cell), the targets, every earlier cell with an effect beyond its names (has_global_effect),
    and every earlier cell that defines or changes a name a needed cell reads, back to the nearest cell that
    rebinds it.

    >>> needed_cells(["setup()", "x = 1", "x = 2", "x.append(3)", "y = 0", "print(x)"], [5])
    [0, 2, 3, 5]
    """
    defs = [defined_names(s) for s in sources]
    kills = [bound_names(s) for s in sources]
    needed = {0, *targets}
    last = max(needed)
    needed |= {i for i in range(last) if has_global_effect(sources[i])}
    todo = sorted(needed)
    while todo:
        i = todo.pop()
        wanted = used_names(sources[i])
        for j in range(i - 1, -1, -1):
            if not wanted:
                break
            if defs[j] & wanted:
                if j not in needed:
                    needed.add(j)
                    todo.append(j)
                wanted = wanted - kills[j]
    return sorted(needed)


# ---- the plan: what runs, and what was found -----------------------------------------------------------
@dataclass
class Step:
    source: str
    kind: str              # "lesson", "exercise", "check"
    exercise: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Plan:
    lesson: str
    exercises: list[str]
    steps: list[Step]
    notes: dict[str, list[str]]          # per exercise: what was found in the submission
    general: list[str]                   # about the whole notebook
    missing: set[str]


def _normal(source: str) -> str:
    return re.sub(r"\s+", "", source)


def build_plan(reference: Path, submission, only: Iterable[str] | None = None) -> Plan:
    """The lesson's cells with the submission's exercise cells in place, cut down to what the exercises need."""
    ref = read_lesson_notebook(reference)
    ref_code = [c for c in ref.cells if c.cell_type == "code"]
    exercises = [e for e in (exercise_id(c) for c in ref_code) if e]
    if only is not None:
        wanted = list(only)
        unknown = [e for e in wanted if e not in exercises]
        if unknown:
            raise KeyError(f"{reference.name} has no exercise {', '.join(unknown)}; it has {', '.join(exercises)}")
        exercises = [e for e in exercises if e in wanted]
    notes: dict[str, list[str]] = {e: [] for e in exercises}
    general: list[str] = []

    sub_code = [c for c in submission.cells if c.cell_type == "code"]
    answers: dict[str, list[str]] = {}
    checks: dict[str, list[str]] = {}
    order: list[str] = []
    for cell in sub_code:
        ex = exercise_id(cell)
        if ex:
            answers.setdefault(ex, []).append(cell.source)
            order.append(ex)
        for ex in CHECK_CALL.findall(cell.source):
            checks.setdefault(ex, []).append(cell.source)

    ref_check_sources = {ex: c.source for c in ref_code for ex in CHECK_CALL.findall(c.source)}
    missing = set()
    for ex in exercises:
        if ex not in answers:
            missing.add(ex)
            notes[ex].append("Your exercise cell was not found (deleted, or its first line `# Exercise "
                             f"{ex} ...` was changed).")
        elif len(answers[ex]) > 1:
            notes[ex].append(f"Your notebook has {len(answers[ex])} cells for this exercise: the last one was graded.")
        if ex not in checks:
            notes[ex].append("The check cell was missing: the lesson's check cell was run.")
        elif any(_normal(s) != _normal(ref_check_sources[ex]) for s in checks[ex]):
            notes[ex].append("FLAGGED: the check cell was changed. It was not run; the lesson's own check cell was.")
        if answers.get(ex) and _tampers(answers[ex][-1]):
            notes[ex].append("FLAGGED: your exercise cell refers to the checking machinery (check, run_check, "
                             "REGISTRY or helpers.checks).")
    ref_order = [e for e in exercises if e in order]
    seen = list(dict.fromkeys(e for e in order if e in exercises))
    if seen != ref_order:
        general.append("The exercise cells were in a different order than in the lesson: they were graded in the "
                       "lesson's order.")
    sub_sources = {_normal(c.source) for c in sub_code}
    lost = sum(1 for c in ref_code if not exercise_id(c) and not CHECK_CALL.search(c.source)
               and _normal(c.source) not in sub_sources)
    if lost:
        general.append(f"{lost} of the lesson's code cells were missing or changed in your notebook: the lesson's "
                       "own versions were run.")
    ref_sources = {_normal(c.source) for c in ref_code}
    extra = sum(1 for c in sub_code if not exercise_id(c) and not CHECK_CALL.search(c.source)
                and _normal(c.source) not in ref_sources and c.source.strip())
    if extra:
        general.append(f"{extra} code cells you added outside the exercise cells were not run: put what an exercise "
                       "needs inside its exercise cell.")

    steps: list[Step] = []
    for cell in ref_code:
        ex = exercise_id(cell)
        checked = CHECK_CALL.findall(cell.source)
        if ex:
            if ex in answers and ex in notes:
                steps.append(Step(answers[ex][-1], "exercise", ex))
            else:
                steps.append(Step(cell.source, "exercise" if ex in notes else "lesson", ex))
        elif checked:
            for c in checked:
                if c in notes:
                    steps.append(Step(cell.source, "check", c))
        else:
            steps.append(Step(cell.source, "lesson", tags=list(cell.metadata.get("tags", []))))
    targets = [i for i, s in enumerate(steps) if s.kind == "check"]
    if targets:
        steps = steps[:targets[-1] + 1]
    keep = needed_cells([s.source for s in steps], [i for i, s in enumerate(steps) if s.kind in ("check", "exercise")
                                                   and s.exercise in notes])
    steps = [steps[i] for i in keep]
    return Plan(ref.metadata.get("title") or reference.stem, exercises, steps, notes, general, missing)


def _tampers(source: str) -> bool:
    return bool(re.search(r"\b(run_check|REGISTRY|helpers\.checks|NotYet|PASS_MARK)\b|\bdef\s+check\b|"
                          r"^\s*check\s*=", source, re.MULTILINE))


# ---- running a plan in a kernel --------------------------------------------------------------------------
_SETUP = r'''
def __kimi_grading_setup(mime, lesson):
    import importlib
    import helpers.checks as c
    from IPython import get_ipython
    from IPython.display import publish_display_data
    importlib.import_module("helpers.checks.lesson" + lesson)  # only this lesson's checkers: the others cost time
    c._loaded = True
    snapshot = {k: v.checker for k, v in c.REGISTRY.items()}
    run_check = c.run_check
    def grade(exercise_id, source, nonce):
        tampered = []
        if c.run_check is not run_check:
            tampered.append("helpers.checks.run_check was replaced")
        ex = c.REGISTRY.get(exercise_id)
        if ex is None or ex.checker is not snapshot.get(exercise_id):
            tampered.append(f"the checker of {exercise_id} was replaced")
            if exercise_id in snapshot:
                c.REGISTRY.setdefault(exercise_id, c.Exercise(exercise_id, snapshot[exercise_id], []))
                c.REGISTRY[exercise_id].checker = snapshot[exercise_id]
        result = {}
        def recorder(eid, **answers):
            result["passed"], result["feedback"] = run_check(eid, **answers)
        namespace = dict(get_ipython().user_ns)
        namespace["check"] = recorder
        try:
            exec(compile(source, "<check " + exercise_id + ">", "exec"), namespace)
        except BaseException as exc:
            result = {"passed": False, "feedback": "\u274c Exercise " + exercise_id + " \u2014 not yet: the check "
                      "could not read your answer: " + type(exc).__name__ + ": " + str(exc)[:500]}
        if "passed" not in result:
            result = {"passed": False, "feedback": "The check did not run."}
        publish_display_data({mime: {"nonce": nonce, "exercise": exercise_id, "tampered": tampered, **result}})
    return grade
__kimi_grade = __kimi_grading_setup(%r, %r)
del __kimi_grading_setup
'''


@dataclass
class Outcome:
    verdict: str
    feedback: str
    notes: list[str] = field(default_factory=list)


def _error_text(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {str(out.get('evalue'))[:300]}"
    return None


async def run_plan(plan: Plan, cwd: Path, time_limit: float = DEFAULT_TIME_LIMIT,
                   cell_limit: float = DEFAULT_CELL_LIMIT) -> dict[str, Outcome]:
    """Run the plan's cells in a fresh kernel; {exercise: Outcome}."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    outcomes: dict[str, Outcome] = {}
    errors: dict[str, str] = {}
    timed_out: set[str] = set()
    nb = nbformat.v4.new_notebook()
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                            error_on_timeout={"ename": "TimeLimit", "evalue": "the cell ran past its time limit",
                                              "traceback": []},
                            iopub_timeout=5, resources={"metadata": {"path": str(cwd)}})
    deadline = time.monotonic() + time_limit
    stopped = None
    try:
        async with client.async_setup_kernel():
            async def execute(cell, store_history=True):
                nb.cells.append(cell)  # nbclient files outputs by the cell's index in its notebook
                await client.async_execute_cell(cell, len(nb.cells) - 1, store_history=store_history)

            lesson = plan.exercises[0][:2] if plan.exercises else "00"
            setup = nbformat.v4.new_code_cell(_SETUP % (VERDICT_MIME, lesson))
            client.timeout = 60
            await execute(setup, store_history=False)
            if _error_text(setup):
                raise RuntimeError(f"the grading setup failed in the kernel: {_error_text(setup)}")
            for step in plan.steps:
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    stopped = "the notebook reached its time limit before this ran"
                    break
                limit = min(remaining, cell_limit) if step.kind == "exercise" else remaining
                client.timeout = max(1, int(limit))
                if step.kind == "check":
                    nonce = secrets.token_hex(16)
                    code = f"__kimi_grade({step.exercise!r}, {step.source!r}, {nonce!r})"
                    cell = nbformat.v4.new_code_cell(code)
                    await execute(cell, store_history=False)
                    verdict = next((o["data"][VERDICT_MIME] for o in cell.outputs
                                    if o.get("output_type") == "display_data" and VERDICT_MIME in o.get("data", {})
                                    and o["data"][VERDICT_MIME].get("nonce") == nonce), None)
                    ex = step.exercise
                    assert ex is not None  # a check step always names its exercise
                    if ex in outcomes:
                        continue
                    notes = []
                    if ex in errors:
                        notes.append(f"Your exercise cell raised {errors[ex]}.")
                    if verdict is None:
                        err = _error_text(cell) or "no verdict came back"
                        if ex in timed_out or (err or "").startswith("TimeLimit"):
                            outcomes[ex] = Outcome(TIMED_OUT, f"The check ran past its time limit ({err}).", notes)
                        else:
                            outcomes[ex] = Outcome(NOT_YET, f"The check could not run: {err}.", notes)
                        continue
                    if verdict["tampered"]:
                        notes.append("FLAGGED: " + "; ".join(verdict["tampered"]) + " (the course's own checker was "
                                     "restored and used).")
                    if ex in timed_out:
                        outcomes[ex] = Outcome(TIMED_OUT, f"Your exercise cell ran past its time limit of "
                                               f"{cell_limit:g} s and was interrupted: run top to bottom, the notebook "
                                               "would not finish. (The check, on what the cell had set by then: "
                                               + verdict["feedback"] + ")", notes)
                    elif ex in plan.missing:
                        outcomes[ex] = Outcome(MISSING, "Not answered: " + verdict["feedback"], notes)
                    else:
                        outcomes[ex] = Outcome(PASSED if verdict["passed"] else NOT_YET, verdict["feedback"], notes)
                else:
                    cell = nbformat.v4.new_code_cell(step.source)
                    cell.metadata["tags"] = step.tags
                    began = time.monotonic()
                    await execute(cell)
                    err = _error_text(cell) or ""
                    over = time.monotonic() - began >= client.timeout - 0.5
                    if step.kind == "exercise" and step.exercise is not None and (err or over):
                        if over or err.startswith(("TimeLimit", "KeyboardInterrupt")):
                            timed_out.add(step.exercise)
                        else:
                            errors[step.exercise] = err
    except DeadKernelError:
        stopped = "the kernel died (the notebook may have used too much memory or exited Python)"
    except Exception as exc:  # noqa: BLE001 — whatever went wrong, each exercise gets a verdict and a reason
        stopped = f"grading stopped: {exc.__class__.__name__}: {exc}"
    for ex in plan.exercises:
        if ex not in outcomes:
            verdict = TIMED_OUT if (ex in timed_out or (stopped or "").startswith("the notebook reached")) else NOT_RUN
            outcomes[ex] = Outcome(verdict, f"Not graded: {stopped or 'the check did not run'}.")
    return outcomes


# ---- one submission, many submissions ------------------------------------------------------------------
@dataclass
class Submission:
    student: str
    path: Path


def find_submissions(root: Path) -> list[Submission]:
    """SUBMISSIONS/<student>/**/*.ipynb and SUBMISSIONS/<student>.ipynb (checkpoints skipped)."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of submissions")
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if ".ipynb_checkpoints" in rel.parts or any(p.startswith(".") for p in rel.parts):
            continue
        found.append(Submission(rel.parts[0] if len(rel.parts) > 1 else path.stem, path))
    return found


def read_notebook(path: Path):
    """(notebook, None) or (None, what is wrong with the file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"the file is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
        for cell in nb.cells:
            cell.setdefault("metadata", {})
            if not isinstance(cell.get("source"), str):
                raise ValueError("a cell has no source")
    except Exception as exc:  # noqa: BLE001 — any malformed notebook is reported, not raised
        return None, f"the file is JSON but not a notebook ({exc.__class__.__name__}: {exc})"
    return nb, None


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    verdict: str
    feedback: str


async def grade_submission(sub: Submission, known: dict[str, Path], time_limit: float = DEFAULT_TIME_LIMIT,
                           cell_limit: float = DEFAULT_CELL_LIMIT, only: list[str] | None = None) -> list[Row]:
    nb, problem = read_notebook(sub.path)
    lesson, how = identify_lesson(nb, sub.path, known)
    if lesson is None:
        return [Row(sub.student, sub.path.name, "*", UNREADABLE,
                    f"{sub.path.name}: {problem or 'no lesson of the course recognised in it'}.")]
    reference = known[lesson]
    if nb is None:
        ids = [e for e in (exercise_id(c) for c in read_lesson_notebook(reference).cells) if e]
        return [Row(sub.student, reference.stem, ex, UNREADABLE, f"{sub.path.name}: {problem}. Nothing could be "
                    "graded; open it in JupyterLab, save it again and resubmit.") for ex in ids]
    plan = build_plan(reference, nb, only)
    general = list(plan.general)
    if sub.path.name != reference.name:
        general.insert(0, f"The file was named {sub.path.name}; it was graded as {reference.name} "
                          f"(recognised by {how}).")
    with tempfile.TemporaryDirectory(prefix="kimi-grade-") as scratch:
        work = Path(scratch)
        (work / "workspace").mkdir()
        outcomes = await run_plan(plan, work, time_limit, cell_limit)
    rows = []
    for ex in plan.exercises:
        out = outcomes[ex]
        extra = plan.notes[ex] + out.notes + general
        rows.append(Row(sub.student, reference.stem, ex, out.verdict,
                        out.feedback + ("\n" + "\n".join(extra) if extra else "")))
    return rows


async def grade_all(root: Path, jobs: int | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
                    cell_limit: float = DEFAULT_CELL_LIMIT, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Row]:
    """Grade every submission under root, `jobs` kernels at a time."""
    from .notebooks import use_test_environment

    use_test_environment()
    known = lessons(notebooks_dir)
    subs = find_submissions(root)
    limit = asyncio.Semaphore(jobs or default_jobs())

    async def one(sub: Submission) -> list[Row]:
        async with limit:
            return await grade_submission(sub, known, time_limit, cell_limit)

    results = await asyncio.gather(*(one(s) for s in subs))
    return [row for rows in results for row in rows]


def default_jobs() -> int:
    """Kernels at a time: most of a replayed notebook's time is waiting on paced answers, not CPU."""
    return min(32, 4 * (os.cpu_count() or 1))


def write_gradebook(rows: list[Row], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(FIELDS)
        for r in sorted(rows, key=lambda r: (r.student, r.notebook, r.exercise)):
            writer.writerow([r.student, r.notebook, r.exercise, r.verdict, r.feedback])


def _safe_name(student: str) -> str:
    return re.sub(r"[^\w.-]+", "_", student).strip("._") or "student"


def write_feedback_pages(rows: list[Row], folder: Path) -> list[Path]:
    """One self-contained HTML page per student: each notebook, each exercise, its verdict and feedback."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[Row]] = {}
    for r in rows:
        by_student.setdefault(r.student, []).append(r)
    written = []
    for student, items in sorted(by_student.items()):
        passed = sum(r.verdict == PASSED for r in items)
        parts = [f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>Feedback for "
                 f"{html.escape(student)}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
                 "td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}table{border-collapse:"
                 "collapse}pre{white-space:pre-wrap;margin:0}.passed{background:#e8f5e9}</style></head><body>",
                 f"<h1>Feedback for {html.escape(student)}</h1><p>{passed} of {len(items)} exercises passed.</p>"]
        for notebook in sorted({r.notebook for r in items}):
            parts.append(f"<h2>{html.escape(notebook)}</h2><table><tr><th>Exercise</th><th>Verdict</th>"
                         "<th>Feedback</th></tr>")
            for r in sorted((r for r in items if r.notebook == notebook), key=lambda r: r.exercise):
                cls = " class='passed'" if r.verdict == PASSED else ""
                parts.append(f"<tr{cls}><td>{html.escape(r.exercise)}</td><td>{html.escape(r.verdict)}</td>"
                             f"<td><pre>{html.escape(r.feedback)}</pre></td></tr>")
            parts.append("</table>")
        parts.append("<p>Run <code>hint(\"NN.K\")</code> in the notebook for a hint on any exercise.</p></body></html>")
        path = folder / f"{_safe_name(student)}.html"
        path.write_text("".join(parts), encoding="utf-8")
        written.append(path)
    return written


def check_notebook(exercise: str, notebook: Path, time_limit: float = DEFAULT_TIME_LIMIT,
                   cell_limit: float = DEFAULT_CELL_LIMIT) -> Row:
    """Grade one exercise of one notebook (what `python -m helpers check` prints)."""
    from .notebooks import use_test_environment

    known = lessons()
    if not re.fullmatch(r"\d\d\.\d+", exercise) or exercise[:2] not in known:
        raise KeyError(f"{exercise!r} is not an exercise of the course (they look like 01.1; lessons "
                       f"{', '.join(sorted(known))})")
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} does not exist")
    use_test_environment()
    nb, problem = read_notebook(notebook)
    if nb is None:
        return Row("", notebook.name, exercise, UNREADABLE, f"{notebook.name}: {problem}.")
    lesson, _ = identify_lesson(nb, notebook, known)
    if lesson is not None and lesson != exercise[:2]:
        return Row("", notebook.name, exercise, MISSING, f"{notebook.name} is lesson {lesson} "
                   f"({known[lesson].name}), not lesson {exercise[:2]} ({known[exercise[:2]].name}).")
    lesson_only = {exercise[:2]: known[exercise[:2]]}
    rows = asyncio.run(grade_submission(Submission("", notebook), lesson_only, time_limit, cell_limit,
                                        only=[exercise]))
    return rows[0]


def summary(rows: list[Row]) -> str:
    counts = Counter(r.verdict for r in rows)
    students = len({r.student for r in rows})
    return f"{students} students, {len(rows)} exercises: " + ", ".join(f"{counts[v]} {v}" for v in VERDICTS
                                                                      if counts[v])


def default_feedback_dir(out: Path) -> Path:
    return out.with_name(out.stem + "-feedback")


__all__ = ["build_plan", "check_notebook", "grade_all", "write_gradebook", "write_feedback_pages", "needed_cells",
           "find_submissions", "read_notebook", "identify_lesson", "Row", "VERDICTS"]

