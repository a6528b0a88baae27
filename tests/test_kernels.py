"""The warm kernel (kernels.py): reused across notebooks, yet each notebook starts from a
namespace as clean as a fresh kernel's."""

from __future__ import annotations

import json

import nbformat
import pytest

from agii_analysis import kernels
from agii_analysis.errors import AgiiError
from agii_analysis.run import execute_notebook


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def _outputs(path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(o.get("text", "")).strip() for c in nb["cells"] for o in c.get("outputs", [])]


def _counts(path) -> list[int]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c["execution_count"] for c in nb["cells"]]


PROBE = ("import os, warnings, matplotlib, pandas as pd\n"
         "print(os.getpid(), 'leak' in dir(), matplotlib.rcParams['lines.linewidth'], os.getcwd(),\n"
         "      len(warnings.filters), pd.get_option('display.max_rows'))")
SPOIL = ("import matplotlib, os, warnings, pandas as pd\nleak = 1\nmatplotlib.rcParams['lines.linewidth'] = 9\n"
         "os.chdir('/')\nwarnings.simplefilter('error')\npd.set_option('display.max_rows', 3)")


@pytest.fixture
def warm(monkeypatch):
    monkeypatch.delenv("AGII_FRESH_KERNEL", raising=False)
    kernels.shutdown()
    yield
    kernels.shutdown()


def test_one_kernel_serves_many_notebooks_with_a_clean_namespace(tmp_path, warm):
    a = _notebook(tmp_path / "a.ipynb", PROBE, SPOIL)
    b = _notebook(tmp_path / "b.ipynb", PROBE)
    execute_notebook(a, tmp_path / "a.out.ipynb", {})
    execute_notebook(b, tmp_path / "b.out.ipynb", {})
    pid_a, leak_a, width_a, cwd_a, filters_a, rows_a = _outputs(tmp_path / "a.out.ipynb")[0].split()
    pid_b, leak_b, width_b, cwd_b, filters_b, rows_b = _outputs(tmp_path / "b.out.ipynb")[0].split()
    assert pid_a == pid_b  # the same kernel process
    assert leak_b == "False" and width_b == width_a and cwd_b == cwd_a != "/"
    assert filters_b == filters_a and rows_b == rows_a == "60"  # warning filters, pandas options
    assert _counts(tmp_path / "b.out.ipynb") == [1]  # numbered as in a fresh kernel
    assert _counts(tmp_path / "a.out.ipynb") == [1, 2]


def test_a_failing_notebook_does_not_spoil_the_next(tmp_path, warm):
    bad = _notebook(tmp_path / "bad.ipynb", "leak = 1\nraise ValueError('boom')")
    with pytest.raises(AgiiError, match="boom"):
        execute_notebook(bad, tmp_path / "bad.out.ipynb", {})
    good = _notebook(tmp_path / "good.ipynb", PROBE)
    execute_notebook(good, tmp_path / "good.out.ipynb", {})
    assert _outputs(tmp_path / "good.out.ipynb")[0].split()[1] == "False"


def test_a_dead_kernel_is_replaced(tmp_path, warm):
    nb = _notebook(tmp_path / "p.ipynb", PROBE)
    execute_notebook(nb, tmp_path / "1.ipynb", {})
    first = _outputs(tmp_path / "1.ipynb")[0].split()[0]
    from jupyter_core.utils import run_sync
    run_sync(kernels._state["km"].shutdown_kernel)(now=True)
    execute_notebook(nb, tmp_path / "2.ipynb", {})
    assert _outputs(tmp_path / "2.ipynb")[0].split()[0] != first


def test_fresh_kernel_per_notebook_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("AGII_FRESH_KERNEL", "1")
    nb = _notebook(tmp_path / "p.ipynb", PROBE)
    execute_notebook(nb, tmp_path / "1.ipynb", {})
    execute_notebook(nb, tmp_path / "2.ipynb", {})
    assert _outputs(tmp_path / "1.ipynb")[0].split()[0] != _outputs(tmp_path / "2.ipynb")[0].split()[0]
    assert kernels._state["km"] is None


def test_build_processes_skip_the_slow_iri_checker():
    """jsonschema's optional rfc3987-syntax import (about 1 s, docs/performance.md) is kept
    out of a build process; nbformat still validates notebooks there."""
    import subprocess
    import sys

    code = ("import sys\nfrom agii_analysis import run\nrun._preload()\nimport nbformat\n"
            "nbformat.validate(nbformat.v4.new_notebook())\n"
            "print(sys.modules['rfc3987_syntax'] is None, 'jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
