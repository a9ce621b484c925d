"""Notebook lint: cheap structural checks that catch rot before nbval even runs."""
from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat
import pytest

from helpers.language import language_of
from helpers.notebooks import checked_ids, exercise_id
from helpers.settings import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ZH_NOTEBOOKS = sorted((REPO_ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))   # the Chinese edition
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


@pytest.fixture(params=NOTEBOOKS + ZH_NOTEBOOKS, ids=lambda p: ("zh-" if language_of(p) == "zh" else "") + p.stem)
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
    assert printed.count("\n") == 1 and printed.startswith(STYLES[language_of(path)].mode_line), \
        f"{path.name}: setup should print one line"


# ---- the house style (CONTRIBUTING.md): one first cell, one exercise pattern, the time in the metadata -------------
# The Chinese edition (notebooks/zh/, TRANSLATING.md) keeps the same structure in its own fixed phrases.
@dataclass(frozen=True)
class Style:
    goals: re.Pattern
    goals_word: str
    outline: re.Pattern
    outline_name: str
    minutes: re.Pattern
    minutes_name: str
    exercise_heading: re.Pattern
    other_exercise_headings: re.Pattern
    exercise_heading_name: str
    stuck_word: str
    stuck_line: re.Pattern
    stuck_text: str
    exercises_heading: str
    restart_line: str
    mode_line: str
    recap_words: tuple[str, str]


STYLES = {
    "en": Style(
        goals=re.compile(r"^## Lesson goals\n(?:.*\n)*?- ", re.MULTILINE), goals_word="Lesson goals",
        outline=re.compile(r"^\*\*Outline:\*\* (.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL),
        outline_name="**Outline:** ...",
        minutes=re.compile(r"\babout (\d+) minutes\b", re.IGNORECASE), minutes_name="about N minutes",
        exercise_heading=re.compile(r"^### Exercise (\d\d\.\d+) — \S"),
        other_exercise_headings=re.compile(r"^(?:\*\*\d\d\.\d+\*\*|#+ Exercise \d\d\.\d+ (?!— ))", re.MULTILINE),
        exercise_heading_name="### Exercise {ex} — title",
        stuck_word="Stuck?", stuck_line=re.compile(r'Stuck\? Run `hint\("\d\d\.\d+"\)` \(again for the next hint\)\.'),
        stuck_text='Stuck? Run `hint("{ex}")` (again for the next hint).',
        exercises_heading="## Exercises",
        restart_line=("After a kernel restart, run the two cells at the top first (the setup and the imports: they bring "
                      "`check` and `hint`); each check then names any other cell its exercise needs."),
        mode_line="Mode: ", recap_words=("recap", "exercise")),
    "zh": Style(
        goals=re.compile(r"^## 学习目标\n(?:.*\n)*?- ", re.MULTILINE), goals_word="学习目标",
        outline=re.compile(r"^\*\*内容安排\*\*：(.+?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL),
        outline_name="**内容安排**：...",
        minutes=re.compile(r"约 ?(\d+) ?分钟"), minutes_name="约 N 分钟",
        exercise_heading=re.compile(r"^### 练习 (\d\d\.\d+) — \S"),
        other_exercise_headings=re.compile(r"^(?:\*\*\d\d\.\d+\*\*|#+ (?:练习|Exercise) ?\d\d\.\d+(?! — ))",
                                           re.MULTILINE),
        exercise_heading_name="### 练习 {ex} — 标题",
        stuck_word="卡住了", stuck_line=re.compile(r'卡住了？运行 `hint\("\d\d\.\d+"\)`（再运行一次看下一条提示）。'),
        stuck_text='卡住了？运行 `hint("{ex}")`（再运行一次看下一条提示）。',
        exercises_heading="## 练习",
        restart_line=("内核重启之后，先运行最上面的两个单元格（初始化和导入：它们提供 `check` 和 `hint`）；"
                      "之后每个检查都会告诉你这道练习还需要哪些单元格。"),
        mode_line="模式：", recap_words=("小结", "练习")),
}
RESTART_LINE = STYLES["en"].restart_line
MINUTES_TEXT = STYLES["en"].minutes
SECTION = re.compile(r"^## (\d+)\. ", re.MULTILINE)
SECTION_REF = re.compile(r"§(\d+)(?:[–-](\d+))?")
EXERCISE_FIRST_LINE = re.compile(r"^# Exercise (\d\d\.\d+) — \S")   # a code cell: the same in both editions


def stuck_line(ex: str, lang: str = "en") -> str:
    return STYLES[lang].stuck_text.format(ex=ex)


def _same_text(a: str, b: str, lang: str) -> bool:
    """Whether b holds a, with line breaks (a space in English, nothing in Chinese) ignored."""
    joiner = "" if lang == "zh" else " "
    return joiner.join(a.split()) in joiner.join(b.split())


def house_style_problems(name: str, nb, lang: str = "en") -> list[str]:
    """Every way `nb` departs from the house style, each naming the notebook and the cell."""
    style = STYLES[lang]
    name = f"zh/{name}" if lang == "zh" else name
    problems = []
    cells = nb.cells
    first = cells[0]
    number = name.removeprefix("zh/")[:2]
    if first.cell_type != "markdown" or not first.source.startswith(f"# {number} · "):
        problems.append(f"{name} cell 0: the first cell should be markdown starting with the title '# {number} · ...'")
        return problems
    text = first.source
    if not style.goals.search(text):
        problems.append(f"{name} cell 0: no '## {style.goals_word}' with bullets in the first cell")
    for i, cell in enumerate(cells[1:], 1):
        if cell.cell_type == "markdown" and style.goals_word in cell.source:
            problems.append(f"{name} cell {i}: lesson goals outside the first cell; merge them into cell 0")
    sections = [int(n) for c in cells if c.cell_type == "markdown" for n in SECTION.findall(c.source)]
    outline = style.outline.search(text)
    if not outline:
        problems.append(f"{name} cell 0: no '{style.outline_name}' of the sections in the first cell")
    else:
        covered = set()
        for start, end in SECTION_REF.findall(outline.group(1)):
            covered |= set(range(int(start), int(end or start) + 1))
        if covered != set(sections):
            problems.append(f"{name} cell 0: the outline names sections {sorted(covered)}, the lesson has "
                            f"{sorted(sections)} (write §N or §N–M for each)")
    minutes = nb.metadata.get("course", {}).get("minutes")
    stated = [int(m) for m in style.minutes.findall(text)]
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        problems.append(f"{name}: metadata.course.minutes should be the lesson's time in minutes, not {minutes!r}")
    if len(stated) != 1:
        problems.append(f"{name} cell 0: the first cell should say '{style.minutes_name}' once, not {len(stated)} times")
    elif stated[0] != minutes:
        problems.append(f"{name} cell 0: says about {stated[0]} minutes, metadata.course.minutes is {minutes}")
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for bad in style.other_exercise_headings.findall(cell.source):
            problems.append(f"{name} cell {i}: exercise heading {bad.strip()!r}; write "
                            f"'{style.exercise_heading_name.format(ex='NN.K')}'")
        if style.stuck_word in cell.source and not style.stuck_line.fullmatch(cell.source.strip()):
            problems.append(f"{name} cell {i}: a '{style.stuck_word}' line other than "
                            f"{stuck_line('NN.K', lang)!r}, alone in its cell")
    exercises_intro = [i for i, c in enumerate(cells) if c.cell_type == "markdown"
                       and c.source.startswith(style.exercises_heading)]
    if len(exercises_intro) != 1:
        problems.append(f"{name}: {len(exercises_intro)} '{style.exercises_heading}' cells; there should be one, "
                        "before the first exercise")
    elif not _same_text(style.restart_line, cells[exercises_intro[0]].source, lang):
        problems.append(f"{name} cell {exercises_intro[0]}: the '{style.exercises_heading}' cell should say what to run "
                        f"after a restart: {style.restart_line!r}")
    for i, cell in enumerate(cells):
        ex = exercise_id(cell)
        if ex is None:
            continue
        first_line = cell.source.split("\n", 1)[0]
        if not EXERCISE_FIRST_LINE.match(first_line):
            problems.append(f"{name} cell {i}: the exercise cell's first line should be '# Exercise {ex} — what to do'")
        before = cells[i - 1]
        match = style.exercise_heading.match(before.source) if before.cell_type == "markdown" else None
        if not match or match.group(1) != ex:
            problems.append(f"{name} cell {i}: the cell before exercise {ex} should be markdown starting with "
                            f"'{style.exercise_heading_name.format(ex=ex)}' and the task")
        after = cells[i + 1] if i + 1 < len(cells) else None
        if after is None or after.cell_type != "markdown" or after.source.strip() != stuck_line(ex, lang):
            problems.append(f"{name} cell {i + 1}: the cell after exercise {ex} should be exactly "
                            f"{stuck_line(ex, lang)!r}")
        check_cell = cells[i + 2] if i + 2 < len(cells) else None
        if check_cell is None or check_cell.cell_type != "code" or checked_ids(check_cell.source) != [ex]:
            problems.append(f"{name} cell {i + 2}: the check cell check(\"{ex}\", ...) should follow the "
                            f"{style.stuck_word} line")
    return problems


def test_follows_the_house_style(notebook):
    path, nb = notebook
    problems = house_style_problems(path.name, nb, language_of(path))
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


ZH_SAMPLE = REPO_ROOT / "notebooks" / "zh" / NOTEBOOKS[2].name


@pytest.mark.parametrize("change, needle", [
    (lambda nb: _set(nb, 0, nb.cells[0].source.replace("## 学习目标", "## 目标")), "cell 0: no '## 学习目标'"),
    (lambda nb: _set(nb, 0, nb.cells[0].source.replace("**内容安排**：", "内容安排：")), "no '**内容安排**："),
    (lambda nb: _set(nb, 0, re.sub(r"约 ?\d+ ?分钟", "一会儿", nb.cells[0].source)), "say '约 N 分钟' once, not 0"),
    (lambda nb: _set(nb, _exercise(nb) - 1, nb.cells[_exercise(nb) - 1].source.replace(" — ", "：", 1)),
     "exercise heading"),
    (lambda nb: _set(nb, _exercise(nb) + 1, '卡住了？运行 `hint("02.1")`。'), "a '卡住了' line other than"),
    (lambda nb: _set(nb, _cell_index(nb, "## 练习"), "## 练习\n\n填空。"), "after a restart"),
    (lambda nb: _set(nb, _cell_index(nb, "## 练习"), "## Exercises\n\n" + RESTART_LINE), "0 '## 练习' cells"),
], ids=["goals", "outline", "no-time-text", "heading-colon", "stuck-text", "no-restart-line", "english-heading"])
def test_the_house_style_check_catches_each_departure_in_chinese(change, needle):
    nb = nbformat.read(ZH_SAMPLE, as_version=4)
    assert not house_style_problems(ZH_SAMPLE.name, nb, "zh"), "the sample Chinese notebook should pass first"
    change(nb)
    problems = house_style_problems(ZH_SAMPLE.name, nb, "zh")
    assert any(needle in p and f"zh/{ZH_SAMPLE.name}" in p for p in problems), problems


def test_emphasis_renders(notebook):
    """Every `**bold**` and `*italic*` in the prose renders as such. CommonMark does not close emphasis on a
    full-width mark followed by a character (`**内容安排：**…` shows its asterisks): write `**内容安排**：…`."""
    markdown_it = pytest.importorskip("markdown_it")
    render = markdown_it.MarkdownIt("commonmark").render
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            html = re.sub(r"<(code|pre)>.*?</\1>", "", render(cell.source), flags=re.DOTALL)
            for line in html.splitlines():
                assert "**" not in line and not re.search(r"(?<![\w*])\*[^\s*][^*]*\*(?![\w*])", line), \
                    f"{path.name} cell {i}: emphasis that does not render: {line.strip()[:100]}"


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
    for word in STYLES[language_of(path)].recap_words:
        assert any(word in h for h in headings), f"{path.name}: no '{word}' section"
    english = [p.name for p in NOTEBOOKS]
    if path.name != english[-1]:
        nxt = english[english.index(path.name) + 1]
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
