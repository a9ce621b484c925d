"""Display: small functions that print API data so a learner can read it.

Example:
    >>> show_json({"b": "你好", "a": 1})
    {
      "b": "你好",
      "a": 1
    }
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence


def show_json(data: Any) -> None:
    """Pretty-print JSON (a dict, a list, a JSON string or an SDK object), Chinese left readable."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(exclude_none=True)
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    print(json.dumps(data, ensure_ascii=False, indent=2))


def show_headers(headers: Any, only: Iterable[str] | None = None) -> None:
    """Print HTTP headers one per line, `Name: value`; `only` limits which (case-insensitive)."""
    wanted = {h.lower() for h in only} if only is not None else None
    for name, value in dict(headers).items():
        if wanted is None or name.lower() in wanted:
            print(f"{name}: {value}")


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Print rows as a plain-text table with aligned columns."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)
