"""The yearly overview rebuilds the published table (instrument.md §4) in HTML and PDF."""

import json
import re
import subprocess
from html.parser import HTMLParser

import pytest

# type bevraging -> (NPS, % (heel) tevreden, difference on x-1) as published
PUBLISHED = {
    2022: {"Na aanbod MO": ("72", "95", "-3 [b]"), "Na test MO": ("nvt", "90", "nvt"),
           "Na inburgeringstraject": ("41", "83", "-5 [b]"), "Vormingsaanbod AgII": ("13", "81", "-10 [b]")},
    2023: {"Lokale besturen": ("-6", "70", "+3 [b]")},
}


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join(self._cell.split()).replace("−", "-"))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _published_table(html: str):
    parser = _Rows()
    parser.feed(html)
    for table in parser.tables:
        if table and "Net Promotor Score" in table[0]:
            head = table[0]
            return [dict(zip(head, row)) for row in table[1:]]
    raise AssertionError("no published table in the overview")


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_overview_html_has_the_published_rows(demo_build, year):
    rows = {r["Type bevraging"]: r for r in _published_table((demo_build / str(year) / f"overzicht_{year}.html").read_text(encoding="utf-8"))}
    for survey, (nps, pct, diff) in PUBLISHED[year].items():
        r = rows[survey]
        assert (r["Net Promotor Score"], r["% (heel) tevreden"], r["Verschil t.o.v. jaar x-1"], r["Jaar"]) == (nps, pct, diff, str(year))


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_overview_pdf_text_has_the_published_rows(demo_build, year):
    text = subprocess.run(["pdftotext", "-layout", str(demo_build / str(year) / f"overzicht_{year}.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout.replace("−", "-")
    for survey, (nps, pct, diff) in PUBLISHED[year].items():
        line = next((l for l in text.splitlines() if l.strip().startswith(survey)), None)
        assert line is not None, f"{survey} not in the PDF"
        cells = re.split(r"\s{2,}", line.strip())
        assert cells[0] == survey and cells[-3:] == [nps, pct, diff], line


def test_every_demo_report_was_built(demo_build):
    from agii_analysis.params import find_params
    from agii_analysis.run import output_names

    for p in find_params():
        survey, year = p.stem, int(p.parent.name)
        folder = demo_build / str(year) / survey
        for name in output_names(survey, year).values():
            assert (folder / name).stat().st_size > 0, name
    for year in (2021, 2022, 2023):
        for suffix in (".ipynb", ".html", ".pdf", ".xlsx"):
            assert (demo_build / str(year) / f"overzicht_{year}{suffix}").exists()


def test_executed_notebooks_name_their_final_place(demo_build):
    """Papermill records where it wrote a notebook: the final path, never the staging
    folder it was executed in (a path that no longer exists, and differs per run)."""
    notebooks = sorted(demo_build.glob("*/**/*.ipynb"))
    assert len(notebooks) == 16
    for nb in notebooks:
        meta = json.loads(nb.read_text(encoding="utf-8"))["metadata"]["papermill"]
        assert ".staging-" not in json.dumps(meta), nb.name
        assert meta["output_path"].endswith(f"{nb.parent.name}/{nb.name}"), (nb.name, meta["output_path"])


def test_input_warnings_reach_the_manifest_the_results_and_the_report(demo_build):
    """The demo's 2021 vorming export has Excel-rounded respondent ids: `agii validate`
    warns, and so do the manifest, the results file and the report's provenance."""
    manifest = json.loads((demo_build / "2021" / "manifest.json").read_text(encoding="utf-8"))
    warnings = manifest["surveys"]["vorming"]["warnings"]
    assert len(warnings) == 1 and "were rounded by Excel" in warnings[0]
    results = json.loads((demo_build / "2021" / "vorming" / "vorming_2021_resultaten.json").read_text(encoding="utf-8"))
    assert results["provenance"]["warnings"] == warnings
    html = (demo_build / "2021" / "vorming" / "vorming_2021.html").read_text(encoding="utf-8")
    assert "Waarschuwingen bij het inlezen" in html and "were rounded by Excel" in html
    assert "they were kept as '&lt;id&gt;~r&lt;row&gt;', so duplicates cannot be detected" in html  # text, not tags
    quiet = (demo_build / "2022" / "vorming" / "vorming_2022.html").read_text(encoding="utf-8")
    assert manifest_warnings(demo_build, 2022, "vorming") == [] and "Waarschuwingen bij het inlezen" not in quiet


def manifest_warnings(root, year, survey):
    manifest = json.loads((root / str(year) / "manifest.json").read_text(encoding="utf-8"))
    return manifest["surveys"][survey]["warnings"]


def test_run_prints_input_warnings(tmp_path):
    from agii_analysis.params import PARAMS_DIR
    from agii_analysis.run import run

    lines = []
    run({2021: [(PARAMS_DIR / "2021" / "vorming.yaml").resolve()]}, ("xlsx",), reports_dir=tmp_path, progress=False,
        overview=False, echo=lambda *_: None, warn=lines.append)
    assert len(lines) == 1 and lines[0].startswith("agii: warning: vorming 2021: vorming_2021.csv: 527 respondent id(s)")


def test_a_run_of_one_params_file_keeps_the_years_overview_in_step(tmp_path, capsys):
    """`agii run --params` left the year's overview as it was: after a changed params
    file (more invited) the survey's report and the overview disagreed. It now rebuilds an
    overview the year already has, in the formats asked for (an older format of it goes,
    as in a survey's folder), and still makes none of its own."""
    import shutil

    from agii_analysis import cli
    from agii_analysis.params import PARAMS_DIR

    folder = tmp_path / "params" / "2021"
    folder.mkdir(parents=True)
    params = folder / "vorming.yaml"
    shutil.copy(PARAMS_DIR / "2021" / "vorming.yaml", params)
    fresh, kept = tmp_path / "fresh", tmp_path / "kept"
    assert cli.main(["run", "--params", str(params), "--reports-dir", str(fresh), "--formats", "xlsx",
                     "--no-progress"]) == 0
    assert not list((fresh / "2021").glob("overzicht_2021.*"))
    assert cli.main(["run", "--year", "2021", "--params-dir", str(tmp_path / "params"), "--reports-dir", str(kept),
                     "--formats", "html,xlsx", "--no-progress"]) == 0
    assert {p.suffix for p in (kept / "2021").glob("overzicht_2021.*")} == {".ipynb", ".html", ".xlsx"}
    text = params.read_text(encoding="utf-8")
    invited = int(re.search(r"^invited: (\d+)", text, re.M).group(1))
    params.write_text(text.replace(f"invited: {invited}", f"invited: {invited + 500}"), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["run", "--params", str(params), "--reports-dir", str(kept), "--formats", "xlsx",
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2021 vorming: built" in out and "2021 overzicht: built" in out, out
    assert {p.suffix for p in (kept / "2021").glob("overzicht_2021.*")} == {".ipynb", ".xlsx"}
    import openpyxl

    row = next(r for r in openpyxl.load_workbook(kept / "2021" / "overzicht_2021.xlsx")["Overzicht"].iter_rows(
        values_only=True) if r and r[-1] == "vorming")
    assert invited + 500 in row and invited not in row  # the overview has this run's invited count
