"""The report's sentences say what the tables show: found by a reader comparing the
HTML, PDF, Excel and JSON of the demo reports (rounding, breaks in the series, themes)."""

from __future__ import annotations

import pytest

from agii_analysis import report
from agii_analysis.params import PARAMS_DIR
from agii_analysis.results import compute

pytestmark = pytest.mark.skipif(not (PARAMS_DIR / "2022" / "vorming.yaml").exists(),
                                reason="demo parameters missing: run `agii demo` (make test does)")


def _res(survey: str, year: int):
    return compute(PARAMS_DIR / str(year) / f"{survey}.yaml")


def test_a_change_across_a_break_is_not_called_significant():
    text = report.summary(_res("vorming", 2022)).data
    line = next(l for l in text.splitlines() if l.startswith("- Verschil met 2021"))
    assert "niet eenduidig te vergelijken [b]" in line and "significant" not in line, line
    assert "Breuk in de reeks [b]" in text


def test_a_comparable_change_keeps_its_test():
    text = report.summary(_res("na_aanbod_mo", 2023)).data
    line = next(l for l in text.splitlines() if l.startswith("- Verschil met 2022"))
    assert "statistisch significant" in line and "[b]" not in line, line


def test_nps_sentence_says_when_the_rounded_shares_do_not_subtract_to_it():
    res = _res("na_aanbod_mo", 2021)
    text = report.nps_section(res).data
    assert "**78 %** promotors" in text and "**4 %** criticasten" in text
    assert "= **+75** (afronding: de NPS is berekend op de aantallen: de afgeronde percentages geven +74)." in text
    plain = report.nps_section(_res("vorming", 2022)).data  # 40 - 27 = 13 and 40 + 33 + 27 = 100
    assert plain.endswith("= **+13**.") and "afgeronde" not in plain
    more = report.nps_section(_res("na_aanbod_mo", 2022)).data  # 78 + 17 + 6
    assert more.endswith("= **+72** (afronding: de afgeronde percentages tellen op tot 101 %).")


def test_scale_distribution_says_when_its_rounded_parts_do_not_add_up():
    text = report.satisfaction_text(_res("lokale_besturen", 2022)).data
    assert "Tevreden: 45 %; Heel tevreden: 21 %" in text
    assert ("(afronding: de afgeronde percentages tellen op tot 99 %; tevreden + heel tevreden geeft afgerond 66 %, "
            "op de aantallen 67 %)") in text
    assert "afronding" not in report.satisfaction_text(_res("vorming", 2022)).data


@pytest.mark.parametrize("value,decimals,expected", [
    (78.5, 0, "79 %"), (14.499999999999998, 0, "15 %"), (95.45, 1, "95,5 %"), (2.5, 0, "3 %"), (0.0, 0, "0 %")])
def test_percentages_round_half_up_as_the_published_figures(value, decimals, expected):
    assert report.pct(value, decimals) == expected


def test_nothing_to_print_is_a_dash():
    import numpy as np
    import pandas as pd

    for x in (None, float("nan"), np.float32("nan"), pd.NA, float("inf")):
        assert report.pct(x) == "–" and report.dec(x) == "–"
    assert report.pct(-1.5) == "−2 %"


def test_signed_decimals_round_half_away_from_zero():
    assert report.dec(-5.55) == "−5,6" and report.dec(7.45) == "7,5" and report.dec(-0.04) == "0,0"


def test_a_breakdown_not_asked_is_said_once():
    res = _res("na_aanbod_mo", 2021)
    assert report.breakdown_chart(res, "online").data == "Deze vraag werd in 2021 niet gesteld of niet beantwoord."
    assert report.breakdown_table(res, "online").data == ""


def test_themes_text_names_its_base_and_keeps_nothing_to_improve_apart():
    from agii_analysis.prepare import prepare
    from agii_analysis.params import load_params

    res = _res("vorming", 2022)
    text = report.themes_text(res).data
    t = res.themes.set_index("theme")
    h = prepare(load_params(PARAMS_DIR / "2022" / "vorming.yaml"))
    used = set(h.respondents.loc[h.respondents["status"] == "used", "respondent_id"])
    r = h.responses
    base = int((r["question"].eq(res.codebook.improvement) & r["text"].notna() & r["respondent_id"].isin(used)).sum())
    assert base > 100
    assert f"aandeel van de {base} antwoorden op de open vraag" in text
    top = [l for l in text.splitlines() if l[:2] in ("1.", "2.", "3.")]
    assert len(top) == 3 and not any(t.loc["niets", "label"] in l for l in top), top
    assert f"{int(t.loc['niets', 'n'])} antwoorden" in text and "niets te verbeteren" in text
    assert "themaboek" not in text  # no instruction to the analyst in a published report
    assert t.loc["ongecodeerd", "n"] == 0 and "ongecodeerd" not in text  # nothing to say about none


def test_response_by_collector_is_dutch_and_choice_bases_say_question():
    res = _res("na_aanbod_mo", 2022)
    assert "Collector" not in report.response_table(res).data
    d = res.distributions
    assert set(d.loc[d["kind"] == "choice", "base"]) == {"antwoorden op de vraag"}
    assert set(d.loc[d["kind"] == "scale", "base"]) == {"antwoorden op de schaal"}


def test_every_n_says_what_it_counts():
    """The summary's n were scale answers and the table's respondents, without a word
    (Digitale vormingen n = 334 beside Online 338); the quarters used respondents while
    their chart used scale answers."""
    res = _res("vorming", 2022)
    text = report.summary(res).data
    assert "n = 588 antwoorden op de schaal" in text and "n = 581 antwoorden op de aanbevelingsvraag" in text
    assert "Digitale vormingen: **87 %** (interval 83,1 % – 90,3 %; n = 334 antwoorden op de schaal)" in text
    trend = report.trend_text(res).data
    q1 = res.trend[(res.trend["period_type"] == "quarter") & (res.trend["period"] == 1)].iloc[0]
    assert trend.startswith("Per kwartaal (n = antwoorden op de schaal): ")
    assert f"K1: 80 % (n = {int(q1['n_satisfaction'])})" in trend and q1["n_satisfaction"] != q1["n"]
    table = report.breakdown_table(res, "vorm").data
    assert "<th>Respondenten</th>" in table and "<th>Antwoorden op de schaal</th>" in table
    assert table.endswith("<p>Deze vraag niet beantwoord: 9 respondenten.</p>")
    b = res.breakdowns[res.breakdowns["question"] == "vorm"]
    assert int(b["n"].sum()) + 9 == int(res.response.set_index("measure")["value"]["respondents"])


def test_the_appendix_does_not_call_a_change_across_a_break_significant(tmp_path):
    import openpyxl

    from agii_analysis.appendix import write_appendix

    res = _res("vorming", 2022)
    write_appendix(res, tmp_path / "a.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")["Kerncijfers"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    head = next(r for r in rows if "Indicator" in r)
    row = next(r for r in rows if r[head.index("Indicator")] == "% (heel) tevreden")
    col = next(i for i, h in enumerate(head) if h and str(h).startswith("Significant verschil"))
    assert row[col] == "[b]" and row[head.index("Breuk in reeks")] == "[b]", row


def test_response_by_group_says_why_it_has_no_response_rate():
    table = report.response_table(_res("vorming", 2022)).data
    assert "<th>Responsgraad</th>" not in table
    assert "Responsgraad per groep: niet beschikbaar" in table and "Verzamelaar: het SurveyMonkey-verzamelkanaal" in table


def test_the_digital_trainings_section_shows_their_figure_not_the_table_again():
    import nbformat

    nb = nbformat.read(report.REPO_ROOT / "notebooks" / "vorming.ipynb", as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Digitale vormingen"))
    assert nb.cells[i + 1].source == "report.subgroups(res)"
    text = report.subgroups(_res("vorming", 2022)).data
    assert text == "- % (heel) tevreden: Digitale vormingen: **87 %** (interval 83,1 % – 90,3 %; n = 334 antwoorden op de schaal)."
    assert "geen deelgroepen" in report.subgroups(_res("na_test_mo", 2022)).data
