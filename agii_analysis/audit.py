"""`agii audit`: scan built outputs for personal data and for small groups.

`audit(paths)` reads every output under the given folders (or the given files):

| file | what is read |
|---|---|
| `.ipynb` | every cell's source, every output (text, HTML, Markdown; base64 images skipped), notebook and cell metadata |
| `.html`, `.htm` | the text with HTML entities decoded, `data:` URIs (embedded images, fonts) skipped |
| `.pdf` | the text of every page (`pdftotext`; `pypdf` when pdftotext is missing) |
| `.xlsx` | every cell of every sheet, cell comments, hyperlinks and the document properties (openpyxl) |
| `.parquet` | every string column |
| `.json` | every string (manifest, results) |
| `.csv`, `.txt`, `.md` | the text |

and reports a `Finding` for

1. every value planted in the demo exports' private columns (`planted_private.json`:
   e-mail and IP addresses, custom data, first and last names). Names match as whole
   words, case-insensitive: a full name (first last, or last first) always; a first or
   last name on its own only when it is at least four letters and not a common Dutch
   word (so "Roos" or "Hoop" alone are not flagged, "Roos Peeters" is);
2. anything that looks like personal data, with the redaction patterns of
   `themes.redact` (e-mail addresses, Belgian and international phone numbers,
   national register numbers, bank account numbers with a valid IBAN check, a name
   after a form of address, role, introduction or thanks: "juf Sarah"), plus IPv4
   addresses. Numbers inside other tokens (hashes, ids) and the decimals of a number
   (0.0034382865) are not matches; a national register number must have a valid check
   number. Numeric cells (XLSX, JSON) are numbers, not text, and are not
   pattern-checked;
3. small groups: in every `*_resultaten.json`, a breakdown, trend, response-by-group
   or subgroup row with `n`/`respondents` below the threshold that is not suppressed
   (and a key figure, aspect, group NPS, question's answers, NPS table or theme table
   on fewer answers than the threshold; an option of a choice question chosen by
   fewer), a hidden month that its shown quarter reveals (or a hidden quarter its
   shown months add up to), a suppressed row that still shows its figures, the
   complementary-disclosure rule (exactly one group suppressed in a breakdown while
   others are shown: the total minus the shown groups reveals it), and a group hidden
   in a breakdown but counted in its question's distribution (or the other way
   round); in the Excel appendices, a table whose group count column ("Respondenten",
   "Aantal antwoorden (noemer)") shows a number below the threshold.

The threshold is the larger of `threshold` and the one the results file declares.
A file that cannot be read is itself a finding (it cannot be vouched for).
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import AgiiError
from .params import REPO_ROOT
from .themes import _EMAIL, _PHONE_INTL, _PHONE_NAT, _RRN, iban_spans, name_spans

DEFAULT_PLANTED = REPO_ROOT / "data" / "raw" / "demo" / "planted_private.json"
DEFAULT_THRESHOLD = 10
TEXT_SUFFIXES = {".csv", ".txt", ".md"}
SUFFIXES = {".ipynb", ".html", ".htm", ".pdf", ".xlsx", ".parquet", ".json"} | TEXT_SUFFIXES

# Words that are also (short forms of) first or last names; such a name on its own is
# not a finding, only together with a planted last/first name.
COMMON_WORDS = frozenset("""
aan al alle als an ander andere anne april bart beek been ben berg bert blijft bos boer
boom bloem brand broek buiten daan dag dam de den der des dirk does door een eens el els
en eva even fee geert gent goed groen haan hal hall hans heer heide hier hoop hof hout
huis ida in is jan je jo juni kan kim klein koning kok lange laan lies lot luc maar
maart mark mee meer mees met mei mol molen nacht noor nu of om ook op over paul peer
pim raf rik roos rose rust sam smet smit soms steen stijn ster tom van veld ven vos
wil wim winter wit zee zon zomer
""".split())
MIN_SINGLE_NAME = 4

_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)"
)
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w=.+-]+)*,[^\"'()\s<>]*", re.IGNORECASE)
_NOTE = re.compile(r"\s*\[note \d+\]")
# Group count columns of the appendix tables (header text without the [note n] marks).
GROUP_COUNT_HEADERS = ("Respondenten", "Aantal antwoorden (noemer)", "Aantal respondenten",
                       "Antwoorden op de schaal", "Antwoorden op de NPS-vraag", "Respondenten in de correlatie")
# Results tables with one row per group or figure: (table, grouping column or None, count
# column, figure columns, the flag that hides them)
_GROUP_TABLES = (
    ("breakdowns", "question", "n", ("n_satisfaction", "pct_satisfied", "pct_rounded"), "suppressed"),
    ("trend", "period_type", "n", ("n_satisfaction", "pct_satisfied", "pct_rounded"), "suppressed"),
    ("breakdowns", "question", "n_nps", ("nps", "nps_lo", "nps_hi", "nps_rounded"), "nps_suppressed"),
    ("trend", "period_type", "n_nps", ("nps", "nps_lo", "nps_hi", "nps_rounded"), "nps_suppressed"),
    ("response_by", "dimension", "respondents", ("complete", "partial", "response_rate"), "suppressed"),
    ("subgroups", None, "n", ("k", "estimate", "rounded"), "suppressed"),
    ("key_figures", None, "n", ("k", "estimate", "lo", "hi", "rounded"), "suppressed"),
    ("aspects", None, "n", ("k", "pct_satisfied", "lo", "hi", "pct_rounded", "importance"), "suppressed"),
    ("aspects", None, "n_pairs", ("importance",), "importance_suppressed"),
)
_IMAGE_MIME = re.compile(r"image/(?!svg)|application/pdf|application/octet-stream|font/", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in one place of one output file."""

    file: str     # the file, as found under the audited path
    where: str    # cell / line / page / sheet and cell / JSON path / column and row
    kind: str     # planted-email, planted-ip, planted-name, planted-custom, email, phone,
                  # national-register-number, ipv4, small-group, complementary-disclosure,
                  # suppressed-shown, unreadable
    detail: str   # what leaked, in words (with the value)

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.detail}"


# ------------------------------------------------------------------ matchers

def _literal_trie(words: Iterable[str]) -> str:
    """A regex alternation factored on common prefixes (fast for hundreds of literals)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch != ""]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return f"(?:{body})?"
        return body

    return build(trie)


def _name_pattern(name: str) -> str:
    return r"\s+".join(re.escape(part) for part in name.split())


@dataclass
class Planted:
    emails: set[str]
    ips: set[str]
    custom: set[str]
    first_names: list[str]
    last_names: list[str]

    @classmethod
    def load(cls, path: Path | None) -> "Planted | None":
        if path is None:
            return None
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AgiiError(f"cannot read the planted values ({exc})", file=path) from None
        if not isinstance(data, dict):
            raise AgiiError("not a JSON object", file=path, expected="planted_private.json of agii demo")
        return cls(
            emails={str(v).casefold() for v in data.get("email_addresses", []) if v},
            ips={str(v) for v in data.get("ip_addresses", []) if v},
            custom={str(v) for v in data.get("custom_data", []) if v},
            first_names=sorted({str(v) for v in data.get("first_names", []) if v}),
            last_names=sorted({str(v) for v in data.get("last_names", []) if v}),
        )


class Scanner:
    """Finds planted values and personal-data patterns in a piece of text."""

    def __init__(self, planted: Planted | None):
        self.planted = planted
        self.literal = self.full_name = self.single_name = None
        if planted is None:
            return
        literals = {v.casefold() for v in planted.custom} | {v.casefold() for v in planted.emails} | planted.ips
        if literals:
            self.literal = re.compile(r"(?<![\w.@+-])" + _literal_trie(sorted(literals)) + r"(?![\w@-]|\.\w)",
                                      re.IGNORECASE)
        self._kind = {v.casefold(): "planted-custom" for v in planted.custom}
        self._kind.update({v: "planted-email" for v in planted.emails})
        self._kind.update({v: "planted-ip" for v in planted.ips})
        firsts = "|".join(_name_pattern(n) for n in sorted(planted.first_names, key=len, reverse=True))
        lasts = "|".join(_name_pattern(n) for n in sorted(planted.last_names, key=len, reverse=True))
        if firsts and lasts:
            self.full_name = re.compile(
                rf"(?<!\w)(?:(?:{firsts})[ \t\u00a0]+(?:{lasts})|(?:{lasts}),?[ \t\u00a0]+(?:{firsts}))(?!\w)",
                re.IGNORECASE)
        singles = [n for n in planted.first_names + planted.last_names
                   if len(n.replace(" ", "")) >= MIN_SINGLE_NAME and n.casefold() not in COMMON_WORDS]
        if singles:
            self.single_name = re.compile(
                r"(?<!\w)(?:" + "|".join(_name_pattern(n) for n in sorted(singles, key=len, reverse=True)) + r")(?!\w)",
                re.IGNORECASE)

    def scan(self, text: str, patterns: bool = True) -> Iterator[tuple[str, str]]:
        """(kind, detail) for every planted value and, when `patterns`, every pattern hit."""
        if not text:
            return
        taken: list[tuple[int, int]] = []
        if self.literal is not None:
            for m in self.literal.finditer(text):
                kind = self._kind.get(m.group(0).casefold(), "planted-custom")
                taken.append(m.span())
                yield kind, f"{_LABELS[kind]} {m.group(0)}"
        if self.full_name is not None:
            for m in self.full_name.finditer(text):
                taken.append(m.span())
                yield "planted-name", f"{_LABELS['planted-name']} {' '.join(m.group(0).split())}"
        if self.single_name is not None:
            for m in self.single_name.finditer(text):
                if not _inside(m.span(), taken):
                    yield "planted-name", f"{_LABELS['planted-name']} {m.group(0)} (on its own)"
        if not patterns:
            return
        if "@" in text:
            for m in _EMAIL.finditer(text):
                if not _inside(m.span(), taken):
                    taken.append(m.span())
                    yield "email", f"{_LABELS['email']} {m.group(0)}"
        if "." in text:
            for m in _IPV4.finditer(text):
                if not _inside(m.span(), taken) and _standalone(text, m):
                    taken.append(m.span())
                    yield "ipv4", f"{_LABELS['ipv4']} {m.group(0)}"
        for span in iban_spans(text):
            if not _inside(span, taken):
                taken.append(span)
                yield "iban", f"{_LABELS['iban']} {text[span[0]:span[1]]}"
        for m in _RRN.finditer(text):
            if not _inside(m.span(), taken) and _standalone(text, m) and _valid_rrn(m.group(0)):
                taken.append(m.span())
                yield "national-register-number", f"{_LABELS['national-register-number']} {m.group(0)}"
        if "+" in text or "00" in text:
            for m in _PHONE_INTL.finditer(text):
                if not _inside(m.span(), taken) and _standalone(text, m):
                    taken.append(m.span())
                    yield "phone", f"{_LABELS['phone']} {m.group(0).strip()}"
        if "0" in text:
            for m in _PHONE_NAT.finditer(text):
                digits = sum(ch.isdigit() for ch in m.group(0))
                if digits in (9, 10) and not _inside(m.span(), taken) and _standalone(text, m):
                    taken.append(m.span())
                    yield "phone", f"{_LABELS['phone']} {m.group(0).strip()}"
        for span in name_spans(text):
            if not _inside(span, taken):
                taken.append(span)
                yield "name", f"{_LABELS['name']} {' '.join(text[max(0, span[0] - 20):span[1]].split())}"


_LABELS = {
    "planted-email": "planted e-mail address",
    "planted-ip": "planted IP address",
    "planted-custom": "planted custom data",
    "planted-name": "planted name",
    "email": "e-mail address",
    "ipv4": "IPv4 address",
    "national-register-number": "national register number",
    "phone": "phone number",
    "iban": "bank account number (IBAN)",
    "name": "name after a form of address or role",
}


def _inside(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in taken)


def _standalone(text: str, m: re.Match) -> bool:
    """Not part of a longer token (hash, id, word) and not the decimals of a number."""
    a, b = m.span()
    while a < b and not text[a].isalnum() and text[a] not in "+(":
        a += 1
    before = text[a - 1] if a > 0 else ""
    after = text[b] if b < len(text) else ""
    if before.isalnum() or before == "_" or after.isalnum() or after == "_":
        return False
    if before in ".," and a > 1 and text[a - 2].isdigit():
        return False  # 0.00343828652 or 12,0034382865
    if after in ".," and b + 1 < len(text) and text[b + 1].isdigit():
        return False
    return True


def _valid_rrn(value: str) -> bool:
    """Belgian national register number: yymmdd + 3-digit counter + check (97 - n mod 97)."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 11:
        return False
    month, day = int(digits[2:4]), int(digits[4:6])
    if month > 12 and not (20 <= month <= 32 or 40 <= month <= 52):  # bis numbers add 20 or 40
        return False
    if day > 31:
        return False
    body, check = int(digits[:9]), int(digits[9:])
    return check in (97 - body % 97, 97 - (2_000_000_000 + body) % 97)


# ------------------------------------------------------------------ readers: (where, text, patterns)

Piece = tuple[str, str, bool]


def _lines(text: str, prefix: str = "line") -> Iterator[Piece]:
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield f"{prefix} {i}", line, True


def _text_of(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def _read_ipynb(path: Path) -> Iterator[Piece]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb.get("metadata")
    if meta:
        yield "notebook metadata", json.dumps(meta, ensure_ascii=False), True
    for i, cell in enumerate(nb.get("cells", [])):
        label = f"cell {i}"
        if cell.get("execution_count"):
            label += f" [{cell['execution_count']}]"
        src = _text_of(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            src = _DATA_URI.sub("data:…", src)
        if src.strip():
            yield f"{label} source", src, True
        if cell.get("metadata"):
            yield f"{label} metadata", json.dumps(cell["metadata"], ensure_ascii=False), True
        for att_name in (cell.get("attachments") or {}):
            yield f"{label} attachment name", att_name, True
        for j, out in enumerate(cell.get("outputs", [])):
            where = f"{label} output {j}"
            kind = out.get("output_type")
            if kind == "stream":
                yield f"{where} ({out.get('name', 'stream')})", _text_of(out.get("text")), True
            elif kind == "error":
                yield f"{where} (error)", "\n".join([str(out.get("ename", "")), str(out.get("evalue", ""))]
                                                    + [str(t) for t in out.get("traceback", [])]), True
            for mime, data in (out.get("data") or {}).items():
                if _IMAGE_MIME.match(mime):
                    continue  # base64 payload
                text = data if isinstance(data, str) else (_text_of(data) if isinstance(data, list)
                                                           else json.dumps(data, ensure_ascii=False))
                if "html" in mime or "markdown" in mime or "svg" in mime:
                    text = html_lib.unescape(_DATA_URI.sub("data:…", text))
                yield f"{where} ({mime})", text, True
            if out.get("metadata"):
                yield f"{where} metadata", json.dumps(out["metadata"], ensure_ascii=False), True


def _read_html(path: Path) -> Iterator[Piece]:
    text = _DATA_URI.sub("data:…", path.read_text(encoding="utf-8", errors="replace"))
    yield from _lines(html_lib.unescape(text))


def _pdf_pages(path: Path) -> list[str]:
    exe = shutil.which("pdftotext")
    if exe:
        proc = subprocess.run([exe, "-q", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=300)
        if proc.returncode != 0:
            raise ValueError(f"pdftotext failed ({proc.stderr.decode(errors='replace').strip() or proc.returncode})")
        pages = proc.stdout.decode("utf-8", errors="replace").split("\f")
        return pages[:-1] if pages and not pages[-1].strip() else pages
    from pypdf import PdfReader  # pragma: no cover - pdftotext is a system dependency

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def _read_pdf(path: Path) -> Iterator[Piece]:
    for n, page in enumerate(_pdf_pages(path), 1):
        yield f"page {n}", page, True
        # a wrapped line may split a name: look for planted values in the joined page too
        # (not for patterns: numbers of neighbouring table cells would join into "phone numbers")
        joined = " ".join(page.split())
        if joined != page:
            yield f"page {n}", joined, False


def _read_xlsx(path: Path) -> Iterator[Piece]:
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=False)
    try:
        props = wb.properties
        for attr in ("title", "subject", "creator", "keywords", "description", "lastModifiedBy",
                     "category", "contentStatus", "identifier", "language", "version", "revision"):
            value = getattr(props, attr, None)
            if value:
                yield f"document properties ({attr})", str(value), True
        for prop in getattr(wb, "custom_doc_props", None) or []:
            yield f"document properties (custom {prop.name})", f"{prop.name}: {getattr(prop, 'value', '')}", True
        for ws in wb.worksheets:
            yield f"sheet {ws.title!r} (name)", ws.title, True
            for part in (ws.oddHeader, ws.oddFooter, ws.evenHeader, ws.evenFooter):
                for seg in (part.left, part.center, part.right):
                    if seg is not None and seg.text:
                        yield f"sheet {ws.title!r} header/footer", seg.text, True
            for row in ws.iter_rows():
                for cell in row:
                    where = f"sheet {ws.title!r} cell {cell.coordinate}"
                    if isinstance(cell.value, str):
                        yield where, cell.value, True
                    if cell.comment is not None and cell.comment.text:
                        yield f"{where} comment", cell.comment.text, True
                    if cell.hyperlink is not None and (cell.hyperlink.target or cell.hyperlink.location):
                        yield f"{where} hyperlink", str(cell.hyperlink.target or cell.hyperlink.location), True
    finally:
        wb.close()


def _read_parquet(path: Path) -> Iterator[Piece]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for name in table.column_names:
        col = table.column(name)
        if not (str(col.type) in ("string", "large_string") or str(col.type).startswith("dictionary")):
            continue
        # SurveyMonkey ids are digit strings by design: planted values only, no patterns
        patterns = name not in ("respondent_id", "collector_id")
        seen: dict[str, int] = {}
        for i, value in enumerate(col.to_pylist()):
            if isinstance(value, str) and value and value not in seen:
                seen[value] = i
        for value, i in seen.items():
            yield f"column {name!r} row {i}", value, patterns


def _walk_json(obj, where: str = "$") -> Iterator[Piece]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk_json(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_json(v, f"{where}[{i}]")
    elif isinstance(obj, str) and obj:
        yield where, obj, True


def _read_json(path: Path) -> Iterator[Piece]:
    yield from _walk_json(json.loads(path.read_text(encoding="utf-8")))


def _read_text(path: Path) -> Iterator[Piece]:
    yield from _lines(path.read_text(encoding="utf-8", errors="replace"))


READERS = {".ipynb": _read_ipynb, ".html": _read_html, ".htm": _read_html, ".pdf": _read_pdf,
           ".xlsx": _read_xlsx, ".parquet": _read_parquet, ".json": _read_json,
           **{s: _read_text for s in TEXT_SUFFIXES}}


# ------------------------------------------------------------------ small groups

def _number(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else float(v)
    if isinstance(v, str):
        try:
            return float(v.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def _results_threshold(data: dict, threshold: int) -> int:
    declared = _number(data.get("threshold"))
    return max(threshold, int(declared)) if declared is not None else threshold


def small_groups_json(data: dict, threshold: int) -> Iterator[tuple[str, str, str]]:
    """(where, kind, detail) for small groups shown in a results dict."""
    threshold = _results_threshold(data, threshold)
    for table, by, count, figures, flag in _GROUP_TABLES:
        rows = data.get(table) or []
        if not isinstance(rows, list):
            continue
        sets: dict[object, list[tuple[int, dict]]] = {}
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                continue
            where = f"$.{table}[{i}]"
            label = " / ".join(str(row[k]) for k in (by, "group", "period_label", "label") if k and row.get(k) is not None)
            n = _number(row.get(count))
            hidden = bool(row.get(flag))
            if not hidden and n is not None and 0 < n < threshold:
                yield where, "small-group", (f"group {label!r} shown with {count} = {n:g} "
                                             f"(below the threshold {threshold}) and not suppressed")
            if hidden:
                shown = [c for c in figures + ((count,) if table != "subgroups" else ())
                         if _number(row.get(c)) is not None]
                if shown:
                    yield where, "suppressed-shown", (f"group {label!r} is marked suppressed but still shows "
                                                      f"{', '.join(shown)}")
            if by is not None:
                sets.setdefault(row.get(by), []).append((i, row))
        for key, members in sets.items():
            hidden = [i for i, r in members if r.get(flag)]
            shown = [i for i, r in members if not r.get(flag) and (_number(r.get(count)) or 0) > 0]
            if len(hidden) == 1 and shown:
                yield (f"$.{table}[{hidden[0]}]", "complementary-disclosure",
                       f"only one group suppressed in {table} {key!r} while {len(shown)} other(s) are shown: "
                       "the total minus the shown groups reveals it")
    yield from _months_in_quarters(data.get("trend"))
    yield from _small_bases(data, threshold)
    yield from _breakdowns_against_distributions(data)


def _breakdowns_against_distributions(data: dict) -> Iterator[tuple[str, str, str]]:
    """A breakdown's group counted in the distribution of its question while the
    breakdown hides it (or the other way round): the counts shown in the two tables
    together can reveal a group hidden in both."""
    options = {}
    for i, r in _rows(data, "distributions"):
        if r.get("kind") == "choice" and not r.get("item"):
            options[(r.get("question"), str(r.get("label")))] = (i, bool(r.get("suppressed")))
    for i, r in _rows(data, "breakdowns"):
        key = (r.get("question"), str(r.get("group")))
        if key not in options:
            continue
        j, hidden_there = options[key]
        if bool(r.get("suppressed")) != hidden_there:
            where, other = (f"$.distributions[{j}]", "breakdown") if r.get("suppressed") else (f"$.breakdowns[{i}]",
                                                                                              "distribution")
            yield (where, "complementary-disclosure",
                   f"group {key[1]!r} of question {key[0]!r} is hidden in the {other} but its count is shown here: "
                   "the counts of the two tables together can reveal a hidden group")


def _rows(data: dict, table: str) -> list[tuple[int, dict]]:
    rows = data.get(table) or []
    return [(i, r) for i, r in enumerate(rows) if isinstance(r, dict)] if isinstance(rows, list) else []


def _months_in_quarters(trend) -> Iterator[tuple[str, str, str]]:
    """A hidden month that its shown quarter minus the quarter's shown months reveals, or
    a hidden quarter that its shown months add up to (for the group, and for its NPS)."""
    rows = _rows({"trend": trend}, "trend")
    quarters = [(i, r) for i, r in rows if r.get("period_type") == "quarter"]
    for flag in ("suppressed", "nps_suppressed"):
        for qi, quarter in quarters:
            if flag not in quarter:
                continue
            q = int(_number(quarter.get("period")) or 0)
            months = [(i, r) for i, r in rows if r.get("period_type") == "month" and flag in r
                      and 3 * q - 2 <= (_number(r.get("period")) or 0) <= 3 * q]
            hidden = [i for i, r in months if r.get(flag)]
            if not quarter.get(flag) and len(hidden) == 1:
                yield (f"$.trend[{hidden[0]}]", "complementary-disclosure",
                       f"the only month hidden ({flag}) in quarter K{q}, which is shown: the quarter minus the "
                       "other months reveals it")
            elif quarter.get(flag) and months and not hidden:
                yield (f"$.trend[{qi}]", "complementary-disclosure",
                       f"quarter K{q} is hidden ({flag}) but all its months are shown: they add up to it")


def _small_bases(data: dict, threshold: int) -> Iterator[tuple[str, str, str]]:
    """Figures of the whole survey on fewer answers than the threshold, not suppressed:
    a question's (item's) answers, the NPS table, the improvement themes."""
    groups: dict[tuple, list[tuple[int, dict]]] = {}
    for i, r in _rows(data, "distributions"):
        if r.get("kind") in ("scale", "choice", "score"):
            groups.setdefault((r.get("question"), r.get("item")), []).append((i, r))
    for (question, item), members in groups.items():
        shown = [(i, r) for i, r in members if not r.get("suppressed")]
        base = sum(_number(r.get("count")) or 0 for _, r in shown)
        if shown and 0 < base < threshold:
            yield (f"$.distributions[{shown[0][0]}]", "small-group",
                   f"question {question!r}{f' item {item!r}' if item else ''} shows the answers of {base:g} "
                   f"respondent(s) (below the threshold {threshold}) and is not suppressed")
            continue
        for i, r in shown:  # an option of a choice question is a group (a breakdown shows it)
            k = _number(r.get("count"))
            if r.get("kind") == "choice" and k is not None and 0 < k < threshold:
                yield (f"$.distributions[{i}]", "small-group",
                       f"option {r.get('label')!r} of question {question!r} shows a group of {k:g} "
                       f"(below the threshold {threshold}) and is not suppressed")
    for i, r in _rows(data, "nps"):
        n = _number(r.get("count"))
        if r.get("component") == "score" and not r.get("suppressed") and n is not None and 0 < n < threshold:
            yield (f"$.nps[{i}]", "small-group", f"the NPS rests on {n:g} answers (below the threshold "
                                                 f"{threshold}) and is not suppressed")
    for i, r in _rows(data, "themes"):
        n, share = _number(r.get("n")), _number(r.get("share"))
        if not r.get("suppressed") and n and share:
            answers = round(n / share)
            if answers < threshold:
                yield (f"$.themes[{i}]", "small-group", f"theme {r.get('theme')!r} shares rest on {answers} open "
                                                        f"answers (below the threshold {threshold}) and are not suppressed")
                break


def _header_key(value) -> str:
    return _NOTE.sub("", str(value)).strip() if value is not None else ""


def small_groups_xlsx(path: Path, threshold: int) -> Iterator[tuple[str, str, str]]:
    """(where, kind, detail) for group counts below the threshold in an appendix's tables."""
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    wb = openpyxl.load_workbook(path, data_only=True)
    try:
        for ws in wb.worksheets:
            ranges = [t.ref for t in ws.tables.values()] if ws.tables else []
            if not ranges:  # no Excel table: take the first row holding a count header
                for row in ws.iter_rows():
                    if any(_header_key(c.value) in GROUP_COUNT_HEADERS for c in row):
                        ranges.append(f"{row[0].coordinate}:{ws.cell(ws.max_row, ws.max_column).coordinate}")
                        break
            for ref in ranges:
                min_col, min_row, max_col, max_row = range_boundaries(ref)
                header = {c: _header_key(ws.cell(min_row, c).value) for c in range(min_col, max_col + 1)}
                cols = [c for c, h in header.items() if h in GROUP_COUNT_HEADERS]
                for c in cols:
                    for r in range(min_row + 1, max_row + 1):
                        cell = ws.cell(r, c)
                        n = _number(cell.value)
                        if n is not None and 0 < n < threshold:
                            name = _first_text(ws, r, min_col, max_col)
                            yield (f"sheet {ws.title!r} cell {cell.coordinate}", "small-group",
                                   f"{header[c]} = {n:g} for {name!r} (below the threshold {threshold})")
    finally:
        wb.close()


def _first_text(ws, row: int, min_col: int, max_col: int) -> str:
    parts = [str(ws.cell(row, c).value) for c in range(min_col, min(max_col, min_col + 1) + 1)
             if isinstance(ws.cell(row, c).value, str)]
    return " / ".join(parts) or f"row {row}"


# ------------------------------------------------------------------ audit

def output_files(paths: Iterable[Path]) -> list[Path]:
    """Every auditable file under the given folders (or the files themselves)."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise AgiiError("path not found", file=p, expected="a reports folder or an output file")
        if p.is_file():
            found.append(p)
        else:
            found.extend(f for f in sorted(p.rglob("*")) if f.is_file() and f.suffix.lower() in SUFFIXES)
    return found


def _sibling_threshold(path: Path, threshold: int) -> int:
    """The threshold declared by the results file next to an appendix (same survey-year)."""
    stem = path.name.removesuffix("_bijlage.xlsx")
    results = path.with_name(f"{stem}_resultaten.json")
    if results.exists():
        try:
            return _results_threshold(json.loads(results.read_text(encoding="utf-8")), threshold)
        except (OSError, ValueError):
            pass
    return threshold


def audit_file(path: Path, scanner: Scanner, threshold: int = DEFAULT_THRESHOLD) -> list[Finding]:
    path = Path(path)
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        return []
    name = str(path)
    found: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    try:
        for where, text, patterns in reader(path):
            for kind, detail in scanner.scan(text, patterns):
                if (where, detail) not in seen:
                    seen.add((where, detail))
                    found.append(Finding(name, where, kind, detail))
        if suffix == ".json" and path.name.endswith("_resultaten.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                found.extend(Finding(name, w, k, d) for w, k, d in small_groups_json(data, threshold))
        if suffix == ".xlsx":
            found.extend(Finding(name, w, k, d) for w, k, d in small_groups_xlsx(path, _sibling_threshold(path, threshold)))
    except Exception as exc:  # a damaged or truncated output cannot be vouched for
        found.append(Finding(name, "whole file", "unreadable", f"cannot be read ({type(exc).__name__}: {exc})"))
    return found


def audit(paths: Iterable[Path] | Path, planted: Path | None = None, threshold: int = DEFAULT_THRESHOLD) -> list[Finding]:
    """Every finding in the outputs under `paths` (see the module docstring).

    `planted`: the JSON of planted private values; default the demo's
    `data/raw/demo/planted_private.json` when it exists (patterns and small groups are
    checked either way).
    """
    if isinstance(paths, (str, Path)):
        paths = [Path(paths)]
    if planted is None and DEFAULT_PLANTED.exists():
        planted = DEFAULT_PLANTED
    scanner = Scanner(Planted.load(planted))
    findings: list[Finding] = []
    for f in output_files(paths):
        findings.extend(audit_file(f, scanner, threshold))
    return findings


def audit_cli(args) -> int:
    paths = list(args.paths) or [Path("reports")]
    planted = getattr(args, "planted", None)
    if planted is not None and not Path(planted).exists():
        raise AgiiError("planted values file not found", file=planted)
    threshold = getattr(args, "threshold", None) or DEFAULT_THRESHOLD
    files = output_files(paths)
    findings = audit(paths, planted=planted, threshold=threshold)
    for f in findings:
        print(f)
    if findings:
        n_files = len({f.file for f in findings})
        print(f"agii audit: {len(findings)} finding(s) in {n_files} of {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"agii audit: clean ({len(files)} file(s) scanned)")
    return 0
