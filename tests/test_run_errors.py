"""Failure isolation of `agii run`: a bad input stops with one clear line (never a
traceback), leaves the survey's previous reports byte-identical, and does not stop the
other surveys of the year."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agii_analysis.params import REPO_ROOT

YEAR = 2022
# `agii run` with the parameter folder moved to a temporary one (first argument)
AGII_WITH_PARAMS = (
    "import sys; from pathlib import Path; import agii_analysis.params as p, agii_analysis.run as r; "
    "p.PARAMS_DIR = r.PARAMS_DIR = Path(sys.argv.pop(1)); "
    "from agii_analysis.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _agii(*args, params_dir: Path | None = None) -> subprocess.CompletedProcess:
    code = AGII_WITH_PARAMS if params_dir else "import sys; from agii_analysis.cli import main; sys.exit(main(sys.argv[1:]))"
    extra = [str(params_dir)] if params_dir else []
    return subprocess.run([sys.executable, "-c", code, *extra, *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=900)


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def reports(demo_build, tmp_path) -> Path:
    """A copy of the demo build's 2022 reports (previously built)."""
    dst = tmp_path / "reports"
    shutil.copytree(demo_build / str(YEAR), dst / str(YEAR))
    return dst


def _params_copy(tmp_path: Path, survey: str, edit=None, name: str | None = None) -> Path:
    text = (REPO_ROOT / "params" / str(YEAR) / f"{survey}.yaml").read_text(encoding="utf-8")
    if edit:
        text = edit(text)
    out = tmp_path / "params" / str(YEAR) / f"{name or survey}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("agii: error: "), lines
    return lines[0]


CASES = {
    "missing export": lambda text: text.replace("vorming_2022_b.csv", "vorming_2022_weg.csv"),
    "broken yaml": lambda text: text.replace("inputs:\n", "inputs: [\n", 1),
    "unknown key": lambda text: text + "\ndrempel: 5\n",
}
EXPECT = {
    "missing export": "export not found: data/raw/demo/2022/vorming_2022_weg.csv",
    "broken yaml": "invalid YAML",
    "unknown key": "drempel: unknown key",
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_params_one_line_and_previous_reports_untouched(reports, tmp_path, case):
    before = _tree(reports)
    params = _params_copy(tmp_path, "vorming", CASES[case])
    proc = _agii("run", "--params", params, "--reports-dir", reports, "--force", "--no-progress")
    assert proc.returncode != 0
    line = _one_line(proc)
    assert EXPECT[case] in line and params.name in line, line
    assert _tree(reports) == before


def test_unknown_survey(reports):
    before = _tree(reports)
    proc = _agii("run", "--year", YEAR, "--survey", "nope", "--reports-dir", reports, "--force", "--no-progress")
    assert proc.returncode != 0
    line = _one_line(proc)
    assert "unknown survey 'nope'" in line and "vorming" in line  # names the known ones
    assert _tree(reports) == before


def test_missing_params_file(reports, tmp_path):
    before = _tree(reports)
    proc = _agii("run", "--params", tmp_path / "geen.yaml", "--reports-dir", reports, "--no-progress")
    assert proc.returncode != 0
    assert "parameter file not found" in _one_line(proc)
    assert _tree(reports) == before


def test_one_broken_survey_does_not_stop_the_other(reports, tmp_path):
    """vorming builds; lokale_besturen's export is damaged: exit 1 naming it, and its
    previous reports are byte-identical."""
    params_dir = tmp_path / "params"
    _params_copy(tmp_path, "vorming")
    damaged = tmp_path / "lokale_besturen_2022.xlsx"
    damaged.write_bytes((REPO_ROOT / "data/raw/demo/2022/lokale_besturen_2022.xlsx").read_bytes()[:3000])
    _params_copy(tmp_path, "lokale_besturen",
                 lambda text: text.replace("data/raw/demo/2022/lokale_besturen_2022.xlsx", str(damaged)))
    broken_before = _tree(reports / str(YEAR) / "lokale_besturen")
    vorming_before = _tree(reports / str(YEAR) / "vorming")
    proc = _agii("run", "--year", YEAR, "--reports-dir", reports, "--formats", "html,xlsx", "--no-progress",
                 params_dir=params_dir)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [l for l in proc.stderr.splitlines() if l.startswith("agii: error:")]
    assert len(errors) == 1 and "lokale_besturen 2022" in errors[0] and "cannot be read as XLSX" in errors[0], proc.stderr
    assert "agii: error" not in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "agii: 1 failed: lokale_besturen 2022"
    assert "2022 vorming: built" in proc.stdout
    assert _tree(reports / str(YEAR) / "lokale_besturen") == broken_before
    vorming_after = _tree(reports / str(YEAR) / "vorming")
    assert vorming_after != vorming_before and sorted(vorming_after) == [
        "vorming_2022.html", "vorming_2022.ipynb", "vorming_2022_bijlage.xlsx", "vorming_2022_resultaten.json"]
    manifest = json.loads((reports / str(YEAR) / "manifest.json").read_text(encoding="utf-8"))
    assert {o["file"]: o["sha256"] for o in manifest["surveys"]["vorming"]["outputs"]} == vorming_after
    assert not [p.name for p in (reports / str(YEAR)).iterdir() if p.name.startswith((".staging-", ".old-", ".pending-"))]


@pytest.mark.parametrize("case", ["year of another folder", "a copy under another name"])
def test_misplaced_params_file_stops_before_anything_is_built(reports, tmp_path, case):
    """A file under params/<year>/ is that year's <survey>.yaml: a wrong year would file its
    reports under another year, a copy would overwrite the survey's reports (last one wins)."""
    params_dir = tmp_path / "params"
    _params_copy(tmp_path, "vorming")
    if case == "year of another folder":
        bad = _params_copy(tmp_path, "lokale_besturen", lambda text: text.replace("year: 2022", "year: 2021"))
        expect = "year: 2021 does not match the folder 2022/"
    else:
        bad = _params_copy(tmp_path, "vorming", name="vorming_kopie")
        expect = "survey: 'vorming' does not match the file name 'vorming_kopie.yaml'"
    before = _tree(reports)
    for selection in (["--year", YEAR], ["--all"], ["--params", bad]):
        proc = _agii("run", *selection, "--reports-dir", reports, "--no-progress", params_dir=params_dir)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        line = _one_line(proc)
        assert expect in line and bad.name in line, line
        assert proc.stdout == "" and _tree(reports) == before
        assert not (reports / "2021").exists()


def test_reports_dir_that_is_a_file(tmp_path):
    target = tmp_path / "rapporten"
    target.write_text("not a folder", encoding="utf-8")
    proc = _agii("run", "--year", YEAR, "--reports-dir", target, "--no-progress")
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "--reports-dir is a file" in line and "rapporten" in line and "expected a folder" in line, line


@pytest.mark.parametrize("where", ["survey", "year"])
def test_a_file_where_an_output_folder_goes(tmp_path, where):
    """A file named like the survey's (or the year's) output folder stops that survey with
    one line, and the file is left where it was: it used to be swapped out of sight
    (.old-vorming~<pid>) or to stop the build with an OS error."""
    reports = tmp_path / "reports"
    blocker = reports / str(YEAR) / "vorming" if where == "survey" else reports / str(YEAR)
    blocker.parent.mkdir(parents=True)
    blocker.write_text("mijn notities", encoding="utf-8")
    proc = _agii("run", "--params", REPO_ROOT / "params" / str(YEAR) / "vorming.yaml", "--reports-dir", reports,
                 "--no-progress")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    line, summary = proc.stderr.splitlines()  # the survey's error, then the run's summary
    assert line == (f"agii: error: vorming {YEAR}: {blocker} is a file, not a folder (expected move or rename "
                    "that file: agii run writes the reports into a folder of that name)"), line
    assert summary == f"agii: 1 failed: vorming {YEAR}"
    assert blocker.read_text(encoding="utf-8") == "mijn notities"
    assert sorted(p.name for p in blocker.parent.iterdir()) == [blocker.name]


@pytest.mark.parametrize("target", ["folder", "nothing"])
def test_a_link_where_the_survey_folder_goes(tmp_path, target):
    """A survey folder that is a link would be replaced by a real folder, the link put
    aside out of sight (.old-<survey>~pid): refused, the link left as it was."""
    reports = tmp_path / "reports"
    (reports / str(YEAR)).mkdir(parents=True)
    elsewhere = tmp_path / "gedeelde_map"
    if target == "folder":
        elsewhere.mkdir()
    link = reports / str(YEAR) / "vorming"
    link.symlink_to(elsewhere, target_is_directory=True)
    proc = _agii("run", "--params", REPO_ROOT / "params" / str(YEAR) / "vorming.yaml", "--reports-dir", reports,
                 "--no-progress")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.splitlines()[0]
    expect = f"{link} is a link" + (" to nothing" if target == "nothing" else "")
    assert f"agii: error: vorming {YEAR}: {expect} (expected a real folder" in line, line
    assert link.is_symlink() and sorted(p.name for p in link.parent.iterdir()) == ["vorming"]


def test_params_and_cache_outside_the_repository(tmp_path):
    """Real data's parameter files and cache can live outside the repository: --params-dir
    and --cache-dir; nothing is written into the repository's data/processed/."""
    from agii_analysis.prepare import PROCESSED_DIR

    _params_copy(tmp_path, "vorming")
    before = {p.name: p.stat().st_mtime_ns for p in PROCESSED_DIR.glob("*")} if PROCESSED_DIR.exists() else {}
    proc = _agii("run", "--year", YEAR, "--params-dir", tmp_path / "params", "--cache-dir", tmp_path / "cache",
                 "--reports-dir", tmp_path / "reports", "--formats", "xlsx", "--force", "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["2022 vorming: built", "2022 overzicht: built"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "vorming_2022.parquet", "vorming_2022_accounting.json", "vorming_2022_respondents.parquet"]
    after = {p.name: p.stat().st_mtime_ns for p in PROCESSED_DIR.glob("*")} if PROCESSED_DIR.exists() else {}
    assert after == before
    for flag in ("--params-dir", "--cache-dir"):
        proc = _agii("run", "--year", YEAR, flag, tmp_path / "reports" / "2022" / "manifest.json", "--no-progress")
        assert proc.returncode == 2 and "agii: error:" in proc.stderr and "manifest.json" in proc.stderr, proc.stderr
