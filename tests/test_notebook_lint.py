"""Notebook lint: cheap structural checks that catch rot before nbval even runs."""
from __future__ import annotations

import re

import nbformat
import pytest

from helpers.notebooks import checked_ids, exercise_id
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
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "start()" in first_code.source, f"{path.name}: the first code cell should be the setup cell calling start()"
    printed = "".join(o.get("text", "") for o in first_code.outputs if o.output_type == "stream")
    assert printed.count("\n") == 1 and printed.startswith("Mode: "), f"{path.name}: setup should print one line"


# ---- the house style (CONTRIBUTING.md): one first cell, one exercise pattern, the time in the metadata -------------
GOALS = re.compile(r"^## Lesson goals\n(?:.*\n)*?- ", re.MULTILINE)
OUTLINE = re.compile(r"^\*\*Outline:\*\* (.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)
SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)
SECTION_REF = re.compile(r"§(\d+)(?:[–-](\d+))?")
MINUTES_TEXT = re.compile(r"\babout (\d+) minutes\b", re.IGNORECASE)
EXERCISE_HEADING = re.compile(r"^### Exercise (\d\d\.\d+) — \S")
EXERCISE_FIRST_LINE = re.compile(r"^# Exercise (\d\d\.\d+) — \S")
OTHER_EXERCISE_HEADINGS = re.compile(r"^(?:\*\*\d\d\.\d+\*\*|#+ Exercise \d\d\.\d+ (?!— ))", re.MULTILINE)


RESTART_LINE = ("After a kernel restart, run the two cells at the top first (the setup and the imports: they bring "
                "`check` and `hint`); each check then names any other cell its exercise needs.")


def stuck_line(ex: str) -> str:
    return f'Stuck? Run `hint("{ex}")` (again for the next hint).'


def house_style_problems(name: str, nb) -> list[str]:
    """Every way `nb` departs from the house style, each naming the notebook and the cell."""
    problems = []
    cells = nb.cells
    first = cells[0]
    number = name[:2]
    if first.cell_type != "markdown" or not first.source.startswith(f"# {number} · "):
        problems.append(f"{name} cell 0: the first cell should be markdown starting with the title '# {number} · ...'")
        return problems
    text = first.source
    if not GOALS.search(text):
        problems.append(f"{name} cell 0: no '## Lesson goals' with bullets in the first cell")
    for i, cell in enumerate(cells[1:], 1):
        if cell.cell_type == "markdown" and "Lesson goals" in cell.source:
            problems.append(f"{name} cell {i}: lesson goals outside the first cell; merge them into cell 0")
    sections = [int(n) for c in cells if c.cell_type == "markdown" for n in SECTION.findall(c.source)]
    outline = OUTLINE.search(text)
    if not outline:
        problems.append(f"{name} cell 0: no '**Outline:** ...' of the sections in the first cell")
    else:
        covered = set()
        for start, end in SECTION_REF.findall(outline.group(1)):
            covered |= set(range(int(start), int(end or start) + 1))
        if covered != set(sections):
            problems.append(f"{name} cell 0: the outline names sections {sorted(covered)}, the lesson has "
                            f"{sorted(sections)} (write §N or §N–M for each)")
    minutes = nb.metadata.get("course", {}).get("minutes")
    stated = [int(m) for m in MINUTES_TEXT.findall(text)]
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        problems.append(f"{name}: metadata.course.minutes should be the lesson's time in minutes, not {minutes!r}")
    if len(stated) != 1:
        problems.append(f"{name} cell 0: the first cell should say 'about N minutes' once, not {len(stated)} times")
    elif stated[0] != minutes:
        problems.append(f"{name} cell 0: says about {stated[0]} minutes, metadata.course.minutes is {minutes}")
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for bad in OTHER_EXERCISE_HEADINGS.findall(cell.source):
            problems.append(f"{name} cell {i}: exercise heading {bad.strip()!r}; write '### Exercise NN.K — title'")
        if "Stuck?" in cell.source and not re.fullmatch(r'Stuck\? Run `hint\("\d\d\.\d+"\)` \(again for the next hint\)\.',
                                                       cell.source.strip()):
            problems.append(f"{name} cell {i}: a 'Stuck?' line other than {stuck_line('NN.K')!r}, alone in its cell")
    exercises_intro = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## Exercises")]
    if len(exercises_intro) != 1:
        problems.append(f"{name}: {len(exercises_intro)} '## Exercises' cells; there should be one, before the first exercise")
    elif " ".join(RESTART_LINE.split()) not in " ".join(cells[exercises_intro[0]].source.split()):
        problems.append(f"{name} cell {exercises_intro[0]}: the '## Exercises' cell should say what to run after a "
                        f"restart: {RESTART_LINE!r}")
    for i, cell in enumerate(cells):
        ex = exercise_id(cell)
        if ex is None:
            continue
        first_line = cell.source.split("\n", 1)[0]
        if not EXERCISE_FIRST_LINE.match(first_line):
            problems.append(f"{name} cell {i}: the exercise cell's first line should be '# Exercise {ex} — what to do'")
        before = cells[i - 1]
        match = EXERCISE_HEADING.match(before.source) if before.cell_type == "markdown" else None
        if not match or match.group(1) != ex:
            problems.append(f"{name} cell {i}: the cell before exercise {ex} should be markdown starting with "
                            f"'### Exercise {ex} — title' and the task")
        after = cells[i + 1] if i + 1 < len(cells) else None
        if after is None or after.cell_type != "markdown" or after.source.strip() != stuck_line(ex):
            problems.append(f"{name} cell {i + 1}: the cell after exercise {ex} should be exactly {stuck_line(ex)!r}")
        check_cell = cells[i + 2] if i + 2 < len(cells) else None
        if check_cell is None or check_cell.cell_type != "code" or checked_ids(check_cell.source) != [ex]:
            problems.append(f"{name} cell {i + 2}: the check cell check(\"{ex}\", ...) should follow the Stuck? line")
    return problems


def test_follows_the_house_style(notebook):
    path, nb = notebook
    problems = house_style_problems(path.name, nb)
    assert not problems, "\n".join(problems)


def _broken(change) -> list[str]:
    nb = nbformat.read(NOTEBOOKS[2], as_version=4)
    change(nb)
    return house_style_problems(NOTEBOOKS[2].name, nb)


def _cell_index(nb, start: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith(start))


def _exercise(nb, k: int = 1) -> int:
    return next(i for i, c in enumerate(nb.cells) if exercise_id(c) == f"{NOTEBOOKS[2].name[:2]}.{k}")


def _set(nb, i: int, source: str) -> None:
    nb.cells[i].source = source


@pytest.mark.parametrize("change, needle", [
    (lambda nb: _set(nb, 0, nb.cells[0].source.replace("## Lesson goals", "## Goals")), "cell 0: no '## Lesson goals'"),
    (lambda nb: nb.cells.insert(1, nbformat.v4.new_markdown_cell("## Lesson goals\n- one")), "cell 1: lesson goals outside"),
    (lambda nb: _set(nb, 0, nb.cells[0].source.replace("**Outline:**", "Outline:")), "cell 0: no '**Outline:**"),
    (lambda nb: _set(nb, 0, re.sub(r"§\d+–\d+", "§2", nb.cells[0].source, count=1)), "the outline names sections"),
    (lambda nb: nb.metadata.pop("course"), "metadata.course.minutes should be"),
    (lambda nb: nb.metadata["course"].update(minutes=nb.metadata["course"]["minutes"] + 5), "metadata.course.minutes is"),
    (lambda nb: _set(nb, 0, MINUTES_TEXT.sub("a while", nb.cells[0].source)), "say 'about N minutes' once, not 0"),
    (lambda nb: _set(nb, _exercise(nb) - 1, nb.cells[_exercise(nb) - 1].source.replace(" — ", " · ", 1)),
     "exercise heading"),
    (lambda nb: _set(nb, _exercise(nb) - 1, "**02.1** Do it."), "exercise heading '**02.1**'"),
    (lambda nb: _set(nb, _exercise(nb), nb.cells[_exercise(nb)].source.replace(" — ", ": ", 1)),
     "first line should be '# Exercise 02.1 — what to do'"),
    (lambda nb: _set(nb, _exercise(nb) + 1, 'Stuck? Run `hint("02.1")`.'), "a 'Stuck?' line other than"),
    (lambda nb: nb.cells.pop(_exercise(nb) + 1), "should be exactly 'Stuck? Run `hint(\"02.1\")`"),
    (lambda nb: nb.cells.insert(_exercise(nb), nbformat.v4.new_code_cell("x = 1")), "the cell before exercise 02.1"),
    (lambda nb: nb.cells.pop(_exercise(nb) + 2), "the check cell check(\"02.1\", ...) should follow"),
    (lambda nb: _set(nb, 0, nb.cells[0].source.replace("# 02 · ", "# Two: ")), "cell 0: the first cell should be"),
    (lambda nb: _set(nb, _cell_index(nb, "## Exercises"), "## Exercises\n\nFill in the blanks."), "after a restart"),
], ids=["goals", "goals-twice", "outline", "outline-stale", "no-minutes", "minutes-disagree", "no-time-text",
        "heading-dot", "heading-bold", "exercise-line", "stuck-text", "no-stuck", "code-between", "no-check", "title",
        "no-restart-line"])
def test_the_house_style_check_catches_each_departure(change, needle):
    problems = _broken(change)
    assert any(needle in p and NOTEBOOKS[2].name in p for p in problems), problems


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
