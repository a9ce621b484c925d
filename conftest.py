"""Test setup shared by every test: replay mode, no key, the default model.

Notebook kernels started by nbval inherit this process's environment, so each notebook's
first cell starts its own local server exactly as it does in JupyterLab.
"""
from pathlib import Path

from helpers.notebooks import use_test_environment

# Under --nbval, each notebook's exercises are then solved and checked in the same kernel (tests/nbsolutions.py).
# A student copy (make student-copy) has neither tests/ nor solutions/: its notebooks are tested without them.
pytest_plugins = ["tests.nbsolutions"] if (Path(__file__).parent / "tests" / "nbsolutions.py").is_file() else []

use_test_environment()
