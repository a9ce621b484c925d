"""What the classroom tools read from a lesson notebook: its number, title, time, sections and exercises.

The time a lesson takes has one home: the notebook's `metadata.course.minutes` (a notebook without it, such as a
new lesson not yet in the house style, falls back to the "about N minutes" its opening cells tell the learner). The
first cell's "about N minutes", the README's course map and the instructor guide are checked against it
(`time_disagreements`, run by tests/test_classroom.py), never the other way round.

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
from .settings import NOTEBOOKS_DIR, REPO_ROOT

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


def guide_minutes(text: str) -> dict[str, dict[str, int]]:
    """{"01": {"section": 30, "table": 30}, ...} from the instructor guide: each lesson's **Time:** and timing row."""
    found: dict[str, dict[str, int]] = {}
    for match in re.finditer(r"^\| (\d\d) · [^|]+\| (\d+) \|", text, re.MULTILINE):
        found.setdefault(match.group(1), {})["table"] = int(match.group(2))
    parts = re.split(r"^### (\d\d) · .*$", text, flags=re.MULTILINE)
    for number, body in zip(parts[1::2], parts[2::2]):
        if (stated := re.search(r"\*\*Time:\*\* (\d+) min", body)):
            found.setdefault(number, {})["section"] = int(stated.group(1))
    return found


def time_disagreements(lessons: list[Lesson], readme_text: str, guide_text: str) -> list[str]:
    """Every place that states a lesson's time and disagrees with its metadata, or says nothing.

    Example:
        >>> lesson = Lesson("01", Path("01_curl.ipynb"), "curl", 30, "metadata", [], [])
        >>> time_disagreements([lesson], "| 01 | [curl](x) | learn | 20 min | - |",
        ...                    "| 01 · curl | 30 | 01.1 |\\n### 01 · curl\\n**Time:** 30 min")
        ['README.md course map: 01 takes 20 min, 01_curl.ipynb metadata.course.minutes says 30']
    """
    readme = {}
    for line in readme_text.splitlines():
        if (match := re.match(r"^\|\s*(\d\d)\s*\|.*\|\s*(\d+) min\s*\|", line)):
            readme[match.group(1)] = int(match.group(2))
    guide = guide_minutes(guide_text)
    problems = []
    for lesson in lessons:
        name, wanted = lesson.path.name, lesson.minutes
        if lesson.minutes_from != "metadata":
            problems.append(f"{name}: no metadata.course.minutes (the lesson's time lives there)")
        stated = {"README.md course map": readme.get(lesson.number),
                  "instructor guide's timing table": guide.get(lesson.number, {}).get("table"),
                  f"instructor guide's ### {lesson.number} section": guide.get(lesson.number, {}).get("section")}
        for where, minutes in stated.items():
            if minutes is None:
                problems.append(f"{where}: no time for {lesson.number}")
            elif minutes != wanted:
                problems.append(f"{where}: {lesson.number} takes {minutes} min, {name} metadata.course.minutes says "
                                f"{wanted}")
        opening = minutes_in_text(nbformat.read(lesson.path, as_version=4).cells[0].source) \
            if lesson.path.exists() else wanted
        if opening != wanted:
            problems.append(f"{name} cell 0: says about {opening} minutes, metadata.course.minutes says {wanted}")
    return problems
