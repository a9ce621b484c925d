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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
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
