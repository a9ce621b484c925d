"""Which earlier cells a cell needs: after a kernel restart, a cell that uses a name an earlier cell defines fails with
NameError, and the learner needs to know, in one line, which cells to run first.

A lesson's code cells are read once (static analysis, nothing is run): the names each cell defines or changes at
its top level (`x = ...`, `import x`, `def x`, `x.append(...)`, `x[...] = ...`), and the names it uses but does not
define itself. The cells to run first for a name are the last cell above that defines it and every cell between
that changes it, together with what those cells need in turn.

Example:
    >>> needed_names("import os\\nx = os.environ[KEY]\\ndef f():\\n    return x + y\\n")
    ['KEY', 'y']
    >>> sorted(defined_names("import os\\nx = 1\\nx.append(2)\\nfor i in []: pass\\n"))
    ['i', 'os', 'x']
"""
from __future__ import annotations

import ast
import builtins
import functools
import re
import symtable
from dataclasses import dataclass
from pathlib import Path

from ..language import say
from ..settings import NOTEBOOKS_DIR

_SHELL_NAMES = {"get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___"}
_MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add", "sort", "reverse"}
_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.M)
_SECTION_NUMBER = re.compile(r"^(\d+)\.\s")
_EXERCISE = re.compile(r"^\s*# Exercise (\d\d\.\d+)")
_CHECK = re.compile(r'^\s*check\(\s*"(\d\d\.\d+)"', re.M)
# The headings every lesson has, as the Chinese edition writes them (a cell under one is named by it).
_HEADINGS_ZH = {"Lesson goals": "学习目标", "Recap": "小结", "Exercises": "练习", "Next": "下一步"}
# How the advice ends; a checker that reads it in a check cell says "then the exercise cell, then this check".
THEN_THIS_CELL = say("then this cell.", "然后再运行这个单元格。")


@functools.lru_cache(maxsize=1024)
def _python(source: str) -> str:
    """The cell as plain Python: IPython's `!cmd`, `x = !cmd` and `%magic` lines become the calls IPython makes, and
    the `{name}`s a shell command interpolates are kept as uses."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 — no IPython (or it gave up): the cell as it is
        return source
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    used: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "system", "getoutput", "run_line_magic", "run_cell_magic"):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    used += re.findall(r"\{([A-Za-z_]\w*)\}", arg.value)
    return code + (f"\n({', '.join(dict.fromkeys(used))},)\n" if used else "")


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_python(source))
    except SyntaxError:
        return None


def defined_names(source: str) -> set[str]:
    """The names a cell binds or changes at its top level."""
    binds, changes = _bound_and_changed(source)
    return binds | changes


def _bound_and_changed(source: str) -> tuple[set[str], set[str]]:
    """(names the cell binds: `x = ...`, imports, defs, loops; names it only changes: `x.append(...)`, `x[k] = v`)."""
    tree = _parse(source)
    if tree is None:
        return set(), set()
    table = symtable.symtable(_python(source), "cell", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    changes: set[str] = set()
    for node in _top_level_nodes(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            changes.add(_root_name(node.func.value) or "")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            changes.update(_root_name(t) or "" for t in targets if isinstance(t, (ast.Subscript, ast.Attribute)))
    changes.discard("")
    return binds, changes - binds


def _top_level_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the cell outside its functions and classes (whose names are their own)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
    return out


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def needed_names(source: str) -> list[str]:
    """The names a cell uses (at its top level or inside its functions) that it does not define and Python does
    not have built in, in order of first use."""
    try:
        table = symtable.symtable(_python(source), "cell", "exec")
    except SyntaxError:
        return []
    assigned = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    found: list[str] = []

    def visit(t: symtable.SymbolTable, top: bool) -> None:
        for s in t.get_symbols():
            name = s.get_name()
            if not s.is_referenced() or name in assigned or name in found:
                continue
            if (top and not s.is_assigned() and not s.is_imported()) or (not top and s.is_global()):
                found.append(name)
        for child in t.get_children():
            visit(child, False)
    visit(table, True)
    return [n for n in found if not hasattr(builtins, n) and n not in _SHELL_NAMES and not n.startswith("__")]


@dataclass(frozen=True)
class Cell:
    """A code cell of a lesson: its place, the section it is in, its first line, what it defines and needs."""

    index: int
    section: str  # "10" for "## 10. A conversation ...", else the heading ("Exercises"), "" above every heading
    first_line: str
    binds: frozenset[str]
    changes: frozenset[str]
    needs: tuple[str, ...]
    is_setup: bool = False

    @property
    def defines(self) -> frozenset[str]:
        return self.binds | self.changes

    def label(self) -> str:
        """How a learner finds the cell: "the setup cell at the top", or the section and the cell's first line (in
        the language of the moment)."""
        if self.is_setup:
            return str(say("the setup cell at the top (`course = start()`)", "最上面的初始化单元格（`course = start()`）"))
        exercise = _EXERCISE.match(self.first_line)
        if exercise:
            return str(say(f"the Exercise {exercise.group(1)} cell", f"练习 {exercise.group(1)} 的单元格"))
        line = self.first_line if len(self.first_line) <= 40 else self.first_line[:39] + "…"
        heading = _HEADINGS_ZH.get(self.section, self.section)
        where = say(f"§{self.section}'s cell", f"§{self.section} 的单元格") if self.section.isdigit() else \
            (say(f"the cell under “{self.section}”", f"“{heading}”下面的单元格") if self.section else
             say("the cell at the top", "最上面的单元格"))
        return f"{where} `{line}`"


@functools.lru_cache(maxsize=16)
def _lesson_cells(path: Path, mtime: float) -> tuple[Cell, ...]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells, section, first_code = [], "", True
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            headings = _HEADING.findall(cell.source)
            if headings and i > 0:  # the title cell's headings (Lesson goals) are still the top
                heading = headings[-1]
                number = _SECTION_NUMBER.match(heading)
                section = number.group(1) if number else heading
            continue
        if cell.cell_type != "code":
            continue
        first = _first_line(cell.source)
        binds, changes = _bound_and_changed(cell.source)
        cells.append(Cell(i, section, first, frozenset(binds), frozenset(changes), tuple(needed_names(cell.source)),
                          is_setup=first_code))
        first_code = False
    return tuple(cells)


def _first_line(source: str) -> str:
    """A cell's first line without its trailing comment (an exercise's heading line stays whole)."""
    line = next((line.strip() for line in source.split("\n") if line.strip()), "")
    return line if line.startswith("#") else re.sub(r"\s+#.*$", "", line)


def lesson_cells(path: Path) -> tuple[Cell, ...]:
    return _lesson_cells(path, path.stat().st_mtime)


def lesson_path(lesson: str, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path | None:
    """notebooks/NN_*.ipynb for a lesson number "NN"."""
    found = sorted(notebooks_dir.glob(f"{lesson}_*.ipynb"))
    return found[0] if found else None


def cells_before(cells: tuple[Cell, ...], index: int, names: list[str]) -> list[Cell]:
    """The cells above cell `index` to run, top to bottom, so that `names` are defined as the lesson defines them."""
    chosen: dict[int, Cell] = {}
    todo = [(index, name) for name in names]
    while todo:
        below, name = todo.pop()
        above = [c for c in cells if c.index < below and name in c.defines]
        if not above:
            continue
        # the last cell that binds it (`name = ...`, an import, a def), and every later one that changes it
        binders = [c for c in above if name in c.binds]
        start = binders[-1].index if binders else above[0].index
        for c in above:
            if c.index >= start and c.index not in chosen:
                chosen[c.index] = c
                todo.extend((c.index, n) for n in c.needs)
    return [chosen[i] for i in sorted(chosen)]


def where_to_start(cell_source: str, missing: list[str], lesson: str | None = None,
                   notebooks_dir: Path = NOTEBOOKS_DIR) -> str | None:
    """One line naming the cells to run before this one, for names that are missing (in the language of the
    moment); None when the cell is not one of a lesson's, or no cell above defines them."""
    found = find_cell(cell_source, lesson, notebooks_dir)
    if found is None:
        return None
    cells, cell = found
    to_run = cells_before(cells, cell.index, missing)
    if not to_run:
        return None
    if not to_run[0].is_setup and cells[0].is_setup:  # start() sets the environment every request reads
        to_run.insert(0, cells[0])
    named = ", ".join(f"`{n}`" for n in missing[:3]) + (" …" if len(missing) > 3 else "")
    steps = [c.label() for c in to_run]
    if len(to_run) >= 2 and to_run[0].is_setup and not to_run[1].section:
        steps[:2] = [str(say("the two cells at the top (`course = start()` and the imports)",
                             "最上面的两个单元格（`course = start()` 和导入）"))]
    if len(steps) > 6:
        steps = steps[:4] + [str(say(f"{len(steps) - 5} more", f"另外 {len(steps) - 5} 个")), steps[-1]]
    return str(say(f"Run first, top to bottom: {', '.join(steps)} (they define {named}); {THEN_THIS_CELL.en}",
                   f"先从上到下运行：{'，'.join(steps)}（它们定义了 {named}）；{THEN_THIS_CELL.zh}"))


def find_cell(source: str, lesson: str | None = None,
              notebooks_dir: Path = NOTEBOOKS_DIR) -> tuple[tuple[Cell, ...], Cell] | None:
    """The lesson cell this source is (an exercise or check cell by its id, any other cell by its first line)."""
    ex = _EXERCISE.match(source) or _CHECK.search(source)
    lessons = [ex.group(1)[:2]] if ex else ([lesson] if lesson else
                                            sorted({p.name[:2] for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb")}))
    first = _first_line(source)
    for number in lessons:
        path = lesson_path(number, notebooks_dir)
        if path is None:
            continue
        cells = lesson_cells(path)
        for c in cells:
            if c.first_line == first or (ex and (_EXERCISE.match(c.first_line) or _CHECK.search(c.first_line))
                                         and _same_kind(c.first_line, first, ex.group(1))):
                return cells, c
    return None


def _same_kind(line: str, first: str, ex: str) -> bool:
    """Both the exercise cell of `ex`, or both its check cell (the learner has filled in the rest)."""
    def kind(text: str) -> str | None:
        found = _EXERCISE.match(text)
        if found:
            return "exercise " + found.group(1)
        found = _CHECK.search(text)
        return "check " + found.group(1) if found else None
    return kind(line) is not None and kind(line) == kind(first) and ex in (kind(line) or "")


def missing_names(cell_source: str, error_name: str | None, namespace: dict[str, object]) -> list[str]:
    """The names a cell needs that the namespace lacks: the one the NameError names first."""
    names = [error_name] if error_name else []
    names += [n for n in needed_names(cell_source) if n not in namespace and n not in names]
    return names


def name_error_advice(cell_source: str, error: NameError, namespace: dict[str, object]) -> str | None:
    """The one line to show under a NameError of a lesson's cell, or None."""
    try:
        return where_to_start(cell_source, missing_names(cell_source, getattr(error, "name", None), namespace))
    except Exception:  # noqa: BLE001 — advice is a bonus: never let it hide the learner's own error
        return None
