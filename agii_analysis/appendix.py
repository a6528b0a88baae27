"""The Excel appendix of a survey-year and the overview workbook of a year.

Parliament asked for "alle data in Excel": every table of `Results` goes into the
appendix, with Dutch headers, through the accessible writer in `excel.py`. This
module only selects, relabels and formats: every figure comes from `Results` as it
is (the published whole numbers are the ones `Results` rounded).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import AgiiError
from .excel import Column, Cover, Note, Table, write_workbook
from .params import Params
from .results import ASPECT_VALUES, NPS_GROUP_VALUES, SCALE_BREAK_CAVEAT, Results, sort_for_overview

__all__ = ["write_appendix", "write_overview", "data_date", "appendix_tables", "overview_tables"]

KIND_LABELS = {"scale": "Schaalpunt", "choice": "Keuze", "score": "Score", "no_opinion": "Geen mening",
               "not_applicable": "Niet van toepassing", "missing": "Niet beantwoord"}
DIMENSION_LABELS = {"language": "Taal van de vragenlijst", "collector": "Verzamelaar"}
PERIOD_LABELS = {"quarter": "Kwartaal", "month": "Maand"}
CADENCE_TEXT = {
    "continuous": "doorlopend: elke klant krijgt na afloop een uitnodiging",
    "yearly": "jaarlijks: één bevragingsronde",
}
PARAM_LABELS = {
    "survey": "Bevraging", "year": "Rapportjaar", "inputs": "Invoerbestand", "invited": "Aantal aangeschreven",
    "invited_source": "Bron van het aantal aangeschreven", "invited_by": "Aangeschreven per groep",
    "previous": "Gepubliceerd cijfer van vorig jaar", "period": "Rapportperiode",
    "suppression_threshold": "Drempel kleine groepen", "quotes": "Citaten tonen",
    "max_quotes": "Maximum aantal citaten per thema", "unknown_labels": "Onbekende antwoordlabels",
    "demo": "Demogegevens", "params_file": "Parameterbestand", "contact": "Contact", "note": "Opmerking",
}
#: provenance keys that may hold the latest End Date of the data (ISO date)
DATA_DATE_KEYS = ("latest_end", "data_until")
RESPONSE_RATES = ("response_rate", "response_rate_complete")
#: row order of the published overview table (instrument.md section 1)
DEMO_WARNING = ("Demogegevens: deze werkmap is gemaakt met verzonnen antwoorden die de gepubliceerde cijfers "
                "nabootsen. Het zijn geen echte resultaten van het agentschap.")


# ------------------------------------------------------------------ small helpers

def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def _yes_no(v):
    return None if _missing(v) else ("Ja" if bool(v) else "Nee")


def _significance(df: pd.DataFrame) -> list:
    """Ja/Nee from the z-test; [b] across a break in the series, where the two figures
    measure different things (the test's p-value stays beside it); empty without a test."""
    return [None if _missing(p) else "[b]" if not _missing(c) and not bool(c) else _yes_no(s)
            for s, p, c in zip(df["significant"], df["p_value"], df["comparable"])]


def _break_flag(comparable, first: bool = False):
    """The flag column beside a difference: [b] when the scale changed; without a
    previous figure [z] for a first measurement (nothing to compare with: the published
    "nvt"), else [x]."""
    if _missing(comparable):
        return "[z]" if first else "[x]"
    return "Nee" if bool(comparable) else "[b]"


_CHANGE_COLUMNS = ("previous_year", "previous", "diff", "diff_rounded", "p_value", "significant_nl", "source")


def _first(r: Results) -> bool:
    """The survey's first edition (codebook `first_year`): nothing to compare with."""
    return r.change.empty and r.first_measurement


def _first_measurement(df: pd.DataFrame, r: Results) -> pd.DataFrame:
    """A survey's first year has no previous measurement: its change cells are [z]."""
    if not _first(r):
        return df
    out = df.copy()
    for c in _CHANGE_COLUMNS:
        if c in out.columns:
            out[c] = "[z]"
    return out


def _suppress(df: pd.DataFrame, columns: list[str], flag: str = "suppressed") -> pd.DataFrame:
    """Mark the suppressed rows' value cells [c] (Results already emptied them; whatever a
    flagged row still holds there is not written)."""
    out = df.copy()
    if flag not in out.columns:
        return out
    hidden = out[flag].fillna(False).astype(bool).to_numpy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].astype(object)
            out.loc[hidden, c] = "[c]"
    return out


def _present(df: pd.DataFrame, columns: list[Column]) -> list[Column]:
    """Keep the optional columns (e.g. NPS ones) that this table has."""
    if df.empty:
        return [c for c in columns if c.key in df.columns] or columns
    return [c for c in columns if c.key in df.columns]


def _params(results: Results) -> dict:
    return results.provenance.get("params") or {}


def _period(results: Results) -> tuple[dt.date, dt.date]:
    p = _params(results).get("period")
    if p:
        return dt.date.fromisoformat(str(p[0])[:10]), dt.date.fromisoformat(str(p[1])[:10])
    return dt.date(results.year, 1, 1), dt.date(results.year, 12, 31)


def data_date(results: Results) -> dt.date:
    """Date of the data: the latest End Date if Results carries it, else the end of the report period.

    Never the computation time: two runs on the same inputs must give the same file.
    """
    prov = results.provenance or {}
    for key in DATA_DATE_KEYS:
        if prov.get(key):
            return dt.date.fromisoformat(str(prov[key])[:10])
    return _period(results)[1]


def _contact(results: Results) -> str:
    return _params(results).get("contact") or Params.contact


def _nl_date(d: dt.date) -> str:
    months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december"]
    return f"{d.day} {months[d.month - 1]} {d.year}"


def _count_text(n) -> str:
    return f"{int(n):,}".replace(",", " ")


def _flatten(prefix: str, value, out: list):
    if isinstance(value, dict):
        if not value:
            out.append((prefix, None))
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append((prefix, None))
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i + 1}]", v, out)
    else:
        out.append((prefix, value))


def _param_value(v):
    if isinstance(v, bool):
        return "Ja" if v else "Nee"
    if v is None:
        return "[z]"
    if isinstance(v, (int, float)):
        return v
    return str(v)


# ------------------------------------------------------------------ notes

def _notes(results: Results) -> list[Note]:
    thr = results.threshold
    notes = [
        Note("population", "Er is geen steekproef getrokken: iedereen van de doelgroep met een e-mailadres werd "
                           "uitgenodigd, en de antwoorden zijn niet gewogen. Het rapportjaar van een antwoord is "
                           "het kalenderjaar van de einddatum (het laatste moment waarop de respondent een "
                           "antwoord bewaarde)."),
        Note("pct", "% (heel) tevreden = (tevreden + heel tevreden) gedeeld door iedereen die een punt van de "
                    "schaal koos. 'Geen mening', 'niet van toepassing' en niet beantwoorde vragen tellen niet "
                    f"mee in de noemer. Antwoordschaal in {results.year}: {results.scale}."),
        Note("nps", "Net Promoter Score (NPS) = % promotors (score 9-10) min % criticasten (score 0-6), in "
                    "punten van -100 tot 100. Passieven (7-8) tellen mee in de noemer."),
        Note("ci", "95%-betrouwbaarheidsinterval: Wilson-interval voor een aandeel, normale benadering voor de "
                   "NPS. Voor de hele bevraging met een eindige-populatiecorrectie op het aantal aangeschreven "
                   "personen (als dat gekend is en groter dan het aantal antwoorden); voor groepen, perioden en "
                   "thema's zonder (het aantal aangeschreven personen per groep is niet gekend), dus iets ruimer. "
                   "Het interval geeft de onzekerheid doordat niet iedereen antwoordde, in de veronderstelling dat "
                   "wie antwoordde niet systematisch verschilt van wie niet antwoordde."),
        Note("rounding", "Afgeronde cijfers zijn hele getallen, helften weg van nul afgerond (94,5 wordt 95). "
                         "Het afgeronde verschil is het verschil tussen de twee afgeronde cijfers, zoals in de "
                         "publicatie; het kan 1 punt afwijken van het afgeronde onafgeronde verschil."),
        Note("change", "Verschil met vorig jaar: z-toets voor twee onafhankelijke metingen, significant bij een "
                       "p-waarde onder 0,05. Als het cijfer van vorig jaar alleen gepubliceerd is (geen ruwe "
                       "gegevens), is er geen toets: [x]."),
        Note("base", "Aandeel per antwoord: schaalpunten, keuzes en scores delen door het aantal antwoorden op "
                     "de schaal (of het aantal keuzes); 'geen mening', 'niet van toepassing' en 'niet "
                     "beantwoord' delen door alle respondenten. De kolom Basis zegt welke noemer geldt."),
        Note("importance", "Belang = Spearman-rangcorrelatie tussen de tevredenheid over het onderdeel en de "
                           "algemene tevredenheid, bij respondenten die beide op de schaal beantwoordden. Het "
                           "kwadrant vergelijkt belang en % (heel) tevreden met hun mediaan over de onderdelen."),
        Note("themes", f"Antwoorden op de open vraag {_improvement(results)}, gecodeerd in thema's "
                       "met een vaste lijst trefwoorden. Eén antwoord kan meerdere thema's hebben, dus de "
                       "aandelen tellen niet op tot 100%. Het aandeel deelt door alle antwoorden op de open vraag."),
        Note("[c]", f"Afgeschermd: een groep met minder dan {thr} respondenten, of een cijfer op minder dan {thr} "
                    "antwoorden, wordt niet getoond. Als precies één groep te klein is, wordt ook de kleinste "
                    "andere groep afgeschermd, zodat het totaal de kleine groep niet verraadt. Een keuze van een "
                    "keuzevraag is een groep; het aantal antwoorden per schaalpunt, score of thema en het aantal "
                    "dat een vraag niet beantwoordde, ook onder de drempel, niet: het zijn antwoorden van een "
                    "groep die groot genoeg is, geen groep apart."),
        Note("[b]", "Breuk in de reeks: het verschil staat in zijn kolom, maar is niet rechtstreeks vergelijkbaar. "
                    + SCALE_BREAK_CAVEAT),
        Note("[x]", "Niet beschikbaar: bijvoorbeeld geen aantal aangeschreven voor die groep, geen antwoorden "
                    "om een cijfer op te berekenen, of geen cijfer van vorig jaar in de gegevens."),
        Note("[z]", "Niet van toepassing: bijvoorbeeld geen vorige meting (de eerste editie van de bevraging, "
                    "'nvt' in de publicatie), een aandeel op de rij van de NPS-score, of een parameter die niet is "
                    "ingesteld."),
    ]
    if results.provenance.get("demo"):
        notes.insert(0, Note("demo", "Demogegevens: verzonnen antwoorden die de gepubliceerde cijfers nabootsen. "
                                     "Dit zijn geen echte resultaten van het agentschap."))
    for i, text in enumerate(n for n in results.notes if n != SCALE_BREAK_CAVEAT):
        notes.append(Note(f"results_{i + 1}", text))
    return notes


# ------------------------------------------------------------------ appendix tables

def _ci(prefix="", unit="", notes=("ci",), decimals=1, kind="number"):
    return (Column(f"{prefix}lo", f"Ondergrens 95%-interval{unit}", kind, notes, decimals),
            Column(f"{prefix}hi", f"Bovengrens 95%-interval{unit}", kind, notes, decimals))


def _key_figures(r: Results, base_notes: tuple) -> Table:
    df = _suppress(r.key_figures, ["n", "k", "estimate", "lo", "hi", "se", "rounded",
                                   "previous_year", "previous", "diff", "diff_rounded", "p_value"])
    if "comparable" in df.columns:
        df["break"] = [_break_flag(v, _first(r)) for v in df["comparable"]]
        df["significant_nl"] = _significance(df)
        df = _first_measurement(df, r)
    cols = [
        Column("label", "Indicator"), Column("unit", "Eenheid"),
        Column("n", "Aantal antwoorden (noemer)", "count"),
        Column("k", "Aantal in de teller (NPS: promotors)", "count"),
        Column("estimate", "Schatting", "number", decimals=1),
        *_ci(),
        Column("se", "Standaardfout", "number", ("ci",), 2),
        Column("rounded", "Afgerond cijfer", "points", ("rounding",)),
        Column("previous_year", "Vorig jaar", "points"),
        Column("previous", "Cijfer vorig jaar", "number", decimals=1),
        Column("diff", "Verschil met vorig jaar", "number", ("change",), 1),
        Column("diff_rounded", "Verschil met vorig jaar, afgerond", "signed", ("rounding",)),
        Column("break", "Breuk in reeks"),
        Column("p_value", "p-waarde", "number", ("change",), 3),
        Column("significant_nl", "Significant verschil", notes=("change",)),
        Column("source", "Bron van het cijfer van vorig jaar"),
        Column("indicator", "Code indicator"),
    ]
    return Table("Kerncijfers", "tabel_kerncijfers", f"Kerncijfers {r.year}",
                 "De kerncijfers met hun 95%-betrouwbaarheidsinterval en het verschil met vorig jaar. "
                 "Percentages in procent (0 tot 100), de NPS in punten (-100 tot 100).",
                 df, _present(df, cols), notes=base_notes + ("pct", "nps"))


def _subgroups(r: Results) -> Table | None:
    df = r.subgroups
    if df.empty:
        return None
    df = _suppress(df, ["n", "k", "estimate", "lo", "hi", "se", "rounded"])
    cols = [Column("label", "Indicator"), Column("unit", "Eenheid"),
            Column("n", "Aantal antwoorden (noemer)", "count"), Column("k", "Aantal (heel) tevreden", "count"),
            Column("estimate", "% (heel) tevreden", "number", ("pct",), 1), *_ci(),
            Column("se", "Standaardfout", "number", ("ci",), 2),
            Column("rounded", "Afgerond cijfer", "points", ("rounding",)),
            Column("subgroup", "Code deelgroep"), Column("indicator", "Code indicator")]
    return Table("Deelgroepen", "tabel_deelgroepen", f"Tevredenheid in deelgroepen {r.year}",
                 "% (heel) tevreden in de deelgroepen waarover apart gerapporteerd wordt.", df, _present(df, cols))


def _change(r: Results) -> Table | None:
    df = r.change
    if df.empty:
        return None
    df = df.copy()
    df["break"] = [_break_flag(v) for v in df["comparable"]]
    df["significant_nl"] = _significance(df)
    df["from_raw_nl"] = [_yes_no(v) for v in df["from_raw"]]
    cols = [Column("label", "Indicator"), Column("current", "Cijfer dit jaar", "number", decimals=1),
            Column("previous_year", "Vorig jaar", "points"),
            Column("previous", "Cijfer vorig jaar", "number", decimals=1),
            Column("previous_rounded", "Cijfer vorig jaar, afgerond", "points", ("rounding",)),
            Column("diff", "Verschil", "number", decimals=1),
            Column("diff_rounded", "Verschil, afgerond", "signed", ("rounding",)),
            Column("break", "Breuk in reeks"),
            Column("se", "Standaardfout van het verschil", "number", decimals=2),
            Column("z", "z-waarde", "number", decimals=2), Column("p_value", "p-waarde", "number", decimals=3),
            Column("significant_nl", "Significant verschil"),
            Column("from_raw_nl", "Vorig jaar berekend uit ruwe gegevens"),
            Column("source", "Bron van het cijfer van vorig jaar"), Column("indicator", "Code indicator")]
    return Table("Vergelijking", "tabel_vergelijking", f"Vergelijking {r.year} met vorig jaar",
                 "Het verschil met de vorige meting, met de toets. Percentages in procent, de NPS in punten.",
                 df, _present(df, cols), notes=("change",))


def _response(r: Results) -> Table:
    df = r.response.copy()
    rate = df["measure"].isin(RESPONSE_RATES).to_numpy()
    df["count"] = [("[z]" if is_rate else v) for v, is_rate in zip(df["value"], rate)]
    df["rate"] = [(v if is_rate else "[z]") for v, is_rate in zip(df["value"], rate)]
    cols = [Column("label", "Maat"), Column("count", "Aantal", "count"),
            Column("rate", "Percentage", "pct1"), Column("measure", "Code maat")]
    src = _params(r).get("invited_source")
    desc = "Aangeschreven personen, gelezen rijen en gebruikte antwoorden. Responsgraad = respondenten / aangeschreven."
    if src:
        desc += f" Bron van het aantal aangeschreven: {src}."
    return Table("Respons", "tabel_respons", f"Respons {r.year}", desc, df, cols, notes=("population",))


def _response_by(r: Results) -> Table | None:
    df = r.response_by
    if df.empty:
        return None
    df = _suppress(df, ["respondents", "complete", "partial", "response_rate"])
    df["dimension_nl"] = [DIMENSION_LABELS.get(d, d) for d in df["dimension"]]
    cols = [Column("dimension_nl", "Indeling"), Column("group", "Groep"),
            Column("respondents", "Respondenten", "count"), Column("complete", "Volledig", "count"),
            Column("partial", "Gedeeltelijk", "count"), Column("invited", "Aangeschreven", "count"),
            Column("response_rate", "Responsgraad", "pct1"), Column("group_code", "Code groep")]
    return Table("Respons per groep", "tabel_respons_per_groep", f"Respons per groep {r.year}",
                 "Respondenten per taal van de vragenlijst en per verzamelaar (SurveyMonkey-collector).",
                 df, _present(df, cols))


def _exclusions(r: Results) -> Table:
    df = r.exclusions
    acc = r.accounting
    cols = [Column("label", "Reden van uitsluiting"), Column("count", "Aantal rijen", "count"),
            Column("reason", "Code reden")]
    desc = (f"Rijen uit de exports die niet meetellen. Gelezen rijen = gebruikte antwoorden + uitgesloten rijen: "
            f"{_count_text(acc['read'])} gelezen, {_count_text(acc['used'])} gebruikt.")
    return Table("Uitsluitingen", "tabel_uitsluitingen", f"Uitgesloten rijen {r.year}", desc, df, cols,
                 empty_text="Geen rijen uitgesloten")


def _distributions(r: Results) -> Table:
    df = _suppress(r.distributions, ["count", "share"])
    if not df.empty:
        df["kind_nl"] = [KIND_LABELS.get(k, k) for k in df["kind"]]
        df["item_label"] = [v if isinstance(v, str) and v else "[z]" for v in df["item_label"]]
        df["item"] = [v if isinstance(v, str) and v else "[z]" for v in df["item"]]
    cols = [Column("question_label", "Vraag"), Column("item_label", "Onderdeel"), Column("label", "Antwoord"),
            Column("kind_nl", "Soort antwoord"), Column("count", "Aantal", "count"),
            Column("share", "Aandeel", "pct1", ("base",)), Column("base", "Basis van het aandeel", notes=("base",)),
            Column("code", "Code antwoord", "points", missing="[z]"), Column("question", "Code vraag"),
            Column("item", "Code onderdeel")]
    return Table("Verdelingen", "tabel_verdelingen", f"Antwoorden op elke gesloten vraag {r.year}",
                 "De volledige verdeling van elke gesloten vraag en elk onderdeel van een matrixvraag, met "
                 "'geen mening', 'niet van toepassing' en 'niet beantwoord'.", df, _present(df, cols))


def _nps(r: Results) -> Table | None:
    df = r.nps
    if df.empty:
        return None
    df = _suppress(df, ["count", "share", "lo", "hi"]).astype(object)
    score = (df["component"] == "score").to_numpy()
    for src, dst in (("share", "points"), ("lo", "points_lo"), ("hi", "points_hi")):
        df[dst] = [v if s else "[z]" for v, s in zip(df[src], score)]
        df[src] = ["[z]" if s else v for v, s in zip(df[src], score)]
    cols = [Column("label", "Onderdeel"), Column("count", "Aantal (bij NPS: alle antwoorden)", "count"),
            Column("share", "Aandeel", "pct1"),
            *_ci(kind="pct1", decimals=None),
            Column("points", "NPS in punten", "number", ("nps",), 1),
            *_ci("points_", " NPS", decimals=1),
            Column("component", "Code onderdeel")]
    return Table("NPS", "tabel_nps", f"Net Promoter Score {r.year}",
                 "Promotors, passieven en criticasten, en de NPS die daaruit volgt.", df, cols, notes=("nps",))


def _aspects(r: Results) -> Table | None:
    df = r.aspects
    if df.empty:
        return None
    df = _suppress(_suppress(df, [*ASPECT_VALUES, "rank", "n_pairs"]), ["importance", "n_pairs"],
                   flag="importance_suppressed")
    cols = [Column("label", "Onderdeel"), Column("rank", "Rangorde", "points"),
            Column("n", "Antwoorden op de schaal", "count"), Column("k", "Aantal (heel) tevreden", "count"),
            Column("pct_satisfied", "% (heel) tevreden", "number", ("pct",), 1), *_ci(),
            Column("pct_rounded", "% (heel) tevreden, afgerond", "points", ("rounding",)),
            Column("n_answered", "Alle antwoorden", "count"), Column("n_no_opinion", "Geen mening", "count"),
            Column("n_not_applicable", "Niet van toepassing", "count"),
            Column("share_not_applicable", "Aandeel niet van toepassing", "pct1"),
            Column("importance", "Belang (correlatie)", "number", ("importance",), 3),
            Column("n_pairs", "Respondenten in de correlatie", "count"),
            Column("question", "Code vraag"), Column("item", "Code onderdeel")]
    return Table("Onderdelen", "tabel_onderdelen", f"Tevredenheid over de onderdelen {r.year}",
                 "% (heel) tevreden per onderdeel van de matrixvraag, van hoog naar laag.", df, _present(df, cols))


def _priority(r: Results) -> Table | None:
    df = r.priority
    if df.empty:
        return None
    df = _suppress(_suppress(df, ["importance", "performance", "quadrant", "n_pairs"]),
                   ["importance", "quadrant", "n_pairs"], flag="importance_suppressed")
    cols = [Column("label", "Onderdeel"), Column("quadrant", "Kwadrant", notes=("importance",)),
            Column("importance", "Belang (correlatie)", "number", ("importance",), 3),
            Column("performance", "% (heel) tevreden", "number", ("pct",), 1),
            Column("importance_median", "Mediaan belang", "number", decimals=3),
            Column("performance_median", "Mediaan % (heel) tevreden", "number", decimals=1),
            Column("n_pairs", "Respondenten in de correlatie", "count"),
            Column("question", "Code vraag"), Column("item", "Code onderdeel")]
    return Table("Prioriteiten", "tabel_prioriteiten", f"Prioriteitenmatrix {r.year}",
                 "Belang en tevredenheid per onderdeel, en het kwadrant van de prioriteitenmatrix.",
                 df, _present(df, cols))


_GROUP_VALUES = ["n", "n_satisfaction", "pct_satisfied", "lo", "hi", "pct_rounded",
                 "n_nps", "nps", "nps_lo", "nps_hi", "nps_rounded"]


def _group_suppress(df: pd.DataFrame) -> pd.DataFrame:
    """[c] in the hidden groups' cells; the NPS cells (if any) by their own flag."""
    df = _suppress(df, [c for c in _GROUP_VALUES if c not in NPS_GROUP_VALUES])
    return _suppress(df, list(NPS_GROUP_VALUES), flag="nps_suppressed")


def _group_columns() -> list[Column]:
    return [Column("n", "Respondenten", "count"),
            Column("n_satisfaction", "Antwoorden op de schaal", "count"),
            Column("pct_satisfied", "% (heel) tevreden", "number", ("pct",), 1), *_ci(),
            Column("pct_rounded", "% (heel) tevreden, afgerond", "points", ("rounding",)),
            Column("n_nps", "Antwoorden op de NPS-vraag", "count"),
            Column("nps", "NPS", "number", ("nps",), 1), *_ci("nps_", " NPS"),
            Column("nps_rounded", "NPS, afgerond", "points", ("rounding",))]


def _breakdowns(r: Results) -> Table | None:
    df = r.breakdowns
    if df.empty:
        return None
    df = _group_suppress(df)
    cols = [Column("question_label", "Indeling"), Column("group", "Groep"), *_group_columns(),
            Column("question", "Code indeling"), Column("group_code", "Code groep", "general")]
    return Table("Uitsplitsingen", "tabel_uitsplitsingen", f"Tevredenheid en NPS per groep {r.year}",
                 "Elke uitsplitsing van de algemene tevredenheid en de NPS, per antwoord op een "
                 "achtergrondvraag en per taal van de vragenlijst.", df, _present(df, cols))


def _trend(r: Results) -> Table | None:
    df = r.trend
    if df.empty:
        return None
    df = _group_suppress(df)
    df["period_type_nl"] = [PERIOD_LABELS.get(p, p) for p in df["period_type"]]
    cols = [Column("period_type_nl", "Indeling"), Column("period_label", "Periode"), *_group_columns(),
            Column("period", "Nummer periode", "points")]
    return Table("Verloop", "tabel_verloop", f"Verloop binnen {r.year}",
                 "Tevredenheid en NPS per kwartaal en per maand van de einddatum van het antwoord.",
                 df, _present(df, cols), notes=("population",))


def _improvement(r: Results) -> str:
    text = r.improvement_question
    return f"'{text}'" if text else "naar verbeterpunten (niet gesteld)"


def _themes(r: Results) -> Table:
    df = r.themes
    df = _suppress(df, ["n", "base", "share", "lo", "hi"])  # THEME_COLUMNS, also when empty
    cols = [Column("label", "Thema"), Column("n", "Aantal antwoorden", "count"),
            Column("base", "Antwoorden op de open vraag (noemer)", "count"),
            Column("share", "Aandeel van de antwoorden", "pct1"), *_ci(kind="pct1", decimals=None),
            Column("theme", "Code thema")]
    return Table("Verbeterpunten", "tabel_verbeterpunten", f"Verbeterpunten {r.year}",
                 f"Thema's in de antwoorden op de open vraag {_improvement(r)}.",
                 df, _present(df, cols) if not df.empty else cols, notes=("themes",),
                 empty_text="Geen antwoorden op de open vraag")


def _quotes(r: Results) -> Table | None:
    df = r.quotes
    if df.empty:
        return None
    labels = dict(zip(r.themes["theme"], r.themes["label"])) if "label" in r.themes.columns else {}
    df = df.copy()
    df["theme_label"] = [labels.get(t, t) for t in df["theme"]]
    cols = [Column("theme_label", "Thema"), Column("quote", "Citaat", width=80), Column("theme", "Code thema")]
    return Table("Citaten", "tabel_citaten", f"Citaten {r.year}",
                 "Geselecteerde antwoorden op de open vraag. E-mail- en webadressen, telefoon-, rekening- en "
                 "rijksregisternummers en namen na een aanspreking, functie of bedanking (juf …, mevrouw …, "
                 "bedankt …) zijn vervangen door [e-mail], [url], [telefoon], [rekeningnummer], "
                 "[rijksregisternummer] en [naam]; andere namen worden niet herkend.",
                 df, cols, notes=("themes",))


def _inputs(r: Results) -> Table:
    df = pd.DataFrame(r.provenance.get("inputs") or [], columns=["file", "sha256"])
    cols = [Column("file", "Bestand"), Column("sha256", "SHA-256-controlegetal", width=68)]
    return Table("Invoerbestanden", "tabel_invoerbestanden", "Invoerbestanden",
                 "De exports waaruit deze cijfers berekend zijn, met hun SHA-256-controlegetal: een ander "
                 "controlegetal betekent een ander bestand.", df, cols)


def _parameters(r: Results) -> Table:
    rows: list = []
    for key, value in _params(r).items():
        _flatten(key, value, rows)
    records = [{"key": k, "label": PARAM_LABELS.get(k.split(".")[0].split("[")[0], k), "value": _param_value(v)}
               for k, v in rows]
    records.append({"key": "codebook", "label": "Codeboek", "value": str(r.provenance.get("codebook", "[x]"))})
    for pkg, version in (r.provenance.get("versions") or {}).items():
        records.append({"key": f"versions.{pkg}", "label": f"Versie {pkg}", "value": str(version)})
    records.append({"key": "scale", "label": "Antwoordschaal", "value": r.scale})
    df = pd.DataFrame(records, columns=["key", "label", "value"])
    cols = [Column("label", "Parameter"), Column("value", "Waarde", "general"), Column("key", "Sleutel")]
    return Table("Parameters", "tabel_parameters", "Parameters en versies",
                 "De instellingen van deze berekening (parameterbestand, codeboek) en de softwareversies. "
                 "Het tijdstip van de berekening staat in het resultatenbestand (JSON), niet hier, zodat "
                 "dezelfde gegevens dezelfde werkmap geven.", df, cols)


def appendix_tables(results: Results) -> list[Table]:
    """Every table of the appendix, in sheet order (empty optional tables left out)."""
    r = results
    base = ("demo",) if r.provenance.get("demo") else ()
    tables = [
        _key_figures(r, base), _subgroups(r), _change(r), _response(r), _response_by(r), _exclusions(r),
        _distributions(r), _nps(r), _aspects(r), _priority(r), _breakdowns(r),
        _trend(r) if r.cadence == "continuous" else None,
        _themes(r), _quotes(r), _inputs(r), _parameters(r),
    ]
    return [t for t in tables if t is not None]


def _cover(results: Results, doc_date: dt.date) -> Cover:
    r = results
    start, end = _period(r)
    params = _params(r)
    invited = params.get("invited")
    invitation = (f"Alle {r.client_group.lower()} met een e-mailadres werden uitgenodigd "
                  f"({CADENCE_TEXT.get(r.cadence, r.cadence)}). Er is geen steekproef en geen weging.")
    if invited is not None:
        invitation += f" Aangeschreven: {_count_text(invited)}"
        invitation += f" (bron: {params['invited_source']})." if params.get("invited_source") else "."
    files = [i["file"] for i in r.provenance.get("inputs") or []]
    return Cover(
        title=f"{r.title} {r.year}: alle cijfers",
        survey=f"{r.title} (klantengroep: {r.client_group}; antwoordschaal {r.scale}).",
        period=f"{_nl_date(start)} tot en met {_nl_date(end)}: antwoorden met een einddatum in die periode.",
        source=(f"SurveyMonkey-exports ({', '.join(files) or 'geen bestanden'}), verwerkt met agii-analysis "
                f"{r.provenance.get('versions', {}).get('agii_analysis', __version__)}. Controlegetallen en "
                "instellingen staan op de werkbladen Invoerbestanden en Parameters."),
        invitation=invitation,
        contact=_contact(r),
        data_date=doc_date,
        summary=("Deze werkmap bevat alle cijfers van het rapport, elk in een tabel op een eigen werkblad: "
                 "kerncijfers, respons, de verdeling van elke gesloten vraag, uitsplitsingen, verbeterpunten "
                 "en de herkomst van de gegevens. Getallen zijn als getallen opgeslagen."),
        subject=f"Klanttevredenheid {r.short_title} {r.year}",
        warning=DEMO_WARNING if r.provenance.get("demo") else "",
    )


def write_appendix(results: Results, path, doc_date: dt.date | None = None) -> Path:
    """The survey-year's appendix workbook (every Results table, nothing recomputed)."""
    doc_date = doc_date or data_date(results)
    return write_workbook(path, _cover(results, doc_date), appendix_tables(results), _notes(results), doc_date)


# ------------------------------------------------------------------ overview

def overview_tables(results_list: list[Results]) -> list[Table]:
    """The rebuilt published table (one row per survey) and the input files behind it."""
    rows, inputs = [], []
    for r in sort_for_overview(results_list):
        h = r.headline()
        no_nps = r.figure("nps") is None
        rows.append({
            "type": h["type"], "who": h["who"], "year": h["year"],
            "nps": "[z]" if no_nps else "[c]" if h["nps_suppressed"] else h["nps"],
            "pct_satisfied": "[c]" if h["pct_satisfied_suppressed"] else h["pct_satisfied"],
            "diff": "[z]" if _first(r) else "[c]" if h["pct_satisfied_suppressed"] else h["diff"],
            "break": _break_flag(h["comparable"], _first(r)),
            "invited": h["invited"], "respondents": h["respondents"], "response_rate": h["response_rate"],
            "survey": h["survey"],
        })
        for i in r.provenance.get("inputs") or []:
            inputs.append({"survey": r.short_title, "file": i["file"], "sha256": i["sha256"]})
    df = pd.DataFrame(rows, columns=["type", "who", "year", "nps", "pct_satisfied", "diff", "break", "invited",
                                     "respondents", "response_rate", "survey"], dtype=object)
    cols = [Column("type", "Type bevraging"), Column("who", "Wie"), Column("year", "Jaar", "points"),
            Column("nps", "Net Promotor Score jaar x", "points", ("nps", "rounding")),
            Column("pct_satisfied", "% (heel) tevreden jaar x", "points", ("pct", "rounding")),
            Column("diff", "Verschil % (heel) tevreden t.o.v. jaar x\u22121", "signed", ("rounding",)),
            Column("break", "Breuk in reeks"),
            Column("invited", "Aangeschreven", "count"), Column("respondents", "Respondenten", "count"),
            Column("response_rate", "Responsgraad", "pct1"), Column("survey", "Code bevraging")]
    demo = ("demo",) if any(r.provenance.get("demo") for r in results_list) else ()
    overview = Table("Overzicht", "tabel_overzicht", "Klanttevredenheid per bevraging",
                     "Per bevraging de Net Promoter Score en het % (heel) tevreden van jaar x, en het verschil "
                     "met jaar x\u22121 (de tabel uit het antwoord op de parlementaire vraag). Percentages en "
                     "NPS als hele getallen.", df, cols, notes=demo)
    files = pd.DataFrame(inputs, columns=["survey", "file", "sha256"])
    fcols = [Column("survey", "Bevraging"), Column("file", "Bestand"),
             Column("sha256", "SHA-256-controlegetal", width=68)]
    return [overview, Table("Invoerbestanden", "tabel_invoerbestanden", "Invoerbestanden",
                            "De exports achter elke rij van het overzicht, met hun SHA-256-controlegetal.",
                            files, fcols)]


def _overview_notes(results_list: list[Results]) -> list[Note]:
    notes = []
    if any(r.provenance.get("demo") for r in results_list):
        notes.append(Note("demo", "Demogegevens: verzonnen antwoorden die de gepubliceerde cijfers nabootsen."))
    notes += [
        Note("nps", "Net Promoter Score (NPS) = % promotors (score 9-10) min % criticasten (score 0-6), in punten."),
        Note("pct", "% (heel) tevreden = (tevreden + heel tevreden) gedeeld door iedereen die een punt van de "
                    "schaal koos; 'geen mening' en niet beantwoord tellen niet mee."),
        Note("rounding", "Hele getallen, helften weg van nul afgerond. Het verschil is het verschil tussen de "
                         "afgeronde cijfers van jaar x en jaar x\u22121, zoals gepubliceerd."),
        Note("[b]", "Breuk in de reeks: het verschil staat in zijn kolom, maar is niet rechtstreeks "
                    "vergelijkbaar. " + SCALE_BREAK_CAVEAT),
        Note("[x]", "Niet beschikbaar: het cijfer van dit jaar of van vorig jaar ontbreekt."),
        Note("[c]", "Afgeschermd: het cijfer rust op minder antwoorden dan de drempel kleine groepen van de "
                    "bevraging en wordt niet getoond."),  # shorthand notes appear only where used
        Note("[z]", "Niet van toepassing ('nvt' in de publicatie): de bevraging heeft geen NPS-vraag, of er is "
                    "geen vorige meting om mee te vergelijken (de eerste editie van de bevraging)."),
    ]
    return notes


def write_overview(results_list: list[Results], year: int, path, doc_date: dt.date | None = None) -> Path:
    """The year's overview workbook: one row per survey, in the published table's order."""
    if not results_list:
        raise AgiiError(f"no survey results for {year} to build the overview from")
    wrong = [f"{r.survey} {r.year}" for r in results_list if r.year != year]
    if wrong:
        raise AgiiError(f"results of another year in the overview of {year}: {', '.join(wrong)}")
    doc_date = doc_date or max(data_date(r) for r in results_list)
    titles = ", ".join(r.short_title for r in sort_for_overview(results_list))
    cover = Cover(
        title=f"Overzicht klanttevredenheid {year}",
        survey=f"De klanttevredenheidsbevragingen van het Agentschap Integratie en Inburgering met resultaten "
               f"voor {year}: {titles}.",
        period=f"{year} (per bevraging: de antwoorden met een einddatum in de rapportperiode).",
        source="De resultaten per bevraging, berekend uit de SurveyMonkey-exports; elke bevraging heeft een "
               "eigen bijlage met alle cijfers. De exports staan op het werkblad Invoerbestanden.",
        invitation="Per bevraging werden alle klanten met een e-mailadres uitgenodigd (geen steekproef, geen "
                   "weging); het aantal staat in de kolom Aangeschreven.",
        contact=_contact(results_list[0]),
        data_date=doc_date,
        summary="De tabel met per bevraging de Net Promoter Score, het % (heel) tevreden en het verschil met "
                "het jaar ervoor, aangevuld met de respons.",
        subject=f"Klanttevredenheid {year}",
        warning=DEMO_WARNING if any(r.provenance.get("demo") for r in results_list) else "",
    )
    return write_workbook(path, cover, overview_tables(results_list), _overview_notes(results_list), doc_date)
