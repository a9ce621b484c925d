"""What a checker may look at besides the answers its check cell passes: the learner's notebook namespace and the
last version of an exercise cell they ran. Both exist only in a notebook (an IPython kernel); elsewhere they are
empty, and a checker judges by the answers alone.

Example:
    >>> exercise_cell("99.1") is None      # no IPython here
    True
    >>> calls(None, "post")
    []
"""
from __future__ import annotations

import ast
import re
import sys
from typing import Any

from ..language import say


def ipython_shell() -> Any:
    """The notebook's IPython shell, or None outside a notebook (where IPython is not even imported to ask)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def namespace() -> dict[str, Any]:
    """The notebook's variables, or {} outside a notebook."""
    shell = ipython_shell()
    return shell.user_ns if shell is not None else {}


_EXERCISE_LINE = re.compile(r"\s*# Exercise (\d\d\.\d+)\b")
_last_errors: dict[str, BaseException | None] = {}


def watch() -> None:
    """Note, after each cell a notebook runs, whether an exercise cell raised (once per kernel)."""
    shell = ipython_shell()
    if shell is None or getattr(shell, "_kimi_course_watch", False):
        return

    def after(result: Any) -> None:
        source = getattr(getattr(result, "info", None), "raw_cell", None) or ""
        found = _EXERCISE_LINE.match(source)
        if found:
            _last_errors[found.group(1)] = result.error_before_exec or result.error_in_exec

    shell.events.register("post_run_cell", after)
    shell._kimi_course_watch = True


def last_run_error(exercise_id: str) -> BaseException | None:
    """What the exercise cell raised the last time it ran, or None (it ran fine, or never ran under watch())."""
    return _last_errors.get(exercise_id)


def stale_answer(exercise_id: str) -> str | None:
    """Feedback when the exercise cell's last run failed, so the values the check cell passes are older ones."""
    error = last_run_error(exercise_id)
    if error is None:
        return None
    name = error.__class__.__name__
    text = str(error).splitlines()[0] if str(error) else ""
    what = f"{name}: {text}" if text else name
    if isinstance(error, SyntaxError):
        return str(say(f"the exercise cell has a syntax error ({error.msg}, line {error.lineno}), so it never ran. "
                       "Fix that line and run the exercise cell again, then this check.",
                       f"练习单元格有语法错误（{error.msg}，第 {error.lineno} 行），所以它根本没有运行。"
                       "改好那一行，重新运行练习单元格，再运行这个检查。"))
    if isinstance(error, NameError):
        from .prerequisites import THEN_THIS_CELL, name_error_advice

        advice = name_error_advice(exercise_cell(exercise_id) or f"# Exercise {exercise_id}", error, namespace())
        then_check = say("then the exercise cell, then this check.", "然后运行练习单元格，最后运行这个检查。")
        stopped = say(f"the exercise cell stopped with {what} the last time you ran it. ",
                      f"你上次运行练习单元格时，它因 {what} 停了下来。")
        return str(stopped + (
            advice.replace(str(THEN_THIS_CELL), str(then_check)) if advice else
            say("After a kernel restart, the cells above it have to run first: click the exercise cell, run Run → Run "
                "All Above Selected Cell, then the exercise cell, then this check.",
                "内核重启之后，要先运行它上面的单元格：点一下练习单元格，选择 Run → Run All Above Selected Cell，"
                "然后运行练习单元格，最后运行这个检查。")))
    return str(say(f"the exercise cell stopped with {what} the last time you ran it, so what this check would look at "
                   "is left over from an earlier run, or half made. Fix what the error points to, run the cell again, "
                   "then this check.",
                   f"你上次运行练习单元格时，它因 {what} 停了下来，所以这个检查要看的值是之前某次运行留下的，"
                   "或者只做了一半。先改好错误指出的问题，重新运行那个单元格，再运行这个检查。"))


def exercise_cell(exercise_id: str) -> str | None:
    """The source of the last cell run that starts with `# Exercise <id>`, or None."""
    shell = ipython_shell()
    if shell is None:
        return None
    for source in reversed(shell.user_ns.get("_ih", [])):
        if isinstance(source, str) and source.lstrip().startswith(f"# Exercise {exercise_id}"):
            return source
    return None


def exercise_source(exercise_id: str, answer: Any) -> str:
    """The exercise cell as last run, or else the source of `answer` (the function it defined), or "" when neither
    can be read: what a checker reads to see whether a blank is still there."""
    import inspect

    source = exercise_cell(exercise_id)
    if source is not None:
        return source
    try:
        return inspect.getsource(answer)
    except (OSError, TypeError):
        return ""


def calls(source: str | None, name: str) -> list[ast.Call]:
    """Every call in `source` of a function or method called `name` (e.g. "post" finds x.post(...) and post(...))."""
    if not source:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if called == name:
                found.append(node)
    return found


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


def receiver(call: ast.Call) -> str | None:
    """`session_1` for session_1.post(...), `requests` for requests.post(...), else None."""
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return None


def typed_values(source: str | None, names: tuple[str, ...]) -> dict[str, Any]:
    """{name: value} for each of `names` that the cell sets to a value typed in (a literal), not computed."""
    if not source:
        return {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in names and isinstance(node.value, ast.Constant) and node.value.value is not Ellipsis:
                found[name] = node.value.value
    return found
