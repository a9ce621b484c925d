"""Exercises that check themselves: specific, friendly feedback and hints on request.

In a notebook, an exercise cell starts with `# Exercise NN.K` and has blanks written `...`;
the next cell checks it:

    check("01.1", url=url)      # prints ✅ or ❌ with what to fix — never a traceback
    hint("01.1")                # one more hint each time you run it

A lesson module (helpers/checks/lessonNN.py) registers its checkers:

    @exercise("01.1", hints=["The path ends in /chat/completions.", "..."])
    def _(url):
        require(url is not ..., "Replace the ... with the URL.")
        require(url.endswith("/chat/completions"), "Your URL should end with /chat/completions.")
        return "That's the endpoint every chat request goes to."

Example:
    >>> @exercise("99.1", hints=["It is 2."])
    ... def _(answer):
    ...     require(answer is not ..., "Fill in answer.")
    ...     require(answer == 2, f"{answer} is not 1+1.")
    ...     return "Right."
    >>> check("99.1", answer=...)
    ❌ Exercise 99.1 — not yet: Fill in answer.
       Need a nudge? Run hint("99.1").
    >>> check("99.1", answer=2)
    ✅ Exercise 99.1 passed. Right.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from helpers.language import Said, language, say

Message = str | Said   # what a checker says: a message in both languages (say(en, zh)), or a plain str

PASS_MARK = "✅"
NOT_YET_MARK = "❌"


def pass_line(exercise_id: str) -> Said:
    """What a passing check prints first, in both languages (the solution tests look for it)."""
    return say(f"{PASS_MARK} Exercise {exercise_id} passed.", f"{PASS_MARK} 练习 {exercise_id} 通过。")


class NotYet(Exception):
    """Raised by a checker: the answer isn't right yet, and the message says what to change."""


def require(condition: Any, message: Message) -> None:
    """Stop the check with `message` unless `condition` holds."""
    if not condition:
        raise NotYet(message)


class Code(str):
    """A hint that is code: the answer, printed on lines of its own so that it can be pasted into the cell as it is."""


def code(*lines: str) -> Code:
    """The last hint of an exercise: the code of the exercise cell under its first line, one argument per line.

    Example:
        >>> print(code("if k:", "    x = 1"))
        if k:
            x = 1
    """
    return Code("\n".join(lines))


def server_message(exc: BaseException) -> str | None:
    """Kimi's own words in the error answer an exception came with (requests' HTTPError and the SDK's errors alike):
    its message, else its type; None when no answer came back.

    Example:
        >>> server_message(ValueError("no answer behind this")) is None
        True
    """
    from helpers.short_errors import kimi_error

    response = getattr(exc, "response", None)
    if response is None:
        return None
    kind, message = kimi_error(response)
    return message or kind


def is_blank(value: Any) -> bool:
    """True while the learner hasn't replaced a `...` blank."""
    return value is ...


@dataclass
class Exercise:
    id: str
    checker: Callable[..., Any]    # returns the pass message (a Message) or None
    hints: list[Message]
    hints_shown: int = 0
    passed: bool = field(default=False)


REGISTRY: dict[str, Exercise] = {}
_loaded = False


def exercise(exercise_id: str, hints: list[Message]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a checker for an exercise id such as "01.1"."""
    def register(checker: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[exercise_id] = Exercise(exercise_id, checker, list(hints))
        return checker
    return register


def _load_lessons() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("lesson"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def get(exercise_id: str) -> Exercise:
    _load_lessons()
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise KeyError(f"There is no exercise {exercise_id!r}. Known exercises: {known}")
    return REGISTRY[exercise_id]


def run_check(exercise_id: str, **answers: Any) -> tuple[bool, str]:
    """Run a checker and return (passed, feedback) without printing. Used by check() and the tests."""
    try:
        ex = get(exercise_id)
    except KeyError as exc:
        return False, str(exc.args[0])
    try:  # the check cell passes the wrong names: say so (a TypeError from the answer itself is not that)
        inspect.signature(ex.checker).bind(**answers)
    except TypeError as exc:
        return False, str(say(f"{NOT_YET_MARK} Exercise {exercise_id} — the check cell was changed: {exc}. Restore it.",
                              f"{NOT_YET_MARK} 练习 {exercise_id} — 检查单元格被改动了：{exc}。请把它改回原样。"))
    # In a notebook: when the exercise cell raised the last time it ran, the values passed here are left over from
    # an earlier run, or half made: the error is what to fix first, and a pass would mislead.
    stale = learner.stale_answer(exercise_id)
    if stale is not None:
        ex.passed = False
        return False, _not_yet(exercise_id, stale)
    try:
        message = ex.checker(**answers)
    except NotYet as exc:
        ex.passed = False
        return False, _not_yet(exercise_id, exc)
    except Exception as exc:  # a learner's answer may break in any way: feedback, not a traceback
        return False, _crashed(exercise_id, exc)
    ex.passed = True
    passed = pass_line(exercise_id)
    gap = "" if language() == "zh" else " "   # Chinese sentences follow each other without a space
    return True, f"{passed}" + (f"{gap}{message}" if message else "")


def _not_yet(exercise_id: str, why: object) -> str:
    """The "not yet" line, then where to get a hint."""
    return str(say(f"{NOT_YET_MARK} Exercise {exercise_id} — not yet: {why}\n   Need a nudge? Run hint(\"{exercise_id}\").",
                   f"{NOT_YET_MARK} 练习 {exercise_id} — 还没通过：{why}\n   需要提示？运行 hint(\"{exercise_id}\")。"))


def _crashed(exercise_id: str, exc: Exception) -> str:
    return _not_yet(exercise_id, say(f"checking your answer raised {exc.__class__.__name__}: {exc}",
                                     f"检查你的答案时出现了 {exc.__class__.__name__}：{exc}"))


def check(exercise_id: str, **answers: Any) -> None:
    """Check an exercise and print friendly feedback."""
    print(run_check(exercise_id, **answers)[1])


def hint(exercise_id: str) -> None:
    """Print the next hint for an exercise (the last one repeats)."""
    try:
        ex = get(exercise_id)
    except KeyError as exc:
        print(exc.args[0])
        return
    if not ex.hints:
        print(say(f"No hints for {exercise_id}.", f"练习 {exercise_id} 没有提示。"))
        return
    n = min(ex.hints_shown, len(ex.hints) - 1)
    ex.hints_shown += 1
    text = ex.hints[n]
    if isinstance(text, Code):
        print(say(f"💡 Hint {n + 1} of {len(ex.hints)} for {exercise_id}, the answer: put it under the cell's first line, "
                  f"in place of the rest.\n{text}",
                  f"💡 练习 {exercise_id} 的提示 {n + 1}/{len(ex.hints)}，也就是答案：把它放在单元格第一行下面，替换其余部分。\n{text}"))
    else:
        print(say(f"💡 Hint {n + 1} of {len(ex.hints)} for {exercise_id}: {text}",
                  f"💡 练习 {exercise_id} 的提示 {n + 1}/{len(ex.hints)}：{text}"))


from . import learner  # noqa: E402 — after the framework it uses nothing of

learner.watch()

__all__ = ["check", "hint", "exercise", "require", "is_blank", "code", "Code", "NotYet", "run_check", "REGISTRY", "say",
           "Said", "Message"]
