"""The course as a static website: every notebook with its stored outputs, README.md as the home page (its course
map links to the lessons), the instructor guide, and the pages the README links to; the Chinese edition beside it
(README.zh-CN.md as its home, notebooks/zh/, the Chinese instructor guide). Built offline with Sphinx,
myst-nb and sphinx-book-theme; notebooks are never executed for it.

    python -m helpers.site                # build/site/index.html   (make site)
    python -m helpers.site --out DIR

The source folder is laid out as the repository is (README.md, notebooks/, classroom/, recordings/README.md, tests/captures/README.md), so the
links that work on GitHub work on the site too.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .settings import REPO_ROOT

SOURCE_DIR = REPO_ROOT / "build" / "site-src"
SITE_DIR = REPO_ROOT / "build" / "site"
PAGES = ["README.md", "CONTRIBUTING.md", "TRANSLATING.md", "recordings/README.md", "tests/captures/README.md",
         "classroom/instructor-guide.md", "README.zh-CN.md", "classroom/instructor-guide.zh-CN.md"]

CONF = '''
project = "Calling Kimi's API from Python"
author = "the course's maintainers"
extensions = ["myst_nb"]
root_doc = "README"
language = "en"
nb_execution_mode = "off"          # stored outputs only: the site never runs a notebook
nb_merge_streams = True
myst_enable_extensions = []        # no $...$ math: shell variables like $KIMI_BASE_URL stay text
myst_heading_anchors = 3
html_theme = "sphinx_book_theme"
html_title = "Calling Kimi's API from Python"
html_theme_options = {"show_toc_level": 2, "use_download_button": True, "use_fullscreen_button": False,
                      "home_page_in_toc": True}
html_last_updated_fmt = None
html_copy_source = True           # the download button offers the notebook itself
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "notebooks/workspace", "notebooks/zh/workspace"]
suppress_warnings = ["myst.header", "misc.highlighting_failure"]  # `!curl ... \\` cells: lexed leniently
'''

TOCTREE = '''

```{{toctree}}
:hidden:
:caption: Lessons
{lessons}
```

```{{toctree}}
:hidden:
:caption: 中文版
README.zh-CN
```

```{{toctree}}
:hidden:
:caption: For instructors and maintainers
classroom/instructor-guide
CONTRIBUTING
TRANSLATING
recordings/README
tests/captures/README
```
'''

ZH_TOCTREE = '''

```{{toctree}}
:hidden:
:caption: 课程
{lessons}
```

```{{toctree}}
:hidden:
:caption: 给老师
classroom/instructor-guide.zh-CN
```
'''


def lay_out(source: Path = SOURCE_DIR) -> Path:
    """Copy what the site shows into `source`, with a generated conf.py and the navigation."""
    if source.exists():
        shutil.rmtree(source)
    (source / "notebooks" / "zh").mkdir(parents=True)
    notebooks = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    chinese = sorted((REPO_ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))
    for nb in notebooks + chinese:
        shutil.copy2(nb, source / nb.relative_to(REPO_ROOT))
    for page in PAGES:
        target = source / page
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / page, target)
    lessons = "\n".join(f"notebooks/{nb.stem}" for nb in notebooks)
    with (source / "README.md").open("a", encoding="utf-8") as f:
        f.write(TOCTREE.format(lessons=lessons))
    with (source / "README.zh-CN.md").open("a", encoding="utf-8") as f:
        f.write(ZH_TOCTREE.format(lessons="\n".join(f"notebooks/zh/{nb.stem}" for nb in chinese)))
    (source / "conf.py").write_text(CONF, encoding="utf-8")
    return source


def build(out: Path = SITE_DIR, source: Path = SOURCE_DIR, quiet: bool = True) -> Path:
    """Build the site; warnings (a broken link, a missing page) are errors. Returns out/index.html."""
    from sphinx.cmd.build import build_main

    lay_out(source)
    if out.exists():
        shutil.rmtree(out)
    args = ["-b", "html", "-W", "--keep-going", "-n", "-j", "1", str(source), str(out)]
    if quiet:
        args.insert(0, "-q")
    status = build_main(args)
    if status:
        raise RuntimeError(f"the site did not build cleanly (sphinx exit {status}); see the warnings above")
    index = out / "index.html"
    index.write_text('<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=README.html">'
                     '<a href="README.html">Calling Kimi\'s API from Python</a>\n', encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.site", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=SITE_DIR, help=f"default {SITE_DIR.relative_to(REPO_ROOT)}")
    args = parser.parse_args(argv)
    try:
        index = build(args.out.resolve())
    except ImportError as exc:
        print(f"error: {exc}. The site needs the instructor extras: make site (or pip install -r "
              "requirements-instructor.txt)", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"site: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
