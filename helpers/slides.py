"""Slide metadata for instructor walkthroughs (RISE in JupyterLab: `make instructor`, then Alt+R in a notebook).

    python -m helpers.slides notebooks/*.ipynb          # write it (only files whose metadata changes)
    python -m helpers.slides --check notebooks/*.ipynb  # exit 1 and name the files that need it

The layout is computed from the cells alone, so running it again after anyone edits a notebook puts every cell
right, and running it twice changes nothing:
- the title (`# `) and each section (`## `) start a slide;
- a `### ` heading starts a sub-slide;
- each code cell and its output is a sub-slide, together with the markdown lead-in right before it;
- every other markdown cell (what to notice after an output) stays on the slide it follows.
Only each cell's `metadata.slideshow` is written, and the notebook's `metadata.rise.theme` when it has none ("white":
its fonts ship with RISE, while the default theme fetches fonts from another host). Sources, outputs and other
metadata are left as they are.

Example:
    >>> cells = [("markdown", "# 01 · curl"), ("markdown", "Why."), ("code", "start()"),
    ...          ("markdown", "## 1. Send it"), ("markdown", "Lead-in."), ("code", "!curl ..."),
    ...          ("markdown", "Notice this."), ("code", "x = 1"), ("code", "y = 2"), ("markdown", "Recap.")]
    >>> slide_types(cells)
    ['slide', 'subslide', '-', 'slide', 'subslide', '-', 'subslide', '-', 'subslide', '-']
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat


def _heading(source: str) -> str | None:
    first = source.lstrip().split("\n", 1)[0]
    for mark in ("### ", "## ", "# "):
        if first.startswith(mark):
            return mark.strip()
    return None


def slide_types(cells: list[tuple[str, str]]) -> list[str]:
    """The RISE slide_type of each (cell_type, source)."""
    types = []
    for i, (kind, source) in enumerate(cells):
        nxt = cells[i + 1][0] if i + 1 < len(cells) else None
        if kind == "markdown":
            heading = _heading(source)
            if heading in ("#", "##"):
                types.append("slide")
            elif heading == "###":
                types.append("subslide")
            elif nxt == "code":
                types.append("subslide")   # a lead-in opens its code cell's sub-slide
            else:
                types.append("-")
        elif kind == "code":
            prev_kind, prev_type = (cells[i - 1][0], types[i - 1]) if i else (None, None)
            if prev_kind == "markdown" and prev_type in ("subslide", "slide") and _heading(cells[i - 1][1]) is None:
                types.append("-")           # its lead-in already opened the sub-slide
            else:
                types.append("subslide")
        else:
            types.append("-")
    return types


def apply(nb) -> bool:
    """Set metadata.slideshow on every cell; True when anything changed."""
    wanted = slide_types([(c.cell_type, c.source) for c in nb.cells])
    changed = False
    rise = nb.metadata.setdefault("rise", {})
    if "theme" not in rise:
        rise["theme"] = "white"
        changed = True
    for cell, slide_type in zip(nb.cells, wanted):
        if cell.metadata.get("slideshow") != {"slide_type": slide_type}:
            cell.metadata["slideshow"] = {"slide_type": slide_type}
            changed = True
    return changed


def stale(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return apply(nb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.slides", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any notebook needs updating")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    needing = []
    for path in args.notebooks:
        if not path.is_file():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
        nb = nbformat.read(path, as_version=4)
        if apply(nb):
            needing.append(path)
            if not args.check:
                nbformat.write(nb, path)
    if args.check:
        for path in needing:
            print(f"{path}: slide metadata out of date (run python -m helpers.slides {path})")
        return 1 if needing else 0
    print(f"slide metadata: {len(needing)} of {len(args.notebooks)} notebooks updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
