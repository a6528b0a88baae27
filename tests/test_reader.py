"""Tests of reader.py: every export variant of instrument.md section 5, written here as a
small CSV or XLSX fixture, plus the bad inputs a researcher can hand over."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from agii_analysis import reader
from agii_analysis.errors import AgiiError
from agii_analysis.reader import ExportColumn, RawExport, read_export, read_exports

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "real-exports"

META_EN = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
           "Email Address", "First Name", "Last Name", "Custom Data 1"]
META_NL = ["Respondent-ID", "Verzamelaar-ID", "Begindatum", "Einddatum", "IP-adres",
           "E-mailadres", "Voornaam", "Achternaam", "Aangepaste gegevens 1"]
START = "07/31/2023 04:21:36 PM"
END = "07/31/2023 04:25:01 PM"


def meta(rid, start=START, end=END, collector=431234567, private=("", "", "", "", "")):
    return [rid, collector, start, end, *private]


def export_rows(questions, respondents, head=META_EN, tail=()):
    """Both header rows as SurveyMonkey writes them, then the respondent rows."""
    row1, row2 = list(head), [""] * len(head)
    for text, subs in questions:
        row1 += [text] + [""] * (len(subs) - 1)
        row2 += list(subs)
    row1 += list(tail)
    row2 += [""] * len(tail)
    return [row1, row2, *[list(r) for r in respondents]]


def write_csv(path, rows, *, encoding="utf-8", sep=",", newline="\n", bom=False):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator=newline).writerows(
        [["" if v is None else v for v in r] for r in rows])
    data = buf.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_xlsx(path, rows=None, *, sheets=None):
    """sheets: {name: (rows, state)}; empty strings are left out (blank cells)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, (sheet_rows, state) in (sheets or {"Sheet": (rows, "visible")}).items():
        ws = wb.create_sheet(name)
        ws.sheet_state = state
        for i, r in enumerate(sheet_rows, 1):
            for j, v in enumerate(r, 1):
                if v not in ("", None):
                    ws.cell(row=i, column=j, value=v)
    wb.save(path)
    return path


def write(tmp_path, rows, fmt, name="export"):
    if fmt == "csv":
        return write_csv(tmp_path / f"{name}.csv", rows)
    return write_xlsx(tmp_path / f"{name}.xlsx", rows)


def error_of(path, **kw) -> str:
    with pytest.raises(AgiiError) as info:
        read_export(path, **kw)
    message = str(info.value)
    assert "\n" not in message
    assert Path(path).name in message
    return message


FORMATS = pytest.mark.parametrize("fmt", ["csv", "xlsx"])


# --------------------------------------------------------------------------- layouts

@FORMATS
def test_condensed_layout(tmp_path, fmt):
    rows = export_rows(
        [("In welke provincie volgde u de lessen?", ["Response"]),
         ("Hoe tevreden bent u in het algemeen over de lessen?", ["Response"]),
         ("Wat kunnen we volgens u verbeteren?", ["Open-Ended Response"])],
        [meta(114628123456) + ["Antwerpen", "Tevreden", "  Meer oefeningen  "],
         meta(114628123457) + ["Limburg", "", ""]],
    )
    raw = read_export(write(tmp_path, rows, fmt))
    assert isinstance(raw, RawExport)
    assert raw.sheet == (None if fmt == "csv" else "Sheet")
    assert raw.encoding == ("utf-8" if fmt == "csv" else None)
    assert raw.meta["respondent_id"].tolist() == ["114628123456", "114628123457"]
    assert raw.meta["collector_id"].tolist() == ["431234567", "431234567"]
    assert raw.meta["start"].tolist() == [pd.Timestamp("2023-07-31 16:21:36")] * 2
    assert raw.meta["end"].tolist() == [pd.Timestamp("2023-07-31 16:25:01")] * 2
    assert raw.meta["row"].tolist() == [3, 4]
    assert raw.meta["language"].isna().all()
    assert list(raw.meta.columns) == ["respondent_id", "collector_id", "start", "end", "language", "row"]
    assert all(str(raw.meta[c].dtype) == "str" for c in ("respondent_id", "collector_id", "language"))
    assert str(raw.meta["start"].dtype).startswith("datetime64")
    assert [c.letter for c in raw.columns] == ["J", "K", "L"]
    assert raw.columns[0] == ExportColumn(9, "J", "In welke provincie volgde u de lessen?", "Response",
                                          "In welke provincie volgde u de lessen? | Response")
    assert list(raw.answers.columns) == [c.key for c in raw.columns]
    assert raw.answers.index.equals(raw.meta.index)
    assert (raw.answers.dtypes == object).all()
    assert raw.answers.iloc[0].tolist() == ["Antwerpen", "Tevreden", "Meer oefeningen"]
    assert raw.answers.iloc[1].tolist() == ["Limburg", None, None]
    assert raw.dropped == META_EN[4:]
    assert raw.warnings == []


@FORMATS
def test_expanded_layout_one_column_per_option(tmp_path, fmt):
    labels = ["Heel ontevreden", "Ontevreden", "Neutraal", "Tevreden", "Heel tevreden"]
    q = "Hoe tevreden bent u in het algemeen?"
    rows = export_rows([(q, labels)],
                       [meta(1) + ["", "", "", "Tevreden", ""], meta(2) + ["Heel ontevreden", "", "", "", ""]])
    raw = read_export(write(tmp_path, rows, fmt))
    assert [c.question for c in raw.columns] == [q] * 5
    assert [c.sub for c in raw.columns] == labels
    assert raw.answers[f"{q} | Tevreden"].tolist() == ["Tevreden", None]
    assert raw.answers[f"{q} | Heel ontevreden"].tolist() == [None, "Heel ontevreden"]


@FORMATS
def test_multi_select(tmp_path, fmt):
    q = "Welke vormingen volgde u? Meerdere antwoorden mogelijk."
    opts = ["Omgaan met diversiteit", "Vreemdelingenrecht", "Andere"]
    rows = export_rows([(q, opts)], [meta(1) + ["Omgaan met diversiteit", "", "Andere"]])
    raw = read_export(write(tmp_path, rows, fmt))
    assert raw.answers.iloc[0].tolist() == ["Omgaan met diversiteit", None, "Andere"]
    assert [c.key for c in raw.columns] == [f"{q} | {o}" for o in opts]


@FORMATS
def test_matrix(tmp_path, fmt):
    q = "Hoe tevreden bent u over de volgende aspecten?"
    rows = export_rows([(q, ["De lesgever", "De inhoud van de lessen", "Het lesrooster"])],
                       [meta(1) + ["Tevreden", "Heel tevreden", "Geen mening"]])
    raw = read_export(write(tmp_path, rows, fmt))
    assert raw.answers.loc[0, f"{q} | De inhoud van de lessen"] == "Heel tevreden"
    assert raw.answers.loc[0, f"{q} | Het lesrooster"] == "Geen mening"


@FORMATS
def test_other_please_specify_and_comment(tmp_path, fmt):
    rows = export_rows(
        [("Welke vorming volgde u?", ["Response", "Other (please specify)"]),
         ("Hoe tevreden bent u over de vorming?", ["Response", "Licht uw antwoord toe"])],
        [meta(1) + ["Andere", "Webinar over burgerschap", "Tevreden", "Goede lesgever"]],
    )
    raw = read_export(write(tmp_path, rows, fmt))
    assert [c.sub for c in raw.columns] == ["Response", "Other (please specify)", "Response",
                                            "Licht uw antwoord toe"]
    assert raw.answers.loc[0, "Welke vorming volgde u? | Other (please specify)"] == "Webinar over burgerschap"
    assert raw.answers.loc[0, "Hoe tevreden bent u over de vorming? | Licht uw antwoord toe"] == "Goede lesgever"


def test_open_ended_multiline_answer_keeps_file_rows(tmp_path):
    rows = export_rows([("Wat kunnen we volgens u verbeteren?", ["Open-Ended Response"])],
                       [meta(1) + ["Meer oefeningen.\nEn een pauze."], meta(2) + ["Niets"]])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.answers.iloc[:, 0].tolist() == ["Meer oefeningen.\nEn een pauze.", "Niets"]
    assert raw.meta["row"].tolist() == [3, 4]  # spreadsheet rows, not physical lines


def test_question_text_cleaned_and_keys_unique(tmp_path):
    rows = export_rows(
        [("Hoe tevreden bent u<br>over de  lessen?<br/> ", ["Response"]),
         ("Q&amp;A:\tbent u jonger dan < 18?", ["Response"]),
         ("Hoe tevreden bent u over de lessen?", ["Response"]),
         ("Hoe tevreden bent u over de lessen?", ["Response"])],
        [meta(1) + ["a", "b", "c", "d"]],
    )
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.columns[0].question == "Hoe tevreden bent u over de lessen?"
    assert raw.columns[1].question == "Q&A: bent u jonger dan < 18?"
    keys = [c.key for c in raw.columns]
    base = "Hoe tevreden bent u over de lessen? | Response"
    assert keys[0] == base and keys[2:] == [f"{base} #2", f"{base} #3"]
    assert raw.answers[f"{base} #3"].tolist() == ["d"]


# --------------------------------------------------------------------------- metadata

@FORMATS
@pytest.mark.parametrize("head", [META_EN, META_NL], ids=["english", "dutch"])
def test_metadata_names_english_and_dutch(tmp_path, fmt, head):
    rows = export_rows([("Vraag", ["Response"])], [meta(5, collector=77) + ["Ja"]], head=head)
    raw = read_export(write(tmp_path, rows, fmt))
    assert raw.meta.loc[0, "respondent_id"] == "5"
    assert raw.meta.loc[0, "collector_id"] == "77"
    assert raw.meta.loc[0, "end"] == pd.Timestamp("2023-07-31 16:25:01")
    assert raw.dropped == head[4:]
    assert len(raw.columns) == 1


def test_metadata_names_ignore_case_and_spaces(tmp_path):
    head = ["respondentid", "COLLECTOR ID", "start_date", "End-Date"]
    rows = export_rows([("Vraag", ["Response"])], [[1, 2, START, END, "Ja"]], head=head)
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.meta.loc[0, "collector_id"] == "2"
    assert raw.meta.loc[0, "start"] == pd.Timestamp("2023-07-31 16:21:36")
    assert raw.dropped == []


def test_old_respondentid_only(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [[3292879998, "Ja"]], head=["RespondentID"])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.meta["respondent_id"].tolist() == ["3292879998"]
    assert raw.meta["collector_id"].isna().all()
    assert raw.meta["start"].isna().all() and raw.meta["end"].isna().all()
    assert raw.dropped == [] and [c.key for c in raw.columns] == ["Vraag | Response"]


@FORMATS
def test_collector_type_source_and_trailing_panel_columns_dropped(tmp_path, fmt):
    rows = export_rows([("Vraag", ["Response"])],
                       [meta(1) + ["weblink-ZZTOP", "Ja", "PANEL-AGE-61", "PANEL-REGION-X"]],
                       head=META_EN + ["collector_type_source"], tail=["Leeftijd", "Regio"])
    raw = read_export(write(tmp_path, rows, fmt))
    assert raw.dropped == META_EN[4:] + ["collector_type_source", "Leeftijd", "Regio"]
    assert [c.key for c in raw.columns] == ["Vraag | Response"]
    dump = raw.answers.to_csv() + raw.meta.to_csv()
    for planted in ("weblink-ZZTOP", "PANEL-AGE-61", "PANEL-REGION-X"):
        assert planted not in dump


@FORMATS
def test_language_column(tmp_path, fmt):
    rows = export_rows([("Vraag", ["Response"])], [[1, 9, START, END, "nl", "Ja"], [2, 9, START, END, "uk", "Так"]],
                       head=META_EN[:4] + ["language"])
    raw = read_export(write(tmp_path, rows, fmt))
    assert raw.meta["language"].tolist() == ["nl", "uk"]
    assert raw.answers.iloc[:, 0].tolist() == ["Ja", "Так"]
    assert raw.dropped == []


def test_language_only_by_its_exact_name(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [[1, "nl", "Ja"]], head=["Respondent ID", "Taal"])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.meta["language"].isna().all()
    assert raw.dropped == ["Taal"]


def test_language_in_trailing_columns(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [[1, "Ja", "fr"]], head=["Respondent ID"], tail=["Language"])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.meta["language"].tolist() == ["fr"]


# --------------------------------------------------------------------------- dates

@pytest.mark.parametrize(
    ("cell", "expected"),
    [("07/31/2023 04:21:36 PM", "2023-07-31 16:21:36"),
     ("12/01/2023 12:05:09 AM", "2023-12-01 00:05:09"),
     ("8/22/22 15:44", "2022-08-22 15:44:00"),
     ("8/2/2022 9:05", "2022-08-02 09:05:00"),
     ("2022-08-22 15:44:10", "2022-08-22 15:44:10"),
     ("", None)],
    ids=["surveymonkey", "midnight", "excel-resave", "excel-4-digit-year", "iso", "blank"],
)
def test_csv_date_formats(tmp_path, cell, expected):
    rows = export_rows([("Vraag", ["Response"])], [meta(1, end=cell) + ["Ja"]])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    value = raw.meta.loc[0, "end"]
    assert (pd.isna(value) if expected is None else value == pd.Timestamp(expected))


def test_xlsx_real_dates_and_serial_numbers(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [
        meta(1, start=dt.datetime(2023, 7, 31, 16, 21, 36), end=45138 + 58896 / 86400) + ["Ja"],
        meta(2, start="8/22/22 15:44", end=45138) + ["Nee"],
        meta(3, start=None, end=dt.date(2023, 1, 2)) + ["Ja"],
    ])
    raw = read_export(write_xlsx(tmp_path / "e.xlsx", rows))
    assert raw.meta["start"].tolist()[:2] == [pd.Timestamp("2023-07-31 16:21:36"),
                                             pd.Timestamp("2022-08-22 15:44")]
    assert pd.isna(raw.meta.loc[2, "start"])
    assert raw.meta["end"].tolist() == [pd.Timestamp("2023-07-31 16:21:36"), pd.Timestamp("2023-07-31"),
                                        pd.Timestamp("2023-01-02")]


@pytest.mark.parametrize("cells", [("07/31/2023 04:21:36 PM", "45138,5", "45139"),
                                   ("45138,5", "07/31/2023 04:21:36 PM", "45139")],
                         ids=["text-first", "serial-first"])
def test_csv_serial_numbers_among_text_dates(tmp_path, cells):
    """Excel serial numbers in a CSV column of text dates, wherever the first one is."""
    rows = export_rows([("Vraag", ["Response"])], [meta(i, end=c) + ["Ja"] for i, c in enumerate(cells)])
    end = read_export(write_csv(tmp_path / "e.csv", rows)).meta["end"].tolist()
    expected = {"07/31/2023 04:21:36 PM": "2023-07-31 16:21:36", "45138,5": "2023-07-31 12:00", "45139": "2023-08-01"}
    assert end == [pd.Timestamp(expected[c]) for c in cells]


def test_csv_serial_number_out_of_range_after_text_dates(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"], meta(2, end="0") + ["Nee"]])
    message = error_of(write_csv(tmp_path / "e.csv", rows))
    assert "cannot read the number 0 as a date" in message and "row 4" in message


def test_unparseable_date_names_file_column_row_and_format(tmp_path):
    rows = export_rows([("Vraag", ["Response"])],
                       [meta(1) + ["Ja"], meta(2, end="31/07/2023 16:21") + ["Nee"]])
    message = error_of(write_csv(tmp_path / "dates.csv", rows))
    assert "column D 'End Date'" in message
    assert "row 4" in message
    assert "'31/07/2023 16:21'" in message
    assert "expected a date like 07/31/2023 04:21:36 PM" in message


def test_number_that_cannot_be_a_date(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1, start=114628123456) + ["Ja"]])
    message = error_of(write_xlsx(tmp_path / "e.xlsx", rows))
    assert "column C 'Start Date'" in message and "row 3" in message and "sheet 'Sheet'" in message


# --------------------------------------------------------------------------- ids

def test_xlsx_numeric_ids_and_answers_become_plain_strings(tmp_path):
    rows = export_rows([("Score", ["Response"]), ("Cijfer", ["Response"])],
                       [meta(114628123456, collector=431234567.0) + [3, 2.5],
                        meta(114628123457.0) + [11.0, True]])
    raw = read_export(write_xlsx(tmp_path / "e.xlsx", rows))
    assert raw.meta["respondent_id"].tolist() == ["114628123456", "114628123457"]
    assert raw.meta["collector_id"].tolist() == ["431234567", "431234567"]
    assert raw.answers.iloc[:, 0].tolist() == ["3", "11"]
    assert raw.answers.iloc[:, 1].tolist() == ["2.5", "true"]  # booleans as fastexcel writes them


def test_csv_ids_stay_strings(tmp_path):
    rows = export_rows([("Vraag", ["Response"])],
                       [meta("000114628123456") + ["Ja"], meta("114628123457.0") + ["Ja"]])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.meta["respondent_id"].tolist() == ["000114628123456", "114628123457"]


def test_ids_rounded_by_excel_made_unique_with_warning(tmp_path):
    rows = export_rows([("Vraag", ["Response"])],
                       [meta("1.14628E+11") + ["Ja"], meta("1.14628E+11") + ["Nee"], meta("114628123456") + ["Ja"]])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.meta["respondent_id"].tolist() == ["1.14628E+11~r3", "1.14628E+11~r4", "114628123456"]
    assert len(raw.warnings) == 1
    assert "rounded by Excel" in raw.warnings[0]
    assert "duplicates cannot be detected" in raw.warnings[0]
    assert "2 respondent id(s)" in raw.warnings[0]


def test_blank_respondent_id_names_row(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"], meta("") + ["Nee"]])
    message = error_of(write_csv(tmp_path / "ids.csv", rows))
    assert "respondent id is blank" in message and "row 4" in message and "column A" in message


# --------------------------------------------------------------------------- encodings

def test_utf8_bom_and_crlf(tmp_path):
    rows = export_rows([("Wat kunnen we verbeteren?", ["Open-Ended Response"])],
                       [meta(1) + ["Meer uitleg over één thema"], meta(2) + ["Niets – prima"]])
    path = write_csv(tmp_path / "bom.csv", rows, newline="\r\n", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    raw = read_export(path)
    assert raw.encoding == "utf-8-sig"
    assert raw.meta["respondent_id"].tolist() == ["1", "2"]
    assert raw.meta.loc[1, "end"] == pd.Timestamp("2023-07-31 16:25:01")
    assert raw.answers.iloc[:, 0].tolist() == ["Meer uitleg over één thema", "Niets – prima"]
    assert raw.dropped == META_EN[4:]


def test_cp1252_with_semicolons_from_belgian_excel(tmp_path):
    q = "Hoe tevreden bent u over de coördinatie; algemeen?"
    rows = export_rows([(q, ["Response"]), ("Opmerking", ["Open-Ended Response"])],
                       [meta("1,14628E+11", start="8/22/22 15:44", end="8/22/22 15:50") + ["Tevreden", "‘t is oké"]],
                       head=META_NL)
    path = write_csv(tmp_path / "excel.csv", rows, encoding="cp1252", sep=";", newline="\r\n")
    raw = read_export(path)
    assert raw.encoding == "cp1252"
    assert raw.columns[0].question == q
    assert raw.answers.iloc[0].tolist() == ["Tevreden", "‘t is oké"]
    assert raw.meta.loc[0, "respondent_id"] == "1,14628E+11~r3"
    assert raw.meta.loc[0, "start"] == pd.Timestamp("2022-08-22 15:44")
    assert "rounded by Excel" in raw.warnings[0]


def test_cp1252_bytes_that_are_valid_utf8_are_read_as_utf8_with_a_warning(tmp_path):
    """"Â‘" in cp1252 is C2 91, which is also valid UTF-8 (U+0091, a control character
    nobody types). The bytes alone cannot tell: UTF-8 is read, as documented, and the
    first such character is named with what it would be in cp1252."""
    rows = export_rows([("Opmerking", ["Open-Ended Response"])],
                       [meta(11400000001) + ["goed"], meta(11400000002) + ["Â‘t is goed"],
                        meta(11400000003) + ["Â’ ook"]])
    path = write_csv(tmp_path / "dubbelzinnig.csv", rows, encoding="cp1252", sep=";", newline="\r\n")
    raw = read_export(path)
    assert raw.encoding == "utf-8" and raw.answers.iloc[:, 0].tolist() == ["goed", "\x91t is goed", "\x92 ook"]
    assert raw.warnings == [
        "row 4, column J holds a control character (U+0091; 2 in the file), which nobody types: read as UTF-8, but the file "
        "may be cp1252 (Windows) text whose bytes are also valid UTF-8 (then U+0091 was \"Â‘\"); check its texts, "
        "or export it from SurveyMonkey again"]
    plain = write_csv(tmp_path / "gewoon.csv", export_rows([("Opmerking", ["Open-Ended Response"])],
                                                          [meta(11400000001) + ["Â± 5 keer, café"]]))
    assert read_export(plain).warnings == []  # UTF-8 text with Â and accents: no control characters
    undefined = write_csv(tmp_path / "c81.csv", export_rows([("Opmerking", ["Open-Ended Response"])],
                                                            [meta(11400000001) + ["a\u0081b"]]))
    raw = read_export(undefined)  # 0x81 is no cp1252 character: the warning says less, nothing fails
    assert raw.answers.iloc[0, 0] == "a\x81b" and raw.warnings == [
        "row 3, column J holds a control character (U+0081; 1 in the file), which nobody types: read as UTF-8, but the file "
        "may be cp1252 (Windows) text whose bytes are also valid UTF-8; check its texts, or export it from "
        "SurveyMonkey again"]


def test_utf16_tab_separated_unicode_text(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Дуже задоволений"]])
    path = write_csv(tmp_path / "unicode.txt", rows, encoding="utf-16", sep="\t", newline="\r\n")
    raw = read_export(path)
    assert raw.encoding == "utf-16"
    assert raw.answers.iloc[0, 0] == "Дуже задоволений"
    assert raw.meta.loc[0, "start"] == pd.Timestamp("2023-07-31 16:21:36")


def test_mixed_encodings_name_first_offending_row(tmp_path):
    rows = export_rows([("Vraag", ["Response"])],
                       [meta(1) + ["één"], meta(2) + ["Ja"], meta(3) + ["@@CP@@"]])
    path = write_csv(tmp_path / "mixed.csv", rows)
    path.write_bytes(path.read_bytes().replace(b"@@CP@@", "café".encode("cp1252")))
    message = error_of(path)
    assert "mixes text encodings" in message and "row 5" in message and "row 3" in message


def test_bom_then_cp1252_row(tmp_path):
    rows = export_rows([("Vraag", ["Open-Ended Response"])],
                       [meta(1) + ["Regel\nover twee lijnen"], meta(2) + ["@@CP@@"]])
    path = write_csv(tmp_path / "bom.csv", rows, bom=True)
    path.write_bytes(path.read_bytes().replace(b"@@CP@@", "oké".encode("cp1252")))
    message = error_of(path)
    assert "byte-order mark" in message and "row 4" in message  # record row, not line 5


# --------------------------------------------------------------------------- privacy

PLANTED = ("203.0.113.77", "jan.zorbulon@example.be", "Quextrap", "Zorbulon", "CUSTOM-SECRET-42")


@FORMATS
@pytest.mark.parametrize("head", [META_EN, META_NL], ids=["english", "dutch"])
def test_filled_private_columns_are_dropped(tmp_path, fmt, head):
    rows = export_rows([("Vraag", ["Response"])],
                       [meta(1, private=PLANTED) + ["Ja"], meta(2, private=PLANTED) + ["Nee"]], head=head)
    raw = read_export(write(tmp_path, rows, fmt))
    assert raw.dropped == head[4:]
    dump = " ".join([raw.meta.to_csv(), raw.answers.to_csv(), repr(raw.columns),
                     repr(raw.dropped), repr(raw.warnings)])
    for planted in PLANTED:
        assert planted not in dump
    assert list(raw.meta.columns) == ["respondent_id", "collector_id", "start", "end", "language", "row"]
    assert all(str(raw.meta[c].dtype) == "str" for c in ("respondent_id", "collector_id", "language"))


def test_private_values_not_in_error_messages(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1, end="kapot", private=PLANTED) + ["Ja"]])
    message = error_of(write_csv(tmp_path / "e.csv", rows))
    assert not any(p in message for p in PLANTED)


# --------------------------------------------------------------------------- empty rows

def test_trailing_and_inner_blank_rows_are_ignored(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"], [""] * 10, meta(2) + ["Nee"]])
    path = write_csv(tmp_path / "e.csv", rows)
    path.write_bytes(path.read_bytes() + b",,,,,,,,,\n\n  \n")
    raw = read_export(path)
    assert raw.meta["row"].tolist() == [3, 5]
    assert raw.meta["respondent_id"].tolist() == ["1", "2"]


def test_xlsx_trailing_blank_rows_ignored(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    path = write_xlsx(tmp_path / "e.xlsx", rows)
    wb = openpyxl.load_workbook(path)
    wb.active.cell(row=20, column=3, value=" ")
    wb.active.cell(row=21, column=1).number_format = "0.00"
    wb.save(path)
    assert read_export(path).meta["row"].tolist() == [3]


def test_short_rows_padded_and_empty_extra_cells_tolerated(tmp_path):
    rows = export_rows([("Vraag", ["Response"]), ("Tweede", ["Response"])],
                       [meta(1) + ["Ja"], meta(2) + ["Ja", "Nee", "", ""]])
    raw = read_export(write_csv(tmp_path / "e.csv", rows))
    assert raw.answers.iloc[:, 1].tolist() == [None, "Nee"]


# --------------------------------------------------------------------------- sheets

def test_sheet_picked_by_respondent_header_hidden_ignored(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    path = write_xlsx(tmp_path / "s.xlsx", sheets={
        "Samenvatting": ([["Overzicht"], ["Aantal", 1]], "visible"),
        "Data": (rows, "visible"),
        "Oud": (rows + [meta(2) + ["Nee"]], "hidden"),
    })
    raw = read_export(path)
    assert raw.sheet == "Data" and len(raw.meta) == 1
    assert raw.warnings == []  # a summary sheet is no reason for a warning
    assert len(read_export(path, sheet="Oud").meta) == 2


def test_respondents_pasted_on_another_visible_sheet_are_named(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    path = write_xlsx(tmp_path / "s.xlsx", sheets={
        "Data": (rows, "visible"),
        "Nalevering": ([meta(11412345602) + ["Nee"], meta(11412345603) + ["Ja"]], "visible"),  # no header rows
    })
    raw = read_export(path)
    assert raw.sheet == "Data" and len(raw.meta) == 1
    assert len(raw.warnings) == 1 and "'Nalevering'" in raw.warnings[0] and "not read" in raw.warnings[0]


def test_a_named_sheet_names_the_other_sheets_holding_respondents(tmp_path, monkeypatch):
    """With `sheet:` in the params the choice is the researcher's, but respondents on
    another visible sheet are still not read: say so (hidden sheets and notes are no reason),
    with advice that fits the sheet (its own input, or paste the rows into the responses sheet).
    The other sheets are looked at in their XML; calamine, which parses them whole, agrees."""
    import agii_analysis.reader as reader

    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    path = write_xlsx(tmp_path / "s.xlsx", sheets={
        "2023": (rows, "visible"),
        "2022": (rows + [meta(2) + ["Nee"]], "visible"),
        "Notities": ([["Verstuurd op 3 maart"], ["Herinnering", 1]], "visible"),
        "Oud": (rows, "hidden"),
        "Nalevering": ([meta(11412345602) + ["Nee"]], "visible"),  # pasted rows, no header rows
    })
    raw = read_export(path, sheet="2023")
    assert raw.sheet == "2023" and len(raw.meta) == 1
    assert raw.unread_sheets == (("2022", True), ("Nalevering", False))
    assert raw.warnings == [
        "sheet(s) '2022', 'Nalevering' also hold rows that start with a respondent id but were not read: only "
        "sheet '2023' was; if they are respondents of this survey-year, list '2022' as an input of its "
        "own; rows without the two header rows belong in the responses sheet"]
    assert read_export(path, sheet="2022").unread_sheets == (("2023", True), ("Nalevering", False))
    monkeypatch.setattr(reader, "_peek_sheets", lambda raw: None)  # the calamine way
    assert read_export(path, sheet="2023").unread_sheets == (("2022", True), ("Nalevering", False))
    monkeypatch.undo()
    alone = write_xlsx(tmp_path / "one.xlsx", sheets={"Data": (rows, "visible"), "Notities": ([["x"]], "visible")})
    assert read_export(alone, sheet="Data").warnings == [] and read_export(alone, sheet="Data").unread_sheets == ()


def test_the_xml_peek_reads_column_a_as_calamine_does(tmp_path):
    """Shared and inline strings, numbers, rich text, entities, blank cells and rows, a
    sheet starting below row 1 or right of column A: the peek's texts are calamine's."""
    import python_calamine

    import agii_analysis.reader as reader

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Eén & twee"
    for r, v in {1: "Respondent ID", 2: None, 3: 11412345601, 4: "11412345602", 6: "a < b & c", 25: 7}.items():
        ws.cell(row=r, column=1, value=v)
    ws.cell(row=5, column=2, value="B only")
    low = wb.create_sheet("Laag")
    low.cell(row=3, column=2, value="Respondent ID")
    low.cell(row=4, column=1, value=1.5)
    path = tmp_path / "peek.xlsx"
    wb.save(path)
    raw = path.read_bytes()
    peek = reader._peek_sheets(raw)
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    for name, cells in peek:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=20)
        want = [reader._text(r[0]) if r else None for r in rows] + [None] * (20 - len(rows))
        assert cells == want, name
    assert [name for name, _ in peek] == ["Eén & twee", "Laag"]


def _handmade_xlsx(path, sheets: dict[str, str], shared: list[str]):
    """An XLSX zipped by hand, as Excel and Java tools write them (openpyxl writes inline
    strings only): `sheets` maps a name to its <sheetData> XML, `shared` holds <si> bodies."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/>'
                   + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.'
                             'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1))
                   + '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><sheets>'
                   + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
                   + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">'
                   + "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                             for i in range(1, len(sheets) + 1))
                   + f'<Relationship Id="rId{len(sheets) + 1}" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
                   "</Relationships>")
        for i, data in enumerate(sheets.values(), 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", f'<?xml version="1.0"?><worksheet {ns}><sheetData>{data}'
                       "</sheetData></worksheet>")
        z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst {ns} count="{len(shared)}" '
                   f'uniqueCount="{len(shared)}">' + "".join(f"<si>{x}</si>" for x in shared) + "</sst>")
    return path


def test_the_xml_peek_reads_shared_strings_and_numbers_as_calamine_does(tmp_path):
    """Shared strings (rich text runs, phonetic runs, xml:space, _x000D_ escapes, padding,
    an empty index), Java-style numbers (1.1412345601E10) and inline strings: what decides
    the sheet (a header, an id in column A) reads the same as through calamine."""
    import python_calamine

    import agii_analysis.reader as reader

    shared = ["<t>Respondent ID</t>", '<r><t>Respondent</t></r><r><t xml:space="preserve"> ID</t></r>',
              "<t>Resp</t><rPh sb=\"0\" eb=\"1\"><t>RESP</t></rPh><t>ondent ID</t>",
              "<t> 11412345602 </t>", "<t>Respondent ID_x000D_</t>", "<t>Vraag</t>", "<t></t>"]

    def cell(ref, kind, value):
        return f'<c r="{ref}" t="{kind}"><v>{value}</v></c>' if kind else f'<c r="{ref}"><v>{value}</v></c>'

    sheets = {
        "Plain": '<row r="1">' + cell("A1", "s", 0) + cell("B1", "s", 5) + '</row><row r="3">'
                 + cell("A3", "", "1.1412345601E10") + "</row>",
        "Rich": '<row r="1">' + cell("A1", "s", 1) + "</row>",
        "Phonetic": '<row r="1">' + cell("A1", "s", 2) + "</row>",
        "Padded": '<row r="2">' + cell("A2", "s", 3) + "</row>",
        "Escaped": '<row r="1">' + cell("A1", "s", 4) + "</row>",
        "Odd": '<row r="1"><c r="A1" t="s"><v></v></c></row><row r="2">' + cell("A2", "s", 6)
               + '<c r="B2" t="inlineStr"><is><t>11412345603</t></is></c></row>',
    }
    path = _handmade_xlsx(tmp_path / "hand.xlsx", sheets, shared)
    peek = dict(reader._peek_sheets(path.read_bytes()))
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    for name in sheets:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=20)
        want = [reader._text(r[0]) if r else None for r in rows] + [None] * (20 - len(rows))
        assert peek[name] == want, name
    assert peek["Plain"][:3] == ["Respondent ID", None, "11412345601"] and peek["Padded"][1] == "11412345602"
    assert peek["Phonetic"][0] == "Respondent ID" and peek["Escaped"][0] == "Respondent ID"  # _x000D_: a CR, stripped


@pytest.mark.parametrize("peek", [True, False], ids=["xml-peek", "calamine"])
def test_choosing_a_sheet_the_same_with_or_without_the_xml_peek(tmp_path, monkeypatch, peek):
    """The sheet is chosen from the first rows in each sheet's XML; where the XML cannot be
    read that way, calamine decides the same."""
    import agii_analysis.reader as reader

    if not peek:
        monkeypatch.setattr(reader, "_peek_sheets", lambda raw: None)
    else:  # the peek decides: calamine is not asked about any visible sheet

        def refuse(wb, name):
            raise AssertionError(f"calamine asked about sheet {name!r}")
        monkeypatch.setattr(reader, "_calamine_column_a", refuse)
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    chosen = write_xlsx(tmp_path / "a.xlsx", sheets={
        "Samenvatting": ([["Overzicht"], ["Aantal", 1]], "visible"), "Data": (rows, "visible"),
        "Nalevering": ([meta(11412345602) + ["Nee"]], "visible"), "Oud": (rows, "hidden")})
    raw = read_export(chosen)
    assert raw.sheet == "Data" and len(raw.warnings) == 1 and "'Nalevering'" in raw.warnings[0]
    both = write_xlsx(tmp_path / "b.xlsx", sheets={"Blad1": (rows, "visible"), "Blad2": (rows, "visible")})
    assert "several of them start with" in error_of(both)


def test_single_visible_sheet_used_even_with_hidden_data_sheet(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    path = write_xlsx(tmp_path / "s.xlsx", sheets={"Verborgen": (rows, "hidden"), "Responses": (rows, "visible")})
    assert read_export(path).sheet == "Responses"


@pytest.mark.parametrize("second", ["copy", "notes"])
def test_ambiguous_sheets_are_listed(tmp_path, second):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    other = rows if second == "copy" else [["Notities"]]
    first = rows if second == "copy" else [["Iets anders"]]
    path = write_xlsx(tmp_path / "s.xlsx", sheets={"Blad1": (first, "visible"), "Blad2": (other, "visible")})
    message = error_of(path)
    assert "'Blad1'" in message and "'Blad2'" in message and "sheet=" in message
    assert ("several" if second == "copy" else "none") in message


def test_unknown_sheet_name(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]]))
    message = error_of(path, sheet="Responses")
    assert "no sheet 'Responses'" in message and "'Sheet'" in message


def test_sheet_for_csv_is_an_error(tmp_path):
    path = write_csv(tmp_path / "e.csv", export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]]))
    assert "no sheets" in error_of(path, sheet="Data")


# --------------------------------------------------------------------------- file types

def test_csv_named_xlsx_and_xlsx_named_csv_are_read_by_content(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    csv_as_xlsx = write_csv(tmp_path / "really_csv.xlsx", rows)
    raw = read_export(csv_as_xlsx)
    assert raw.encoding == "utf-8" and "holds CSV text" in raw.warnings[0]
    xlsx_as_csv = write_xlsx(tmp_path / "really_xlsx.csv", rows)
    raw = read_export(xlsx_as_csv)
    assert raw.sheet == "Sheet" and "is a workbook" in raw.warnings[0]


def test_zip_archive_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "download.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("CSV/Sheet_1.csv", "Respondent ID\n")
    message = error_of(path)
    assert "ZIP archive" in message and "CSV/Sheet_1.csv" in message


def test_truncated_xlsx(tmp_path):
    path = write_xlsx(tmp_path / "half.xlsx", export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]]))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "cannot be read as XLSX (damaged or truncated)" in error_of(path)


def test_binary_garbage(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary" in error_of(path)


def test_missing_file(tmp_path):
    assert "file not found" in error_of(tmp_path / "missing.xlsx")


# --------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx"])
def test_zero_byte_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert "is empty (0 bytes)" in error_of(path)


def test_file_without_rows(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\r\n\r\n,,,\r\n")
    assert "has no rows" in error_of(path)


@FORMATS
def test_only_one_header_row(tmp_path, fmt):
    rows = export_rows([("Vraag", ["Response"])], [])[:1]
    assert "only one header row" in error_of(write(tmp_path, rows, fmt))


@FORMATS
def test_header_rows_without_respondents(tmp_path, fmt):
    rows = export_rows([("Vraag", ["Response"])], [])
    assert "has no respondents" in error_of(write(tmp_path, rows, fmt))


def test_single_header_row_with_data_below(tmp_path):
    rows = [["Respondent ID", "Vraag 1"], ["114628123456", "Ja"], ["114628123457", "Nee"]]
    message = error_of(write_csv(tmp_path / "flat.csv", rows))
    assert "only one header row" in message and "row 2" in message


@FORMATS
def test_not_a_surveymonkey_export(tmp_path, fmt):
    rows = [["Naam", "Score"], ["", "Response"], ["Jan", "3"]]
    message = error_of(write(tmp_path, rows, fmt))
    assert "not a SurveyMonkey export" in message and "'Naam'" in message and "row 1" in message


def test_no_respondent_id_column_at_all(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [[START, END, "Ja"]], head=["Start Date", "End Date"])
    assert "not a SurveyMonkey export" in error_of(write_csv(tmp_path / "e.csv", rows))


def test_row2_not_blank_under_metadata(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    rows[1][0] = "Response"
    message = error_of(write_csv(tmp_path / "a.csv", rows))
    assert "row 2 is not blank under 'Respondent ID'" in message and "column A" in message
    rows = export_rows([("Vraag", ["Response"])], [[1, 2, "Ja"]], head=["Respondent ID", "Collector ID"])
    rows[1][1] = "x"
    message = error_of(write_csv(tmp_path / "b.csv", rows))
    assert "metadata column 'Collector ID'" in message and "column B" in message and "row 2" in message


def test_private_column_with_row2_label_is_refused_not_read(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1, private=PLANTED) + ["Ja"]])
    rows[1][5] = "Response"  # Email Address
    message = error_of(write_csv(tmp_path / "e.csv", rows))
    assert "'Email Address'" in message and "column F" in message


@FORMATS
def test_swapped_header_rows(tmp_path, fmt):
    rows = export_rows([("Vraag", ["Response"]), ("Open", ["Open-Ended Response"])], [meta(1) + ["Ja", "x"]])
    rows[0], rows[1] = rows[1], rows[0]
    message = error_of(write(tmp_path, rows, fmt))
    assert "swapped" in message and "row 1" in message


def test_swapped_header_without_respondent_name_in_row2(tmp_path):
    rows = [["", "Response", "Response"], ["ID", "Vraag 1", "Vraag 2"], ["1", "Ja", "Nee"]]
    assert "swapped" in error_of(write_csv(tmp_path / "e.csv", rows))


@FORMATS
def test_row_with_more_cells_than_header(tmp_path, fmt):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"], meta(2) + ["Nee", "", "te veel"]])
    message = error_of(write(tmp_path, rows, fmt))
    assert "more cells than the header" in message and "row 4" in message and "column L" in message


def test_blank_row2_inside_question_columns(tmp_path):
    rows = export_rows([("Een", ["Response"]), ("Twee", ["Response"]), ("Drie", ["Response"])],
                       [meta(1) + ["Ja", "Nee", "Ja"]])
    rows[1][10] = ""
    message = error_of(write_csv(tmp_path / "e.csv", rows))
    assert "row 2 is blank inside the question columns" in message and "column K 'Twee'" in message


def test_only_metadata_columns(tmp_path):
    rows = [META_EN, [""] * 9, meta(1)]
    assert "no question columns" in error_of(write_csv(tmp_path / "e.csv", rows))


def test_unexpected_library_error_is_wrapped(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "e.csv", export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]]))

    def boom(*args, **kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(reader, "_build", boom)
    message = error_of(path)
    assert "cannot be read (KeyError" in message


# --------------------------------------------------------------------------- several files

def test_read_exports_list_and_folder(tmp_path):
    rows = export_rows([("Vraag", ["Response"])], [meta(1) + ["Ja"]])
    write_csv(tmp_path / "a.csv", rows)
    write_xlsx(tmp_path / "b.xlsx", rows)
    (tmp_path / "~$b.xlsx").write_bytes(b"lock")
    (tmp_path / "notes.txt").write_text("x")
    raws = read_exports(tmp_path)
    assert [r.path.name for r in raws] == ["a.csv", "b.xlsx"]
    assert [r.path.name for r in read_exports([tmp_path / "b.xlsx"])] == ["b.xlsx"]
    (tmp_path / "nothing").mkdir()
    with pytest.raises(AgiiError, match="no .xlsx or .csv"):
        read_exports(tmp_path / "nothing")


# --------------------------------------------------------------------------- real exports

@pytest.mark.skipif(not REAL.is_dir(), reason=f"real exports folder {REAL} is absent")
@pytest.mark.parametrize(
    ("name", "respondents", "total_columns", "encoding"),
    [("fivethirtyeight__data__StarWars.csv", 1186, 38, "cp1252"),
     ("fivethirtyeight__data__steak-risk-survey.csv", 550, 15, "utf-8"),
     ("fivethirtyeight__data__MIDWEST.csv", 2778, 53, "utf-8")],
)
def test_real_exports(name, respondents, total_columns, encoding):
    raw = read_export(REAL / name)
    n_meta = 1 + len(raw.dropped)  # RespondentID only
    assert len(raw.meta) == respondents
    assert len(raw.columns) + n_meta == total_columns
    assert raw.encoding == encoding
    assert raw.meta["respondent_id"].is_unique
    assert raw.meta["row"].iloc[0] == 3
    assert not any("<br" in c.question or "  " in c.question for c in raw.columns)
    assert len(set(c.key for c in raw.columns)) == len(raw.columns)


def _workbook_with(tmp_path, cell=None, value=None, data_type=None, cover=False) -> Path:
    """A small export as XLSX (written by openpyxl, as a script would), one cell edited;
    `cover`: a summary sheet first (the sheet is then chosen by its content)."""
    rows = export_rows([("Hoe tevreden bent u?", ["Response"])],
                       [[*meta(11400000001 + i), "Tevreden"] for i in range(3)])
    wb = openpyxl.Workbook()
    if cover:
        wb.active.title = "Overzicht"
        wb.active["A1"] = "Samenvatting"
        wb.create_sheet("Sheet")
        wb.active = 1
    for row in rows:
        wb.active.append(row)
    if cell:
        wb.active[cell].value = value
        if data_type:
            wb.active[cell].data_type = data_type
    path = tmp_path / "bewerkt.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("cell, value, data_type, problem", [
    ("J4", "#N/A", "e", "column J, row 4: cell holds an Excel error (#N/A), which reads as blank"),
    ("J4", "=1+1", None, "column J, row 4: cell holds a formula without a stored result"),
    ("D5", '=TEXT(C5,"mm/dd/yyyy")', None, "column D, row 5: cell holds a formula without a stored result"),
])
def test_cells_that_would_read_as_blank_are_named(tmp_path, cell, value, data_type, problem):
    """An Excel error or a formula nobody computed reads as an empty cell: an answer (or
    a date) lost without a word, so the reader names the cell instead."""
    with pytest.raises(AgiiError) as err:
        read_export(_workbook_with(tmp_path, cell, value, data_type))
    assert f"bewerkt.xlsx, sheet 'Sheet', {problem}" in str(err.value)


def test_cells_that_would_read_as_blank_are_named_when_the_sheet_is_chosen_by_content(tmp_path):
    with pytest.raises(AgiiError) as err:
        read_export(_workbook_with(tmp_path, "J4", "=1+1", cover=True))
    assert "bewerkt.xlsx, sheet 'Sheet', column J, row 4: cell holds a formula without a stored result" in str(err.value)


def test_a_workbook_without_errors_or_formulas_reads(tmp_path):
    export = read_export(_workbook_with(tmp_path))
    assert len(export.meta) == 3 and export.answers.notna().all().all()


def test_a_collector_id_stored_as_a_number_by_excel_is_the_same_collector(tmp_path):
    """402093355.0 (a re-saved workbook) and 402093355 are one collector, as for ids."""
    rows = export_rows([("Hoe tevreden bent u?", ["Response"])],
                       [[*meta(11400000001 + i, collector=c), "Tevreden"]
                        for i, c in enumerate(["431234567.0", "431234567", " 431234567.00 ", "431234568"])])
    export = read_export(write_csv(tmp_path / "c.csv", rows))
    assert export.meta["collector_id"].tolist() == ["431234567"] * 3 + ["431234568"]


def test_a_date_column_in_two_forms_is_read_with_a_warning(tmp_path):
    """Some End Dates as date cells, others as SurveyMonkey's text: what a re-save under
    a day/month locale leaves (day and month swapped where the day was <= 12)."""
    rows = export_rows([("Hoe tevreden bent u?", ["Response"])],
                       [[*meta(11400000001 + i), "Tevreden"] for i in range(3)])
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.active["D3"].value = dt.datetime(2023, 5, 7, 16, 25, 1)  # was 07/05/2023: day and month swapped
    path = tmp_path / "datums.xlsx"
    wb.save(path)
    export = read_export(path)
    assert export.meta["end"].tolist() == [pd.Timestamp("2023-05-07 16:25:01"), pd.Timestamp("2023-07-31 16:25:01"),
                                           pd.Timestamp("2023-07-31 16:25:01")]
    assert export.warnings == [
        "column D 'End Date' holds dates in 2 forms (month/day/year texts; date cells): a workbook saved again "
        "under another language setting can have swapped day and month in some of them; check the dates, or "
        "re-export from SurveyMonkey"]
