"""The Chinese edition, notebooks/zh/: the English notebooks with their prose translated, kept in step with them.

A Chinese notebook is its English one with the markdown cells written in Chinese: the same cells in the same order,
the same ids and metadata, the same code. Each translated cell keeps a short fingerprint of the English text it
translates (`metadata.translation.of`), so an English paragraph changed after it was translated is found, by name.

    python -m helpers.translation extract notebooks/02_requests.ipynb > 02.md   # the English prose, cell by cell
    python -m helpers.translation apply notebooks/02_requests.ipynb 02.md       # its translation into notebooks/zh/
    python -m helpers.translation extract --stale notebooks/02_requests.ipynb   # only what changed in English since
    python -m helpers.translation extract --chinese notebooks/02_requests.ipynb # the Chinese text, to revise
    python -m helpers.translation sync notebooks/02_requests.ipynb              # carry code and cells over from English
    python -m helpers.translation check                                         # every difference, cell by cell

A translation file is the cells' texts, each after a line `%% cell <id>`:

    >>> parse_blocks("%% cell a1\\n# 02 · 用 requests\\n\\n%% cell b2\\n正文。\\n")
    {'a1': '# 02 · 用 requests', 'b2': '正文。'}
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

from .settings import NOTEBOOKS_DIR

ZH_DIR = NOTEBOOKS_DIR / "zh"
BLOCK_LINE = re.compile(r"^%% cell (\S+)[ \t]*$", re.MULTILINE)
# Metadata a cell may have in one edition only: when it last ran, and what a translated cell translates.
OWN_METADATA = ("execution", "translation")


def fingerprint(english: str) -> str:
    """A short fingerprint of an English cell's text: what `metadata.translation.of` holds.

    >>> fingerprint("## Recap")
    '18479b0d51b0'
    """
    return hashlib.sha256(english.encode("utf-8")).hexdigest()[:12]


def chinese_path(english: Path) -> Path:
    """notebooks/NN_x.ipynb -> notebooks/zh/NN_x.ipynb"""
    return english.parent / "zh" / english.name


def english_path(chinese: Path) -> Path:
    """notebooks/zh/NN_x.ipynb -> notebooks/NN_x.ipynb"""
    return chinese.parent.parent / chinese.name


def parse_blocks(text: str) -> dict[str, str]:
    """{cell id: its text} from a translation file (see the module's docstring)."""
    parts = BLOCK_LINE.split(text)
    if parts[0].strip():
        raise ValueError(f"text before the first '%% cell <id>' line: {parts[0].strip()[:60]!r}")
    blocks: dict[str, str] = {}
    for cell_id, body in zip(parts[1::2], parts[2::2]):
        if cell_id in blocks:
            raise ValueError(f"cell {cell_id} appears twice in the translation file")
        blocks[cell_id] = body.strip("\n")
    return blocks


def is_current(english_cell: Any, chinese_cell: Any) -> bool:
    """A markdown cell whose translation is of the English text as it is now."""
    of = chinese_cell.metadata.get("translation", {}).get("of")
    return of == fingerprint(english_cell.source)


def extract(english: Any, chinese: Any | None = None, stale_only: bool = False, in_chinese: bool = False) -> str:
    """The English notebook's markdown cells as a translation file; with stale_only, only those the Chinese
    notebook has not translated as they are now; with in_chinese, the Chinese text (to revise and apply again)."""
    by_id = {c.id: c for c in chinese.cells} if chinese is not None else {}
    out = []
    for cell in english.cells:
        if cell.cell_type != "markdown":
            continue
        if stale_only and cell.id in by_id and is_current(cell, by_id[cell.id]):
            continue
        text = by_id[cell.id].source if in_chinese and cell.id in by_id else cell.source
        out.append(f"%% cell {cell.id}\n{text}\n")
    return "\n".join(out)


def synced(english: Any, chinese: Any | None) -> Any:
    """The Chinese notebook rebuilt on the English one: the English cells, order, metadata and code, with each
    markdown cell's Chinese text (and what it translates) kept where the Chinese notebook has that cell, and each
    code cell's outputs kept where its code is unchanged. A new English markdown cell comes over in English, marked
    untranslated (no `translation`), until a translation of it is applied."""
    by_id = {c.id: c for c in chinese.cells} if chinese is not None else {}
    nb = copy.deepcopy(english)
    for cell in nb.cells:
        old = by_id.get(cell.id)
        if old is None or old.cell_type != cell.cell_type:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            continue
        if cell.cell_type == "markdown":
            cell.source = old.source
            if "translation" in old.metadata:
                cell.metadata["translation"] = copy.deepcopy(old.metadata["translation"])
        elif old.source == cell.source:
            cell.outputs, cell.execution_count = copy.deepcopy(old.outputs), old.execution_count
            if "execution" in old.metadata:
                cell.metadata["execution"] = copy.deepcopy(old.metadata["execution"])
        else:
            cell.outputs, cell.execution_count = [], None
    return nb


def apply(english: Any, chinese: Any | None, blocks: dict[str, str]) -> Any:
    """The Chinese notebook with the translated cells in `blocks` put in (and marked as translating the English
    text as it is now); every other cell as `synced` leaves it."""
    nb = synced(english, chinese)
    markdown = {c.id: c for c in nb.cells if c.cell_type == "markdown"}
    english_text = {c.id: c.source for c in english.cells}
    unknown = [cell_id for cell_id in blocks if cell_id not in markdown]
    if unknown:
        raise ValueError(f"no markdown cell with id {', '.join(unknown)} in the English notebook")
    for cell_id, text in blocks.items():
        markdown[cell_id].source = text
        markdown[cell_id].metadata["translation"] = {"of": fingerprint(english_text[cell_id])}
    return nb


def _comparable(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k not in OWN_METADATA}


def parity_problems(english: Any, chinese: Any, name: str) -> list[str]:
    """Every way the Chinese notebook is out of step with the English one, each naming the cell and what to do."""
    problems: list[str] = []
    fix = f"run `python -m helpers.translation sync notebooks/{name}`"
    en_meta = {k: v for k, v in english.metadata.items() if k != "language_info"}
    zh_meta = {k: v for k, v in chinese.metadata.items() if k != "language_info"}
    if en_meta != zh_meta:
        problems.append(f"zh/{name}: the notebook's metadata differs from the English one's; {fix}")
    en_ids = [(c.id, c.cell_type) for c in english.cells]
    zh_ids = [(c.id, c.cell_type) for c in chinese.cells]
    if en_ids != zh_ids:
        missing = [i for i, _ in en_ids if i not in {j for j, _ in zh_ids}]
        extra = [i for i, _ in zh_ids if i not in {j for j, _ in en_ids}]
        what = (f"missing {missing}" if missing else "") + (" and " if missing and extra else "") + \
               (f"has cells the English one no longer has {extra}" if extra else "")
        problems.append(f"zh/{name}: not the English cells in the English order ({what or 'reordered'}); {fix}")
        return problems
    for i, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        where = f"zh/{name} cell {i} (id {en.id})"
        if _comparable(en.metadata) != _comparable(zh.metadata):
            problems.append(f"{where}: its metadata (tags, slides) differs from the English cell's; {fix}")
        if en.cell_type == "code":
            if en.source != zh.source:
                problems.append(f"{where}: its code differs from the English cell's; {fix}, then execute it")
        elif "translation" not in zh.metadata:
            problems.append(f"{where}: not translated yet (it is the English text); translate it and apply")
        elif not is_current(en, zh):
            problems.append(f"{where}: the English text changed after it was translated; carry the change over "
                            f"(`python -m helpers.translation extract --stale notebooks/{name}`) and apply")
    return problems


def _read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def _write(nb: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.translation", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="print the English prose to translate")
    p.add_argument("--stale", action="store_true", help="only cells not yet translated as the English now reads")
    p.add_argument("--chinese", action="store_true", help="the Chinese text of each cell, to revise and apply")
    p.add_argument("notebook", type=Path)
    p = sub.add_parser("apply", help="put a translation file into the Chinese notebook")
    p.add_argument("notebook", type=Path)
    p.add_argument("translation", type=Path)
    p = sub.add_parser("sync", help="rebuild Chinese notebooks on the English ones (code, cells, metadata)")
    p.add_argument("notebooks", type=Path, nargs="+")
    p = sub.add_parser("check", help="report every difference between the editions")
    p.add_argument("notebooks", type=Path, nargs="*")
    args = parser.parse_args(argv)

    if args.command == "extract":
        zh = chinese_path(args.notebook)
        print(extract(_read(args.notebook), _read(zh) if zh.exists() else None, args.stale, args.chinese), end="")
    elif args.command == "apply":
        zh = chinese_path(args.notebook)
        try:
            blocks = parse_blocks(args.translation.read_text(encoding="utf-8"))
            nb = apply(_read(args.notebook), _read(zh) if zh.exists() else None, blocks)
        except ValueError as error:
            print(f"{args.translation}: {error}", file=sys.stderr)
            return 2
        _write(nb, zh)
        print(f"wrote {zh} ({len(blocks)} cells translated); now execute it: python -m helpers.notebooks execute {zh}")
    elif args.command == "sync":
        for path in args.notebooks:
            zh = chinese_path(path)
            _write(synced(_read(path), _read(zh) if zh.exists() else None), zh)
            print(f"synced {zh}")
    else:
        paths = args.notebooks or sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
        problems = []
        for path in paths:
            zh = chinese_path(path)
            problems += parity_problems(_read(path), _read(zh), path.name) if zh.exists() else \
                [f"zh/{path.name}: no Chinese notebook yet"]
        print("\n".join(problems) or "the two editions are in step")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
