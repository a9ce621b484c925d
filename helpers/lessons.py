"""What the classroom tools read from a lesson notebook: its number, title, time, sections and exercises.

The time a lesson takes has one home: the notebook. `metadata.course.minutes` wins when a notebook has it; until
then it is the "about N minutes" the lesson's opening cells tell the learner. The README's course map and the
instructor guide are checked against it (tests/test_classroom.py), never the other way round.

Example:
    >>> minutes_in_text("*Time:* about 30 minutes. *Prerequisites:* none.")
    30
    >>> minutes_in_text("no time here") is None
    True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebooks import exercise_id
from .settings import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
_MINUTES = re.compile(r"\b[Aa]bout (\d+) min(?:ute)?s?\b")


def minutes_in_text(text: str) -> int | None:
    match = _MINUTES.search(text)
    return int(match.group(1)) if match else None


@dataclass
class Lesson:
    number: str
    path: Path
    title: str
    minutes: int | None
    minutes_from: str          # "metadata" or "opening cell"
    sections: list[str]
    exercises: list[tuple[str, str]]   # (id, what to do)

    @property
    def stem(self) -> str:
        return self.path.stem


def read_lesson(path: Path) -> Lesson:
    nb = nbformat.read(path, as_version=4)
    title = next((line[2:].strip() for c in nb.cells if c.cell_type == "markdown"
                  for line in c.source.splitlines() if line.startswith("# ")), path.stem)
    minutes, source = nb.metadata.get("course", {}).get("minutes"), "metadata"
    if minutes is None:
        source = "opening cell"
        for cell in nb.cells[:6]:
            if cell.cell_type == "markdown" and (minutes := minutes_in_text(cell.source)) is not None:
                break
    sections = [line[3:].strip() for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## ")]
    exercises = []
    for cell in nb.cells:
        if (ex := exercise_id(cell)):
            first = cell.source.split("\n", 1)[0]
            exercises.append((ex, re.sub(r"^# Exercise \d\d\.\d+\s*[—–-]\s*", "", first)))
    return Lesson(path.name[:2], path, title, minutes, source, sections, exercises)


def all_lessons(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Lesson]:
    return [read_lesson(p) for p in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))]


def readme_minutes(readme: Path = REPO_ROOT / "README.md") -> dict[str, int]:
    """{"01": 20, ...} from the README's course map (the Time column)."""
    found = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*(\d\d)\s*\|.*\|\s*(\d+) min\s*\|", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found
