"""A copy of the course for learners: the lessons, the helpers and recordings they run on, and how to start —
without the solutions, the instructor guide and extras, the test suite or CI.

    python -m helpers.studentcopy ../kimi-course-student      # make student-copy DEST=../kimi-course-student

What is copied is what git tracks (so no .env, no .venv, nothing git-ignored), less EXCLUDED. The READMEs'
sections for instructors ("For instructors", "给老师") are left out of the copy. `make lab` works in the copy as in the course; `make test` there
runs the helpers' doctests and every notebook under nbval.

Example:
    >>> excluded("solutions/01_curl.py"), excluded("notebooks/01_curl.ipynb"), excluded("tests/sanitize.cfg")
    (True, False, False)
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .settings import REPO_ROOT

# Folders and files that are for instructors and maintainers only. tests/sanitize.cfg stays: nbval reads it.
EXCLUDED_DIRS = ("solutions/", "classroom/", "instructor/", "tests/", ".ci/", "build/", "bench-results/")
EXCLUDED_FILES = ("requirements-instructor.txt", "environment-instructor.yml", "CONTRIBUTING.md",
                  "helpers/site.py", "helpers/studentcopy.py")
KEPT = ("tests/sanitize.cfg",)


def excluded(relative: str) -> bool:
    if relative in KEPT:
        return False
    return relative.startswith(EXCLUDED_DIRS) or relative in EXCLUDED_FILES or relative.endswith("-solutions.ipynb")


def tracked_files(root: Path = REPO_ROOT) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout.decode("utf-8")
        return sorted(p for p in out.split("\0") if p and (root / p).is_file())
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked zip): take what is there
        skip = {".git", ".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"}
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                      if p.is_file() and not skip & set(p.relative_to(root).parts) and p.name != ".env")


def _readme_for_learners(text: str) -> str:
    r"""The README (English or Chinese) without its section for instructors.

    >>> _readme_for_learners("# C\n## 给老师\n- guide\n## 更多\nx\n")
    '# C\n## 更多\nx\n'
    """
    return re.sub(r"^## (?:For instructors|给老师)\n.*?(?=^## |\Z)", "", text, flags=re.MULTILINE | re.DOTALL)


def write_copy(dest: Path, root: Path = REPO_ROOT) -> list[str]:
    dest = dest.resolve()
    if dest == root.resolve() or root.resolve() in dest.parents:
        raise ValueError(f"{dest} is inside the course itself: choose a folder outside it")
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty: choose a new folder")
    copied = []
    for rel in tracked_files(root):
        if excluded(rel):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in ("README.md", "README.zh-CN.md"):
            target.write_text(_readme_for_learners((root / rel).read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copy2(root / rel, target)
        copied.append(rel)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.studentcopy", description=__doc__.split("\n", 1)[0])
    parser.add_argument("dest", type=Path, help="a new (or empty) folder")
    args = parser.parse_args(argv)
    try:
        copied = write_copy(args.dest)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(copied)} files to {args.dest} (no solutions, no instructor material)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
