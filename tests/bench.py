"""make bench: the local server and the notebook suite measured against their floors, side by side in one run.

    .venv/bin/python -m tests.bench                  # everything (the notebooks and the suite take minutes)
    .venv/bin/python -m tests.bench --skip-notebooks # only (a), (c) and (e)
    .venv/bin/python -m tests.bench --suite-only --runs 3 --hogs 2   # steady under load? (make bench-load)

(a) The local server (tests.bench_server): latency per request (a non-stream chat completion replayed at pace 0,
    one keep-alive client) against a bare app on the same stack answering the same bytes, and against a bare
    http.server; start-up (the first cell's start()) against a bare import of the stack.
(b) The whole notebook suite, run as the tests run it (replay mode, in fresh kernels), against the floor of
    starting and stopping that many kernels with one trivial cell each.
(c) The rate-limit lesson's best approach: the fraction of the tier's allowed throughput it reaches.
(d) The whole test suite (make test) against its floor, optionally beside CPU-bound processes (make bench-load).
(e) Grading a classroom: 40 submissions of one notebook against the floor of 40 kernel starts (tests/bench_grading.py).

The figures are printed and written to bench-results/latest.json (git-ignored). Numbers vary with the machine;
compare ratios, not milliseconds.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
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


CPU_CELL = ("import resource as _r\n"
            "print(sum(getattr(_r.getrusage(w), f) for w in (_r.RUSAGE_SELF, _r.RUSAGE_CHILDREN)"
            " for f in ('ru_utime', 'ru_stime')))")


def _run_notebook(path: Path) -> tuple[float, float, str]:
    """Run a notebook top to bottom in a fresh kernel at its test pace (as nbval does); its file is left untouched.
    Returns (seconds, CPU seconds of the kernel and its child processes, status)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from helpers.notebooks import pace_for_tests

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
    os.environ["KIMI_REPLAY_PACE"] = pace_for_tests(path)  # the kernel inherits it
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines, not cell output
        status = "ok"
    except CellExecutionError as exc:
        status = "error: " + str(exc).strip().splitlines()[-1][:120]
    except Exception as exc:  # a notebook being written may be broken in any way: time it and say so
        status = f"error: {exc.__class__.__name__}: {str(exc)[:120]}"
    took = time.perf_counter() - started
    printed = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
    try:
        cpu = float(printed.strip().splitlines()[-1])
    except (ValueError, IndexError):
        cpu = float("nan")
    return took, cpu, status


def bench_notebooks() -> dict[str, Any]:
    """Every notebook as the tests run it (replay mode, its test pace, a fresh kernel), with what its kernel spent
    on the CPU; the rest of its time it waited: the waits the lessons make on purpose (timeouts, retries, rate
    limits). The suite's floor is the kernel starts plus those waits, divided over the CPUs."""
    use_test_environment()
    # Both editions: the Chinese notebooks (notebooks/zh/) run under nbval too, with the same code and the same waits.
    notebooks = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb")) + sorted((NOTEBOOKS_DIR / "zh").glob("[0-9]*.ipynb"))
    if not notebooks:
        return {"notebooks": 0, "note": "no notebooks yet"}
    per_notebook = []
    for path in notebooks:
        took, cpu, status = _run_notebook(path)
        per_notebook.append({"notebook": path.relative_to(NOTEBOOKS_DIR).as_posix(), "pace": float(os.environ["KIMI_REPLAY_PACE"]),
                             "seconds": round(took, 2), "cpu_s": round(cpu, 2),
                             "waits_s": round(max(took - cpu, 0.0), 2), "status": status})
    use_test_environment()
    kernel = statistics.median(_kernel_floor() for _ in range(3))
    cpus = os.cpu_count() or 1
    waits = sum(n["waits_s"] for n in per_notebook)
    return {"notebooks": len(notebooks), "kernel_start_s": round(kernel, 2), "waits_s": round(waits, 2),
            "run_s": round(sum(n["seconds"] for n in per_notebook), 2),
            "floor_s": round((kernel * len(notebooks) + waits) / cpus, 2), "cpus": cpus,
            "failed": sum(1 for n in per_notebook if n["status"] != "ok"), "per_notebook": per_notebook}


# ---- (d) the whole test suite ----------------------------------------------------------------------------------
HOG = "while True:\n    pass\n"


def bench_suite(runs: int = 1, hogs: int = 0) -> dict[str, Any]:
    """`make test` (pytest with the project's options) timed, `runs` times in a row, with `hogs` CPU-bound
    processes running beside it the whole time (--hogs 2: is the suite steady on a busy machine?)."""
    results = []
    load_before = os.getloadavg()[0]
    started_hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    try:
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=REPO_ROOT,
                                  capture_output=True, text=True)
            took = time.perf_counter() - started
            summary = next((line.strip("= ") for line in reversed(done.stdout.splitlines())
                            if " in " in line and ("passed" in line or "failed" in line)), "no summary")
            failures = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
            reasons = [line for line in done.stdout.splitlines() if line.startswith("E   ")]  # why, in the JSON
            results.append({"seconds": round(took, 1), "exit": done.returncode, "summary": summary,
                            "failures": failures[:20], "reasons": reasons[:60]})
    finally:
        for hog in started_hogs:
            hog.kill()
            hog.wait()
    return {"hogs": hogs, "load_before": round(load_before, 2), "runs": results}


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
        lines += ["", f"(b) notebooks: {b['notebooks']} notebook(s), replay mode, each at its test pace in a fresh kernel"]
        if b.get("notebooks"):
            lines.append(f"      {'':40}{'pace':>6}{'seconds':>10}{'CPU s':>8}{'waits s':>9}")
            for n in b["per_notebook"]:
                problem = "" if n["status"] == "ok" else f"  {n['status']}"
                lines.append(f"      {n['notebook']:40}{n['pace']:>6g}{n['seconds']:>10.1f}{n['cpu_s']:>8.1f}"
                             f"{n['waits_s']:>9.1f}{problem}")
            lines.append(f"      {'top to bottom, one after another':40}{'':>6}{b['run_s']:>10.1f}")
            lines.append(f"    floor = ({b['notebooks']} kernel starts × {b['kernel_start_s']:.2f} s + {b['waits_s']:.1f} s of "
                         f"waits the lessons make) / {b['cpus']} CPUs = {b['floor_s']:.1f} s")
        else:
            lines.append(f"    {b.get('note')}")
    c = results.get("rate_limit")
    if c:
        lines += ["", "(c) rate-limit lesson, best approach: fraction of the tier's allowed throughput reached"]
        if c.get("achieved_fraction") is not None:
            lines.append(f"    {c['achieved_fraction']:.3f}  ({c['source']}, {c['seconds']:.1f} s)")
        else:
            lines.append(f"    {c['note']}")
    d = results.get("suite")
    if d:
        floor = (b or {}).get("floor_s")
        lines += ["", f"(d) make test (pytest with the project's options), {len(d['runs'])} run(s)"
                  + (f" beside {d['hogs']} CPU-bound processes" if d["hogs"] else "")
                  + f"; load average before: {d['load_before']:.2f}"]
        for r in d["runs"]:
            ratio = f"   {r['seconds'] / floor:.2f}× the floor" if floor else ""
            lines.append(f"    {r['seconds']:>7.1f} s  exit {r['exit']}  {r['summary']}{ratio}")
            lines += [f"      {f}" for f in r["failures"]]
    e = results.get("grading")
    if e:
        from tests.bench_grading import report as grading_report

        lines += ["", grading_report(e)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per server for (a) (default 2000)")
    parser.add_argument("--skip-notebooks", action="store_true", help="leave out (b) and (d), the slow parts")
    parser.add_argument("--skip-suite", action="store_true", help="leave out (d), the whole test suite")
    parser.add_argument("--suite-only", action="store_true", help="only (b) and (d): the suite against its floor")
    parser.add_argument("--runs", type=int, default=1, help="times to run the suite in (d) (default 1)")
    parser.add_argument("--hogs", type=int, default=0, help="CPU-bound processes to run beside the suite in (d)")
    parser.add_argument("--skip-grading", action="store_true", help="leave out (e), grading 40 submissions")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
                               "cpus": os.cpu_count(), "platform": platform.platform(terse=True)}
    if not args.suite_only:
        print("(a) timing the local server against its floors ...", file=sys.stderr, flush=True)
        results["server"] = bench_server(args.requests)
    if not args.skip_notebooks:
        print("(b) running the notebooks, then the kernel floor ...", file=sys.stderr, flush=True)
        results["notebooks"] = bench_notebooks()
    if not args.suite_only:
        print("(c) running the rate-limit lesson's best approach ...", file=sys.stderr, flush=True)
        results["rate_limit"] = bench_rate_limit()
    if not (args.skip_notebooks or args.skip_suite):
        print(f"(d) running the test suite ({args.runs}×, {args.hogs} CPU hogs beside it) ...", file=sys.stderr, flush=True)
        results["suite"] = bench_suite(args.runs, args.hogs)

    if not (args.skip_grading or args.suite_only):
        from tests.bench_grading import bench_grading

        print("(e) grading 40 submissions, then the floor of 40 kernel starts ...", file=sys.stderr, flush=True)
        results["grading"] = bench_grading()

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(report(results), flush=True)
    print(f"\nwritten to {args.output.relative_to(REPO_ROOT) if args.output.is_relative_to(REPO_ROOT) else args.output}")
    failed = any(r["exit"] != 0 for r in results.get("suite", {}).get("runs", []))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
