"""Look at an export without a codebook: the natural start for a new survey type.

Detects each question's type from its columns (the pair row 1 / row 2) and the
answers, and can draft a codebook YAML that a researcher then edits.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd
import yaml

from .codebook import load_common, normalise_text
from .harmonise import cells_are, is_other_column
from .reader import RawExport

_OPEN = {"open-ended response", "open antwoord"}
_RESPONSE = {"response", "antwoord"}


@dataclass
class DetectedQuestion:
    text: str
    type: str  # single | multi | matrix | nps | open | scale
    columns: list[str]
    options: list[str]
    items: list[str]
    answered: int


def _distinct(series_list) -> list[str]:
    seen = {}
    for s in series_list:
        for v in s.dropna().unique():
            seen.setdefault(str(v), None)
    return list(seen)


def detect_questions(export: RawExport) -> list[DetectedQuestion]:
    groups: dict[str, list] = {}
    for col in export.columns:
        groups.setdefault(col.question, []).append(col)
    out = []
    for text, cols in groups.items():
        # an "Other (please specify)" column is the question's free text (harmonise reads it
        # so): the question's type and options come from its other columns
        condensed = any(normalise_text(c.sub) in _RESPONSE for c in cols)
        cols = [c for c in cols if not (is_other_column(c.sub) and (
            condensed or export.cells[c.key].null_count == len(export.cells[c.key])
            or not cells_are(export.cells[c.key], normalise_text(c.sub))))] or cols
        series = [export.answers[c.key] for c in cols]
        answered = int(pd.concat(series, axis=1).notna().any(axis=1).sum())
        subs = [normalise_text(c.sub) for c in cols]
        values = _distinct(series)
        if len(cols) == 1 and subs[0] in _OPEN:
            qtype, options, items = "open", [], []
        elif len(cols) == 1 and subs[0] in _RESPONSE:
            nums = pd.to_numeric(pd.Series(values), errors="coerce")
            if len(values) and nums.notna().all() and nums.between(0, 10).all() and len(values) >= 6:
                qtype, options = "nps", []
            elif len(values) > 30:
                qtype, options = "open", []
            else:
                qtype, options = "single", values
            items = []
        else:
            # one column per label: multi-select / expanded single (cell == sub label) or matrix
            own_label = all(cells_are(export.cells[c.key], normalise_text(c.sub)) for c in cols)
            if own_label:
                per_row = pd.concat(series, axis=1).notna().sum(axis=1)
                qtype = "multi" if (per_row > 1).any() else "single"
                options, items = [c.sub for c in cols], []
            else:
                qtype, options, items = "matrix", values, [c.sub for c in cols]
        out.append(DetectedQuestion(text, qtype, [c.key for c in cols], options, items, answered))
    return out


def _slug(text: str, taken: set[str]) -> str:
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_.lower())
    base = "_".join(words[:3]) or "q"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def _scale_of(options: list[str], common: dict) -> tuple[str, str] | None:
    """(scale name, language) whose points, with 'Geen mening' and 'Niet van toepassing',
    hold every option of a question: the question is a satisfaction scale."""
    seen = {normalise_text(o) for o in options}
    best = None
    for name, scale in common["scales"].items():
        for lang in dict.fromkeys(lang for p in scale.points for lang in p.labels):
            points = {normalise_text(p.label(lang)) for p in scale.points}
            special = {normalise_text(o.label(lang)) for o in common["special"].values()}
            rank = (len(seen & points), len(points))  # a tie (no one chose Neutraal): the longer, current one
            if seen and seen <= points | special and rank[0] and (best is None or rank > best[0]):
                best = (rank, name, lang)
    return None if best is None else best[1:]


def _short_label(text: str, width: int = 40) -> str:
    """A first short label for tables and charts: the question text, cut after a whole
    word with "…" when longer (to be shortened by hand)."""
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return (cut or text[: width - 1]) + "…"


def _todo(text: str) -> str:
    return f"TODO: {text}"


def _export_year(export: RawExport) -> int | None:
    """The year most End Dates (else Start Dates) fall in."""
    when = export.meta["end"].fillna(export.meta["start"]).dropna()
    return int(when.dt.year.mode().iloc[0]) if len(when) else None


def draft_codebook(export: RawExport, survey: str = "nieuwe_bevraging", year: int | None = None,
                   language: str | None = None) -> str:
    """A first codebook YAML for an export: ids, types, texts and options to edit.

    Questions answered on a scale of `_common.yaml` (in any of its languages) become
    `scale` (or `matrix`) questions; the first of them is the headline, the first 0-10
    question the NPS. `year` (default: the year of most End Dates) starts `scale_by_year`;
    `language` (default: the language of the scale labels found, else nl) is the export's.
    """
    common = load_common()
    detected = detect_questions(export)
    scales = {id(q): _scale_of(q.options, common) for q in detected if q.type in ("single", "matrix")}
    on_scale = [o for q in detected if scales.get(id(q)) for o in q.options]
    found = _scale_of(on_scale, common)  # the scale all scale questions fit together
    language = language or (found[1] if found else "nl")
    year = year or _export_year(export) or dt.date.today().year
    taken: set[str] = set()
    questions, headline, nps, improvement = {}, None, None, None
    not_scales: list[str] = []  # grids whose answers are no scale of _common.yaml
    for q in detected:
        qid = _slug(q.text, taken)
        scale = scales.get(id(q))
        qtype = "scale" if scale and q.type == "single" else q.type
        text = {"nl": q.text} if language == "nl" else {"nl": _todo(q.text), language: q.text}
        spec: dict = {"type": qtype, "label": _short_label(q.text), "text": text}
        if qtype in ("single", "multi"):
            spec["options"] = [{"code": i + 1, "nl": o} if language == "nl" else {"code": i + 1, "nl": _todo(o), language: o}
                               for i, o in enumerate(q.options)]
        if qtype == "matrix":
            items = {}
            for item in q.items:
                items[_slug(item, set(items))] = {"nl": item} if language == "nl" else {"nl": _todo(item), language: item}
            spec["items"] = items
            not_applicable = normalise_text(common["special"]["not_applicable"].label(scale[1])) if scale else None
            if not_applicable in {normalise_text(o) for o in q.options}:
                spec["not_applicable"] = True
        questions[qid] = spec
        if qtype == "matrix" and not scale:
            not_scales.append(qid)
        if qtype == "scale" and headline is None:
            headline = qid
        if qtype == "nps" and nps is None:
            nps = qid
        if qtype == "open" and improvement is None and re.search(r"verbeter|improve|amélior", q.text, re.I):
            improvement = qid
    languages = ["nl"] if language == "nl" else ["nl", language]
    doc = {
        "survey": survey,
        "title": "TODO: titel van de bevraging",
        "short_title": "TODO",
        "client_group": "TODO",
        "cadence": "continuous",
        "languages": languages,
        "scale_by_year": {year: found[0] if found else "SAT5"},
        "headline": headline or "TODO: id van de vraag naar de algemene tevredenheid (type scale)",
        "nps": nps,
        "improvement": improvement,
        "breakdowns": [],
        "questions": questions,
    }
    header = ("# Draft codebook written by `agii inspect --draft-codebook`; see README 'Codebooks'.\n"
              "# Check every type (single, multi, scale, matrix, nps, open) and the headline, nps and\n"
              "# improvement questions; option codes follow the order the answers first appear in the\n"
              "# export: put them in the questionnaire's order. Fill in the TODOs and breakdowns.\n")
    if not_scales:
        header += (f"# NOT a satisfaction scale: {', '.join(not_scales)}. A matrix takes only the scale points of\n"
                   "# _common.yaml; these grids hold other answers (ranks, numbers, own labels): leave them out.\n")
    if language != "nl":
        header += (f"# The export is in {language}: the Dutch (nl) texts and labels are 'TODO: <{language} text>';\n"
                   "# translate them (the reports use the nl labels).\n")
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
