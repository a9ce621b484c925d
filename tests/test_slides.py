"""Slide metadata: every notebook carries the layout helpers.slides computes from its cells (a slide per section,
each code cell and its output a sub-slide), so a notebook shows as slides in RISE without anyone arranging it."""
from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from helpers import slides
from helpers.settings import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slide_metadata_is_present_and_current(path):
    nb = nbformat.read(path, as_version=4)
    types = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    assert None not in types, f"{path.name}: cells without slide metadata: run python -m helpers.slides {path}"
    assert not slides.apply(nb), f"{path.name}: slide metadata out of date: run python -m helpers.slides {path}"
    assert types[0] == "slide"
    assert nb.metadata["rise"]["theme"], "a RISE theme whose fonts are local"
    sections = sum(1 for c in nb.cells if c.cell_type == "markdown" and c.source.lstrip().startswith("## "))
    assert types.count("slide") == sections + 1, "one slide for the title and one per section"
    code = [t for c, t in zip(nb.cells, types) if c.cell_type == "code"]
    assert all(t in ("subslide", "-") for t in code)


def test_the_script_is_idempotent_and_touches_only_slide_metadata(tmp_path, capsys):
    source = NOTEBOOKS[1]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    nb = nbformat.read(copy, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("slideshow", None)
    nb.cells[3].metadata["slideshow"] = {"slide_type": "skip"}   # someone's manual edit
    nbformat.write(nb, copy)
    # in this process: `python -m helpers.slides` spends seconds importing nbformat, which pytest has already
    assert slides.main(["--check", str(copy)]) == 1 and "out of date" in capsys.readouterr().out
    assert slides.main([str(copy)]) == 0
    first = copy.read_bytes()
    assert first == source.read_bytes(), "re-applied, the notebook is byte for byte the stored one"
    assert slides.main([str(copy)]) == 0
    assert copy.read_bytes() == first
    strip = lambda d: [{k: v for k, v in c.items() if k != "metadata"} for c in d["cells"]]
    assert strip(json.loads(first)) == strip(json.loads(source.read_bytes()))
