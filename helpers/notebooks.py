"""Notebook tooling for maintainers and instructors: run notebooks, build solution copies.

    python -m helpers.notebooks execute notebooks/01_curl.ipynb     # store fresh outputs (replay mode)
    python -m helpers.notebooks solutions notebooks/01_curl.ipynb   # instructor/01_curl-solutions.ipynb

An exercise cell begins with a line `# Exercise NN.K ...` and holds blanks (`...`).
Its solution lives in solutions/<notebook name>.py, in a section headed `# %% Exercise NN.K`.
A solution notebook is the learner's notebook with each exercise cell's body replaced by its
solution, so the two cannot drift apart: the tests build and run one for every notebook.

Example:
    >>> parse_solutions("# %% Exercise 01.1\\nurl = 'x'\\n")
    {'01.1': "url = 'x'"}
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path

import nbformat

from .settings import DEFAULT_MODEL, REPO_ROOT

EXERCISE_LINE = re.compile(r"^# Exercise (\d\d\.\d+)\b")
CHECK_CALL = re.compile(r'\bcheck\(\s*"(\d\d\.\d+)"')  # a check cell: check("NN.K", ...)
SOLUTION_HEADER = re.compile(r"^# %% Exercise (\d\d\.\d+)\s*$", re.MULTILINE)
SHELL_CAPTURE = re.compile(r'^(\w+) = get_ipython\(\)\.getoutput\(r"""(.*?)"""\)$', re.MULTILINE | re.DOTALL)
SOLUTIONS_DIR = REPO_ROOT / "solutions"
INSTRUCTOR_DIR = REPO_ROOT / "instructor"


# Tests replay recordings at pace 0 (instantly): a stored output never shows how long a reply took, so pacing
# would only add waiting. A notebook whose cells measure the pacing itself is tested at the recorded pace.
# KIMI_TEST_PACE=1 tests every notebook as recorded.
TEST_PACE = "0"
PACE_FOR = {
    "06_streaming": "1",  # section 5 times a stream: its first words must come before its end, as recorded
}


def pace_for_tests(notebook: Path | str) -> str:
    """The replay pace a notebook is tested (and its outputs stored) at."""
    return os.environ.get("KIMI_TEST_PACE") or PACE_FOR.get(Path(notebook).stem, TEST_PACE)


def use_test_environment() -> None:
    """Set this process's environment to the one notebooks are tested in: replay mode, no key, the
    default model, the test pace. Kernels started afterwards inherit it, and start() in them runs a
    replay server. Every variable the course reads is set here, so a maintainer's .env changes nothing.
    PYTEST_ADDOPTS goes too (this run has read it already): the pytest that lesson 10 runs in a `!` shell
    must print the same whatever options a maintainer gave the suite."""
    for name in ("MOONSHOT_API_KEY", "KIMI_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "KIMI_RECORDINGS_DIR",
                 "KIMI_RECORD_OVERWRITE", "PYTEST_ADDOPTS"):
        os.environ.pop(name, None)
    os.environ["KIMI_MODE"] = "replay"
    os.environ["KIMI_MODEL"] = DEFAULT_MODEL
    os.environ["KIMI_REPLAY_PACE"] = os.environ.get("KIMI_TEST_PACE") or TEST_PACE


def exercise_id(cell) -> str | None:
    """The exercise id of a code cell that starts with `# Exercise NN.K`, else None."""
    if cell.cell_type != "code":
        return None
    first = cell.source.split("\n", 1)[0]
    match = EXERCISE_LINE.match(first)
    return match.group(1) if match else None


def checked_ids(source: str) -> list[str]:
    """The exercises a cell checks.

    Example:
        >>> checked_ids('check("01.1", out=out)\\nhint("01.2")')
        ['01.1']
    """
    return CHECK_CALL.findall(source)


def parse_solutions(text: str) -> dict[str, str]:
    """Split a solutions file into {exercise id: code}."""
    parts = SOLUTION_HEADER.split(text)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}


def as_cell_source(code: str) -> str:
    r'''A solution as the notebook cell shows it: the file is plain Python, so a shell cell is written there as
    the call IPython makes of it, `out = get_ipython().getoutput(r"""cmd""")`, and becomes `out = !cmd` again.

    >>> print(as_cell_source('out = get_ipython().getoutput(r"""curl -sS $URL \\\n  -i""")\nprint(out)'))
    out = !curl -sS $URL \
      -i
    print(out)
    '''
    return SHELL_CAPTURE.sub(lambda m: f"{m.group(1)} = !{m.group(2)}", code)


def solutions_for(notebook: Path) -> dict[str, str]:
    """{exercise id: the code of its cell body}, from solutions/<notebook name>.py."""
    path = SOLUTIONS_DIR / f"{notebook.stem}.py"
    if not path.exists():
        return {}
    return {ex: as_cell_source(code) for ex, code in parse_solutions(path.read_text(encoding="utf-8")).items()}


def exercise_ids(nb) -> list[str]:
    return [i for i in (exercise_id(c) for c in nb.cells) if i]


def solution_notebook(notebook: Path):
    """The notebook with every exercise cell's body replaced by its solution."""
    nb = nbformat.read(notebook, as_version=4)
    solutions = solutions_for(notebook)
    for cell in nb.cells:
        ex = exercise_id(cell)
        if ex is None:
            continue
        if ex not in solutions:
            raise KeyError(f"{notebook.name}: exercise {ex} has no solution in solutions/{notebook.stem}.py")
        first = cell.source.split("\n", 1)[0]
        cell.source = first + "\n" + solutions[ex]
        cell.outputs, cell.execution_count = [], None
    missing = set(solutions) - set(exercise_ids(nb))
    if missing:
        raise KeyError(f"solutions/{notebook.stem}.py has solutions for exercises not in the notebook: {sorted(missing)}")
    return nb


# A line up to a carriage return that the next character overwrites: tqdm redraws its bar this way. A run of `\r`
# before a newline is a line end, as in a terminal and JupyterLab (a `!curl -i` header line ends `\r\r\n`).
# nbval's own pattern (`^.*\r(?=[^\n])`) removes at least as much, so it compares these as it would the raw ones.
OVERWRITTEN = re.compile(r"^[^\n]*\r(?=[^\r\n])", re.MULTILINE)


def coalesce_streams(outputs: list) -> list:
    r"""Outputs as JupyterLab shows them: consecutive stream outputs of one name (stdout, stderr) become one, and a
    line redrawn with carriage returns (a progress bar) keeps only its final state. `\r\n` line ends stay.

    A kernel sends each write of a stream as its own message; stored that way, every exporter and GitHub shows each
    write as its own block (a streamed answer as a column of 2-character pieces, a bar as 50 lines).

    >>> outs = [{"output_type": "stream", "name": "stdout", "text": t} for t in ("\rbar 0/2", "\rbar 2/2", "\ndone\n")]
    >>> [o["text"] for o in coalesce_streams(outs)]
    ['bar 2/2\ndone\n']
    >>> outs = [{"output_type": "stream", "name": "stdout", "text": "a"}, {"output_type": "stream", "name": "stderr",
    ...         "text": "b"}, {"output_type": "stream", "name": "stderr", "text": "c\r\n"}]
    >>> [(o["name"], o["text"]) for o in coalesce_streams(outs)]
    [('stdout', 'a'), ('stderr', 'bc\r\n')]
    >>> coalesce_streams([{"output_type": "stream", "name": "stdout", "text": "HTTP/1.1 200 OK\r\r\nx\r\ry\n"}])[0]["text"]
    'HTTP/1.1 200 OK\r\r\ny\n'
    """
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if output["output_type"] == "stream" and last is not None and last["output_type"] == "stream" \
                and last["name"] == output["name"]:
            last["text"] += output["text"]
        else:
            merged.append(copy.deepcopy(output))
    for output in merged:
        if output["output_type"] == "stream":
            output["text"] = OVERWRITTEN.sub("", output["text"])
    return merged


def _as_nbval_compares(outputs: list) -> list:
    """What nbval compares a cell's outputs as: every stream of a name merged into its first, then collapsed."""
    from nbval.plugin import coalesce_streams as nbval_coalesce

    return [dict(o) for o in nbval_coalesce([nbformat.from_dict(copy.deepcopy(o)) for o in outputs])]


def execute(nb, cwd: Path, timeout: int = 600):
    """Run a notebook top to bottom in a fresh kernel, as JupyterLab would, and keep each cell's outputs as
    JupyterLab shows them (coalesce_streams). nbval compares the stored outputs exactly as it would the raw ones."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    for index, cell in enumerate(nb.cells):
        if cell.get("outputs"):
            outputs = coalesce_streams(cell.outputs)
            if _as_nbval_compares(outputs) != _as_nbval_compares(cell.outputs):  # a line redrawn across a plot
                raise RuntimeError(f"cell {index}: its coalesced outputs would not compare under nbval as its raw ones"
                                   " do; end a progress line (print a newline) before displaying something else")
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return nb


def strip_local_paths(nb):
    """Make the paths in stored tracebacks relative: the checkout's and the environment's folders are local.

    nbval does not compare tracebacks, so this changes nothing a test checks; it keeps a maintainer's folder
    names out of the repository. `.../site-packages/openai/_client.py` becomes `site-packages/openai/_client.py`.
    """
    import site
    import sysconfig

    prefixes = sorted({str(Path(p)) + "/" for p in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]},
                      key=len, reverse=True)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            lines = []
            for line in output.get("traceback", []):
                for prefix in prefixes:
                    line = line.replace(prefix, "site-packages/")
                line = line.replace(str(REPO_ROOT) + "/", "").replace(sys.prefix + "/", "")
                lines.append(line)
            output["traceback"] = lines
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.notebooks")
    parser.add_argument("command", choices=["execute", "solutions"])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if os.environ.get("KIMI_MODE") == "record":
        os.environ["KIMI_MODEL"] = DEFAULT_MODEL  # recordings are of the course's model, whatever .env says
    else:
        use_test_environment()  # outputs are stored exactly as the tests will compare them
    for path in args.notebooks:
        if os.environ["KIMI_MODE"] != "record":
            os.environ["KIMI_REPLAY_PACE"] = pace_for_tests(path)
        if args.command == "execute":
            nb = nbformat.read(path, as_version=4)
            execute(nb, path.parent)
            nbformat.write(strip_local_paths(nb), path)
            print(f"executed {path}")
        else:
            INSTRUCTOR_DIR.mkdir(exist_ok=True)
            nb = execute(solution_notebook(path), path.parent)
            target = INSTRUCTOR_DIR / f"{path.stem}-solutions.ipynb"
            nbformat.write(nb, target)
            print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
