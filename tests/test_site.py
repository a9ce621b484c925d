"""make site: the course as a static website, built offline and looked at in a real browser.

The site is built once (a module fixture), served on 127.0.0.1, and every page is opened in headless Chromium with
every request to any other host blocked and recorded. Each page must render its content (Chinese text, tables,
plots, code), every image must load, and every link inside the site must reach a page and anchor that exist.
"""
from __future__ import annotations

import functools
import html.parser
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

from helpers.settings import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
SHOTS = REPO_ROOT / "build" / "site-shots"
CJK = re.compile(r"[\u4e00-\u9fff]")
SHOT_AT = {"README.html": "main table", "notebooks/07_conversations_tokens_cost.html": "main img",
           "notebooks/01_curl.html": "div.cell_output >> text=choices", "README.zh-CN.html": "main table",
           "notebooks/zh/05_errors.html": "main h2 >> text=练习"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from helpers import site as site_module

    out = tmp_path_factory.mktemp("site") / "html"
    site_module.build(out, source=out.parent / "src")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html") if "_static" not in p.parts)


def test_every_notebook_and_the_guide_is_a_page(site):
    out, _ = site
    names = {p.relative_to(out).as_posix() for p in _pages(out)}
    for nb in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/{nb.stem}.html" in names, f"{nb.name} has no page"
        assert f"notebooks/zh/{nb.stem}.html" in names, f"zh/{nb.name} has no page"
    assert {"README.html", "index.html", "classroom/instructor-guide.html", "README.zh-CN.html",
            "classroom/instructor-guide.zh-CN.html"} <= names


def test_no_asset_comes_from_another_host(site):
    out, _ = site
    remote = re.compile(r"""(?:src|href)=["'](?:https?:)?//(?!127\.0\.0\.1)[^"']+\.(?:js|css|woff2?)""")
    offenders = [f"{p.relative_to(out)}: {m}" for p in _pages(out) for m in remote.findall(p.read_text("utf-8"))]
    assert not offenders, offenders[:5]


def test_every_internal_link_resolves(site):
    out, _ = site
    parsed = {p: _parse(p) for p in _pages(out)}
    broken = []
    checked = 0
    for page, info in parsed.items():
        for href in info.links:
            url = urlparse(href)
            if url.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue
            target, fragment = urldefrag(href)
            path = (page.parent / unquote(target)).resolve() if target else page
            if path.is_dir():
                path = path / "index.html"
            checked += 1
            if not path.exists():
                broken.append(f"{page.relative_to(out)} -> {href}")
            elif fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else _parse(path).ids
                if unquote(fragment) not in ids:
                    broken.append(f"{page.relative_to(out)} -> {href} (no such anchor)")
    assert checked > 100, f"only {checked} internal links found"
    assert not broken, broken[:10]


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install -y chromium fonts-noto-cjk)")
def test_every_page_renders_in_chromium_with_the_network_blocked(site):
    from playwright.sync_api import sync_playwright

    out, base = site
    blocked: list[str] = []
    problems: list[str] = []
    SHOTS.mkdir(parents=True, exist_ok=True)

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", route)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        seen = {"cjk": 0, "table": 0, "plot": 0, "code": 0}
        for path in _pages(out):
            rel = path.relative_to(out).as_posix()
            if rel in ("search.html", "genindex.html", "index.html"):   # index.html: a redirect, checked below
                continue
            errors.clear()
            # "load": every stylesheet, script and image of the page is in (nothing loads later: no lazy images,
            # no remote fonts); waiting for the network to idle as well would add half a second per page.
            response = page.goto(urljoin(base, rel), wait_until="load")
            if response is None or not response.ok:
                problems.append(f"{rel}: HTTP {response and response.status}")
                continue
            facts = page.evaluate("""() => {
                const main = document.querySelector('main') || document.body;
                const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
                const imgs = [...main.querySelectorAll('img')];
                return {
                    text: main.innerText,
                    height: main.getBoundingClientRect().height,
                    tables: [...main.querySelectorAll('table')].filter(visible).length,
                    images: imgs.length,
                    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
                    code: [...main.querySelectorAll('div.highlight pre, div.cell_input pre')].filter(visible).length,
                    styled: getComputedStyle(document.body).fontFamily,
                    sheets: document.styleSheets.length,
                };
            }""")
            if facts["height"] < 200 or len(facts["text"]) < 200:
                problems.append(f"{rel}: almost nothing rendered ({len(facts['text'])} characters)")
            if facts["brokenImages"]:
                problems.append(f"{rel}: images that did not load: {facts['brokenImages'][:3]}")
            if facts["sheets"] < 3:
                problems.append(f"{rel}: the theme's stylesheets did not load ({facts['sheets']})")
            if errors:
                problems.append(f"{rel}: script errors {errors[:2]}")
            if rel.startswith("notebooks/") and not facts["code"]:
                problems.append(f"{rel}: no code cells visible")
            if (rel.startswith("notebooks/zh/") or ".zh-CN." in rel) and len(CJK.findall(facts["text"])) < 500:
                problems.append(f"{rel}: a page of the Chinese edition with little Chinese on it")
            seen["cjk"] += bool(CJK.search(facts["text"]))
            seen["table"] += bool(facts["tables"])
            seen["plot"] += bool(facts["images"])
            seen["code"] += bool(facts["code"])
            if rel in SHOT_AT:  # for a person to look at: the part of the page that shows what is checked here
                page.locator(SHOT_AT[rel]).first.scroll_into_view_if_needed()
                page.screenshot(path=str(SHOTS / (rel.replace("/", "_") + ".png")), full_page=False)
        page.goto(urljoin(base, "index.html"))
        page.wait_for_url("**/README.html", timeout=10_000)   # the site's front door leads to the home page
        home = page.goto(urljoin(base, "README.html"))
        assert home.ok
        map_rows = page.locator("main table tr").count()
        browser.close()
    assert not blocked, f"requests to other hosts were attempted: {sorted(set(blocked))[:5]}"
    assert not problems, problems
    notebooks = len(list((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert seen["code"] >= notebooks and seen["cjk"] >= notebooks // 2, seen
    assert seen["table"] >= 1 and seen["plot"] >= 1, seen
    assert map_rows >= notebooks + 1, f"the home page's course map has {map_rows} rows"
