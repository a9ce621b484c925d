"""Notebook lint: cheap structural checks that catch rot before nbval even runs."""
from __future__ import annotations

import re

import nbformat
import pytest

from helpers.settings import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9]{20,}")
MODEL_ID_PATTERN = re.compile(r"\b(kimi-k\d[\w.-]*|kimi-latest|kimi-thinking[\w-]*|moonshot-v1[\w-]*)\b")
LINK_PATTERN = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
FENCED_CODE = re.compile(r"^ *(```|~~~).*?^ *\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
TEXT_SUFFIXES = {".py", ".ipynb", ".json", ".md", ".txt", ".yml", ".yaml", ".cfg", ".toml", ".example", ""}


def test_the_course_has_its_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert len(names) >= 6, names
    numbers = [int(n[:2]) for n in names]
    assert numbers == list(range(len(numbers))), f"notebooks should be numbered 00, 01, ... without gaps: {names}"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_valid_nbformat_with_kernelspec(notebook):
    path, nb = notebook
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name"), f"{path.name} has no kernelspec"


def test_every_code_cell_executed_in_order_from_1(notebook):
    path, nb = notebook
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts {counts}"


def test_errors_only_where_tagged(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        has_error = any(o.output_type == "error" for o in cell.outputs)
        assert has_error == tagged, (
            f"{path.name} cell {i}: " + ("error output without the raises-exception tag" if has_error
                                         else "tagged raises-exception but shows no error"))


def test_opens_with_title_goals_and_setup_cell(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), f"{path.name}: no title first"
    head = "\n".join(c.source for c in nb.cells[:2] if c.cell_type == "markdown")
    assert re.search(r"^#+ .*goals", head, re.IGNORECASE | re.MULTILINE), f"{path.name}: no lesson goals up front"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "start()" in first_code.source, f"{path.name}: the first code cell should be the setup cell calling start()"
    printed = "".join(o.get("text", "") for o in first_code.outputs if o.output_type == "stream")
    assert printed.count("\n") == 1 and printed.startswith("Mode: "), f"{path.name}: setup should print one line"


def test_no_model_id_in_code_cells(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found = MODEL_ID_PATTERN.findall(cell.source)
            assert not found, f"{path.name} cell {i} names a model ({found}); use course.model / $KIMI_MODEL"


def test_links_between_notebooks_resolve(notebook):
    path, nb = notebook
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for target in LINK_PATTERN.findall(cell.source):
            if re.match(r"^[a-z]+:", target):
                continue
            assert (path.parent / target).exists(), f"{path.name}: link to {target} does not resolve"


def markdown_prose(source: str) -> str:
    """A markdown cell without its code blocks and code spans: the text JupyterLab's MathJax reads."""
    return CODE_SPAN.sub("", FENCED_CODE.sub("", source))


def test_no_dollar_sign_in_markdown_prose(notebook):
    """JupyterLab, nbconvert's HTML and GitHub read two `$` in one cell as a formula (`$0.16 ... $0.95` comes out
    as italic maths, a table's columns shifted); `\\$` does not help in JupyterLab or the HTML. Prices say USD."""
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in markdown_prose(cell.source).splitlines():
                assert "$" not in line, f"{path.name} cell {i}: a $ outside code ({line.strip()[:80]}); write USD"


def test_markdown_prose_keeps_only_what_mathjax_reads():
    source = "Set `$KIMI_BASE_URL` and ``a ` $b``.\n```bash\necho $X\n```\nIt costs $1 or $2."
    assert markdown_prose(source).count("$") == 2 and "$1 or $2" in markdown_prose(source)


def test_ends_with_recap_exercises_and_next(notebook):
    path, nb = notebook
    headings = [line.lower() for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("#")]
    for word in ("recap", "exercise"):
        assert any(word in h for h in headings), f"{path.name}: no '{word}' section"
    if path != NOTEBOOKS[-1]:
        nxt = NOTEBOOKS[NOTEBOOKS.index(path) + 1].name
        assert any(nxt in c.source for c in nb.cells if c.cell_type == "markdown"), f"{path.name}: no link to {nxt}"


def _tracked_text_files():
    skip = {".git", ".venv", "instructor", "bench-results", "__pycache__", ".hypothesis", "node_modules"}
    for path in REPO_ROOT.rglob("*"):
        if path.is_file() and not (set(path.relative_to(REPO_ROOT).parts) & skip) and path.name != ".env" \
                and path.suffix in TEXT_SUFFIXES:
            yield path


def test_no_string_that_looks_like_a_key():
    offenders = []
    for path in _tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(REPO_ROOT)}: {m[:6]}…" for m in KEY_PATTERN.findall(text)]
    assert not offenders, f"strings that look like API keys: {offenders}"


def test_key_pattern_catches_a_key():
    assert KEY_PATTERN.search("api_key = 'sk-" + "a1B2" * 8 + "'")
    assert not KEY_PATTERN.search("sk-replay-offline")
