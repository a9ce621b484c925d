"""The two editions in step: every Chinese notebook is its English one with the prose translated (helpers.translation).

A change to an English notebook that is not carried into the Chinese one fails here, naming the cell: a code cell
edited, a cell added, removed or moved, a tag changed, a paragraph reworded after it was translated.
"""
from __future__ import annotations

import copy
import re

import nbformat
import pytest

from helpers.notebooks import exercise_ids
from helpers.translation import (apply, chinese_path, english_path, extract, fingerprint, parity_problems,
                                 parse_blocks, synced)
from helpers.settings import NOTEBOOKS_DIR, REPO_ROOT

ENGLISH = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
SAMPLE = ENGLISH[2]


def _read(path):
    return nbformat.read(path, as_version=4)


def test_every_english_notebook_has_a_chinese_one_and_no_other():
    chinese = sorted(p.name for p in (NOTEBOOKS_DIR / "zh").glob("*.ipynb"))
    assert chinese == [p.name for p in ENGLISH]


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_the_chinese_notebook_is_in_step(english):
    problems = parity_problems(_read(english), _read(chinese_path(english)), english.name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_same_exercises_and_every_markdown_cell_in_chinese(english):
    en, zh = _read(english), _read(chinese_path(english))
    assert exercise_ids(en) == exercise_ids(zh)
    for i, cell in enumerate(zh.cells):
        if cell.cell_type == "markdown":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in cell.source), \
                f"zh/{english.name} cell {i} has no Chinese in it: {cell.source[:80]!r}"


# ---- the check finds each way the editions drift apart ---------------------------------------------------------
def _first(nb, kind):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == kind)


def _drift(change):
    english, chinese = _read(SAMPLE), _read(chinese_path(SAMPLE))
    assert not parity_problems(english, chinese, SAMPLE.name)
    change(english)
    return parity_problems(english, chinese, SAMPLE.name)


def _edit_code(nb):
    i = _first(nb, "code") + 1
    nb.cells[i].source += "\nprint('one more line')"


def _second_markdown(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"][1]


def _reword(nb):
    nb.cells[_second_markdown(nb)].source += " One more sentence."


def _add_cell(nb):
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("A new paragraph."))


def _tag(nb):
    nb.cells[_first(nb, "code")].metadata.setdefault("tags", []).append("raises-exception")


def _move(nb):
    nb.cells[1], nb.cells[2] = nb.cells[2], nb.cells[1]


def _minutes(nb):
    nb.metadata["course"]["minutes"] += 5


@pytest.mark.parametrize("change, needle", [
    (_edit_code, "its code differs from the English cell's"),
    (_reword, "the English text changed after it was translated"),
    (_add_cell, "not the English cells in the English order (missing ["),
    (_tag, "its metadata (tags, slides) differs"),
    (_move, "not the English cells in the English order (reordered)"),
    (_minutes, "the notebook's metadata differs"),
], ids=["code", "reworded", "added", "tag", "moved", "minutes"])
def test_the_parity_check_names_each_drift(change, needle):
    """The English notebook changed, the Chinese one not: the check names the notebook, the cell and the fix."""
    problems = _drift(change)
    assert any(needle in p and f"zh/{SAMPLE.name}" in p for p in problems), problems
    if change in (_edit_code, _reword, _tag):
        assert any("(id " in p for p in problems), "the problem should name the cell"


def test_sync_carries_code_over_and_keeps_the_translation():
    english, chinese = _read(SAMPLE), _read(chinese_path(SAMPLE))
    _edit_code(english)
    _reword(english)
    english.cells.insert(3, nbformat.v4.new_markdown_cell("A new paragraph."))
    rebuilt = synced(english, chinese)
    problems = parity_problems(english, rebuilt, SAMPLE.name)
    assert len(problems) == 2, problems   # the reworded and the new cell: each needs a translator
    assert any("changed after it was translated" in p for p in problems)
    assert any("not translated yet" in p for p in problems)
    edited = _first(english, "code") + 1
    assert rebuilt.cells[edited].source == english.cells[edited].source and rebuilt.cells[edited].outputs == []
    kept = _first(english, "markdown")
    assert rebuilt.cells[kept].source == chinese.cells[kept].source   # the translation stays


def test_extract_then_apply_brings_a_stale_cell_back_in_step():
    english, chinese = _read(SAMPLE), _read(chinese_path(SAMPLE))
    _reword(english)
    stale = parse_blocks(extract(english, chinese, stale_only=True))
    assert list(stale) == [english.cells[_second_markdown(english)].id]
    fixed = apply(english, chinese, {cell_id: "改过的段落。" for cell_id in stale})
    assert not parity_problems(english, fixed, SAMPLE.name)


def test_a_translation_file_with_a_wrong_cell_id_is_refused():
    english = _read(SAMPLE)
    with pytest.raises(ValueError, match="no markdown cell with id nope"):
        apply(english, copy.deepcopy(english), {"nope": "文字"})
    with pytest.raises(ValueError, match="appears twice"):
        parse_blocks("%% cell a\nx\n%% cell a\ny\n")
    with pytest.raises(ValueError, match="before the first"):
        parse_blocks("stray text\n%% cell a\nx\n")


def test_paths_and_fingerprints():
    assert english_path(chinese_path(SAMPLE)) == SAMPLE
    assert fingerprint("a") != fingerprint("a ") and len(fingerprint("a")) == 12


# ---- the Chinese README and instructor guide -------------------------------------------------------------------
README_ZH = REPO_ROOT / "README.zh-CN.md"
GUIDE_ZH = REPO_ROOT / "classroom" / "instructor-guide.zh-CN.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _title(path):
    return _read(path).cells[0].source.split("\n", 1)[0].split(" · ", 1)[1].strip()


def test_each_edition_links_to_the_other():
    assert "(README.zh-CN.md)" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "(README.md)" in README_ZH.read_text(encoding="utf-8")
    assert "(instructor-guide.md)" in GUIDE_ZH.read_text(encoding="utf-8")


def test_the_chinese_readme_starts_with_the_two_commands_and_maps_every_chinese_lesson():
    text = README_ZH.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings[:2] == ["两条命令", "课程地图"], headings
    assert "make lab" in text and "make test" in text and "PIP_INDEX_URL=" in text
    rows = {m.group(1): m for m in re.finditer(r"^\| (\d\d) \| \[([^\]]+)\]\(([^)]+)\) \|.*\| (\d+) 分钟 \|", text,
                                               re.MULTILINE)}
    for english in ENGLISH:
        chinese, row = chinese_path(english), rows.get(english.name[:2])
        assert row, f"README.zh-CN.md: no course-map row for {english.name[:2]}"
        assert row.group(3) == f"notebooks/zh/{english.name}", row.group(0)
        assert row.group(2) == _title(chinese), f"README.zh-CN.md calls {english.name[:2]} {row.group(2)!r}, " \
                                                f"its notebook {_title(chinese)!r}"
        assert int(row.group(4)) == _read(english).metadata["course"]["minutes"], row.group(0)


def test_the_chinese_readme_explains_the_platform_mismatch():
    text = README_ZH.read_text(encoding="utf-8")
    trouble = text.split("## 常见问题", 1)[1]
    assert "invalid_authentication_error" in trouble
    assert "https://api.moonshot.cn/v1" in trouble and "https://api.moonshot.ai/v1" in trouble
    assert "KIMI_BASE_URL" in trouble


def test_the_chinese_guide_states_each_lessons_time_as_its_metadata_does():
    text = GUIDE_ZH.read_text(encoding="utf-8")
    parts = dict(zip(*[iter(re.split(r"^### (\d\d) · .*$", text, flags=re.MULTILINE)[1:])] * 2))
    table = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| (\d\d) · [^|]+\| (\d+) \|", text, re.MULTILINE)}
    for english in ENGLISH:
        number, minutes = english.name[:2], _read(english).metadata["course"]["minutes"]
        stated = re.search(r"\*\*用时：\*\* (\d+) 分钟", parts.get(number, ""))
        assert stated and int(stated.group(1)) == minutes, f"guide's ### {number} section: not '**用时：** {minutes} 分钟'"
        assert table.get(number) == minutes, f"guide's timing table: {number} should say {minutes}"


@pytest.mark.parametrize("page", [README_ZH, GUIDE_ZH], ids=lambda p: p.name)
def test_the_chinese_pages_links_resolve(page):
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if not re.match(r"^[a-z]+:", target):
            assert (page.parent / target).exists(), f"{page.name}: link to {target} does not resolve"


def test_extract_in_chinese_then_apply_changes_nothing():
    english, chinese = _read(SAMPLE), _read(chinese_path(SAMPLE))
    again = apply(english, chinese, parse_blocks(extract(english, chinese, in_chinese=True)))
    assert [c.source for c in again.cells] == [c.source for c in chinese.cells]
    assert not parity_problems(english, again, SAMPLE.name)


CJK_CHAR = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
NOT_PROSE = re.compile(r"^\s*([-*+] |\d+\. |#|\||>|```|~~~|$)")


def hard_wrapped_lines(text: str) -> list[str]:
    """Lines of Chinese prose broken inside a sentence: a browser shows the break as a space between two characters.

    >>> hard_wrapped_lines("第一行写到这里\\n接着写。\\n\\n- 列表\\n- 第二项")
    ['第一行写到这里']
    """
    found, fence, previous = [], False, ""
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        elif (not fence and re.search(CJK_CHAR + r"$", previous) and not NOT_PROSE.match(line)
              and re.match(r"^\s*" + CJK_CHAR, line) and not previous.lstrip().startswith(("|", "#"))):
            found.append(previous)
        previous = line
    return found


@pytest.mark.parametrize("page", [README_ZH, GUIDE_ZH, *(chinese_path(p) for p in ENGLISH)],
                         ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_chinese_prose_is_not_broken_inside_a_sentence(page):
    if page.suffix == ".ipynb":
        texts = [(i, c.source) for i, c in enumerate(_read(page).cells) if c.cell_type == "markdown"]
    else:
        texts = [(0, page.read_text(encoding="utf-8"))]
    broken = [f"{page.name} cell {i}: {line[-30:]!r}" for i, text in texts for line in hard_wrapped_lines(text)]
    assert not broken, "write each Chinese paragraph on one line (a break shows as a space):\n" + "\n".join(broken[:10])


def test_the_wrap_check_finds_a_break():
    assert hard_wrapped_lines("这是一句\n被拆开的话。") == ["这是一句"]
    assert hard_wrapped_lines("```\n代码里\n可以换行\n```") == []
