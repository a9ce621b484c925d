"""The files a lesson's `%%writefile` cells write, written again from another lesson.

Lesson 10 goes on with the package lesson 09 started in workspace/kimi_client/. So that it also works after a
restart, in a fresh folder, or for a learner who starts there, its first section writes 09's files again: each
`%%writefile` cell of 09, in order, writes what IPython would write (the cell below its first line, `-a` appending),
and says so the way IPython does.

Example:
    >>> writefile_target("%%writefile -a workspace/kimi_client/errors.py")
    ('workspace/kimi_client/errors.py', True)
    >>> writefile_target("print(1)") is None
    True
"""
from __future__ import annotations

import shlex
from pathlib import Path

import nbformat

from .settings import NOTEBOOKS_DIR



def writefile_target(first_line: str) -> tuple[str, bool] | None:
    """(path, append) for a `%%writefile [-a] path` line, else None."""
    if not first_line.startswith("%%writefile"):
        return None
    words = shlex.split(first_line[len("%%writefile"):])
    append = any(w in ("-a", "--append") for w in words)
    paths = [w for w in words if not w.startswith("-")]
    if len(paths) != 1:
        raise ValueError(f"{first_line!r}: a %%writefile line names one file")
    return paths[0], append


def write_files_of(notebook: str | Path, folder: str | Path = ".") -> None:
    """Write the files `notebook`'s %%writefile cells write, in order, relative to `folder` (the current folder, as
    in the notebook), saying each as IPython does. The folders they go in are made if missing."""
    path = Path(notebook)
    if not path.exists() and (NOTEBOOKS_DIR / path).exists():
        path = NOTEBOOKS_DIR / path  # run from elsewhere (a script, a test): the course's own lesson
    if not path.exists():
        raise FileNotFoundError(f"{path} is not here: run this from the notebooks/ folder, next to {path.name}")
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        first, _, body = cell.source.partition("\n")
        target = writefile_target(first)
        if target is None:
            continue
        name, append = target
        out = Path(folder) / name
        out.parent.mkdir(parents=True, exist_ok=True)
        if not body.endswith("\n"):
            body += "\n"  # IPython hands a cell magic its body with a final newline
        print(("Appending to" if append else "Overwriting" if out.exists() else "Writing"), name)
        with out.open("a" if append else "w", encoding="utf-8") as f:
            f.write(body)
