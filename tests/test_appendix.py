"""The Excel appendix and the overview workbook, on real Results of the demo data.

The published figures below (instrument.md section 4) may appear here, never in the
package: the overview must rebuild them from the data.
"""

import dataclasses
import datetime as dt
import json
import math
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from agii_analysis.appendix import data_date, write_appendix, write_overview
from agii_analysis.errors import AgiiError
from agii_analysis.params import PARAMS_DIR, find_params
from agii_analysis.results import Results, compute

pytestmark = pytest.mark.skipif(not (PARAMS_DIR / "2022" / "vorming.yaml").exists(),
                                reason="demo parameters missing: run `agii demo` (make test does)")

# Results table -> appendix sheet
SHEETS = {
    "key_figures": "Kerncijfers", "subgroups": "Deelgroepen", "change": "Vergelijking", "response": "Respons",
    "response_by": "Respons per groep", "exclusions": "Uitsluitingen", "distributions": "Verdelingen",
    "nps": "NPS", "aspects": "Onderdelen", "priority": "Prioriteiten", "breakdowns": "Uitsplitsingen",
    "trend": "Verloop", "themes": "Verbeterpunten", "quotes": "Citaten",
}
PUBLISHED = {  # type bevraging -> (NPS, % (heel) tevreden, verschil, breuk)
    2022: {"Na aanbod MO": (72, 95, -3, "[b]"), "Na test MO": ("[z]", 90, "[z]", "[z]"),
           "Na inburgeringstraject": (41, 83, -5, "[b]"), "Vormingsaanbod AgII": (13, 81, -10, "[b]")},
    2023: {"Lokale besturen": (-6, 70, 3, "[b]")},
}
ORDER = ["Na aanbod MO", "Na test MO", "Na inburgeringstraject", "Vormingsaanbod AgII", "Lokale besturen"]


@pytest.fixture(scope="module")
def vorming():
    return compute(PARAMS_DIR / "2022" / "vorming.yaml")


@pytest.fixture(scope="module")
def by_year():
    return {year: [compute(p) for p in find_params(year)] for year in (2022, 2023)}


@pytest.fixture(scope="module")
def appendix(vorming, tmp_path_factory):
    path = tmp_path_factory.mktemp("app") / "vorming_2022.xlsx"
    write_appendix(vorming, path)
    return path


def _table_rows(ws):
    (table,) = ws.tables.values()
    rows = [[c.value for c in r] for r in ws[table.ref]]
    return rows[0], rows[1:]


def _numbers(ws) -> set:
    return {c.value for row in ws.iter_rows() for c in row
            if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)}


def _results_numbers(df: pd.DataFrame):
    """(column, value) of every number of a Results table, suppressed rows left out."""
    if "suppressed" in df.columns:
        df = df[~df["suppressed"].fillna(False).astype(bool)]
    for col in df.columns:
        for v in df[col]:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                continue
            if not math.isnan(v):
                yield col, v


def test_sheet_list(appendix):
    wb = openpyxl.load_workbook(appendix)
    assert wb.sheetnames == [
        "Voorblad", "Inhoud", "Toelichting", "Kerncijfers", "Deelgroepen", "Vergelijking", "Respons",
        "Respons per groep", "Uitsluitingen", "Verdelingen", "NPS", "Onderdelen", "Prioriteiten",
        "Uitsplitsingen", "Verloop", "Verbeterpunten", "Invoerbestanden", "Parameters",
    ]
    assert wb.active.title == "Voorblad"
    assert wb.properties.language == "nl-BE"


def test_structure(appendix):
    wb = openpyxl.load_workbook(appendix)
    links = [c.hyperlink.location for c in wb["Inhoud"]["A"] if c.hyperlink]
    assert [re.fullmatch(r"'(.+)'!A1", x).group(1) for x in links] == wb.sheetnames[2:]
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges and len(ws.title) <= 31
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
        if ws.title != "Voorblad":
            assert len(ws.tables) == 1


@pytest.mark.parametrize("year", [2022, 2023])
def test_every_number_of_results_is_in_the_workbook(by_year, year, tmp_path):
    for r in by_year[year]:
        path = tmp_path / f"{r.survey}.xlsx"
        write_appendix(r, path)
        wb = openpyxl.load_workbook(path)
        for name in Results.TABLES:
            df = getattr(r, name)
            if df.empty:
                assert SHEETS[name] not in wb.sheetnames or name in ("themes", "exclusions")
                continue
            found = _numbers(wb[SHEETS[name]])
            missing = [(c, v) for c, v in _results_numbers(df) if v not in found]
            assert not missing, f"{r.survey} {year} {name}: not in sheet {SHEETS[name]}: {missing[:5]}"


def test_numbers_are_not_rounded(vorming, appendix):
    ws = openpyxl.load_workbook(appendix)["Kerncijfers"]
    header, rows = _table_rows(ws)
    sat = vorming.figure("pct_satisfied")
    row = next(r for r in rows if r[header.index("Code indicator")] == "pct_satisfied")
    assert row[header.index("Schatting")] == sat["estimate"]
    assert row[header.index("Afgerond cijfer [note 6]")] == sat["rounded"]


def test_break_in_series_is_flagged_beside_the_number(vorming, appendix):
    ws = openpyxl.load_workbook(appendix)["Kerncijfers"]
    header, rows = _table_rows(ws)
    row = next(r for r in rows if r[header.index("Code indicator")] == "pct_satisfied")
    diff = next(h for h in header if h.startswith("Verschil met vorig jaar, afgerond"))
    assert row[header.index(diff)] == vorming.headline()["diff"]
    assert row[header.index("Breuk in reeks")] == "[b]"
    notes = [c.value for c in openpyxl.load_workbook(appendix)["Toelichting"]["B"]]
    assert any(n and n.startswith("Breuk in de reeks") for n in notes)


def test_suppressed_groups_are_c(vorming, appendix):
    bd = vorming.breakdowns
    hidden = bd[bd["suppressed"]]
    assert len(hidden), "the demo has small groups to suppress"
    ws = openpyxl.load_workbook(appendix)["Uitsplitsingen"]
    header, rows = _table_rows(ws)
    for _, h in hidden.iterrows():
        row = next(r for r in rows if r[0] == h["question_label"] and r[1] == h["group"])
        values = row[2:header.index("Code indeling")]
        assert values == ["[c]"] * len(values)
    assert any("[c] = afgeschermd" in (c.value or "") for c in ws["A"][:4])


def test_read_is_used_plus_excluded(vorming, appendix):
    wb = openpyxl.load_workbook(appendix)
    header, rows = _table_rows(wb["Respons"])
    counts = {r[header.index("Code maat")]: r[header.index("Aantal")] for r in rows}
    _, excl = _table_rows(wb["Uitsluitingen"])
    assert counts["read"] == counts["respondents"] + sum(r[1] for r in excl)
    assert counts["read"] == vorming.accounting["read"]


def test_nps_components(vorming, appendix):
    header, rows = _table_rows(openpyxl.load_workbook(appendix)["NPS"])
    score = next(r for r in rows if r[-1] == "score")
    assert score[header.index("NPS in punten [note 4]")] == vorming.figure("nps")["estimate"]
    assert score[header.index("Aandeel")] == "[z]"
    promoters = next(r for r in rows if r[-1] == "promoters")
    assert 0 < promoters[header.index("Aandeel")] < 1
    assert wb_format(appendix, "NPS", header.index("Aandeel")) == "0.0%"


def wb_format(path, sheet, col):
    ws = openpyxl.load_workbook(path)[sheet]
    (table,) = ws.tables.values()
    first = openpyxl.utils.cell.range_boundaries(table.ref)[1] + 1
    return ws.cell(row=first, column=col + 1).number_format


def test_provenance_sheets(vorming, appendix):
    wb = openpyxl.load_workbook(appendix)
    _, rows = _table_rows(wb["Invoerbestanden"])
    assert rows == [[i["file"], i["sha256"]] for i in vorming.provenance["inputs"]]
    _, params = _table_rows(wb["Parameters"])
    keys = {r[2]: r[1] for r in params}
    assert keys["suppression_threshold"] == vorming.threshold
    assert keys["invited"] == vorming.headline()["invited"]
    assert vorming.provenance["computed_at"] not in {str(r[1]) for r in params}


def test_doc_date_is_the_data_date(vorming, appendix):
    assert data_date(vorming) == dt.date(2022, 12, 31)
    props = openpyxl.load_workbook(appendix).properties
    assert props.created == props.modified == dt.datetime(2022, 12, 31)


def test_identical_reruns(appendix, tmp_path):
    again = tmp_path / "again.xlsx"
    write_appendix(compute(PARAMS_DIR / "2022" / "vorming.yaml"), again)  # a fresh computation
    assert again.read_bytes() == appendix.read_bytes()


def test_results_from_json_give_the_same_workbook(vorming, appendix, tmp_path):
    path = tmp_path / "json.xlsx"
    write_appendix(Results.from_dict(json.loads(vorming.to_json())), path)
    assert path.read_bytes() == appendix.read_bytes()


def test_quotes_only_when_present(vorming, tmp_path):
    assert vorming.quotes.empty
    theme = vorming.themes["theme"].iloc[0]
    quotes = pd.DataFrame([{"theme": theme, "quote": "=Meer voorbeelden uit de praktijk"}])
    path = tmp_path / "q.xlsx"
    write_appendix(dataclasses.replace(vorming, quotes=quotes), path)
    ws = openpyxl.load_workbook(path)["Citaten"]
    _, rows = _table_rows(ws)
    assert rows == [[vorming.themes["label"].iloc[0], "=Meer voorbeelden uit de praktijk", theme]]
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_survey_without_nps_and_yearly_survey(by_year, tmp_path):
    test_mo = next(r for r in by_year[2022] if r.survey == "na_test_mo")
    write_appendix(test_mo, tmp_path / "t.xlsx")
    names = openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames
    assert "NPS" not in names and "Verloop" in names
    lokaal = next(r for r in by_year[2023] if r.survey == "lokale_besturen")
    write_appendix(lokaal, tmp_path / "l.xlsx")
    names = openpyxl.load_workbook(tmp_path / "l.xlsx").sheetnames
    assert "Verloop" not in names and "NPS" in names



def test_first_measurement_has_no_change_to_show(by_year, tmp_path):
    """na_test_mo starts in 2022: its change cells are [z] (the publication's 'nvt'), not numbers or [x]."""
    test_mo = next(r for r in by_year[2022] if r.survey == "na_test_mo")
    assert test_mo.change.empty
    wb = openpyxl.load_workbook(write_appendix(test_mo, tmp_path / "t.xlsx"))
    header, rows = _table_rows(wb["Kerncijfers"])
    change = [i for i, h in enumerate(header) if h.startswith(("Vorig jaar", "Cijfer vorig jaar", "Verschil met vorig",
                                                                  "Breuk in reeks", "p-waarde", "Significant", "Bron"))]
    assert len(change) == 8 and rows
    assert {row[i] for row in rows for i in change} == {"[z]"}
    notes = [row for row in wb["Toelichting"].iter_rows(values_only=True) if row[1] and row[2]]
    assert any(text.startswith("Niet van toepassing") and "geen vorige meting" in text and "Kerncijfers" in sheets
               for _, text, sheets in notes)
    # a survey with a previous year keeps its numbers there
    vorming = next(r for r in by_year[2022] if r.survey == "vorming")
    header, rows = _table_rows(openpyxl.load_workbook(write_appendix(vorming, tmp_path / "v.xlsx"))["Kerncijfers"])
    sat = next(r for r in rows if r[header.index("Code indicator")] == "pct_satisfied")
    assert isinstance(sat[header.index("Vorig jaar")], int) and sat[header.index("Breuk in reeks")] == "[b]"

@pytest.mark.parametrize("year", [2022, 2023])
def test_overview_has_the_published_numbers(by_year, year, tmp_path):
    path = tmp_path / f"overzicht_{year}.xlsx"
    write_overview(by_year[year], year, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Voorblad", "Inhoud", "Toelichting", "Overzicht", "Invoerbestanden"]
    header, rows = _table_rows(wb["Overzicht"])
    assert [h.split(" [note")[0] for h in header] == [
        "Type bevraging", "Wie", "Jaar", "Net Promotor Score jaar x", "% (heel) tevreden jaar x",
        "Verschil % (heel) tevreden t.o.v. jaar x\u22121", "Breuk in reeks", "Aangeschreven", "Respondenten",
        "Responsgraad", "Code bevraging"]
    by_type = {r[0]: r for r in rows}
    for survey, (nps, pct, diff, flag) in PUBLISHED[year].items():
        assert tuple(by_type[survey][3:7]) == (nps, pct, diff, flag), survey
        assert by_type[survey][2] == year
    assert [r[0] for r in rows] == ORDER  # the published table's order
    first = wb["Overzicht"].cell(row=6, column=6)  # Na aanbod MO: a number in both years
    assert isinstance(first.value, int) and first.number_format == "+0;-0;0"


@pytest.mark.parametrize("year", [2022, 2023])
def test_overview_rows_are_the_headlines(by_year, year, tmp_path):
    path = tmp_path / "o.xlsx"
    write_overview(by_year[year], year, path)
    header, rows = _table_rows(openpyxl.load_workbook(path)["Overzicht"])
    by_code = {r[-1]: r for r in rows}
    for r in by_year[year]:
        h = r.headline()
        row = by_code[r.survey]
        assert row[0] == h["type"] and row[1] == h["who"]
        assert row[3] == ("[z]" if r.figure("nps") is None else h["nps"])
        assert row[4] == h["pct_satisfied"]
        first = h["first_measurement"] and r.change.empty  # a first edition: "nvt" in the publication
        assert row[5] == ("[z]" if first else "[x]" if h["diff"] is None else h["diff"])
        assert row[6] == {None: "[z]" if first else "[x]", True: "Nee", False: "[b]"}[h["comparable"]]
        assert row[7:10] == [h["invited"], h["respondents"], h["response_rate"]]


def test_overview_reruns_are_identical_and_refuse_other_years(by_year, tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_overview(by_year[2022], 2022, a)
    write_overview(list(reversed(by_year[2022])), 2022, b)
    assert a.read_bytes() == b.read_bytes()
    with pytest.raises(AgiiError):
        write_overview(by_year[2022] + by_year[2023], 2022, tmp_path / "c.xlsx")
    with pytest.raises(AgiiError):
        write_overview([], 2022, tmp_path / "d.xlsx")
