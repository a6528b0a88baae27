"""Read one SurveyMonkey "All individual responses" export (XLSX or CSV) into a RawExport.

The reader only knows the export format, not the questionnaire: it merges the two
header rows into column keys, recognises the metadata columns (English or Dutch
account), parses the dates, keeps respondent ids as strings and drops the private
columns (IP address, e-mail, names, custom data, unknown metadata) on read. Meaning
is attached later by harmonise.py with a codebook. Every problem is an AgiiError
that names file, sheet, column and row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import html
import io
import itertools
import math
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import python_calamine

from .errors import AgiiError, column_letter

__all__ = ["ExportColumn", "RawExport", "read_export", "read_exports"]


@dataclass(frozen=True)
class ExportColumn:
    """One question column. `position` is 0-based, so `letter == column_letter(position)`."""

    position: int
    letter: str
    question: str
    sub: str
    key: str


@dataclass
class RawExport:
    """One export as read: metadata, answers as text, and where everything came from.

    `cells` holds each question column as an Arrow string array (stripped, null when
    blank), one entry per respondent row of `meta`; harmonise works on these without
    turning every cell into a Python object. `answers` is the same as a DataFrame, built
    on first use (inspection, tests).
    """

    path: Path
    sheet: str | None
    encoding: str | None
    meta: pd.DataFrame
    cells: dict[str, pa.Array]
    columns: list[ExportColumn]
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    label: str | None = None  # its name in messages when another input has the same base name
    unread_sheets: tuple[tuple[str, bool], ...] = ()  # other visible sheets with respondent rows,
    # (name, starts with the respondent id header): not read

    @property
    def name(self) -> str:
        """The file's name in messages, outputs and the accounting."""
        return self.label or Path(self.path).name

    @functools.cached_property
    def answers(self) -> pd.DataFrame:
        return pd.DataFrame({c.key: pd.Series(_objects(self.cells[c.key]), dtype=object) for c in self.columns},
                            index=self.meta.index, dtype=object)


# --------------------------------------------------------------------------- names

def _norm(name: object) -> str:
    """Comparison form of a header: lower case without spaces, hyphens, underscores."""
    return re.sub(r"[\s\-_]+", "", str(name)).lower() if name is not None else ""


# Kept metadata columns; `language` is matched exactly (see _meta_role).
_META_ROLES = {
    "respondentid": "respondent_id",
    "collectorid": "collector_id",
    "verzamelaarid": "collector_id",
    "startdate": "start",
    "begindatum": "start",
    "enddate": "end",
    "einddatum": "end",
}
# Private by name; any other unrecognised metadata column is dropped as well.
_PRIVATE = re.compile(
    r"^(ipaddress|ipadres|emailaddress|emailadres|e?mail|firstname|voornaam|lastname|"
    r"achternaam|customdata\d*|aangepastegegevens\d*)$"
)
# Row-2 labels that give away swapped header rows when they show up in row 1.
_SUB_LABELS = {"response", "openendedresponse", "other(pleasespecify)", "antwoord", "openantwoord"}

_RESPONDENT_HEADERS = "'Respondent ID' (or RespondentID, Respondent-ID)"
_DATE_EXPECTED = (
    "a date like 07/31/2023 04:21:36 PM (SurveyMonkey), 8/22/22 15:44 (re-saved in Excel) "
    "or a date cell in XLSX"
)
# Tried in order on the text cells that are still unparsed (vectorised per format).
_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # SurveyMonkey
    "%m/%d/%y %H:%M",  # re-saved by Excel with US settings
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %I:%M %p",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",  # a date cell of an XLSX, with fractions of a second
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_SERIAL_MAX = (pd.Timestamp("2200-01-01") - _EXCEL_EPOCH).days  # beyond: not a date
_E_NOTATION = re.compile(r"^[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+$")
_INT_FLOAT_TEXT = re.compile(r"^([0-9]+)\.0+$")
_NUMBER_TEXT = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _meta_role(name: str) -> str | None:
    """Role of a kept metadata column, or None when it is to be dropped."""
    if name in ("language", "Language"):
        return "language"
    return _META_ROLES.get(_norm(name))


def _clean_header(value: object) -> str:
    """Header text without HTML tags, entities or runs of whitespace."""
    text = _text(value)
    if text is None:
        return ""
    text = html.unescape(_TAG.sub(" ", text))
    return " ".join(text.split())


def _short(value: object, limit: int = 60) -> str:
    text = " ".join(str(value).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --------------------------------------------------------------------------- cells

def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and value != value
    )


_TIME_BASE = dt.datetime(1899, 12, 31)  # where fastexcel puts time-only cells and durations


def _text(value: object) -> str | None:
    """A typed cell (slow paths) as the text fastexcel gives for it (fast path), so both
    paths read the same: '3' not '3.0', dates as '2023-07-31 16:21:36[.600]', booleans
    as 'true'/'false', a time of day on 1899-12-31."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return "-0" if value == 0 and math.copysign(1, value) < 0 else str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.time):
        value = dt.datetime.combine(_TIME_BASE, value)
    elif isinstance(value, dt.timedelta):
        value = _TIME_BASE + value
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if isinstance(value, dt.datetime):
        ms = f".{value.microsecond // 1000:03d}" if value.microsecond else ""
        return value.strftime("%Y-%m-%d %H:%M:%S") + ms
    return str(value).strip() or None


class _Where:
    """File and sheet of the export being read, to build located errors."""

    def __init__(self, path: Path, sheet: str | None = None):
        self.path = path
        self.sheet = sheet

    def error(self, problem: str, *, column: str | None = None, row: int | None = None,
              expected: str | None = None) -> AgiiError:
        return AgiiError(problem, file=self.path, sheet=self.sheet, column=column, row=row,
                         expected=expected)


def _col(index: int, name: str | None = None) -> str:
    """Column label for messages: letter plus header name."""
    letter = column_letter(index)
    return f"{letter} {_short(name)}" if name else letter


# --------------------------------------------------------------------------- CSV

def _detect_separator(text: str) -> str:
    """The character right after the first header cell (`Respondent ID,` or `;`)."""
    i = 0
    if text.startswith('"'):
        i = 1
        while i < len(text):
            if text[i] == '"':
                if text[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                i += 1
                break
            i += 1
    while i < len(text) and text[i] not in ",;\t\r\n":
        i += 1
    return text[i] if i < len(text) and text[i] in ",;\t" else ","


def _record_of_line(body: bytes, sep: str, line: int) -> int:
    """1-based record (spreadsheet row) holding physical line `line`; differs from the
    line number only after quoted multi-line cells."""
    text = body.decode("latin-1")  # byte-preserving: quotes and separators stay put
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        for record, _ in enumerate(reader, 1):
            if reader.line_num >= line:
                return record
    except csv.Error:
        pass
    return line


_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080-U+009F in UTF-8


def _control_characters(raw: bytes) -> list[str]:
    """A UTF-8 file holding C1 control characters (never typed): cp1252 (Windows) text whose
    bytes happen to be valid UTF-8 ("Â‘" is C2 91, U+0091 in UTF-8), or quotes broken by a
    double conversion. Read as UTF-8, as documented, with a warning naming the first."""
    if b"\xc2" not in raw:
        return []
    hit = _C1.search(raw)
    if hit is None:
        return []
    body = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    head = body[: 1 << 16].decode("latin-1")
    sep_hint = _SEP_LINE.match(head)
    text = body.decode("latin-1")[sep_hint.end() if sep_hint else 0:]  # byte-preserving: C2 9x is "Â\x9x"
    row, column = 0, None
    try:
        for row, record in enumerate(csv.reader(io.StringIO(text, newline=""),
                                                delimiter=sep_hint.group(1) if sep_hint else _detect_separator(head)), 1):
            column = next((j for j, cell in enumerate(record) if re.search("\u00c2[\u0080-\u009f]", cell)), None)
            if column is not None:
                break
    except csv.Error:
        pass
    count = len(_C1.findall(raw))
    code = raw[hit.start() + 1]
    try:  # 0x81, 0x8D, 0x8F, 0x90 and 0x9D are no cp1252 characters
        was = f" (then U+{code:04X} was \"{raw[hit.start():hit.end()].decode('cp1252')}\")"
    except UnicodeDecodeError:
        was = ""
    where = f"row {row}, column {column_letter(column)}" if column is not None else "the file"
    return [f"{where} holds a control character (U+{code:04X}; {count} in the file), which nobody types: read as "
            f"UTF-8, but the file may be cp1252 (Windows) text whose bytes are also valid UTF-8{was}; check its "
            "texts, or export it from SurveyMonkey again"]


def _decode(raw: bytes, where: _Where) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (BOM or not), UTF-16 with BOM, else cp1252."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise where.error(
                f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason})"
            ) from exc
    bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    if b"\x00" in body:
        raise where.error("is neither a CSV text file nor an XLSX workbook (it holds binary data)",
                          expected="an XLSX or CSV export from SurveyMonkey")
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole: the first line with non-ASCII bytes sets the encoding, and a
    # later line in the other one means the file was pasted together from two sources.
    first_kind, first_line = ("UTF-8", 1) if bom else (None, None)
    for number, line in enumerate(body.splitlines(), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            kind = "UTF-8"
        except UnicodeDecodeError:
            kind = "cp1252"
        if first_kind is None:
            first_kind, first_line = kind, number
        elif kind != first_kind:
            sep = _detect_separator(body.decode("latin-1"))
            row = _record_of_line(body, sep, number)
            first_row = _record_of_line(body, sep, first_line) if first_line > 1 else 1
            start = "starts with a UTF-8 byte-order mark" if bom and first_row == 1 else (
                f"has {first_kind} text in row {first_row}")
            raise where.error(
                f"mixes text encodings: it {start} but row {row} is {kind} "
                f"(not valid {first_kind})",
                row=row,
                expected="one encoding for the whole file; re-export it from SurveyMonkey",
            )
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        row = _record_of_line(body, _detect_separator(body.decode("latin-1")), line)
        raise where.error(
            f"byte 0x{body[exc.start]:02X} is neither UTF-8 nor cp1252 text", row=row,
            expected="a CSV in UTF-8 or cp1252 (Windows) encoding",
        ) from exc


def _csv_field_limit(text: str) -> None:
    # An open answer may be longer than csv's default field limit (128 KiB); no cell
    # can be longer than the file, so that bound is safe and keeps the error for real junk.
    if csv.field_size_limit() < len(text) + 1:
        csv.field_size_limit(min(len(text) + 1, sys.maxsize))


_SEP_LINE = re.compile(r"sep=([,;\t|])\r?\n")  # Excel's hint line above the header


def _unclosed_quote(body: bytes, sep: str, where: _Where, skipped: int = 0) -> None:
    """A quoted cell that never ends (a cut-off file) is closed silently at the end of
    the file by the parsers, keeping a cut-off answer. Quotes come in pairs, so only an
    odd count is parsed again, strictly (a stray quote inside a cell is no quoting)."""
    if not body.count(b'"') % 2:
        return
    text = body.decode("latin-1")
    _csv_field_limit(text)  # the unclosed cell runs to the end of the file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    records, line = 0, 0
    try:
        for _ in reader:
            records, line = records + 1, reader.line_num
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise where.error(
                f"ends inside a quoted cell: the quote in row {records + 1} (line {line + 1 + skipped} of the file) "
                "is never closed",
                row=records + 1,
                expected="a complete export (the file is cut off, or a quote is missing): re-export or copy it again",
            ) from None


def _read_csv(raw: bytes, where: _Where) -> tuple[list[pa.Array], str]:
    bom = raw.startswith(codecs.BOM_UTF8)
    if not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and b"\x00" not in raw:
        # Fast path for the usual UTF-8 file: Arrow validates the UTF-8 itself, so the
        # bytes go in as they are; any other file is decoded first (and checked).
        body = raw[len(codecs.BOM_UTF8):] if bom else raw
        hint = _SEP_LINE.match(body[:8].decode("latin-1"))
        body = body[hint.end():] if hint else body
        head = body[: 1 << 16].decode("latin-1")
        sep = hint.group(1) if hint else _detect_separator(head)
        _unclosed_quote(body, sep, where, 1 if hint else 0)
        columns = _csv_arrow(body, head, sep)
        if columns is not None:
            return columns, "utf-8-sig" if bom else "utf-8"
    text, encoding = _decode(raw, where)
    hint = _SEP_LINE.match(text)
    text = text[hint.end():] if hint else text
    sep = hint.group(1) if hint else _detect_separator(text)
    tried = encoding in ("utf-8", "utf-8-sig")  # the fast path above had it already
    if not tried:
        _unclosed_quote(text.encode("utf-8"), sep, where, 1 if hint else 0)
    _csv_field_limit(text)
    columns = None if tried else _csv_arrow(text.encode("utf-8"), text[: 1 << 16], sep)
    if columns is not None:
        return columns, encoding
    # ragged rows, blank lines or odd quoting: the csv module reads what Arrow refuses,
    # and _build then names the row and column of whatever is wrong
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise where.error(f"cannot be read as CSV ({exc})") from exc
    return _columns_of_rows(rows), encoding


def _csv_arrow(data: bytes, head: str, sep: str) -> list[pa.Array] | None:
    """Fast path: Arrow's multi-threaded CSV parser, every column as text. None when the
    file is not one rectangular table of UTF-8 records (then the csv module reads it)."""
    try:
        first = next(csv.reader(io.StringIO(head, newline=""), delimiter=sep), None)
    except csv.Error:
        return None
    if not first or len(head) >= (1 << 16) and "\n" not in head and "\r" not in head:
        return None  # a first record longer than the sample: let the slow path count
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(len(first))},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_columns != len(first):
        return None
    return _pmap(_clean, table.columns)


# --------------------------------------------------------------------------- XLSX

_DAMAGED = "cannot be read as XLSX (damaged or truncated)"
_RESPONDENT_ID_CELL = re.compile(r"\d{8,}(?:\.0+)?|\d(?:[.,]\d+)?E\+\d+", re.IGNORECASE)
_FIRST_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/?)>")


def _open_workbook(raw: bytes, where: _Where, is_zip: bool) -> python_calamine.CalamineWorkbook:
    if is_zip:
        try:
            names = set(zipfile.ZipFile(io.BytesIO(raw)).namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise where.error(_DAMAGED,
                              expected="a complete .xlsx file; download it again") from exc
        if not names & {"xl/workbook.xml", "xl/workbook.bin", "content.xml"}:
            inner = sorted(n for n in names if n.lower().endswith((".csv", ".xlsx")))
            hint = ""
            if inner:
                more = ", …" if len(inner) > 3 else ""
                hint = f" (it holds {', '.join(inner[:3])}{more}: unzip it and read those)"
            raise where.error(f"is a ZIP archive, not an XLSX workbook{hint}",
                              expected="an XLSX or CSV export")
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(raw))
    except python_calamine.PasswordError as exc:
        raise where.error("is password-protected", expected="a workbook without password") from exc
    except Exception as exc:  # calamine reports broken files with several error types
        if is_zip:
            raise where.error(f"{_DAMAGED}: {exc}") from exc
        raise where.error(
            f"cannot be read as a spreadsheet ({exc}); "
            "an old .xls or a password-protected workbook?",
            expected="an XLSX or CSV export from SurveyMonkey",
        ) from exc


def _choose_sheet(wb: python_calamine.CalamineWorkbook, sheet: str | int | None,
                  where: _Where, column_a=None) -> str:
    """The sheet to read: the asked one, the only visible one, or the only visible one
    that starts with a respondent id header. `column_a(name)`: the sheet's column A (rows
    1-20), from `_column_a`."""
    names = list(wb.sheet_names)
    if sheet is not None:
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if 0 <= sheet < len(names):
                return names[sheet]
        elif sheet in names:
            return sheet
        raise where.error(f"has no sheet {sheet!r}",
                          expected="one of " + ", ".join(map(repr, names)))
    visible = [m.name for m in wb.sheets_metadata
               if m.visible == python_calamine.SheetVisibleEnum.Visible
               and m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    column_a = column_a or functools.partial(_calamine_column_a, wb)

    def starts_right(name: str) -> bool:
        return _is_id_header(column_a(name))

    if len(visible) == 1:
        if len(names) > 1 and not starts_right(visible[0]):
            hidden = [m.name for m in wb.sheets_metadata if m.name not in visible
                      and m.typ == python_calamine.SheetTypeEnum.WorkSheet and starts_right(m.name)]
            if hidden:
                raise where.error(
                    f"the only visible sheet, {visible[0]!r}, does not start with {_RESPONDENT_HEADERS}; the hidden "
                    f"sheet {hidden[0]!r} does", expected=f"sheet: {hidden[0]} in the params file (or --sheet), or "
                                                          "unhide it")
        return visible[0]
    if not visible:
        raise where.error("has no visible worksheet", expected="a sheet with the responses")
    candidates = [name for name in visible if starts_right(name)]
    if len(candidates) == 1:
        return candidates[0]  # other sheets with respondent rows: _other_id_sheets
    which = "several" if candidates else "none"
    raise where.error(
        f"has {len(visible)} visible sheets ({', '.join(map(repr, visible))}) and {which} of "
        f"them start with {_RESPONDENT_HEADERS} in A1",
        expected="one responses sheet, or choose one with --sheet (agii validate/inspect), sheet: in the params file or sheet= in read_export",
    )


def _is_id_header(column_a: list[str | None]) -> bool:
    """A1 is the respondent id header (a sheet laid out as an export)."""
    return bool(column_a and column_a[0] and _meta_role(_clean_header(column_a[0])) == "respondent_id")


def _has_id_rows(column_a: list[str | None]) -> bool:
    """A respondent id in column A of the first rows: respondents, with or without the
    header rows (a copy of the export, or rows pasted on a sheet of their own)."""
    return any(_RESPONDENT_ID_CELL.fullmatch(c or "") for c in column_a)


def _calamine_column_a(wb: python_calamine.CalamineWorkbook, name: str) -> list[str | None]:
    rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=_PEEK_ROWS)
    return [_text(row[0]) if row else None for row in rows]


def _column_a(raw: bytes, is_zip: bool, workbook):
    """(visible worksheets, name -> column A of rows 1-20). An XLSX is looked at in its
    XML (the first rows only: calamine parses a sheet whole even for one row); anything
    else, and a sheet the XML peek does not cover (a hidden one), through calamine.
    `workbook`: the open calamine workbook, or a function that opens it (only if needed)."""
    peek = dict(_peek_sheets(raw) or []) if is_zip else {}
    wb = functools.cache(workbook if callable(workbook) else lambda: workbook)
    calamine = functools.cache(lambda name: _calamine_column_a(wb(), name))
    visible = list(peek) if peek else [
        m.name for m in wb().sheets_metadata
        if m.visible == python_calamine.SheetVisibleEnum.Visible and m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    return visible, lambda name: peek[name] if name in peek else calamine(name)


def _other_id_sheets(chosen: str, visible: list[str], column_a) -> list[tuple[str, bool]]:
    """The other visible sheets holding respondent rows, whose respondents are not read,
    each with whether it starts with the respondent id header."""
    return [(name, _is_id_header(column_a(name))) for name in visible
            if name != chosen and (_is_id_header(column_a(name)) or _has_id_rows(column_a(name)))]


_XML_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_XML_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.S)
_XML_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_XML_V = re.compile(rb"<(?:\w+:)?v\b[^>]*>(.*?)</(?:\w+:)?v>", re.S)
_XML_T = re.compile(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.S)
_XML_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_XML_RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)  # phonetic runs: not the cell's text
_XML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # OOXML's escape of characters XML cannot hold
_PEEK_ROWS = 20


def _peek_sheets(raw: bytes) -> list[tuple[str, list[str | None]]] | None:
    """(name, column A of rows 1-20 as text) of every visible worksheet, read from the
    start of each sheet's XML and as much of the shared strings as those cells need.
    None when the workbook is not laid out as expected (then calamine looks)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            sheets = []
            for index, tag in enumerate(_XML_SHEET.findall(zf.read("xl/workbook.xml"))):
                name = re.search(rb'\sname="([^"]*)"', tag)
                state = re.search(rb'\sstate="([^"]*)"', tag)
                part = _sheet_part(zf, index)
                if name is None or part is None:
                    return None
                if (state and state.group(1) != b"visible") or "/worksheets/" not in f"/{part}":
                    continue
                sheets.append((html.unescape(name.group(1).decode("utf-8")), _first_column(zf, part)))
            wanted = {int(v) for _, cells in sheets for kind, v in cells if kind == "s"}
            shared = _shared_strings(zf, max(wanted) + 1) if wanted else []
    except (KeyError, ValueError, TypeError, IndexError, zipfile.BadZipFile, OSError, zlib.error, UnicodeDecodeError):
        return None
    return [(name, [((shared[int(v)].strip() or None) if kind == "s" else v) if kind else None for kind, v in cells])
            for name, cells in sheets]


def _unxml(text: bytes) -> str:
    """XML text as calamine reads it: entities and OOXML's _xHHHH_ escapes undone."""
    return _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), html.unescape(text.decode("utf-8")))


def _xml_text(inner: bytes) -> str:
    """The text of a shared or inline string: its <t> runs, without phonetic ones."""
    return _unxml(b"".join(_XML_T.findall(_XML_RPH.sub(b"", inner))))


def _first_column(zf: zipfile.ZipFile, part: str) -> list[tuple[str | None, str | None]]:
    """(kind, text) of the column A cell of sheet rows 1-20: kind "s" holds a shared-string
    index, "v" the cell's own text; (None, None) for a blank cell."""
    data, rows = b"", 0
    with zf.open(part) as fh:
        while chunk := fh.read(1 << 16):
            data += chunk
            rows += len(re.findall(rb"</(?:\w+:)?row>", chunk))  # one cut by the chunk's end: read one more
            if rows > _PEEK_ROWS or len(data) > 1 << 23:
                break
    cells: list[tuple[str | None, str | None]] = [(None, None)] * _PEEK_ROWS
    row_no = 0
    for row in _XML_ROW.finditer(data):
        number = re.search(rb'\sr="(\d+)"', row.group(1))
        row_no = int(number.group(1)) if number else row_no + 1
        if row_no > _PEEK_ROWS:
            break
        cell = _XML_CELL.search(row.group(2) or b"")
        if cell is None:
            continue
        ref = re.search(rb'\sr="([A-Z]+)\d+"', cell.group(1))
        if ref is not None and ref.group(1) != b"A":
            continue
        kind = re.search(rb'\st="([^"]*)"', cell.group(1))
        kind = kind.group(1) if kind else b"n"
        inner = cell.group(2) or b""
        value = _XML_V.search(inner)
        if kind == b"inlineStr":
            text = _xml_text(inner).strip() or None
        elif value is None or not value.group(1).strip():
            text = None
        elif kind == b"s":
            cells[row_no - 1] = ("s", value.group(1).decode("ascii").strip())
            continue
        elif kind == b"n":  # a number as calamine's float, then as text (1.1412345601E10 -> 11412345601)
            text = _text(float(value.group(1)))
        else:  # str (a formula's text), b, e, d: as written
            text = _unxml(value.group(1)).strip() or None
        if text is not None:
            cells[row_no - 1] = ("v", text)
    return cells


def _shared_strings(zf: zipfile.ZipFile, count: int) -> list[str]:
    """The first `count` shared strings (rich text runs joined)."""
    data, found = b"", []
    with zf.open("xl/sharedStrings.xml") as fh:
        while len(found) < count and (chunk := fh.read(1 << 16)):
            data += chunk
            end = 0
            for m in _XML_SI.finditer(data):
                found.append(_xml_text(m.group(1) or b""))
                end = m.end()
            data = data[end:]
    if len(found) < count:
        raise IndexError("shared string index beyond the table")
    return found[:count]


def unread_sheets_warning(sheets: list[tuple[str, bool]] | tuple[tuple[str, bool], ...], chosen: str) -> str:
    """What the reader says of sheets with respondent rows it did not read: a sheet with the
    header rows can be an input of its own; header-less rows belong in the responses sheet."""
    names = ", ".join(repr(name) for name, _ in sheets)
    headed = [name for name, header in sheets if header]
    advice = ("list that sheet as an input of its own" if len(headed) == len(sheets) else
              "rows without the two header rows belong in the responses sheet" if not headed else
              f"list {', '.join(map(repr, headed))} as an input of its own; rows without the two header rows "
              "belong in the responses sheet")
    return (f"sheet(s) {names} also hold rows that start with a respondent id but were not read: only sheet "
            f"{chosen!r} was; if they are respondents of this survey-year, {advice}")


def _read_xlsx(raw: bytes, sheet: str | int | None, where: _Where,
               is_zip: bool) -> tuple[list[pa.Array], str, list[tuple[str, bool]]]:
    """The chosen sheet's columns, its name, and the other visible sheets with respondent
    rows (not read: named in a warning)."""
    scan = _scan_soon(raw, _sheet_index(_sheet_names(raw), sheet)) if is_zip else None
    fast = _xlsx_arrow(raw, sheet) if is_zip else None
    if fast is not None:
        where.sheet = fast[1]
        _check_cells(raw, fast[2], scan, where)
        if len(_sheet_names(raw)) < 2:
            return fast[0], fast[1], []
        opened = functools.partial(_open_workbook, raw, where, is_zip)
        return fast[0], fast[1], _other_id_sheets(fast[1], *_column_a(raw, is_zip, opened))
    # the slow path, and the one that explains what is wrong with a workbook
    wb = _open_workbook(raw, where, is_zip)
    visible, column_a = _column_a(raw, is_zip, wb) if len(wb.sheet_names) > 1 else ([], None)
    name = _choose_sheet(wb, sheet, where, column_a)
    where.sheet = name
    try:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:
        raise where.error(f"{_DAMAGED}: {exc}") from exc
    if is_zip:
        _check_cells(raw, wb.sheet_names.index(name), scan, where)
    return _columns_of_rows(rows), name, _other_id_sheets(name, visible, column_a) if column_a else []


def _xlsx_arrow(raw: bytes, sheet: str | int | None) -> tuple[list[pa.Array], str, int] | None:
    """Fast path: fastexcel (calamine underneath) straight into Arrow text columns.

    Taken only for a plain export: one sheet (or the one asked for) whose used area
    starts at a filled A1 with a respondent id header, so positions are spreadsheet
    rows and letters. Anything else is None, and the calamine path reads the file.
    """
    try:
        reader = fastexcel.read_excel(raw)
        names = list(reader.sheet_names)
        index = _sheet_index(names, sheet)
        if index is None or not _starts_at_a1(raw, index):
            return None
        table = reader.load_sheet(index, header_row=None, dtypes="string").to_arrow()
    except Exception:  # any trouble: the calamine path says what it is
        return None
    columns = _pmap(_clean, table.columns)
    if not columns or not len(columns[0]) or not columns[0][0].is_valid:
        return None
    if _meta_role(_clean_header(columns[0][0].as_py())) != "respondent_id":
        return None
    return columns, names[index], index


def _sheet_part(zf: zipfile.ZipFile, index: int) -> str | None:
    """The zip member holding worksheet `index` (workbook order), or None."""
    book = zf.read("xl/workbook.xml")
    rels = zf.read("xl/_rels/workbook.xml.rels")
    sheets = re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", book)
    if index >= len(sheets):
        return None
    rid = re.search(rb'\s\w+:id="([^"]+)"', sheets[index])
    if not rid:
        return None
    target = None
    for rel in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        if re.search(rb'\sId="' + re.escape(rid.group(1)) + rb'"', rel):
            found = re.search(rb'\sTarget="([^"]+)"', rel)
            target = found.group(1).decode() if found else None
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _starts_at_a1(raw: bytes, index: int) -> bool:
    """Whether the first cell in the XML of worksheet `index` is a filled A1 (fastexcel
    returns the used area, which must then begin at A1 for rows and letters to hold)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        part = _sheet_part(zf, index)
        if part is None:
            return False
        with zf.open(part) as fh:
            head = fh.read(1 << 16)
    m = _FIRST_CELL.search(head)
    return bool(m) and re.search(rb'\sr="A1"', m.group(1)) is not None and not m.group(2)


_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*\bt="e"[^>]*>')
_FORMULA_WITHOUT_VALUE = re.compile(  # no <v> after the formula, or an empty <v/> (openpyxl)
    rb'(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>\s*)?</(?:\w+:)?c>')
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')


def _cell_problem(raw: bytes, index: int) -> tuple[str, str | None, int | None, str] | None:
    """Excel error cells (#N/A) and formulas without a stored result (a workbook written
    by a program, never opened in Excel) both read as blank: their answers would be lost
    without a word. The sheet's XML is scanned for either (a plain export has neither);
    the first is returned as (problem, column, row, expected). (A formula that XlsxWriter
    stored with the result 0 cannot be told from a computed 0.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            part = _sheet_part(zf, index)
            if part is None:
                return None
            tail = b""
            with zf.open(part) as fh:
                while chunk := fh.read(1 << 22):
                    block, tail = tail + chunk, chunk[-4096:]  # a cell cut by the chunk's end: whole in the next
                    if b't="e"' not in block and b"<f" not in block and b":f" not in block:
                        continue
                    if hit := _ERROR_CELL.search(block):
                        ref = _CELL_REF.search(block, hit.start(), hit.end())
                        value = _ERROR_VALUE.match(block, hit.end())
                        shown = f" ({value.group(1).decode()})" if value else ""
                        return (f"cell holds an Excel error{shown}, which reads as blank", *_ref(ref),
                                "the answer as SurveyMonkey exported it: fix the cell or re-export")
                    if hit := _FORMULA_WITHOUT_VALUE.search(block):
                        cell = max(block.rfind(b"<c ", 0, hit.start()), block.rfind(b":c ", 0, hit.start()))
                        ref = _CELL_REF.search(block, cell, hit.end())
                        return ("cell holds a formula without a stored result (the workbook was written by a "
                                "program and never saved in Excel), which reads as blank", *_ref(ref),
                                "values, not formulas: open and save the file in Excel or LibreOffice, or write values")
    except (zipfile.BadZipFile, KeyError, OSError, zlib.error):
        return None  # the readers say what is wrong with the file
    return None


_ERROR_VALUE = re.compile(rb"(?:<(?:\w+:)?f\b[^>]*>[^<]*</(?:\w+:)?f>)?\s*<(?:\w+:)?v>([^<]*)<")


def _ref(ref: re.Match | None) -> tuple[str | None, int | None]:
    return (ref.group(1).decode(), int(ref.group(2))) if ref else (None, None)


def _scan_soon(raw: bytes, index: int | None):
    """Start the scan beside the read (zlib releases the GIL): it then costs no time."""
    if index is None:
        return None
    return index, _thread_pool("agii-scan", 1).submit(_cell_problem, raw, index)


def _check_cells(raw: bytes, index: int, scan, where: _Where) -> None:
    problem = scan[1].result() if scan is not None and scan[0] == index else _cell_problem(raw, index)
    if problem is not None:
        text, column, row, expected = problem
        raise where.error(text, column=column, row=row, expected=expected)


def _sheet_index(names: list[str], sheet: str | int | None) -> int | None:
    """The position of the sheet the fast path reads: the one asked for, or the only one."""
    if sheet is None:
        return 0 if len(names) == 1 else None
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        return sheet if 0 <= sheet < len(names) else None
    return names.index(sheet) if sheet in names else None


def _sheet_names(raw: bytes) -> list[str]:
    """The sheet names in workbook order, from workbook.xml (none if it cannot be read)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            return [html.unescape(m.decode("utf-8")) for m in
                    re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"', zf.read("xl/workbook.xml"))]
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, zlib.error):
        return []


# --------------------------------------------------------------------------- columns

_POOLS: dict = {}


def _thread_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """This process's pool of that name: one per process, as a forked child's copy of
    its parent's pool would have no threads behind it."""
    key = (os.getpid(), name)
    if key not in _POOLS:
        for stale in [k for k in _POOLS if k[0] != os.getpid()]:
            del _POOLS[stale]
        _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix=name)
    return _POOLS[key]


def _pmap(fn, items) -> list:
    """map() over Arrow work on two threads (Arrow's kernels release the GIL)."""
    items = list(items)
    if len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [fn(x) for x in items]
    return list(_thread_pool("agii-read", 2).map(fn, items))



def _clean(column) -> pa.Array:
    """A column as stripped text with blanks as nulls (one Arrow pass, no Python objects)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    column = pc.utf8_trim_whitespace(column)
    blank = pc.equal(column, "")
    if pc.any(blank).as_py():  # empty or white space only (CSV empties are nulls already)
        column = pc.if_else(blank, pa.scalar(None, pa.string()), column)
    return column


def _columns_of_rows(rows: list[list]) -> list[pa.Array]:
    """The slow paths' cell grid (typed Python values) as text columns, like the fast paths."""
    return [pa.array([_text(v) for v in cells], type=pa.string())
            for cells in itertools.zip_longest(*rows)]


def _valid(column: pa.Array) -> np.ndarray:
    return column.is_valid().to_numpy(zero_copy_only=False)


def _str_series(column: pa.Array) -> pd.Series:
    """A text column as pandas' own string dtype ("str": Arrow-backed, NaN when blank)."""
    return pd.Series(pd.array(column, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


def _objects(column: pa.Array) -> np.ndarray:
    """Python strings (None when blank), for the few columns that need them."""
    return column.to_numpy(zero_copy_only=False)


# --------------------------------------------------------------------------- dates

def _parse_dates(values: pa.Array, rows: np.ndarray, index: int, name: str,
                 where: _Where, warnings: list[str] | None = None) -> pd.Series:
    """Dates of one text column, vectorised per format; blank -> NaT. A column in more
    than one form (texts and date cells) is read, with a warning: that is what a
    re-save under another locale leaves, with day and month swapped where it could."""
    column = _col(index, name)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")

    def fail(pos: int, what: str) -> AgiiError:
        return where.error(f"cannot read {what} as a date", column=column, row=int(rows[pos]),
                           expected=_DATE_EXPECTED)

    pending = np.flatnonzero(_valid(values))
    serial, numbers_checked = np.zeros(0, dtype=np.int64), False
    formats = list(_DATE_FORMATS)
    while len(pending):
        # the format of the first unparsed cell is tried on all of them: one pass per format in use
        first = values[int(pending[0])].as_py()
        if not numbers_checked and _NUMBER_TEXT.match(first):  # Excel serial numbers, set aside once
            # (no date format matches a plain number, so this can wait for the first one)
            numeric = pc.match_substring_regex(values.take(pa.array(pending)), _NUMBER_TEXT.pattern)
            numeric = numeric.to_numpy(zero_copy_only=False)
            serial, pending, numbers_checked = pending[numeric], pending[~numeric], True
            continue
        fmt = next((f for f in formats if _parses(first, f)), None)
        if fmt is None:
            raise fail(int(pending[0]), _short(first))
        formats.remove(fmt)
        parsed = _strptime(values if len(pending) == len(values) else values.take(pa.array(pending)), fmt)
        ok = ~np.isnat(parsed)
        out[pending[ok]] = parsed[ok]
        pending = pending[~ok]

    early = np.flatnonzero(out < np.datetime64("1900-01-01"))  # NaT compares False
    if len(early):  # a time of day without a date (fastexcel puts it on 1899-12-31)
        raise fail(int(early[0]), _short(values[int(early[0])].as_py()))

    if len(serial):
        texts = pd.Series(_objects(values.take(pa.array(serial))), index=serial)
        numbers = pd.to_numeric(texts.str.replace(",", ".", regex=False))
        bad = numbers[(numbers < 1) | (numbers >= _SERIAL_MAX)]
        if not bad.empty:
            raise fail(int(bad.index[0]), f"the number {texts[bad.index[0]]}")
        stamps = pd.to_datetime(numbers, unit="D", origin=_EXCEL_EPOCH).dt.round("s")
        out[serial] = stamps.to_numpy().astype("datetime64[us]")
    used = list(dict.fromkeys(  # the forms: date cells (read as ISO text), month/day texts, serial numbers
        ["date cells" if f.startswith("%Y") else "month/day/year texts" for f in _DATE_FORMATS if f not in formats]
        + (["Excel date numbers"] if len(serial) else [])))
    if warnings is not None and len(used) > 1:
        warnings.append(f"column {column} holds dates in {len(used)} forms ({'; '.join(used)}): a workbook saved "
                        "again under another language setting can have swapped day and month in some of them; "
                        "check the dates, or re-export from SurveyMonkey")
    return pd.Series(out, dtype="datetime64[us]")


_DIRECTIVES = {"%m": r"\d{1,2}", "%d": r"(?P<day>\d{1,2})", "%Y": r"\d{4}", "%y": r"\d{2}",
               "%H": r"\d{1,2}", "%I": r"\d{1,2}", "%M": r"\d{1,2}", "%S": r"\d{1,2}",
               "%p": r"(?:[AaPp][Mm])", "%f": r"\d{1,6}"}


@functools.lru_cache(maxsize=None)
def _shape(fmt: str) -> str:
    """A regular expression for the cells Python's strptime takes in this format (day captured)."""
    parts = re.split(r"(%.)", fmt)
    return "^" + "".join(_DIRECTIVES[p] if p in _DIRECTIVES else
                         re.escape(p).replace(r"\ ", r"\s+").replace(" ", r"\s+") for p in parts if p) + "$"


def _strptime(texts: pa.Array, fmt: str) -> np.ndarray:
    """Cells in one format as datetime64[us] (NaT where they are not), rounded to seconds.

    Arrow parses (fast); a cell counts only when it also has the shape Python's strptime
    accepts and its day of month survived (Arrow rolls 02/30 over into March, Python
    refuses it). Fractions of a second (%f) go through pandas.
    """
    if "%f" in fmt:
        parsed = pd.to_datetime(pd.Series(_objects(texts), dtype=object), format=fmt, errors="coerce")
        return parsed.dt.round("s").to_numpy().astype("datetime64[us]")
    stamps = pc.strptime(texts, format=fmt, unit="s", error_is_null=True)
    out = stamps.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False, writable=True)
    shaped = pc.fill_null(pc.match_substring_regex(texts, _shape(fmt)), False).to_numpy(zero_copy_only=False)
    out[~shaped] = np.datetime64("NaT")
    # a rolled-over day lands on day 1-3 of the next month: only those are checked
    maybe = np.flatnonzero(pc.fill_null(pc.less_equal(pc.day(stamps), 3), False).to_numpy(zero_copy_only=False) & shaped)
    if len(maybe):
        written = pc.struct_field(pc.extract_regex(texts.take(pa.array(maybe)), _shape(fmt)), "day")
        rolled = pc.not_equal(pc.cast(written, pa.int64()), pc.day(stamps.take(pa.array(maybe))))
        out[maybe[pc.fill_null(rolled, True).to_numpy(zero_copy_only=False)]] = np.datetime64("NaT")
    return out


def _parses(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- ids

def _respondent_ids(values: pa.Array, rows: np.ndarray, column: str, where: _Where,
                    warnings: list[str]) -> pa.Array:
    """Ids as strings; Excel-rounded ones (1.14628E+11) made unique with `~r<row>`."""
    if values.null_count:
        pos = int(np.flatnonzero(~_valid(values))[0])
        raise where.error("respondent id is blank", column=column, row=int(rows[pos]),
                          expected="a respondent id in every respondent row")
    ids, rounded = values, np.zeros(0, dtype=np.int64)
    if pc.any(pc.match_substring(values, ".")).as_py():  # a substring search first: regexes cost
        ids = pc.replace_substring_regex(values, _INT_FLOAT_TEXT.pattern, r"\1")
    if pc.any(pc.match_substring(values, "e", ignore_case=True)).as_py():
        rounded = np.flatnonzero(pc.match_substring_regex(values, _E_NOTATION.pattern)
                                 .to_numpy(zero_copy_only=False))
    if len(rounded):
        texts = _objects(ids)
        for pos in rounded:
            texts[pos] = f"{texts[pos]}~r{rows[pos]}"
        ids = pa.array(texts, type=pa.string())
        row, example = int(rows[rounded[0]]), texts[rounded[0]].split("~r")[0]
        warnings.append(
            f"{len(rounded)} respondent id(s) in column {column} were rounded by Excel "
            f"(e.g. {example} in row {row}); they were kept as '<id>~r<row>', so duplicates "
            f"cannot be detected for them: re-export from SurveyMonkey or format the column "
            f"as text before saving"
        )
    return ids


# --------------------------------------------------------------------------- grid

def _build(grid: list[pa.Array], where: _Where,
           warnings: list[str]) -> tuple[pd.DataFrame, dict[str, pa.Array], list[ExportColumn], list[str]]:
    """Turn the text columns (row 1 = position 0) into meta, cells, columns and dropped."""
    nrows = len(grid[0]) if grid else 0
    valid = [_valid(c) for c in grid]
    filled = np.zeros(nrows, dtype=bool)
    for v in valid:
        filled |= v
    filled_at = np.flatnonzero(filled)
    if not len(filled_at):
        raise where.error("has no rows (the export is empty)",
                          expected="two header rows and one row per respondent")
    if len(filled_at) == 1 and filled_at[0] == 0:
        raise where.error("has only one header row and no respondents",
                          expected="two header rows (question text, then Response/option labels) "
                                   "and one row per respondent")
    r1 = [c[0].as_py() for c in grid]
    r2 = [c[1].as_py() if nrows > 1 else None for c in grid]
    width = 1 + max((j for r in (r1, r2) for j, v in enumerate(r) if not _blank(v)), default=0)
    h1 = [_clean_header(v) for v in r1[:width]]
    # Row 2 only stripped: option labels must stay equal to the cells that repeat them.
    h2 = [v or "" for v in r2[:width]]

    # Header checks, most telling first.
    if not any(h1) and any(h2):
        first = next(j for j, v in enumerate(h2) if v)
        starts = f"{column_letter(first)}2"
        raise where.error(
            f"row 1 is empty: the export starts at {starts}", column="A", row=1,
            expected=f"the two header rows in rows 1 and 2 ({_RESPONDENT_HEADERS} in A1); delete the empty row"
                     + (" and the empty columns before the export" if first else ""),
        )
    if _meta_role(h2[0]) == "respondent_id" and h1[0] and not any(_norm(v) in _SUB_LABELS for v in h1):
        # swapped header rows leave A1 blank (row 2 is blank under the metadata)
        raise where.error(
            f"the export starts in row 2 ({_short(h2[0])} in A2): row 1 holds something else ({_short(h1[0])})",
            column="A", row=1,
            expected=f"the two header rows in rows 1 and 2 ({_RESPONDENT_HEADERS} in A1): delete the row(s) above",
        )
    if _meta_role(h2[0]) == "respondent_id" or (
        not h1[0] and any(_norm(v) in _SUB_LABELS for v in h1)
    ):
        raise where.error(
            "the two header rows are swapped: row 1 holds the answer labels (Response, …) "
            "and row 2 the question texts",
            row=1,
            expected=f"row 1 with {_RESPONDENT_HEADERS} in A1 and the question texts, row 2 "
                     "blank under the metadata and Response/option labels under the questions",
        )
    if not h1[0]:
        raise where.error("not a SurveyMonkey export: cell A1 is empty", column="A", row=1,
                          expected=f"{_RESPONDENT_HEADERS} in A1")
    if h1[0].startswith("ï»¿"):
        raise where.error("cell A1 starts with ï»¿: the file was opened or saved with the wrong encoding "
                          "(UTF-8 read as Windows-1252)", column="A", row=1,
                          expected="the export as SurveyMonkey wrote it, or opened as UTF-8 (e.g. LibreOffice: "
                                   "character set Unicode (UTF-8); Excel: Data > From Text/CSV, 65001: Unicode (UTF-8))")
    if _meta_role(h1[0]) != "respondent_id":
        raise where.error(f"not a SurveyMonkey export: cell A1 holds {_short(h1[0])}",
                          column="A", row=1, expected=f"{_RESPONDENT_HEADERS} in A1")
    if h2[0]:
        if re.fullmatch(r"[0-9][0-9.,eE+]*", h2[0]):
            raise where.error(
                "has only one header row: row 2 already holds a respondent", column="A", row=2,
                expected="the two header rows of a SurveyMonkey export (question text, then "
                         "Response/option labels)",
            )
        raise where.error(
            f"row 2 is not blank under {_short(h1[0])} (it holds {_short(h2[0])})",
            column=_col(0, h1[0]), row=2, expected="row 2 blank under the metadata columns, as in a SurveyMonkey export",
        )

    lead_end = 0
    while lead_end < width and not h2[lead_end]:
        lead_end += 1
    if lead_end == width:
        raise where.error("has no question columns: row 2 is blank in every column", row=2,
                          expected="Response/option labels in row 2 under the questions")
    trail_start = width
    while not h2[trail_start - 1]:
        trail_start -= 1

    body = filled_at[filled_at >= 2]
    if not len(body):
        raise where.error("has no respondents: only the two header rows",
                          expected="one row per respondent after the two header rows")
    rows = body + 1
    first_extra = None  # (body position, column) of the first cell right of the header
    for j in range(width, len(grid)):
        hits = np.flatnonzero(valid[j][body])
        if len(hits) and (first_extra is None or hits[0] < first_extra[0]):
            first_extra = (hits[0], j)
    if first_extra is not None:
        raise where.error(
            f"row has more cells than the header ({width} columns, up to "
            f"{column_letter(width - 1)})",
            column=column_letter(first_extra[1]), row=int(rows[first_extra[0]]),
            expected="no cells right of the last header column",
        )

    contiguous = len(body) == nrows - 2  # no blank rows between respondents: slice, don't copy
    taken = pa.array(body)

    def cells(j: int) -> pa.Array:
        return grid[j].slice(2) if contiguous else grid[j].take(taken)

    # Metadata columns: roles kept, everything else dropped without copying its cells.
    roles: dict[str, int] = {}
    dropped: list[str] = []
    for j in [*range(lead_end), *range(trail_start, width)]:
        name = h1[j]
        if not name:
            if valid[j][body].any():
                raise where.error("column has no header in row 1 or 2 but holds data",
                                  column=column_letter(j), row=1,
                                  expected="a metadata name in row 1 or a label in row 2")
            continue
        role = _meta_role(name)
        if role is None:
            dropped.append(name)
        elif role in roles:
            raise where.error(
                f"repeats the {role} column already in column {column_letter(roles[role])}",
                column=_col(j, name), row=1, expected="each metadata column once",
            )
        else:
            roles[role] = j

    # Question columns: row 2 must be filled; metadata names here mean a shifted row 2.
    columns: list[ExportColumn] = []
    seen: set[str] = set()
    question = ""
    for j in range(lead_end, trail_start):
        if not h2[j]:
            raise where.error(
                "row 2 is blank inside the question columns", column=_col(j, h1[j] or question),
                row=2, expected="a label in row 2 (Response, Open-Ended Response, an option) "
                                "under every question column",
            )
        if h1[j]:
            if (_meta_role(h1[j]) not in (None, "language")) or _PRIVATE.match(_norm(h1[j])):
                raise where.error(
                    f"row 2 is not blank under metadata column {_short(h1[j])} "
                    f"(it holds {_short(h2[j])})",
                    column=_col(j, h1[j]), row=2,
                    expected="row 2 blank under the metadata columns",
                )
            question = h1[j]
        elif not question:
            raise where.error("column has a label in row 2 but no question text in row 1 before it",
                              column=column_letter(j), row=1,
                              expected="the question text in row 1 above its first column")
        key = base = f"{question} | {h2[j]}"
        n = 1
        while key in seen:
            n += 1
            key = f"{base} #{n}"
        seen.add(key)
        columns.append(ExportColumn(j, column_letter(j), question, h2[j], key))

    def text_cells(role: str) -> pa.Array:
        return cells(roles[role]) if role in roles else pa.nulls(len(rows), pa.string())

    def dates(role: str) -> pd.Series:
        if role not in roles:
            return pd.Series(pd.NaT, index=range(len(rows)), dtype="datetime64[us]")
        j = roles[role]
        return _parse_dates(cells(j), rows, j, h1[j], where, warnings)

    rid = roles["respondent_id"]
    ids = _respondent_ids(cells(rid), rows, _col(rid, h1[rid]), where, warnings)
    start, end = _pmap(dates, ("start", "end"))
    meta = pd.DataFrame({
        "respondent_id": _str_series(ids),
        "collector_id": _str_series(pc.replace_substring_regex(  # 402093355.0: a number Excel stored as float
            text_cells("collector_id"), _INT_FLOAT_TEXT.pattern, r"\1")),
        "start": start,
        "end": end,
        "language": _str_series(text_cells("language")),
        "row": pd.Series(rows, dtype="int64"),
    })
    return meta, {c.key: cells(c.position) for c in columns}, columns, dropped



# --------------------------------------------------------------------------- API

def read_export(path: str | Path, sheet: str | int | None = None) -> RawExport:
    """Read one SurveyMonkey export; the file type is judged by content, not name."""
    path = Path(path)
    where = _Where(path)
    try:
        return _read(path, sheet, where)
    except AgiiError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # never a raw library traceback for a bad input
        raise where.error(f"cannot be read ({type(exc).__name__}: {exc})") from exc


def _read(path: Path, sheet: str | int | None, where: _Where) -> RawExport:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise where.error("file not found") from exc
    except IsADirectoryError as exc:
        raise where.error("is a folder, not a file", expected="an XLSX or CSV export") from exc
    except PermissionError as exc:
        raise where.error(
            "cannot be opened (permission denied; is it open in another program?)"
        ) from exc
    if not raw:
        raise where.error("is empty (0 bytes)", expected="an XLSX or CSV export from SurveyMonkey")
    warnings: list[str] = []
    suffix = path.suffix.lower()
    is_zip = raw.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"))
    is_ole = raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if is_zip or is_ole:
        if suffix == ".csv":
            warnings.append(f"{path.name} is named .csv but is a workbook: read as XLSX")
        grid, sheet_name, unread = _read_xlsx(raw, sheet, where, is_zip)
        encoding = None
        if unread:
            warnings.append(unread_sheets_warning(unread, sheet_name))
    else:
        if sheet is not None:
            raise where.error(f"is a CSV file, which has no sheets (asked for sheet {sheet!r})")
        if suffix in (".xlsx", ".xlsm", ".xls"):
            warnings.append(f"{path.name} is named {suffix} but holds CSV text: read as CSV")
        grid, encoding = _read_csv(raw, where)
        sheet_name, unread = None, []
        if encoding.startswith("utf-8"):
            warnings.extend(_control_characters(raw))
    del raw
    meta, cells, columns, dropped = _build(grid, where, warnings)
    return RawExport(path=path, sheet=sheet_name, encoding=encoding, meta=meta, cells=cells,
                     columns=columns, dropped=dropped, warnings=warnings, unread_sheets=tuple(unread))


def read_exports(paths: str | Path | Iterable[str | Path]) -> list[RawExport]:
    """Read several exports; a folder stands for the .xlsx and .csv files in it."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f for f in p.iterdir()
                if f.is_file() and f.suffix.lower() in (".xlsx", ".csv")
                and not f.name.startswith(("~$", "."))
            )
            if not found:
                raise AgiiError("folder holds no .xlsx or .csv export", file=p)
            files += found
        else:
            files.append(p)
    return [read_export(f) for f in files]
