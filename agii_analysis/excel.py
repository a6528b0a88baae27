"""Accessible statistical workbooks (UK Government Analysis Function guidance
"Releasing statistics in spreadsheets"), in Dutch.

Layout of every workbook: a cover sheet (``Voorblad``), a contents sheet (``Inhoud``)
with a link to every sheet, a notes sheet (``Toelichting``, markers ``[note 1]``),
then one table per sheet: title in A1, description in A2, a line with the shorthand
used, the header row and the data, marked up as an Excel table. A cell holds a number
or a shorthand (``[c]``, ``[x]``, ``[z]``, ``[b]``), never a symbol or a blank.

The writer only formats: it never computes a figure. Text is always stored as text
(never as a formula) and the file is byte-identical for the same input and
``doc_date``, so a rerun can be diffed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import _writer as _cell_writer
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat.strings import safe_string as _safe_string
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table as XlTable
from openpyxl.worksheet.table import TableStyleInfo
from openpyxl.writer.excel import ExcelWriter

__all__ = ["Column", "Cover", "Note", "Table", "SHORTHAND", "FORMATS", "write_workbook", "safe_text"]

LANGUAGE = "nl-BE"
COVER_SHEET, CONTENTS_SHEET, NOTES_SHEET = "Voorblad", "Inhoud", "Toelichting"

#: The shorthand of the guidance, explained in Dutch (a note is added when one is used).
SHORTHAND = {
    "[b]": "Breuk in de reeks: het cijfer staat er, maar is niet rechtstreeks vergelijkbaar met de vorige meting.",
    "[c]": "Afgeschermd: de groep is te klein, of het cijfer rust op te weinig antwoorden, om het te tonen zonder "
           "de privacy van de respondenten te schaden.",
    "[x]": "Niet beschikbaar.",
    "[z]": "Niet van toepassing.",
}
SHORTHAND_SHORT = {"[b]": "breuk in de reeks", "[c]": "afgeschermd (kleine groep of te weinig antwoorden)",
                   "[x]": "niet beschikbaar", "[z]": "niet van toepassing"}

#: Number format per column kind. Percentages are fractions (0.95 -> 95%).
FORMATS = {
    "text": "@",
    "count": "#,##0",
    "pct": "0%",
    "pct1": "0.0%",
    "points": "0",
    "signed": "+0;-0;0",
    "number": None,  # 0.0 by default, see Column.decimals
    "date": "yyyy-mm-dd",
    "general": "General",
}
NUMERIC_KINDS = {"count", "pct", "pct1", "points", "signed", "number"}

_FORBIDDEN_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN = re.compile(r"\[note \d+\]|\S+")
_CELL_REF = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc]?[0-9]*|[Rr]|[Cc])$")
_RISKY_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_LINE_HEIGHT = 15.0  # points per line of the default 11 pt font
_MAX_WIDTH, _MIN_WIDTH = 60.0, 8.0
_COVER_WIDTH = 68.0  # fits A4 portrait unscaled, even with a wide fallback font (LibreOffice does not scale one-column sheets)
_PORTRAIT_WIDTH = 100.0  # total column width (characters) that still fits A4 portrait
_STYLE = TableStyleInfo(name="TableStyleMedium2", showFirstColumn=False, showLastColumn=False,
                        showRowStripes=True, showColumnStripes=False)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top", horizontal="left")
_NUM_TOP = Alignment(wrap_text=True, vertical="top", horizontal="right", indent=1)  # a gap before the next column
_HEADER = Alignment(wrap_text=True, vertical="top", horizontal="left")
_HEADER_NUM = Alignment(wrap_text=True, vertical="top", horizontal="right", indent=1)


@dataclass(frozen=True)
class Column:
    """One column of a table: DataFrame key, Dutch header, format kind, notes referenced.

    ``missing`` is the shorthand written for a NaN/None cell (the caller writes ``[c]``
    itself where a group was suppressed, so the reason of each gap stays explicit).
    """

    key: str
    header: str
    kind: str = "text"
    notes: tuple[str, ...] = ()
    decimals: int | None = None
    missing: str = "[x]"
    width: float | None = None

    def number_format(self) -> str:
        if self.kind == "number":
            d = 1 if self.decimals is None else self.decimals
            return "0" if d == 0 else "0." + "0" * d
        return FORMATS[self.kind]


@dataclass
class Table:
    """One statistical table, written on its own sheet."""

    sheet: str
    name: str  # Excel table name: letters, digits, underscores
    title: str
    description: str
    data: pd.DataFrame
    columns: list[Column]
    notes: tuple[str, ...] = ()  # notes that apply to the whole table (marked in the title)
    empty_text: str = "Geen gegevens"  # first cell of the single row written for an empty table


@dataclass(frozen=True)
class Note:
    """A note; ``key`` is how tables refer to it, the number is given by its position.

    A note whose key is a shorthand (``"[c]"``) replaces the default explanation and is
    only written when that shorthand occurs in the workbook.
    """

    key: str
    text: str


@dataclass
class Cover:
    """What a reader needs before the tables: what, when, where from, who to ask."""

    title: str
    survey: str
    period: str
    source: str
    invitation: str
    contact: str
    data_date: dt.date
    summary: str = ""
    subject: str = ""
    creator: str = "Agentschap Integratie en Inburgering"
    sections: tuple[tuple[str, str], ...] = ()  # further (heading, text) blocks
    warning: str = ""  # shown first, under the title (e.g. demo data)


# ------------------------------------------------------------------ text safety

def safe_text(value) -> str:
    """A string Excel accepts: control characters other than tab/newline removed.

    Carriage returns become newlines: XML would silently do so on reading anyway,
    and this way a reloaded workbook holds exactly what was written.
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _put_text(cell, value) -> None:
    """Store text as text: never a formula, even when it starts with = + - @ tab CR."""
    text = safe_text(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl turns "=..." into a formula otherwise
    if text.startswith(_RISKY_START):
        cell.quotePrefix = True  # Excel keeps it text when the cell is edited


def _is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return isinstance(v, (float, np.floating)) and math.isnan(v)
    except TypeError:
        return False


def _number(v, where: str):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{where}: boolean {v!r} in a numeric column (write Ja/Nee as text)")
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        if math.isinf(v):
            raise ValueError(f"{where}: infinite value")
        # pandas turns whole numbers into floats next to a NaN: store 81.0 as 81 (same value)
        return int(v) if float(v).is_integer() and abs(v) < 2 ** 53 else float(v)
    if isinstance(v, str) and v in SHORTHAND:
        return v
    raise TypeError(f"{where}: {v!r} is neither a number nor a shorthand {sorted(SHORTHAND)}")


def _date(v, where: str):
    if isinstance(v, str) and v in SHORTHAND:
        return v
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.date):
        return v
    raise TypeError(f"{where}: {v!r} is not a date")


# ------------------------------------------------------------------ validation

def _check_sheet_name(name: str, seen: set[str]) -> None:
    if not name or len(name) > 31:
        raise ValueError(f"sheet name {name!r}: 1 to 31 characters")
    if _FORBIDDEN_SHEET_CHARS.search(name) or name.startswith("'") or name.endswith("'"):
        raise ValueError(f"sheet name {name!r}: no [ ] : * ? / \\ and no leading or trailing apostrophe")
    if name.lower() == "history" or name.lower() in seen:
        raise ValueError(f"sheet name {name!r} is reserved or used twice")
    seen.add(name.lower())


def _check_table_name(name: str, seen: set[str]) -> None:
    if not _TABLE_NAME.match(name) or _CELL_REF.match(name) or len(name) > 255:
        raise ValueError(f"table name {name!r}: letters, digits and underscores, not a cell reference")
    if name.lower() in seen:
        raise ValueError(f"table name {name!r} used twice")
    seen.add(name.lower())


def _header_texts(table: Table, numbers: dict[str, int]) -> list[str]:
    headers = []
    for c in table.columns:
        marks = "".join(f" [note {numbers[k]}]" for k in c.notes)
        headers.append(f"{c.header}{marks}")
    lowered = [h.lower() for h in headers]
    if len(set(lowered)) != len(lowered) or any(not h.strip() for h in headers):
        raise ValueError(f"table {table.name}: column headers must be non-empty and unique")
    return headers


# ------------------------------------------------------------------ cell values

def _cells(table: Table) -> list[list]:
    """The table's values as written: numbers, dates, text or shorthand."""
    missing_cols = [c.key for c in table.columns if c.key not in table.data.columns]
    if len(table.data) == 0:
        first = table.columns[0]
        row = [table.empty_text if first.kind in ("text", "general") else "[z]"]
        return [row + ["[z]"] * (len(table.columns) - 1)]
    if missing_cols:
        raise KeyError(f"table {table.name}: no column {missing_cols[0]!r} in the data")
    for c in table.columns:
        if c.kind not in FORMATS:
            raise ValueError(f"table {table.name}, column {c.key}: unknown kind {c.kind!r}")
        if c.missing not in SHORTHAND:
            raise ValueError(f"table {table.name}, column {c.key}: missing must be one of {sorted(SHORTHAND)}")
    rows = []
    for i, rec in enumerate(table.data[[c.key for c in table.columns]].itertuples(index=False, name=None)):
        out = []
        for c, v in zip(table.columns, rec):
            where = f"table {table.name}, row {i + 1}, column {c.key}"
            if _is_missing(v):
                out.append(c.missing)
            elif c.kind in NUMERIC_KINDS:
                out.append(_number(v, where))
            elif c.kind == "date":
                out.append(_date(v, where))
            elif c.kind == "general":
                out.append(v if isinstance(v, str) else _number(v, where))
            else:
                if isinstance(v, (bool, np.bool_)):
                    raise TypeError(f"{where}: boolean {v!r} in a text column (write Ja/Nee)")
                out.append(str(v))
        rows.append(out)
    return rows


def _display(v, column: Column) -> str:
    """Approximate text Excel shows, to size the column."""
    if isinstance(v, str):
        return v
    if isinstance(v, (dt.date, dt.datetime)):
        return "2000-01-01"
    if column.kind in ("pct", "pct1"):
        return f"{100 * v:.1f}%"
    if column.kind == "count":
        return f"{v:,.0f}"
    if column.kind in ("points", "signed"):
        return f"{v:+.0f}"
    if column.kind == "number":
        return f"{v:.{1 if column.decimals is None else column.decimals}f}"
    return f"{v}"


def _lines(text: str, width: float) -> int:
    chars = max(1, int(width) - 1)
    return sum(max(1, len(textwrap.wrap(part, chars, break_long_words=True))) for part in text.split("\n"))


def _width(header: str, values: list[str], fixed: float | None) -> float:
    if fixed:
        return fixed
    words = max((len(w) for w in _TOKEN.findall(header)), default=0)  # "[note 7]" never splits
    head = max(words, math.ceil(len(header) / 3) + 3)  # at most ~3 header lines, with slack for wider fonts
    body = max((max((len(p) for p in v.split("\n")), default=0) for v in values), default=0)
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, head, body) + 2))


# ------------------------------------------------------------------ sheets

def _page_setup(ws, header_row: int | None, total_width: float) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if total_width > _PORTRAIT_WIDTH else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"


def _select_a1(ws, selected: bool) -> None:
    view = ws.sheet_view
    view.tabSelected = selected
    view.topLeftCell = "A1"
    sel = view.selection[0]
    sel.activeCell = "A1"
    sel.sqref = "A1"


def _title(ws, text: str) -> None:
    cell = ws.cell(row=1, column=1)
    _put_text(cell, text)
    cell.style = "Headline 1"  # Excel's "Heading 1": screen readers find the title
    ws.row_dimensions[1].height = 21


def _line(ws, row: int, text: str, link: str | None = None) -> None:
    cell = ws.cell(row=row, column=1)
    _put_text(cell, text)
    if link:
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=link, display=text)
        cell.style = "Hyperlink"


def _link_target(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!A1"


def _write_grid(ws, first_row: int, headers: list[str], columns: list[Column], rows: list[list],
                xl_name: str, links: dict[int, str] | None = None) -> float:
    """Header + data from ``first_row``, marked up as an Excel table; returns total width."""
    widths = []
    for j, (head, col) in enumerate(zip(headers, columns)):
        widths.append(_width(head, [_display(r[j], col) for r in rows], col.width))
    for j, (head, col, w) in enumerate(zip(headers, columns, widths), start=1):
        cell = ws.cell(row=first_row, column=j)
        _put_text(cell, head)
        cell.alignment = _HEADER_NUM if col.kind in NUMERIC_KINDS else _HEADER
        ws.column_dimensions[get_column_letter(j)].width = w
    head_lines = max(_lines(h, w) for h, w in zip(headers, widths))
    ws.row_dimensions[first_row].height = _LINE_HEIGHT * head_lines
    for i, values in enumerate(rows, start=first_row + 1):
        lines = 1
        for j, (v, col, w) in enumerate(zip(values, columns, widths), start=1):
            cell = ws.cell(row=i, column=j)
            if isinstance(v, str):
                _put_text(cell, v)
                lines = max(lines, _lines(v, w))
            else:
                cell.value = v
            cell.number_format = "@" if isinstance(v, str) else col.number_format()
            cell.alignment = _NUM_TOP if col.kind in NUMERIC_KINDS else _WRAP_TOP
            if links and j == 1 and i - first_row - 1 in links:
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=links[i - first_row - 1], display=v)
                cell.font = Font(color="0563C1", underline="single")
        if lines > 1:
            ws.row_dimensions[i].height = _LINE_HEIGHT * lines
    last = f"{get_column_letter(len(columns))}{first_row + len(rows)}"
    xl = XlTable(displayName=xl_name, ref=f"A{first_row}:{last}", tableStyleInfo=_STYLE)
    ws.add_table(xl)
    return sum(widths)


def _shorthand_used(rows: list[list]) -> list[str]:
    found = {v for r in rows for v in r if isinstance(v, str) and v in SHORTHAND}
    return [s for s in SHORTHAND if s in found]


def write_workbook(path, cover: Cover, tables: list[Table], notes: list[Note], doc_date: dt.date) -> Path:
    """Write the workbook; the same arguments give the same bytes."""
    path = Path(path)
    if not tables:
        raise ValueError("a workbook needs at least one table")
    sheet_names: set[str] = set()
    for meta in (COVER_SHEET, CONTENTS_SHEET, NOTES_SHEET):
        _check_sheet_name(meta, sheet_names)
    table_names: set[str] = {"tabel_inhoud", "tabel_toelichting"}
    for t in tables:
        _check_sheet_name(t.sheet, sheet_names)
        _check_table_name(t.name, table_names)
        if not t.columns:
            raise ValueError(f"table {t.name}: no columns")

    # values first: which shorthand is used decides which notes exist
    grids = [_cells(t) for t in tables]
    used_short = [s for s in SHORTHAND if any(s in _shorthand_used(g) for g in grids)]
    given = {n.key: n for n in notes}
    if len(given) != len(notes):
        raise ValueError("note keys must be unique")
    final_notes = [n for n in notes if n.key not in SHORTHAND or n.key in used_short]
    final_notes += [Note(s, SHORTHAND[s]) for s in used_short if s not in given]
    numbers = {n.key: i for i, n in enumerate(final_notes, start=1)}
    for t in tables:
        for k in list(t.notes) + [k for c in t.columns for k in c.notes]:
            if k not in numbers:
                raise KeyError(f"table {t.name}: unknown note {k!r}")

    wb = Workbook()
    ws_cover = wb.active
    ws_cover.title = COVER_SHEET
    _write_cover(ws_cover, cover)

    # contents
    ws_toc = wb.create_sheet(CONTENTS_SHEET)
    _title(ws_toc, "Inhoud")
    _line(ws_toc, 2, "Dit werkblad bevat één tabel: de werkbladen van deze werkmap, met een link naar elk werkblad.")
    toc_rows = [[NOTES_SHEET, "Toelichting bij de tabellen (verwijzingen [note 1] en verder) en de afkortingen"]]
    toc_rows += [[t.sheet, t.title] for t in tables]
    toc_cols = [Column("sheet", "Werkblad", width=32), Column("title", "Inhoud van het werkblad")]
    w = _write_grid(ws_toc, 3, ["Werkblad", "Inhoud van het werkblad"], toc_cols, toc_rows, "tabel_inhoud",
                    links={i: _link_target(r[0]) for i, r in enumerate(toc_rows)})
    _page_setup(ws_toc, 3, w)

    # notes
    ws_notes = wb.create_sheet(NOTES_SHEET)
    _title(ws_notes, "Toelichting")
    _line(ws_notes, 2, "Dit werkblad bevat één tabel: de toelichting waarnaar de tabellen verwijzen met [note 1], "
                       "[note 2] enzovoort, en de uitleg van de afkortingen. Eenheden: een kolom Aandeel, Percentage of "
                       "Responsgraad, en de intervalgrenzen naast een Aandeel, bevat een fractie, opgemaakt als "
                       "percentage (de waarde 0,399 toont 39,9 %); een kolom % (heel) tevreden, een Schatting en de "
                       "intervalgrenzen ernaast bevatten procenten of NPS-punten (81,1 is 81,1 %): vermenigvuldig "
                       "een fractie met 100 om ze te vergelijken.")
    where: dict[str, list[str]] = {n.key: [] for n in final_notes}
    for t, g in zip(tables, grids):
        keys = list(t.notes) + [k for c in t.columns for k in c.notes] + _shorthand_used(g)
        for k in dict.fromkeys(keys):
            if k in where:
                where[k].append(t.sheet)
    note_rows = [[f"[note {numbers[n.key]}]", n.text, ", ".join(where[n.key]) or "Hele werkmap"]
                 for n in final_notes]
    note_cols = [Column("nr", "Nummer", width=12), Column("text", "Toelichting", width=_MAX_WIDTH + 20),
                 Column("where", "Werkbladen", width=40)]
    if not note_rows:
        note_rows = [["[z]", "Geen toelichting.", "[z]"]]
    w = _write_grid(ws_notes, 3, ["Nummer", "Toelichting", "Werkbladen"], note_cols, note_rows, "tabel_toelichting")
    _page_setup(ws_notes, 3, w)

    # tables
    for t, rows in zip(tables, grids):
        ws = wb.create_sheet(t.sheet)
        marks = "".join(f" [note {numbers[k]}]" for k in t.notes)
        _title(ws, t.title + marks)
        _line(ws, 2, t.description)
        short = _shorthand_used(rows)
        if short:
            listed = "; ".join(f"{s} = {SHORTHAND_SHORT[s]} [note {numbers[s]}]" for s in short)
            text = f"Dit werkblad bevat één tabel. Gebruikte afkortingen: {listed}."
        else:
            text = "Dit werkblad bevat één tabel. Er worden geen afkortingen gebruikt."
        _line(ws, 3, text)
        refs = sorted(set(t.notes) | {k for c in t.columns for k in c.notes}, key=numbers.get)
        header_row = 4
        if refs:
            nrs = ", ".join(f"[note {numbers[k]}]" for k in refs)
            _line(ws, 4, f"Toelichting bij deze tabel: {nrs}, op het werkblad Toelichting.",
                  link=_link_target(NOTES_SHEET))
            header_row = 5
        w = _write_grid(ws, header_row, _header_texts(t, numbers), t.columns, rows, t.name)
        _page_setup(ws, header_row, w)

    for ws in wb.worksheets:
        _select_a1(ws, ws is ws_cover)
    wb.active = 0

    stamp = dt.datetime.combine(doc_date, dt.time())
    props = wb.properties
    props.title = cover.title
    props.subject = cover.subject or cover.survey
    props.creator = cover.creator
    props.lastModifiedBy = cover.creator
    props.language = LANGUAGE
    props.description = cover.summary or None
    props.created = stamp
    props.modified = stamp
    _save(wb, path, stamp)
    return path


def _write_cover(ws, cover: Cover) -> None:
    _title(ws, cover.title)
    ws.column_dimensions["A"].width = _COVER_WIDTH
    blocks = []
    if cover.warning:
        blocks.append(("Let op", cover.warning))
    if cover.summary:
        blocks.append(("Over deze werkmap", cover.summary))
    blocks += [
        ("Bevraging", cover.survey),
        ("Periode", cover.period),
        ("Bron", cover.source),
        ("Wie werd uitgenodigd", cover.invitation),
        ("Datum van de gegevens", cover.data_date.isoformat()),
        *cover.sections,
        ("Toegankelijkheid", "Elke tabel staat op een eigen werkblad, met de titel in cel A1. Het werkblad "
                             "Inhoud linkt naar elk werkblad; het werkblad Toelichting verklaart de verwijzingen "
                             "[note 1] enzovoort en de afkortingen [c], [x], [z] en [b]."),
        ("Contact", cover.contact),
    ]
    row = 2
    for head, text in blocks:
        cell = ws.cell(row=row, column=1)
        _put_text(cell, head)
        cell.style = "Headline 2"  # Excel's "Heading 2"
        ws.row_dimensions[row].height = 18
        cell = ws.cell(row=row + 1, column=1)
        _put_text(cell, text)
        cell.alignment = _WRAP_TOP
        n = _lines(safe_text(text), _COVER_WIDTH)
        if n > 1:
            ws.row_dimensions[row + 1].height = _LINE_HEIGHT * n
        row += 2
    _page_setup(ws, None, _COVER_WIDTH)
    ws.page_setup.orientation = "portrait"


def _exact_string(value):
    """Cell values as text; floats with repr, which reads back as the very same double."""
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return _safe_string(value)


def _save(wb: Workbook, path: Path, stamp: dt.datetime) -> None:
    """Save with fixed document dates and zip timestamps (openpyxl's save stamps 'now')."""
    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    original = _cell_writer.safe_string
    _cell_writer.safe_string = _exact_string  # openpyxl writes "%.16g": the last digit may change
    try:
        ExcelWriter(wb, archive).save()  # closes the archive
    finally:
        _cell_writer.safe_string = original
    when = (max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(out.getvalue())
    tmp.replace(path)
