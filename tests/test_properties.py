"""Property tests: random valid exports, metric invariants and byte-level mutations.

- Random valid vorming exports (CSV in several encodings or XLSX; answers drawn from
  the codebook's labels with random case and spacing; random blanks, dates outside the
  year, exact duplicate rows, filled private columns) never fail and every row read is
  accounted for: read == used + excluded, each exclusion as expected, per-question
  counts equal to the answers given and never above the used respondents, and no
  private value in the table.
- `stats.proportion`: 0 <= lo <= p <= hi <= 1; the interval collapses when n == N.
- `stats.nps`: -100 <= lo <= score <= hi <= 100.
- Flipped, inserted, deleted and truncated bytes of a real export
  (steak-risk-survey.csv), a demo CSV and a demo XLSX (its zip bytes and its sheet XML)
  end in a successful read + harmonise or in one AgiiError line, never another
  exception.

Budget: the whole module runs in well under a minute; the hypothesis database is off
so no .hypothesis/ folder is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agii_analysis import stats
from agii_analysis.codebook import load_codebook
from agii_analysis.errors import AgiiError
from agii_analysis.harmonise import harmonise
from agii_analysis.reader import read_export
from exportkit import META, VORMING

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / ".." / "shared" / "real-exports"
STEAK = REAL / "fivethirtyeight__data__steak-risk-survey.csv"
DEMO_CSV = ROOT / "data" / "raw" / "demo" / "2022" / "vorming_2022_b.csv"
DEMO_XLSX = ROOT / "data" / "raw" / "demo" / "2022" / "vorming_2022_a.xlsx"
YEAR = 2022

FAST = settings(max_examples=500, deadline=None, database=None)
SLOW = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MUTATE = settings(max_examples=200, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- random valid exports

CODEBOOK = load_codebook("vorming")
# (question id, matrix item or "") per answer column of VORMING, in order.
COLUMNS = [("thema", ""), ("vorm", ""), ("organisatie", ""), ("tevreden", ""),
           ("aspecten", "lesgever"), ("aspecten", "inhoud"), ("aspecten", "bruikbaarheid"),
           ("aspecten", "organisatie"), ("aanraden", ""), ("verbeteren", "")]
CLOSED = sorted({q for q, _ in COLUMNS if CODEBOOK.questions[q].type != "open"})


def _labels(qid: str) -> list[str]:
    q = CODEBOOK.questions[qid]
    if q.type == "nps":
        return [str(s) for s in range(0, 11)]
    return [o.nl for o in CODEBOOK.answer_options(q, YEAR)]


LABELS = {q: _labels(q) for q, _ in COLUMNS if CODEBOOK.questions[q].type != "open"}
OPEN_TEXT = st.lists(st.characters(blacklist_categories=("Cs", "Cc"))
                     | st.sampled_from(["\n", " ", "’", "😀", "👩🏾‍🏫", "شكراً", "\u200f", "é", "=1+1", ";", '"']),
                     max_size=12).map("".join)


@st.composite
def label_cell(draw, qid: str):
    """A codebook label as someone might have typed it: case and spacing vary."""
    label = draw(st.sampled_from(LABELS[qid]))
    style = draw(st.sampled_from(["as is", "as is", "upper", "lower", "spaced"]))
    return {"as is": label, "upper": label.upper(), "lower": label.lower(),
            "spaced": f"  {label.replace(' ', '  ')} "}[style]


@st.composite
def respondent(draw):
    cells = []
    for qid, _ in COLUMNS:
        if CODEBOOK.questions[qid].type == "open":
            cells.append(draw(st.one_of(st.just(""), OPEN_TEXT)))
        else:
            cells.append(draw(st.one_of(st.just(""), label_cell(qid))))
    if draw(st.booleans()) and draw(st.booleans()):
        cells = [""] * len(cells)  # opened the survey, answered nothing
    when = draw(st.sampled_from(["in", "in", "in", "before", "after"]))
    day = draw(st.datetimes(dt.datetime(2022, 1, 1), dt.datetime(2022, 12, 31, 23, 59)))
    if when != "in":
        day = day.replace(year=2021 if when == "before" else 2023)
    private = draw(st.integers(0, 10**6))
    return {"cells": cells, "end": day.replace(microsecond=0), "private": private}


@st.composite
def export(draw):
    people = draw(st.lists(respondent(), min_size=1, max_size=15))
    rows = [{**p, "id": 11400000000 + i * 7 + 1, "copy": False} for i, p in enumerate(people)]
    # exact copies of some rows (overlapping exports), anywhere in the file
    for i in draw(st.lists(st.integers(0, len(people) - 1), max_size=4)):
        rows.insert(draw(st.integers(0, len(rows))), {**rows[[r["id"] for r in rows].index(11400000000 + i * 7 + 1)],
                                                      "copy": True})
    fmt = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252;", "xlsx"]))
    date_style = draw(st.sampled_from(["surveymonkey", "excel"]))
    return {"rows": rows, "fmt": fmt, "date_style": date_style}


def _date_text(d: dt.datetime, style: str) -> str:
    if style == "surveymonkey":
        return d.strftime("%m/%d/%Y %I:%M:%S %p")
    return f"{d.month}/{d.day}/{d:%y} {d:%H:%M}"


def _write(spec: dict, folder: Path) -> Path:
    head1 = list(META) + [q for q, _ in VORMING]
    head2 = [""] * len(META) + [s for _, s in VORMING]
    grid = [head1, head2]
    xlsx = spec["fmt"] == "xlsx"
    for r in spec["rows"]:
        n = r["private"]
        end = r["end"] if xlsx else _date_text(r["end"], spec["date_style"])
        grid.append([r["id"] if xlsx else str(r["id"]), "400000001", end, end, f"10.0.{n % 256}.1",
                     f"priv{n}@example.org", f"Voornaam{n}", f"Achternaam{n}", f"custom{n}"] + list(r["cells"]))
    if xlsx:
        path = folder / "export.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        for i, row in enumerate(grid, 1):
            for j, v in enumerate(row, 1):
                if v not in ("", None):
                    cell = ws.cell(row=i, column=j, value=v)
                    if isinstance(v, str) and v.startswith("="):
                        cell.data_type = "s"  # text, not a formula
        wb.save(path)
        return path
    encoding, sep = (spec["fmt"].rstrip(";"), ";") if spec["fmt"].endswith(";") else (spec["fmt"], ",")
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(grid)
    path = folder / "export.csv"
    try:
        data = buf.getvalue().encode(encoding)
    except UnicodeEncodeError:  # cp1252 cannot hold every character: as SurveyMonkey would, UTF-8
        data = buf.getvalue().encode("utf-8")
    if encoding == "cp1252" and _also_utf8(data) not in (None, buf.getvalue()):
        # cp1252 bytes that are valid UTF-8 too ("Â‘" is C2 91, U+0091) mean something else
        # as UTF-8, which the reader takes first (with a warning: test_reader covers it); the
        # draw's texts are only what the file says when it is written as UTF-8
        data = buf.getvalue().encode("utf-8")
    path.write_bytes(data)
    return path


def _also_utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _answered(cell: str) -> bool:
    return bool(cell.strip())


@SLOW
@given(export())
def test_random_valid_exports_account_for_every_row(spec):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(spec, Path(folder))
        h = harmonise([(read_export(path), None)], CODEBOOK, YEAR)
    acc = h.accounting
    rows = spec["rows"]
    originals = [r for r in rows if not r["copy"]]
    inside = [r for r in originals if r["end"].year == YEAR]
    used = [r for r in inside if any(_answered(c) for c in r["cells"])]
    assert acc["read"] == len(rows)
    assert acc["read"] == acc["used"] + sum(acc["excluded"].values())
    assert acc["excluded"]["duplicate"] == len(rows) - len(originals)
    assert acc["excluded"]["outside_period"] == len(originals) - len(inside)
    assert acc["excluded"]["no_answer"] == len(inside) - len(used)
    assert acc["excluded"]["no_date"] == 0
    assert acc["used"] == len(used) == len(h.used)
    assert acc["unknown_labels"] == []

    r = h.responses
    assert set(r["respondent_id"]) == {str(x["id"]) for x in used if any(_answered(c) for c in x["cells"])}
    for j, (qid, item) in enumerate(COLUMNS):
        got = r[(r["question"] == qid) & (r["item"] == item)]
        expected = sum(_answered(x["cells"][j]) for x in used)
        assert len(got) == expected <= acc["used"], (qid, item)
        assert got["respondent_id"].is_unique
        if qid != "verbeteren":
            labels = [lab.casefold() for lab in LABELS[qid]]
            want = sorted(float(_code(qid, labels.index(" ".join(x["cells"][j].split()).casefold())))
                          for x in used if _answered(x["cells"][j]))
            assert sorted(got["code"].tolist()) == want, (qid, item)
        else:
            want = sorted(x["cells"][j].strip() for x in used if _answered(x["cells"][j]))
            assert sorted(got["text"].tolist()) == want
    complete = sum(all(any(_answered(x["cells"][j]) for j, (q, _) in enumerate(COLUMNS) if q == qid)
                       for qid in CLOSED) for x in used)
    assert acc["complete"] == complete and acc["partial"] == acc["used"] - complete
    # nothing leaked: no private column value anywhere in the table
    values = set(r["text"].dropna()) | set(r["label_nl"].dropna()) | set(r["collector_id"].dropna())
    for x in rows:
        n = x["private"]
        assert not values & {f"10.0.{n % 256}.1", f"priv{n}@example.org", f"Voornaam{n}", f"Achternaam{n}", f"custom{n}"}


def _code(qid: str, position: int) -> int:
    q = CODEBOOK.questions[qid]
    if q.type == "nps":
        return position
    return CODEBOOK.answer_options(q, YEAR)[position].code


# --------------------------------------------------------------------------- metric invariants

@st.composite
def k_n_N(draw):
    n = draw(st.integers(0, 5000))
    k = draw(st.integers(0, n))
    N = draw(st.one_of(st.none(), st.just(n), st.integers(max(n, 1), 50000)))
    return k, n, N


@FAST
@given(k_n_N(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportion_interval_is_ordered_and_collapses_for_a_census(knN, conf):
    k, n, N = knN
    est = stats.proportion(k, n, N, conf)
    if n == 0:
        assert est.p != est.p  # NaN: no answers, no share
        return
    assert 0.0 <= est.lo <= est.p <= est.hi <= 1.0
    assert est.p == k / n
    assert est.se >= 0
    if N is not None and n == N:
        assert est.lo == est.p == est.hi and est.se == 0


@st.composite
def nps_counts(draw):
    pr, pa, de = (draw(st.integers(0, 2000)) for _ in range(3))
    n = pr + pa + de
    N = draw(st.one_of(st.none(), st.just(n), st.integers(max(n, 1), 20000)))
    return pr, pa, de, N


@FAST
@given(nps_counts(), st.sampled_from([0.9, 0.95, 0.99]))
def test_nps_score_in_range_and_inside_its_interval(counts, conf):
    pr, pa, de, N = counts
    est = stats.nps(pr, pa, de, N, conf)
    if pr + pa + de == 0:
        assert est.score != est.score
        return
    assert -100.0 <= est.lo <= est.score <= est.hi <= 100.0
    assert abs(est.p_promoters + est.p_passives + est.p_detractors - 1) < 1e-12
    if N is not None and N == est.n:
        assert est.lo == est.score == est.hi


# --------------------------------------------------------------------------- mutations

@st.composite
def mutations(draw, size: int):
    """A list of (kind, position, payload); positions are fractions of the current length."""
    ops = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["flip", "flip", "set", "set", "insert", "delete", "truncate"]))
        pos = draw(st.floats(0, 1, allow_nan=False))
        if kind == "flip":
            payload = draw(st.integers(1, 255))
        elif kind == "set":  # a plausible character: gets past the encoding check into the cells
            payload = draw(st.sampled_from(list(b',;"\n\r\t 0123456789abcxyzABCXYZ-/:.<>=&')))
        elif kind == "insert":
            payload = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                [b",", b";", b'"', b"\n", b"\r\n", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xe9", b"<", b"</"]))
        else:
            payload = draw(st.integers(1, max(1, size // 50)))
        ops.append((kind, pos, payload))
    return ops


def _mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for kind, frac, payload in ops:
        i = min(int(frac * len(buf)), max(len(buf) - 1, 0))
        if kind == "flip" and buf:
            buf[i] ^= payload
        elif kind == "set" and buf:
            buf[i] = payload
        elif kind == "insert":
            buf[i:i] = payload
        elif kind == "delete":
            del buf[i:i + payload]
        elif kind == "truncate":
            del buf[i:]
    return bytes(buf)


def _read_and_harmonise(data: bytes, suffix: str, codebook, year: int) -> None:
    """Either works or raises one AgiiError line; any other exception fails the test."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"mutated{suffix}"
        path.write_bytes(data)
        try:
            harmonise([(read_export(path), None)], codebook, year, unknown_labels="missing")
        except AgiiError as exc:
            assert "\n" not in str(exc) and path.name in str(exc)


def _base(path: Path) -> bytes:
    if not path.exists():
        where = "the real exports" if REAL.name in str(path) else "the demo exports (run .venv/bin/agii demo)"
        pytest.skip(f"{path} is absent: {where}")
    return path.read_bytes()


@lru_cache(maxsize=None)
def _steak_codebook():
    """A codebook for the real export, drafted from it as `agii inspect` would."""
    from agii_analysis.inspect_export import draft_codebook

    text = draft_codebook(read_export(STEAK), "steak", year=2023)  # the export has no dates
    text = text.replace("headline: 'TODO: id van de vraag naar de algemene tevredenheid (type scale)'",
                        "headline: tevreden")
    text += "  tevreden:\n    type: scale\n    text:\n      nl: Hoe tevreden bent u?\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "steak.yaml"
        path.write_text(text, encoding="utf-8")
        return load_codebook(path)


@MUTATE
@given(st.data())
def test_mutated_real_export_reads_or_fails_cleanly(data):
    base = _base(STEAK)
    ops = data.draw(mutations(len(base)))
    _read_and_harmonise(_mutate(base, ops), ".csv", _steak_codebook(), 2023)


@MUTATE
@given(st.data())
def test_mutated_demo_csv_reads_or_fails_cleanly(data):
    base = _base(DEMO_CSV)
    ops = data.draw(mutations(len(base)))
    _read_and_harmonise(_mutate(base, ops), ".csv", CODEBOOK, YEAR)


@MUTATE
@given(st.data())
def test_mutated_demo_xlsx_bytes_read_or_fail_cleanly(data):
    base = _base(DEMO_XLSX)
    ops = data.draw(mutations(len(base)))
    _read_and_harmonise(_mutate(base, ops), ".xlsx", CODEBOOK, YEAR)


@lru_cache(maxsize=None)
def _xlsx_members() -> tuple[tuple[str, bytes], ...]:
    with zipfile.ZipFile(io.BytesIO(_base(DEMO_XLSX))) as z:
        return tuple((n, z.read(n)) for n in z.namelist())


@MUTATE
@given(st.data())
def test_mutated_demo_xlsx_sheet_xml_reads_or_fails_cleanly(data):
    """A well-formed zip whose sheet or shared-strings XML is damaged."""
    members = _xlsx_members()
    targets = [n for n, _ in members if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml"]
    target = data.draw(st.sampled_from(targets))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members:
            if name == target:
                content = _mutate(content, data.draw(mutations(len(content))))
            z.writestr(name, content)
    _read_and_harmonise(buf.getvalue(), ".xlsx", CODEBOOK, YEAR)
