"""A pytest plugin loaded before all others (pyproject.toml's addopts: `-p helpers.fast_imports`).

nbval imports nbformat, whose jsonschema format checker imports the rfc3987-syntax package and builds its grammar:
about two seconds of CPU in each of the suite's six processes (the main one and five workers), before any test
runs. Notebooks never use the IRI formats that package checks; `python -m helpers` leaves it out the same way.
"""
import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
