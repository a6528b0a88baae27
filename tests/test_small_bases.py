"""A figure resting on fewer answers than the suppression threshold is not shown.

The whole survey is a group too: when only a few of its respondents answered a
question (the NPS, the headline, one aspect, the open question), the figure would show
those few people's answers. Results empties it and flags it `suppressed`; the report
says why ([c]), the workbooks write [c], and the rest of the report still shows.
Each case takes the demo's 2022 data and keeps the answers of FEW respondents only.
"""

from __future__ import annotations

import dataclasses
import re

import nbformat
import numpy as np
import pandas as pd
import openpyxl
import pytest

from agii_analysis import charts, report
from agii_analysis.appendix import write_appendix, write_overview
from agii_analysis.codebook import load_codebook
from agii_analysis.params import PARAMS_DIR, load_params
from agii_analysis.prepare import prepare
from agii_analysis.errors import AgiiError
from agii_analysis.results import Results, _change_row, _nest, _Previous, compute
from agii_analysis.audit import small_groups_json
from agii_analysis.themes import load_themes
from agii_analysis import stats

pytestmark = pytest.mark.skipif(not (PARAMS_DIR / "2022" / "vorming.yaml").exists(),
                                reason="demo parameters missing: run `agii demo` (make test does)")

FEW = 3  # respondents who answered; the demo's threshold is 10


def _few(survey: str, question: str, item: str | None = None, keep: int = FEW, threshold: int | None = None):
    """The 2022 results with `question` (or one matrix item) answered by `keep` respondents only."""
    params = load_params(PARAMS_DIR / "2022" / f"{survey}.yaml")
    if threshold is not None:
        params = dataclasses.replace(params, suppression_threshold=threshold)
    h = prepare(params)
    r = h.responses
    target = (r["question"] == question) & ((r["item"] == item) if item is not None else True)
    answered = r.loc[target & r["code"].notna() if question != "verbeteren" else target & r["text"].notna(),
                     "respondent_id"].astype(str).unique()
    assert len(answered) > 50  # the demo answered it widely: what is left is the small case
    kept = set(answered[:keep])
    drop = target & ~r["respondent_id"].astype(str).isin(kept)
    gap = dataclasses.replace(h, responses=r[~drop].reset_index(drop=True))
    return compute(params, harmonised=gap)


def _shown(res, survey: str) -> str:
    nb = nbformat.read(report.REPO_ROOT / "notebooks" / f"{survey}.ipynb", as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("report."):
            shown = eval(cell.source, {"report": report, "res": res})  # a template cell is one call
            out.append(shown.data if isinstance(shown.data, str) else "<image>")
    return "\n".join(out)


def _sheet_rows(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    (table,) = ws.tables.values()
    rows = [[c.value for c in r] for r in ws[table.ref]]
    return rows[0], rows[1:]


def _col(header, start):
    return next(i for i, h in enumerate(header) if h.startswith(start))


# ------------------------------------------------------------------ NPS


@pytest.fixture(scope="module")
def few_nps():
    return _few("na_aanbod_mo", load_codebook("na_aanbod_mo").nps)


def test_nps_on_few_answers_is_suppressed(few_nps):
    res = few_nps
    for indicator in ("nps", "pct_detractors", "pct_promoters"):
        row = res.figure(indicator)
        assert bool(row["suppressed"])
        assert np.isnan([row["n"], row["k"], row["estimate"], row["lo"], row["hi"], row["rounded"]]).all()
    assert not res.suppressed("pct_satisfied") and res.figure("pct_satisfied")["n"] > 100
    assert res.nps["suppressed"].all() and res.nps[["count", "share", "lo", "hi"]].isna().all().all()
    assert "nps" not in set(res.change["indicator"])  # no change on a figure not shown
    scores = res.distributions[(res.distributions["question"] == load_codebook("na_aanbod_mo").nps)]
    assert scores.loc[scores["kind"] == "score", "suppressed"].all()
    assert scores.loc[scores["kind"] == "score", "count"].isna().all()
    missing = scores[scores["kind"] == "missing"].iloc[0]
    assert not missing["suppressed"] and missing["count"] == res.accounting["used"] - FEW
    h = res.headline()
    assert h["nps"] is None and h["nps_suppressed"] and not h["pct_satisfied_suppressed"]


def test_nps_on_few_answers_in_the_report(few_nps):
    text = _shown(few_nps, "na_aanbod_mo")
    assert "Net Promoter Score: niet getoond: minder dan 10 antwoorden op de aanbevelingsvraag [c]." in text
    assert "Net Promoter Score +" not in text and "**Net Promoter Score" not in text
    assert "(heel) tevreden** (95 %-betrouwbaarheidsinterval" in text  # the headline still shows
    assert " nan" not in text.lower() and "Uit de exports werden" in text
    table = report.overview_table([few_nps]).data
    assert "<td>[c]</td>" in table


def test_nps_on_few_answers_in_the_workbooks(few_nps, tmp_path):
    path = write_appendix(few_nps, tmp_path / "app.xlsx")
    header, rows = _sheet_rows(path, "Kerncijfers")
    nps = next(r for r in rows if r[-1] == "nps")
    for start in ("Aantal antwoorden", "Aantal in de teller", "Schatting", "Ondergrens", "Bovengrens", "Afgerond"):
        assert nps[_col(header, start)] == "[c]", start
    sat = next(r for r in rows if r[-1] == "pct_satisfied")
    assert isinstance(sat[_col(header, "Schatting")], float)
    header, rows = _sheet_rows(path, "NPS")
    assert all(r[_col(header, "Aantal")] == "[c]" for r in rows)
    notes = [c.value for c in openpyxl.load_workbook(path)["Toelichting"]["B"]]
    assert any(isinstance(n, str) and "of een cijfer op minder dan 10 antwoorden" in n for n in notes)
    overview = write_overview([few_nps], 2022, tmp_path / "overzicht.xlsx")
    header, rows = _sheet_rows(overview, "Overzicht")
    assert rows[0][_col(header, "Net Promotor Score")] == "[c]"
    assert isinstance(rows[0][_col(header, "% (heel) tevreden")], int)
    notes = [c.value for c in openpyxl.load_workbook(overview)["Toelichting"]["B"]]
    assert any(isinstance(n, str) and n.startswith("Afgeschermd: het cijfer rust op minder antwoorden") for n in notes)


# ------------------------------------------------------------------ headline


@pytest.fixture(scope="module")
def few_headline():
    return _few("vorming", load_codebook("vorming").headline)


def test_headline_on_few_answers(few_headline):
    res = few_headline
    assert res.suppressed("pct_satisfied") and np.isnan(res.figure("pct_satisfied")["estimate"])
    assert "pct_satisfied" not in set(res.change["indicator"])
    assert "nps" in set(res.change["indicator"])  # the NPS rests on its own answers: its change still shows
    assert not np.isnan(res.figure("nps")["diff"])
    assert res.headline()["pct_satisfied"] is None and res.headline()["diff"] is None
    assert res.priority["importance"].isna().all()  # a correlation with the headline on 3 pairs: not shown
    text = _shown(res, "vorming")
    assert "% (heel) tevreden: niet getoond: minder dan 10 antwoorden op de schaal [c]." in text
    assert "Geen vergelijking met vorig jaar: het cijfer van dit jaar wordt niet getoond [c]." in text
    assert report.NO_PRIORITY in text
    assert " nan" not in text.lower() and "<image>" in text
    assert "<td>[c]</td><td>[c]</td></tr>" in re.sub(r">\s+<", "><", report.overview_table([res]).data)


# ------------------------------------------------------------------ one aspect


def test_one_aspect_on_few_answers(tmp_path):
    book = load_codebook("na_traject")
    matrix = next(q for q in book.questions.values() if q.type == "matrix" and q.asked_in(2022))
    item = next(iter(matrix.items))
    res = _few("na_traject", matrix.id, item)
    a = res.aspects.set_index("item")
    assert bool(a.loc[item, "suppressed"]) and np.isnan(a.loc[item, ["n", "pct_satisfied", "importance", "rank",
                                                                      "n_pairs", "n_answered"]].astype(float)).all()
    others = a.drop(index=item)
    assert not others["suppressed"].any()
    mine = others[others["question"] == matrix.id]
    assert sorted(mine["rank"]) == list(range(1, len(mine) + 1))  # ranked among the aspects shown
    assert item not in set(res.priority.dropna(subset=["quadrant"])["item"])
    text = report.aspects_text(res).data
    assert f"Niet getoond (minder dan 10 antwoorden op de schaal) [c]: {matrix.item_label(item)}." in text
    path = write_appendix(res, tmp_path / "app.xlsx")
    header, rows = _sheet_rows(path, "Onderdelen")
    row = next(r for r in rows if r[-1] == item and r[-2] == matrix.id)
    assert row[_col(header, "% (heel) tevreden")] == "[c]" and row[_col(header, "Rangorde")] == "[c]"
    assert row[_col(header, "Respondenten in de correlatie")] == "[c]"
    dist = res.distributions[(res.distributions["question"] == matrix.id) & (res.distributions["item"] == item)]
    assert dist.loc[dist["kind"] == "scale", "count"].isna().all()


# ------------------------------------------------------------------ open question


def test_open_question_on_few_answers():
    res = _few("vorming", "verbeteren")
    assert res.themes["suppressed"].all() and res.themes["n"].isna().all()
    book = [t.id for t in load_themes().for_survey("vorming")]
    assert list(res.themes["theme"]) == book + ["ongecodeerd"]  # not by count: that would tell which came up
    assert res.quotes.empty
    text = _shown(res, "vorming")
    assert "Verbeterpunten: niet getoond: minder dan 10 antwoorden op de open vraag [c]." in text
    assert "Geen citaten: te weinig antwoorden op de open vraag [c]." in text


# ------------------------------------------------------------------ the boundary and last year


def test_a_base_equal_to_the_threshold_is_shown():
    res = _few("na_aanbod_mo", load_codebook("na_aanbod_mo").nps, threshold=FEW)
    assert not res.suppressed("nps") and res.figure("nps")["n"] == FEW


def test_no_change_on_a_previous_raw_figure_below_its_threshold():
    cur = stats.proportion(80, 100)
    prev = _Previous(2021, stats.proportion(2, 3), None, None, None, "5-punt", "ruwe gegevens", threshold=10)
    assert _change_row("pct_satisfied", "x", cur, prev.sat, None, prev, True, "prop") is None
    prev = dataclasses.replace(prev, sat=stats.proportion(0, 0))  # no answers last year: nothing to compare
    assert _change_row("pct_satisfied", "x", cur, prev.sat, None, prev, True, "prop") is None
    prev = dataclasses.replace(prev, sat=stats.proportion(8, 10))
    assert _change_row("pct_satisfied", "x", cur, prev.sat, None, prev, True, "prop")["diff"] == pytest.approx(0.0)


# ------------------------------------------------------------------ a group's NPS


def test_a_groups_nps_on_few_answers_is_hidden_with_its_complement(tmp_path):
    params = load_params(PARAMS_DIR / "2022" / "na_aanbod_mo.yaml")
    h = prepare(params)
    r = h.responses
    nps_q = load_codebook("na_aanbod_mo").nps
    langs = h.used["language"].astype(str).value_counts()
    big = langs.index[0]
    assert langs.iloc[0] > 50 and (langs >= 10).sum() >= 3  # groups large enough to be shown
    in_big = (r["question"] == nps_q) & (r["language"].astype(str) == big)
    keep = set(r.loc[in_big, "respondent_id"].astype(str).unique()[:FEW])
    gap = dataclasses.replace(h, responses=r[~(in_big & ~r["respondent_id"].astype(str).isin(keep))].reset_index(drop=True))
    res = compute(params, harmonised=gap)
    full = compute(params, harmonised=h).breakdowns
    before = full[full["question"] == "taal_vragenlijst"].set_index("group_code")
    b = res.breakdowns[res.breakdowns["question"] == "taal_vragenlijst"].set_index("group_code")
    assert not b.loc[big, "suppressed"] and b.loc[big, "pct_satisfied"] > 0  # the group itself shows
    assert b.loc[big, "nps_suppressed"] and np.isnan(b.loc[big, ["n_nps", "nps", "nps_rounded"]].astype(float)).all()
    assert not before["nps_suppressed"].any()  # before the thinning every group's NPS showed
    complement = before.drop(index=big)["n_nps"].idxmin()  # the next-smallest, or the total would give it away
    assert set(b.index[b["nps_suppressed"]]) == {big, complement}
    shown = b[~b["nps_suppressed"]]
    assert len(shown) == len(b) - 2 and shown["nps"].notna().all() and (shown["n_nps"] >= 10).all()
    table = report.breakdown_table(res, "taal_vragenlijst").data
    row = re.search(rf"<td>{re.escape(str(b.loc[big, 'group']))}</td>(.*?)</tr>", re.sub(r">\s+<", "><", table)).group(1)
    assert row.endswith("<td>[c]</td>") and "[c]" not in row[: -len("<td>[c]</td>")]
    fig = charts.breakdown_chart(res.breakdowns, "taal_vragenlijst", title="NPS", source="demo", measure="nps")
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert f"suppressed:{big}" in gids and f"bar:{big}" not in gids and f"value:{big}" not in gids
    fig = charts.breakdown_chart(res.breakdowns, "taal_vragenlijst", title="%", source="demo")
    assert f"bar:{big}" in {a.get_gid() for a in fig.findobj() if a.get_gid()}  # its % (heel) tevreden shows
    path = write_appendix(res, tmp_path / "app.xlsx")
    header, rows = _sheet_rows(path, "Uitsplitsingen")
    mine = next(x for x in rows if x[header.index("Code indeling")] == "taal_vragenlijst"
                and x[header.index("Code groep")] == big)
    assert mine[_col(header, "NPS")] == "[c]" and isinstance(mine[_col(header, "% (heel) tevreden")], float)


# ------------------------------------------------------------------ months inside quarters


def test_a_hidden_month_does_not_follow_from_its_quarter():
    """January's NPS on 4 answers: hiding it and the year's next-smallest month is not
    enough, as K1 minus February and March would give January. A month of K1 goes too."""
    params = load_params(PARAMS_DIR / "2022" / "na_aanbod_mo.yaml")
    h = prepare(params)
    r = h.responses
    month = r["end"].fillna(r["start"]).dt.month
    nps_q = load_codebook("na_aanbod_mo").nps
    jan = (r["question"] == nps_q) & (month == 1)
    keep = set(r.loc[jan, "respondent_id"].astype(str).unique()[:4])
    gap = dataclasses.replace(h, responses=r[~(jan & ~r["respondent_id"].astype(str).isin(keep))].reset_index(drop=True))
    res = compute(params, harmonised=gap)
    t = res.trend
    months = t[t["period_type"] == "month"].set_index("period")
    quarters = t[t["period_type"] == "quarter"].set_index("period")
    assert months.loc[1, "nps_suppressed"] and not months.loc[1, "suppressed"]
    assert not quarters.loc[1, "nps_suppressed"]  # K1 still shows its NPS ...
    full = compute(params, harmonised=h).trend
    smaller = full[(full["period_type"] == "month") & full["period"].isin([2, 3])].set_index("period")["n_nps"].idxmin()
    # ... so the smaller of February and March is hidden with January, and nothing else: two hidden
    # months also keep the year's total from revealing either
    assert set(months.index[months["nps_suppressed"]]) == {1, smaller}
    assert not quarters["nps_suppressed"].any()
    assert not quarters["suppressed"].any() and not months["suppressed"].any()
    assert list(small_groups_json(res.to_dict(), res.threshold)) == []  # the audit agrees: nothing to derive
    fig = charts.trend_chart(t, "month", title="NPS", source="demo", measure="nps")
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert "suppressed:1" in gids and "value:1" not in gids


def test_nest_hides_a_month_of_a_hidden_quarter_whose_months_all_show():
    quarters = pd.DataFrame({"group_code": [1, 2], "n": [30, 40], "suppressed": [True, True]})
    months = pd.DataFrame({"group_code": [1, 2, 3, 4, 5, 6], "n": [10, 12, 8, 15, 11, 14],
                           "suppressed": [False, False, True, False, False, False]})
    _nest(quarters, months)
    # K1 has March hidden already; K2's three shown months would add up to K2, so its smallest
    # month (May) goes; two hidden months need no further complement
    assert list(months.loc[months["suppressed"], "group_code"]) == [3, 5]
    assert quarters["suppressed"].all()


# ------------------------------------------------------------------ no answers at all


def test_no_answers_is_not_available_not_suppressed():
    res = _few("vorming", load_codebook("vorming").headline, keep=0)
    assert not res.suppressed("pct_satisfied") and res.figure("pct_satisfied")["n"] == 0
    assert "pct_satisfied" not in set(res.change["indicator"])  # nothing to compare
    text = report.summary(res).data
    assert "niet beschikbaar" in text and "Verschil met" not in text and "[c]" not in text
    res = _few("vorming", "vorm", keep=0)  # the online subgroup: nobody said how they took part
    online = res.subgroups.iloc[0]
    assert online["n"] == 0 and not online["suppressed"]
    assert "Digitale vormingen: niet beschikbaar" in report.summary(res).data


# ------------------------------------------------------------------ a question's chart


def test_distribution_chart_of_a_hidden_item():
    book = load_codebook("na_traject")
    matrix = next(q for q in book.questions.values() if q.type == "matrix" and q.asked_in(2022))
    item = next(iter(matrix.items))
    res = _few("na_traject", matrix.id, item)
    fig = charts.distribution_chart(res.distributions, matrix.id, item=None, title="Onderdelen", source="demo")
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert f"suppressed:{item}" in gids and not any(g.startswith(f"bar:{item}:") for g in gids)
    other = list(matrix.items)[1]
    assert any(g.startswith(f"bar:{other}:") for g in gids)


def test_results_files_from_before_the_flags_are_refused(tmp_path, few_nps):
    """A schema-1 file has no `suppressed` flags: read as it is, its small figures would show."""
    path = tmp_path / "na_aanbod_mo_2022_resultaten.json"
    few_nps.to_json(path)
    assert Results.from_json(path).suppressed("nps")  # the round trip keeps the flag
    from agii_analysis.results import SCHEMA

    text = path.read_text(encoding="utf-8")
    assert f'"{SCHEMA}"' in text
    path.write_text(text.replace(f'"{SCHEMA}"', '"agii-results/1"'), encoding="utf-8")
    with pytest.raises(AgiiError, match=r"na_aanbod_mo_2022_resultaten.json: a results file of schema "
                                        r"'agii-results/1'.*agii run --force"):
        Results.from_json(path)


def test_trend_text_counts_the_hidden_periods(few_nps):
    t = few_nps.trend.copy()
    hide = ((t["period_type"] == "quarter") & (t["period"] == 1)) | ((t["period_type"] == "month") & t["period"].isin([1, 2]))
    t.loc[hide, "suppressed"] = True
    text = report.trend_text(dataclasses.replace(few_nps, trend=t)).data
    assert text.endswith("Niet getoond (te weinig antwoorden, of af te leiden uit andere perioden) [c]: "
                         "1 kwartaal en 2 maanden.")
    t["suppressed"] = True
    assert report.trend_text(dataclasses.replace(few_nps, trend=t)).data.startswith(
        "Per kwartaal: geen enkel kwartaal getoond. Niet getoond")


def test_a_group_with_few_scale_answers_keeps_its_nps(tmp_path):
    """A language edition without the headline question: the group's % (heel) tevreden is
    hidden (with its complement), its NPS, on plenty of NPS answers, still shows."""
    params = load_params(PARAMS_DIR / "2022" / "na_aanbod_mo.yaml")
    h = prepare(params)
    r = h.responses
    big = h.used["language"].astype(str).value_counts().index[0]
    in_big = (r["question"] == load_codebook("na_aanbod_mo").headline) & (r["language"].astype(str) == big)
    keep = set(r.loc[in_big, "respondent_id"].astype(str).unique()[:FEW])
    gap = dataclasses.replace(h, responses=r[~(in_big & ~r["respondent_id"].astype(str).isin(keep))].reset_index(drop=True))
    res = compute(params, harmonised=gap)
    b = res.breakdowns[res.breakdowns["question"] == "taal_vragenlijst"].set_index("group_code")
    assert b.loc[big, "suppressed"] and np.isnan(float(b.loc[big, "pct_satisfied"])) and np.isnan(float(b.loc[big, "n"]))
    assert b["suppressed"].sum() == 2  # with its complement
    assert not b["nps_suppressed"].any() and b.loc[big, "n_nps"] > 100 and not np.isnan(b.loc[big, "nps"])
    table = re.sub(r">\s+<", "><", report.breakdown_table(res, "taal_vragenlijst").data)
    row = re.search(rf"<td>{re.escape(str(b.loc[big, 'group']))}</td>(.*?)</tr>", table).group(1)
    assert row.startswith("<td>[c]</td><td>[c]</td><td>[c]</td>") and row.endswith(f"<td>{report.signed(b.loc[big, 'nps_rounded'])}</td>")
    header, rows = _sheet_rows(write_appendix(res, tmp_path / "app.xlsx"), "Uitsplitsingen")
    mine = next(x for x in rows if x[header.index("Code indeling")] == "taal_vragenlijst" and x[header.index("Code groep")] == big)
    assert mine[_col(header, "% (heel) tevreden")] == "[c]" and mine[_col(header, "Respondenten")] == "[c]"
    assert mine[_col(header, "NPS")] == pytest.approx(b.loc[big, "nps"])
    assert list(small_groups_json(res.to_dict(), res.threshold)) == []


def test_a_small_option_of_a_breakdown_question_is_hidden_in_the_distributions_too(tmp_path):
    """vorming 2022 hides the theme 'Andere' (7 respondents) and, as its complement, the
    next-smallest theme in the breakdown; the distribution of that question showed both
    counts (the appendix's Verdelingen), so the hidden group's size was there after all."""
    import json

    res = compute(PARAMS_DIR / "2022" / "vorming.yaml")
    bd = res.breakdowns[res.breakdowns["question"] == "thema"].set_index("group")
    hidden = set(bd.index[bd["suppressed"]])
    dist = res.distributions[(res.distributions["question"] == "thema")
                             & (res.distributions["kind"] == "choice")].set_index("label")
    assert "Andere" in hidden and len(hidden) == 2
    assert set(dist.index[dist["suppressed"]]) == hidden
    assert dist.loc[sorted(hidden), ["count", "share"]].isna().all().all()
    assert (dist.loc[~dist["suppressed"], "count"] >= 10).all()
    # the audit finds such a count when it is shown
    res.to_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [f for f in small_groups_json(data, 10) if "distributions" in f[0]] == []
    i = next(i for i, r in enumerate(data["distributions"]) if r["question"] == "thema" and r["label"] == "Andere")
    data["distributions"][i].update(suppressed=False, count=7, share=7 / 604)
    found = [f for f in small_groups_json(data, 10) if "distributions" in f[0]]
    assert found == [(f"$.distributions[{i}]", "small-group",
                      "option 'Andere' of question 'thema' shows a group of 7 (below the threshold 10) and is not "
                      "suppressed"),
                     (f"$.distributions[{i}]", "complementary-disclosure",
                      "group 'Andere' of question 'thema' is hidden in the breakdown but its count is shown here: the "
                      "counts of the two tables together can reveal a hidden group")], found


def test_a_breakdown_hiding_a_group_for_its_scale_answers_hides_the_same_options_in_the_distribution():
    """Counts alone would hide another complementary option than the breakdown (which also
    hides a group of 12 with only 8 scale answers): then the distribution shows the group
    the breakdown hides as a complement, the breakdown the one the distribution hides, and
    the total minus all shown counts is the small group (found by a review: Andere = 7)."""
    params = load_params(PARAMS_DIR / "2022" / "vorming.yaml")
    h = prepare(params)
    r = h.responses.copy()
    rid = r["respondent_id"].astype(str)
    thema = r[(r["question"] == "thema") & r["code"].notna()]
    ids = {c: list(thema.loc[thema["code"] == c, "respondent_id"].astype(str)) for c in (3.0, 5.0)}
    moved = set(ids[3.0][11:]) | set(ids[5.0][12:])  # theme 3 keeps 11 respondents, theme 5 keeps 12
    r.loc[(r["question"] == "thema") & rid.isin(moved), "code"] = 1.0
    on_scale = set(r.loc[(r["question"] == "tevreden") & r["code"].between(1, 5), "respondent_id"].astype(str))
    drop = [x for x in ids[5.0][:12] if x in on_scale][:4]  # theme 5: 12 respondents, 8 scale answers
    r = r[~((r["question"] == "tevreden") & r["respondent_id"].astype(str).isin(drop))].reset_index(drop=True)
    res = compute(params, harmonised=dataclasses.replace(h, responses=r))
    bd = res.breakdowns[res.breakdowns["question"] == "thema"].set_index("group")
    dist = res.distributions[(res.distributions["question"] == "thema")
                             & (res.distributions["kind"] == "choice")].set_index("label")
    assert bd.loc["Begeleiding van nieuwkomers", "suppressed"] and bd.loc["Andere", "suppressed"]
    assert not bd.loc["Internationaal familierecht", "suppressed"]
    assert dist["suppressed"].to_dict() == bd["suppressed"].astype(bool).to_dict()
    assert dist.loc["Internationaal familierecht", "count"] == 11
    import json
    import tempfile
    from pathlib import Path
    path = Path(tempfile.mkdtemp()) / "r.json"
    res.to_json(path)
    assert list(small_groups_json(json.loads(path.read_text(encoding="utf-8")), 10)) == []
