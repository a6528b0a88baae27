"""What the notebook cells show: Dutch text, tables and charts from a `Results`.

Every number here is read from the results object (never computed or typed), and
formatted the Dutch way. Each function returns one displayable object, so a template
cell is a single call.
"""

from __future__ import annotations

import html
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
from IPython.display import HTML, Image, Markdown

from . import charts, stats
from .errors import AgiiError
from .params import REPO_ROOT, find_params, load_params
from .results import LANGUAGE_BREAKDOWN, LANGUAGE_NAMES, SCALE_BREAK_CAVEAT, Results, compute, sort_for_overview
from .themes import NOTHING_THEME, UNCODED

SOURCE = "Bron: Agentschap Integratie en Inburgering, {title} {year}"


def _repo_path(path: str | Path) -> Path:
    """Relative paths are relative to the repository (notebooks may run in notebooks/)."""
    p = Path(path)
    return p if p.is_absolute() or p.exists() else REPO_ROOT / p


def load(params_file: str | None = None, results_file: str | None = None,
         suppression_threshold: int | None = None, show_quotes: bool | None = None) -> Results:
    """The results of a survey-year: from the runner's JSON when given, else computed.

    A threshold or quotes setting that differs from the params file (papermill `-p`)
    recomputes with that setting.
    """
    if results_file and _repo_path(results_file).exists():
        res = Results.from_json(_repo_path(results_file))
        same_threshold = suppression_threshold in (None, res.threshold)
        same_quotes = show_quotes in (None, res.provenance["params"]["quotes"])
        if same_threshold and same_quotes:
            return res
    if not params_file:
        raise ValueError("give params_file (or results_file)")
    params = load_params(_repo_path(params_file))
    changes = {}
    if suppression_threshold is not None:
        changes["suppression_threshold"] = int(suppression_threshold)
    if show_quotes is not None:
        changes["quotes"] = bool(show_quotes)
    return compute(replace(params, **changes) if changes else params)


# ------------------------------------------------------------------ formatting

def _fixed(x, decimals: int) -> str:
    """x with `decimals` decimals, halves away from zero as every published figure
    (stats.round_half_up; Python's formatting would round 78.5 to 78)."""
    scale = 10 ** decimals
    whole = stats.round_half_up(float(x) * scale)
    text = f"{abs(whole) // scale}" + (f".{abs(whole) % scale:0{decimals}d}" if decimals else "")
    return ("-" if whole < 0 else "") + text


def _absent(x) -> bool:
    """None, NaN of any kind (pd.NA, numpy float32) or an infinite value: nothing to print."""
    try:
        return x is None or x is pd.NA or not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def pct(x, decimals: int = 0) -> str:
    """95 % / 95,4 % from a value in percent."""
    if _absent(x):
        return "–"
    return _fixed(x, decimals).replace(".", ",").replace("-", "−") + " %"


def dec(x, decimals: int = 1) -> str:
    if _absent(x):
        return "–"
    return _fixed(x, decimals).replace(".", ",").replace("-", "−")


def num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{int(round(x)):,}".replace(",", "\u202f")


def signed(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = int(x)
    return f"+{x}" if x > 0 else f"−{abs(x)}" if x < 0 else "0"


def _source(res: Results, n=None) -> str:
    s = SOURCE.format(title=res.title, year=res.year)
    return s + (f"; n = {num(n)}" if n is not None else "")


def _png(fig) -> Image:
    """The chart as PNG, with its title as alternative text (HTML and tagged PDF)."""
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    if not title:
        title = next((t.get_text() for t in fig.texts if t.get_text()), "")
    if not title and fig.axes:
        title = fig.axes[0].get_title()
    return Image(data=charts.to_png_bytes(fig), format="png", metadata={"alt": f"Grafiek: {title}" if title else "Grafiek"})


def _table(df: pd.DataFrame) -> HTML:
    return HTML(df.to_html(index=False, escape=True, border=0, classes="agii-table", na_rep="–"))


# ------------------------------------------------------------------ sections

def title_block(res: Results) -> Markdown:
    lines = [f"**{res.title}** · rapportjaar {res.year} · doelgroep: {res.client_group.lower()}"]
    if res.provenance.get("demo"):
        lines.append("\n> **Demogegevens.** Dit rapport is gemaakt met verzonnen antwoorden die de gepubliceerde "
                     "cijfers nabootsen; het bevat geen echte antwoorden van klanten.")
    return Markdown("\n".join(lines))


def _answered(figure) -> bool:
    """A key figure that rests on at least one answer (else: not available)."""
    return figure is not None and not pd.isna(figure["n"]) and figure["n"] > 0


NO_SATISFACTION = ("niet beschikbaar: niemand koos een punt van de schaal bij de algemene tevredenheidsvraag "
                   "(n = 0)")
NO_NPS = "niet beschikbaar: niemand beantwoordde de aanbevelingsvraag (n = 0)"


def too_few(res: Results, what: str) -> str:
    """Why a figure is not shown: its base is below the suppression threshold."""
    return f"niet getoond: minder dan {res.threshold} {what} [c]"


def _flagged(df: pd.DataFrame) -> pd.Series:
    """The rows of a Results table flagged `suppressed` (none in files without the flag)."""
    if "suppressed" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["suppressed"].fillna(False).astype(bool)


def summary(res: Results) -> Markdown:
    sat, nps = res.figure("pct_satisfied"), res.figure("nps")
    if res.suppressed("pct_satisfied"):
        out = [f"- % (heel) tevreden: {too_few(res, 'antwoorden op de schaal')}."]
    elif _answered(sat):
        out = [f"- **{pct(sat['rounded'])} (heel) tevreden** (95 %-betrouwbaarheidsinterval {pct(sat['lo'], 1)} – "
               f"{pct(sat['hi'], 1)}; n = {num(sat['n'])} antwoorden op de schaal)."]
    else:
        out = [f"- % (heel) tevreden: {NO_SATISFACTION}."]
    if res.suppressed("nps"):
        out.append(f"- Net Promoter Score: {too_few(res, 'antwoorden op de aanbevelingsvraag')}.")
    elif nps is not None and not _answered(nps):
        out.append(f"- Net Promoter Score: {NO_NPS}.")
    elif nps is not None:
        out.append(f"- **Net Promoter Score {signed(nps['rounded'])}** (interval {dec(nps['lo'])} tot {dec(nps['hi'])}; "
                   f"n = {num(nps['n'])} antwoorden op de aanbevelingsvraag).")
    else:
        out.append("- Net Promoter Score: niet bevraagd in deze bevraging (nvt).")
    ch = res.change[res.change["indicator"] == "pct_satisfied"] if len(res.change) else res.change
    if res.first_measurement and not len(ch):
        out.append("- Geen vergelijking met een vorig jaar: dit is de eerste meting (nvt).")
    elif res.suppressed("pct_satisfied"):
        out.append("- Geen vergelijking met vorig jaar: het cijfer van dit jaar wordt niet getoond [c].")
    elif len(ch):
        c = ch.iloc[0]
        if not c["comparable"]:  # the caveat below instead of a verdict on a different quantity
            sig = "niet eenduidig te vergelijken [b]"
        elif c.get("from_raw"):
            sig = "statistisch significant" if c["significant"] else "niet statistisch significant"
        else:
            sig = "niet getoetst (vorig cijfer enkel gepubliceerd)"
        out.append(f"- Verschil met {int(c['previous_year'])}: **{signed(c['diff_rounded'])} procentpunt** "
                   f"(van {pct(c['previous_rounded'])} naar {pct(sat['rounded'])}; {sig}).")
        if not c["comparable"]:
            out.append(f"- **Breuk in de reeks [b].** {res.notes[0] if res.notes else SCALE_BREAK_CAVEAT}")
    else:
        out.append("- Geen vergelijking met een vorig jaar beschikbaar (geen cijfer van vorig jaar in de gegevens, "
                   "of te weinig antwoorden vorig jaar).")
    out += _subgroup_lines(res)
    return Markdown("\n".join(out))


def _subgroup_lines(res: Results) -> list[str]:
    out = []
    for _, s in res.subgroups.iterrows():
        if s.get("suppressed"):
            out.append(f"- {s['label']}: niet getoond, te weinig respondenten [c].")
        elif not s["n"] > 0:
            out.append(f"- {s['label']}: niet beschikbaar, niemand in deze groep koos een punt van de schaal (n = 0).")
        else:
            out.append(f"- {s['label']}: **{pct(s['rounded'])}** (interval {pct(s['lo'], 1)} – {pct(s['hi'], 1)}; "
                       f"n = {num(s['n'])} antwoorden op de schaal).")
    return out


def subgroups(res: Results) -> Markdown:
    """The subgroups' % (heel) tevreden (codebook `subgroups`), as in the summary."""
    lines = _subgroup_lines(res)
    return Markdown("\n".join(lines) if lines else "Deze bevraging heeft geen deelgroepen (codeboek: `subgroups`).")


def response(res: Results) -> Markdown:
    r = res.response.set_index("measure")["value"]
    invited = r.get("invited")
    lines = []
    if invited is not None and not (isinstance(invited, float) and math.isnan(invited)):
        lines.append(f"Van de **{num(invited)}** aangeschreven personen antwoordden er **{num(r['respondents'])}** "
                     f"(responsgraad **{pct(100 * r['response_rate'], 1)}**): {num(r['complete'])} volledig en "
                     f"{num(r['partial'])} gedeeltelijk.")
    else:
        lines.append(f"**{num(r['respondents'])}** respondenten; het aantal aangeschreven personen is niet gekend.")
    excl = res.exclusions[res.exclusions["count"] > 0]
    total_excl = r["excluded"]
    lines.append(f"\nUit de exports werden **{num(r['read'])}** rijen gelezen: {num(r['respondents'])} gebruikt en "
                 f"{num(total_excl)} uitgesloten" + (":" if len(excl) else "."))
    for _, e in excl.iterrows():
        lines.append(f"- {e['label']}: {num(e['count'])}")
    return Markdown("\n".join(lines))


def response_table(res: Results) -> HTML:
    df = res.response_by.copy()
    if df.empty:
        return HTML("<p>Geen opsplitsing beschikbaar.</p>")
    df["Respondenten"] = [("[c]" if s else num(v)) for v, s in zip(df["respondents"], df["suppressed"])]
    df["Responsgraad"] = [("–" if pd.isna(v) else pct(100 * v, 1)) for v in df["response_rate"]]
    df["Dimensie"] = df["dimension"].map({"language": "Taal vragenlijst", "collector": "Verzamelaar"})
    columns = ["Dimensie", "group", "Respondenten", "Responsgraad"]
    notes = []
    if df["response_rate"].isna().all():
        columns.remove("Responsgraad")
        notes.append("Responsgraad per groep: niet beschikbaar, het aantal aangeschreven personen per groep is niet "
                     "gekend (parameter <code>invited_by</code>).")
    elif df["response_rate"].isna().any():
        notes.append("–: geen aantal aangeschreven personen gekend voor die groep.")
    if (df["dimension"] == "collector").any():
        notes.append("Verzamelaar: het SurveyMonkey-verzamelkanaal (collector) waarlangs geantwoord werd, "
                     "met zijn nummer.")
    table = _table(df[columns].rename(columns={"group": "Groep"}))
    return HTML(table.data + "".join(f"<p>{n}</p>" for n in notes))


def satisfaction_chart(res: Results, question: str | None = None) -> Image:
    q = question or res.codebook.headline
    dist = res.distributions
    n = res.figure("pct_satisfied")["n"] if q == res.codebook.headline else None
    if q == res.codebook.headline and not _answered(res.figure("pct_satisfied")):
        return Markdown("")  # the text says why
    return _png(charts.distribution_chart(dist, q, title=f"Algemene tevredenheid {res.year}", source=_source(res, n)))


def _rounding_note(shares, mismatch: str | None = None) -> str:
    """' (afronding: …)' when the rounded shares shown do not add up to 100 %, or when a
    figure beside them (`mismatch`) does not follow from them; else nothing."""
    notes = []
    total = sum(stats.percent(s) for s in shares)
    if len(shares) and total != 100:
        notes.append(f"de afgeronde percentages tellen op tot {total} %")
    if mismatch:
        notes.append(mismatch)
    return f" (afronding: {'; '.join(notes)})" if notes else ""


def satisfaction_text(res: Results) -> Markdown:
    d = res.distributions
    rows = d[(d["question"] == res.codebook.headline) & (d["item"] == "")]
    scale = rows[rows["kind"] == "scale"]
    parts = [f"{r['label']}: {pct(100 * r['share'])}" for _, r in scale.iterrows()]
    shown = scale.dropna(subset=["share"])
    top2 = sum(stats.percent(r["share"]) for _, r in shown.iterrows()
               if int(r["code"]) in res.codebook.scale(res.year).top2)
    figure = res.figure("pct_satisfied")
    off = (len(shown) and figure is not None and _answered(figure) and not pd.isna(figure["rounded"])
           and top2 != int(figure["rounded"]))
    rounding = _rounding_note(shown["share"], f"tevreden + heel tevreden geeft afgerond {top2} %, op de aantallen "
                                              f"{pct(figure['rounded'])}" if off else None)
    other = rows[rows["kind"].isin(["no_opinion", "missing"])]
    extra = "; ".join(f"{r['label'].lower()}: {num(r['count'])}" for _, r in other.iterrows())
    if res.suppressed("pct_satisfied"):
        return Markdown(f"% (heel) tevreden: {too_few(res, 'antwoorden op de schaal')}. Buiten de noemer: {extra}.")
    if not _answered(res.figure("pct_satisfied")):
        return Markdown(f"% (heel) tevreden: {NO_SATISFACTION}. Buiten de noemer: {extra}.")
    return Markdown(f"Verdeling over de schaal ({res.scale}, n = {num(res.figure('pct_satisfied')['n'])}): " + "; ".join(parts)
                    + f"{rounding}. Buiten de noemer: {extra}.")


def nps_section(res: Results):
    if res.nps.empty:
        return Markdown("Deze bevraging stelt geen aanbevelingsvraag: de Net Promoter Score is niet van toepassing (nvt).")
    if res.suppressed("nps"):
        return Markdown(f"Net Promoter Score: {too_few(res, 'antwoorden op de aanbevelingsvraag')}.")
    if not _answered(res.figure("nps")):
        return Markdown(f"Net Promoter Score: {NO_NPS}.")
    t = res.nps.set_index("component")
    nps = res.figure("nps")["rounded"]
    shown = stats.percent(t.loc["promoters", "share"]) - stats.percent(t.loc["detractors", "share"])
    rounding = _rounding_note(t.loc[["promoters", "passives", "detractors"], "share"],
                              None if shown == nps else
                              f"de NPS is berekend op de aantallen: de afgeronde percentages geven {signed(shown)}")
    return Markdown(
        f"**{pct(100 * t.loc['promoters', 'share'])}** promotors (score 9–10), "
        f"**{pct(100 * t.loc['passives', 'share'])}** passieven (7–8) en **{pct(100 * t.loc['detractors', 'share'])}** "
        f"criticasten (0–6). NPS = % promotors − % criticasten = **{signed(nps)}**{rounding}."
    )


def nps_chart(res: Results):
    if res.nps.empty or not _answered(res.figure("nps")):
        return Markdown("")
    return _png(charts.nps_chart(res.nps, title=f"Net Promoter Score {res.year}",
                                 source=_source(res, int(res.nps.set_index('component').loc['score', 'count']))))


def _rated_aspects(res: Results) -> pd.DataFrame:
    """The aspects with a figure: rated on the scale, by at least the threshold (a
    suppressed aspect's n is empty)."""
    a = res.aspects
    return a[a["n"].fillna(0) > 0] if len(a) else a


def aspects_chart(res: Results) -> Image | Markdown:
    shown = _rated_aspects(res)
    if shown.empty:
        return Markdown("")  # the text says why
    return _png(charts.aspects_chart(shown, title=f"Tevredenheid per onderdeel {res.year}", source=_source(res)))


NO_MATRIX = "deze bevraging had in {year} geen vraag naar de tevredenheid over onderdelen."


def aspects_text(res: Results) -> Markdown:
    if not len(res.aspects):
        return Markdown(NO_MATRIX.format(year=res.year).capitalize())
    a = _rated_aspects(res).sort_values("rank")
    hidden = res.aspects[_flagged(res.aspects)]
    small = (f" Niet getoond (minder dan {res.threshold} antwoorden op de schaal) [c]: "
             + ", ".join(hidden["label"]) + ".") if len(hidden) else ""
    if a.empty:
        return Markdown("Geen beoordelingen van de onderdelen op de schaal in de gegevens: deze cijfers zijn "
                        "niet beschikbaar." + small)
    best = ", ".join(f"{r['label']} ({pct(r['pct_rounded'])})" for _, r in a.head(3).iterrows())
    worst = a.iloc[-1]
    text = f"Best beoordeeld: {best}. Laagst: {worst['label']} ({pct(worst['pct_rounded'])})."
    na = a[a["share_not_applicable"] > 0]
    if len(na):
        text += " Niet van toepassing: " + "; ".join(f"{r['label']} {pct(100 * r['share_not_applicable'])}" for _, r in na.iterrows()) + "."
    return Markdown(text + small)


NO_PRIORITY = ("Geen prioriteitenmatrix: geen enkel onderdeel heeft genoeg respondenten die zowel het "
               "onderdeel als de algemene tevredenheid op de schaal beoordeelden (minstens 3, en niet minder "
               "dan de drempel kleine groepen).")


def priority_chart(res: Results) -> Image | Markdown:
    if not len(res.aspects):
        return Markdown("Geen prioriteitenmatrix: " + NO_MATRIX.format(year=res.year))
    if charts.placed_aspects(res.priority).empty:
        return Markdown(NO_PRIORITY)
    return _png(charts.priority_chart(res.priority, title=f"Prioriteitenmatrix {res.year}", source=_source(res)))


def priority_text(res: Results) -> Markdown:
    p = charts.placed_aspects(res.priority)
    if p.empty:
        return Markdown("")
    lines = ["Belang = Spearman-correlatie van het onderdeel met de algemene tevredenheid; prestatie = % (heel) tevreden."]
    for quadrant in ("Prioriteit verbeteren", "Sterkte behouden", "Mogelijk overinvestering", "Secundair"):
        items = p[p["quadrant"] == quadrant]["label"].tolist()
        if items:
            lines.append(f"- **{quadrant}**: {', '.join(items)}")
    return Markdown("\n".join(lines))


def _not_asked(res: Results, question: str) -> Markdown | None:
    book = res.codebook
    if question not in book.questions and question != LANGUAGE_BREAKDOWN:  # a cell of another survey's template
        known = [*book.breakdowns, *([LANGUAGE_BREAKDOWN] if len(book.languages) > 1 else [])]
        raise AgiiError(f"the report asks for a breakdown by question {question!r}, which is not in the codebook",
                        file=book.path.name, expected="a question id of this codebook in the template's breakdown "
                                                      f"cells: {', '.join(known) or 'none listed under breakdowns'}")
    b = res.breakdowns
    if b.empty or not (b["question"] == question).any():
        return Markdown(f"Deze vraag werd in {res.year} niet gesteld of niet beantwoord.")
    return None


def breakdown_chart(res: Results, question: str):
    if (missing := _not_asked(res, question)) is not None:
        return missing
    b = res.breakdowns
    label = b.loc[b["question"] == question, "question_label"].iloc[0]
    return _png(charts.breakdown_chart(b, question, title=f"% (heel) tevreden naar {label.lower()} {res.year}",
                                       source=_source(res)))


def breakdown_table(res: Results, question: str):
    if _not_asked(res, question) is not None:
        return Markdown("")  # the chart above it says so
    b = res.breakdowns[res.breakdowns["question"] == question]
    out = pd.DataFrame({
        "Groep": b["group"],
        "Respondenten": ["[c]" if s else num(v) for v, s in zip(b["n"], b["suppressed"])],
        "Antwoorden op de schaal": ["[c]" if s else num(v) for v, s in zip(b["n_satisfaction"], b["suppressed"])],
        "% (heel) tevreden": ["[c]" if s else pct(v) for v, s in zip(b["pct_rounded"], b["suppressed"])],
        "Interval": ["[c]" if s else f"{pct(lo, 1)} – {pct(hi, 1)}" for lo, hi, s in zip(b["lo"], b["hi"], b["suppressed"])],
    })
    if "nps_rounded" in b:
        out["NPS"] = ["[c]" if s else signed(v) if not pd.isna(v) else "–"
                      for v, s in zip(b["nps_rounded"], b["nps_suppressed"])]
    table = _table(out)
    d = res.distributions
    missing = d[(d["question"] == question) & (d["kind"] == "missing")]["count"] if len(d) else []
    if len(missing) and missing.iloc[0] > 0:  # why the groups do not add up to the respondents
        who = "respondent" if missing.iloc[0] == 1 else "respondenten"
        table = HTML(table.data + f"<p>Deze vraag niet beantwoord: {num(missing.iloc[0])} {who}.</p>")
    return table


def breakdown_questions(res: Results) -> list[str]:
    return list(dict.fromkeys(res.breakdowns["question"])) if len(res.breakdowns) else []


def trend_chart(res: Results, period_type: str = "month"):
    if res.trend.empty:
        return Markdown("Geen verloop: deze bevraging loopt eenmaal per jaar.")
    return _png(charts.trend_chart(res.trend, period_type, title=f"Verloop van de tevredenheid in {res.year}",
                                   source=_source(res)))


def trend_text(res: Results) -> Markdown:
    if res.trend.empty:
        return Markdown("")
    q = res.trend[(res.trend["period_type"] == "quarter") & ~res.trend["suppressed"].astype(bool)]
    parts = "; ".join(f"{r['period_label']}: {pct(r['pct_rounded'])} (n = {num(r['n_satisfaction'])})"
                      for _, r in q.iterrows())
    hidden = res.trend[res.trend["suppressed"].astype(bool)]["period_type"].value_counts()
    counts = [f"{hidden[p]} {word if hidden[p] > 1 else one}" for p, one, word in
              (("quarter", "kwartaal", "kwartalen"), ("month", "maand", "maanden")) if p in hidden]
    tail = (f" Niet getoond (te weinig antwoorden, of af te leiden uit andere perioden) [c]: {' en '.join(counts)}."
            if counts else "")
    return Markdown((f"Per kwartaal (n = antwoorden op de schaal): {parts}." if parts
                     else "Per kwartaal: geen enkel kwartaal getoond.") + tail)


def _themes_hidden(res: Results) -> str | None:
    if len(res.themes) and _flagged(res.themes).any():
        return f"Verbeterpunten: {too_few(res, 'antwoorden op de open vraag')}."
    return None


def themes_chart(res: Results):
    if _themes_hidden(res):
        return Markdown("")  # the text says why
    t = res.themes[res.themes["theme"] != UNCODED] if len(res.themes) else res.themes
    if t.empty:
        return Markdown("")  # the text says why
    return _png(charts.themes_chart(t, title=f"Verbeterpunten {res.year}", source=_source(res)))


NO_IMPROVEMENT = "Deze bevraging heeft geen open vraag naar verbeterpunten (codeboek: `improvement`)."


def themes_text(res: Results) -> Markdown:
    t = res.themes
    if hidden := _themes_hidden(res):
        return Markdown(hidden)
    if t.empty:
        if res.improvement_question is None:
            return Markdown(NO_IMPROVEMENT)
        return Markdown(f"Geen open antwoorden op de vraag '{res.improvement_question}'.")
    answers = t["base"].iloc[0]
    coded = t[~t["theme"].isin([UNCODED, NOTHING_THEME]) & (t["n"] > 0)]
    lines = [f"Meest genoemde verbeterpunten (aandeel van de {num(answers)} antwoorden op de open vraag; een "
             "antwoord kan onder meer dan één thema vallen):"]
    lines += [f"{i}. {r['label']}: {pct(100 * r['share'])} ({num(r['n'])} antwoorden)"
              for i, (_, r) in enumerate(coded.head(3).iterrows(), 1)]
    if coded.empty:
        lines = [f"Geen van de {num(answers)} antwoorden op de open vraag valt onder een van de thema's."]
    nothing = t[(t["theme"] == NOTHING_THEME) & (t["n"] > 0)]
    if len(nothing):
        lines.append(f"\n{num(nothing.iloc[0]['n'])} antwoorden ({pct(100 * nothing.iloc[0]['share'])}) zeggen dat "
                     "er niets te verbeteren is.")
    unc = t[(t["theme"] == UNCODED) & (t["n"] > 0)]
    if len(unc):
        lines.append(f"\n{num(unc.iloc[0]['n'])} antwoorden ({pct(100 * unc.iloc[0]['share'])}) vallen onder geen "
                     "enkel thema (ongecodeerd).")
    return Markdown("\n".join(lines))


def quotes(res: Results) -> Markdown:
    if _themes_hidden(res):
        return Markdown("Geen citaten: te weinig antwoorden op de open vraag [c].")
    if res.improvement_question is None:
        return Markdown("")
    if res.quotes.empty:
        if res.provenance["params"].get("quotes"):
            return Markdown("Geen citaten: geen enkel antwoord kwam in aanmerking.")
        return Markdown("Citaten staan uit (parameter `quotes` in het parameterbestand).")
    return Markdown("\n".join(f"> {q['quote']}\n" for _, q in res.quotes.iterrows()))


def provenance(res: Results) -> Markdown:
    p = res.provenance
    lines = ["| Bestand | SHA-256 |", "|---|---|"]
    lines += [f"| {i['file']} | `{i['sha256'][:16]}…` |" for i in p["inputs"]]
    params = p["params"]
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    lines += ["", f"Parameterbestand: `{params['params_file']}` · drempel kleine groepen: {params['suppression_threshold']} · "
              f"codeboek: `{p['codebook']}` · demo: {'ja' if p.get('demo') else 'nee'}",
              "", f"Versies: {versions}", "", f"Berekend op: {p['computed_at']}"]
    if p.get("warnings"):
        lines += ["", "**Waarschuwingen bij het inlezen** (zoals `agii validate` ze geeft):", ""]
        lines += [f"- {html.escape(w, quote=False)}" for w in p["warnings"]]  # text, not markup
    return Markdown("\n".join(lines))


# ------------------------------------------------------------------ overview

def overview_results(year: int, reports_dir: str = "reports") -> list[Results]:
    """The year's results: the built JSON files, else computed from params/<year>/."""
    folder = _repo_path(reports_dir) / str(year)
    files = sorted(folder.glob(f"*/*_{year}_resultaten.json"))
    found = [Results.from_json(p) for p in files] if files else [compute(p) for p in find_params(year)]
    return sort_for_overview(found)


def overview_table(results: list[Results]) -> HTML:
    rows = []
    for r in results:
        h = r.headline()
        hidden_sat = h["pct_satisfied_suppressed"]
        if h["diff"] is None:  # the publication's nvt: a first edition; else hidden or missing
            diff = "nvt" if h["first_measurement"] else "[c]" if hidden_sat else "–"
        else:
            diff = signed(h["diff"]) + (" [b]" if h["comparable"] is False else "")
        rows.append({"Type bevraging": h["type"], "Wie": h["who"], "Jaar": h["year"],
                     "Net Promotor Score": ("[c]" if h["nps_suppressed"] else "nvt" if h["nps"] is None
                                            else signed(h["nps"]).replace("+", "")),
                     "% (heel) tevreden": "[c]" if hidden_sat else h["pct_satisfied"], "Verschil t.o.v. jaar x−1": diff})
    return _table(pd.DataFrame(rows))


def overview_response(results: list[Results]) -> HTML:
    rows = []
    for r in results:
        h = r.headline()
        rows.append({"Type bevraging": h["type"], "Aangeschreven": num(h["invited"]), "Respondenten": num(h["respondents"]),
                     "Responsgraad": "–" if h["response_rate"] is None else pct(100 * h["response_rate"], 1)})
    return _table(pd.DataFrame(rows))


def overview_notes(results: list[Results]) -> Markdown:
    breaks = [r.short_title for r in results if r.headline()["comparable"] is False]
    text = ("NPS = % promotors (9–10) − % criticasten (0–6). % (heel) tevreden = (tevreden + heel tevreden) / "
            "alle antwoorden op de schaal; 'geen mening' en niet beantwoord tellen niet mee. "
            "nvt: niet van toepassing (geen aanbevelingsvraag, of een eerste meting zonder vorig jaar); "
            "–: niet beschikbaar (geen cijfer van vorig jaar in de gegevens); "
            "[c]: niet getoond, te weinig antwoorden.")
    if breaks:
        text += f"\n\n[b] Breuk in de reeks ({', '.join(breaks)}): {SCALE_BREAK_CAVEAT}"
    if any(r.provenance.get("demo") for r in results):
        text += "\n\n> **Demogegevens**: verzonnen antwoorden die de gepubliceerde cijfers nabootsen."
    return Markdown(text)


__all__ = [n for n in dir() if not n.startswith("_")] + ["LANGUAGE_NAMES"]
