"""`agii run --jobs 2`: the overview is built in the pool while the last surveys render,
from the results they are about to swap in; when a survey then fails, the overview is
built again from the results that are really in place. A survey's two halves (notebook;
HTML, PDF and swap) may run on different workers: a failing second half, and a run
terminated while halves wait, leave nothing behind."""

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
    assert status["overzicht"] == ("built", "built beside the last surveys")
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
        if template.name == "vorming.ipynb":  # its results are staged: fail once the overview,
            deadline = time.monotonic() + 120  # speculated from them, has started on the other worker
            while time.monotonic() < deadline and not marker.exists():
                time.sleep(0.05)
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


def test_a_failing_second_half_leaves_the_others_built(tmp_path, monkeypatch):
    """The HTML/PDF half of a survey runs on whichever worker is free; when it fails, that
    survey fails alone and its staging folder goes."""
    real = run_module.render_outputs

    def failing(nb_path, title, formats):
        if "na_test_mo" in nb_path.name:
            raise run_module.AgiiError("rendering failed (test)")
        return real(nb_path, title, formats)

    monkeypatch.setattr(run_module, "render_outputs", failing)  # the pool forks after this
    outcomes = run({YEAR: _files()}, ("html", "xlsx"), jobs=2, force=True, reports_dir=tmp_path,
                   progress=False, echo=lambda *_: None, warn=lambda *_: None)
    status = {o.survey: (o.status, o.message) for o in outcomes}
    assert status["na_test_mo"] == ("failed", "rendering failed (test)")
    assert status["lokale_besturen"][0] == status["vorming"][0] == status["overzicht"][0] == "built"
    year_dir = tmp_path / str(YEAR)
    assert not [p.name for p in year_dir.iterdir() if p.name.startswith(".")]
    assert not (year_dir / "na_test_mo").exists()
    names = output_names("vorming", YEAR)
    assert all((year_dir / "vorming" / names[k]).exists() for k in ("ipynb", "json", "html", "xlsx"))
    manifest = json.loads((year_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["surveys"]["vorming"]["durations_s"]) == {"compute", "notebook", "render", "xlsx", "total"}


def test_terminated_with_surveys_waiting_for_their_second_half_leaves_no_staging(tmp_path):
    """SIGTERM while first halves are done and second halves wait in the parent's queue:
    the parent removes their staging folders, the workers their own."""
    import signal
    import subprocess
    import sys

    import psutil

    reports = tmp_path / "reports"
    year_dir = reports / str(YEAR)
    cmd = [sys.executable, "-c", "import sys; from agii_analysis.cli import main; sys.exit(main(sys.argv[1:]))",
           "run", "--year", str(YEAR), "--jobs", "2", "--force", "--reports-dir", str(reports), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=PARAMS_DIR.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    staged, kernels = [], set()
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            kernels |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)
                        if "ipykernel" in " ".join(c.cmdline())}
        except psutil.Error:
            pass
        # an Excel appendix in a staging folder: that survey's first half is done
        staged = list(year_dir.glob(".staging-*/*_bijlage.xlsx")) if year_dir.exists() else []
        if len(staged) >= 2:
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=120)
    assert len(staged) >= 2, "no two surveys were staged before the run ended"
    assert proc.returncode in (143, -signal.SIGTERM), err
    assert "Traceback" not in err, err
    assert [p.name for p in year_dir.iterdir() if p.name.startswith(".staging-")] == []
    assert kernels, "no kernel seen"

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(k) for k in kernels):
        time.sleep(0.2)
    assert not [k for k in kernels if alive(k)], "a kernel outlived the run"


def test_one_pool_serves_every_year(tmp_path, monkeypatch):
    """With several years to build, the workers (and their warm kernels) are started once."""
    started = []

    class Counting(run_module.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            started.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(run_module, "ProcessPoolExecutor", Counting)
    surveys = ["na_test_mo", "vorming"]
    by_year = {y: [(PARAMS_DIR / str(y) / f"{s}.yaml").resolve() for s in surveys] for y in (2022, 2023)}
    outcomes = run(by_year, ("html",), jobs=2, force=True, reports_dir=tmp_path, progress=False,
                   echo=lambda *_: None)
    assert sorted((o.year, o.survey, o.status) for o in outcomes) == sorted(
        [(y, s, "built") for y in (2022, 2023) for s in [*surveys, "overzicht"]])
    assert started == [1]  # this process and one worker, for both years


def test_a_worker_that_dies_stops_the_run_with_a_clear_error(tmp_path, monkeypatch):
    """A worker killed mid-build (out of memory, a crash): an AgiiError naming the year, and
    no staging folder of it left behind."""
    import multiprocessing
    import os

    from agii_analysis.errors import AgiiError

    real = run_module.execute_notebook

    def dying(template, output, parameters, progress=False):
        if multiprocessing.parent_process() is not None:  # the worker, not this process
            os._exit(9)
        return real(template, output, parameters, progress)

    monkeypatch.setattr(run_module, "execute_notebook", dying)  # the workers fork after this
    with pytest.raises(AgiiError, match=f"a build worker of {YEAR} stopped unexpectedly"):
        run({YEAR: _files()}, ("html",), jobs=2, force=True, reports_dir=tmp_path, progress=False,
            echo=lambda *_: None, warn=lambda *_: None)
    year_dir = tmp_path / str(YEAR)
    assert not [p.name for p in year_dir.iterdir() if p.name.startswith(".staging-")]


def test_three_jobs_render_pdfs_in_every_process(tmp_path, monkeypatch):
    """--jobs 3: this process and two workers (two feeder threads) build a year, PDFs
    included, each process with its own font map (a forked worker does not reuse the
    parent's, whose thread it would not have)."""
    import os

    started, pids = [], {}

    class Counting(run_module.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            started.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    real = run_module.render_outputs

    def noting(nb_path, title, formats):
        real(nb_path, title, formats)
        (tmp_path / f"rendered-{nb_path.stem}").write_text(str(os.getpid()))

    monkeypatch.setattr(run_module, "ProcessPoolExecutor", Counting)
    monkeypatch.setattr(run_module, "render_outputs", noting)  # the workers fork after this
    reports = tmp_path / "reports"
    outcomes = run({YEAR: _files()}, ("html", "pdf"), jobs=3, force=True, reports_dir=reports,
                   progress=False, echo=lambda *_: None)
    assert {o.survey: o.status for o in outcomes} == {s: "built" for s in [*SURVEYS, "overzicht"]}
    assert started == [1, 1]  # this process and two workers
    for survey in SURVEYS:
        pdf = reports / str(YEAR) / survey / output_names(survey, YEAR)["pdf"]
        assert pdf.read_bytes().startswith(b"%PDF")
        pids[survey] = (tmp_path / f"rendered-{survey}_{YEAR}").read_text()
    assert len(set(pids.values()) - {str(os.getpid())}) >= 1, pids  # a worker rendered a PDF
    year_dir = reports / str(YEAR)
    assert not [p.name for p in year_dir.iterdir() if p.name.startswith(".")]
