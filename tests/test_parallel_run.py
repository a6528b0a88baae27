"""`agii run --jobs 2`: the overview is built in the pool while the last surveys render,
from the results they are about to swap in; when a survey then fails, the overview is
built again from the results that are really in place."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agii_analysis import run as run_module
from agii_analysis.params import PARAMS_DIR
from agii_analysis.run import build_overview, output_names, run

YEAR = 2022
SURVEYS = ["lokale_besturen", "na_test_mo", "vorming"]


_MARKER: dict = {}
_REAL_OVERVIEW_WORKER = run_module._overview_worker


def _marking_overview_worker(args):
    """The pool's overview task, leaving a mark (module level: the pool pickles it by name)."""
    _MARKER["path"].write_text(str(args[-1]))
    return _REAL_OVERVIEW_WORKER(args)


def _files() -> list[Path]:
    return [(PARAMS_DIR / str(YEAR) / f"{s}.yaml").resolve() for s in SURVEYS]


def test_overview_built_beside_the_last_surveys_is_the_final_one(tmp_path):
    outcomes = run({YEAR: _files()}, ("html", "xlsx"), jobs=2, force=True, reports_dir=tmp_path,
                   progress=False, echo=lambda *_: None)
    status = {o.survey: (o.status, o.message) for o in outcomes}
    assert all(status[s][0] == "built" for s in SURVEYS), status
    assert status["overzicht"] == ("built", "built in the pool beside the last surveys")
    year_dir = tmp_path / str(YEAR)
    assert not [p.name for p in year_dir.iterdir() if p.name.startswith(".")]  # no snapshot left
    # its key is the one of the results now in place: a plain run finds it up to date
    again = build_overview(YEAR, tmp_path, ("html", "xlsx"), SURVEYS, force=False, changed=False)
    assert again.status == "skipped"
    text = (year_dir / f"overzicht_{YEAR}.ipynb").read_text(encoding="utf-8")
    assert ".staging-overzicht-inputs" not in text and str(tmp_path) in text


def test_nothing_changed_starts_no_pool(tmp_path, monkeypatch):
    run({YEAR: _files()}, ("html",), jobs=2, reports_dir=tmp_path, progress=False, echo=lambda *_: None)

    def no_pool(*args, **kwargs):
        raise AssertionError("a pool was started for surveys that are up to date")

    monkeypatch.setattr(run_module, "ProcessPoolExecutor", no_pool)
    outcomes = run({YEAR: _files()}, ("html",), jobs=2, reports_dir=tmp_path, progress=False, echo=lambda *_: None)
    assert {o.survey: o.status for o in outcomes} == {s: "skipped" for s in [*SURVEYS, "overzicht"]}


def test_a_survey_failing_after_its_results_gets_the_overview_rebuilt(tmp_path, monkeypatch):
    real = run_module.execute_notebook
    marker = _MARKER["path"] = tmp_path / "speculated"

    def failing(template, output, parameters, progress=False):
        if template.name == "vorming.ipynb":  # its results exist: wait until the others' do too
            year_dir = Path(parameters["results_file"]).parents[1]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(
                    list(year_dir.glob(f"*{s}*/{output_names(s, YEAR)['json']}")) for s in SURVEYS if s != "vorming"):
                time.sleep(0.05)
            time.sleep(1)  # the parent looks every 0.1 s: the overview task is queued by now
            raise run_module.AgiiError("notebook vorming.ipynb failed (test)")
        return real(template, output, parameters, progress)

    monkeypatch.setattr(run_module, "execute_notebook", failing)  # the pool forks after this
    monkeypatch.setattr(run_module, "_overview_worker", _marking_overview_worker)
    reports = tmp_path / "reports"
    outcomes = run({YEAR: _files()}, ("html", "xlsx"), jobs=2, force=True, reports_dir=reports,
                   progress=False, echo=lambda *_: None, warn=lambda *_: None)
    status = {o.survey: (o.status, o.message) for o in outcomes}
    assert {s: v[0] for s, v in status.items()} == {
        "lokale_besturen": "built", "na_test_mo": "built", "vorming": "failed", "overzicht": "built"}
    assert marker.exists(), "the overview was not started beside the failing survey"
    assert status["overzicht"][1] == ""  # built again the ordinary way, from the final results
    tmp_path = reports
    year_dir = tmp_path / str(YEAR)
    assert not (year_dir / "vorming" / output_names("vorming", YEAR)["json"]).exists()
    html = (year_dir / f"overzicht_{YEAR}.html").read_text(encoding="utf-8")
    assert "Lokale besturen" in html and "Vormingsaanbod" not in html
    manifest = json.loads((year_dir / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["surveys"]) == ["lokale_besturen", "na_test_mo"]
    assert build_overview(YEAR, tmp_path, ("html", "xlsx"), sorted(manifest["surveys"]),
                          force=False, changed=False).status == "skipped"
