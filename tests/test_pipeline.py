"""End-to-end checks through the CLI and the pipeline (demo exports, open answers, privacy)."""

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from agii_analysis.appendix import write_appendix
from agii_analysis.cli import main
from agii_analysis.params import REPO_ROOT, find_params, load_params
from agii_analysis.prepare import prepare
from agii_analysis.results import compute
from exportkit import VORMING, export_csv, rid, vorming_answers

DEMO = REPO_ROOT / "data" / "raw" / "demo"
INPUTS = [(p, i) for p in find_params() for i in load_params(p).inputs]


@pytest.mark.parametrize("params,spec", INPUTS, ids=lambda x: getattr(x, "file", Path(str(x))).name)
def test_validate_each_demo_export(params, spec, capsys):
    p = load_params(params)
    argv = ["validate", str(spec.file), "--survey", p.survey, "--year", str(p.year)]
    if spec.values == "numeric":
        argv.append("--numeric")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"survey {p.survey}" in out and "respondents: read" in out and "excluded:" in out
    assert spec.file.name in out and "questions matched: " in out and "date range:" in out


def test_validate_bad_input_exits_2_with_one_line(tmp_path, capsys):
    f = export_csv(tmp_path / "x.csv", VORMING, [(rid(1), "03/15/2022 10:00:00 AM", vorming_answers("Tevreeden"))])
    assert main(["validate", str(f), "--survey", "vorming"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("agii: error: x.csv") and "Tevreeden" in err[0]


def test_inspect_real_export_and_draft_codebook(tmp_path, capsys):
    real = REPO_ROOT.parent / "shared" / "real-exports" / "fivethirtyeight__data__MIDWEST.csv"
    if not real.exists():
        pytest.skip("../shared/real-exports is not beside the repository")
    draft = tmp_path / "draft.yaml"
    assert main(["inspect", str(real), "--draft-codebook", str(draft)]) == 0
    out = capsys.readouterr().out
    assert "2778 respondents" in out and "[open]" in out and "[multi]" in out
    import yaml

    doc = yaml.safe_load(draft.read_text(encoding="utf-8"))
    assert {q["type"] for q in doc["questions"].values()} >= {"open", "multi", "single"}


def _planted() -> list[str]:
    data = json.loads((DEMO / "planted_private.json").read_text(encoding="utf-8"))
    values = []
    for key, items in data.items():
        if isinstance(items, list):
            values += [str(v) for v in items if isinstance(v, (str, int)) and len(str(v)) >= 4]
    return values


def test_no_private_value_reaches_data_processed():
    for p in find_params():
        prepare(p)
    planted = _planted()
    assert len(planted) > 100
    blobs = []
    for f in sorted((REPO_ROOT / "data" / "processed").iterdir()):
        if f.suffix == ".parquet":
            blobs.append(pd.read_parquet(f).astype(str).to_csv())
        elif f.suffix == ".json":
            blobs.append(f.read_text(encoding="utf-8"))
    text = "\n".join(blobs)
    leaked = [v for v in planted if v in text]
    assert not leaked, leaked[:5]


def test_formula_like_open_answers_never_become_formulas(tmp_path):
    answers = ['=HYPERLINK("http://x","y") meer praktijkvoorbeelden', "+1+1 de website is onduidelijk",
               "-2 de lesgever sprak te snel", "@SUM(A1) betere communicatie"]
    rows = [(rid(i), "03/15/2022 10:00:00 AM", vorming_answers(text=answers[i % 4])) for i in range(24)]
    export = export_csv(tmp_path / "vorming.csv", VORMING, rows)
    params = tmp_path / "vorming.yaml"
    params.write_text(f"survey: vorming\nyear: 2022\ninputs: [{{file: {export}}}]\ninvited: 100\n"
                      "quotes: true\nmax_quotes: 10\n", encoding="utf-8")
    res = compute(load_params(params))
    assert len(res.quotes) >= 4
    path = write_appendix(res, tmp_path / "bijlage.xlsx")
    wb = openpyxl.load_workbook(path)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    for start in ("=HYPERLINK", "+1+1", "-2 de lesgever", "@SUM(A1)"):
        assert any(t.startswith(start) for t in texts), start
