"""Look at an export without a codebook: the natural start for a new survey type.

Detects each question's type from its columns (the pair row 1 / row 2) and the
answers, and can draft a codebook YAML that a researcher then edits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd
import yaml

from .codebook import normalise_text
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
            own_label = all(
                s.dropna().map(normalise_text).eq(normalise_text(c.sub)).all() for s, c in zip(series, cols)
            )
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


def draft_codebook(export: RawExport, survey: str = "nieuwe_bevraging") -> str:
    """A first codebook YAML for an export: ids, types, texts and options to edit."""
    taken: set[str] = set()
    questions = {}
    first_scale = None
    for q in detect_questions(export):
        qid = _slug(q.text, taken)
        spec: dict = {"type": q.type, "label": q.text[:40], "text": {"nl": q.text}}
        if q.type in ("single", "multi"):
            spec["options"] = [{"code": i + 1, "nl": o} for i, o in enumerate(q.options)]
        if q.type == "matrix":
            spec["items"] = {_slug(i, set()): {"nl": i} for i in q.items}
        questions[qid] = spec
        if q.type == "single" and first_scale is None and any("tevreden" in o.lower() for o in q.options):
            first_scale = qid
    doc = {
        "survey": survey,
        "title": "TODO: titel van de bevraging",
        "short_title": "TODO",
        "client_group": "TODO",
        "cadence": "continuous",
        "languages": ["nl"],
        "scale_by_year": {2023: "SAT5"},
        "headline": first_scale or "TODO: id van de vraag naar de algemene tevredenheid (type scale)",
        "nps": None,
        "breakdowns": [],
        "questions": questions,
    }
    header = ("# Draft codebook written by `agii inspect --draft-codebook`.\n"
              "# Check every type; satisfaction questions become `type: scale` (drop their options),\n"
              "# 0-10 questions `type: nps`; see README 'Codebooks'.\n")
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
