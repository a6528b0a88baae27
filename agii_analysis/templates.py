"""The notebook templates: store their demo outputs, and refuse anything else.

nbval re-executes `notebooks/*.ipynb` and compares with the stored outputs, so the
stored outputs must come from the demo parameters — never from real data. Chart
cells are tagged `nbval-ignore-output` and stored without outputs (the numbers they
draw are checked through the text and table cells), which keeps the repository small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from . import _fastimport  # noqa: F401  (before nbformat imports jsonschema)
from .params import REPO_ROOT, _rel

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
IGNORE_TAG = "nbval-ignore-output"


def templates() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _parameters_cell(nb) -> nbformat.NotebookNode | None:
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell
    return None


def _defaults(cell) -> dict:
    scope: dict = {}
    exec(compile(cell.source, "<parameters>", "exec"), {}, scope)  # literal assignments only
    return scope


def tidy(nb) -> nbformat.NotebookNode:
    """Drop what varies run to run and the outputs of chart cells."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and IGNORE_TAG in cell.metadata.get("tags", []):
            cell.outputs = []
    return nb


def store_templates(paths: list[Path] | None = None) -> None:
    """Re-execute each template on its default (demo) parameters and store the outputs."""
    from .run import execute_notebook

    for path in paths or templates():
        problems = check_template(path, require_outputs=False)
        if problems:
            raise SystemExit(f"{path.name}: {problems[0]}")
        tmp = path.with_name(f".{path.stem}.executing.ipynb")
        try:
            import nbformat

            execute_notebook(path, tmp, {})
            nb = tidy(nbformat.read(tmp, as_version=4))
            nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
            if _sanitized(nbformat.writes(nb)).strip() == _sanitized(path.read_text(encoding="utf-8")).strip():
                print(f"unchanged {_rel(path)} (only the run time and versions differ)")
                continue  # no diff that nbval would not ignore: the file stays as it is
            nbformat.write(nb, path)
        finally:
            tmp.unlink(missing_ok=True)
        print(f"stored {_rel(path)}")


def _sanitized(text: str) -> str:
    """The notebook text as nbval compares it (notebooks/nbval_sanitize.cfg applied)."""
    import configparser
    import re

    config = configparser.ConfigParser(interpolation=None)
    config.read(NOTEBOOK_DIR / "nbval_sanitize.cfg", encoding="utf-8")
    for section in config.sections():
        text = re.sub(config[section]["regex"], config[section]["replace"], text)
    return text


def check_template(path: Path, require_outputs: bool = True) -> list[str]:
    """Reasons a template must not be committed (empty list: fine)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    problems = []
    cell = _parameters_cell(nb)
    if cell is None:
        return ["no cell tagged 'parameters' (papermill needs it)"]
    if any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells):
        problems.append("holds papermill's injected parameters: it is an executed report, not a template")
    try:
        defaults = _defaults(cell)
    except Exception as exc:  # noqa: BLE001 - any error in the cell is the finding
        return [f"parameters cell does not run: {exc}"]
    pfile = defaults.get("params_file")
    if pfile is not None:
        try:
            data = yaml.safe_load((REPO_ROOT / pfile).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        data = data if isinstance(data, dict) else {}
        if not data.get("demo"):
            problems.append(f"default params_file {pfile} is not a demo parameter file (demo: true)")
        if defaults.get("survey") != path.stem:  # a copied template not yet adapted
            problems.append(f"survey = {defaults.get('survey')!r} in the parameters cell, but the template is "
                            f"{path.name}: set survey = {path.stem!r} (and params_file to a demo file of {path.stem})")
        elif data.get("survey") not in (None, path.stem):
            problems.append(f"default params_file {pfile} is of survey {data['survey']!r}, not {path.stem!r}")
    if defaults.get("results_file"):
        problems.append("default results_file must be None (the template computes from the demo parameters)")
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/markdown", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    has_outputs = any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    if require_outputs and not has_outputs:
        problems.append("has no stored outputs (run `make templates`)")
    if has_outputs and "Demogegevens" not in text and "demo: ja" not in text:
        problems.append("stored outputs do not come from the demo data (no demo marker)")
    for c in nb.cells:
        if c.cell_type == "code" and IGNORE_TAG in c.metadata.get("tags", []) and c.get("outputs"):
            problems.append("a chart cell holds stored outputs (images are not committed; run `make templates`)")
            break
    return problems


def check_templates(paths: list[Path] | None = None) -> int:
    """Exit status for the pre-commit hook / test: 1 when any template is refused."""
    bad = 0
    for path in paths or templates():
        if path.suffix != ".ipynb":
            continue
        for problem in check_template(Path(path)):
            print(f"{path}: {problem}", file=sys.stderr)
            bad = 1
    return bad
