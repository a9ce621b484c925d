"""The project's own promises: pinned dependencies in both lists, secrets ignored, CI wired to make test."""
from __future__ import annotations

import re

from helpers.settings import DEFAULT_MODEL, REPO_ROOT


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        if re.match(r"^[A-Za-z0-9_.\[\]-]+\s*[=<>!~]=", line):
            name, version = re.split(r"==", line, maxsplit=1) if "==" in line else (line, None)
            pins[name.strip().lower().replace("_", "-")] = version
    return pins


def test_requirements_are_pinned_and_match_environment_yml():
    req = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    env_text = (REPO_ROOT / "environment.yml").read_text()
    pip_part = env_text.split("- pip:", 1)[1]
    env = _pins(pip_part.splitlines())
    assert req, "requirements.txt lists nothing"
    assert all(v for v in req.values()), f"every requirement must be pinned with ==: {req}"
    assert req == env, f"requirements.txt and environment.yml differ: {set(req.items()) ^ set(env.items())}"
    for needed in ("jupyterlab", "requests", "openai", "python-dotenv", "nbval", "pytest", "hypothesis"):
        assert needed in req


def test_env_file_is_ignored_and_documented():
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    example = (REPO_ROOT / ".env.example").read_text()
    for name in ("MOONSHOT_API_KEY", "KIMI_BASE_URL", "KIMI_MODEL", "KIMI_MODE"):
        assert re.search(rf"^{name}=", example, re.MULTILINE), f".env.example does not document {name}"
    assert not re.search(r"^MOONSHOT_API_KEY=\S", example, re.MULTILINE), ".env.example must not carry a key"


def test_model_id_has_one_home():
    places = [p for p in list((REPO_ROOT / "helpers").rglob("*.py")) + list((REPO_ROOT / "solutions").glob("*.py"))
              if DEFAULT_MODEL in p.read_text(encoding="utf-8")]
    allowed = {REPO_ROOT / "helpers" / "settings.py", REPO_ROOT / "helpers" / "wire.py"}  # wire: per-model rules
    assert set(places) <= allowed, f"the model id {DEFAULT_MODEL} is written outside settings: {places}"


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in ci
    assert "passed" in ci, ".ci/run must refuse a run in which no test passed"


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_pyproject_declares_what_the_pins_satisfy():
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = [Requirement(r) for r in project["project"]["dependencies"] + project["dependency-groups"]["dev"]]
    pins = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    assert sorted(_norm(r.name) for r in declared) == sorted(_norm(n) for n in pins), \
        "pyproject.toml (dependencies + the dev group) and requirements.txt name different packages"
    for r in declared:
        pinned = pins[_norm(r.name)]
        assert r.specifier.contains(pinned), f"requirements.txt pins {r.name}=={pinned}, outside pyproject's {r}"


def test_uv_lock_installs_the_same_pins():
    import tomllib

    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {_norm(p["name"]): p["version"] for p in lock["package"]}
    pins = _pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    differ = {n: (v, locked.get(_norm(n))) for n, v in pins.items() if locked.get(_norm(n)) != v}
    assert not differ, f"uv.lock and requirements.txt differ (pin, locked): {differ}; run uv lock -P name==pin"
