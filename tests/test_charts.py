"""charts.py on small hand-built Results tables: structure, Dutch labels, suppression, determinism."""

from __future__ import annotations

import hashlib
import math
import multiprocessing as mp
import re
from pathlib import Path

import matplotlib.pyplot as plt  # only to check that charts.py never touches pyplot state
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from agii_analysis import charts
from agii_analysis.errors import AgiiError

SOURCE = "Bron: AgII, KTO Test, 2024; n = 1\u202f234"
SCALE = ["Heel ontevreden", "Ontevreden", "Neutraal", "Tevreden", "Heel tevreden"]


# ---------------------------------------------------------------------------
# hand-built tables with the columns results.py writes


def dist_table(items=("",), counts=((2, 3, 10, 40, 45),), specials=((4, 0, 6),)) -> pd.DataFrame:
    rows = []
    for item, cnt, (nop, nat, miss) in zip(items, counts, specials):
        base = sum(cnt)
        n_used = base + nop + nat + miss
        common = {"question": "tevreden_alg" if not item else "aspecten", "question_label": "Algemene tevredenheid",
                  "item": item, "item_label": f"Aspect {item}" if item else ""}
        for code, (label, k) in enumerate(zip(SCALE, cnt), start=1):
            rows.append({**common, "code": code, "label": label, "kind": "scale", "count": k,
                         "share": k / base if base else np.nan, "base": "antwoorden op de schaal"})
        for code, label, kind, k in ((98, "Geen mening", "no_opinion", nop), (99, "Niet van toepassing", "not_applicable", nat),
                                     (None, "Niet beantwoord", "missing", miss)):
            rows.append({**common, "code": code, "label": label, "kind": kind, "count": k,
                         "share": k / n_used, "base": "alle respondenten"})
    return pd.DataFrame(rows)


def nps_table() -> pd.DataFrame:
    return pd.DataFrame([
        {"component": "promoters", "label": "Promotors (9-10)", "count": 60, "share": 0.5, "lo": 0.41, "hi": 0.59},
        {"component": "passives", "label": "Passief (7-8)", "count": 36, "share": 0.3, "lo": 0.22, "hi": 0.39},
        {"component": "detractors", "label": "Criticasten (0-6)", "count": 24, "share": 0.2, "lo": 0.14, "hi": 0.28},
        {"component": "score", "label": "NPS", "count": 120, "share": 30.0, "lo": 17.5, "hi": 42.5},
    ])


def aspects_table() -> pd.DataFrame:
    rows = []
    for item, label, pct, n, nat in (("a", "Vriendelijkheid van het personeel", 96.0, 110, 0.0),
                                     ("b", "Duidelijkheid van de uitleg", 88.5, 104, 0.02),
                                     ("c", "Wachttijd aan het loket", 71.2, 98, 0.15),
                                     ("d", "Bereikbaarheid per telefoon", 64.0, 75, 0.003)):
        rows.append({"question": "aspecten", "item": item, "label": label, "n": n, "k": round(n * pct / 100),
                     "pct_satisfied": pct, "lo": pct - 6, "hi": min(pct + 4, 100.0), "pct_rounded": float(round(pct)),
                     "n_answered": n + 5, "n_no_opinion": 2, "n_not_applicable": round(nat * (n + 5)),
                     "share_not_applicable": nat, "importance": 0.4, "n_pairs": n, "rank": 0})
    df = pd.DataFrame(rows).sample(frac=1, random_state=3).reset_index(drop=True)  # unranked on purpose
    return df


def priority_table() -> pd.DataFrame:
    pts = [("a", "Vriendelijkheid", 0.62, 96.0), ("b", "Uitleg", 0.55, 88.0), ("c", "Wachttijd", 0.31, 71.0),
           ("d", "Telefoon", 0.58, 64.0), ("e", "Website", 0.20, 90.0), ("f", "Locatie", 0.56, 87.0),
           ("g", "Geen belang", np.nan, 80.0)]
    df = pd.DataFrame(pts, columns=["item", "label", "importance", "performance"])
    df.insert(0, "question", "aspecten")
    df["n_pairs"] = 50
    valid = df.dropna(subset=["importance", "performance"])  # as results._aspects: medians of the plotted points
    imp_mid, perf_mid = valid["importance"].median(), valid["performance"].median()
    df["importance_median"], df["performance_median"] = imp_mid, perf_mid
    names = {(True, True): "Sterkte behouden", (True, False): "Prioriteit verbeteren",
             (False, False): "Secundair", (False, True): "Mogelijk overinvestering"}
    df["quadrant"] = [None if pd.isna(i) else names[(i >= imp_mid, p >= perf_mid)]
                      for i, p in zip(df["importance"], df["performance"])]
    return df


def breakdown_table() -> pd.DataFrame:
    rows = []
    for code, group, n, pct, nps_v, sup in ((1, "Antwerpen", 80, 92.0, 35.0, False), (2, "Limburg", 6, 83.0, 10.0, True),
                                            (3, "Oost-Vlaanderen", 45, 88.4, -12.0, False),
                                            (4, "Vlaams-Brabant", 12, 75.0, 5.0, True),
                                            (5, "West-Vlaanderen", 0, np.nan, np.nan, False)):
        row = {"question": "provincie", "question_label": "Provincie", "group_code": code, "group": group,
               "n": n, "n_satisfaction": n, "pct_satisfied": pct, "lo": pct - 7, "hi": min(pct + 5, 100),
               "pct_rounded": float(round(pct)) if not math.isnan(pct) else np.nan,
               "n_nps": n, "nps": nps_v, "nps_lo": nps_v - 15, "nps_hi": nps_v + 15,
               "nps_rounded": nps_v, "suppressed": sup}
        rows.append(row)
    df = pd.DataFrame(rows)
    # results.py blanks suppressed values; keep one suppressed row *with* values to prove they are never drawn
    value_cols = [c for c in df.columns if c not in ("question", "question_label", "group_code", "group", "suppressed")]
    df.loc[df["group_code"] == 2, value_cols] = np.nan
    return df[df["n"].fillna(1) > 0].reset_index(drop=True)


def trend_table() -> pd.DataFrame:
    rows = []
    for ptype, periods in (("quarter", [(1, "K1", 60, 90.0, False), (2, "K2", 4, 80.0, True), (3, "K3", 55, 86.0, False),
                                        (4, "K4", 40, 91.0, False)]),
                           ("month", [(1, "jan", 20, 89.0, False), (2, "feb", 22, 91.0, False), (3, "mrt", 3, 70.0, True),
                                      (5, "mei", 30, 85.0, False), (6, "jun", 25, 88.0, False)])):
        for code, label, n, pct, sup in periods:
            rows.append({"period_type": ptype, "period": code, "period_label": label, "n": n,
                         "n_satisfaction": n, "pct_satisfied": pct, "lo": pct - 8, "hi": min(pct + 6, 100),
                         "pct_rounded": float(round(pct)), "n_nps": n, "nps": 20.0, "nps_lo": 5.0,
                         "nps_hi": 35.0, "nps_rounded": 20.0, "suppressed": sup})
    df = pd.DataFrame(rows)
    # month 3 keeps its (fake) values: the chart must still not show them
    return df


def themes_table() -> pd.DataFrame:
    return pd.DataFrame([
        {"theme": "wachttijd", "label": "Wachttijd", "n": 12, "share": 0.24, "lo": 0.14, "hi": 0.37},
        {"theme": "uitleg", "label": "Uitleg en informatie", "n": 18, "share": 0.36, "lo": 0.24, "hi": 0.50},
        {"theme": "taal", "label": "Taal", "n": 5, "share": 0.10, "lo": 0.04, "hi": 0.21},
        {"theme": "ongecodeerd", "label": "Niet gecodeerd", "n": 20, "share": 0.40, "lo": 0.28, "hi": 0.54},
    ])


BUILDERS = {
    "distribution": lambda: charts.distribution_chart(dist_table(), "tevreden_alg", "", "Algemene tevredenheid",
                                                      SOURCE),
    "distribution_items": lambda: charts.distribution_chart(
        dist_table(items=("a", "b"), counts=((2, 3, 10, 40, 45), (0, 30, 20, 30, 20)),
                   specials=((4, 0, 6), (0, 3, 0))),
        "aspecten", None, "Tevredenheid per aspect", SOURCE),
    "nps": lambda: charts.nps_chart(nps_table(), "Net Promoter Score", SOURCE),
    "aspects": lambda: charts.aspects_chart(aspects_table(), "Tevredenheid over de aspecten", SOURCE),
    "priority": lambda: charts.priority_chart(priority_table(), "Prioriteitenmatrix", SOURCE),
    "breakdown": lambda: charts.breakdown_chart(breakdown_table(), "provincie", "Tevredenheid per provincie",
                                                SOURCE, threshold=10),
    "breakdown_nps": lambda: charts.breakdown_chart(breakdown_table(), "provincie", "NPS per provincie", SOURCE,
                                                    measure="nps", threshold=10),
    "trend": lambda: charts.trend_chart(trend_table(), "month", "Tevredenheid per maand", SOURCE, threshold=10),
    "trend_quarter": lambda: charts.trend_chart(trend_table(), "quarter", "Tevredenheid per kwartaal", SOURCE),
    "themes": lambda: charts.themes_chart(themes_table(), "Wat kan beter?", SOURCE),
}


def build_all() -> dict[str, Figure]:
    """One figure per chart function (also used to render the examples)."""
    return {name: build() for name, build in BUILDERS.items()}


# ---------------------------------------------------------------------------
# helpers to read a figure back


def texts(fig: Figure) -> list:
    """Every Text artist, tick labels and legend entries included."""
    charts.to_png_bytes(fig)  # tick labels exist once drawn
    return fig.findobj(Text)


def by_gid(fig: Figure, prefix: str) -> dict:
    found = {}
    for art in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix)):
        found.setdefault(art.get_gid(), art)
    return found


def flat(text: str) -> str:
    """Undo line wrapping; no-break spaces ("95 %", "1 234") are kept."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def bars(fig: Figure) -> dict:
    return {g: a for g, a in by_gid(fig, "bar:").items() if isinstance(a, Rectangle)}


def values(fig: Figure) -> dict:
    return {g[len("value:"):]: a.get_text() for g, a in by_gid(fig, "value:").items()}


@pytest.fixture(scope="module")
def figs():
    return build_all()


# ---------------------------------------------------------------------------
# Dutch number format


@pytest.mark.parametrize("x, decimals, expected", [
    (95, 0, "95\u00a0%"), (94.5, 0, "95\u00a0%"), (14.499999999999998, 0, "15\u00a0%"),  # half up, like stats.percent
    (95.25, 1, "95,3\u00a0%"), (0, 0, "0\u00a0%"), (-0.4, 0, "0\u00a0%"), (100, 1, "100,0\u00a0%"),
    (float("nan"), 0, "–"), (None, 0, "–"),
])
def test_fmt_pct(x, decimals, expected):
    assert charts.fmt_pct(x, decimals) == expected


@pytest.mark.parametrize("x, decimals, expected", [
    (15087, 0, "15\u202f087"), (1234567, 0, "1\u202f234\u202f567"), (999, 0, "999"), (-12, 0, "\u221212"),
    (-1234.45, 1, "\u22121\u202f234,5"), (3.5, 1, "3,5"), (2.5, 0, "3"), (-2.5, 0, "\u22123"),
    (np.int64(42), 0, "42"), (float("inf"), 0, "–"), (pd.NA, 0, "–"),
])
def test_fmt_num(x, decimals, expected):
    assert charts.fmt_num(x, decimals) == expected


def test_dutch_namespace_and_source_line():
    assert charts.DUTCH.fmt_pct(95) == charts.fmt_pct(95)
    assert charts.source_line("KTO Vorming", 2024, 15087) == "Bron: AgII, KTO Vorming, 2024; n = 15\u202f087"
    assert charts.source_line("KTO Vorming", 2024) == "Bron: AgII, KTO Vorming, 2024"


# ---------------------------------------------------------------------------
# palette


def test_scale_palette_survives_greyscale():
    steps = sorted(charts.lightness(c) for c in charts.SCALE_COLOURS)
    assert min(b - a for a, b in zip(steps, steps[1:])) >= 12
    # a 4-point scale keeps the ends and drops the neutral middle
    four = [c for c, _, _ in charts.scale_colours(4)]
    assert charts.SCALE_COLOURS[2] not in four and len(set(four)) == 4
    # the dissatisfied side is also hatched, so it does not depend on colour at all
    assert all(charts.SCALE_HATCHES[:2]) and not any(charts.SCALE_HATCHES[2:])


def test_nps_and_quadrant_styles_distinct_in_greyscale():
    ls = sorted(charts.lightness(c) for c in charts.NPS_COLOURS.values())
    assert min(b - a for a, b in zip(ls, ls[1:])) >= 12
    markers = [m for _, m in charts.QUADRANT_STYLE.values()]
    assert len(set(markers)) == 4  # shape, not colour, carries the quadrant in greyscale


def test_lightness_reference_values():
    assert charts.lightness("black") == pytest.approx(0, abs=1e-9)
    assert charts.lightness("white") == pytest.approx(100, abs=1e-6)
    assert charts.lightness("#777777") == pytest.approx(50.0, abs=0.5)


# ---------------------------------------------------------------------------
# every chart


ALL = list(BUILDERS)


@pytest.mark.parametrize("name", ALL)
def test_figure_title_source_and_size(figs, name):
    fig = figs[name]
    assert isinstance(fig, Figure)
    title = by_gid(fig, "title")["title"]
    assert flat(title.get_text()) and title.get_fontweight() == "bold"
    src = by_gid(fig, "source")["source"]
    assert SOURCE in flat(src.get_text())
    assert flat(src.get_text()).endswith(SOURCE)  # source line last, bottom-left
    assert src.get_ha() == "left" and src.get_position()[0] < 0.05
    w, h = fig.get_size_inches()
    assert w * 2.54 == pytest.approx(16.0)
    assert 4 < h * 2.54 < 24.0  # fits an A4 page
    fonts = {t.get_fontname() for t in texts(fig) if t.get_text()}
    assert fonts == {"DejaVu Sans"}


@pytest.mark.parametrize("name", ALL)
def test_png_bytes_identical_across_renders(figs, name):
    a = charts.to_png_bytes(figs[name])
    b = charts.to_png_bytes(figs[name])
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    rebuilt = BUILDERS[name]()
    assert charts.to_png_bytes(rebuilt) == a
    assert b"matplotlib" not in a.lower()  # no Software tag


def test_no_pyplot_state():
    plt.close("all")
    build_all()
    assert plt.get_fignums() == []
    src = Path(charts.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+matplotlib(\.pyplot|\s+import\s+pyplot)", src, re.M)
    assert "plt." not in src and "pylab" not in src


def test_distribution_chart(figs):
    fig = figs["distribution"]
    b = bars(fig)
    assert len(b) == 5  # one segment per scale point
    widths = [b[f"bar:{c}"].get_width() for c in range(1, 6)]
    assert sum(widths) == pytest.approx(100)
    assert [b[f"bar:{c}"].get_facecolor()[:3] for c in range(1, 6)] == \
        [pytest.approx(to_rgb(c)) for c in charts.SCALE_COLOURS]
    v = values(fig)
    assert v["5"] == "45\u00a0%" and v["4"] == "40\u00a0%" and v["1"] == "2\u00a0%"
    src = flat(by_gid(fig, "source")["source"].get_text())
    # outside the scale base: counted in the note, never a segment of the 100 %
    assert "Geen mening 4" in src and "Niet beantwoord 6" in src and "Niet van toepassing" not in src
    assert flat(by_gid(fig, "n:")["n:"].get_text()) == "n = 100"
    legend = fig.subfigs[0].legends[0]
    assert [t.get_text() for t in legend.get_texts()] == SCALE


def test_distribution_chart_all_items(figs):
    fig = figs["distribution_items"]
    assert len(bars(fig)) == 10
    v = values(fig)
    assert "b:1" not in v  # zero share: no label and v["b:2"] == "30\u00a0%"
    assert "GM 4 · NB 6" in by_gid(fig, "n:a")["n:a"].get_text()
    assert "NvT 3" in by_gid(fig, "n:b")["n:b"].get_text()
    assert "GM = Geen mening" in flat(by_gid(fig, "source")["source"].get_text())


def test_distribution_chart_rejects_unknown_question_and_missing_title():
    with pytest.raises(AgiiError, match="no distribution rows"):
        charts.distribution_chart(dist_table(), "nope", "", "T", SOURCE)
    with pytest.raises(AgiiError, match="title"):
        charts.distribution_chart(dist_table(), "tevreden_alg", "", "", SOURCE)
    with pytest.raises(AgiiError, match="source"):
        charts.distribution_chart(dist_table(), "tevreden_alg", "", "T", " ")


def test_nps_chart(figs):
    fig = figs["nps"]
    b = bars(fig)
    assert set(b) == {"bar:detractors", "bar:passives", "bar:promoters"}
    assert [b[f"bar:{c}"].get_x() for c in ("detractors", "passives", "promoters")] == pytest.approx([0, 20, 50])
    v = values(fig)
    assert v["promoters"] == "50\u00a0%" and v["detractors"] == "20\u00a0%" and v["score"] == "NPS 30"
    interval = by_gid(fig, "interval_label:score")["interval_label:score"].get_text()
    assert "18 tot 43" in interval  # 17,5 and 42,5 rounded half up
    assert by_gid(fig, "interval:score")
    assert "Promotors (9-10) 41\u00a0% tot 59\u00a0%" in flat(by_gid(fig, "source")["source"].get_text())


def test_aspects_chart_ranked_with_intervals_and_nvt(figs):
    fig = figs["aspects"]
    ax = fig.axes[0]
    b = bars(fig)
    assert len(b) == 4
    order = sorted(b, key=lambda g: b[g].get_y())  # top row first (y axis inverted)
    assert order == ["bar:aspecten:a", "bar:aspecten:b", "bar:aspecten:c", "bar:aspecten:d"]
    assert [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()][0] == "Vriendelijkheid van het personeel"
    v = values(fig)
    assert v["aspecten:a"] == "96\u00a0%" and v["aspecten:b"] == "88\u00a0%"  # pct_rounded, not re-rounded
    assert len(by_gid(fig, "interval:")) == 4
    nvt = {g: a.get_text() for g, a in by_gid(fig, "nvt:").items()}
    assert nvt == {"nvt:aspecten:b": "2\u00a0%", "nvt:aspecten:c": "15\u00a0%", "nvt:aspecten:d": "<\u00a01\u00a0%"}


def test_priority_chart(figs):
    fig = figs["priority"]
    points = by_gid(fig, "point:")
    assert len(points) == 6  # the item without importance is left out, and said so
    assert "1 aspect(en) zonder belangscore" in flat(by_gid(fig, "source")["source"].get_text())
    names = {g.split(":", 1)[1] for g in by_gid(fig, "quadrant:")}
    assert names == {"Sterkte behouden", "Prioriteit verbeteren", "Secundair", "Mogelijk overinvestering"}
    ax = fig.axes[0]
    corner = {g.split(":", 1)[1]: a.get_position() for g, a in by_gid(fig, "quadrant:").items()}
    assert corner["Prioriteit verbeteren"][0] > 0.5 and corner["Prioriteit verbeteren"][1] < 0.5
    assert corner["Mogelijk overinvestering"][0] < 0.5 and corner["Mogelijk overinvestering"][1] > 0.5
    medians = by_gid(fig, "median:")
    assert medians["median:importance"].get_xdata()[0] == pytest.approx(0.555)
    assert medians["median:performance"].get_ydata()[0] == pytest.approx(87.5)  # median of the 6 plotted
    # point colour follows the table's quadrant column
    colour, marker = charts.QUADRANT_STYLE["Prioriteit verbeteren"]
    assert points["point:d"].get_marker() == marker
    # labels do not overlap one another
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in by_gid(fig, "label:").values()]
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    assert ax.get_xlabel().startswith("Belang")


def test_breakdown_chart_suppressed_groups_have_no_value(figs):
    fig = figs["breakdown"]
    b = bars(fig)
    assert set(b) == {"bar:1", "bar:3"}  # Limburg and Vlaams-Brabant suppressed, West-Vlaanderen absent (n = 0)
    v = values(fig)
    assert v == {"1": "92\u00a0%", "3": "88\u00a0%"}
    sup = by_gid(fig, "suppressed:")
    assert {g: a.get_text() for g, a in sup.items()} == {"suppressed:2": "[c]", "suppressed:4": "[c]"}
    # nothing else is written on a suppressed row: no bar, no value, no n, no interval
    ax = fig.axes[0]
    for g in ("2", "4"):
        y = sup[f"suppressed:{g}"].get_position()[1]
        row_texts = [t.get_text() for t in ax.texts
                     if t.get_position()[1] == y and not (t.get_gid() or "").startswith("header:")]
        assert row_texts == ["[c]"]
        assert not any(abs(r.get_y() + r.get_height() / 2 - y) < 0.01 for r in b.values())
        assert f"interval:{g}" not in by_gid(fig, "interval:")
        assert f"n:{g}" not in by_gid(fig, "n:")
    assert len(by_gid(fig, "interval:")) == 2
    assert "minder dan 10 respondenten" in flat(by_gid(fig, "source")["source"].get_text())


def test_breakdown_chart_nps(figs):
    fig = figs["breakdown_nps"]
    b = bars(fig)
    assert b["bar:3"].get_width() == pytest.approx(-12)
    v = values(fig)
    assert v == {"1": "35", "3": "\u221212"}
    assert set(by_gid(fig, "suppressed:")) == {"suppressed:2", "suppressed:4"}


def test_breakdown_chart_errors():
    with pytest.raises(AgiiError, match="unknown measure"):
        charts.breakdown_chart(breakdown_table(), "provincie", "T", SOURCE, measure="mean")
    with pytest.raises(AgiiError, match="lacks column"):
        charts.breakdown_chart(breakdown_table().drop(columns="suppressed"), "provincie", "T", SOURCE)


def test_trend_chart_gaps(figs):
    fig = figs["trend"]
    line = by_gid(fig, "line")["line"]
    x, y = line.get_xdata(), np.asarray(line.get_ydata(), dtype=float)
    assert list(x) == list(range(1, 13))  # every month gets a place
    assert np.isnan(y[2])  # mrt is suppressed even though the row holds a value
    assert np.isnan(y[3]) and np.isnan(y[6:]).all()  # apr and jul-dec have no answers
    assert y[[0, 1, 4, 5]] == pytest.approx([89, 91, 85, 88])
    v = values(fig)
    assert v == {"1": "89\u00a0%", "2": "91\u00a0%", "5": "85\u00a0%", "6": "88\u00a0%"}
    assert {g: a.get_text() for g, a in by_gid(fig, "suppressed:").items()} == {"suppressed:3": "[c]"}
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "jan\n20" and ticks[2] == "mrt\n"  # no n for a suppressed month
    assert len(ticks) == 12


def test_trend_chart_quarter(figs):
    fig = figs["trend_quarter"]
    y = np.asarray(by_gid(fig, "line")["line"].get_ydata(), dtype=float)
    assert len(y) == 4 and np.isnan(y[1])
    assert set(values(fig)) == {"1", "3", "4"}
    with pytest.raises(AgiiError, match="period type"):
        charts.trend_chart(trend_table(), "week", "T", SOURCE)


def test_themes_chart(figs):
    fig = figs["themes"]
    b = bars(fig)
    order = sorted(b, key=lambda g: b[g].get_y())
    assert order == ["bar:uitleg", "bar:wachttijd", "bar:taal", "bar:ongecodeerd"]  # uncoded stays last
    assert b["bar:ongecodeerd"].get_facecolor()[:3] == pytest.approx(to_rgb(charts.NO_DATA))
    assert values(fig)["uitleg"] == "36\u00a0%"
    assert len(by_gid(fig, "interval:")) == 4
    assert by_gid(fig, "n:taal")["n:taal"].get_text() == "5"
    with pytest.raises(AgiiError, match="above 1"):
        charts.themes_chart(themes_table().assign(share=lambda d: d["share"] * 100), "T", SOURCE)


def test_themes_chart_puts_nothing_to_improve_apart():
    """"Niets te verbeteren" is no improvement point: the text says it apart, and the chart
    ranked it among the improvement points (second in vorming 2022)."""
    table = pd.concat([themes_table(), pd.DataFrame([{"theme": "niets", "label": "Niets te verbeteren", "n": 15,
                                                      "share": 0.30, "lo": 0.19, "hi": 0.44}])], ignore_index=True)
    fig = charts.themes_chart(table, "Wat kan beter?", SOURCE)
    b = bars(fig)
    assert sorted(b, key=lambda g: b[g].get_y()) == ["bar:uitleg", "bar:wachttijd", "bar:taal", "bar:niets",
                                                      "bar:ongecodeerd"]
    assert b["bar:niets"].get_facecolor()[:3] == pytest.approx(to_rgb(charts.NO_DATA))


def test_every_bar_has_a_value_label(figs):
    for name in ("aspects", "breakdown", "themes", "nps", "distribution"):
        fig = figs[name]
        keys = {g[len("bar:"):] for g, r in bars(fig).items() if r.get_width() != 0}
        assert keys <= set(values(fig)), name
        for text in values(fig).values():
            assert re.fullmatch(r"(NPS )?\u2212?\d{1,3}(\u00a0%)?", text), text


def test_save_png_atomic(tmp_path, figs):
    target = tmp_path / "sub" / "chart.png"
    out = charts.save_png(figs["nps"], target)
    assert out == target and target.read_bytes() == charts.to_png_bytes(figs["nps"])
    assert [p.name for p in target.parent.iterdir()] == ["chart.png"]  # no temp file left


def test_save_png_leaves_old_file_on_failure(tmp_path, figs, monkeypatch):
    target = tmp_path / "chart.png"
    target.write_bytes(b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(charts.os, "replace", boom)
    with pytest.raises(OSError):
        charts.save_png(figs["nps"], target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]


def _render_in_child(name: str) -> str:
    return hashlib.sha256(charts.to_png_bytes(BUILDERS[name]())).hexdigest()


def test_same_bytes_in_a_spawned_process(figs):
    here = hashlib.sha256(charts.to_png_bytes(figs["breakdown"])).hexdigest()
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        there = pool.apply(_render_in_child, ("breakdown",))
    assert there == here


def test_style_does_not_leak_into_global_rcparams():
    import matplotlib as mpl

    before = dict(mpl.rcParams)
    charts.to_png_bytes(charts.nps_chart(nps_table(), "T", SOURCE))
    assert dict(mpl.rcParams) == before


def test_global_rcparams_do_not_change_the_output():
    import matplotlib as mpl

    reference = charts.to_png_bytes(charts.aspects_chart(aspects_table(), "T", SOURCE))
    with mpl.rc_context({"font.size": 20, "font.family": "serif", "axes.edgecolor": "red", "figure.dpi": 300}):
        fig = charts.aspects_chart(aspects_table(), "T", SOURCE)
        assert charts.to_png_bytes(fig) == reference


def test_distribution_chart_four_point_scale_and_no_answers():
    four = dist_table(counts=((1, 2, 3, 4),))
    four = four[four["code"] != 5].copy()
    four.loc[four["kind"] == "scale", "label"] = ["Heel ontevreden", "Ontevreden", "Tevreden", "Heel tevreden"]
    fig = charts.distribution_chart(four, "tevreden_alg", "", "T", SOURCE)
    colours = [bars(fig)[f"bar:{c}"].get_facecolor()[:3] for c in range(1, 5)]
    assert colours[2] == pytest.approx(to_rgb(charts.SCALE_COLOURS[3]))  # no neutral grey on a 4-point scale

    empty = dist_table(counts=((0, 0, 0, 0, 0),), specials=((0, 0, 9),))
    fig = charts.distribution_chart(empty, "tevreden_alg", "", "T", SOURCE)
    assert not bars(fig) and not values(fig)
    assert by_gid(fig, "nodata:")
    assert "Niet beantwoord 9" in flat(by_gid(fig, "source")["source"].get_text())
