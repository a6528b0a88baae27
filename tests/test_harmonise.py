"""Harmonising exports: codes, schema, accounting, duplicates, errors."""

import datetime as dt

import pandas as pd
import pytest

from agii_analysis.codebook import load_codebook
from agii_analysis.errors import AgiiError
from agii_analysis.harmonise import RESPONSE_COLUMNS, harmonise
from agii_analysis.params import InputFile
from agii_analysis.reader import read_export
from exportkit import VORMING, export_csv, rid, vorming_answers

D = "03/15/2022 10:00:00 AM"


def _h(paths, survey="vorming", year=2022, values="text", **kw):
    cb = load_codebook(survey)
    return harmonise([(read_export(p), InputFile(p, None, values)) for p in paths], cb, year, **kw)


def test_codes_schema_and_accounting(tmp_path):
    f = export_csv(tmp_path / "a.csv", VORMING, [
        (rid(1), D, vorming_answers("Heel tevreden", "10", text="Meer praktijkvoorbeelden")),
        (rid(2), D, vorming_answers("Neutraal", "6", vorm="Fysiek")),
        (rid(3), D, vorming_answers("Geen mening", "")),
    ])
    h = _h([f])
    assert list(h.responses.columns) == RESPONSE_COLUMNS
    tev = h.responses[h.responses["question"] == "tevreden"].set_index("respondent_id")
    assert tev.loc[rid(1), "code"] == 5 and tev.loc[rid(1), "label_nl"] == "Heel tevreden"
    assert tev.loc[rid(3), "code"] == 98 and tev.loc[rid(3), "label_nl"] == "Geen mening"
    asp = h.responses[(h.responses["question"] == "aspecten")]
    assert set(asp["item"]) == {"lesgever", "inhoud", "bruikbaarheid", "organisatie"}
    text = h.responses[h.responses["question"] == "verbeteren"]
    assert text["text"].tolist() == ["Meer praktijkvoorbeelden"]
    acc = h.accounting
    assert acc["read"] == 3 and acc["used"] == 3 and acc["read"] == acc["used"] + sum(acc["excluded"].values())
    # respondent 3 skipped the NPS question: partial
    assert acc["complete"] == 2 and acc["partial"] == 1


def test_duplicates_outside_period_and_no_answer(tmp_path):
    a = export_csv(tmp_path / "a.csv", VORMING, [
        (rid(1), D, vorming_answers()),
        (rid(2), "12/31/2021 11:59:00 PM", vorming_answers()),
        (rid(3), D, [""] * len(VORMING)),
    ])
    b = export_csv(tmp_path / "b.csv", VORMING, [(rid(1), D, vorming_answers()), (rid(4), D, vorming_answers())])
    h = _h([a, b])
    status = h.respondents.set_index(["source", "respondent_id"])["status"]
    assert status[("b.csv", rid(1))] == "duplicate"
    assert status[("a.csv", rid(2))] == "outside_period"
    assert status[("a.csv", rid(3))] == "no_answer"
    acc = h.accounting
    assert acc == {**acc, "read": 5, "used": 2}
    assert acc["excluded"]["duplicate"] == 1 and acc["excluded"]["outside_period"] == 1 and acc["excluded"]["no_answer"] == 1
    assert set(h.responses["respondent_id"]) == {rid(1), rid(4)}


def test_rows_in_input_order_with_texts_in_their_rows(tmp_path):
    """Export by export, respondent by respondent, each in the questionnaire's column
    order; excluded respondents leave no rows; each open answer stays with its respondent."""
    a = export_csv(tmp_path / "a.csv", VORMING, [
        (rid(1), D, vorming_answers(text="eerste")),
        (rid(2), "12/31/2021 11:59:00 PM", vorming_answers(text="buiten de periode")),
        (rid(3), D, vorming_answers(nps="", text="")),
        (rid(4), D, vorming_answers(tevreden="", text="vierde, met e-mail a@b.be")),
    ])
    b = export_csv(tmp_path / "b.csv", VORMING, [(rid(5), D, vorming_answers(text="vijfde"))])
    h = _h([a, b], redact=lambda t: t.replace("a@b.be", "[e-mail]"))
    r = h.responses
    order = ["thema", "vorm", "organisatie", "tevreden", "aspecten", "aspecten", "aspecten", "aspecten",
             "aanraden", "verbeteren"]
    expected = ([(rid(1), q) for q in order] + [(rid(3), q) for q in order if q not in ("aanraden", "verbeteren")]
                + [(rid(4), q) for q in order if q != "tevreden"] + [(rid(5), q) for q in order])
    assert list(zip(r["respondent_id"].astype(str), r["question"].astype(str))) == expected
    texts = r[r["text"].notna()]
    assert list(zip(texts["respondent_id"].astype(str), texts["text"])) == [
        (rid(1), "eerste"), (rid(4), "vierde, met e-mail [e-mail]"), (rid(5), "vijfde")]
    assert r.loc[r["question"] == "verbeteren", "code"].isna().all()
    assert r.loc[r["question"] != "verbeteren", "code"].notna().all()
    assert r["source"].astype(str).tolist() == ["a.csv"] * (len(r) - len(order)) + ["b.csv"] * len(order)


def test_conflicting_duplicate_is_an_error(tmp_path):
    a = export_csv(tmp_path / "a.csv", VORMING, [(rid(1), D, vorming_answers("Tevreden"))])
    b = export_csv(tmp_path / "b.csv", VORMING, [(rid(1), D, vorming_answers("Ontevreden"))])
    with pytest.raises(AgiiError) as e:
        _h([a, b])
    msg = str(e.value)
    assert rid(1) in msg and "a.csv row 3" in msg and "b.csv" in msg and "different answers" in msg


def test_unknown_label_error_names_file_column_row(tmp_path):
    f = export_csv(tmp_path / "a.csv", VORMING, [
        (rid(1), D, vorming_answers()), (rid(2), D, vorming_answers("Tevreeden")),
    ])
    with pytest.raises(AgiiError) as e:
        _h([f])
    msg = str(e.value)
    assert "a.csv" in msg and "'Tevreeden'" in msg and "row 4" in msg and "column M" in msg and "Heel tevreden" in msg
    h = _h([f], unknown_labels="missing")
    assert [u.label for u in h.unknown_labels] == ["Tevreeden"] and h.unknown_labels[0].count == 1
    assert h.responses[(h.responses["question"] == "tevreden")]["respondent_id"].tolist() == [rid(1)]


def test_curly_apostrophe_and_case_match(tmp_path):
    cols = VORMING
    vals = vorming_answers()
    vals[0] = "  vreemdelingenrecht "
    f = export_csv(tmp_path / "a.csv", cols, [(rid(1), D, vals)])
    h = _h([f])
    assert h.responses.loc[h.responses["question"] == "thema", "label_nl"].item() == "Vreemdelingenrecht"


def test_unknown_survey_is_an_error(tmp_path):
    f = export_csv(tmp_path / "a.csv", [("Do you eat steak?", "Response")], [(rid(1), D, ["Yes"])])
    with pytest.raises(AgiiError, match="none of its questions belong to survey 'vorming'"):
        _h([f])


def test_numeric_value_export(tmp_path):
    # positions: SAT5 1..5, 6 = Geen mening; NPS exported as score + 1
    vals = ["2", "1", "1", "5", "4", "4", "6", "3", "11", ""]
    f = export_csv(tmp_path / "a.csv", VORMING, [(rid(1), D, vals)])
    h = _h([f], values="numeric")
    r = h.responses.set_index(["question", "item"])["code"]
    assert r[("thema", "")] == 2 and r[("vorm", "")] == 1 and r[("tevreden", "")] == 5
    assert r[("aspecten", "bruikbaarheid")] == 98 and r[("aanraden", "")] == 10


def test_numeric_out_of_range_is_reported(tmp_path):
    vals = ["2", "1", "1", "5", "4", "4", "4", "3", "12", ""]
    f = export_csv(tmp_path / "a.csv", VORMING, [(rid(1), D, vals)])
    with pytest.raises(AgiiError, match="whole number 1-11"):
        _h([f], values="numeric")


def test_nps_out_of_range_text_export(tmp_path):
    f = export_csv(tmp_path / "a.csv", VORMING, [(rid(1), D, vorming_answers(nps="11"))])
    with pytest.raises(AgiiError, match=r"unknown answer '11'.*whole number 0-10"):
        _h([f])


def test_expanded_layout(tmp_path):
    cols = [("Welke vorming volgde u?", o) for o in ["Omgaan met diversiteit", "Vreemdelingenrecht"]] + [
        ("Hoe tevreden bent u in het algemeen over de vorming?", lab)
        for lab in ["Heel ontevreden", "Ontevreden", "Neutraal", "Tevreden", "Heel tevreden", "Geen mening"]]
    cols = [(c[0] if i in (0, 2) else "", c[1]) for i, c in enumerate(cols)]
    f = export_csv(tmp_path / "a.csv", cols, [(rid(1), D, ["", "Vreemdelingenrecht", "", "", "", "Tevreden", "", ""])])
    h = _h([f])
    r = h.responses.set_index("question")["code"]
    assert r["thema"] == 2 and r["tevreden"] == 4


def test_language_edition_and_language_column(tmp_path):
    cb = load_codebook("na_aanbod_mo")
    q = cb.questions
    cols = [(q["tevreden"].texts["en"][0], "Response")]
    f = export_csv(tmp_path / "en.csv", cols, [(rid(1), D, ["Very satisfied"])])
    h = _h([f], survey="na_aanbod_mo", year=2022)
    assert h.files[0].edition_language == "en"
    assert h.responses["language"].tolist() == ["en"] and h.responses["code"].tolist() == [5]
    g = export_csv(tmp_path / "multi.csv", [(q["tevreden"].texts["nl"][0], "Response")],
                   [(rid(2), D, ["Tevreden"]), (rid(3), D, ["Neutraal"])], language=["uk", "de"])
    with pytest.raises(AgiiError) as e:
        _h([g], survey="na_aanbod_mo", year=2022)
    assert "'de'" in str(e.value) and "row 4" in str(e.value) and "column language" in str(e.value)


def test_private_columns_never_reach_the_table(tmp_path):
    planted = {rid(1): {"ip": "203.0.113.77", "email": "jan.peeters@example.be", "first": "Jan", "last": "Peeters",
                        "custom": "klant-8812"}}
    f = export_csv(tmp_path / "a.csv", VORMING, [(rid(1), D, vorming_answers())], private=planted)
    h = _h([f])
    blob = h.responses.astype(str).to_csv() + h.respondents.astype(str).to_csv()
    for value in planted[rid(1)].values():
        assert value not in blob
    assert {"IP Address", "Email Address", "First Name", "Last Name", "Custom Data 1"} <= set(h.files[0].dropped_columns)


def test_period_from_params(tmp_path):
    f = export_csv(tmp_path / "a.csv", VORMING, [(rid(1), "03/15/2023 10:00:00 AM", vorming_answers()),
                                                  (rid(2), "06/15/2023 10:00:00 AM", vorming_answers())])
    h = _h([f], year=2023, period=(dt.date(2023, 3, 1), dt.date(2023, 5, 31)))
    assert h.respondents["status"].tolist() == ["used", "outside_period"]
    assert isinstance(h.responses["start"].dtype, type(pd.Series(pd.to_datetime(["2023-01-01"])).dtype))


def test_unknown_labels_counted_per_label_with_first_row(tmp_path):
    f = export_csv(tmp_path / "a.csv", VORMING, [
        (rid(1), D, vorming_answers(vorm="Hybride")),
        (rid(2), D, vorming_answers(vorm="Online")),
        (rid(3), D, vorming_answers(vorm="Hybride")),
        (rid(4), D, vorming_answers(vorm="Fysiek ")),
    ])
    h = _h([f], unknown_labels="missing")
    assert [(u.label, u.count, u.first_row) for u in h.unknown_labels] == [("Hybride", 2, 3)]
    assert h.responses.query("question == 'vorm'")["code"].tolist() == [1.0, 2.0]


def test_unknown_label_counting_keeps_labels_numpy_would_merge():
    # numpy compares 'Online\x00' as 'Online' (trailing NULs dropped); the mutation tests
    # once reached this through a CSV holding a NUL byte
    import numpy as np
    from types import SimpleNamespace

    from agii_analysis.harmonise import _unknown

    export = SimpleNamespace(path="x.csv", name="x.csv", meta=pd.DataFrame({"row": [3, 4, 5, 6]}))
    col = SimpleNamespace(letter="K", key="vorm | Response")
    unknown = []
    _unknown(unknown, export, col, SimpleNamespace(id="vorm"), np.array([0, 1, 2, 3]),
             np.array(["Online\x00", "Hybride", "Online\x00", "Online"], dtype=object), "one of …")
    assert [(u.label, u.count, u.first_row) for u, _ in unknown] == [
        ("Online\x00", 2, 3), ("Hybride", 1, 4), ("Online", 1, 6)]


def test_sheets_of_one_workbook_listed_as_inputs_are_not_called_unread(tmp_path):
    """One workbook, a sheet per collector, each sheet an input: the reader's warning that
    the other sheet was not read holds only while no other input reads it."""
    import csv

    import openpyxl

    def grid(first: int, answer: str) -> list[list[str]]:
        f = export_csv(tmp_path / f"{first}.csv", VORMING, [(rid(first), D, vorming_answers(answer)),
                                                            (rid(first + 1), D, vorming_answers(answer))])
        return list(csv.reader(f.read_text(encoding="utf-8").splitlines()))

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in (("Online", grid(1, "Tevreden")), ("Fysiek", grid(11, "Neutraal")),
                       ("Extra", grid(21, "Ontevreden"))):
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append([v if v != "" else None for v in row])
    path = tmp_path / "vorming.xlsx"
    wb.save(path)
    cb = load_codebook("vorming")
    both = harmonise([(read_export(path, sheet=s), InputFile(path, s)) for s in ("Online", "Fysiek")], cb, 2022)
    assert both.accounting["used"] == 4
    unread = [w for w in both.warnings if "not read" in w]
    assert [w.split(" also hold")[0] for w in unread] == [
        "vorming.xlsx (Online): sheet(s) 'Extra'", "vorming.xlsx (Fysiek): sheet(s) 'Extra'"], unread
    assert [f.file for f in both.files] == ["vorming.xlsx (Online)", "vorming.xlsx (Fysiek)"]  # told apart
    assert both.respondents.groupby("source").size().to_dict() == {"vorming.xlsx (Fysiek)": 2, "vorming.xlsx (Online)": 2}
    assert [f.warnings for f in both.files] == [[w.split("): ", 1)[1]] for w in unread]
    one = harmonise([(read_export(path, sheet="Online"), InputFile(path, "Online"))], cb, 2022)
    assert [w for w in one.warnings if "not read" in w] == [
        "vorming.xlsx: sheet(s) 'Fysiek', 'Extra' also hold rows that start with a respondent id but were not "
        "read: only sheet 'Online' was; if they are respondents of this survey-year, list that "
        "sheet as an input of its own"]
    with pytest.raises(AgiiError) as e:  # an error in the second sheet names that sheet
        bad = [openpyxl.load_workbook(path)]
        bad[0]["Fysiek"]["M4"] = "Superblij"
        bad[0].save(path)
        harmonise([(read_export(path, sheet=s), InputFile(path, s)) for s in ("Online", "Fysiek")], cb, 2022)
    assert "vorming.xlsx (Fysiek), sheet 'Fysiek', column M" in str(e.value) and "row 4" in str(e.value), str(e.value)


def test_an_option_called_andere_in_the_expanded_layout_is_that_option(tmp_path):
    """vorming's thema has an option "Andere": in the expanded layout its column's row-2
    label is "Andere", which is also a wording of "Other (please specify)". It was read as
    the free text "Andere", and the respondent counted as not answering thema."""
    cols = [("Welke vorming volgde u?", "Vreemdelingenrecht"), ("", "Andere"), ("", "Other (please specify)"),
            ("Hoe tevreden bent u in het algemeen over de vorming?", "Response")]
    f = export_csv(tmp_path / "expanded.csv", cols, [
        (rid(1), D, ["", "Andere", "", "Tevreden"]),
        (rid(2), D, ["Vreemdelingenrecht", "", "", "Tevreden"]),
        (rid(3), D, ["", "", "Taalbeleid", "Neutraal"]),
    ])
    h = _h([f])
    thema = h.responses[h.responses["question"] == "thema"]
    assert thema[["respondent_id", "item", "code", "text"]].astype(object).where(thema.notna(), None).values.tolist() == [
        [rid(1), "", 6.0, None], [rid(2), "", 2.0, None], [rid(3), "other", None, "Taalbeleid"]]


@pytest.mark.parametrize("layout", ["condensed", "expanded"])
def test_an_other_column_labelled_andere_keeps_its_typed_texts(tmp_path, layout):
    """The Other column's label may be just "Andere", like thema's option: beside a Response
    column (condensed layout), or holding typed texts, it is still the Other column."""
    first = [("Welke vorming volgde u?", "Response")] if layout == "condensed" else [
        ("Welke vorming volgde u?", "Vreemdelingenrecht")]
    cols = first + [("", "Andere"), ("Hoe tevreden bent u in het algemeen over de vorming?", "Response")]
    f = export_csv(tmp_path / f"{layout}.csv", cols, [
        (rid(1), D, ["Andere" if layout == "condensed" else "", "Taalbeleid", "Tevreden"]),
        (rid(2), D, ["Vreemdelingenrecht", "", "Tevreden"]),
    ])
    h = _h([f])
    thema = h.responses[h.responses["question"] == "thema"]
    rows = thema[["respondent_id", "item", "code", "text"]].astype(object).where(thema.notna(), None).values.tolist()
    other = [rid(1), "other", None, "Taalbeleid"]
    assert rows == ([[rid(1), "", 6.0, None], other, [rid(2), "", 2.0, None]] if layout == "condensed" else
                    [other, [rid(2), "", 2.0, None]])
