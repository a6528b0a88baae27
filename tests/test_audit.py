"""`agii audit`: the demo build is clean; planted or pattern-like personal data and
unsuppressed small groups injected into copies of the outputs are found, per file type;
and end to end, an e-mail address typed into an open answer never reaches an output."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest

from agii_analysis.audit import DEFAULT_PLANTED, Finding, Planted, Scanner, audit, output_files
from agii_analysis.params import REPO_ROOT

ROOT = REPO_ROOT
SURVEY, YEAR = "vorming", 2022

pytestmark = pytest.mark.skipif(not DEFAULT_PLANTED.exists(), reason="run `agii demo` first (planted_private.json)")


def _planted() -> dict:
    return json.loads(DEFAULT_PLANTED.read_text(encoding="utf-8"))


def _agii(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "import sys; from agii_analysis.cli import main; sys.exit(main(sys.argv[1:]))", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture
def survey_copy(demo_build, tmp_path) -> Path:
    """A copy of one built survey-year (five files) plus its year's manifest."""
    dst = tmp_path / "reports" / str(YEAR)
    shutil.copytree(demo_build / str(YEAR) / SURVEY, dst / SURVEY)
    shutil.copy2(demo_build / str(YEAR) / "manifest.json", dst / "manifest.json")
    return tmp_path / "reports"


def _file(reports: Path, suffix: str) -> Path:
    stem = f"{SURVEY}_{YEAR}"
    name = {"xlsx": f"{stem}_bijlage.xlsx", "json": f"{stem}_resultaten.json"}.get(suffix, f"{stem}.{suffix}")
    return reports / str(YEAR) / SURVEY / name


# ------------------------------------------------------------------ the demo build is clean

def test_demo_build_is_clean(demo_build):
    files = output_files([demo_build])
    kinds = {f.suffix for f in files}
    assert {".ipynb", ".html", ".pdf", ".xlsx", ".json"} <= kinds
    assert len(files) >= 5 * 13  # every survey-year's five outputs (plus overviews and manifests)
    findings = audit([demo_build])
    assert findings == [], "\n".join(map(str, findings[:30]))


def test_cli_clean_exit_0(demo_build):
    proc = _agii("audit", demo_build)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "clean" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_harmonised_cache_is_clean():
    """The Parquet cache holds the redacted open answers: no planted value, no pattern."""
    processed = ROOT / "data" / "processed"
    if not any(processed.glob("*.parquet")):
        pytest.skip("no Parquet cache yet")
    findings = audit([processed])
    assert findings == [], "\n".join(map(str, findings[:30]))


# ------------------------------------------------------------------ injected leaks are found

def _inject_xlsx(path: Path, text: str) -> str:
    wb = openpyxl.load_workbook(path)
    ws = wb["Respons"] if "Respons" in wb.sheetnames else wb.worksheets[-1]
    cell = ws.cell(ws.max_row + 2, 1)
    cell.value = f"Vragen: {text}"
    where = f"sheet {ws.title!r} cell {cell.coordinate}"
    wb.save(path)
    return where


def _inject_html(path: Path, text: str) -> str:
    html = path.read_text(encoding="utf-8")
    assert "</body>" in html
    html = html.replace("</body>", f"<p>Contact: {text}</p>\n</body>", 1)
    path.write_text(html, encoding="utf-8")
    line = html[: html.index(text)].count("\n") + 1
    return f"line {line}"


def _inject_ipynb(path: Path, text: str) -> str:
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("outputs"))
    nb.cells[index].outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"mail {text}\n"))
    nbformat.write(nb, path)
    return f"cell {index}"


def _inject_pdf(path: Path, text: str) -> str:
    from weasyprint import HTML

    HTML(string=f"<html><body><h1>Rapport</h1><p>Contact: {text}</p></body></html>").write_pdf(path)
    return "page 1"


def _inject_json(path: Path, text: str) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["notes"] = list(data.get("notes") or []) + [f"Vragen? {text}"]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return f"$.notes[{len(data['notes']) - 1}]"


INJECT = {"xlsx": _inject_xlsx, "html": _inject_html, "ipynb": _inject_ipynb, "pdf": _inject_pdf, "json": _inject_json}


@pytest.mark.parametrize("suffix", ["xlsx", "html", "ipynb", "pdf"])
def test_cli_finds_a_planted_email_injected_into_an_output(survey_copy, suffix):
    email = _planted()["email_addresses"][0]
    target = _file(survey_copy, suffix)
    where = INJECT[suffix](target, email)
    proc = _agii("audit", survey_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stdout.splitlines() if email in l]
    assert lines, proc.stdout
    assert all(str(target) in l for l in lines), lines  # only the injected file
    assert any(where.split(" [")[0] in l and "planted e-mail address" in l for l in lines), (where, lines)


@pytest.mark.parametrize("suffix", ["xlsx", "html", "ipynb", "pdf", "json"])
@pytest.mark.parametrize("kind,value", [
    ("planted-ip", None),
    ("planted-custom", None),
    ("planted-name", None),
    ("email", "j.devos@gemeente-voorbeeld.be"),
    ("phone", "0470 12 34 56"),
    ("phone", "+32 9 123 45 67"),
    ("national-register-number", "85.07.30-033.28"),
    ("ipv4", "10.20.30.40"),
    ("name", "juf Yasmina"),
    ("iban", "BE68 5390 0754 7034"),
])
def test_every_kind_is_found_in_every_file_type(survey_copy, suffix, kind, value):
    planted = _planted()
    if value is None:
        value = {"planted-ip": planted["ip_addresses"][3], "planted-custom": planted["custom_data"][5],
                 "planted-name": f"{planted['first_names'][3]} {planted['last_names'][2]}"}[kind]
    target = _file(survey_copy, suffix)
    INJECT[suffix](target, value)
    findings = audit([survey_copy])
    hits = [f for f in findings if f.kind == kind and value in f.detail]
    assert hits, "\n".join(map(str, findings)) or "no findings"
    assert {f.file for f in findings} == {str(target)}, "\n".join(map(str, findings))


def test_parquet_string_columns_are_scanned(tmp_path):
    planted = _planted()
    df = pd.DataFrame({"respondent_id": ["12250642410", "12250764396"], "code": [1.0, 2.0],
                       "text": ["Ga zo door", f"Bel mij, ik zit op {planted['ip_addresses'][0]}"]})
    df.to_parquet(tmp_path / "x.parquet", index=False)
    findings = audit([tmp_path])
    assert [(f.kind, f.where) for f in findings] == [("planted-ip", "column 'text' row 1")]


def test_first_names_alone_and_common_words():
    """Full names always; a planted name alone as a whole word; parts of words and common
    Dutch words never."""
    planted = Planted(set(), set(), set(), ["Roos", "Griet", "Jo"], ["Peeters", "El Amrani"])
    scan = Scanner(planted)
    kinds = lambda text: [k for k, _ in scan.scan(text)]
    assert kinds("Griet Peeters gaf les") == ["planted-name"]
    assert kinds("Peeters, Griet") == ["planted-name"]
    assert kinds("Roos Peeters") == ["planted-name"]
    assert kinds("Jo El Amrani") == ["planted-name"]
    assert kinds("griet was er ook") == ["planted-name"]
    assert kinds("een roos en de hoop") == []      # a common Dutch word alone
    assert kinds("Jo") == []                       # too short alone
    assert kinds("Grieten, Peetersstraat") == []   # not whole words
    assert kinds("p = 0.003438286528949263, sha 858705223e285970123456789ab") == []


def test_a_name_after_a_cue_is_found_and_its_tag_is_not():
    scan = Scanner(Planted(set(), set(), set(), [], []))
    kinds = lambda text: [k for k, _ in scan.scan(text)]
    assert kinds("Dank aan lesgever Karim Haddou, top!") == ["name"]
    assert kinds("Merci Madame Dubois") == ["name"]
    assert kinds("Dank aan lesgever [naam], top!") == []
    assert kinds("De lesgever was goed; bedankt Voor alles") == []


# ------------------------------------------------------------------ small groups

def _results(reports: Path) -> tuple[Path, dict]:
    path = _file(reports, "json")
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_unsuppressed_small_group_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    i = next(i for i, r in enumerate(data["breakdowns"]) if r["suppressed"])
    data["breakdowns"][i].update(suppressed=False, n=7, n_satisfaction=7, pct_satisfied=71.4, pct_rounded=71)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    small = [f for f in findings if f.kind == "small-group"]
    assert [f.where for f in small] == [f"$.breakdowns[{i}]"], "\n".join(map(str, findings))
    assert small[0].file == str(path)
    proc = _agii("audit", survey_copy)
    assert proc.returncode == 1 and f"$.breakdowns[{i}]" in proc.stdout and "below the threshold" in proc.stdout


@pytest.mark.parametrize("table, key, change", [
    ("key_figures", ("indicator", "nps"), {"n": 3, "k": 2, "estimate": 66.7, "rounded": 67}),  # the whole survey's
    ("aspects", None, {"n": 4, "k": 3, "pct_satisfied": 75.0, "pct_rounded": 75}),
    ("nps", ("component", "score"), {"count": 5, "share": 20.0}),
])
def test_a_figure_on_few_answers_in_results_json(survey_copy, table, key, change):
    path, data = _results(survey_copy)
    i = next(i for i, r in enumerate(data[table]) if key is None or r[key[0]] == key[1])
    data[table][i].update(suppressed=False, **change)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = [f for f in audit([survey_copy]) if f.kind != "personal-data"]
    assert [(f.kind, f.where) for f in findings] == [("small-group", f"$.{table}[{i}]")], "\n".join(map(str, findings))


def test_a_questions_answers_on_few_respondents_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    rows = data["distributions"]
    q = rows[0]["question"], rows[0]["item"]
    mine = [i for i, r in enumerate(rows) if (r["question"], r["item"]) == q and r["kind"] in ("scale", "choice", "score")]
    for i in mine:
        rows[i].update(count=0, share=0.0)
    rows[mine[0]].update(count=2, share=1.0)  # two people's answer, shown
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    assert [(f.kind, f.where) for f in findings] == [("small-group", f"$.distributions[{mine[0]}]")], \
        "\n".join(map(str, findings))


def test_themes_on_few_answers_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    data["themes"][0].update(n=2, share=0.5)  # 2 of 4 open answers
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    assert [(f.kind, f.where) for f in findings] == [("small-group", "$.themes[0]")], "\n".join(map(str, findings))
    assert "4 open answers" in findings[0].detail


def _hide_periods(data: dict, period_type: str, periods) -> dict:
    """Mark trend periods hidden (flags set, values emptied); the row number of each period."""
    rows = data["trend"]
    assert rows and not any(r["suppressed"] for r in rows), "a continuous survey, every period shown"
    at = {r["period"]: i for i, r in enumerate(rows) if r["period_type"] == period_type}
    for p in periods:
        rows[at[p]].update(dict.fromkeys(("n", "n_satisfaction", "pct_satisfied", "lo", "hi", "pct_rounded", "n_nps",
                                          "nps", "nps_lo", "nps_hi", "nps_rounded")),
                           suppressed=True, nps_suppressed=True)
    return at


def test_a_month_its_quarter_reveals_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    month = _hide_periods(data, "month", (1, 7, 8))  # three hidden in the year (no complement missing), one in K1
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    assert [(f.kind, f.where) for f in findings] == [("complementary-disclosure", f"$.trend[{month[1]}]")] * 2, \
        "\n".join(map(str, findings))  # once for the group, once for its NPS
    assert "quarter K1" in findings[0].detail


def test_a_hidden_quarter_its_months_reveal_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    quarter = _hide_periods(data, "quarter", (2, 3))  # two hidden (no complement missing), their months all shown
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    assert sorted({(f.kind, f.where) for f in findings}) == sorted(
        ("complementary-disclosure", f"$.trend[{quarter[q]}]") for q in (2, 3)), "\n".join(map(str, findings))
    assert all("all its months are shown" in f.detail for f in findings)


def test_an_importance_on_few_pairs_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    data["aspects"][0].update(importance=0.42, n_pairs=3, importance_suppressed=False)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    assert [(f.kind, f.where) for f in findings] == [("small-group", "$.aspects[0]")], "\n".join(map(str, findings))
    assert "n_pairs = 3" in findings[0].detail


def test_a_groups_nps_on_few_answers_in_results_json(survey_copy):
    path, data = _results(survey_copy)
    rows = data["breakdowns"]
    i = next(i for i, r in enumerate(rows) if not r["suppressed"])
    rows[i].update(n_nps=6, nps=33.3, nps_rounded=33)  # its % (heel) tevreden may show; its NPS may not
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    assert [(f.kind, f.where) for f in findings] == [("small-group", f"$.breakdowns[{i}]")], "\n".join(map(str, findings))
    assert "n_nps = 6" in findings[0].detail


def test_complementary_disclosure_in_results_json(survey_copy):
    """Exactly one hidden group next to shown ones: the total gives it away."""
    path, data = _results(survey_copy)
    by_q: dict[str, list[int]] = {}
    for i, r in enumerate(data["breakdowns"]):
        if r["suppressed"]:
            by_q.setdefault(r["question"], []).append(i)
    question, hidden = next((q, ix) for q, ix in by_q.items() if len(ix) >= 2)
    for i in hidden[1:]:  # show all but one, with a large n (not a small group itself)
        data["breakdowns"][i].update(suppressed=False, n=71, n_satisfaction=70, pct_satisfied=80.0)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    findings = audit([survey_copy])
    # the total gives the one hidden group away; and the groups now shown are hidden in the distribution
    assert [(f.kind, f.where) for f in findings] == [("complementary-disclosure", f"$.breakdowns[{hidden[0]}]")] + [
        ("complementary-disclosure", f"$.breakdowns[{i}]") for i in hidden[1:]], "\n".join(map(str, findings))
    assert repr(question) in findings[0].detail and "hidden in the distribution" in findings[-1].detail


def test_suppressed_row_that_still_shows_figures(survey_copy):
    path, data = _results(survey_copy)
    i = next(i for i, r in enumerate(data["trend"] or data["breakdowns"]) if not r["suppressed"])
    table = "trend" if data["trend"] else "breakdowns"
    data[table][i]["suppressed"] = True  # marked hidden, figures left in
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    kinds = {f.kind for f in audit([survey_copy]) if f.where == f"$.{table}[{i}]"}
    assert "suppressed-shown" in kinds


def test_small_group_count_in_the_appendix(survey_copy):
    path = _file(survey_copy, "xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Uitsplitsingen"]
    header = next(r for r in ws.iter_rows() if any(c.value == "Respondenten" for c in r))
    col = next(c.column for c in header if c.value == "Respondenten")
    cell = next(ws.cell(r, col) for r in range(header[0].row + 1, ws.max_row + 1) if ws.cell(r, col).value == "[c]")
    cell.value = 7
    wb.save(path)
    findings = audit([survey_copy])
    assert [(f.file, f.kind, f.where) for f in findings] == [
        (str(path), "small-group", f"sheet 'Uitsplitsingen' cell {cell.coordinate}")], "\n".join(map(str, findings))


def test_a_damaged_output_is_a_finding(survey_copy):
    path = _file(survey_copy, "xlsx")
    path.write_bytes(path.read_bytes()[:1000])
    findings = audit([survey_copy])
    assert [(f.file, f.kind) for f in findings] == [(str(path), "unreadable")]


def test_finding_line_names_file_where_and_what():
    f = Finding("reports/2022/x.html", "line 12", "planted-email", "planted e-mail address a@example.com")
    assert str(f) == "reports/2022/x.html: line 12: planted e-mail address a@example.com"


def test_missing_path_is_one_line_error(tmp_path):
    proc = _agii("audit", tmp_path / "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "path not found" in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ end to end: the pipeline redacts

RUN_WITH_CACHE = (
    "import sys; from pathlib import Path; import agii_analysis.prepare as prepare; "
    "prepare.PROCESSED_DIR = Path(sys.argv.pop(1)); "  # keep the repository's Parquet cache untouched
    "from agii_analysis.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_email_in_an_open_answer_never_reaches_an_output(tmp_path):
    """Copy each respondent's e-mail column (and name columns, after a cue) into their open answer (a modified copy of a
    demo export), build that survey-year with quotes on, and check that the address was
    redacted: it is in no output, and the audit is clean."""
    sources = [ROOT / "data" / "raw" / "demo" / "2023" / name
               for name in ("lokale_besturen_2023.csv", "lokale_besturen_2023_nalevering.csv")]
    if not all(s.exists() for s in sources):
        pytest.skip("run `agii demo` first")
    data = tmp_path / "data"
    data.mkdir()
    emails, names = set(), set()
    for src in sources:  # both exports: a respondent in both must stay an identical copy
        rows = list(csv.reader(io.StringIO(src.read_bytes().decode("utf-8-sig"), newline="")))
        head = rows[0]
        email_col, first_col, last_col = (head.index(h) for h in ("E-mailadres", "Voornaam", "Achternaam"))
        open_col = next(i for i, h in enumerate(head) if h.startswith("Wat kunnen we volgens u verbeteren"))
        for r in rows[2:]:
            if r[email_col] and r[open_col]:
                r[open_col] = f"{r[open_col]}. Mail me gerust op {r[email_col]} voor meer uitleg"
                emails.add(r[email_col])
            if r[first_col] and r[last_col] and r[open_col]:  # the planted names: the audit knows them
                r[open_col] = f"{r[open_col]}. Met dank aan mevrouw {r[first_col]} {r[last_col]}!"
                names.add(f"{r[first_col]} {r[last_col]}")
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        (data / src.name).write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    assert len(emails) >= 5 and len(names) >= 5
    params = tmp_path / "params" / "2023" / "lokale_besturen.yaml"
    params.parent.mkdir(parents=True)
    params.write_text(
        "survey: lokale_besturen\nyear: 2023\ninputs:\n"
        + "".join(f"  - file: {data / src.name}\n" for src in sources) +
        "invited: 1203\nsuppression_threshold: 10\nquotes: true\nmax_quotes: 1000\ndemo: true\n",
        encoding="utf-8")
    reports, processed = tmp_path / "reports", tmp_path / "processed"
    cmd = [sys.executable, "-c", RUN_WITH_CACHE, str(processed), "run", "--params", str(params),
           "--reports-dir", str(reports), "--no-progress"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = reports / "2023" / "lokale_besturen"
    assert len(list(out.iterdir())) == 5
    # the answers went through: quoted, with the address replaced by the tag
    res = json.loads((out / "lokale_besturen_2023_resultaten.json").read_text(encoding="utf-8"))
    quoted = [q["quote"] for q in res["quotes"] if "Mail me gerust op" in q["quote"]]
    assert quoted and all("[e-mail]" in q for q in quoted), res["quotes"][:5]
    cached = pd.read_parquet(processed / "lokale_besturen_2023.parquet")
    answers = cached["text"].dropna()
    assert answers.str.contains("Mail me gerust op [e-mail]", regex=False).sum() >= 1
    assert answers.str.contains("Met dank aan mevrouw [naam]!", regex=False).sum() >= 5
    # the address and the name themselves: in no file (raw bytes) and nowhere the audit looks (PDF text, cache)
    for f in [*reports.rglob("*"), *processed.rglob("*")]:
        if f.is_file():
            raw = f.read_bytes()
            assert not any(e.encode() in raw for e in emails | names), f
    findings = audit([reports, processed])
    assert findings == [], "\n".join(map(str, findings))
