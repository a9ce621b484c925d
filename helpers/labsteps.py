"""The course as the online lab platform's steps: one step file per lesson, which checks itself.

    python -m helpers labsteps OUT/                                   # OUT/01_curl.md, ... and OUT/notebooks/
    python -m helpers labsteps OUT/ --course-dir /home/project/kimi-api-course

A step file is what the platform reads (the format of the lab this course grew out of): front matter
(`show: step`, `version: 1.0`, `enable_checker: true`), the lesson's text in Markdown (its markdown cells, its code
cells as code blocks, their stored text output), and after each exercise a ```checker block. The platform runs each
checker's script in the learner's environment and shows `error` when it exits non-zero; the script is
`python -m helpers check NN.K --notebook <course-dir>/notebooks/NN_topic.ipynb`, so the course's own checkers decide.
The notebooks are copied next to the steps, so OUT/ is everything the platform needs besides the course itself.

Example:
    >>> step = parse_step("---\\nshow: step\\nversion: 1.0\\nenable_checker: true\\n---\\n# T\\n")
    >>> step.front_matter, step.title
    ({'show': 'step', 'version': '1.0', 'enable_checker': 'true'}, 'T')
"""
from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .grading import DEFAULT_TIME_LIMIT
from .notebooks import CHECK_CALL
from .settings import REPO_ROOT

DEFAULT_COURSE_DIR = "/home/project/kimi-api-course"
FRONT_MATTER = {"show": "step", "version": "1.0", "enable_checker": "true"}
MAX_OUTPUT_LINES = 25


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "text/plain" in data and "image/png" not in data:
                parts.append(data["text/plain"])
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    lines = "".join(p if p.endswith("\n") else p + "\n" for p in parts).splitlines()
    if len(lines) > MAX_OUTPUT_LINES:
        lines = lines[:MAX_OUTPUT_LINES] + [f"... ({len(lines) - MAX_OUTPUT_LINES} more lines in the notebook)"]
    return "\n".join(lines)


def checker_block(exercise: str, notebook: str, course_dir: str) -> str:
    nb_path = f"{course_dir.rstrip('/')}/notebooks/{notebook}"
    command = (f"cd {shlex.quote(course_dir)} && .venv/bin/python -m helpers check {exercise} "
               f"--notebook {shlex.quote(nb_path)}")
    return "\n".join([
        "```checker",
        f"- name: exercise {exercise}",
        "  script: |",
        "    #!/bin/bash",
        f"    {command}",
        f"  error: Exercise {exercise} is not passing yet. Save the notebook, run its check cell "
        f"(check(\"{exercise}\", ...)) for the feedback, and hint(\"{exercise}\") for a hint.",
        f"  timeout: {int(DEFAULT_TIME_LIMIT)}",
        "```",
    ])


def step_text(notebook: Path, course_dir: str = DEFAULT_COURSE_DIR) -> str:
    nb = nbformat.read(notebook, as_version=4)
    out = ["---", *(f"{k}: {v}" for k, v in FRONT_MATTER.items()), "---", ""]
    note = (f"> Open `notebooks/{notebook.name}` in JupyterLab and work through it there; this page is the same "
            "lesson to read alongside it. Each exercise below is checked when you press the step's check button.")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            # links between lessons point at the notebooks, which sit in notebooks/ next to the steps
            text = re.sub(r"\]\((\d\d_[\w-]+\.ipynb)", r"](notebooks/\1", cell.source.rstrip())
            out += [text, ""]
            if i == 0:
                out += [note, ""]
        elif cell.cell_type == "code":
            out += [_fence(cell.source, "python"), ""]
            text = _output_text(cell)
            if text.strip():
                out += [_fence(text, "text"), ""]
            for ex in CHECK_CALL.findall(cell.source):
                out += [checker_block(ex, notebook.name, course_dir), ""]
    return "\n".join(out).rstrip() + "\n"


def write_steps(out: Path, course_dir: str = DEFAULT_COURSE_DIR,
                notebooks_dir: Path = REPO_ROOT / "notebooks") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "notebooks").mkdir(exist_ok=True)
    written = []
    for notebook in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        target = out / f"{notebook.stem}.md"
        target.write_text(step_text(notebook, course_dir), encoding="utf-8")
        shutil.copy2(notebook, out / "notebooks" / notebook.name)
        written.append(target)
    return written


# ---- reading a step file back (the tests do, as the platform would) ---------------------------------------
@dataclass
class Checker:
    name: str
    script: str
    error: str
    timeout: int | None = None


@dataclass
class Step:
    front_matter: dict[str, str]
    title: str
    body: str
    checkers: list[Checker] = field(default_factory=list)


def _parse_checkers(block: str) -> list[Checker]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    in_script = False
    for line in block.splitlines():
        if line.startswith("- name: "):
            current = {"name": line[len("- name: "):].strip(), "script": "", "error": ""}
            blocks.append(current)
            in_script = False
        elif current is None:
            raise ValueError(f"a checker block must start with '- name:', not {line!r}")
        elif line.startswith("  script: |"):
            in_script = True
        elif in_script and line.startswith("    "):
            current["script"] += line[4:] + "\n"
        elif line.startswith("  error: "):
            current["error"], in_script = line[len("  error: "):].strip(), False
        elif line.startswith("  timeout: "):
            current["timeout"], in_script = line[len("  timeout: "):].strip(), False
        elif line.strip():
            raise ValueError(f"unexpected line in a checker block: {line!r}")
    result = []
    for c in blocks:
        if not (c["script"].strip() and c["error"]):
            raise ValueError(f"checker {c['name']!r} needs a script and an error")
        timeout = c.get("timeout")
        result.append(Checker(c["name"], c["script"], c["error"], int(timeout) if timeout else None))
    return result


def parse_step(text: str) -> Step:
    """Front matter, title, body and checkers of a step file; a clear error for anything malformed."""
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        raise ValueError("a step file starts with front matter between two '---' lines")
    front = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"front matter line without 'key: value': {line!r}")
        front[key.strip()] = value.strip()
    body = text[match.end():]
    checkers: list[Checker] = []
    for block in re.findall(r"^```checker\n(.*?)^```$", body, re.DOTALL | re.MULTILINE):
        checkers += _parse_checkers(block)
    title = next((line[2:].strip() for line in body.splitlines() if line.startswith("# ")), "")
    return Step(front, title, body, checkers)
