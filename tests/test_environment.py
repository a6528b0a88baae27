"""environment.yml (conda) and pyproject.toml (pip) declare the same stack."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"jupyterlab", "pandas", "papermill", "nbconvert", "matplotlib", "openpyxl", "nbval"}


def _name_and_bound(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    return dict(_name_and_bound(s) for s in specs)


def _conda() -> dict[str, str]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in data["dependencies"]:
        if isinstance(dep, str):
            name, bound = _name_and_bound(dep)
            if name not in ("python", "pip"):
                out[name] = bound
    return out


def test_same_packages_and_lower_bounds():
    assert _pyproject() == _conda()


def test_the_required_stack_is_declared():
    assert REQUIRED <= set(_pyproject())


def test_every_dependency_has_a_tested_lower_bound():
    for name, bound in _pyproject().items():
        assert bound.startswith(">="), f"{name} has no lower bound"
