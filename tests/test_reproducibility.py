"""Reproducibility: the same inputs built twice give the same figures, the same Excel
cells and styles and the same report text (only the run timestamp differs); and the
accounting of every survey-year adds up and agrees between manifest and results."""

from __future__ import annotations

import copy
import hashlib
import html as html_lib
import json
import re
from pathlib import Path

import openpyxl
import pytest

from agii_analysis.params import PARAMS_DIR
from agii_analysis.run import output_names, run

YEAR = 2022
SURVEYS = ["lokale_besturen", "na_test_mo", "vorming"]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


@pytest.fixture(scope="module")
def second_build(tmp_path_factory) -> Path:
    """A few surveys of one year built again (forced) into another folder."""
    reports = tmp_path_factory.mktemp("again")
    files = [(PARAMS_DIR / str(YEAR) / f"{s}.yaml").resolve() for s in SURVEYS]
    outcomes = run({YEAR: files}, ("html", "pdf", "xlsx"), jobs=2, force=True, reports_dir=reports,
                   progress=False, overview=False, echo=lambda *_: None)
    assert [o.status for o in outcomes] == ["built"] * len(SURVEYS), [(o.survey, o.message) for o in outcomes]
    return reports


def _out(reports: Path, survey: str, kind: str) -> Path:
    return reports / str(YEAR) / survey / output_names(survey, YEAR)[kind]


def _without_run_time(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["provenance"].pop("computed_at", None)
    return data


@pytest.mark.parametrize("survey", SURVEYS)
def test_results_json_identical(demo_build, second_build, survey):
    a = json.loads(_out(demo_build, survey, "json").read_text(encoding="utf-8"))
    b = json.loads(_out(second_build, survey, "json").read_text(encoding="utf-8"))
    assert a["provenance"]["computed_at"] and b["provenance"]["computed_at"]
    a, b = _without_run_time(a), _without_run_time(b)
    for key in a:  # table by table, for a readable failure
        assert a[key] == b[key], key
    assert a == b


def _style(cell) -> tuple:
    return (cell.number_format, copy.copy(cell.font), copy.copy(cell.fill), copy.copy(cell.border),
            copy.copy(cell.alignment), copy.copy(cell.protection))


@pytest.mark.parametrize("survey", SURVEYS)
def test_xlsx_cells_and_styles_identical(demo_build, second_build, survey):
    wa = openpyxl.load_workbook(_out(demo_build, survey, "xlsx"))
    wb = openpyxl.load_workbook(_out(second_build, survey, "xlsx"))
    assert wa.sheetnames == wb.sheetnames
    for attr in ("title", "subject", "creator", "description", "language", "created", "modified"):
        assert getattr(wa.properties, attr) == getattr(wb.properties, attr), attr
    for sa, sb in zip(wa.worksheets, wb.worksheets):
        assert (sa.max_row, sa.max_column) == (sb.max_row, sb.max_column), sa.title
        for ra, rb in zip(sa.iter_rows(), sb.iter_rows()):
            for ca, cb in zip(ra, rb):
                where = f"{sa.title}!{ca.coordinate}"
                assert ca.value == cb.value, where
                assert _style(ca) == _style(cb), where
        assert sorted(map(str, sa.merged_cells.ranges)) == sorted(map(str, sb.merged_cells.ranges)), sa.title
        assert dict(sa.tables.items()) == dict(sb.tables.items()), sa.title  # name -> range
        assert {k: d.width for k, d in sa.column_dimensions.items()} == \
               {k: d.width for k, d in sb.column_dimensions.items()}, sa.title
        assert sa.freeze_panes == sb.freeze_panes, sa.title


def _html_text(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"data:[^\"')\s]*", "", text)  # embedded images: not text
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S | re.I)
    text = html_lib.unescape(re.sub(r"<[^>]+>", "\n", text))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("survey", SURVEYS)
def test_html_text_identical_but_the_run_time(demo_build, second_build, survey):
    a = _html_text(_out(demo_build, survey, "html"))
    b = _html_text(_out(second_build, survey, "html"))
    stamped = [i for i, line in enumerate(a) if TIMESTAMP.search(line)]
    assert stamped, "the report states when it was computed"
    assert len(a) == len(b)
    differ = [(x, y) for x, y in zip(a, b) if x != y]
    assert all(TIMESTAMP.search(x) and TIMESTAMP.sub("<t>", x) == TIMESTAMP.sub("<t>", y) for x, y in differ), differ[:5]
    assert len(differ) <= len(stamped)


def _manifest_entries(reports: Path):
    for manifest in sorted(reports.glob("*/manifest.json")):
        for survey, entry in json.loads(manifest.read_text(encoding="utf-8"))["surveys"].items():
            yield manifest.parent.name, survey, entry


def test_accounting_adds_up_and_matches_the_results(demo_build):
    entries = list(_manifest_entries(demo_build))
    assert len(entries) >= 13
    for year, survey, entry in entries:
        acc = entry["accounting"]
        where = f"{survey} {year}"
        assert acc["read"] == acc["used"] + sum(acc["excluded"].values()), where
        assert acc["used"] == acc["complete"] + acc["partial"], where
        res = json.loads((demo_build / year / survey / output_names(survey, int(year))["json"]).read_text(encoding="utf-8"))
        assert res["accounting"] == acc, where
        response = {r["measure"]: r["value"] for r in res["response"]}
        assert (response["read"], response["respondents"]) == (acc["read"], acc["used"]), where
        assert (response["complete"], response["partial"]) == (acc["complete"], acc["partial"]), where
        assert {r["reason"]: r["count"] for r in res["exclusions"]} == acc["excluded"], where
        assert res["headline"]["respondents"] == acc["used"], where
        # every output the manifest lists is the file on disk
        for o in entry["outputs"]:
            path = demo_build / year / survey / o["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == o["sha256"], f"{where} {o['file']}"
