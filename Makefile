# make lab     set up .venv (first time only) and open the course in JupyterLab
# make test    set up .venv and run every test, the notebooks under strict nbval included (five files at a time)
# make test-fast  everything but the notebooks (80-105 s on two CPUs): after changing helpers/ or tests/
# make lint    ruff and mypy, configured in pyproject.toml
# make record  with a key in .env: refresh recordings from the real API (the English notebooks), then both editions' outputs
# make outputs re-run every notebook, both editions, in replay mode and store its outputs (after editing a notebook)
# make bench   measure the local server, the notebooks and the whole suite against their floors
# make bench-load  the whole suite three times in a row beside two CPU-bound processes
# make instructor  the instructor extras (slides in JupyterLab: jupyterlab-rise), then JupyterLab
# make site    the course as a static website in build/site/ (offline)
# make student-copy DEST=dir   a copy of the course without solutions or instructor material
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
# Both editions: the Chinese notebooks replay the recordings the English ones make (the same code, the same requests).
BOTH_EDITIONS := $(NOTEBOOKS) $(sort $(wildcard notebooks/zh/[0-9]*.ipynb))

# The instructor extras; a student copy (make student-copy) has none, and its make test needs none.
INSTRUCTOR_STAMP := $(if $(wildcard requirements-instructor.txt),$(VENV)/.instructor-$(shell cat requirements-instructor.txt | cksum | cut -d' ' -f1))

.PHONY: lab test test-fast lint record outputs bench bench-load solutions clean instructor site student-copy

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (httpx2 requires it); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(INSTRUCTOR_STAMP): $(STAMP) requirements-instructor.txt
	$(PY) -m pip install --quiet -r requirements-instructor.txt
	rm -f $(VENV)/.instructor-*
	touch $(INSTRUCTOR_STAMP)

# JupyterLab refuses to run as root unless told (containers, some lab machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

test: $(STAMP) $(INSTRUCTOR_STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest tests helpers

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

record: $(STAMP)
	KIMI_MODE=record KIMI_RECORD_OVERWRITE=1 $(PY) -m helpers.notebooks execute $(NOTEBOOKS)
	$(MAKE) outputs

outputs: $(STAMP)
	KIMI_MODE=replay $(PY) -m helpers.notebooks execute $(BOTH_EDITIONS)

solutions: $(STAMP)
	$(PY) -m helpers.notebooks solutions $(NOTEBOOKS)

bench: $(STAMP)
	$(PY) -m tests.bench

bench-load: $(STAMP)
	$(PY) -m tests.bench --suite-only --runs 3 --hogs 2

instructor: $(INSTRUCTOR_STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

site: $(INSTRUCTOR_STAMP)
	$(PY) -m helpers.site

student-copy: $(STAMP)
	@test -n "$(DEST)" || (echo "usage: make student-copy DEST=../kimi-course-student" >&2; exit 2)
	$(PY) -m helpers.studentcopy "$(DEST)"

clean:
	rm -rf $(VENV) instructor bench-results build
