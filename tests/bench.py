"""make bench: the local server and the notebook suite measured against their floors, side by side in one run.

    .venv/bin/python -m tests.bench                  # everything (the notebooks take a minute or more)
    .venv/bin/python -m tests.bench --skip-notebooks # only (a) and (c)

(a) The local server (tests.bench_server): latency per request (a non-stream chat completion replayed at pace 0,
    one keep-alive client) against a bare app on the same stack answering the same bytes, and against a bare
    http.server; start-up (the first cell's start()) against a bare import of the stack.
(b) The whole notebook suite, run as the tests run it (replay mode, in fresh kernels), against the floor of
    starting and stopping that many kernels with one trivial cell each.
(c) The rate-limit lesson's best approach: the fraction of the tier's allowed throughput it reaches.
(d) Grading a classroom: 40 submissions of one notebook against the floor of 40 kernel starts (tests/bench_grading.py).

The figures are printed and written to bench-results/latest.json (git-ignored). Numbers vary with the machine;
compare ratios, not milliseconds.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from helpers.notebooks import use_test_environment
from helpers.settings import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RESULTS = REPO_ROOT / "bench-results" / "latest.json"
# Where the rate-limit lesson keeps its measurement; the first that exists is used.
FRACTION_FUNCTIONS = [("helpers.batch", "achieved_fraction"), ("helpers.limits", "best_batch_fraction"),
                      ("helpers.limits", "achieved_fraction")]


# ---- (a) the local server: latency per request and start-up, against its floors (tests.bench_server) ---------
def bench_server(requests: int) -> dict[str, Any]:
    from tests.bench_server import bench_latency, bench_startup

    return {"latency": bench_latency(n=requests), "startup": bench_startup()}


# ---- (b) the notebook suite --------------------------------------------------------------------------------
def _kernel_floor() -> float:
    """Start a kernel, run one trivial cell, stop it: what every notebook pays before its first line."""
    from jupyter_client.manager import start_new_kernel

    started = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(NOTEBOOKS_DIR), stderr=subprocess.DEVNULL)
    try:
        reply = kc.execute_interactive("1 + 1", timeout=60, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the trivial cell failed: {reply['content']}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    return time.perf_counter() - started


def _run_notebook(path: Path) -> tuple[float, str]:
    """Run a notebook top to bottom in a fresh kernel (as nbval does); its file is left untouched."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines, not cell output
        status = "ok"
    except CellExecutionError as exc:
        status = "error: " + str(exc).strip().splitlines()[-1][:120]
    except Exception as exc:  # a notebook being written may be broken in any way: time it and say so
        status = f"error: {exc.__class__.__name__}: {str(exc)[:120]}"
    return time.perf_counter() - started, status


def bench_notebooks(with_pace_zero: bool = True) -> dict[str, Any]:
    """The suite as the tests run it (recorded delays replayed at KIMI_REPLAY_PACE, 1 unless set), and again at
    pace 0, which leaves only the notebooks' own work; both against the kernel floor."""
    use_test_environment()
    notebooks = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
    if not notebooks:
        return {"notebooks": 0, "note": "no notebooks yet"}
    paces = [os.environ["KIMI_REPLAY_PACE"]] + (["0"] if with_pace_zero and float(os.environ["KIMI_REPLAY_PACE"]) else [])
    tested_pace = os.environ["KIMI_REPLAY_PACE"]
    runs = {}
    for pace in paces:
        os.environ["KIMI_REPLAY_PACE"] = pace  # kernels inherit this process's environment
        per_notebook = []
        for path in notebooks:
            took, status = _run_notebook(path)
            per_notebook.append({"notebook": path.name, "seconds": round(took, 2), "status": status})
        runs[pace] = per_notebook
    os.environ["KIMI_REPLAY_PACE"] = tested_pace
    floors = [_kernel_floor() for _ in notebooks]
    floor = sum(floors)
    result: dict[str, Any] = {"notebooks": len(notebooks), "kernel_floor_s": round(floor, 2), "runs": []}
    for pace, per_notebook in runs.items():
        suite = sum(n["seconds"] for n in per_notebook)
        result["runs"].append({"replay_pace": float(pace), "suite_s": round(suite, 2), "ratio": round(suite / floor, 2),
                               "failed": sum(1 for n in per_notebook if n["status"] != "ok"),
                               "per_notebook": per_notebook})
    return result


# ---- (c) the rate-limit lesson ----------------------------------------------------------------------------------
def bench_rate_limit() -> dict[str, Any]:
    for module_name, function_name in FRACTION_FUNCTIONS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        function = getattr(module, function_name, None)
        if callable(function):
            started = time.perf_counter()
            fraction = function()
            return {"source": f"{module_name}.{function_name}()", "achieved_fraction": round(float(fraction), 3),
                    "seconds": round(time.perf_counter() - started, 2)}
    looked_for = ", ".join(f"{m}.{f}" for m, f in FRACTION_FUNCTIONS)
    return {"achieved_fraction": None, "note": f"not available yet (looked for {looked_for})"}


# ---- report ---------------------------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> str:
    lines = [f"make bench · {results['when']} · Python {results['python']} · {results['cpus']} CPUs · {results['platform']}"]
    a = results.get("server")
    if a:
        lat, up = a["latency"], a["startup"]
        lines += ["",
                  f"(a) local server, latency per request: non-stream chat completion, replay at pace 0, one keep-alive "
                  f"client ({lat['local']['requests']} requests each, interleaved)",
                  f"    {'':36}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}"]
        for key, label in (("stack", "bare app, same stack (the floor)"), ("stdlib", "bare http.server"),
                           ("local", "local Kimi server")):
            lines.append(f"    {label:36}{lat[key]['p50_ms']:>10.3f}{lat[key]['p99_ms']:>10.3f}{lat[key]['mean_ms']:>10.3f}")
        lines += [f"    {'ratio local / same stack':36}{lat['ratio_p50_vs_stack']:>9.2f}×{lat['ratio_p99_vs_stack']:>9.2f}×"
                  "   (goal ≤ 1.3×)",
                  f"    {'ratio local / http.server':36}{lat['ratio_p50_vs_stdlib']:>9.2f}×{lat['ratio_p99_vs_stdlib']:>9.2f}×",
                  f"    start-up: first cell's start() {up['start_ms']:.0f} ms, bare import of the stack "
                  f"{up['stack_import_ms']:.0f} ms: {up['ratio']:.2f}× (rounds {up['ratio_range'][0]:.2f}–"
                  f"{up['ratio_range'][1]:.2f}×; goal ≤ 1.5×)"]
    b = results.get("notebooks")
    if b:
        lines += ["", f"(b) notebook suite: {b['notebooks']} notebook(s), replay mode, fresh kernel each"]
        if b.get("notebooks"):
            runs = b["runs"]
            label = {1.0: "as tested (pace 1)", 0.0: "pace 0 (no replayed delays)"}
            lines.append(f"    {'':36}" + "".join(f"{label.get(r['replay_pace'], 'pace %g' % r['replay_pace']):>30}" for r in runs))
            lines.append(f"    {'kernel start + 1 cell + stop (floor)':36}" + f"{b['kernel_floor_s']:>28.1f} s" * len(runs))
            lines.append(f"    {'notebooks run top to bottom':36}" + "".join(f"{r['suite_s']:>28.1f} s" for r in runs))
            lines.append(f"    {'ratio (suite / floor)':36}" + "".join(f"{r['ratio']:>28.2f}×" for r in runs))
            for i, n in enumerate(runs[0]["per_notebook"]):
                cells = "".join(f"{r['per_notebook'][i]['seconds']:>28.1f} s" for r in runs)
                problems = "; ".join(f"pace {r['replay_pace']:g}: {r['per_notebook'][i]['status']}" for r in runs
                                     if r["per_notebook"][i]["status"] != "ok")
                lines.append(f"      {n['notebook']:34}{cells}  {problems}".rstrip())
        else:
            lines.append(f"    {b.get('note')}")
    c = results.get("rate_limit")
    if c:
        lines += ["", "(c) rate-limit lesson, best approach: fraction of the tier's allowed throughput reached"]
        if c.get("achieved_fraction") is not None:
            lines.append(f"    {c['achieved_fraction']:.3f}  ({c['source']}, {c['seconds']:.1f} s)")
        else:
            lines.append(f"    {c['note']}")
    d = results.get("grading")
    if d:
        from tests.bench_grading import report as grading_report

        lines += ["", grading_report(d)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per server for (a) (default 2000)")
    parser.add_argument("--skip-notebooks", action="store_true", help="leave out (b), the slow part")
    parser.add_argument("--skip-grading", action="store_true", help="leave out (d), grading 40 submissions")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
                               "cpus": os.cpu_count(), "platform": platform.platform(terse=True)}
    print("(a) timing the local server against its floors ...", file=sys.stderr, flush=True)
    results["server"] = bench_server(args.requests)
    if not args.skip_notebooks:
        print("(b) running the notebooks, then the kernel floor ...", file=sys.stderr, flush=True)
        results["notebooks"] = bench_notebooks()
    print("(c) running the rate-limit lesson's best approach ...", file=sys.stderr, flush=True)
    results["rate_limit"] = bench_rate_limit()

    if not args.skip_grading:
        from tests.bench_grading import bench_grading

        print("(d) grading 40 submissions, then the floor of 40 kernel starts ...", file=sys.stderr, flush=True)
        results["grading"] = bench_grading()

    print(report(results), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output.relative_to(REPO_ROOT) if args.output.is_relative_to(REPO_ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
