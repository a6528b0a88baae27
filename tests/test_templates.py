"""The notebook templates: papermill-ready, demo outputs only, outputs not stale."""

import shutil
from pathlib import Path

import nbformat
import pytest

from agii_analysis.codebook import available_surveys
from agii_analysis.templates import IGNORE_TAG, check_template, check_templates, templates

ROOT = Path(__file__).resolve().parents[1]


def test_one_template_per_survey_type_plus_overview():
    names = {p.stem for p in templates()}
    assert names == set(available_surveys()) | {"overzicht"}


@pytest.mark.parametrize("path", templates(), ids=lambda p: p.stem)
def test_committed_templates_pass_the_check(path):
    assert check_template(path) == []


@pytest.mark.parametrize("path", templates(), ids=lambda p: p.stem)
def test_template_cells_are_thin(path):
    """Code cells call the package; logic worth testing lives in agii_analysis."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            lines = [l for l in cell.source.splitlines() if l.strip() and not l.strip().startswith("#")]
            assert len(lines) <= 4, cell.source
            assert not any(l.lstrip().startswith(("for ", "if ", "def ", "while ", "class ")) for l in lines), cell.source


def _copy(tmp_path, name="vorming"):
    dst = tmp_path / f"{name}.ipynb"
    shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", dst)
    return dst, nbformat.read(dst, as_version=4)


def test_refuses_real_params(tmp_path):
    path, nb = _copy(tmp_path)
    params = tmp_path / "real.yaml"
    params.write_text("survey: vorming\nyear: 2024\ninputs: [data/raw/2024/x.xlsx]\n", encoding="utf-8")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace('params_file = "params/2022/vorming.yaml"', f'params_file = "{params}"')
    nbformat.write(nb, path)
    assert any("not a demo parameter file" in p for p in check_template(path))
    assert check_templates([path]) == 1


def test_refuses_an_executed_report(tmp_path):
    path, nb = _copy(tmp_path)
    nb.cells.insert(2, nbformat.v4.new_code_cell('params_file = "params/2024/vorming.yaml"', metadata={"tags": ["injected-parameters"]}))
    nbformat.write(nb, path)
    assert any("injected parameters" in p for p in check_template(path))


def test_refuses_outputs_without_demo_marker(tmp_path):
    path, nb = _copy(tmp_path)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for key in ("text/markdown", "text/plain"):
                if key in data:
                    data[key] = data[key].replace("Demogegevens", "Resultaten").replace("demo: ja", "demo: nee")
    nbformat.write(nb, path)
    assert any("do not come from the demo" in p for p in check_template(path))


def test_refuses_stored_chart_images(tmp_path):
    path, nb = _copy(tmp_path)
    cell = next(c for c in nb.cells if IGNORE_TAG in c.metadata.get("tags", []))
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nbformat.write(nb, path)
    assert any("chart cell holds stored outputs" in p for p in check_template(path))


def test_refuses_a_copied_template_not_yet_adapted(tmp_path):
    """notebooks/onthaal.ipynb copied from vorming.ipynb, its parameters cell unchanged,
    passed the check: its report would be vorming's."""
    path, _ = _copy(tmp_path)
    copied = path.rename(tmp_path / "onthaal.ipynb")
    assert check_template(copied) == [
        "survey = 'vorming' in the parameters cell, but the template is onthaal.ipynb: set survey = 'onthaal' "
        "(and params_file to a demo file of onthaal)"]


def test_refuses_the_demo_params_of_another_survey(tmp_path):
    path, nb = _copy(tmp_path)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("params/2022/vorming.yaml", "params/2022/na_traject.yaml")
    nbformat.write(nb, path)
    assert check_template(path) == ["default params_file params/2022/na_traject.yaml is of survey 'na_traject', "
                                    "not 'vorming'"]


def test_storing_an_unchanged_template_leaves_its_file_alone(tmp_path, capsys):
    """Only the run time differs (which nbval ignores): no diff in five unrelated notebooks."""
    from agii_analysis import templates as module

    path, _ = _copy(tmp_path)
    before = path.read_bytes()
    module.store_templates([path])
    assert path.read_bytes() == before
    assert "unchanged" in capsys.readouterr().out
    nb = nbformat.read(path, as_version=4)  # an outdated stored output is replaced
    cell = next(c for c in nb.cells if c.cell_type == "code" and any("text/markdown" in o.get("data", {})
                                                                     for o in c.get("outputs", [])))
    next(o for o in cell.outputs if "text/markdown" in o.get("data", {}))["data"]["text/markdown"] = "verouderd"
    nbformat.write(nb, path)
    module.store_templates([path])
    assert "stored" in capsys.readouterr().out and "verouderd" not in path.read_text(encoding="utf-8")


def test_gitignore_keeps_data_and_reports_out():
    text = (ROOT / ".gitignore").read_text(encoding="utf-8")
    assert "/data/" in text and "/reports/*" in text and "!/reports/README.md" in text
