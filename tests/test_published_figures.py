"""Back-test: the demo exports, through the real reader and metrics, give the published figures.

The expected values are those of the parliamentary answer (instrument.md §4); they
appear here and nowhere in the package.
"""

import pytest

from agii_analysis.params import PARAMS_DIR
from agii_analysis.prepare import prepare
from agii_analysis.results import compute

PUBLISHED_ROWS = [
    # survey, year, NPS, % (heel) tevreden, difference on x-1, comparable with x-1
    ("na_aanbod_mo", 2022, 72, 95, -3, False),
    ("na_test_mo", 2022, None, 90, None, None),
    ("na_traject", 2022, 41, 83, -5, False),
    ("vorming", 2022, 13, 81, -10, False),
    ("lokale_besturen", 2023, -6, 70, 3, False),
]
PREVIOUS_YEAR = [("na_aanbod_mo", 2021, 98), ("na_traject", 2021, 88), ("vorming", 2021, 91), ("lokale_besturen", 2022, 67)]


def _results(survey, year):
    return compute(PARAMS_DIR / str(year) / f"{survey}.yaml")


@pytest.mark.parametrize("survey,year,nps,pct,diff,comparable", PUBLISHED_ROWS)
def test_published_row(survey, year, nps, pct, diff, comparable):
    h = _results(survey, year).headline()
    assert (h["nps"], h["pct_satisfied"], h["diff"], h["comparable"]) == (nps, pct, diff, comparable)


@pytest.mark.parametrize("survey,year,pct", PREVIOUS_YEAR)
def test_previous_year(survey, year, pct):
    assert _results(survey, year).headline()["pct_satisfied"] == pct


def test_online_trainings():
    res = _results("vorming", 2022)
    assert res.figure("pct_satisfied_online")["rounded"] == 87


def test_local_governments_detractors_and_best_parts():
    res = _results("lokale_besturen", 2023)
    assert res.figure("pct_detractors")["rounded"] == 27
    top3 = res.aspects.sort_values("rank")["item"].head(3).tolist()
    assert top3 == ["plan_samenleven", "vreemdelingenrecht", "open_aanbod"]


@pytest.mark.parametrize("survey,year,theme", [
    ("na_aanbod_mo", 2022, "interactiever"),
    ("lokale_besturen", 2023, "maatwerk_lokaal"),
    ("na_traject", 2022, "website"),
    ("na_test_mo", 2022, "website"),
])
def test_published_improvement_theme_ranks_first(survey, year, theme):
    themes = _results(survey, year).themes
    coded = themes[~themes["theme"].isin(["ongecodeerd", "niets"])]
    assert coded.iloc[0]["theme"] == theme


@pytest.mark.parametrize("survey,year", [("na_aanbod_mo", 2022), ("na_traject", 2022), ("vorming", 2022), ("lokale_besturen", 2023)])
def test_scale_break_flagged(survey, year):
    res = _results(survey, year)
    c = res.change.set_index("indicator").loc["pct_satisfied"]
    assert not c["comparable"] and res.notes and "neutraal" in res.notes[0]


def _count(survey, year, top=(4, 5)):
    """Top-2 box and NPS counted straight from the harmonised table (independent of results.py).

    Codes 98/99 are Geen mening / Niet van toepassing; SAT5's top two are 4-5, SAT4's 3-4.
    """
    h = prepare(PARAMS_DIR / str(year) / f"{survey}.yaml")
    r = h.responses
    tev = r.loc[(r["question"] == "tevreden") & (r["code"] < 98), "code"]
    pct = 100 * tev.isin(top).sum() / len(tev)
    nps = r.loc[r["question"] == "aanraden", "code"]
    score = 100 * ((nps >= 9).sum() - (nps <= 6).sum()) / len(nps) if len(nps) else None
    return pct, score


@pytest.mark.parametrize("survey,year,nps,pct", [(s, y, n, p) for s, y, n, p, _, _ in PUBLISHED_ROWS])
def test_counted_from_the_harmonised_table(survey, year, nps, pct):
    got_pct, got_nps = _count(survey, year)
    assert int(got_pct + 0.5) == pct
    if nps is not None:
        assert round(got_nps) == nps


@pytest.mark.parametrize("survey,year,pct", PREVIOUS_YEAR)
def test_previous_year_counted_from_the_harmonised_table(survey, year, pct):
    got_pct, _ = _count(survey, year, top=(3, 4))  # these years used SAT4
    assert int(got_pct + 0.5) == pct
