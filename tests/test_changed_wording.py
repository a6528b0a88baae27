"""A label changed in SurveyMonkey (an answer option or a matrix item): never silently
lost, and mapped back with the codebook's `also`."""

from __future__ import annotations

import shutil

import pytest
import yaml

import agii_analysis.codebook as codebook_module
from agii_analysis.codebook import CODEBOOK_DIR, load_codebook
from agii_analysis.errors import AgiiError
from agii_analysis.harmonise import harmonise
from agii_analysis.reader import read_export

from exportkit import VORMING, export_csv, rid, vorming_answers

END = "03/15/2023 10:00:00 AM"


def _export(tmp_path, columns=VORMING, n=12, **answers):
    rows = [(rid(i), END, vorming_answers(**answers)) for i in range(n)]
    return export_csv(tmp_path / "vorming_2023.csv", columns, rows)


def _renamed(old: str, new: str):
    return [(q, new if sub == old else sub) for q, sub in VORMING]


@pytest.fixture
def vorming_with(tmp_path, monkeypatch):
    """The vorming codebook in a folder of its own, changed by `edit(data)`."""
    folder = tmp_path / "codebooks"
    folder.mkdir()
    for name in ("_common.yaml", "_themes.yaml"):
        shutil.copy(CODEBOOK_DIR / name, folder / name)
    monkeypatch.setattr(codebook_module, "CODEBOOK_DIR", folder)

    def make(edit):
        data = yaml.safe_load((CODEBOOK_DIR / "vorming.yaml").read_text(encoding="utf-8"))
        edit(data)
        (folder / "vorming.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return load_codebook("vorming")
    return make


def test_a_renamed_matrix_item_is_an_error_not_a_comment_box(tmp_path):
    path = export_csv(tmp_path / "v.csv", _renamed("De inhoud", "De Inhoud."),
                      [(rid(i), END, vorming_answers()) for i in range(12)])
    with pytest.raises(AgiiError) as err:
        harmonise([(read_export(path), None)], load_codebook("vorming"), 2023)
    message = str(err.value)
    assert message.startswith("v.csv, column O, row 2: the matrix item 'De Inhoud.' of question 'aspecten'")
    assert "one of De inhoud (no column of their own in this export)" in message and "`also: [De Inhoud.]`" in message


def test_a_comment_box_under_a_matrix_stays_a_comment(tmp_path):
    """Free text under an unknown label is a comment box: read as text, no figure lost."""
    columns = [*VORMING, ("", "Toelichting")]
    rows = [(rid(i), END, [*vorming_answers(), f"opmerking {i}"]) for i in range(12)]
    columns.insert(8, columns.pop())  # the comment box right after the matrix's items
    rows = [(r, e, [*v[:8], v[-1], *v[8:-1]]) for r, e, v in rows]
    h = harmonise([(read_export(export_csv(tmp_path / "v.csv", columns, rows)), None)], load_codebook("vorming"), 2023)
    assert h.files[0].comment_columns and h.accounting["used"] == 12
    aspects = h.responses[h.responses["question"] == "aspecten"]
    assert aspects.groupby("item", observed=True).size().to_dict() == {
        "bruikbaarheid": 12, "inhoud": 12, "lesgever": 12, "organisatie": 12, "comment": 12}
    assert aspects.loc[aspects["item"] == "comment", "text"].str.startswith("opmerking").all()


def test_also_maps_a_renamed_matrix_item_back(tmp_path, vorming_with):
    book = vorming_with(lambda d: d["questions"]["aspecten"]["items"]["inhoud"].update(also=["De Inhoud."]))
    path = export_csv(tmp_path / "v.csv", _renamed("De inhoud", "De Inhoud."),
                      [(rid(i), END, vorming_answers()) for i in range(12)])
    h = harmonise([(read_export(path), None)], book, 2023)
    r = h.responses
    assert int(((r["question"] == "aspecten") & (r["item"] == "inhoud")).sum()) == 12
    assert h.files[0].comment_columns == []


def test_also_maps_a_changed_answer_label(tmp_path, vorming_with):
    """An option's label changed in the questionnaire: `also` reads the new wording as
    the same code, so the series continues."""
    def edit(d):
        d["questions"]["vorm"]["options"][0]["also"] = "Digitaal"
    path = _export(tmp_path, vorm="Digitaal")
    with pytest.raises(AgiiError) as err:
        harmonise([(read_export(path), None)], vorming_with(lambda d: None), 2023)
    assert "unknown answer 'Digitaal' for question 'vorm'" in str(err.value)
    assert "add `also: [Digitaal]` to that option in codebook vorming.yaml" in str(err.value)
    h = harmonise([(read_export(path), None)], vorming_with(edit), 2023)
    r = h.responses
    assert r.loc[r["question"] == "vorm", "code"].tolist() == [1.0] * 12


def test_also_is_validated(vorming_with):
    with pytest.raises(AgiiError) as err:
        vorming_with(lambda d: d["questions"]["vorm"]["options"][0].update(also=[""]))
    assert "questions.vorm.options[0].also: must be a label or a list of labels" in str(err.value)
    with pytest.raises(AgiiError) as err:
        vorming_with(lambda d: d["questions"]["vorm"]["options"][0].update(also=["Fysiek"]))
    assert "duplicate label 'Fysiek'" in str(err.value)


def _two_exports(tmp_path, second_columns):
    a = export_csv(tmp_path / "a.csv", VORMING, [(rid(i), END, vorming_answers()) for i in range(12)])
    b = export_csv(tmp_path / "b.csv", second_columns, [(rid(100 + i), END, vorming_answers()) for i in range(12)])
    return [(read_export(a), None), (read_export(b), None)]


def test_a_headline_reworded_in_one_of_two_exports_is_an_error(tmp_path):
    """Its respondents would all count as not answering the headline question."""
    reworded = [("Hoe tevreden bent u in het algemeen over deze vorming?" if q.startswith("Hoe tevreden bent u in")
                 else q, sub) for q, sub in VORMING]
    with pytest.raises(AgiiError) as err:
        harmonise(_two_exports(tmp_path, reworded), load_codebook("vorming"), 2023)
    message = str(err.value)
    assert message.startswith("b.csv: headline question 'tevreden' matched no column of this export, but it did in a.csv")
    assert "'Hoe tevreden bent u in het algemeen over deze vorming?'" in message
    assert "'Hoe tevreden bent u in het algemeen over de vorming?' (codebook vorming.yaml)" in message


def test_another_question_missing_from_one_export_is_a_warning(tmp_path):
    without_vorm = [(q, sub) if not q.startswith("Hoe volgde u") else ("Hoe volgde u deze vorming?", sub)
                    for q, sub in VORMING]
    h = harmonise(_two_exports(tmp_path, without_vorm), load_codebook("vorming"), 2023)
    assert ("b.csv: question(s) vorm matched no column, although they did in a.csv: its 12 rows count as "
            "not answering them; its columns that match no question: 'Hoe volgde u deze vorming?'") in h.warnings
    assert h.accounting["used"] == 24



def test_a_comment_box_whose_one_comment_is_an_option_label_stays_a_comment(tmp_path):
    """Every option of the (expanded) question has its column, so a comment that happens
    to be an option's label is a comment, not a renamed option."""
    columns = [*VORMING[:1], ("Hoe volgde u de vorming?", "Online"), ("", "Fysiek"), ("", "Toelichting"),
               *VORMING[2:]]
    rows = []
    for i in range(12):
        v = vorming_answers()
        rows.append((rid(i), END, [v[0], "Online", "", "Fysiek" if i == 0 else "", *v[2:]]))
    h = harmonise([(read_export(export_csv(tmp_path / "v.csv", columns, rows)), None)], load_codebook("vorming"), 2023)
    assert h.files[0].comment_columns == ["Hoe volgde u de vorming? | Toelichting"]
    r = h.responses
    assert r.loc[r["question"] == "vorm", "code"].dropna().tolist() == [1.0] * 12


def test_a_comment_box_under_a_matrix_with_every_item_stays_a_comment(tmp_path):
    """Its only comment is a scale label, but no item lacks a column: a comment."""
    columns = [*VORMING[:8], ("", "Opmerking"), *VORMING[8:]]
    rows = [(rid(i), END, [*vorming_answers()[:8], "Neutraal" if i == 0 else "", *vorming_answers()[8:]])
            for i in range(12)]
    h = harmonise([(read_export(export_csv(tmp_path / "v.csv", columns, rows)), None)], load_codebook("vorming"), 2023)
    assert h.files[0].comment_columns == ["Hoe tevreden bent u over de volgende aspecten? | Opmerking"]
