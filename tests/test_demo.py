"""The demo generator: deterministic bytes, the files the spec lists, honest params.

The demo exports stand in for the confidential real ones, so they must be identical on
every machine (reports and stored notebook outputs are built from them) and must hold
exactly what demo/spec.yaml promises.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import yaml
import pytest

from agii_analysis.codebook import load_codebook
from agii_analysis.demo import MANIFEST_NAME, SPEC_PATH, demo_up_to_date, load_spec, write_demo
from agii_analysis.params import REPO_ROOT, find_params, load_params

SPEC = load_spec(SPEC_PATH)
DEMO_DIR = (REPO_ROOT / "data" / "raw" / "demo").resolve()


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("demo_a"), tmp_path_factory.mktemp("demo_b")
    return (a, write_demo(a)), (b, write_demo(b))


def _spec_files():
    return sorted(f"{year}/{f['name']}" for years in SPEC["surveys"].values()
                  for year, sy in years.items() for f in sy["files"])


def test_two_runs_give_identical_bytes(runs):
    (a, _), (b, _) = runs
    ta, tb = _tree(a), _tree(b)
    assert ta.keys() == tb.keys()
    assert {k for k in ta if ta[k] != tb[k]} == set()


def test_expected_file_list(runs):
    (a, written), _ = runs
    assert sorted(p.relative_to(a).as_posix() for p in written) == _spec_files()
    assert sorted(_tree(a)) == sorted(_spec_files() + ["planted_private.json", MANIFEST_NAME])


def test_up_to_date_only_while_nothing_changed(runs, tmp_path):
    """`agii demo` leaves the demo alone only if the spec, the package and every file are as written."""
    (a, written), _ = runs
    root = tmp_path / "demo"
    shutil.copytree(a, root)
    exports = [root / p.relative_to(a) for p in written]
    assert demo_up_to_date(root) == exports
    target = exports[0]
    original = target.read_bytes()
    target.write_bytes(original + b" ")  # an export altered
    assert demo_up_to_date(root) is None
    target.write_bytes(original)
    assert demo_up_to_date(root) == exports
    stray = root / "2022" / "extra.csv"  # a file the spec does not make
    stray.write_text("x", encoding="utf-8")
    assert demo_up_to_date(root) is None
    stray.unlink()
    target.unlink()  # a file missing
    assert demo_up_to_date(root) is None
    target.write_bytes(original)
    edited = tmp_path / "spec.yaml"  # another spec
    edited.write_bytes(SPEC_PATH.read_bytes() + b"\n# edited\n")
    assert demo_up_to_date(root, edited) is None
    assert demo_up_to_date(root) == exports
    (root / MANIFEST_NAME).write_text("{", encoding="utf-8")  # a damaged manifest
    assert demo_up_to_date(root) is None
    assert demo_up_to_date(tmp_path / "nothing") is None


def test_rewrite_removes_stale_files(tmp_path):
    stray = tmp_path / "2022" / "old_export.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("stale", encoding="utf-8")
    write_demo(tmp_path)
    assert not stray.exists()


def test_planted_private_values_are_listed_and_only_where_listed(runs):
    (a, _), _ = runs
    planted = json.loads((a / "planted_private.json").read_text(encoding="utf-8"))
    for key in ("ip_addresses", "email_addresses", "first_names", "last_names", "custom_data"):
        assert planted[key], key
    assert planted["files"]
    emails = planted["email_addresses"]
    for rel in _spec_files():
        raw = (a / rel).read_bytes()
        text = raw.decode("cp1252" if b";" in raw[:200] else "utf-8", errors="replace") if not rel.endswith(".xlsx") else None
        if text is None:
            continue  # XLSX: zipped; the listed files are all CSV
        found = any(e in text for e in emails)
        assert found == (rel in planted["files"]), rel


def test_open_answers_hold_no_planted_names_or_contact_data():
    p = SPEC["private"]
    names = [n.lower() for n in p["first_names"] + p["last_names"]]
    texts = [t for themes in SPEC["open_answers"].values() for langs in themes.values()
             for variants in langs.values() for t in variants]
    for t in texts:
        low = t.lower()
        assert "@" not in t and not any(ch.isdigit() for ch in t), t
        assert not any(n in low for n in names), t


def test_open_answer_templates_code_to_their_theme():
    themes = pytest.importorskip("agii_analysis.themes")
    book = themes.load_themes()
    misses = []
    for survey, by_theme in SPEC["open_answers"].items():
        for theme, langs in by_theme.items():
            for lang, variants in langs.items():
                coded = themes.code_answers(pd.Series(variants), lang, book, survey=survey)
                misses += [(survey, theme, t) for i, t in enumerate(variants) if not coded.iloc[i][theme]]
    assert not misses


def test_every_params_file_loads_and_points_into_the_demo():
    paths = find_params()
    assert len(paths) == sum(len(y) for y in SPEC["surveys"].values())
    for path in paths:
        p = load_params(path, check_files=False)
        assert p.demo and p.suppression_threshold == 10 and not p.quotes and p.note
        assert p.invited and p.invited_source
        files = []
        for i in p.inputs:
            resolved = i.file.resolve()
            assert resolved.is_relative_to(DEMO_DIR), i.file
            files.append(resolved.relative_to(DEMO_DIR).as_posix())
        sy = SPEC["surveys"][p.survey][p.year]
        assert files == [f"{p.year}/{f['name']}" for f in sy["files"]]
        assert [i.values for i in p.inputs] == [f.get("values", "text") for f in sy["files"]]
        published = sy["invited_source"] == "published"
        assert p.invited_source.startswith("Gepubliceerd" if published else "Demo"), path
        assert p.invited == sy["invited"]


def test_variants_are_in_the_files(runs):
    (a, _), _ = runs
    bom = (a / "2022/na_aanbod_mo_2022_jul-dec.csv").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and b"\r\n" in bom[:2000]
    plain = (a / "2023/na_aanbod_mo_2023.csv").read_bytes()
    assert not plain.startswith(b"\xef\xbb\xbf") and b"\r\n" not in plain and b"\n" in plain
    resaved = (a / "2021/vorming_2021.csv").read_bytes()
    resaved.decode("cp1252")
    lines = resaved.decode("cp1252").split("\r\n")
    assert lines[0].startswith("Respondent ID;") and "E+11;" in lines[2]
    assert (a / "2022/na_aanbod_mo_2022_jan-jul.xlsx").read_bytes().startswith(b"PK")
    dutch = (a / "2023/lokale_besturen_2023.csv").read_text(encoding="utf-8-sig")
    assert dutch.startswith("Respondent-ID,Verzamelaar-ID,Begindatum,Einddatum")
    expanded = (a / "2023/na_test_mo_2023_expanded.csv").read_text(encoding="utf-8").splitlines()[1]
    assert "Heel tevreden" in expanded and "Antwerpen" in expanded
    emoji = "👍"
    assert any(emoji in (a / f).read_text(encoding="utf-8-sig") for f in _spec_files()
               if f.endswith(".csv") and "vorming_2021" not in f)


def test_the_pipeline_counts_what_the_spec_promises(runs):
    """Read back through the real reader and harmoniser: accounting and headline figures."""
    reader = pytest.importorskip("agii_analysis.reader")
    harmonise = pytest.importorskip("agii_analysis.harmonise")
    from agii_analysis.params import InputFile

    (a, _), _ = runs
    for survey, years in SPEC["surveys"].items():
        book = load_codebook(survey)
        for year, sy in years.items():
            exports = [(reader.read_export(a / str(year) / f["name"]),
                        InputFile(a / str(year) / f["name"], None, f.get("values", "text"), None, f.get("edition")))
                       for f in sy["files"]]
            h = harmonise.harmonise(exports, book, year)
            acc = h.accounting
            got = {"read": acc["read"], "used": acc["used"], **acc["excluded"]}
            assert {k: got[k] for k in sy["expect"]} == sy["expect"], (survey, year)
            r = h.responses
            scale = book.scale(year)
            tev = r.loc[(r["question"] == book.headline) & r["code"].isin(scale.codes), "code"]
            pct = 100 * tev.isin(scale.top2).sum() / len(tev)
            assert int(pct + 0.5) == sy["targets"]["pct_satisfied"], (survey, year, pct)
            if "nps" in sy["targets"]:
                s = r.loc[r["question"] == book.nps, "code"]
                nps = 100 * ((s >= 9).sum() - (s <= 6).sum()) / len(s)
                assert round(nps) == sy["targets"]["nps"], (survey, year, nps)


def test_a_spec_that_misses_its_target_is_refused(tmp_path):
    from agii_analysis.errors import AgiiError

    bad = load_spec(SPEC_PATH)
    bad["surveys"]["na_aanbod_mo"][2021]["targets"]["pct_satisfied"] += 1  # the first survey-year: fails fast
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    root = tmp_path / "demo"
    (root / "keep.txt").parent.mkdir()
    (root / "keep.txt").write_text("old demo", encoding="utf-8")
    with pytest.raises(AgiiError, match="pct_satisfied"):
        write_demo(root, spec_path)
    assert (root / "keep.txt").exists()  # nothing removed before everything was checked
