"""Nothing local or secret in what the repository stores: no key-like string, account id, cookie or absolute path
of a maintainer's checkout in any stored notebook output or recording."""
from __future__ import annotations

import json
import re

import nbformat
import pytest

from helpers.settings import RECORDINGS_DIR, REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").rglob("[0-9][0-9]_*.ipynb"))
KEY = re.compile(r"sk-[A-Za-z0-9_\-]{20,}")
ACCOUNT = re.compile(r"\b(?:org|ak)-(?!course\b)[A-Za-z0-9]{5,}")
LOCAL_PATHS = [str(REPO_ROOT), "/home/", "/Users/", "/root/", "C:\\\\Users", "/tmp/pytest-of-"]


def _stored_outputs(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in nb.cells], ensure_ascii=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(REPO_ROOT / "notebooks").as_posix())
def test_stored_outputs_hold_nothing_secret_or_local(path):
    text = _stored_outputs(path)
    assert not KEY.search(text), f"{path.name}: a key-like string {KEY.search(text).group()[:8]}…"
    assert not ACCOUNT.search(text), f"{path.name}: an account id {ACCOUNT.search(text).group()}"
    for local in LOCAL_PATHS:
        assert local not in text, f"{path.name}: a local path ({local}) in a stored output"


def test_recordings_hold_nothing_secret_or_local():
    for path in sorted(RECORDINGS_DIR.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert not KEY.search(text), f"{path.name}: a key-like string"
        assert not ACCOUNT.search(text), f"{path.name}: an account id {ACCOUNT.search(text).group()}"
        assert str(REPO_ROOT) not in text, f"{path.name}: a local path"


def test_the_patterns_catch_what_they_should():
    assert KEY.search("Bearer sk-" + "a1" * 16) and not KEY.search("sk-replay-offline")
    assert ACCOUNT.search("org-8f3a2b<ak-f4c9e1>") and not ACCOUNT.search("org-course<ak-course>")


OVERWRITTEN_LINE = re.compile(r"\r(?=[^\r\n])")  # a carriage return the next character overwrites (not \r\r\n)


def split_or_redrawn_streams(nb) -> list[str]:
    """Where a stored notebook keeps streams as the kernel sent them rather than as JupyterLab shows them: two
    consecutive stream outputs of one name (each write its own block in an export), or a line still holding the
    redraws of a progress bar (`\\r` then more text)."""
    problems = []
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        for before, after in zip(outputs, outputs[1:]):
            if before.output_type == after.output_type == "stream" and before.name == after.name:
                problems.append(f"cell {index}: consecutive {after.name} outputs")
                break
        for output in outputs:
            if output.output_type == "stream" and OVERWRITTEN_LINE.search(output.text):
                problems.append(f"cell {index}: an un-collapsed \\r line in {output.name}")
                break
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_streams_are_coalesced(path):
    problems = split_or_redrawn_streams(nbformat.read(path, as_version=4))
    assert not problems, (f"{path.name}: {'; '.join(problems)}. Store outputs with "
                          f"`python -m helpers.notebooks execute {path.relative_to(REPO_ROOT)}`, which coalesces them")


def test_the_stream_check_catches_what_it_should():
    def nb(*texts, name="stdout"):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            outputs=[nbformat.v4.new_output("stream", name=name, text=t) for t in texts])])

    assert split_or_redrawn_streams(nb("秋风", "轻拂")) == ["cell 0: consecutive stdout outputs"]
    assert split_or_redrawn_streams(nb("\rbar 0/50\rbar 50/50\n")) == ["cell 0: an un-collapsed \\r line in stdout"]
    assert not split_or_redrawn_streams(nb("bar 50/50\ndone\n"))
    assert not split_or_redrawn_streams(nb("HTTP/1.1 200 OK\r\r\nServer: x\r\n\r\n"))   # curl's line ends stay
    assert not split_or_redrawn_streams(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stderr", text="b\n")])]))
