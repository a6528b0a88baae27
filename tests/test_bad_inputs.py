"""Nothing lost, nothing leaked: a corpus of bad inputs and what the CLI says about them.

Every case builds its input in tmp_path (no committed fixtures) and runs the command a
researcher would run: `agii validate EXPORT... --survey S --year Y` for exports (a
codebook case passes its YAML file as `--survey`), `agii run --params P --reports-dir D`
for parameter files. A broken input must end in exit code 2 and exactly one stderr line
`agii: error: <file>[, sheet ...][, column ...][, row ...]: <problem> (expected ...)`,
never a traceback. A recoverable oddity (exclusion, warning) exits 0 and says so in
stdout.

The CLI runs in-process (`agii_analysis.cli.main`, with stdout/stderr captured) to keep
the corpus fast; `test_entry_point_contract` runs a sample of the cases through the
real `.venv/bin/agii` executable, and AGII_BAD_INPUTS_SUBPROCESS=1 runs all of them
that way.

Documented outcomes that are *not* errors:

- a hidden sheet next to the responses sheet is ignored;
- a workbook whose header cells were merged over a question's columns reads as usual
  (a merge in row 1 leaves the first cell's text, exactly like SurveyMonkey's blanks);
- a renamed question column is reported as unmatched (validate exits 0 and warns when
  it was the headline question); `compute`/`run` stop when the headline question is in
  none of the exports;
- a missing question column: the question is simply not matched (every row partial);
- a date outside the report year is excluded as `outside_period`;
- the same row twice (or overlapping exports) is excluded as `duplicate`;
- respondent ids rounded by Excel (1.14628E+11) are kept unique with a warning;
- a CSV named .xlsx is read by its content, with a warning;
- curly apostrophes, emoji, right-to-left text and a 10 MB open answer are fine.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import subprocess
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import openpyxl
import pytest

import yaml

from agii_analysis import cli
from agii_analysis.codebook import CODEBOOK_DIR, load_codebook
from agii_analysis.errors import AgiiError
from agii_analysis.params import load_params
from exportkit import META, VORMING, rid, vorming_answers

ROOT = Path(__file__).resolve().parents[1]
AGII = ROOT / ".venv" / "bin" / "agii"
REAL = ROOT / ".." / "shared" / "real-exports"
SUBPROCESS = os.environ.get("AGII_BAD_INPUTS_SUBPROCESS") == "1"

D22 = "03/15/2022 10:00:00 AM"
# 0-based columns of the vorming grid below (letters in messages: A, D, M, R, ...).
ID, COLLECTOR, START, END = 0, 1, 2, 3
THEMA, VORM, ORG, TEV, ASP, NPS, OPEN = 9, 10, 11, 12, 13, 17, 18


# --------------------------------------------------------------------------- builders

def grid(n: int = 3, *, end: str = D22, language: str | None = None, answers=None) -> list[list]:
    """A vorming export as a cell grid: two header rows, then n respondents (file rows 3..)."""
    head1 = list(META) + [q for q, _ in VORMING]
    head2 = [""] * len(META) + [s for _, s in VORMING]
    rows = [head1, head2]
    for i in range(n):
        values = list(answers[i]) if answers else vorming_answers(
            ("Tevreden", "Heel tevreden", "Neutraal")[i % 3], str(6 + i % 5))
        rows.append([rid(i + 1), "400000001", end, end, "", "", "", "", ""] + values)
    if language is not None:
        for i, r in enumerate(rows):
            r.insert(9, "language" if i == 0 else "" if i == 1 else language)
    return rows


def numeric_grid(positions: dict[int, str] | None = None) -> list[list]:
    """A "numerical value" export: choices as their position in the list shown."""
    rows = grid(2)
    for r in rows[2:]:
        r[THEMA:NPS + 1] = ["2", "1", "1", "4", "4", "5", "4", "4", "10"]
    for col, value in (positions or {}).items():
        rows[2][col] = value
    return rows


def write_csv(path: Path, rows, *, encoding: str = "utf-8", sep: str = ",") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, tuple[list[list], str]], merges=()) -> Path:
    """sheets: {name: (rows, 'visible' | 'hidden')}; merges: ranges merged on the first sheet."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, (rows, state) in sheets.items():
        ws = wb.create_sheet(name)
        ws.sheet_state = state
        for i, r in enumerate(rows, 1):
            for j, v in enumerate(r, 1):
                if v not in ("", None):
                    ws.cell(row=i, column=j, value=v)
    for rng in merges:
        wb.worksheets[0].merge_cells(rng)
    wb.save(path)
    return path


def xlsx(path: Path, rows, sheet: str = "Sheet1", merges=()) -> Path:
    return write_xlsx(path, {sheet: (rows, "visible")}, merges)


def codebook_file(tmp_path: Path, edit: Callable[[dict], None] | None = None, *,
                  text: str | None = None, encoding: str = "utf-8") -> Path:
    """A copy of the vorming codebook, edited (dict) or replaced (text), in tmp_path."""
    path = tmp_path / "vorming_test.yaml"
    if text is None:
        data = yaml.safe_load((CODEBOOK_DIR / "vorming.yaml").read_text(encoding="utf-8"))
        if edit:
            edit(data)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_bytes(text.encode(encoding))
    return path


def params_file(tmp_path: Path, data: dict | None = None, *, text: str | None = None,
                encoding: str = "utf-8", year: int = 2030) -> Path:
    """params/<year>/vorming.yaml under tmp_path (no previous year next to it)."""
    path = tmp_path / "params" / str(year) / "vorming.yaml"
    path.parent.mkdir(parents=True)
    if text is None:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_bytes(text.encode(encoding))
    return path


def export_2030(tmp_path: Path, n: int = 12, headline: bool = True) -> Path:
    rows = grid(n, end="03/15/2030 10:00:00 AM")
    if not headline:
        rows[0][TEV] = "Hoe tevreden bent u over het lokaal?"
    return write_csv(tmp_path / "vorming_2030.csv", rows)


# --------------------------------------------------------------------------- cases

@dataclass
class Expect:
    argv: list[str]
    file: str  # the file the error line (or stdout) must name
    code: int = 2
    err: tuple[str, ...] = ()  # substrings of the one error line
    not_err: tuple[str, ...] = ()  # advice the error line must not give
    out: tuple[str, ...] = ()  # substrings of stdout (exit 0)
    not_out: tuple[str, ...] = ()
    check: Callable[[], None] | None = None  # more in-process assertions
    max_seconds: float | None = None


CASES: dict[str, Callable[[Path], Expect]] = {}


def case(name: str):
    def register(fn):
        assert name not in CASES
        CASES[name] = fn
        return fn
    return register


def validate(*paths: Path, survey: str | Path = "vorming", year: int | None = 2022, extra=()) -> list[str]:
    argv = ["validate", *map(str, paths), "--survey", str(survey)]
    return argv + (["--year", str(year)] if year else []) + list(extra)


def run_params(path: Path, tmp_path: Path) -> list[str]:
    return ["run", "--params", str(path), "--reports-dir", str(tmp_path / "reports"),
            "--formats", "xlsx", "--no-progress"]


# ---- exports: empty, headers, not SurveyMonkey

@case("empty-csv-0-bytes")
def _(tmp_path):
    f = tmp_path / "leeg.csv"
    f.write_bytes(b"")
    return Expect(validate(f), "leeg.csv", err=("is empty (0 bytes)", "expected an XLSX or CSV export"))


@case("empty-csv-blank-lines")
def _(tmp_path):
    f = tmp_path / "blanco.csv"
    f.write_bytes(b"\r\n  \r\n,,,\r\n")
    return Expect(validate(f), "blanco.csv", err=("has no rows", "expected two header rows"))


@case("empty-xlsx-0-bytes")
def _(tmp_path):
    f = tmp_path / "leeg.xlsx"
    f.write_bytes(b"")
    return Expect(validate(f), "leeg.xlsx", err=("is empty (0 bytes)",))


@case("only-one-header-row")
def _(tmp_path):
    f = write_csv(tmp_path / "kop.csv", grid(0)[:1])
    return Expect(validate(f), "kop.csv", err=("only one header row", "expected two header rows"))


@case("only-one-header-row-then-respondents")
def _(tmp_path):
    rows = grid(2)
    f = xlsx(tmp_path / "kop.xlsx", [rows[0], *rows[2:]])
    return Expect(validate(f), "kop.xlsx",
                  err=("sheet 'Sheet1'", "column A", "row 2", "only one header row", "expected the two header rows"))


@case("header-rows-swapped")
def _(tmp_path):
    rows = grid(2)
    f = write_csv(tmp_path / "omgewisseld.csv", [rows[1], rows[0], *rows[2:]])
    return Expect(validate(f), "omgewisseld.csv", err=("row 1", "header rows are swapped", "expected row 1 with"))


@case("title-row-above-the-export")
def _(tmp_path):
    rows = grid(2)
    f = xlsx(tmp_path / "titel.xlsx", [["KTO vorming 2022"], *rows])
    return Expect(validate(f), "titel.xlsx", err=("sheet 'Sheet1'", "column A", "row 1", "the export starts in row 2",
                                                 "row 1 holds something else ('KTO vorming 2022')",
                                                 "delete the row(s) above"))


@case("csv-opened-with-the-wrong-encoding")
def _(tmp_path):
    rows = grid(2)
    rows[0][0] = "ï»¿" + rows[0][0]  # a UTF-8 byte order mark read as Windows-1252, saved again
    f = write_csv(tmp_path / "mojibake.csv", rows)
    return Expect(validate(f), "mojibake.csv", err=("column A", "row 1", "starts with ï»¿", "wrong encoding",
                                                   "opened as UTF-8"))


@case("csv-with-excel-sep-line")
def _(tmp_path):
    f = write_csv(tmp_path / "sep.csv", grid(3), sep=";")
    f.write_bytes(b"sep=;\r\n" + f.read_bytes())
    return Expect(validate(f), "sep.csv", code=0, out=("sep.csv (utf-8): 3 rows", "read 3, used 3"))


@case("csv-cut-off-inside-a-quoted-answer")
def _(tmp_path):
    rows = grid(3)
    rows[4][-1] = "De lokalen waren te koud, en de koffie was op"
    f = write_csv(tmp_path / "afgebroken.csv", rows)
    data = f.read_bytes()
    f.write_bytes(data[: data.rindex(b"koud") + 4])  # cut off after "...te koud"
    return Expect(validate(f), "afgebroken.csv", err=("row 5", "ends inside a quoted cell", "row 5 (line 5 of the file)",
                                                     "expected a complete export"))


@case("csv-quote-never-closed-early-in-a-long-file")
def _(tmp_path):
    rows = grid(3000)
    rows[5][-1] = "kapot"
    f = write_csv(tmp_path / "lang.csv", rows)
    f.write_bytes(f.read_bytes().replace(b",kapot\n", b',"kapot\n', 1))  # the closing quote lost
    return Expect(validate(f), "lang.csv", err=("row 6", "ends inside a quoted cell", "row 6 (line 6 of the file)"))


@case("empty-first-row-csv")
def _(tmp_path):
    rows = grid(2)
    f = write_csv(tmp_path / "lege_rij.csv", [[""] * len(rows[0]), *rows])
    return Expect(validate(f), "lege_rij.csv", err=("column A, row 1", "row 1 is empty: the export starts at A2",
                                                   "delete the empty row)"))


@case("empty-first-row-xlsx")
def _(tmp_path):
    f = xlsx(tmp_path / "lege_rij.xlsx", [[""] * len(grid(2)[0]), *grid(2)])
    return Expect(validate(f), "lege_rij.xlsx", err=("sheet 'Sheet1'", "row 1", "row 1 is empty: the export starts at A2"))


@case("not-a-surveymonkey-workbook")
def _(tmp_path):
    f = xlsx(tmp_path / "begroting.xlsx", [["Naam", "Bedrag"], ["Jan", 3], ["Piet", 4]], sheet="Blad1")
    return Expect(validate(f), "begroting.xlsx",
                  err=("sheet 'Blad1'", "column A", "row 1", "not a SurveyMonkey export", "'Naam'",
                       "expected 'Respondent ID'"))


@case("respondent-id-column-missing")
def _(tmp_path):
    rows = [r[1:] for r in grid(2)]
    f = write_csv(tmp_path / "zonder_id.csv", rows)
    return Expect(validate(f), "zonder_id.csv", err=("column A", "row 1", "'Collector ID'", "expected 'Respondent ID'"))


@case("old-xls-or-binary-garbage")
def _(tmp_path):
    f = tmp_path / "oud.xls"
    f.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)
    return Expect(validate(f), "oud.xls", err=("cannot be read as a spreadsheet", "expected an XLSX or CSV export"))


@case("zip-archive-not-a-workbook")
def _(tmp_path):
    import zipfile

    f = tmp_path / "export.xlsx"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("vorming_2022.csv", "Respondent ID\n")
    return Expect(validate(f), "export.xlsx", err=("is a ZIP archive", "vorming_2022.csv", "unzip it"))


@case("file-not-found")
def _(tmp_path):
    return Expect(validate(tmp_path / "bestaat_niet.csv"), "bestaat_niet.csv", err=("file not found",))


@case("export-of-another-survey")
def _(tmp_path):
    rows = grid(2)
    f = write_csv(tmp_path / "traject.csv", rows)
    return Expect(validate(f, survey="na_traject"), "traject.csv",
                  err=("none of its questions belong to survey 'na_traject'", "expected an export of"))


@case("real-export-of-another-survey")
def _(tmp_path):
    f = REAL / "fivethirtyeight__data__steak-risk-survey.csv"
    if not f.exists():
        pytest.skip(f"real exports not available ({REAL.resolve()} is absent)")
    return Expect(validate(f), f.name, err=("none of its questions belong to survey 'vorming'",))


# ---- exports: sheets and workbooks

@case("xlsx-two-candidate-sheets")
def _(tmp_path):
    f = write_xlsx(tmp_path / "twee.xlsx", {"Export 1": (grid(2), "visible"), "Export 2": (grid(3), "visible")})
    return Expect(validate(f), "twee.xlsx",
                  err=("2 visible sheets", "'Export 1', 'Export 2'", "several of them", "--sheet"))


@case("xlsx-two-candidate-sheets-chosen-with-sheet")
def _(tmp_path):
    f = write_xlsx(tmp_path / "twee.xlsx", {"Export 1": (grid(2), "visible"), "Export 2": (grid(3), "visible")})
    return Expect(validate(f, extra=["--sheet", "Export 2"]), "twee.xlsx", code=0,
                  out=("twee.xlsx sheet 'Export 2': 3 rows", "read 3, used 3"))


@case("xlsx-hidden-sheet-ignored")
def _(tmp_path):
    f = write_xlsx(tmp_path / "verborgen.xlsx", {
        "Antwoorden": (grid(3), "visible"),
        "Oud": (grid(5, end="03/15/2021 10:00:00 AM"), "hidden"),
    })
    return Expect(validate(f), "verborgen.xlsx", code=0,
                  out=("verborgen.xlsx sheet 'Antwoorden': 3 rows", "read 3, used 3", "excluded: none"))


@case("xlsx-responses-hidden-behind-a-cover-sheet")
def _(tmp_path):
    f = write_xlsx(tmp_path / "voorblad.xlsx", {
        "Overzicht": ([["KTO vorming 2022"], ["Samenvatting van de antwoorden"]], "visible"),
        "Antwoorden": (grid(3), "hidden"),
    })
    return Expect(validate(f), "voorblad.xlsx", err=("the only visible sheet, 'Overzicht', does not start with",
                                                     "the hidden sheet 'Antwoorden' does",
                                                     "expected sheet: Antwoorden in the params file"))


@case("xlsx-merged-header-over-question")
def _(tmp_path):
    # N1:Q1 is the matrix question over its four item columns; S1 alone is untouched.
    f = xlsx(tmp_path / "samengevoegd.xlsx", grid(3), merges=["N1:Q1"])

    def check():
        from agii_analysis.reader import read_export

        e = read_export(f)
        assert [c.question for c in e.columns[4:8]] == ["Hoe tevreden bent u over de volgende aspecten?"] * 4
    return Expect(validate(f), "samengevoegd.xlsx", code=0,
                  out=("questions matched: aanraden, aspecten, organisatie, tevreden, thema, verbeteren, vorm",
                       "read 3, used 3 (3 complete"), check=check)


@case("xlsx-merged-header-over-metadata")
def _(tmp_path):
    # Merging A1:B1 wipes the 'Collector ID' header while its cells still hold data.
    f = xlsx(tmp_path / "samengevoegd.xlsx", grid(3), merges=["A1:B1"])
    return Expect(validate(f), "samengevoegd.xlsx",
                  err=("sheet 'Sheet1'", "column B", "row 1", "no header", "expected a metadata name"))


@case("xlsx-truncated")
def _(tmp_path):
    good = xlsx(tmp_path / "heel.xlsx", grid(20))
    f = tmp_path / "afgebroken.xlsx"
    f.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return Expect(validate(f), "afgebroken.xlsx", err=("damaged or truncated", "download it again"))


@case("csv-named-xlsx")
def _(tmp_path):
    f = write_csv(tmp_path / "eigenlijk_csv.xlsx", grid(3))
    return Expect(validate(f), "eigenlijk_csv.xlsx", code=0,
                  out=("warning: eigenlijk_csv.xlsx: eigenlijk_csv.xlsx is named .xlsx but holds CSV text",
                       "read 3, used 3"))


# ---- exports: encodings and sizes

@case("csv-mixed-encodings")
def _(tmp_path):
    rows = grid(3)
    rows[2][OPEN] = "Meer café-voorbeelden"
    rows[4][OPEN] = "Betere koffie in het café"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows[:4])
    head = buf.getvalue().encode("utf-8")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows[4:])
    f = tmp_path / "gemengd.csv"
    f.write_bytes(head + buf.getvalue().encode("cp1252"))
    return Expect(validate(f), "gemengd.csv",
                  err=("row 5", "mixes text encodings", "UTF-8 text in row 3", "row 5 is cp1252",
                       "expected one encoding for the whole file"))


@case("csv-more-cells-than-header")
def _(tmp_path):
    rows = grid(3)
    rows[3] += ["", "uitschieter"]
    f = write_csv(tmp_path / "te_breed.csv", rows)
    return Expect(validate(f), "te_breed.csv", err=("column U", "row 4", "more cells than the header"))


@case("open-answer-10-mb")
def _(tmp_path):
    rows = grid(3)
    big = ("Meer praktijkvoorbeelden en minder theorie, graag. " * 200_000)[:10_000_000]
    rows[3][OPEN] = big
    f = write_csv(tmp_path / "groot.csv", rows)

    def check():
        h = _harmonise(f)
        text = h.responses.loc[h.responses["question"] == "verbeteren", "text"].tolist()
        assert [len(t) for t in text] == [len(big.strip())]
    return Expect(validate(f), "groot.csv", code=0, out=("read 3, used 3",), check=check, max_seconds=120)


@case("open-answer-emoji-and-right-to-left-csv")
def _(tmp_path):
    texts = ["Heel goed 👍🏽👩🏾‍🏫 merci!", "شكراً جزيلاً على الدورة", "\u200fתודה רבה\u200f — top"]
    rows = grid(3)
    for i, t in enumerate(texts):
        rows[2 + i][OPEN] = t
    f = write_csv(tmp_path / "emoji.csv", rows)
    return Expect(validate(f), "emoji.csv", code=0, out=("read 3, used 3",),
                  check=lambda: _assert_texts(f, texts))


@case("open-answer-emoji-and-right-to-left-xlsx")
def _(tmp_path):
    texts = ["😀🎉 Top vorming", "متاز ‏جداً", "עברית ✡ ok"]
    rows = grid(3)
    for i, t in enumerate(texts):
        rows[2 + i][OPEN] = t
    f = xlsx(tmp_path / "emoji.xlsx", rows)
    return Expect(validate(f), "emoji.xlsx", code=0, out=("read 3, used 3",),
                  check=lambda: _assert_texts(f, texts))


# ---- exports: questions and labels

@case("question-renamed-headline")
def _(tmp_path):
    rows = grid(3)
    rows[0][TEV] = "<p>Hoe tevreden bent u in het algemeen over de training?</p>"
    f = write_csv(tmp_path / "hernoemd.csv", rows)
    # validate shows what it read, then stops as `agii run` would (it passed before, and run refused)
    return Expect(validate(f), "hernoemd.csv", code=2,
                  err=("headline question 'tevreden' matched no column in hernoemd.csv: % (heel) tevreden cannot be "
                       "computed", "`agii run` refuses this", "expected an export with that question"),
                  out=("unmatched columns (1): Hoe tevreden bent u in het algemeen over de training? | Response",),
                  not_out=("questions matched: aanraden, aspecten, organisatie, tevreden", "warning: headline"))


@case("question-renamed-other")
def _(tmp_path):
    rows = grid(3)
    rows[0][VORM] = "Hoe volgde u deze vorming?"
    f = write_csv(tmp_path / "hernoemd.csv", rows)
    return Expect(validate(f), "hernoemd.csv", code=0,
                  out=("unmatched columns (1): Hoe volgde u deze vorming? | Response",
                       "questions matched: aanraden, aspecten, organisatie, tevreden, thema, verbeteren\n"),
                  not_out=("warning: headline",))


@case("question-column-missing")
def _(tmp_path):
    rows = [r[:ORG] + r[ORG + 1:] for r in grid(3)]
    f = write_csv(tmp_path / "kolom_weg.csv", rows)
    return Expect(validate(f), "kolom_weg.csv", code=0,
                  out=("questions matched: aanraden, aspecten, tevreden, thema, verbeteren, vorm\n",
                       "read 3, used 3 (3 complete, 0 partial)",  # complete over the questions found
                       "warning: question(s) organisatie of vorming.yaml (2022) matched no column in kolom_weg.csv"))


@case("two-exports-different-questions")
def _(tmp_path):
    a = write_csv(tmp_path / "deel_a.csv", grid(3))
    rows = [r[:NPS] for r in grid(2)]  # b: no NPS and no open question
    for r in rows[2:]:
        r[ID] = r[ID] + "9"
    b = xlsx(tmp_path / "deel_b.xlsx", rows)
    return Expect(validate(a, b), "deel_a.csv", code=0,
                  out=("deel_a.csv (utf-8): 3 rows", "questions matched: aanraden, aspecten, organisatie, "
                       "tevreden, thema, verbeteren, vorm",
                       "deel_b.xlsx sheet 'Sheet1': 2 rows, language edition nl; questions matched: aspecten, "
                       "organisatie, tevreden, thema, vorm", "read 5, used 5 (3 complete, 2 partial)",
                       "deel_b.xlsx: question(s) aanraden, verbeteren matched no column, although they did in "
                       "deel_a.csv: its 2 rows count as not answering them"))


@case("answer-label-typo")
def _(tmp_path):
    rows = grid(3)
    rows[3][TEV] = "Tevreeden"
    f = write_csv(tmp_path / "typo.csv", rows)
    return Expect(validate(f), "typo.csv",
                  err=("column M", "row 4", "unknown answer 'Tevreeden' for question 'tevreden'",
                       "expected one of Heel ontevreden; Ontevreden; Neutraal; Tevreden; Heel tevreden; Geen mening"))


@case("answer-label-typo-counted-as-missing")
def _(tmp_path):
    rows = grid(3)
    rows[3][TEV] = "Tevreeden"
    f = write_csv(tmp_path / "typo.csv", rows)
    return Expect(validate(f, extra=["--unknown-labels", "missing"]), "typo.csv", code=0,
                  out=("unknown label (counted as missing): typo.csv M (Hoe tevreden bent u in het algemeen over de "
                       "vorming? | Response) 'Tevreeden' x1 (first row 4)", "warning: 1 unknown answers counted as missing"))


@case("curly-apostrophe-in-label-and-question")
def _(tmp_path):
    def edit(cb):
        cb["questions"]["vorm"]["text"]["nl"] = "Hoe volgde u de vorming ('s avonds of overdag)?"
        cb["questions"]["vorm"]["options"][1]["nl"] = "Fysiek, 's avonds"
    book = codebook_file(tmp_path, edit)
    rows = grid(3)
    rows[0][VORM] = "Hoe volgde u de vorming (\u2019s avonds of overdag)?"
    for r in rows[2:]:
        r[VORM] = "Fysiek, \u2019s avonds"
    f = write_csv(tmp_path / "apostrof.csv", rows)
    return Expect(validate(f, survey=book), "apostrof.csv", code=0,
                  out=("questions matched: aanraden, aspecten, organisatie, tevreden, thema, verbeteren, vorm",
                       "read 3, used 3 (3 complete"), not_out=("unknown label", "unmatched"))


@case("language-not-in-codebook")
def _(tmp_path):
    rows = grid(3, language="nl")
    rows[4][9] = "de"
    f = write_csv(tmp_path / "duits.csv", rows)
    return Expect(validate(f), "duits.csv",
                  err=("column language", "row 5", "language 'de' is not a language of this survey",
                       "expected one of nl (codebook vorming.yaml)"))


@case("nps-11")
def _(tmp_path):
    rows = grid(3)
    rows[2][NPS] = "11"
    f = write_csv(tmp_path / "nps.csv", rows)
    return Expect(validate(f), "nps.csv", err=("column R", "row 3", "unknown answer '11' for question 'aanraden'",
                                              "expected a whole number 0-10"))


@case("nps-minus-1")
def _(tmp_path):
    rows = grid(3)
    rows[4][NPS] = "-1"
    f = write_csv(tmp_path / "nps.csv", rows)
    return Expect(validate(f), "nps.csv", err=("column R", "row 5", "unknown answer '-1'", "expected a whole number 0-10"))


@case("nps-not-a-number")
def _(tmp_path):
    rows = grid(3)
    rows[3][NPS] = "9,5"
    f = xlsx(tmp_path / "nps.xlsx", rows)
    return Expect(validate(f), "nps.xlsx", err=("sheet 'Sheet1'", "column R", "row 4", "unknown answer '9,5'", "expected a whole number 0-10"))


@case("numeric-export-position-out-of-range")
def _(tmp_path):
    f = write_csv(tmp_path / "numeriek.csv", numeric_grid({TEV: "7"}))
    return Expect(validate(f, extra=["--numeric"]), "numeriek.csv",
                  err=("column M", "row 3", "unknown answer '7' for question 'tevreden'",
                       "expected a position 1-6 (numerical-value export)"),
                  not_err=("leave this question out",))  # a number is what this export holds


@case("numeric-export-position-zero")
def _(tmp_path):
    f = write_csv(tmp_path / "numeriek.csv", numeric_grid({VORM: "0"}))
    return Expect(validate(f, extra=["--numeric"]), "numeriek.csv",
                  err=("column K", "row 3", "unknown answer '0' for question 'vorm'", "expected a position 1-2"))


@case("numeric-export-nps-offset-out-of-range")
def _(tmp_path):
    f = write_csv(tmp_path / "numeriek.csv", numeric_grid({NPS: "12"}))
    return Expect(validate(f, extra=["--numeric"]), "numeriek.csv",
                  err=("column R", "row 3", "unknown answer '12'", "expected a whole number 1-11 (numerical-value export)"))


@case("single-choice-with-two-answers-expanded")
def _(tmp_path):
    # expanded layout: one column per option of 'vorm'; both ticked in row 4
    rows = grid(3)
    for r in rows:
        r.insert(VORM + 1, "")
    rows[0][VORM], rows[1][VORM], rows[1][VORM + 1] = "Hoe volgde u de vorming?", "Online", "Fysiek"
    for r in rows[2:]:
        r[VORM], r[VORM + 1] = "Online", ""
    rows[3][VORM + 1] = "Fysiek"
    f = write_csv(tmp_path / "dubbel.csv", rows)
    return Expect(validate(f), "dubbel.csv", err=("column K, L", "row 4", "question 'vorm' has more than one answer",
                                                 "expected one chosen option"))


@case("open-question-column-repeated")
def _(tmp_path):
    # a copied column would count every open answer twice (themes, quotes)
    rows = grid(3, answers=[vorming_answers(text=f"meer voorbeelden {i}") for i in range(3)])
    for r in rows:
        r.append(r[OPEN])
    f = write_csv(tmp_path / "kopie.csv", rows)
    return Expect(validate(f), "kopie.csv", err=("column S, T", "row 2", "columns S and T both hold question 'verbeteren'",
                                                "('Open-Ended Response')", "expected each question, matrix item"))


@case("matrix-item-column-repeated")
def _(tmp_path):
    # the same item twice: two answers for one respondent and item
    rows = grid(3)
    for r in rows:
        r.append(r[ASP])
    rows[0][-1] = rows[0][ASP]
    f = write_csv(tmp_path / "kopie.csv", rows)
    return Expect(validate(f), "kopie.csv", err=("column N, T", "row 2", "columns N and T both hold question",
                                                "('De lesgever')"))


@case("export-of-another-year")
def _(tmp_path):
    # a 2022 export (SAT5: Neutraal) validated as 2021 (SAT4): the error says whose labels they may be
    f = write_csv(tmp_path / "vorming.csv", grid(3))
    return Expect(validate(f, year=2021), "vorming.csv",
                  err=("unknown answer 'Neutraal'", "most End Dates of the file are in 2022, outside the report period: "
                       "is this the 2022 export?"))


@case("question-missing-from-the-export-warned")
def _(tmp_path):
    # the matrix left out of the export: a warning, and 'complete' over the questions found
    rows = [r[:ASP] + r[ASP + 4:] for r in grid(3)]
    f = write_csv(tmp_path / "zonder_matrix.csv", rows)
    return Expect(validate(f), "zonder_matrix.csv", code=0,
                  out=("used 3 (3 complete, 0 partial)",
                       "warning: question(s) aspecten of vorming.yaml (2022) matched no column in zonder_matrix.csv"))


# ---- exports: dates and respondent ids

@case("date-in-another-year-excluded")
def _(tmp_path):
    rows = grid(3)
    rows[3][START] = rows[3][END] = "12/31/2021 11:59:00 PM"
    f = write_csv(tmp_path / "vorig_jaar.csv", rows)
    return Expect(validate(f), "vorig_jaar.csv", code=0,
                  out=("read 3, used 2", "excluded: outside_period 1", "date range: 2022-03-15 to 2022-03-15",
                       "warning: only 2 respondent(s) used: `agii run` refuses fewer than the suppression threshold"))


@case("date-end-before-start-warned")
def _(tmp_path):
    rows = grid(3)
    rows[4][START] = "03/16/2022 10:00:00 AM"  # a day after its End Date
    f = write_csv(tmp_path / "omgekeerd.csv", rows)
    return Expect(validate(f), "omgekeerd.csv", code=0,
                  out=("read 3, used 3", "1 response(s) end before they start (e.g. omgekeerd.csv row 5)"))


@case("date-unparseable")
def _(tmp_path):
    rows = grid(3)
    rows[4][END] = "31/02/2022 25:61"
    f = write_csv(tmp_path / "datum.csv", rows)
    return Expect(validate(f), "datum.csv", err=("column D 'End Date'", "row 5", "cannot read '31/02/2022 25:61' as a date",
                                                "expected a date like 07/31/2023 04:21:36 PM"))


@case("date-unparseable-xlsx-text")
def _(tmp_path):
    rows = grid(3)
    rows[2][START] = "gisteren"
    f = xlsx(tmp_path / "datum.xlsx", rows)
    return Expect(validate(f), "datum.xlsx", err=("sheet 'Sheet1'", "column C 'Start Date'", "row 3",
                                                 "cannot read 'gisteren' as a date"))


@case("duplicate-id-different-answers")
def _(tmp_path):
    rows = grid(3)
    rows[4][ID] = rows[2][ID]
    f = write_csv(tmp_path / "dubbel_id.csv", rows)
    return Expect(validate(f), "dubbel_id.csv",
                  err=("row 5", f"respondent {rid(1)} appears twice with different answers",
                       "dubbel_id.csv row 3 and dubbel_id.csv row 5", "expected one response per respondent id"))


@case("duplicate-id-across-exports")
def _(tmp_path):
    a = write_csv(tmp_path / "a.csv", grid(2))
    rows = grid(2)
    rows[3][TEV] = "Heel ontevreden"
    b = xlsx(tmp_path / "b.xlsx", rows, sheet="Antwoorden")
    return Expect(validate(a, b), "b.xlsx", err=("sheet 'Antwoorden'", "row 4", f"respondent {rid(2)} appears twice",
                                                "a.csv row 4 and b.xlsx row 4"))


@case("same-row-twice-excluded")
def _(tmp_path):
    rows = grid(3)
    rows.append(list(rows[3]))
    f = write_csv(tmp_path / "twee_keer.csv", rows)
    return Expect(validate(f), "twee_keer.csv", code=0, out=("read 4, used 3", "excluded: duplicate 1"))


@case("blank-respondent-id")
def _(tmp_path):
    rows = grid(3)
    rows[3][ID] = "  "
    f = write_csv(tmp_path / "geen_id.csv", rows)
    return Expect(validate(f), "geen_id.csv", err=("column A 'Respondent ID'", "row 4", "respondent id is blank",
                                                  "expected a respondent id in every respondent row"))


@case("respondent-ids-in-e-notation")
def _(tmp_path):
    rows = grid(3)
    rows[2][ID], rows[3][ID], rows[4][ID] = "1.14628E+11", "1.14628E+11", "1.14629E+11"
    f = write_csv(tmp_path / "excel_ids.csv", rows, encoding="cp1252", sep=";")
    return Expect(validate(f), "excel_ids.csv", code=0,
                  out=("read 3, used 3", "warning: excel_ids.csv: 3 respondent id(s) in column A "
                       "'Respondent ID' were rounded by Excel (e.g. 1.14628E+11 in row 3)"))


# ---- codebooks (passed to validate as --survey FILE; load_codebook checked too)

def _codebook_case(tmp_path, edit=None, *, text=None, encoding="utf-8", err=()):
    book = codebook_file(tmp_path, edit, text=text, encoding=encoding)
    export = write_csv(tmp_path / "vorming.csv", grid(2))

    def check():
        with pytest.raises(AgiiError) as info:
            load_codebook(book)
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith(book.name) and all(s in msg for s in err), msg
    return Expect(validate(export, survey=book), book.name, err=err, check=check)


@case("codebook-first-year-not-a-year")
def _(tmp_path):
    return _codebook_case(tmp_path, lambda d: d.update(first_year="vorig jaar"),
                          err=("first_year: 'vorig jaar' is not a year", "expected the year of the survey's first edition"))


@case("codebook-duplicate-code")
def _(tmp_path):
    def edit(cb):
        cb["questions"]["vorm"]["options"][1]["code"] = 1
    return _codebook_case(tmp_path, edit, err=(
        "questions.vorm.options[1].code: duplicate code 1 (also at questions.vorm.options[0])",))


@case("codebook-unknown-question-type")
def _(tmp_path):
    def edit(cb):
        cb["questions"]["tevreden"]["type"] = "likert"
    return _codebook_case(tmp_path, edit, err=(
        "questions.tevreden.type: unknown question type 'likert'", "expected one of single, multi, scale"))


@case("codebook-duplicate-label")
def _(tmp_path):
    def edit(cb):
        cb["questions"]["vorm"]["options"][1]["nl"] = " ONLINE "
    return _codebook_case(tmp_path, edit, err=(
        "questions.vorm.options[1].nl: duplicate label 'ONLINE' (also at questions.vorm.options[0])",))


@case("codebook-not-utf8")
def _(tmp_path):
    text = (CODEBOOK_DIR / "vorming.yaml").read_text(encoding="utf-8").replace(
        "Deelnemers", "Deelnemers (geïnteresseerden)")
    return _codebook_case(tmp_path, text=text, encoding="cp1252", err=("not UTF-8 text at line 5 (byte", "expected a UTF-8 YAML file"))


@case("codebook-headline-not-a-scale")
def _(tmp_path):
    def edit(cb):
        cb["headline"] = "vorm"
    return _codebook_case(tmp_path, edit, err=("headline: question 'vorm' is of type single", "expected scale"))


@case("codebook-headline-unknown-question")
def _(tmp_path):
    def edit(cb):
        cb["headline"] = "algemeen"
    return _codebook_case(tmp_path, edit, err=("headline: unknown question 'algemeen'", "expected one of thema, vorm"))


@case("codebook-invalid-yaml")
def _(tmp_path):
    return _codebook_case(tmp_path, text="survey: vorming\nquestions:\n  vorm: {type: single\n",
                          err=("invalid YAML at line",))


@case("codebook-unknown-key")
def _(tmp_path):
    def edit(cb):
        cb["headlines"] = cb.pop("headline")
    return _codebook_case(tmp_path, edit, err=("headlines: unknown key", "expected one of breakdowns"))


@case("codebook-nps-points-at-scale")
def _(tmp_path):
    def edit(cb):
        cb["nps"] = "tevreden"
    return _codebook_case(tmp_path, edit, err=("nps: question 'tevreden' is of type scale", "expected nps"))


@case("codebook-unknown-option-set")
def _(tmp_path):
    def edit(cb):
        cb["questions"]["vorm"]["options"] = "ja_neen"
    return _codebook_case(tmp_path, edit, err=("questions.vorm.options: unknown option set 'ja_neen'", "ja_nee"))


@case("codebook-scale-by-year-not-a-mapping")
def _(tmp_path):
    def edit(cb):
        cb["scale_by_year"] = ["SAT4", "SAT5"]
    return _codebook_case(tmp_path, edit, err=("scale_by_year: must map years to scale names",))


@case("codebook-subgroup-codes-not-a-list")
def _(tmp_path):
    def edit(cb):
        cb["subgroups"]["online"]["codes"] = 1
    return _codebook_case(tmp_path, edit, err=("subgroups.online.codes: 1 is not a list of option codes",))


@case("codebook-headline-is-a-list")
def _(tmp_path):
    def edit(cb):
        cb["headline"] = ["tevreden"]
    return _codebook_case(tmp_path, edit, err=("headline: unknown question ['tevreden']",))


@case("codebook-not-a-mapping")
def _(tmp_path):
    return _codebook_case(tmp_path, text="- survey\n- vorming\n", err=("(top): a codebook must be a mapping",))


# ---- parameter files (agii run --params; load_params checked too)

def _params_case(tmp_path, data=None, *, text=None, encoding="utf-8", err=()):
    path = params_file(tmp_path, data, text=text, encoding=encoding)

    def check():
        with pytest.raises(AgiiError) as info:
            load_params(path)
        msg = str(info.value)
        assert "\n" not in msg and path.name in msg and all(s in msg for s in err), msg
    return Expect(run_params(path, tmp_path), path.name, err=err, check=check)


def _good_params(tmp_path, **changes) -> dict:
    data = {"survey": "vorming", "year": 2030, "inputs": [{"file": str(export_2030(tmp_path))}], "invited": 100}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@case("params-export-missing")
def _(tmp_path):
    data = _good_params(tmp_path, inputs=[{"file": str(tmp_path / "weg.xlsx")}])
    return _params_case(tmp_path, data, err=("inputs[0].file: export not found", "weg.xlsx",
                                             "expected an existing XLSX or CSV export"))


@case("params-export-beside-the-params-file")
def _(tmp_path):
    """A bare file name is read from the repository folder; the message says where the
    file of that name is, and why it was not taken."""
    data = _good_params(tmp_path, inputs=[{"file": "vorming_2030_hier.csv"}])
    path = params_file(tmp_path, data)
    shutil.copy(export_2030(tmp_path), path.parent / "vorming_2030_hier.csv")
    err = ("inputs[0].file: export not found: vorming_2030_hier.csv",
           f"{path.parent / 'vorming_2030_hier.csv'} is there: a relative path is read from the repository folder")

    def check():
        with pytest.raises(AgiiError) as info:
            load_params(path)
        assert all(s in str(info.value) for s in err), str(info.value)
    return Expect(run_params(path, tmp_path), path.name, err=err, check=check)


@case("params-demo-export-as-real-data")
def _(tmp_path):
    """A demo export (invented answers) in a params file without demo: true would be
    reported as real answers."""
    data = _good_params(tmp_path, year=2022, inputs=[{"file": "data/raw/demo/2022/vorming_2022_b.csv"}])
    path = params_file(tmp_path, data, year=2022)

    def check():
        with pytest.raises(AgiiError) as info:
            load_params(path)
        assert "inputs[0].file: data/raw/demo/2022/vorming_2022_b.csv is a demo export" in str(info.value)
        data["demo"] = True
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        assert load_params(path).demo
    return Expect(run_params(path, tmp_path), path.name,
                  err=("is a demo export (invented answers), and the params file does not say demo: true",
                       "expected demo: true, or a real export"), check=check)


@case("inspect-draft-into-a-missing-folder")
def _(tmp_path):
    return Expect(["inspect", str(export_2030(tmp_path)), "--draft-codebook", str(tmp_path / "weg" / "nieuw.yaml")],
                  "weg", err=("the folder for the draft codebook does not exist", "expected an existing folder"))


@case("inspect-unknown-language")
def _(tmp_path):
    f = export_2030(tmp_path)
    return Expect(["inspect", str(f), "--language", "zz"], "--language zz",
                  err=("not a language the codebooks know", "expected one of nl, en, fr, ar, uk"))


@case("number-on-a-scale-question")
def _(tmp_path):
    """A grid of ranks or numbers drafted as a matrix: the advice is not to add the number
    to _common.yaml's scale (every survey would then read it as a scale point)."""
    rows = grid(3)
    rows[2][TEV] = "3"
    rows[3][TEV + 1] = "Superblij"  # not every unknown answer a number: no numerical-value export
    f = write_csv(tmp_path / "rangorde.csv", rows)
    return Expect(validate(f), "rangorde.csv",
                  err=("unknown answer '3' for question 'tevreden'", "a number on a scale question",
                       "leave this question out of codebook vorming.yaml"))


@case("params-unknown-key")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, invitd=100),
                        err=("invitd: unknown key", "expected one of contact, demo"))


@case("params-unknown-input-key")
def _(tmp_path):
    data = _good_params(tmp_path)
    data["inputs"][0]["value"] = "numeric"
    return _params_case(tmp_path, data, err=("inputs[0].value: unknown key", "expected one of collector, file"))


@case("params-not-yaml")
def _(tmp_path):
    return _params_case(tmp_path, text="survey: vorming\nyear: 2030\ninputs: [{file: a.csv}\ninvited: 5\n",
                        err=("invalid YAML at line",))


@case("params-not-a-mapping")
def _(tmp_path):
    return _params_case(tmp_path, text="vorming 2030\n", err=("must be a mapping",))


@case("params-not-utf8")
def _(tmp_path):
    return _params_case(tmp_path, text="survey: vorming\nnote: geïnteresseerden\n", encoding="cp1252",
                        err=("not UTF-8 text at line 2 (byte 24)", "expected a UTF-8 YAML file"))


@case("params-year-wrong-type")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, year="x"), err=("year: 'x' is not a whole number >= 1990",))


@case("params-invited-wrong-type")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, invited="veel"),
                        err=("invited: 'veel' is not a whole number >= 1",))


@case("params-values-wrong")
def _(tmp_path):
    data = _good_params(tmp_path)
    data["inputs"][0]["values"] = "numbers"
    return _params_case(tmp_path, data, err=("inputs[0].values: 'numbers'", "expected text or numeric"))


@case("params-unknown-survey")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, survey="vormingen"),
                        err=("survey: unknown survey 'vormingen'", "expected one of"))


@case("params-inputs-missing")
def _(tmp_path):
    data = _good_params(tmp_path)
    del data["inputs"]
    return _params_case(tmp_path, data, err=("inputs: missing",))


@case("params-period-ends-before-start")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, period={"start": "2030-12-31", "end": "2030-01-01"}),
                        err=("period: ends before it starts",))


@case("params-is-a-folder")
def _(tmp_path):
    path = tmp_path / "params" / "2030" / "vorming.yaml"
    path.mkdir(parents=True)
    return Expect(run_params(path, tmp_path), "vorming.yaml", err=("is a folder, not a parameter file",))


@case("params-input-file-not-a-path")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, inputs=[{"file": 2030}]),
                        err=("inputs[0].file: 2030 is not a file path",))


@case("params-invited-by-not-a-mapping")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, invited_by=[1200, 300]),
                        err=("invited_by: must map collector ids or language codes to invited counts",))


def _input(tmp_path, **extra) -> list[dict]:
    return [{"file": str(export_2030(tmp_path)), **extra}]


@case("params-input-language-unknown")
def _(tmp_path):
    # blamed on the params key, not on a language column the export does not have
    return _params_case(tmp_path, _good_params(tmp_path, inputs=_input(tmp_path, language="xx")),
                        err=("inputs[0].language: 'xx' is not a language of survey 'vorming'", "expected one of nl"))


@case("params-input-collector-a-list")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, inputs=_input(tmp_path, collector=[1, 2])),
                        err=("inputs[0].collector: [1, 2] is not a text",))


@case("params-input-file-is-a-folder")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, inputs=[{"file": str(tmp_path)}]),
                        err=("inputs[0].file:", "is a folder", "expected an XLSX or CSV export file"))


@case("params-previous-out-of-range")
def _(tmp_path):
    prev = {"pct_satisfied": 181, "source": "jaarverslag"}
    return _params_case(tmp_path, _good_params(tmp_path, previous=prev),
                        err=("previous.pct_satisfied: 181 is out of range", "expected a number from 0 to 100"))


@case("params-previous-unknown-scale")
def _(tmp_path):
    prev = {"pct_satisfied": 81, "scale": "XYZ", "source": "jaarverslag"}
    return _params_case(tmp_path, _good_params(tmp_path, previous=prev),
                        err=("previous.scale: unknown scale 'XYZ'", "expected one of SAT5, SAT4"))


@case("params-previous-not-before")
def _(tmp_path):
    prev = {"year": 2031, "pct_satisfied": 81, "source": "jaarverslag"}
    return _params_case(tmp_path, _good_params(tmp_path, previous=prev),
                        err=("previous.year: 2031 is not before 2030",))


@case("params-invited-by-adds-up-to-more")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, invited_by={"400000001": 80, "400000002": 70}),
                        err=("invited_by: the collectors 400000001, 400000002 add up to 150 invited, more than invited: 100",))


@case("params-demo-not-a-boolean")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, demo="no"), err=("demo: 'no' (expected true or false)",))


@case("params-contact-a-list")
def _(tmp_path):
    return _params_case(tmp_path, _good_params(tmp_path, contact=["a", "b"]), err=("contact: ['a', 'b'] is not a text",))


@case("params-key-given-twice")
def _(tmp_path):
    text = yaml.safe_dump(_good_params(tmp_path), allow_unicode=True, sort_keys=False) + "invited: 200\n"
    return _params_case(tmp_path, text=text, err=("key 'invited' given twice",))


@case("params-invited-by-key-twice")
def _(tmp_path):
    text = yaml.safe_dump(_good_params(tmp_path), allow_unicode=True, sort_keys=False)
    text += "invited_by: {400000001: 30, '400000001': 20}\n"
    return _params_case(tmp_path, text=text, err=("invited_by.400000001: given twice",))


@case("params-key-a-list")
def _(tmp_path):
    text = yaml.safe_dump(_good_params(tmp_path), allow_unicode=True, sort_keys=False) + "? [a, b]\n: 1\n"
    return _params_case(tmp_path, text=text, err=("invalid YAML at line", "a key cannot be a list or a mapping"))


@case("params-file-not-found")
def _(tmp_path):
    path = tmp_path / "params" / "2030" / "vorming.yaml"
    return Expect(run_params(path, tmp_path), "vorming.yaml", err=("parameter file not found",))


# ---- helpers for the in-process checks

def _harmonise(path: Path, survey: str = "vorming", year: int = 2022):
    from agii_analysis.harmonise import harmonise
    from agii_analysis.prepare import _redactor
    from agii_analysis.reader import read_export

    return harmonise([(read_export(path), None)], load_codebook(survey), year, redact=_redactor())


def _assert_texts(path: Path, texts: list[str]) -> None:
    h = _harmonise(path)
    got = h.responses.loc[h.responses["question"] == "verbeteren"].sort_values("respondent_id")["text"].tolist()
    assert got == [t.strip() for t in texts]


# --------------------------------------------------------------------------- running

def run_agii(argv: list[str], subprocess_: bool = SUBPROCESS) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `agii ARGV`."""
    if subprocess_:
        p = subprocess.run([str(AGII), *argv], capture_output=True, text=True, cwd=ROOT, timeout=900,
                           env={**os.environ, "PYTHONWARNINGS": "ignore"})
        return p.returncode, p.stdout, p.stderr
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
        except BaseException:  # what the real executable would show as a traceback
            traceback.print_exc(file=err)
            code = 1
    return code, out.getvalue(), err.getvalue()


def assert_outcome(exp: Expect, code: int, out: str, err: str, elapsed: float) -> None:
    assert "Traceback" not in out + err, err
    if exp.max_seconds is not None:
        assert elapsed < exp.max_seconds, f"took {elapsed:.1f} s"
    if exp.code == 0:
        assert code == 0, f"exit {code}: {err}"
        assert not err.strip(), err
        assert exp.file in out
        for s in exp.out:
            assert s in out, f"{s!r} not in stdout:\n{out}"
        for s in exp.not_out:
            assert s not in out, f"{s!r} in stdout:\n{out}"
        return
    assert code == exp.code, f"exit {code}, stdout:\n{out}\nstderr:\n{err}"
    for s in exp.out:  # what a command printed before it stopped
        assert s in out, f"{s!r} not in stdout:\n{out}"
    for s in exp.not_out:
        assert s not in out, f"{s!r} in stdout:\n{out}"
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("agii: error: "), line
    assert exp.file in line, line
    for s in exp.err:
        assert s in line, f"{s!r} not in: {line}"
    for s in exp.not_err:
        assert s not in line, f"{s!r} in: {line}"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, tmp_path):
    exp = CASES[name](tmp_path)
    started = time.perf_counter()
    code, out, err = run_agii(exp.argv)
    assert_outcome(exp, code, out, err, time.perf_counter() - started)
    if exp.check:
        exp.check()


def test_corpus_size():
    assert len(CASES) >= 35


ENTRY_POINT_SAMPLE = ["empty-xlsx-0-bytes", "header-rows-swapped", "xlsx-truncated", "answer-label-typo",
                      "respondent-ids-in-e-notation", "codebook-duplicate-code", "params-unknown-key"]


@pytest.mark.parametrize("name", ENTRY_POINT_SAMPLE)
def test_entry_point_contract(name, tmp_path):
    """The real `agii` executable: same exit code, one stderr line, no traceback."""
    exp = CASES[name](tmp_path)
    started = time.perf_counter()
    code, out, err = run_agii(exp.argv, subprocess_=True)
    assert_outcome(exp, code, out, err, time.perf_counter() - started)


# --------------------------------------------------------------------------- compute / run

@pytest.fixture
def processed(tmp_path, monkeypatch):
    """Keep the harmonised cache of these runs out of data/processed/."""
    from agii_analysis import prepare

    monkeypatch.setattr(prepare, "PROCESSED_DIR", tmp_path / "processed")
    return tmp_path / "processed"


def _compute_error(path: Path) -> str:
    from agii_analysis.results import compute

    with pytest.raises(AgiiError) as info:
        compute(path)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def _run_error(path: Path, tmp_path: Path) -> str:
    """`agii run --params`: a survey that fails to build exits non-zero with one error line.

    run.py reports a failed survey-year as `agii: error: <survey> <year>: <message>` and
    exits 1 (2 is for errors before any build starts, e.g. a bad params file)."""
    code, out, err = run_agii(run_params(path, tmp_path), subprocess_=False)
    assert "Traceback" not in out + err, err
    assert code in (1, 2), (code, out, err)
    lines = [ln for ln in (out + err).splitlines() if ln.startswith("agii: error: ")]
    assert len(lines) == 1, out + err
    assert not (tmp_path / "reports" / "2030").exists()  # nothing half-built, not even an empty year folder
    return lines[0]


def test_invited_below_respondents_stops_compute_and_run(tmp_path, processed):
    path = params_file(tmp_path, _good_params(tmp_path, invited=5))
    assert load_params(path).invited == 5  # the file alone is valid: 12 respondents are only known later
    for msg in (_compute_error(path), _run_error(path, tmp_path)):
        assert path.name in msg and "invited: 5 invited is fewer than the 12 respondents" in msg, msg
        assert "expected invited >= 12" in msg, msg


def test_invited_by_below_respondents_stops_compute(tmp_path, processed):
    path = params_file(tmp_path, _good_params(tmp_path, invited_by={"400000001": 3}))
    msg = _compute_error(path)
    assert path.name in msg and "invited_by.400000001: 3 invited is fewer than the 12 respondents" in msg, msg


def test_headline_question_missing_stops_compute_and_run(tmp_path, processed):
    export = export_2030(tmp_path, headline=False)
    path = params_file(tmp_path, {"survey": "vorming", "year": 2030, "inputs": [{"file": str(export)}], "invited": 100})
    for msg in (_compute_error(path), _run_error(path, tmp_path)):
        assert path.name in msg and "headline question 'tevreden'" in msg and export.name in msg, msg
        assert "Hoe tevreden bent u in het algemeen over de vorming?" in msg, msg


def test_nps_question_missing_stops_compute_and_run(tmp_path, processed):
    """A renamed NPS question (new wording not in the codebook) is named, like the headline."""
    rows = grid(12, end="03/15/2030 10:00:00 AM")
    rows[0][NPS] = "Zou u deze vorming aanraden aan een collega?"
    export = write_csv(tmp_path / "vorming_2030.csv", rows)
    path = params_file(tmp_path, {"survey": "vorming", "year": 2030, "inputs": [{"file": str(export)}], "invited": 100})
    for msg in (_compute_error(path), _run_error(path, tmp_path)):
        assert path.name in msg and "NPS question 'aanraden' matched no column in vorming_2030.csv" in msg, msg
        assert "the Net Promoter Score cannot be computed" in msg and "expected an export with that question" in msg


@pytest.mark.parametrize("n, end, says", [
    (5, "03/15/2030 10:00:00 AM", "only 5 respondent(s) to report on (5 read), fewer than suppression_threshold 10"),
    (12, "03/15/2031 10:00:00 AM", "no respondent to report on (12 read; excluded: outside_period 12)"),
])
def test_too_few_respondents_stop_compute_and_run(tmp_path, processed, n, end, says):
    """Fewer respondents than the suppression threshold: a report would show individuals."""
    export = write_csv(tmp_path / "vorming_2030.csv", grid(n, end=end))
    path = params_file(tmp_path, {"survey": "vorming", "year": 2030, "inputs": [{"file": str(export)}], "invited": 100})
    for msg in (_compute_error(path), _run_error(path, tmp_path)):
        assert path.name in msg and says in msg, msg


def test_params_sheet_is_a_name_even_when_yaml_reads_a_number(tmp_path):
    """`sheet: 2030` names the sheet called 2030, never the sheet at position 2030 (or 1)."""
    from agii_analysis.reader import read_export

    rows = grid(12, end="03/15/2030 10:00:00 AM")
    book = write_xlsx(tmp_path / "jaren.xlsx", {"2029": ([["Respondent ID"]], "visible"), "2030": (rows, "visible")})
    path = params_file(tmp_path, _good_params(tmp_path, inputs=[{"file": str(book), "sheet": 2030}]))
    spec = load_params(path).inputs[0]
    assert spec.sheet == "2030"
    assert len(read_export(spec.file, spec.sheet).meta) == 12
    path.write_text(path.read_text(encoding="utf-8").replace("sheet: 2030", "sheet: 1"), encoding="utf-8")
    assert load_params(path).inputs[0].sheet == "1"  # and sheet '1' does not exist: an error naming the sheets
    with pytest.raises(AgiiError, match="has no sheet '1'.*'2029', '2030'"):
        read_export(book, load_params(path).inputs[0].sheet)


def test_params_yaml_merge_keys_and_dates(tmp_path):
    """YAML's own conveniences still work: `<<: *anchor` (a local key overriding it) and a
    date where a text is expected."""
    export = export_2030(tmp_path)
    other = export.with_name("second.csv")
    other.write_bytes(export.read_bytes())
    text = (f"survey: vorming\nyear: 2030\ninvited: 100\ninvited_source: 2030-01-15\n"
            f"inputs:\n  - &first {{file: '{export}', values: numeric, collector: web}}\n"
            f"  - {{<<: *first, file: '{other}', values: text}}\n")
    path = params_file(tmp_path, text=text)
    params = load_params(path)
    assert [i.values for i in params.inputs] == ["numeric", "text"] and params.inputs[1].file == other
    assert [i.collector for i in params.inputs] == ["web", "web"]
    assert params.invited_source == "2030-01-15"


def test_previous_year_too_small_to_report_is_not_compared_with(tmp_path, processed):
    """A year with fewer respondents than the threshold gets no report, and no 'vorig jaar' either;
    nor does a previous figure on fewer answers than this year's threshold."""
    from agii_analysis.results import compute

    small = write_csv(tmp_path / "vorming_2029.csv", grid(5, end="03/15/2029 10:00:00 AM"))
    prev = tmp_path / "params" / "2029" / "vorming.yaml"
    prev.parent.mkdir(parents=True)
    prev.write_text(yaml.safe_dump({"survey": "vorming", "year": 2029, "inputs": [{"file": str(small)}]}),
                    encoding="utf-8")
    path = params_file(tmp_path, _good_params(tmp_path))
    assert compute(path).change.empty
    prev.write_text(yaml.safe_dump({"survey": "vorming", "year": 2029, "inputs": [{"file": str(small)}],
                                    "suppression_threshold": 5}), encoding="utf-8")
    assert compute(path).change.empty  # big enough for its own threshold, not for this year's 10
    path.write_text(yaml.safe_dump(_good_params(tmp_path, suppression_threshold=5)), encoding="utf-8")
    assert compute(path).change["previous_year"].tolist() == [2029, 2029]  # big enough for both thresholds


def test_invited_by_key_nobody_has_is_a_warning(tmp_path, processed):
    from agii_analysis.results import compute

    path = params_file(tmp_path, _good_params(tmp_path, invited_by={"400000001": 50, "499999999": 20}))
    warnings = compute(path).provenance["warnings"]
    assert warnings[0] == ("invited_by.499999999 (vorming.yaml) matches no collector id or language of the "
                           "respondents used: it is left out of the response by group")
    assert len(warnings) == 2 and warnings[1].startswith("no change on last year: there is no 2029/vorming.yaml")
