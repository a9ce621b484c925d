"""Test setup shared by every test: replay mode, no key, the default model.

Notebook kernels started by nbval inherit this process's environment, so each notebook's
first cell starts its own local server exactly as it does in JupyterLab.
"""
from helpers.notebooks import use_test_environment

# Under --nbval, each notebook's exercises are then solved and checked in the same kernel (tests/nbsolutions.py).
pytest_plugins = ["tests.nbsolutions"]

use_test_environment()
