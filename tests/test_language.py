"""Messages in both languages, written once where they are used: `say(english, chinese)`; the notebook's folder
chooses the language. The check framework's own lines are bilingual; `untranslated()` is the lint the checker modules
(helpers/checks/lessonNN.py) are to pass once their messages are written with say(): a require message, a hint or a
pass message in English only is named, with its line. Every checker module passes it."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers.checks import NotYet, require, run_check, say
from helpers.language import Said, language, speaking
from helpers.settings import REPO_ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")


def _is_say(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "say"


def _is_code(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "code"


def bare_texts(node: ast.AST) -> list[ast.AST]:
    """String literals in `node` that are not inside a say(...) call (nor a .format/.join argument of one)."""
    if _is_say(node):
        return []
    if isinstance(node, ast.JoinedStr):
        return [node]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"[A-Za-z]{2,}", node.value):
        return [node]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        return [t for arg in node.args for t in bare_texts(arg)]  # ", ".join(names): the separator is no message
    return [t for child in ast.iter_child_nodes(node) for t in bare_texts(child)]


def untranslated(path: Path) -> list[str]:
    """Where a checker module speaks to the learner in one language only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
    problems = []

    def where(node: ast.AST) -> str:
        return f"{path.name}:{getattr(node, 'lineno', '?')}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "require" \
                and len(node.args) >= 2:
            message = node.args[1]
            if isinstance(message, ast.Name) and message.id in constants:
                message = constants[message.id]
            problems += [f"{where(t)}: a require message in English only" for t in bare_texts(message)]
        if _is_say(node):
            if len(node.args) != 2:
                problems.append(f"{where(node)}: say() takes the English and the Chinese text")
                continue
            zh = node.args[1]
            literal = "".join(v.value for v in ast.walk(zh) if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if isinstance(zh, (ast.Constant, ast.JoinedStr)) and not CJK.search(literal):
                problems.append(f"{where(node)}: the Chinese half of say() has no Chinese in it")
        if isinstance(node, ast.FunctionDef):
            registered = [d for d in node.decorator_list if isinstance(d, ast.Call)
                          and isinstance(d.func, ast.Name) and d.func.id == "exercise"]
            for d in registered:
                hints = next((k.value for k in d.keywords if k.arg == "hints"), None)
                for hint in hints.elts if isinstance(hints, ast.List) else []:
                    if not (_is_say(hint) or _is_code(hint)):
                        problems.append(f"{where(hint)}: a hint in English only (write say(english, chinese))")
            if registered:
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        problems += [f"{where(t)}: a pass message in English only" for t in bare_texts(ret.value)]
    return problems


CHECKS = sorted((REPO_ROOT / "helpers" / "checks").glob("lesson*.py"))


@pytest.mark.parametrize("path", CHECKS, ids=lambda p: p.stem)
def test_every_checker_speaks_both_languages(path):
    problems = untranslated(path)
    assert not problems, "\n".join(problems[:20]) + (f"\n... {len(problems) - 20} more" if len(problems) > 20 else "")


def test_the_lint_finds_a_message_in_english_only(tmp_path):
    bad = tmp_path / "lesson99.py"
    bad.write_text('@exercise("99.1", hints=["plain", say("a", "一"), code("x = 1")])\n'
                   'def _(x):\n    require(x, f"x is {x}")\n    require(x, say("x", "x"))\n    return "done"\n',
                   encoding="utf-8")
    found = untranslated(bad)
    assert any("hint in English only" in p for p in found)
    assert any("require message in English only" in p for p in found)
    assert any("no Chinese in it" in p for p in found)
    assert any("pass message in English only" in p for p in found)
    assert len(found) == 4, found


def test_the_notebook_folder_chooses_the_language(tmp_path, monkeypatch):
    monkeypatch.delenv("KIMI_COURSE_LANGUAGE", raising=False)
    (tmp_path / "zh").mkdir()
    monkeypatch.chdir(tmp_path / "zh")
    assert language() == "zh"
    monkeypatch.chdir(tmp_path)
    assert language() == "en"
    monkeypatch.setenv("KIMI_COURSE_LANGUAGE", "zh")
    assert language() == "zh"
    with speaking("en"):
        assert language() == "en"


def test_feedback_and_hints_follow_the_language(capsys):
    from helpers.checks import REGISTRY, exercise, hint

    @exercise("99.7", hints=[say("It is 2.", "答案是 2。")])
    def _(answer):
        require(answer == 2, say(f"{answer} is not 1+1.", f"{answer} 不等于 1+1。"))
        return say("Right.", "对了。")

    try:
        with speaking("zh"):
            assert run_check("99.7", answer=3) == (False, '❌ 练习 99.7 — 还没通过：3 不等于 1+1。\n   需要提示？运行 hint("99.7")。')
            assert run_check("99.7", answer=2) == (True, "✅ 练习 99.7 通过。对了。")
            hint("99.7")
            assert capsys.readouterr().out == "💡 练习 99.7 的提示 1/1：答案是 2。\n"
        assert run_check("99.7", answer=3)[1].startswith("❌ Exercise 99.7 — not yet: 3 is not 1+1.")
        hint("99.7")
        assert capsys.readouterr().out == "💡 Hint 1 of 1 for 99.7: It is 2.\n"
    finally:
        del REGISTRY["99.7"]
    with pytest.raises(NotYet) as caught:
        require(False, say("Fill in answer.", "先填上答案。"))
    with speaking("zh"):
        assert str(caught.value) == "先填上答案。"
    assert str(caught.value) == "Fill in answer."
    joined = say("a", "甲") + " (1)"
    assert isinstance(joined, Said) and str("» " + joined) == "» a (1)"
    with pytest.raises(ValueError):
        say("only English", "")
