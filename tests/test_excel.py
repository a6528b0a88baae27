"""The generic accessible workbook writer (agii_analysis.excel) on hand-made tables."""

import datetime as dt
import re
import shutil
import subprocess
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from agii_analysis.excel import SHORTHAND, Column, Cover, Note, Table, write_workbook

DOC_DATE = dt.date(2022, 12, 31)
INJECTIONS = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\t=1", "\r=1"]


def _cover():
    return Cover(title="Testwerkmap", survey="Testbevraging", period="2022", source="Handgemaakte tabellen",
                 invitation="Iedereen met een e-mailadres", contact="Dienst Data", data_date=DOC_DATE,
                 summary="Een test.", subject="Test")


def _tables():
    groups = pd.DataFrame({
        "group": ["Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant"],
        "n": [1200, 15, np.nan, 300],
        "share": [0.953, 0.5, "[c]", 0.25],
        "share1": [0.9534, 0.125, "[c]", 0.5],
        "points": [72.0, -6.0, "[c]", 13.0],
        "diff": [-3.0, 3.0, "[c]", 0.0],
        "flag": ["[b]", "Nee", "[c]", "[x]"],
        "est": [95.27, 81.04, "[c]", 12.5],
    })
    cols = [
        Column("group", "Groep", width=50),  # wide enough for landscape
        Column("n", "Respondenten", "count"),
        Column("share", "Aandeel", "pct", ("def",)),
        Column("share1", "Aandeel (1 decimaal)", "pct1"),
        Column("points", "NPS", "points", ("def", "other")),
        Column("diff", "Verschil", "signed"),
        Column("flag", "Breuk in reeks"),
        Column("est", "Schatting", "number", decimals=2),
    ]
    texts = pd.DataFrame({
        "text": INJECTIONS + ["Een heel lang antwoord " * 12],
        "when": [dt.date(2022, 1, i + 1) for i in range(len(INJECTIONS) + 1)],
        "count": list(range(len(INJECTIONS) + 1)),
    })
    tcols = [Column("text", "Tekst", width=30), Column("when", "Datum", "date"), Column("count", "Aantal", "count")]
    empty = pd.DataFrame(columns=["label", "count"])
    ecols = [Column("label", "Reden"), Column("count", "Aantal", "count")]
    return [
        Table("Groepen", "tabel_groepen", "Cijfers per groep", "Een tabel met elke soort kolom.", groups, cols,
              notes=("general",)),
        Table("Teksten met een lange naam 2022", "tabel_teksten", "Teksten", "Tekst die op een formule lijkt.",
              texts, tcols),
        Table("Leeg", "tabel_leeg", "Een lege tabel", "Zonder rijen.", empty, ecols, empty_text="Geen rijen"),
    ]


def _notes():
    return [Note("general", "Algemene toelichting."), Note("def", "Definitie."), Note("other", "Nog iets."),
            Note("unused", "Door geen tabel gebruikt."), Note("[z]", "Eigen uitleg van [z].")]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("xl") / "test.xlsx"
    write_workbook(path, _cover(), _tables(), _notes(), DOC_DATE)
    return path


@pytest.fixture(scope="module")
def wb(book):
    return openpyxl.load_workbook(book)


def _table_sheets(wb):
    return [ws for ws in wb.worksheets if ws.title not in ("Voorblad", "Inhoud", "Toelichting")]


def _header_row(ws):
    (table,) = ws.tables.values()
    return int(re.match(r"[A-Z]+(\d+)", table.ref).group(1))


def test_sheet_order_cover_first_and_active(wb):
    assert wb.sheetnames[:3] == ["Voorblad", "Inhoud", "Toelichting"]
    assert wb.sheetnames[3:] == ["Groepen", "Teksten met een lange naam 2022", "Leeg"]
    assert wb.active.title == "Voorblad"
    assert [ws.sheet_view.tabSelected for ws in wb.worksheets] == [True] + [False] * (len(wb.sheetnames) - 1)


def test_cursor_in_a1_everywhere(wb):
    for ws in wb.worksheets:
        assert ws.sheet_view.selection[0].activeCell == "A1"
        assert ws.sheet_view.selection[0].sqref == "A1"
        assert ws.sheet_view.topLeftCell in (None, "A1")


def test_cover_content(wb):
    values = [c.value for c in wb["Voorblad"]["A"] if c.value]
    assert values[0] == "Testwerkmap"
    for text in ("Testbevraging", "2022", "Handgemaakte tabellen", "Iedereen met een e-mailadres", "Dienst Data",
                 "2022-12-31"):
        assert text in values
    assert not wb["Voorblad"].tables


def test_contents_links_resolve(wb):
    ws = wb["Inhoud"]
    links = [c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink]
    targets = [re.fullmatch(r"'(.+)'!A1", loc).group(1).replace("''", "'") for loc in links]
    assert targets == ["Toelichting"] + [s.title for s in _table_sheets(wb)]
    assert all(t in wb.sheetnames for t in targets)
    assert len(ws.tables) == 1


def test_notes_sheet(wb):
    ws = wb["Toelichting"]
    (table,) = ws.tables.values()
    rows = list(ws[table.ref])[1:]
    numbers = [r[0].value for r in rows]
    assert numbers == [f"[note {i}]" for i in range(1, len(rows) + 1)]
    texts = {r[1].value for r in rows}
    assert {"Algemene toelichting.", "Definitie.", "Nog iets.", "Door geen tabel gebruikt."} <= texts
    # shorthand used in the tables gets a note; the given [z] text replaces the default
    assert SHORTHAND["[c]"] in texts and SHORTHAND["[x]"] in texts and SHORTHAND["[b]"] in texts
    assert "Eigen uitleg van [z]." in texts and SHORTHAND["[z]"] not in texts
    # markers, never symbols
    assert not any(ch in "".join(map(str, texts)) for ch in "*†‡")


def test_note_markers_in_headers_and_title(wb):
    ws = wb["Groepen"]
    assert ws["A1"].value == "Cijfers per groep [note 1]"
    row = _header_row(ws)
    headers = [c.value for c in ws[row]]
    assert "Aandeel [note 2]" in headers
    assert "NPS [note 2] [note 3]" in headers
    assert any("[c]" in (c.value or "") and "[note" in (c.value or "") for c in ws["A"][:row - 1])


def test_unused_shorthand_note_is_left_out(tmp_path):
    t = Table("T", "tabel_t", "T", "Zonder afkortingen.", pd.DataFrame({"a": [1]}), [Column("a", "A", "count")])
    path = write_workbook(tmp_path / "t.xlsx", _cover(), [t], [Note("[c]", "Afgeschermd.")], DOC_DATE)
    ws = openpyxl.load_workbook(path)["Toelichting"]
    assert "Afgeschermd." not in [c.value for c in ws["B"]]


def test_titles_and_description(wb):
    for ws in wb.worksheets:
        assert isinstance(ws["A1"].value, str) and ws["A1"].value
        assert ws["A1"].style == "Headline 1"  # Excel's built-in "Heading 1"
    for ws in _table_sheets(wb):
        assert ws["A2"].value and ws["A3"].value.startswith("Dit werkblad bevat één tabel.")


def test_exactly_one_table_per_table_sheet(wb):
    names = []
    for ws in _table_sheets(wb) + [wb["Inhoud"], wb["Toelichting"]]:
        assert len(ws.tables) == 1
        (table,) = ws.tables.values()
        names.append(table.displayName)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table.displayName)
        # the table runs from the header to the last row, with no blank row or column inside
        min_col, min_row, max_col, max_row = openpyxl.utils.cell.range_boundaries(table.ref)
        assert (min_col, max_row, max_col) == (1, ws.max_row, ws.max_column)
        for row in ws.iter_rows(min_row=min_row, max_row=max_row, max_col=max_col):
            assert all(c.value is not None and c.value != "" for c in row)
        assert all(ws.cell(row=r, column=1).value for r in range(1, min_row))
    assert len({n.lower() for n in names}) == len(names)


def test_no_merged_cells(wb):
    assert all(not ws.merged_cells.ranges for ws in wb.worksheets)


def test_number_formats(wb):
    ws = wb["Groepen"]
    row = _header_row(ws) + 1
    formats = [c.number_format for c in ws[row]]
    assert formats == ["@", "#,##0", "0%", "0.0%", "0", "+0;-0;0", "@", "0.00"]
    values = [c.value for c in ws[row]]
    assert values == ["Antwerpen", 1200, 0.953, 0.9534, 72, -3, "[b]", 95.27]
    assert all(c.data_type == "n" for c in ws[row][1:6])
    dates = wb["Teksten met een lange naam 2022"]
    first = dates.cell(row=_header_row(dates) + 1, column=2)
    assert first.is_date and first.number_format == "yyyy-mm-dd"


def test_sheet_names(wb):
    names = wb.sheetnames
    assert len(set(n.lower() for n in names)) == len(names)
    for n in names:
        assert 1 <= len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n)


def test_shorthand_cells(wb):
    ws = wb["Groepen"]
    start = _header_row(ws) + 1
    limburg, oost = ws[start + 1], ws[start + 2]
    assert oost[1].value == "[x]"  # NaN -> the column's missing shorthand
    assert [c.value for c in oost[2:]] == ["[c]"] * 6
    for c in oost[1:6] + oost[7:]:  # numeric columns: shorthand aligned like the numbers
        assert c.data_type == "s" and c.alignment.horizontal == "right"
    # every cell of a numeric column is a number or a shorthand
    for row in ws.iter_rows(min_row=start, min_col=2, max_col=6):
        for c in row:
            assert isinstance(c.value, (int, float)) or c.value in SHORTHAND
    assert limburg[6].value == "Nee"


def test_empty_table_gets_one_row(wb):
    ws = wb["Leeg"]
    row = _header_row(ws) + 1
    assert [c.value for c in ws[row]] == ["Geen rijen", "[z]"]


def test_doc_properties(wb):
    p = wb.properties
    assert p.language == "nl-BE"
    assert p.title == "Testwerkmap" and p.subject == "Test" and p.creator
    assert p.created == dt.datetime(2022, 12, 31) and p.modified == dt.datetime(2022, 12, 31)


def test_print_setup(wb):
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
    for ws in _table_sheets(wb):
        row = _header_row(ws)
        assert ws.print_title_rows.replace("$", "") == f"{row}:{row}"
    assert wb["Groepen"].page_setup.orientation == "landscape"
    assert wb["Leeg"].page_setup.orientation == "portrait"
    assert wb["Voorblad"].page_setup.orientation == "portrait"


def test_widths_and_wrapped_row_heights(wb):
    ws = wb["Teksten met een lange naam 2022"]
    assert ws.column_dimensions["A"].width == 30
    row = _header_row(ws) + len(INJECTIONS) + 1  # the long answer
    cell = ws.cell(row=row, column=1)
    assert cell.alignment.wrap_text
    assert ws.row_dimensions[row].height >= 15 * (len(cell.value) // 30)
    for ws in wb.worksheets:
        for letter, dim in ws.column_dimensions.items():
            assert dim.width is None or 8 <= dim.width <= 80


def test_two_writes_are_identical(book, tmp_path):
    again = tmp_path / "again.xlsx"
    write_workbook(again, _cover(), _tables(), _notes(), DOC_DATE)
    assert again.read_bytes() == book.read_bytes()
    a, b = openpyxl.load_workbook(book), openpyxl.load_workbook(again)
    for wa, wb_ in zip(a.worksheets, b.worksheets):
        for ra, rb in zip(wa.iter_rows(), wb_.iter_rows()):
            for ca, cb in zip(ra, rb):
                assert (ca.value, ca.data_type, ca.number_format, ca.style) == \
                       (cb.value, cb.data_type, cb.number_format, cb.style)
                for attr in ("font", "alignment", "border", "fill", "protection"):
                    assert repr(getattr(ca, attr)) == repr(getattr(cb, attr))


def test_formula_injection_never_becomes_a_formula(book, wb):
    ws = wb["Teksten met een lange naam 2022"]
    start = _header_row(ws) + 1
    got = [ws.cell(row=start + i, column=1) for i in range(len(INJECTIONS))]
    assert [c.value for c in got] == [s.replace("\r", "\n") for s in INJECTIONS]  # XML keeps no bare CR
    assert all(c.data_type == "s" and c.quotePrefix for c in got)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            assert not any(c.data_type == "f" for c in row)
    with zipfile.ZipFile(book) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)


def test_formula_injection_in_headers_titles_and_cover(tmp_path):
    cover = Cover(title="=1+1", survey="+x", period="-1", source="@a", invitation="\t=2", contact="=c",
                  data_date=DOC_DATE)
    t = Table("T", "tabel_t", "=TITEL()", "-beschrijving", pd.DataFrame({"a": ["=x"]}), [Column("a", "=kop")])
    path = write_workbook(tmp_path / "t.xlsx", cover, [t], [Note("n", "=noot")], DOC_DATE)
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert not any(c.data_type == "f" for c in row)
    assert wb["T"]["A1"].value == "=TITEL()"


@pytest.mark.parametrize("bad", [
    dict(sheet="x" * 32), dict(sheet="a/b"), dict(sheet="[x]"), dict(sheet="Inhoud"), dict(name="A1"),
    dict(name="met spatie"), dict(name="1abc"),
])
def test_invalid_names_are_refused(tmp_path, bad):
    args = dict(sheet="T", name="tabel_t")
    args.update(bad)
    t = Table(args["sheet"], args["name"], "T", "D", pd.DataFrame({"a": [1]}), [Column("a", "A", "count")])
    with pytest.raises(ValueError):
        write_workbook(tmp_path / "t.xlsx", _cover(), [t], [], DOC_DATE)


def test_duplicate_names_are_refused(tmp_path):
    df = pd.DataFrame({"a": [1]})
    a = Table("T", "tabel_t", "T", "D", df, [Column("a", "A", "count")])
    b = Table("t", "tabel_u", "T", "D", df, [Column("a", "A", "count")])
    c = Table("U", "TABEL_T", "T", "D", df, [Column("a", "A", "count")])
    for pair in ((a, b), (a, c)):
        with pytest.raises(ValueError):
            write_workbook(tmp_path / "t.xlsx", _cover(), list(pair), [], DOC_DATE)


@pytest.mark.parametrize("value", ["95%", "veel", True])
def test_non_numbers_in_numeric_columns_are_refused(tmp_path, value):
    t = Table("T", "tabel_t", "T", "D", pd.DataFrame({"a": [value]}, dtype=object), [Column("a", "A", "pct")])
    with pytest.raises(TypeError):
        write_workbook(tmp_path / "t.xlsx", _cover(), [t], [], DOC_DATE)


def test_unknown_note_is_refused(tmp_path):
    t = Table("T", "tabel_t", "T", "D", pd.DataFrame({"a": [1]}), [Column("a", "A", "count", ("nope",))])
    with pytest.raises(KeyError):
        write_workbook(tmp_path / "t.xlsx", _cover(), [t], [], DOC_DATE)


def test_duplicate_headers_are_refused(tmp_path):
    t = Table("T", "tabel_t", "T", "D", pd.DataFrame({"a": [1], "b": [2]}),
              [Column("a", "Aantal", "count"), Column("b", "aantal", "count")])
    with pytest.raises(ValueError):
        write_workbook(tmp_path / "t.xlsx", _cover(), [t], [], DOC_DATE)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_reads_text_as_text(book, tmp_path):
    """LibreOffice opens the file and shows the injection strings as text, not results."""
    subprocess.run(["soffice", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,UTF8,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(tmp_path), str(book)], check=True, capture_output=True, timeout=180)
    csv = (tmp_path / "test-Teksten met een lange naam 2022.csv").read_text(encoding="utf-8")
    assert '=HYPERLINK(""http://x"",""y"")' in csv and "@SUM(A1)" in csv and "+1+1" in csv
    assert "\ny," not in csv  # the HYPERLINK formula would show its label y
