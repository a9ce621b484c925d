"""Test setup shared by every test: replay mode, no key, the default model.

Notebook kernels started by nbval inherit this process's environment, so each notebook's
first cell starts its own local server exactly as it does in JupyterLab.
"""
import os

from helpers.settings import DEFAULT_MODEL

for name in ("MOONSHOT_API_KEY", "KIMI_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "KIMI_RECORDINGS_DIR",
             "KIMI_RECORD_OVERWRITE"):
    os.environ.pop(name, None)
os.environ["KIMI_MODE"] = "replay"
os.environ["KIMI_MODEL"] = DEFAULT_MODEL
os.environ.setdefault("KIMI_REPLAY_PACE", "1")
