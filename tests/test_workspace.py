"""helpers.workspace writes what a lesson's %%writefile cells write, byte for byte as IPython does."""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import nbformat
import pytest

from helpers.settings import REPO_ROOT
from helpers.workspace import write_files_of, writefile_target

LESSONS = [REPO_ROOT / "notebooks" / "09_write_your_client.ipynb", REPO_ROOT / "notebooks" / "10_test_and_use_your_client.ipynb"]


def ipython_writes(notebook: Path, folder: Path) -> dict[str, bytes]:
    """Run the notebook's %%writefile cells in a real IPython shell, in `folder`; return what is on disk."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    here = os.getcwd()
    os.chdir(folder)
    try:
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code" and writefile_target(cell.source.partition("\n")[0]):
                name = writefile_target(cell.source.partition("\n")[0])[0]
                Path(name).parent.mkdir(parents=True, exist_ok=True)
                with redirect_stdout(StringIO()):
                    result = shell.run_cell(cell.source)
                assert result.success, result.error_in_exec
    finally:
        os.chdir(here)
        InteractiveShell.clear_instance()
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_the_files_are_what_ipython_writes(notebook, tmp_path, capsys):
    for folder in ("ipython", "here"):
        (tmp_path / folder).mkdir()
        if notebook.name.startswith("10"):  # 10 appends to the files 09 wrote: both start from them
            write_files_of(LESSONS[0], tmp_path / folder)
    expected = ipython_writes(notebook, tmp_path / "ipython")
    assert len(expected) >= 4, "the lesson writes its files with %%writefile cells"
    capsys.readouterr()
    write_files_of(notebook, tmp_path / "here")
    got = {str(p.relative_to(tmp_path / "here")): p.read_bytes() for p in sorted((tmp_path / "here").rglob("*"))
           if p.is_file()}
    assert got == expected
    printed = capsys.readouterr().out.splitlines()
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.source.startswith("%%writefile")]
    assert len(printed) == len(cells) and all(line.split()[0] in ("Writing", "Appending", "Overwriting")
                                                for line in printed), printed


def test_lesson_10_starts_from_the_package_09_wrote(tmp_path, capsys):
    write_files_of("09_write_your_client.ipynb", tmp_path)  # found in notebooks/ from anywhere
    written = sorted(p.name for p in (tmp_path / "workspace" / "kimi_client").iterdir())
    assert written == ["__init__.py", "config.py", "errors.py", "streaming.py"]
    assert capsys.readouterr().out.splitlines()[0] == "Writing workspace/kimi_client/__init__.py"
    assert "class QuotaExceeded" in (tmp_path / "workspace/kimi_client/errors.py").read_text(encoding="utf-8")


def test_a_notebook_that_is_not_there_says_where_to_run_from(tmp_path):
    with pytest.raises(FileNotFoundError, match="run this from the notebooks/ folder"):
        write_files_of(tmp_path / "99_nothing.ipynb")
