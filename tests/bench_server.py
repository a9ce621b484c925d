"""The local server measured against its floors, side by side in one run (part of `make bench`).

Latency per request — a non-stream chat completion replayed at pace 0, one keep-alive client — of:
  local     the course server (helpers.server.KimiServer)
  stack     a bare app on the same stack (uvicorn + h11, Starlette's Request and Response) answering the same
            bytes (body and headers): the floor that counts, everything above it is the course's own work
            (goal: at most 1.3x)
  stdlib    a bare http.server answering the same bytes (the floor the server had before it moved to uvicorn)
Start-up — the first cell's `start()` in a fresh Python process, against a bare import of the stack in a fresh
process: the modules a bare app on it loads before it serves (goal: at most 1.5x). The two take turns; the ratio
is the median of the rounds' ratios, so a slow moment of the machine counts against both.

    .venv/bin/python -m tests.bench_server
"""
from __future__ import annotations

import asyncio
import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from helpers.recordings import Recording
from helpers.settings import RECORDINGS_DIR, REPLAY_API_KEY, REPO_ROOT


class _StdlibFloor(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    answer = b"{}"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _StackFloor:
    """A bare app on the course server's stack, in a thread: uvicorn (h11) with Starlette's Request reading the
    body and Starlette's Response answering fixed bytes with the same headers the course server sends (so both put
    the same bytes on the wire). Everything the course server does beyond this is its own work."""

    def __init__(self, answer: bytes, headers: dict[str, str]) -> None:
        import uvicorn
        from starlette.requests import Request
        from starlette.responses import Response

        from helpers.server import _http_date

        own = [(k.encode(), v.encode()) for k, v in headers.items() if k.lower() != "content-type"]
        content_type = headers.get("Content-Type", "application/json; charset=utf-8").encode()

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await Request(scope, receive).body()
            response = Response(answer)
            response.raw_headers = [(b"Date", _http_date()), (b"Content-Type", content_type),
                                    (b"Content-Length", str(len(answer)).encode()), *own,
                                    (b"Server", b"kimi-course-local")]
            await response(scope, receive, send)

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY, as the server
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        config = uvicorn.Config(app, interface="asgi3", http="h11", ws="none", lifespan="off", log_config=None,
                                access_log=False, server_header=False, date_header=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.001)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _timed_requests(port: int, body: bytes, headers: dict[str, str], n: int) -> list[float]:
    """n requests on one keep-alive connection; seconds each, from sending to the last byte of the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    took = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            took.append(time.perf_counter() - started)
            if response.status != 200 or not data:
                raise RuntimeError(f"answered {response.status}: {data[:200]!r}")
    finally:
        conn.close()
    return took


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values, 50) * 1000, 3), "p99_ms": round(_percentile(values, 99) * 1000, 3),
            "mean_ms": round(statistics.fmean(values) * 1000, 3), "requests": len(values)}


def bench_latency(n: int = 3000, warmup: int = 300, rounds: int = 6) -> dict[str, Any]:
    from helpers.server import KimiServer

    recording = Recording.from_file(RECORDINGS_DIR / "l08-paraphrase-01.json")  # the lab's paraphrase request, with the course's model
    body = json.dumps(recording.request["body"], ensure_ascii=False).encode("utf-8")
    headers = {"Authorization": f"Bearer {REPLAY_API_KEY}", "Content-Type": "application/json"}
    answer = recording.encoded_body()
    _StdlibFloor.answer = answer

    kimi = KimiServer(mode="replay", pace=0).start()
    stack = _StackFloor(answer, recording.response["headers"])
    stdlib = ThreadingHTTPServer(("127.0.0.1", 0), _StdlibFloor)
    stdlib.daemon_threads = True
    threading.Thread(target=stdlib.serve_forever, daemon=True).start()
    targets: dict[str, Callable[[int], list[float]]] = {
        "local": lambda k: _timed_requests(kimi.port, body, headers, k),
        "stack": lambda k: _timed_requests(stack.port, body, headers, k),
        "stdlib": lambda k: _timed_requests(stdlib.server_address[1], body, headers, k),
    }
    samples: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for run in targets.values():
            run(warmup)
        for _ in range(rounds):  # interleaved, so all three meet the same machine weather
            for name, run in targets.items():
                samples[name] += run(n // rounds)
    finally:
        kimi.stop()
        stack.stop()
        stdlib.shutdown()
        stdlib.server_close()
    out: dict[str, Any] = {name: _summary(values) for name, values in samples.items()}
    for floor in ("stack", "stdlib"):
        out[f"ratio_p50_vs_{floor}"] = round(out["local"]["p50_ms"] / out[floor]["p50_ms"], 2)
        out[f"ratio_p99_vs_{floor}"] = round(out["local"]["p99_ms"] / out[floor]["p99_ms"], 2)
    return out


START_CODE = """
import time
t = time.perf_counter()
from helpers import start
course = start(quiet=True)
print(time.perf_counter() - t)
"""
STACK_IMPORT_CODE = """
import time
t = time.perf_counter()
import uvicorn, uvicorn.protocols.http.h11_impl, starlette.requests, starlette.responses
print(time.perf_counter() - t)
"""


def _fresh_process_seconds(code: str) -> float:
    env = {"KIMI_MODE": "replay", "PATH": "/usr/bin:/bin", "KIMI_REPLAY_PACE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                         check=True, timeout=60)
    return float(out.stdout.strip().splitlines()[-1])


def bench_startup(rounds: int = 9) -> dict[str, Any]:
    """Fresh processes taking turns: start() in a first cell vs importing the stack; medians and the median ratio."""
    start_s, stack_s = [], []
    for _ in range(rounds):
        start_s.append(_fresh_process_seconds(START_CODE))
        stack_s.append(_fresh_process_seconds(STACK_IMPORT_CODE))
    start_median, stack_median = statistics.median(start_s), statistics.median(stack_s)
    ratios = [a / b for a, b in zip(start_s, stack_s)]
    return {"start_ms": round(start_median * 1000, 1), "stack_import_ms": round(stack_median * 1000, 1),
            "ratio": round(statistics.median(ratios), 2), "ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
            "rounds": rounds}


def main() -> int:
    latency, startup = bench_latency(), bench_startup()
    print(json.dumps({"latency": latency, "startup": startup}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
