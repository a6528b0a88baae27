"""Every figure of a survey-year, computed once, from the harmonised responses.

`compute(params)` returns a `Results`: plain data (pandas tables and numbers) that the
notebook, the Excel appendix, the overview and the JSON file all read, so no figure
is computed twice. Definitions and formulas: docs/methodology.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, stats
from .codebook import NO_OPINION, NOT_APPLICABLE, Codebook, load_codebook
from .errors import AgiiError
from .files import atomic_write_text
from .harmonise import Harmonised
from .params import Params, _rel, is_demo_export, load_params, params_path
from .prepare import hashes_by_name, input_hashes, prepare

SCHEMA = "agii-results/3"  # 2: figures on too few answers are flagged `suppressed`; 3: themes carry their `base`
LANGUAGE_BREAKDOWN = "taal_vragenlijst"  # the breakdown by the questionnaire's language (not a question)
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "Engels", "fr": "Frans", "ar": "Arabisch", "uk": "Oekraïens"}
REASON_LABELS = {
    "duplicate": "Dubbel (zelfde respondent in overlappende exports)",
    "outside_period": "Einddatum buiten de rapportperiode",
    "no_date": "Geen datum",
    "no_answer": "Geen enkele vraag beantwoord",
}
SCALE_BREAK_CAVEAT = (
    "De schaal kreeg de antwoordcategorie ‘neutraal’ erbij; door het invoegen van die categorie is een "
    "vergelijking met de vorige meting niet éénduidig te maken (breuk in de reeks)."
)
QUADRANTS = {
    (True, True): "Sterkte behouden",
    (True, False): "Prioriteit verbeteren",
    (False, False): "Secundair",
    (False, True): "Mogelijk overinvestering",
}
# Row order of the yearly overview: that of the published table (question 8a).
OVERVIEW_ORDER = ("na_aanbod_mo", "na_test_mo", "na_traject", "vorming", "lokale_besturen")
MONTHS_NL = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


@dataclass
class Results:
    """All figures of one survey-year. Tables are tidy DataFrames; see docs/results-schema.md."""

    survey: str
    year: int
    title: str
    short_title: str
    client_group: str
    cadence: str
    scale: str
    threshold: int
    key_figures: pd.DataFrame
    response: pd.DataFrame
    response_by: pd.DataFrame
    exclusions: pd.DataFrame
    distributions: pd.DataFrame
    nps: pd.DataFrame
    change: pd.DataFrame
    breakdowns: pd.DataFrame
    aspects: pd.DataFrame
    priority: pd.DataFrame
    trend: pd.DataFrame
    themes: pd.DataFrame
    quotes: pd.DataFrame
    subgroups: pd.DataFrame
    accounting: dict
    provenance: dict
    notes: list[str] = field(default_factory=list)

    TABLES = ("key_figures", "response", "response_by", "exclusions", "distributions", "nps", "change",
              "breakdowns", "aspects", "priority", "trend", "themes", "quotes", "subgroups")

    # -- convenient scalars for narrative and overview --------------------------------
    def figure(self, indicator: str) -> pd.Series | None:
        kf = self.key_figures
        hit = kf[kf["indicator"] == indicator]
        return None if hit.empty else hit.iloc[0]

    def suppressed(self, indicator: str) -> bool:
        """The key figure is suppressed (too few answers), not merely missing."""
        return is_suppressed(self.figure(indicator))

    def headline(self) -> dict:
        """The overview row (the published table's columns), as whole numbers or None."""
        sat, nps = self.figure("pct_satisfied"), self.figure("nps")
        resp = self.response.set_index("measure")["value"]
        return {
            "survey": self.survey,
            "type": self.short_title,
            "who": self.client_group,
            "year": self.year,
            "nps": None if nps is None else _int_or_none(nps["rounded"]),
            "nps_suppressed": is_suppressed(nps),
            "pct_satisfied": None if sat is None else _int_or_none(sat["rounded"]),
            "pct_satisfied_suppressed": is_suppressed(sat),
            "diff": None if sat is None else _int_or_none(sat["diff_rounded"]),
            "comparable": None if sat is None or pd.isna(sat["previous"]) else bool(sat["comparable"]),
            "previous_year": None if sat is None or pd.isna(sat["previous"]) else int(sat["previous_year"]),
            "first_measurement": self.first_measurement,
            "invited": _int_or_none(resp.get("invited")),
            "respondents": _int_or_none(resp.get("respondents")),
            "response_rate": None if pd.isna(resp.get("response_rate", np.nan)) else float(resp["response_rate"]),
        }

    @property
    def first_measurement(self) -> bool:
        """The survey's first edition (codebook `first_year`): nothing to compare with.
        Asked of the codebook, so results files written before the field answer too."""
        return self.codebook.first_year == self.year

    @cached_property
    def codebook(self) -> Codebook:
        """The survey's codebook, read once (the report asks it several times)."""
        return load_codebook(self.survey)

    @property
    def improvement_question(self) -> str | None:
        """The Dutch text of the open question coded in improvement themes, None when the
        survey had none that year (codebook `improvement`)."""
        book = self.codebook
        q = book.questions.get(book.improvement) if book.improvement else None
        return q.texts["nl"][0] if q is not None and q.asked_in(self.year) else None

    def to_dict(self) -> dict:
        out = {
            "schema": SCHEMA,
            "survey": self.survey, "year": self.year, "title": self.title,
            "short_title": self.short_title, "client_group": self.client_group,
            "cadence": self.cadence, "scale": self.scale, "threshold": self.threshold,
            "headline": self.headline(), "accounting": self.accounting,
            "provenance": self.provenance, "notes": self.notes,
        }
        for name in self.TABLES:
            out[name] = _records(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Results":
        """Rebuild from `to_dict()` output (the `_resultaten.json` file)."""
        if data.get("schema") != SCHEMA:
            raise AgiiError(f"a results file of schema {data.get('schema')!r}, not {SCHEMA}",
                            expected="results written by this version of agii: rebuild them with `agii run --force`")
        tables = {name: pd.DataFrame(data.get(name) or []) for name in cls.TABLES}
        return cls(
            survey=data["survey"], year=int(data["year"]), title=data["title"], short_title=data["short_title"],
            client_group=data["client_group"], cadence=data["cadence"], scale=data["scale"],
            threshold=int(data["threshold"]), accounting=data["accounting"], provenance=data["provenance"],
            notes=list(data.get("notes") or []), **tables,
        )

    @classmethod
    def from_json(cls, path: Path) -> "Results":
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except AgiiError as exc:
            raise AgiiError(exc.problem, file=path, expected=exc.expected) from None

    def to_json(self, path: Path | None = None) -> str:
        text = json.dumps(_clean(self.to_dict()), ensure_ascii=False, indent=1, allow_nan=False)
        if path is not None:  # atomically: a parallel run reads it as soon as it exists
            atomic_write_text(path, text)
        return text


def sort_for_overview(results: list["Results"]) -> list["Results"]:
    """Published-table order; survey types it does not know follow, by name."""
    rank = {s: i for i, s in enumerate(OVERVIEW_ORDER)}
    return sorted(results, key=lambda r: (rank.get(r.survey, len(rank)), r.survey))


def is_suppressed(row) -> bool:
    """A table row flagged `suppressed` (results files without the flag: not)."""
    if row is None:
        return False
    flag = row.get("suppressed", False)
    return bool(flag) and not pd.isna(flag)


def _int_or_none(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return int(v)


def _records(df: pd.DataFrame) -> list[dict]:
    return [
        {k: _scalar(v) for k, v in row.items()} for row in df.to_dict(orient="records")
    ]


def _scalar(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, dt.date)):
        return v.isoformat()
    return v


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _scalar(obj)


# ------------------------------------------------------------------ building blocks

def wide(h: Harmonised | pd.DataFrame, question: str, item: str = "") -> pd.Series:
    """Codes of one question (or matrix item) per used respondent (NaN = not answered)."""
    responses = h.responses if isinstance(h, Harmonised) else h
    sel = responses[(responses["question"] == question) & (responses["item"] == item) & responses["code"].notna()]
    return sel.set_index(["source", "respondent_id"])["code"]


def _respondent_index(h: Harmonised) -> pd.MultiIndex:
    u = h.used
    return pd.MultiIndex.from_arrays([u["source"], u["respondent_id"]])


def satisfaction(codes: pd.Series, codebook: Codebook, year: int, N: int | None = None) -> stats.Proportion:
    """Top-2 box among answers on a scale point (Geen mening / NvT / missing excluded)."""
    scale = codebook.scale(year)
    on_scale = codes[codes.isin(scale.codes)]
    return stats.proportion(int(on_scale.isin(scale.top2).sum()), int(len(on_scale)), N)


def nps_of(codes: pd.Series, codebook: Codebook, N: int | None = None) -> stats.Nps:
    bands = codebook.nps_bands
    valid = codes[codes.between(bands["min"], bands["max"])]
    return stats.nps(int(valid.isin(bands["promoters"]).sum()), int(valid.isin(bands["passives"]).sum()),
                     int(valid.isin(bands["detractors"]).sum()), N)


def _fpc_N(N: int | None, n: int) -> int | None:
    """Invited count usable for the finite-population correction (never below n)."""
    return N if N is not None and N >= n else None


def _figure_row(indicator, label, est, kind, unit="%"):
    if kind == "prop":
        return {"indicator": indicator, "label": label, "unit": unit, "n": est.n, "k": est.k,
                "estimate": 100 * est.p, "lo": 100 * est.lo, "hi": 100 * est.hi, "se": 100 * est.se,
                "rounded": np.nan if est.n == 0 else stats.percent(est.p)}
    return {"indicator": indicator, "label": label, "unit": "punten", "n": est.n, "k": est.promoters,
            "estimate": est.score, "lo": est.lo, "hi": est.hi, "se": est.se,
            "rounded": np.nan if est.n == 0 else stats.nps_points(est)}


# ------------------------------------------------------------------ previous year

@dataclass
class _Previous:
    year: int
    sat: stats.Proportion | None
    nps: stats.Nps | None
    pct_published: float | None
    nps_published: float | None
    scale: str
    source: str
    threshold: int = 0  # raw figures only: the larger of last year's and this year's threshold


def _previous_params(params: Params) -> Params | None:
    """Last year's params file beside this one (params/<year-1>/<survey>.yaml), if any."""
    prev_path = params_path(params.survey, params.year - 1, params.path.parent.parent)
    return load_params(prev_path) if prev_path.exists() else None


def _mixes_demo(params: Params, pp: Params | None) -> bool:
    """Real answers are never compared with invented (demo) ones, nor the other way round."""
    return pp is not None and pp.demo != params.demo


def _previous(params: Params, codebook: Codebook) -> _Previous | None:
    pp = _previous_params(params)
    h = prepare(pp) if pp is not None and not _mixes_demo(params, pp) else None
    if h is not None and len(h.used) >= pp.suppression_threshold:  # a year too small for a report: not here either
        head = wide(h, codebook.headline)
        sat = satisfaction(head, codebook, pp.year, _fpc_N(pp.invited, len(h.used)))
        nps = nps_of(wide(h, codebook.nps), codebook, _fpc_N(pp.invited, len(h.used))) if codebook.nps else None
        return _Previous(pp.year, sat, nps, None, None, codebook.scale_name(pp.year),
                         f"berekend uit de ruwe gegevens van {pp.year} ({pp.path.name})",
                         max(pp.suppression_threshold, params.suppression_threshold))
    if params.previous is not None:
        p = params.previous
        scale = p.scale or _safe_scale(codebook, p.year)
        return _Previous(p.year, None, None, p.pct_satisfied, p.nps, scale, f"gepubliceerd cijfer: {p.source}")
    return None


def _safe_scale(codebook: Codebook, year: int) -> str:
    try:
        return codebook.scale_name(year)
    except Exception:
        return "?"


def _change_row(indicator, label, cur, prev_est, prev_published, prev: _Previous, comparable, kind):
    row = {"indicator": indicator, "label": label, "previous_year": prev.year, "source": prev.source,
           "comparable": comparable}
    if kind == "prop":
        current = 100 * cur.p
        cur_r = stats.percent(cur.p) if cur.n else np.nan
    else:
        current = cur.score
        cur_r = stats.nps_points(cur) if cur.n else np.nan
    if prev_est is not None and not _shown(prev_est.n, prev.threshold):
        return None  # last year's figure has no answers, or too few to show
    if prev_est is not None:
        ch = stats.change_proportion(cur, prev_est, comparable) if kind == "prop" else stats.change_nps(cur, prev_est, comparable)
        previous = 100 * prev_est.p if kind == "prop" else prev_est.score
        prev_r = (stats.percent(prev_est.p) if kind == "prop" else stats.nps_points(prev_est)) if prev_est.n else np.nan
        row.update(previous=previous, previous_rounded=prev_r, diff=ch.diff, se=ch.se, z=ch.z,
                   p_value=ch.p_value, significant=bool(ch.significant), from_raw=True)
    elif prev_published is not None:
        row.update(previous=float(prev_published), previous_rounded=float(stats.round_half_up(prev_published)),
                   diff=current - prev_published, se=np.nan, z=np.nan, p_value=np.nan, significant=None,
                   from_raw=False)
    else:
        return None
    row["current"] = current
    row["diff_rounded"] = (cur_r - row["previous_rounded"]) if not (pd.isna(cur_r) or pd.isna(row["previous_rounded"])) else np.nan
    return row


# ------------------------------------------------------------------ suppression

FIGURE_VALUES = ("n", "k", "estimate", "lo", "hi", "se", "rounded")
NPS_GROUP_VALUES = ("n_nps", "nps", "nps_lo", "nps_hi", "nps_rounded")


def _small(n, threshold: int) -> bool:
    """A figure resting on some answers, but fewer than the threshold: not shown.
    (No answers at all is 'not available', not suppressed.)"""
    return not pd.isna(n) and 0 < n < threshold


def _shown(n, threshold: int) -> bool:
    """A figure with answers, not suppressed: one that can be compared with last year."""
    return not pd.isna(n) and n > 0 and not _small(n, threshold)


def _hide_if_small(row: dict, n, threshold: int, values) -> dict:
    """Flag a figure's row `suppressed` and empty its `values` when its base `n` is small."""
    row["suppressed"] = _small(n, threshold)
    if row["suppressed"]:
        row.update(dict.fromkeys(values, np.nan))
    return row


def suppress(n: pd.Series, threshold: int, base: pd.Series | None = None, complement: bool = True) -> pd.Series:
    """Which groups to hide: n (or the figure's own base) below the threshold, plus a complementary one.

    A group is hidden when its respondents `n`, or the answers `base` its figure rests
    on, number fewer than the threshold. When exactly one group is hidden, the total
    minus the shown groups would reveal it, so the next-smallest group is hidden too
    (secondary suppression). Groups with n == 0 are not shown at all and do not count.
    """
    n = n.astype(float)
    small = n < threshold
    if base is not None:
        small |= base.astype(float).to_numpy() < threshold
    return _complement((n > 0) & small, n) if complement else (n > 0) & small


def _complement(hidden: pd.Series, counts: pd.Series) -> pd.Series:
    """Secondary suppression: when exactly one group with answers is hidden, the total
    minus the shown groups reveals it, so the next-smallest shown group is hidden too."""
    hidden = hidden.copy()
    counts = counts.astype(float)
    if int((hidden & (counts.fillna(0) > 0)).sum()) == 1:
        rest = counts[(~hidden) & (counts > 0)]
        if len(rest):
            hidden[rest.idxmin()] = True
    return hidden


_FLAGS = (("suppressed", "n"), ("nps_suppressed", "n_nps"))  # a group table's flags and the counts they rest on


def _complete(df: pd.DataFrame, flags=_FLAGS) -> bool:
    """Apply the complements of a group table's flags (in place); whether any flag changed."""
    changed = False
    for flag, count in flags:
        if flag in df.columns:
            again = _complement(df[flag], df[count])
            changed |= bool((again != df[flag]).any())
            df[flag] = again
    return changed


def _group_figures(groups: pd.Series, head: pd.Series, npsc: pd.Series | None, codebook, year, threshold,
                   order: list, labels: dict) -> pd.DataFrame:
    """The headline figures per group, the hidden ones emptied (see `_group_rows`)."""
    df = _group_rows(groups, head, npsc, codebook, year, threshold, order, labels)
    return df if df.empty else _empty_hidden(df)


def _group_rows(groups: pd.Series, head: pd.Series, npsc: pd.Series | None, codebook, year, threshold,
                order: list, labels: dict, complement: bool = True) -> pd.DataFrame:
    """Figures per group with their flags, values still in place: `suppressed` (the
    group's count and % (heel) tevreden: too few respondents or scale answers),
    `nps_suppressed` (its NPS: too few respondents or NPS answers; a group with
    plenty of NPS answers keeps its NPS when only its scale answers are few); with
    `complement=False` only the small groups themselves (the trend nests them first)."""
    rows = []
    for code in order:
        members = groups.index[groups == code]
        sat = satisfaction(head.reindex(members).dropna(), codebook, year)
        row = {"group_code": code, "group": labels.get(code, str(code)), "n": int(len(members)),
               "n_satisfaction": sat.n, "pct_satisfied": 100 * sat.p, "lo": 100 * sat.lo, "hi": 100 * sat.hi,
               "pct_rounded": np.nan if sat.n == 0 else stats.percent(sat.p)}
        if npsc is not None:
            e = nps_of(npsc.reindex(members).dropna(), codebook)
            row.update(n_nps=e.n, nps=e.score, nps_lo=e.lo, nps_hi=e.hi,
                       nps_rounded=np.nan if e.n == 0 else stats.nps_points(e))
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["suppressed"] = suppress(df["n"], threshold, base=df["n_satisfaction"], complement=False)
    if "n_nps" in df.columns:
        n, n_nps = df["n"].astype(float), df["n_nps"].astype(float)
        df["nps_suppressed"] = ((n > 0) & (n < threshold)) | ((n_nps > 0) & (n_nps < threshold))
    if complement:
        _complete(df)
    return df


def _empty_hidden(df: pd.DataFrame) -> pd.DataFrame:
    """Empty the values of the hidden groups (and NPS); groups without respondents go."""
    df = df.copy()
    nps_own = NPS_GROUP_VALUES if "nps_suppressed" in df.columns else ()  # the NPS follows its own flag
    if nps_own:
        df.loc[df["nps_suppressed"], list(nps_own)] = np.nan
    value_cols = [c for c in df.columns if c not in ("group_code", "group", "suppressed", "nps_suppressed", *nps_own)]
    df.loc[df["suppressed"], value_cols] = np.nan
    return df[df["n"].fillna(1) > 0].reset_index(drop=True)


def _nest(quarters: pd.DataFrame, months: pd.DataFrame) -> None:
    """Suppression across the two period types (in place): a hidden month must not follow
    from its shown quarter minus the quarter's other months, nor a hidden quarter from
    its shown months. Hide one more month of the quarter (or the quarter itself) and
    redo the complements within quarters and months until nothing changes."""
    for flag, count in _FLAGS:
        if flag not in months.columns or flag not in quarters.columns:
            continue
        changed = True
        while changed:
            changed = False
            for qi, quarter in quarters.iterrows():
                q = int(quarter["group_code"])
                inq = months["group_code"].astype(int).between(3 * q - 2, 3 * q) & (months[count] > 0)
                hidden = months[flag] & inq
                shown = months.loc[inq & ~months[flag], count]
                if not quarter[flag] and hidden.sum() == 1:  # quarter - shown months = the hidden month
                    if len(shown):
                        months.loc[shown.idxmin(), flag] = True
                    else:
                        quarters.loc[qi, flag] = True
                    changed = True
                elif quarter[flag] and quarter[count] > 0 and not hidden.any() and len(shown):  # sum of its months
                    months.loc[shown.idxmin(), flag] = True
                    changed = True
            changed |= _complete(quarters, [(flag, count)])
            changed |= _complete(months, [(flag, count)])


# ------------------------------------------------------------------ compute

def compute(params: Params | str | Path, harmonised: Harmonised | None = None) -> Results:
    """All figures of one survey-year (see module docstring)."""
    if not isinstance(params, Params):
        params = load_params(params)
    started = dt.datetime.now()
    codebook = load_codebook(params.survey)
    h = harmonised or prepare(params)
    year, threshold = params.year, params.suppression_threshold
    used = h.used
    n_used = len(used)
    _check_inputs(params, codebook, h)
    N = _fpc_N(params.invited, n_used)
    head = wide(h, codebook.headline)
    npsc = wide(h, codebook.nps) if codebook.nps else None
    scale = codebook.scale(year)

    # key figures
    sat = satisfaction(head, codebook, year, N)
    kf = [_figure_row("pct_satisfied", "% (heel) tevreden", sat, "prop")]
    nps_est = nps_of(npsc, codebook, N) if npsc is not None else None
    if nps_est is not None:
        kf.append(_figure_row("nps", "Net Promoter Score", nps_est, "nps"))
        kf.append(_figure_row("pct_detractors", "% criticasten (0-6)",
                              stats.proportion(nps_est.detractors, nps_est.n, N), "prop"))
        kf.append(_figure_row("pct_promoters", "% promotors (9-10)",
                              stats.proportion(nps_est.promoters, nps_est.n, N), "prop"))
    for row in kf:  # the whole survey's figures, on fewer answers than the threshold
        _hide_if_small(row, row["n"], threshold, FIGURE_VALUES)
    subgroup_rows = []
    for name, spec in codebook.subgroups.items():
        g = wide(h, spec["question"])
        members = g.index[g.isin(spec["codes"])]
        est = satisfaction(head.reindex(members).dropna(), codebook, year)
        row = _figure_row(f"pct_satisfied_{name}", f"% (heel) tevreden: {spec['label']}", est, "prop")
        row["subgroup"] = name
        subgroup_rows.append(_hide_if_small(row, est.n, threshold, FIGURE_VALUES))
    key_figures = pd.DataFrame(kf + [{k: v for k, v in r.items() if k != "subgroup"} for r in subgroup_rows
                                     if r["n"] > 0])  # shown ones: a subgroup without answers is not a figure
    subgroups = pd.DataFrame(subgroup_rows, columns=["indicator", "label", "unit", "n", "k", "estimate", "lo", "hi", "se", "rounded", "subgroup", "suppressed"])

    # change on last year
    prev = _previous(params, codebook)
    change_rows = []
    if prev is not None:
        comparable = prev.scale == codebook.scale_name(year)
        r = (_change_row("pct_satisfied", "% (heel) tevreden", sat, prev.sat, prev.pct_published, prev, comparable,
                         "prop") if _shown(sat.n, threshold) else None)
        if r:
            change_rows.append(r)
        if nps_est is not None and _shown(nps_est.n, threshold):
            r = _change_row("nps", "Net Promoter Score", nps_est, prev.nps, prev.nps_published, prev, True, "nps")
            if r:
                change_rows.append(r)
    change = pd.DataFrame(change_rows, columns=["indicator", "label", "current", "previous_year", "previous",
                                                "previous_rounded", "diff", "diff_rounded", "se", "z", "p_value",
                                                "significant", "comparable", "from_raw", "source"])
    for col in ("previous", "previous_year", "diff", "diff_rounded", "comparable", "p_value", "significant", "source"):
        key_figures[col] = np.nan if col not in ("comparable", "significant", "source") else None
    for _, c in change.iterrows():
        m = key_figures["indicator"] == c["indicator"]
        for col in ("previous", "previous_year", "diff", "diff_rounded", "p_value"):
            key_figures.loc[m, col] = c[col]
        key_figures.loc[m, "comparable"] = bool(c["comparable"])
        key_figures.loc[m, "significant"] = None if c["significant"] is None else bool(c["significant"])
        key_figures.loc[m, "source"] = c["source"]
    notes = []
    if any(not c for c in change["comparable"]):
        notes.append(f"{prev.year} gebruikte schaal {prev.scale}, {year} schaal {codebook.scale_name(year)}. "
                     + SCALE_BREAK_CAVEAT)

    # response
    acc = h.accounting
    response = pd.DataFrame([
        {"measure": "invited", "label": "Aangeschreven", "value": params.invited},
        {"measure": "read", "label": "Rijen gelezen uit de exports", "value": acc["read"]},
        {"measure": "respondents", "label": "Respondenten (gebruikt)", "value": acc["used"]},
        {"measure": "excluded", "label": "Rijen uitgesloten", "value": sum(acc["excluded"].values())},
        {"measure": "complete", "label": "Volledige antwoorden", "value": acc["complete"]},
        {"measure": "partial", "label": "Gedeeltelijke antwoorden", "value": acc["partial"]},
        {"measure": "response_rate", "label": "Responsgraad",
         "value": (acc["used"] / params.invited) if params.invited else np.nan},
        {"measure": "response_rate_complete", "label": "Responsgraad (volledig)",
         "value": (acc["complete"] / params.invited) if params.invited else np.nan},
    ])
    by_rows = []
    for dim, col, names in (("language", "language", LANGUAGE_NAMES), ("collector", "collector_id", {})):
        counts = used.groupby(col).agg(respondents=("complete", "size"), complete=("complete", "sum"))
        for key, r in counts.iterrows():
            invited = params.invited_by.get(str(key))
            by_rows.append({"dimension": dim, "group_code": str(key), "group": names.get(key, str(key) or "-"),
                            "respondents": int(r["respondents"]), "complete": int(r["complete"]),
                            "partial": int(r["respondents"] - r["complete"]), "invited": invited,
                            "response_rate": (r["respondents"] / invited) if invited else np.nan})
    response_by = pd.DataFrame(by_rows, columns=["dimension", "group_code", "group", "respondents", "complete",
                                                 "partial", "invited", "response_rate"])
    if len(response_by):
        for dim in response_by["dimension"].unique():
            m = response_by["dimension"] == dim
            hidden = suppress(response_by.loc[m, "respondents"], threshold)
            response_by.loc[m, "suppressed"] = hidden.to_numpy()
        response_by["suppressed"] = response_by["suppressed"].astype(bool)
        response_by.loc[response_by["suppressed"], ["respondents", "complete", "partial", "response_rate"]] = np.nan
    exclusions = pd.DataFrame(
        [{"reason": k, "label": REASON_LABELS[k], "count": v} for k, v in acc["excluded"].items()]
    )

    # distributions of every closed question
    distributions = _distributions(h, codebook, year, n_used, threshold)

    # NPS components
    nps_table = pd.DataFrame(columns=["component", "label", "count", "share", "lo", "hi"])
    if nps_est is not None:
        rows = []
        for comp, label, k in (("promoters", "Promotors (9-10)", nps_est.promoters),
                               ("passives", "Passieven (7-8)", nps_est.passives),
                               ("detractors", "Criticasten (0-6)", nps_est.detractors)):
            e = stats.proportion(k, nps_est.n, N)
            rows.append({"component": comp, "label": label, "count": k, "share": e.p, "lo": e.lo, "hi": e.hi})
        rows.append({"component": "score", "label": "NPS", "count": nps_est.n, "share": nps_est.score,
                     "lo": nps_est.lo, "hi": nps_est.hi})
        for row in rows:
            _hide_if_small(row, nps_est.n, threshold, ("count", "share", "lo", "hi"))
        nps_table = pd.DataFrame(rows)

    # breakdowns
    bd_parts = []
    dims = [(q, codebook.questions[q].label, wide(h, q),
             [o.code for o in codebook.questions[q].options], {o.code: o.nl for o in codebook.questions[q].options})
            for q in codebook.breakdowns if codebook.questions[q].asked_in(year)]
    if len(codebook.languages) > 1:
        lang = pd.Series(used["language"].to_numpy(), index=_respondent_index(h))
        dims.append((LANGUAGE_BREAKDOWN, "Taal van de vragenlijst", lang, list(LANGUAGE_NAMES), LANGUAGE_NAMES))
    for qid, qlabel, groups, order, labels in dims:
        df = _group_figures(groups, head, npsc, codebook, year, threshold, order, labels)
        if df.empty:
            continue
        df.insert(0, "question_label", qlabel)
        df.insert(0, "question", qid)
        bd_parts.append(df)
    breakdowns = pd.concat(bd_parts, ignore_index=True) if bd_parts else pd.DataFrame()
    distributions = _hide_as_breakdowns(distributions, breakdowns)

    aspects, priority = _aspects(h, codebook, year, head, N, threshold)
    trend = _trend(h, head, npsc, codebook, year, threshold) if codebook.cadence == "continuous" else pd.DataFrame()
    themes, quotes = _themes(h, params, codebook, threshold)

    provenance = {
        "inputs": [{"file": name, "sha256": sha}
                   for name, sha in (h.inputs or hashes_by_name(input_hashes(params))).items()],
        "params": params.to_dict(),
        "codebook": codebook.path.name,
        "versions": _versions(),
        "computed_at": started.isoformat(timespec="seconds"),
        "latest_end": None if used["end"].dropna().empty else pd.Timestamp(used["end"].max()).date().isoformat(),
        "demo": params.demo,
        "warnings": list(h.warnings) + _unmatched_invited_by(params, used)  # English, as agii validate
                    + _setup_warnings(params, codebook, prev),
    }
    return Results(
        survey=params.survey, year=year, title=codebook.title, short_title=codebook.short_title,
        client_group=codebook.client_group, cadence=codebook.cadence, scale=scale.name, threshold=threshold,
        key_figures=key_figures, response=response, response_by=response_by, exclusions=exclusions,
        distributions=distributions, nps=nps_table, change=change, breakdowns=breakdowns,
        aspects=aspects, priority=priority, trend=trend, themes=themes, quotes=quotes, subgroups=subgroups,
        accounting=acc, provenance=provenance, notes=notes,
    )


def _check_inputs(params: Params, codebook: Codebook, h: Harmonised) -> None:
    """What the params file and the exports contradict each other on: stop with the key."""
    from .harmonise import key_questions_missing

    where = _rel(params.path)
    for problem in key_questions_missing(codebook, params.year, h.files):
        raise AgiiError(f"inputs: {problem}", file=where,
                        expected="an export with that question, or its changed text added to the codebook")
    used = h.used
    n_used = len(used)
    if n_used < params.suppression_threshold:  # too few to report on without showing individuals
        acc = h.accounting
        excluded = ", ".join(f"{k} {v}" for k, v in acc["excluded"].items() if v)
        read = f"{acc['read']} read" + (f"; excluded: {excluded}" if excluded else "")
        start, end = params.report_period
        if not n_used:
            raise AgiiError(f"no respondent to report on ({read})", file=where,
                            expected=f"responses of the report period {start} – {end} in the inputs")
        raise AgiiError(
            f"only {n_used} respondent(s) to report on ({read}), fewer than suppression_threshold "
            f"{params.suppression_threshold}: every figure would show the answers of a few people",
            file=where, expected=f"at least {params.suppression_threshold} respondents used in {start} – {end}",
        )
    if params.invited is not None and params.invited < n_used:
        raise AgiiError(
            f"invited: {params.invited} invited is fewer than the {n_used} respondents used",
            file=where, expected=f"invited >= {n_used}: everyone who received the survey",
        )
    for key, invited in params.invited_by.items():
        n = int(((used["collector_id"].astype(str) == key) | (used["language"].astype(str) == key)).sum())
        if invited < n:
            raise AgiiError(
                f"invited_by.{key}: {invited} invited is fewer than the {n} respondents used "
                f"with collector id or language {key}",
                file=where, expected=f"invited_by.{key} >= {n}",
            )


def _setup_warnings(params: Params, codebook: Codebook, prev: "_Previous | None") -> list[str]:
    """What a researcher left unfinished: a draft codebook's TODOs, published figures of
    last year that are not used because its raw data is there."""
    out = [f"codebook {codebook.path.name}: {key} is still {value!r} (a draft)"
           for key, value in (("title", codebook.title), ("short_title", codebook.short_title),
                              ("client_group", codebook.client_group)) if "TODO" in value]
    if params.previous is not None and prev is not None and prev.sat is not None:
        out.append(f"previous (published {params.previous.year} figures) is not used: {prev.year}'s raw data is "
                   "there, and it is compared with instead")
    pp = _previous_params(params)
    if _mixes_demo(params, pp):
        kinds = ("demo data (invented answers)", "real data")
        first, second = kinds if pp.demo else kinds[::-1]
        out.append(f"{pp.year}'s params file ({_rel(pp.path)}) holds {first} and this year's {second}: no change on "
                   f"last year is computed from it" + ("" if params.previous is not None else
                                                        "; give last year's published figures as previous: in "
                                                        f"{params.path.name}"))
    elif (prev is None and pp is None and not params.demo and codebook.first_year != params.year
          and params.year - 1 >= min(codebook.scale_by_year)):  # a real year, with nothing to compare with
        out.append(f"no change on last year: there is no {params.year - 1}/{params.path.name} beside "
                   f"{params.year}/ in {_rel(params.path.parent.parent)} and no previous: in {params.path.name} "
                   "(give last year's published figures there, or first_year in the codebook if this is its first "
                   "edition); the report says there is no comparison")
    if params.demo and params.inputs and not any(is_demo_export(i.file) for i in params.inputs):
        out.append(f"{params.path.name} says demo: true, but no input is a demo export under data/raw/demo/: the "
                   "report calls its answers invented; remove demo: true for real data")
    return out


def _unmatched_invited_by(params: Params, used: pd.DataFrame) -> list[str]:
    """invited_by keys that no respondent has (a typo, or a collector nobody answered)."""
    present = set(used["collector_id"].astype(str)) | set(used["language"].astype(str))
    return [f"invited_by.{key} ({params.path.name}) matches no collector id or language of the respondents used: "
            "it is left out of the response by group" for key in params.invited_by if key not in present]


def _distributions(h: Harmonised, codebook: Codebook, year: int, n_used: int, threshold: int) -> pd.DataFrame:
    """Counts and shares per answer of every closed question (and matrix item); the
    answers of a question (item) with fewer answers than the threshold are not shown,
    only how many did not answer it. The options of a choice question are groups: one
    chosen by fewer than the threshold is not shown either, nor, for a single choice,
    the complementary one that would reveal it; a breakdown question's options are
    hidden later, as its breakdown hides them (_hide_as_breakdowns)."""
    rows = []
    r = h.responses
    for q in codebook.questions_in(year):
        if q.type == "open":
            continue
        items = list(q.items) if q.type == "matrix" else [""]
        for item in items:
            codes = r.loc[(r["question"] == q.id) & (r["item"] == item) & r["code"].notna(), "code"] if q.type != "multi" else None
            if q.type == "multi":
                sel = r[(r["question"] == q.id)]
                answered = sel["respondent_id"].nunique()
                rows.extend(_hide_small_groups(
                    [_dist_row(q, item, o.code, o.nl, "choice", int((sel["item"] == str(o.code)).sum()), answered,
                               threshold) for o in q.options], threshold, complement=False))
                continue
            if q.type == "nps":
                options = [(s, str(s), "score") for s in range(codebook.nps_bands["min"], codebook.nps_bands["max"] + 1)]
                base = len(codes)
            else:
                opts = codebook.answer_options(q, year)
                options = [(o.code, o.nl, "scale" if o.kind == "scale" else o.kind if o.kind != "choice" else "choice")
                           for o in opts]
                base = int(codes.isin([o.code for o in opts if o.kind in ("scale", "choice")]).sum())
            counts = codes.value_counts()
            answers = []
            for code, label, kind in options:
                k = int(counts.get(float(code), 0))
                denom = base if kind in ("scale", "choice", "score") else n_used
                answers.append(_dist_row(q, item, code, label, kind, k, denom, threshold))
            # a breakdown question's options are hidden as its breakdown hides them (_hide_as_breakdowns)
            hide_here = q.type == "single" and q.id not in codebook.breakdowns
            rows.extend(_hide_small_groups(answers, threshold) if hide_here else answers)
            missing = n_used - len(codes)
            rows.append(_dist_row(q, item, None, "Niet beantwoord", "missing", missing, n_used, 0))
    return pd.DataFrame(rows)


def _dist_row(q, item, code, label, kind, k, denom, threshold):
    row = {"question": q.id, "question_label": q.label, "item": item,
           "item_label": q.item_label(item) if item and q.type == "matrix" else "",
           "code": code, "label": label, "kind": kind, "count": k,
           "share": (k / denom) if denom else np.nan,
           "base": {"scale": "antwoorden op de schaal", "choice": "antwoorden op de vraag",
                    "score": "antwoorden op de vraag"}.get(kind, "alle respondenten")}
    return _hide_if_small(row, denom, threshold, ("count", "share"))


def _hide_as_breakdowns(distributions: pd.DataFrame, breakdowns: pd.DataFrame) -> pd.DataFrame:
    """A breakdown question's options hidden exactly as its breakdown hides its groups.

    The breakdown also hides a group with few scale answers, so on counts alone the two
    tables could pick different complementary groups, and then the counts shown in one
    reveal a group hidden in both (the total minus the others)."""
    if distributions.empty or breakdowns.empty:
        return distributions
    out = distributions.copy()
    for qid, groups in breakdowns.groupby("question", sort=False):
        hidden = {float(c) for c in groups.loc[groups["suppressed"].astype(bool), "group_code"]
                  if isinstance(c, (int, float, np.integer, np.floating))}
        rows = (out["question"] == qid) & (out["kind"] == "choice")
        if not rows.any():
            continue  # the language of the questionnaire: no question, no distribution
        hide = rows & out["code"].map(lambda c: c is not None and not pd.isna(c) and float(c) in hidden)
        hide &= ~out["suppressed"].astype(bool)  # (a question answered by too few is hidden whole already)
        out.loc[hide, "suppressed"] = True
        out.loc[hide, ["count", "share"]] = np.nan
    return out


def _hide_small_groups(rows: list[dict], threshold: int, complement: bool = True) -> list[dict]:
    """The rows of a choice question's options with their groups' suppression applied."""
    counts = pd.Series([0 if row["suppressed"] else row["count"] for row in rows], dtype=float)
    hidden = suppress(counts, threshold, complement=complement)
    for row, hide in zip(rows, hidden):
        if hide and not row["suppressed"]:
            row.update(suppressed=True, count=np.nan, share=np.nan)
    return rows


ASPECT_VALUES = ("n", "k", "pct_satisfied", "lo", "hi", "pct_rounded", "importance",
                 "n_answered", "n_no_opinion", "n_not_applicable", "share_not_applicable")


def _aspects(h, codebook, year, head, N, threshold):
    """Per matrix item: % (heel) tevreden and importance. An aspect rated on the scale by
    fewer than the threshold is hidden whole (`suppressed`); an importance on fewer
    pairs than the threshold on its own (`importance_suppressed`)."""
    rows, prio = [], []
    scale = codebook.scale(year)
    nat = codebook.special[NOT_APPLICABLE].code
    nop = codebook.special[NO_OPINION].code
    for q in codebook.questions_in(year):
        if q.type != "matrix":
            continue
        for item in q.items:
            codes = wide(h, q.id, item)
            est = satisfaction(codes, codebook, year)
            answered = len(codes)
            on_scale = codes[codes.isin(scale.codes)]
            joined = pd.concat([on_scale.rename("a"), head[head.isin(scale.codes)].rename("t")], axis=1, join="inner")
            rho = stats.spearman(joined["a"], joined["t"])
            row = {"question": q.id, "item": item, "label": q.item_label(item), "n": est.n, "k": est.k,
                   "pct_satisfied": 100 * est.p, "lo": 100 * est.lo, "hi": 100 * est.hi,
                   "pct_rounded": np.nan if est.n == 0 else stats.percent(est.p),
                   "n_answered": answered, "n_no_opinion": int((codes == nop).sum()),
                   "n_not_applicable": int((codes == nat).sum()),
                   "share_not_applicable": (codes == nat).mean() if answered else np.nan,
                   "importance": rho, "n_pairs": len(joined)}
            _hide_if_small(row, est.n, threshold, ASPECT_VALUES)
            row["importance_suppressed"] = row["suppressed"] or _small(len(joined), threshold)
            if row["importance_suppressed"]:
                row["importance"] = row["n_pairs"] = np.nan
            rows.append(row)
    aspects = pd.DataFrame(rows)
    if aspects.empty:
        return aspects, pd.DataFrame()
    aspects = aspects.sort_values(["question", "pct_satisfied"], ascending=[True, False], kind="stable",
                                  na_position="last").reset_index(drop=True)
    shown = aspects["pct_satisfied"].notna()  # ranked: the aspects with a figure
    aspects["rank"] = np.nan
    aspects.loc[shown, "rank"] = aspects[shown].groupby("question").cumcount() + 1
    prio = aspects[["question", "item", "label", "importance", "pct_satisfied", "n_pairs", "suppressed",
                    "importance_suppressed"]].rename(columns={"pct_satisfied": "performance"}).copy()
    valid = prio.dropna(subset=["importance", "performance"])
    imp_mid, perf_mid = valid["importance"].median(), valid["performance"].median()
    prio["importance_median"], prio["performance_median"] = imp_mid, perf_mid
    prio["quadrant"] = [
        QUADRANTS[(i >= imp_mid, p >= perf_mid)] if not (pd.isna(i) or pd.isna(p)) else None
        for i, p in zip(prio["importance"], prio["performance"])
    ]
    return aspects, prio.reset_index(drop=True)


def _trend(h, head, npsc, codebook, year, threshold):
    used = h.used
    when = pd.Series(pd.to_datetime(used["end"].fillna(used["start"])).to_numpy(), index=_respondent_index(h))
    frames = {}
    for period, keyf, labelf, order in (
        ("quarter", lambda d: d.dt.quarter, lambda k: f"K{k}", range(1, 5)),
        ("month", lambda d: d.dt.month, lambda k: MONTHS_NL[k - 1], range(1, 13)),
    ):
        groups = keyf(when.dropna()).astype(int)
        df = _group_rows(groups, head, npsc, codebook, year, threshold, list(order), {k: labelf(k) for k in order},
                         complement=False)
        if not df.empty:
            frames[period] = df
    if len(frames) == 2:
        _nest(frames["quarter"], frames["month"])
    else:  # one period type: its complements only
        for df in frames.values():
            _complete(df)
    parts = []
    for period, df in frames.items():
        df = _empty_hidden(df)
        df.insert(0, "period_type", period)
        parts.append(df.rename(columns={"group_code": "period", "group": "period_label"}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _themes(h, params: Params, codebook: Codebook, threshold: int):
    from .themes import THEME_COLUMNS, code_answers, load_themes, select_quotes, theme_table

    r = h.responses
    answers = r[(r["question"] == codebook.improvement) & r["text"].notna()] if codebook.improvement else r.iloc[:0]
    if answers.empty:
        return pd.DataFrame(columns=THEME_COLUMNS), pd.DataFrame(columns=["theme", "quote"])
    book = load_themes()
    texts = answers["text"].astype(str).reset_index(drop=True)
    langs = answers["language"].astype(str).reset_index(drop=True)
    coded = code_answers(texts, langs, book, survey=params.survey)
    table = theme_table(coded, len(texts), None, book)
    quotes = pd.DataFrame(columns=["theme", "quote"])
    hidden = _small(len(texts), threshold)  # fewer open answers than the threshold
    table["suppressed"] = hidden
    if hidden:  # nor quotes: they come from that small group
        table[["n", "base", "share", "lo", "hi"]] = np.nan
        place = {t: i for i, t in enumerate(coded.columns)}  # the theme file's order, "ongecodeerd" last:
        table = table.sort_values("theme", key=lambda t: t.map(place).fillna(len(place)), kind="stable")
        return table.reset_index(drop=True), quotes  # the order by count would tell which themes came up
    if params.quotes and params.max_quotes:
        picks = []
        for theme in table["theme"]:
            if theme in coded.columns:
                for q in select_quotes(texts, coded, theme, params.max_quotes, seed=params.year):
                    picks.append({"theme": theme, "quote": q})
        quotes = pd.DataFrame(picks, columns=["theme", "quote"])
    return table, quotes


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "agii_analysis": __version__}
    for pkg in ("pandas", "numpy", "pyarrow", "matplotlib", "openpyxl", "papermill", "nbconvert", "weasyprint",
                "fastexcel", "python-calamine"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
