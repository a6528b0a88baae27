"""The reader's fast paths (fastexcel for XLSX, Arrow's CSV parser) against its slow paths
(python-calamine, the csv module): same result for every export, and the slow path taken
where the fast one cannot keep rows and letters right."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agii_analysis import reader
from agii_analysis.errors import AgiiError

ROOT = Path(__file__).resolve().parents[1]
DEMO = sorted((ROOT / "data" / "raw" / "demo").glob("*/*.*"))
REAL = sorted((ROOT / ".." / "shared" / "real-exports").glob("*.csv"))
EXPORTS = [p for p in DEMO + REAL if p.suffix in (".csv", ".xlsx")]


def _slow(monkeypatch):
    monkeypatch.setattr(reader, "_csv_arrow", lambda *a: None)
    monkeypatch.setattr(reader, "_xlsx_arrow", lambda *a: None)


def _spy(monkeypatch) -> dict:
    taken = {"fast": 0}
    for name in ("_csv_arrow", "_xlsx_arrow"):
        real = getattr(reader, name)

        def wrapped(*a, _real=real):
            out = _real(*a)
            taken["fast"] += out is not None
            return out
        monkeypatch.setattr(reader, name, wrapped)
    return taken


def test_there_are_exports_to_compare():
    assert len([p for p in EXPORTS if p.suffix == ".xlsx"]) >= 5
    assert len([p for p in EXPORTS if p.suffix == ".csv"]) >= 15


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_fast_and_slow_path_read_the_same(path, monkeypatch):
    with monkeypatch.context() as m:
        taken = _spy(m)
        fast = reader.read_export(path)
        assert taken["fast"] == 1, "the fast path was not taken for a plain export"
    with monkeypatch.context() as m:
        _slow(m)
        slow = reader.read_export(path)
    pd.testing.assert_frame_equal(fast.meta, slow.meta)
    pd.testing.assert_frame_equal(fast.answers, slow.answers)
    assert (fast.columns, fast.dropped, fast.warnings, fast.sheet, fast.encoding) == \
           (slow.columns, slow.dropped, slow.warnings, slow.sheet, slow.encoding)
    assert all(fast.cells[k].equals(slow.cells[k]) for k in fast.cells)


def _xlsx(path: Path, rows: list[list], at: tuple[int, int] = (1, 1)) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value not in (None, ""):
                ws.cell(at[0] + i, at[1] + j, value)
    wb.save(path)
    return path


HEAD = [["Respondent ID", "End Date", "Hoe volgde u de vorming?"], ["", "", "Response"]]


def test_xlsx_not_starting_at_a1_is_read_by_the_slow_path(tmp_path, monkeypatch):
    # the used area starts at B2: fastexcel would give it as A1, so rows and letters would shift
    path = _xlsx(tmp_path / "b2.xlsx", HEAD + [["114628000001", "07/31/2023 04:21:36 PM", "Online"]], at=(2, 2))
    taken = _spy(monkeypatch)
    with pytest.raises(AgiiError) as err:
        reader.read_export(path)
    assert taken["fast"] == 0
    assert "column A, row 1" in str(err.value) and "row 1 is empty: the export starts at B2" in str(err.value)


def test_xlsx_date_cells_with_fractions_round_to_seconds(tmp_path):
    rows = HEAD + [["114628000001", dt.datetime(2023, 7, 31, 16, 21, 36, 600000), "Online"],
                   ["114628000002", dt.datetime(2023, 7, 31, 0, 0), "Fysiek"]]
    raw = reader.read_export(_xlsx(tmp_path / "d.xlsx", rows))
    assert raw.meta["end"].tolist() == [pd.Timestamp("2023-07-31 16:21:37"), pd.Timestamp("2023-07-31")]
    assert raw.meta["row"].tolist() == [3, 4]


def _csv(path: Path, body: str) -> Path:
    path.write_text("Respondent ID,End Date,Hoe volgde u de vorming?\n,,Response\n" + body, encoding="utf-8")
    return path


def test_csv_with_a_blank_line_keeps_spreadsheet_rows(tmp_path, monkeypatch):
    path = _csv(tmp_path / "blank.csv",
                "114628000001,07/31/2023 04:21:36 PM,Online\n\n114628000002,07/31/2023 04:25:01 PM,Fysiek\n")
    taken = _spy(monkeypatch)
    raw = reader.read_export(path)
    assert taken["fast"] == 1  # Arrow keeps the blank line as an empty record (ignore_empty_lines=False)
    assert raw.meta["row"].tolist() == [3, 5]
    assert raw.answers.iloc[:, 0].tolist() == ["Online", "Fysiek"]


def test_ragged_csv_is_read_by_the_csv_module_and_named(tmp_path, monkeypatch):
    path = _csv(tmp_path / "ragged.csv", "114628000001,07/31/2023 04:21:36 PM,Online,extra\n")
    taken = _spy(monkeypatch)
    with pytest.raises(AgiiError) as err:
        reader.read_export(path)
    assert taken["fast"] == 0
    assert "column D, row 3" in str(err.value) and "more cells than the header" in str(err.value)


def test_cp1252_csv_goes_through_arrow_after_decoding(tmp_path, monkeypatch):
    text = ("Respondent ID;End Date;Hoe volgde u de vorming?\n;;Response\n"
            "114628000001;8/22/22 15:44;Vreemdelingenrecht – één\n")
    path = tmp_path / "be.csv"
    path.write_bytes(text.encode("cp1252"))
    taken = _spy(monkeypatch)
    raw = reader.read_export(path)
    assert taken["fast"] == 1 and raw.encoding == "cp1252"
    assert raw.answers.iloc[0, 0] == "Vreemdelingenrecht – één"
    assert raw.meta["end"].tolist() == [pd.Timestamp("2022-08-22 15:44")]


# ------------------------------------------------------------------ dates: Arrow against pandas

def _num(lo, hi):
    """A number as a cell may write it: with or without a leading zero."""
    return st.tuples(st.integers(lo, hi), st.booleans()).map(lambda t: f"{t[0]:02d}" if t[1] else str(t[0]))


@st.composite
def date_text(draw):
    """Cells of the SurveyMonkey and Excel formats, valid or nearly so (30 February, month 13,
    hour 24, short or long years, double spaces, lower-case am/pm)."""
    m, d = draw(_num(1, 13)), draw(_num(1, 32))
    y = draw(st.sampled_from(["2023", "2024", "23", "69", "68", "202", "20231"]))
    h, mi, s = draw(_num(0, 24)), draw(_num(0, 60)), draw(_num(0, 60))
    sp = draw(st.sampled_from([" ", " ", "  "]))
    ampm = draw(st.sampled_from(["AM", "PM", "am", "pm"]))
    return draw(st.sampled_from([
        f"{m}/{d}/{y}{sp}{h}:{mi}:{s}{sp}{ampm}", f"{m}/{d}/{y}{sp}{h}:{mi}", f"{m}/{d}/{y}",
        f"{m}/{d}/{y}{sp}{h}:{mi}:{s}", f"{y}-{m}-{d} {h}:{mi}:{s}", f"{y}-{m}-{d}",
    ]))


ROLLED_OVER = ["02/30/2023", "2/31/2023 10:00", "04/31/23 1:02:03 PM", "2023-02-29", "2024-02-30 10:00:00",
               "06/31/2023 04:21:36 PM", "2/29/2024", "20231-1-1", "7/3/2023 4:21:36PM"]


@settings(max_examples=300, deadline=None)
@given(st.lists(date_text(), min_size=1, max_size=30))
@example(ROLLED_OVER)
def test_arrow_dates_agree_with_pandas_strptime(texts):
    import pyarrow as pa

    for fmt in reader._DATE_FORMATS:
        expected = pd.to_datetime(pd.Series(texts, dtype=object), format=fmt, errors="coerce")
        got = reader._strptime(pa.array(texts, type=pa.string()), fmt)
        assert pd.Series(got).tolist() == expected.dt.round("s").astype("datetime64[us]").tolist(), (fmt, texts)


def test_typed_xlsx_cells_read_the_same_both_ways(tmp_path, monkeypatch):
    """Cells that are not text: fastexcel's text for them is what the slow path writes too."""
    cells = [dt.datetime(2023, 7, 31, 16, 21, 36, 600000), dt.date(2023, 3, 1), 1e16, -0.0, 2.5, 3.0, True,
             dt.time(16, 21, 36), dt.timedelta(hours=1)]
    head = [["Respondent ID", "End Date", *["Vraag"] + [None] * (len(cells) - 1)],
            [None, None, *[f"optie {i}" for i in range(len(cells))]]]
    path = _xlsx(tmp_path / "typed.xlsx", head + [[114628000001.0, dt.datetime(2023, 7, 31, 16, 25), *cells]])
    with monkeypatch.context() as m:
        taken = _spy(m)
        fast = reader.read_export(path)
        assert taken["fast"] == 1
    with monkeypatch.context() as m:
        _slow(m)
        slow = reader.read_export(path)
    assert fast.answers.iloc[0].tolist() == slow.answers.iloc[0].tolist() == [
        "2023-07-31 16:21:36.600", "2023-03-01 00:00:00", "10000000000000000", "-0", "2.5", "3", "true",
        "1899-12-31 16:21:36", "1899-12-31 01:00:00"]
    pd.testing.assert_frame_equal(fast.meta, slow.meta)


@pytest.mark.parametrize("slow", [False, True])
def test_a_time_without_date_is_no_survey_date_either_way(tmp_path, monkeypatch, slow):
    if slow:
        _slow(monkeypatch)
    path = _xlsx(tmp_path / "time.xlsx", HEAD + [["114628000001", dt.time(16, 21, 36), "Online"]])
    with pytest.raises(AgiiError, match=r"column B 'End Date', row 3: cannot read '1899-12-31 16:21:36' as a date"):
        reader.read_export(path)
