"""A notebook as slides, looked at: JupyterLab with jupyterlab-rise (make instructor) serves the notebook as a
RISE slideshow, headless Chromium opens it with every other host blocked, and screenshots land in build/slides-shots/.

    .venv/bin/python -m tests.rise_screenshot notebooks/01_curl.ipynb

Not part of make test (a JupyterLab server takes a while to start); run it after changing helpers/slides.py.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from helpers.settings import REPO_ROOT

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
OUT = REPO_ROOT / "build" / "slides-shots"


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m tests.rise_screenshot")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--right", type=int, default=3, help="slides to step right before the sub-slide (default 3)")
    args = parser.parse_args(argv)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        shutil.copy(args.notebook, root)
        server = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--allow-root",
                                   f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
                                   "--IdentityProvider.token=slides", "--LabApp.news_url="],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        blocked: list[str] = []
        try:
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"{base}/api/status?token=slides", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})

                def route(r):
                    if r.request.url.startswith((base, "data:")):
                        r.continue_()
                    else:
                        blocked.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                page.goto(f"{base}/rise/{args.notebook.name}?token=slides")
                page.wait_for_selector(".reveal .slides section", timeout=120_000)
                time.sleep(3)
                shots = [OUT / f"{args.notebook.stem}-title.png"]
                page.screenshot(path=str(shots[0]))
                for _ in range(args.right):
                    page.locator(".reveal .controls .navigate-right").first.click()
                    time.sleep(1.5)
                shots.append(OUT / f"{args.notebook.stem}-section.png")
                page.screenshot(path=str(shots[-1]))
                page.locator(".reveal .controls .navigate-down").first.click()
                time.sleep(2)
                shots.append(OUT / f"{args.notebook.stem}-code-subslide.png")
                page.screenshot(path=str(shots[-1]))
                browser.close()
        finally:
            server.terminate()
            server.wait(20)
    for shot in shots:
        print(shot)
    if blocked:
        print(f"requests to other hosts (blocked): {sorted(set(blocked))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
