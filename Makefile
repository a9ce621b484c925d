# make lab     set up .venv (first time only) and open the course in JupyterLab
# make test    set up .venv and run every test, the notebooks under strict nbval included
# make record  with a key in .env: refresh recordings from the real API, then the notebooks' outputs
# make outputs re-run every notebook in replay mode and store its outputs (after editing a notebook)
# make bench   measure the local server and the notebook suite against their floors
# make instructor  the instructor extras (slides in JupyterLab: jupyterlab-rise), then JupyterLab
# make site    the course as a static website in build/site/ (offline)
# make student-copy DEST=dir   a copy of the course without solutions or instructor material
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

# The instructor extras; a student copy (make student-copy) has none, and its make test needs none.
INSTRUCTOR_STAMP := $(if $(wildcard requirements-instructor.txt),$(VENV)/.instructor-$(shell cat requirements-instructor.txt | cksum | cut -d' ' -f1))

.PHONY: lab test record outputs bench solutions clean instructor site student-copy

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed (openai 3.x requires it); set PYTHON=python3.11")'
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

record: $(STAMP)
	KIMI_MODE=record KIMI_RECORD_OVERWRITE=1 $(PY) -m helpers.notebooks execute $(NOTEBOOKS)
	$(MAKE) outputs

outputs: $(STAMP)
	KIMI_MODE=replay $(PY) -m helpers.notebooks execute $(NOTEBOOKS)

solutions: $(STAMP)
	$(PY) -m helpers.notebooks solutions $(NOTEBOOKS)

bench: $(STAMP)
	$(PY) -m tests.bench

instructor: $(INSTRUCTOR_STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

site: $(INSTRUCTOR_STAMP)
	$(PY) -m helpers.site

student-copy: $(STAMP)
	@test -n "$(DEST)" || (echo "usage: make student-copy DEST=../kimi-course-student" >&2; exit 2)
	$(PY) -m helpers.studentcopy "$(DEST)"

clean:
	rm -rf $(VENV) instructor bench-results build
