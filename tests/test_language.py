"""Every message a learner reads comes in both languages, written once where it is used: `say(english, chinese)`.

A checker's feedback (its `require` messages and the message it passes with) and its hints are `say(...)` calls, never
bare strings; each `say` has Chinese in its Chinese half. The notebook's folder chooses the language."""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from helpers.checks import NotYet, require, run_check, say
from helpers.language import Said, language, speaking
from helpers.settings import REPO_ROOT

CHECKS = sorted((REPO_ROOT / "helpers" / "checks").glob("lesson*.py"))
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


def test_feedback_and_hints_follow_the_language():
    message = say("Fill in answer.", "先填上答案。")
    with pytest.raises(NotYet) as caught:
        require(False, message)
    with speaking("zh"):
        assert str(caught.value) == "先填上答案。"
        passed, feedback = run_check("no.such", x=1)
    assert str(caught.value) == "Fill in answer."
    assert isinstance(message + " (1)", Said) and str("» " + message) == "» Fill in answer."
    with pytest.raises(ValueError):
        say("only English", "")
    assert os.environ.get("KIMI_COURSE_LANGUAGE") in (None, "", "en", "zh")
    assert not passed
