"""A new survey type, as the README's steps make one: `agii inspect --draft-codebook`
on its export, then a report whose template was copied from another survey.

The survey here has only what every survey must have (the headline scale question),
so every report section must say plainly what is not there instead of failing.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import yaml

import agii_analysis.codebook as codebook_module
import agii_analysis.prepare as prepare_module
from agii_analysis import appendix, cli, report
from agii_analysis.codebook import CODEBOOK_DIR, load_codebook
from agii_analysis.errors import AgiiError
from agii_analysis.harmonise import harmonise
from agii_analysis.prepare import _redactor
from agii_analysis.reader import read_export
from agii_analysis.results import Results, compute
from agii_analysis.run import _cell_named

from exportkit import export_csv, rid

SAT5_NL = ["Heel ontevreden", "Ontevreden", "Neutraal", "Tevreden", "Heel tevreden"]
SAT5_EN = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]


@pytest.fixture
def codebooks(tmp_path, monkeypatch) -> Path:
    """A codebook folder of its own (the shared files copied), so a test survey never
    lands in the package's folder."""
    folder = tmp_path / "codebooks"
    folder.mkdir()
    for name in ("_common.yaml", "_themes.yaml"):
        shutil.copy(CODEBOOK_DIR / name, folder / name)
    monkeypatch.setattr(codebook_module, "CODEBOOK_DIR", folder)
    monkeypatch.setattr(prepare_module, "CODEBOOK_DIR", folder)
    return folder


def _headline_only(path: Path, n: int = 60, labels=SAT5_NL, text="Hoe tevreden bent u?") -> Path:
    rng = random.Random(7)
    rows = [(rid(i), f"{1 + i % 9:02d}/15/2023 10:00:00 AM", [rng.choice(labels)]) for i in range(n)]
    return export_csv(path, [(text, "Response")], rows)


def _results(tmp_path: Path, survey: str, export: Path) -> Results:
    params = tmp_path / "params" / "2023" / f"{survey}.yaml"
    params.parent.mkdir(parents=True)
    params.write_text(yaml.safe_dump({"survey": survey, "year": 2023, "inputs": [{"file": str(export)}],
                                      "invited": 200, "invited_source": "test"}), encoding="utf-8")
    h = harmonise([(read_export(export), None)], load_codebook(survey), 2023, redact=_redactor())
    # through the results file, as the notebook reads them (an empty table has no columns there)
    return Results.from_dict(compute(params, harmonised=h).to_dict())


def _draft(export: Path, out: Path, *extra: str) -> int:
    return cli.main(["inspect", str(export), "--draft-codebook", str(out), *extra])


def test_draft_codebook_of_an_export_loads_and_names_its_key_questions(codebooks, tmp_path, capsys):
    """The draft of a demo export loads as it is: the satisfaction question is a scale
    and the headline, the 0-10 question the NPS, the open question the improvement one,
    and scale_by_year starts in the export's year."""
    export = Path("data/raw/demo/2023/lokale_besturen_2023.csv")
    assert _draft(export, codebooks / "nieuw.yaml") == 0
    book = load_codebook("nieuw")
    assert book.survey == "nieuw" and book.languages == ("nl",)
    assert book.scale_by_year == {2023: "SAT5"}
    assert book.questions[book.headline].type == "scale"
    assert book.headline == "hoe_tevreden_bent"
    assert book.questions[book.nps].type == "nps"
    assert book.questions[book.improvement].type == "open"
    assert [q.type for q in book.questions.values()].count("matrix") == 1
    # and it reads the export it was drafted from
    h = harmonise([(read_export(export), None)], book, 2023)
    assert h.accounting["used"] > 100


def test_draft_codebook_reads_an_other_column_as_the_questions_free_text(codebooks, tmp_path):
    """A single choice with an "Other (please specify)" column is a single choice (its
    typed texts are no options, it is no matrix), and reads without unknown answers; a
    multi-select option that is just called "Andere" stays an option."""
    cols = [("Hoe tevreden bent u?", "Response"), ("Waar woont u?", "Response"), ("", "Other (please specify)"),
            ("Welke talen spreekt u?", "Nederlands"), ("", "Frans"), ("", "Andere")]
    rows = [(rid(i), "03/15/2023 10:00:00 AM",
             [SAT5_NL[i % 5], "" if i % 4 == 0 else ("Antwerpen", "Gent")[i % 2], f"Dorp {i}" if i % 4 == 0 else "",
              "Nederlands", "Frans" if i % 3 == 0 else "", "Andere" if i % 5 == 0 else ""]) for i in range(40)]
    export = export_csv(tmp_path / "woon.csv", cols, rows)
    assert _draft(export, codebooks / "woon.yaml") == 0
    book = load_codebook("woon")
    where = book.questions["waar_woont_u"]
    assert where.type == "single" and [o.label("nl") for o in where.options] == ["Gent", "Antwerpen"]
    talen = book.questions["welke_talen_spreekt"]
    assert talen.type == "multi" and [o.label("nl") for o in talen.options] == ["Nederlands", "Frans", "Andere"]
    h = harmonise([(read_export(export), None)], book, 2023)
    assert h.unknown_labels == [] and h.files[0].comment_columns == []
    r = h.responses
    other = r[(r["question"] == "waar_woont_u") & (r["item"] == "other")]
    assert sorted(other["text"]) == sorted(f"Dorp {i}" for i in range(0, 40, 4))
    talen_rows = r[r["question"] == "welke_talen_spreekt"]
    assert talen_rows["item"].astype(str).value_counts().to_dict() == {"1": 40, "2": 14, "3": 8}  # Andere: code 3


def test_an_empty_other_column_is_still_no_option(codebooks, tmp_path):
    """Nobody typed anything in the Other column this year: the question is still a single
    choice (no matrix), and a multi-select gets no option "Other (please specify)"."""
    cols = [("Hoe tevreden bent u?", "Response"), ("Waar woont u?", "Response"), ("", "Other (please specify)"),
            ("Welke talen spreekt u?", "Nederlands"), ("", "Frans"), ("", "Other (please specify)")]
    rows = [(rid(i), "03/15/2023 10:00:00 AM", [SAT5_NL[i % 5], ("Antwerpen", "Gent")[i % 2], "", "Nederlands",
                                                  "Frans" if i % 3 == 0 else "", ""]) for i in range(30)]
    export = export_csv(tmp_path / "leeg.csv", cols, rows)
    assert _draft(export, codebooks / "leeg.yaml") == 0
    book = load_codebook("leeg")
    assert book.questions["waar_woont_u"].type == "single"
    assert [o.label("nl") for o in book.questions["welke_talen_spreekt"].options] == ["Nederlands", "Frans"]


def test_draft_of_a_real_export_names_grids_that_are_no_scale(codebooks, capsys):
    """StarWars (a real export, no dates): its ranking and favourability grids are drafted
    as matrices, which take only the scale points of _common.yaml: the draft says so, and
    that its scale_by_year is this year's for want of dates."""
    real = Path(__file__).resolve().parents[1].parent / "shared" / "real-exports" / "fivethirtyeight__data__StarWars.csv"
    if not real.exists():
        pytest.skip("../shared/real-exports is not beside the repository")
    assert _draft(real, codebooks / "starwars.yaml") == 0
    text = (codebooks / "starwars.yaml").read_text(encoding="utf-8")
    assert "# NOT a satisfaction scale: please_rank_the, please_state_whether." in text
    assert "note: no End Date or Start Date in the export: scale_by_year starts in" in capsys.readouterr().out


def test_draft_labels_are_cut_after_a_whole_word():
    from agii_analysis.inspect_export import _short_label

    assert _short_label("Hoe tevreden bent u in het algemeen over de vorming?") == "Hoe tevreden bent u in het algemeen…"
    assert _short_label("Hoe tevreden bent u?") == "Hoe tevreden bent u?"
    assert len(_short_label("x" * 60)) == 40


def test_draft_codebook_of_an_english_export_has_both_languages(codebooks, tmp_path):
    """An English edition: its labels match the English scale, so the draft lists
    languages nl and en and keeps the texts under both (nl to be translated)."""
    export = _headline_only(tmp_path / "english.csv", labels=SAT5_EN, text="How satisfied are you overall?")
    assert _draft(export, codebooks / "engels.yaml") == 0
    book = load_codebook("engels")
    assert book.languages == ("nl", "en")
    assert book.questions[book.headline].texts == {"nl": ("TODO: How satisfied are you overall?",),
                                                   "en": ("How satisfied are you overall?",)}
    h = harmonise([(read_export(export), None)], book, 2023)
    assert h.accounting["used"] == 60 and h.unknown_labels == []
    assert h.files[0].edition_language == "en" and set(h.respondents["language"]) == {"en"}


def test_draft_codebook_without_a_neutral_answer_takes_the_current_scale(codebooks, tmp_path):
    """Nobody chose Neutraal: SAT4 and SAT5 both fit, and the draft takes the current,
    longer one (a SAT4 draft would refuse next year's Neutraal)."""
    export = _headline_only(tmp_path / "kort.csv", labels=["Ontevreden", "Tevreden", "Heel tevreden"])
    assert _draft(export, codebooks / "kort.yaml") == 0
    assert load_codebook("kort").scale_by_year == {2023: "SAT5"}


def test_draft_codebook_never_overwrites_and_is_named_after_its_survey(codebooks, tmp_path, capsys):
    export = _headline_only(tmp_path / "kort.csv")
    target = codebooks / "vorming.yaml"
    target.write_text("# a real codebook\n", encoding="utf-8")
    assert _draft(export, target) == 2
    err = capsys.readouterr().err
    assert "vorming.yaml: already exists" in err and "--force" in err
    assert target.read_text(encoding="utf-8") == "# a real codebook\n"
    assert _draft(export, target, "--force") == 0
    assert "survey: vorming" in target.read_text(encoding="utf-8")

    assert _draft(export, codebooks / "kort.yaml", "--survey-id", "ander") == 2
    assert "must be named after its survey id" in capsys.readouterr().err
    assert not (codebooks / "kort.yaml").exists()


def test_draft_codebook_year_can_be_given(codebooks, tmp_path):
    export = _headline_only(tmp_path / "kort.csv")
    assert _draft(export, codebooks / "kort.yaml", "--year", "2019") == 0
    assert load_codebook("kort").scale_by_year == {2019: "SAT5"}


def test_a_survey_with_only_its_headline_question_gets_every_section(codebooks, tmp_path):
    """No matrix, no NPS, no open question: each section says so (the aspects text
    used to fail on the results file's empty aspects table)."""
    export = _headline_only(tmp_path / "kort.csv")
    assert _draft(export, codebooks / "kort.yaml") == 0
    res = _results(tmp_path, "kort", export)
    assert res.figure("pct_satisfied")["n"] == 60
    text = lambda shown: shown.data  # noqa: E731 - IPython's Markdown keeps its text in .data
    assert "had in 2023 geen vraag naar de tevredenheid over onderdelen" in text(report.aspects_text(res))
    assert "had in 2023 geen vraag naar de tevredenheid over onderdelen" in text(report.priority_chart(res))
    assert text(report.aspects_chart(res)) == "" and text(report.priority_text(res)) == ""
    assert "geen aanbevelingsvraag" in text(report.nps_section(res))
    assert "geen open vraag naar verbeterpunten" in text(report.themes_text(res))
    assert text(report.themes_chart(res)) == "" and text(report.quotes(res)) == ""
    rng = random.Random(7)  # the answers _headline_only wrote
    satisfied = sum(rng.choice(SAT5_NL) in ("Tevreden", "Heel tevreden") for _ in range(60))
    assert f"**{round(100 * satisfied / 60)} % (heel) tevreden**" in text(report.summary(res))
    sheets = appendix.write_appendix(res, tmp_path / "kort_bijlage.xlsx")
    assert sheets.exists()
    # the draft's TODOs are still there: the run says so
    assert "codebook kort.yaml: title is still 'TODO: titel van de bevraging' (a draft)" in res.provenance["warnings"]


def test_a_template_cell_naming_a_question_of_another_survey_is_refused(codebooks, tmp_path):
    """A breakdown cell copied from the vorming template names a question this codebook
    does not have: the run stops and says which question and which ones there are."""
    export = _headline_only(tmp_path / "kort.csv")
    assert _draft(export, codebooks / "kort.yaml") == 0
    res = _results(tmp_path, "kort", export)
    with pytest.raises(AgiiError) as err:
        report.breakdown_chart(res, "thema")
    assert "kort.yaml" in str(err.value) and "'thema', which is not in the codebook" in str(err.value)


def test_a_failed_notebook_cell_is_named_by_its_code():
    assert _cell_named('report.breakdown_chart(res, "thema")') == 'the cell `report.breakdown_chart(res, "thema")`'
    assert _cell_named("# uitleg\nx = 1\ny = 2\n") == "the cell `x = 1` (+1 lines)"
    assert _cell_named("") == "a cell"


def test_the_improvement_question_is_the_codebooks(codebooks, tmp_path):
    """Themes come from the codebook's `improvement` question, whatever its id; the
    appendix quotes its text."""
    rows = [(rid(i), "03/15/2023 10:00:00 AM", [SAT5_NL[3], "Meer praktijkvoorbeelden graag"]) for i in range(30)]
    export = export_csv(tmp_path / "open.csv", [("Hoe tevreden bent u?", "Response"),
                                                 ("Wat mag er beter?", "Open-Ended Response")], rows)
    assert _draft(export, codebooks / "open.yaml") == 0
    book = yaml.safe_load((codebooks / "open.yaml").read_text(encoding="utf-8"))
    assert book["improvement"] is None  # no "verbeter" in its text: the researcher names it
    book["improvement"] = "wat_mag_er"
    (codebooks / "open.yaml").write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    res = _results(tmp_path, "open", export)
    assert res.improvement_question == "Wat mag er beter?"
    assert int(res.themes["n"].sum()) >= 30
    tables = {t.sheet: t for t in appendix.appendix_tables(res)}
    assert "'Wat mag er beter?'" in tables["Verbeterpunten"].description


def test_a_numerical_value_export_read_as_texts_says_what_it_probably_is():
    export = Path("data/raw/demo/2023/vorming_2023_numeriek.csv")
    with pytest.raises(AgiiError) as err:
        harmonise([(read_export(export), None)], load_codebook("vorming"), 2023)
    message = str(err.value)
    assert "vorming_2023_numeriek.csv, column J" in message and "unknown answer '4'" in message
    assert "is this a numerical-value export?" in message and "values: numeric" in message


def test_a_survey_without_a_template_is_refused_by_name(tmp_path, monkeypatch):
    import agii_analysis.run as run_module

    monkeypatch.setattr(run_module, "NOTEBOOK_DIR", tmp_path)
    with pytest.raises(AgiiError) as err:
        run_module.template_for("kort")
    assert "kort.ipynb" in str(err.value) and "no notebook template for survey 'kort'" in str(err.value)


def test_published_figures_of_last_year_unused_beside_its_raw_data_are_named(tmp_path):
    from agii_analysis.params import load_params
    from agii_analysis.results import _Previous, _setup_warnings

    params = tmp_path / "params" / "2023" / "vorming.yaml"
    params.parent.mkdir(parents=True)
    params.write_text(yaml.safe_dump({
        "survey": "vorming", "year": 2023, "inputs": [{"file": "data/raw/demo/2023/vorming_2023_numeriek.csv",
                                                       "values": "numeric"}],
        "invited": 2250, "previous": {"year": 2022, "pct_satisfied": 81, "source": "Jaarverslag 2022"}, "demo": True}),
        encoding="utf-8")
    raw = _Previous(2022, object(), None, None, None, "SAT5", "berekend uit de ruwe gegevens van 2022 (vorming.yaml)")
    published = _Previous(2022, None, None, 81, None, "SAT5", "gepubliceerd cijfer: Jaarverslag 2022")
    book = load_codebook("vorming")
    assert _setup_warnings(load_params(params), book, raw) == [
        "previous (published 2022 figures) is not used: 2022's raw data is there, and it is "
        "compared with instead"]
    assert _setup_warnings(load_params(params), book, published) == []


def test_real_data_is_never_compared_with_last_years_demo_data(tmp_path):
    """A real year whose params folder still holds the demo's file of last year (the
    README's copy-last-year step) got a change on last year computed from invented
    answers, without a word."""
    from agii_analysis.params import REPO_ROOT, load_params
    from agii_analysis.results import _previous, _setup_warnings

    folder = tmp_path / "params"
    (folder / "2022").mkdir(parents=True)
    (folder / "2023").mkdir()
    shutil.copy(REPO_ROOT / "params" / "2022" / "vorming.yaml", folder / "2022" / "vorming.yaml")  # demo: true
    real = tmp_path / "vorming_2023.csv"
    shutil.copy(REPO_ROOT / "data" / "raw" / "demo" / "2023" / "vorming_2023_numeriek.csv", real)
    data = {"survey": "vorming", "year": 2023, "inputs": [{"file": str(real), "values": "numeric"}], "invited": 2250}
    path = folder / "2023" / "vorming.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    book = load_codebook("vorming")
    params = load_params(path)
    assert _previous(params, book) is None
    assert [w for w in _setup_warnings(params, book, None) if "demo" in w] == [
        f"2022's params file ({folder / '2022' / 'vorming.yaml'}) holds demo data (invented answers) and this year's "
        "real data: no change on last year is computed from it; give last year's published figures as previous: in "
        "vorming.yaml"]
    data["previous"] = {"year": 2022, "pct_satisfied": 81, "source": "Jaarverslag 2022"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    params = load_params(path)
    prev = _previous(params, book)
    assert prev.sat is None and prev.pct_published == 81 and prev.source == "gepubliceerd cijfer: Jaarverslag 2022"
    # and the other way round: demo: true beside real exports only is named
    data.update(demo=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    warned = _setup_warnings(load_params(path), book, None)
    assert any(w.startswith("vorming.yaml says demo: true, but no input is a demo export") for w in warned), warned


def test_a_real_year_with_nothing_to_compare_with_says_so(tmp_path):
    """No last year's params file beside this one and no previous: the run says so on the
    command line (the report only says there is no comparison); not for the demo, not for
    a survey's first edition."""
    from agii_analysis.params import REPO_ROOT, load_params
    from agii_analysis.results import _setup_warnings

    real = tmp_path / "vorming_2023.csv"
    shutil.copy(REPO_ROOT / "data" / "raw" / "demo" / "2023" / "vorming_2023_numeriek.csv", real)
    path = tmp_path / "params" / "2023" / "vorming.yaml"
    path.parent.mkdir(parents=True)
    data = {"survey": "vorming", "year": 2023, "inputs": [{"file": str(real), "values": "numeric"}], "invited": 2250}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    book = load_codebook("vorming")
    assert _setup_warnings(load_params(path), book, None) == [
        f"no change on last year: there is no 2022/vorming.yaml beside 2023/ in {tmp_path / 'params'} and no "
        "previous: in vorming.yaml (give last year's published figures there, or first_year in the codebook if this "
        "is its first edition); the report says there is no comparison"]
    assert _setup_warnings(load_params(REPO_ROOT / "params" / "2021" / "vorming.yaml"), book, None) == []  # demo
    first = load_codebook("na_test_mo")
    assert first.first_year == 2022  # its first edition: nothing to compare with, and nothing to say
    test = tmp_path / "na_test_mo_2022.csv"
    shutil.copy(REPO_ROOT / "data" / "raw" / "demo" / "2022" / "na_test_mo_2022.csv", test)
    other = tmp_path / "params" / "2022" / "na_test_mo.yaml"
    other.parent.mkdir()
    other.write_text(yaml.safe_dump({"survey": "na_test_mo", "year": 2022, "inputs": [{"file": str(test)}],
                                     "invited": 900}), encoding="utf-8")
    assert _setup_warnings(load_params(other), first, None) == []
