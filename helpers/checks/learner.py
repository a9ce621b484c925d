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
from typing import Any


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover — IPython comes with Jupyter
        return None
    return get_ipython()


def namespace() -> dict[str, Any]:
    """The notebook's variables, or {} outside a notebook."""
    shell = _shell()
    return shell.user_ns if shell is not None else {}


def exercise_cell(exercise_id: str) -> str | None:
    """The source of the last cell run that starts with `# Exercise <id>`, or None."""
    shell = _shell()
    if shell is None:
        return None
    for source in reversed(shell.user_ns.get("_ih", [])):
        if isinstance(source, str) and source.lstrip().startswith(f"# Exercise {exercise_id}"):
            return source
    return None


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
