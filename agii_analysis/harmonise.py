"""From raw exports to one tidy, anonymous, accounted-for table per survey and year.

Columns are matched to codebook questions by their (normalised) question text in any
language of the codebook, answer labels mapped to stable codes, and every respondent
row read ends up either used or excluded with a reason:

- ``duplicate``: the same respondent id with identical answers earlier in the input
  (overlapping exports); a repeated id with *different* answers is an error;
- ``outside_period``: End Date (else Start Date) outside the report period;
- ``no_date``: neither date filled in an export that has date columns;
- ``no_answer``: not a single question answered.

A question (matrix item, option) found in two columns of one export is an error: the
copy would count its answers twice.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .codebook import Codebook, Question, normalise_text
from .errors import AgiiError
from .files import display_names, same_file
from .reader import RawExport, _str_series, unread_sheets_warning

EXCLUSION_REASONS = ("duplicate", "outside_period", "no_date", "no_answer")
_STATUSES = ("used", *EXCLUSION_REASONS)
RESPONSE_COLUMNS = [
    "survey", "year", "respondent_id", "collector_id", "language", "start", "end",
    "complete", "source", "question", "item", "code", "label_nl", "text",
]
_OTHER_SUBS = ("other (please specify)", "anders (gelieve te specificeren)",
               "andere (gelieve te specificeren)", "other", "anders", "andere")
_RESPONSE_SUBS = ("response", "antwoord", "open-ended response", "open antwoord",
                  "antwoord (open)", "open-ended")


@dataclass
class UnknownLabel:
    file: str
    column: str
    question: str
    label: str
    count: int
    first_row: int

    def to_dict(self) -> dict:
        return vars(self).copy()


@dataclass
class FileSummary:
    """What was found in one export: for `agii validate` and the manifest."""

    file: str
    sheet: str | None
    encoding: str | None
    rows: int
    edition_language: str | None
    questions_matched: list[str]
    unmatched_columns: list[str]
    comment_columns: list[str]
    dropped_columns: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return vars(self).copy()


@dataclass
class Harmonised:
    survey: str
    year: int
    responses: pd.DataFrame
    respondents: pd.DataFrame
    files: list[FileSummary]
    unknown_labels: list[UnknownLabel]
    warnings: list[str]
    inputs: dict[str, str] = field(default_factory=dict)  # display name -> sha256, when prepare() hashed them

    @property
    def accounting(self) -> dict:
        status = self.respondents["status"].value_counts()
        excluded = {r: int(status.get(r, 0)) for r in EXCLUSION_REASONS}
        used = int(status.get("used", 0))
        return {
            "read": int(len(self.respondents)),
            "used": used,
            "excluded": excluded,
            "complete": int(self.respondents.loc[self.respondents["status"] == "used", "complete"].sum()),
            "partial": used - int(self.respondents.loc[self.respondents["status"] == "used", "complete"].sum()),
            "unknown_labels": [u.to_dict() for u in self.unknown_labels],
        }

    @property
    def used(self) -> pd.DataFrame:
        return self.respondents[self.respondents["status"] == "used"]


# --------------------------------------------------------------------------- matching

@dataclass(frozen=True)
class _Target:
    """What one export column holds."""

    question: Question
    item: str  # matrix item id, multi option code, "other", "comment" or ""
    kind: str  # label | option | text | nps


def cells_are(values: pa.Array, label: str) -> bool:
    """Every filled cell holds `label` (normalised): an option's own column."""
    return all(normalise_text(v) == label for v in pc.unique(values.drop_null()).to_pylist())


def is_other_column(sub: str) -> bool:
    """A row-2 label "Other (please specify)" (or its Dutch wording): the text typed in
    beside a choice question, kept as its free text (item "other")."""
    sub = normalise_text(sub)
    return sub in _OTHER_SUBS or sub.startswith(("other (", "anders (", "andere ("))


def _question_index(codebook: Codebook, year: int) -> dict[str, tuple[str, str]]:
    index = {}
    for q in codebook.questions_in(year):
        for lang, texts in q.texts.items():
            for t in texts:
                index.setdefault(normalise_text(t), (q.id, lang))
    return index


def _label_maps(codebook: Codebook, q: Question, year: int, language: str) -> dict[str, int]:
    """Normalised label -> code, the export's language first, then Dutch, then the rest
    (made once per codebook, question, year and language)."""
    global _LABEL_MAPS
    cached = _LABEL_MAPS  # the last codebook's maps only; one read, so threads cannot mix them
    if cached[0] is not codebook:
        cached = _LABEL_MAPS = (codebook, {})
    key = (q.id, year, language)
    if key not in cached[1]:
        cached[1][key] = _make_label_maps(codebook, q, year, language)
    return cached[1][key]


_LABEL_MAPS: tuple = (None, {})


def _make_label_maps(codebook: Codebook, q: Question, year: int, language: str) -> dict[str, int]:
    options = codebook.answer_options(q, year)
    order = [language, "nl", *[lang for lang in codebook.languages if lang not in (language, "nl")]]
    out: dict[str, int] = {}
    for lang in order:
        for opt in options:
            out.setdefault(normalise_text(opt.label(lang)), opt.code)
    for opt in options:  # other wordings last: a label of the codebook always wins
        for label in opt.also:
            out.setdefault(normalise_text(label), opt.code)
    return out


def _match_columns(export: RawExport, codebook: Codebook, year: int):
    """Map each export column to a question/item; guess the edition's language."""
    index = _question_index(codebook, year)
    groups: dict[str, list] = {}
    for col in export.columns:
        groups.setdefault(col.question, []).append(col)
    langs = Counter()
    matched: dict[str, tuple[str, list]] = {}
    unmatched = []
    for text, cols in groups.items():
        hit = index.get(normalise_text(text))
        if hit is None:
            unmatched.extend(c.key for c in cols)
            continue
        qid, lang = hit
        langs[lang] += 1
        matched[text] = (qid, cols)
    edition = langs.most_common(1)[0][0] if langs else None
    _check_no_repeats(export, matched.values())
    targets: dict[str, _Target] = {}
    comments = []
    for qid, cols in matched.values():
        q = codebook.questions[qid]
        item_by_label = {}
        if q.type == "matrix":
            for item_id, labels in q.items.items():
                for lab in [*labels.values(), *q.item_also.get(item_id, ())]:
                    item_by_label.setdefault(normalise_text(lab), item_id)
        option_by_label = {}
        if q.type in ("single", "multi", "scale"):
            for opt in codebook.answer_options(q, year):
                for lab in opt.wordings:
                    option_by_label.setdefault(normalise_text(lab), opt.code)
        if q.type == "nps":
            option_by_label = {str(s): s for s in range(codebook.nps_bands["min"], codebook.nps_bands["max"] + 1)}
        condensed = any(normalise_text(c.sub) in _RESPONSE_SUBS for c in cols)
        for col in cols:
            sub = normalise_text(col.sub)
            if sub in option_by_label and is_other_column(col.sub) and (
                    condensed or not cells_are(export.cells[col.key], sub)):
                # "Andere" is an option's label and a wording of "Other (please specify)": beside
                # a Response column, or holding typed texts, it is the Other column
                targets[col.key] = _Target(q, "other", "text")
                continue
            if q.type == "open":
                targets[col.key] = _Target(q, "other" if is_other_column(col.sub) else "", "text")
            elif sub in _RESPONSE_SUBS:
                targets[col.key] = _Target(q, "", "nps" if q.type == "nps" else "label")
            elif q.type == "matrix" and sub in item_by_label:
                targets[col.key] = _Target(q, item_by_label[sub], "label")
            elif q.type == "multi" and sub in option_by_label:
                targets[col.key] = _Target(q, str(option_by_label[sub]), "option")
            elif q.type in ("single", "scale", "nps") and sub in option_by_label:
                # expanded layout: one column per option, the cell holds the label
                targets[col.key] = _Target(q, f"={option_by_label[sub]}", "option")
            elif is_other_column(col.sub):  # after the options: an option may be called "Andere"
                targets[col.key] = _Target(q, "other", "text")
            else:
                targets[col.key] = _Target(q, "comment", "text")
                comments.append(col.key)
        mine = [targets[c.key] for c in cols]
        for col in (c for c, t in zip(cols, mine) if t.item == "comment"):
            _check_comment(export, col, q, codebook, year, {t.item for t in mine}, option_by_label)
    return targets, edition, unmatched, comments


def _check_comment(export: RawExport, col, q: Question, codebook: Codebook, year: int,
                   found: set[str], option_by_label: dict) -> None:
    """A column whose row-2 label is none of its question's items or options is read as a
    comment box, unless an item or option of the question has no column of its own and
    this column's cells are its answers: scale labels (a matrix item renamed in
    SurveyMonkey), or one label throughout, the column's own or the missing option's
    (an option renamed, expanded layout). Read as a comment, its answers would silently
    not count."""
    values = export.cells[col.key]
    if values.null_count == len(values):
        return
    seen = {normalise_text(v) for v in pc.unique(values.drop_null()).to_pylist()}
    if q.type == "matrix":
        missing = [labels["nl"] for item, labels in q.items.items() if item not in found]
        try:
            options = codebook.answer_options(q, year)
        except AgiiError:  # no scale for the year: the coding says so, for the columns it codes
            return
        labels = {normalise_text(lab) for o in options for lab in o.wordings}
        if not missing or not (seen <= labels or all(v.isdigit() for v in seen)):
            return
        what, where_ = "matrix item", codebook.path.name
    elif q.type in ("single", "scale", "multi") and any(t.startswith("=") or t.isdigit() for t in found):
        options = [o for o in codebook.answer_options(q, year)  # expanded layout: options without a column
                   if f"={o.code}" not in found and str(o.code) not in found]
        missing = [o.nl for o in options]
        labels = {normalise_text(lab) for o in options for lab in o.wordings}
        if not missing or len(seen) != 1 or not (seen == {normalise_text(col.sub)} or seen <= labels):
            return
        what = "answer option"
        where_ = "_common.yaml (the scale)" if q.type == "scale" else codebook.path.name
    else:
        return
    raise AgiiError(
        f"the {what} {col.sub!r} of question {q.id!r} is not in the codebook (its cells hold answers, "
        "so it is not a comment box)",
        file=export.name, sheet=export.sheet, column=col.letter, row=2,
        expected=f"one of {'; '.join(missing)} (no column of their own in this export): if only the wording "
                 f"changed, add it to that {what} in {where_} as `also: [{col.sub}]`",
    )


def _check_no_repeats(export: RawExport, matched) -> None:
    """Each question's answer (or matrix item, option, other/comment text) in one column:
    a repeated column would count its answers twice (open answers) or make two answers of
    one (matrix items)."""
    seen = {}
    for qid, cols in matched:
        for col in cols:
            first = seen.setdefault((qid, normalise_text(col.sub)), col)
            if first is not col:
                raise AgiiError(
                    f"columns {first.letter} and {col.letter} both hold question {qid!r} ({col.sub!r})",
                    file=export.name, sheet=export.sheet, column=f"{first.letter}, {col.letter}", row=2,
                    expected="each question, matrix item and answer option in one column of the export",
                )


# --------------------------------------------------------------------------- coding

class _Long:
    """Long rows collected per column as parts (row indices, question number, item number,
    and codes or texts), put in order once at the end (`assemble`)."""

    def __init__(self, questions: dict[str, int], items: dict[str, int], label_table: np.ndarray):
        self.questions, self.items, self.label_table = questions, items, label_table
        self.parts: list[_Part] = []

    def add(self, idx: np.ndarray, question: str, item: str, code: np.ndarray | None,
            text: pa.Array | None = None) -> None:
        self.parts.append(_Part(idx.astype(np.int64, copy=False), self.questions[question],
                                self.items.setdefault(item, len(self.items)), code, text))

    def counts(self, n: int) -> np.ndarray:
        """Long rows per respondent (of `n`): what `answered` and `assemble` both need."""
        count = np.zeros(n, dtype=np.int64)
        for part in self.parts:
            count[part.idx] += 1  # a part holds each row at most once
        return count

    def assemble(self, keep: np.ndarray, redact=None, counts: np.ndarray | None = None) -> dict:
        """The rows of the respondents in `keep` (bool per respondent), respondent by
        respondent, each in part order: a counting sort, no concatenation or argsort.
        Codes come out in the smallest integer type pandas keeps for categoricals, as
        every byte of a million-row table written costs (fresh memory). `counts`: those
        of `counts()`, if already made."""
        count = np.where(keep, self.counts(len(keep)) if counts is None else counts, 0)
        cursor = np.cumsum(count) - count
        total = int(count.sum())
        part_no = np.empty(total, dtype=_codes_dtype(len(self.parts)))
        code = np.empty(total)
        label_no = np.empty(total, dtype=_codes_dtype(int(self.label_table.max()) + 1))
        text_pos, texts, written = [], [], 0
        for k, part in enumerate(self.parts):
            mine = keep[part.idx]
            every = bool(mine.all())
            rows = part.idx if every else part.idx[mine]
            pos = cursor[rows]
            cursor[rows] += 1
            written += len(rows)
            part_no[pos] = k
            if part.code is not None:
                codes = part.code if every else part.code[mine]
                code[pos] = codes
                label_no[pos] = _label_numbers(self.label_table, part.qno, codes)
            else:
                code[pos], label_no[pos] = np.nan, -1
                text_pos.append(pos)
                texts.append(part.text if every else part.text.filter(pa.array(mine)))
        if written != total:  # a row held twice by one part: counted once, written twice
            raise AssertionError(f"{written} long rows written into {total} slots")
        qno = np.array([p.qno for p in self.parts], dtype=_codes_dtype(len(self.questions)))
        item_no = np.array([p.item for p in self.parts], dtype=_codes_dtype(len(self.items)))
        return {"count": count, "qno": np.take(qno, part_no), "item_no": np.take(item_no, part_no),
                "code": code, "label_no": label_no, "text": _sparse_text(total, text_pos, texts, redact)}


@dataclass
class _Part:
    idx: np.ndarray
    qno: int
    item: int
    code: np.ndarray | None
    text: pa.Array | None


def _code_column(values: pa.Array, target: _Target, codebook: Codebook, year: int,
                 lang_no: np.ndarray, languages: list[str], numeric: bool, export: RawExport,
                 col, unknown: list) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the answered rows of one column and their codes: each distinct label
    is mapped once (per row language), then the codes are gathered by integer indexing.
    Unknown answers are reported in `unknown` and left out."""
    q = target.question
    if values.null_count == len(values):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if target.kind == "option":  # one column per option: the cell being filled is the answer
        idx = np.flatnonzero(values.is_valid().to_numpy(zero_copy_only=False))
        return idx, np.full(len(idx), float(target.item.lstrip("=")))
    encoded = pc.dictionary_encode(values)
    value_no = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    distinct = encoded.dictionary.to_pylist()
    present = np.flatnonzero(value_no >= 0)
    value_no = value_no[present]

    def report(bad: np.ndarray, expected: str) -> None:
        if bad.any():
            _unknown(unknown, export, col, q, present[bad], np.array(distinct, dtype=object)[value_no[bad]], expected)

    if numeric or target.kind == "nps":
        nums = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce").to_numpy(dtype=float)
        if target.kind == "nps" or q.type == "nps":
            lo, hi = codebook.nps_bands["min"], codebook.nps_bands["max"]
            scores = nums - (q.numeric_offset if numeric else 0)
            by_value = np.where((scores >= lo) & (scores <= hi) & (scores == np.round(scores)), scores, np.nan)
            expected = (f"a whole number {lo + q.numeric_offset}-{hi + q.numeric_offset} (numerical-value export)"
                        if numeric else f"a whole number {lo}-{hi}")
        else:
            options = codebook.answer_options(q, year)
            option_codes = np.array([np.nan] + [float(o.code) for o in options])
            ok = (nums >= 1) & (nums <= len(options)) & (nums == np.round(nums))
            by_value = option_codes[np.where(ok, nums, 0).astype(np.int64)]
            expected = f"a position 1-{len(options)} (numerical-value export)"
        codes = by_value[value_no]
        report(np.isnan(codes), expected)
    else:
        # labels: normalise each distinct value once, map it in every language of the
        # export, then pick each row's code by (row language, value) in one gather
        norm = [normalise_text(v) for v in distinct]
        row_lang = lang_no[present]
        by_value = np.array([[float(m[n]) if n in m else np.nan for n in norm]
                             for m in (_label_maps(codebook, q, year, lang) for lang in languages)])
        codes = by_value[row_lang, value_no]
        bad = np.isnan(codes)
        if bad.any():
            for li in pd.unique(row_lang):  # first-seen order
                labels = [o.label(languages[li]) for o in codebook.answer_options(q, year)]
                report(bad & (row_lang == li), "one of " + "; ".join(labels))
    ok = ~np.isnan(codes)
    return present[ok], codes[ok]


def _unknown(unknown: list, export: RawExport, col, q: Question, positions: np.ndarray,
             labels: np.ndarray, expected: str):
    rows = export.meta["row"].to_numpy()[positions]
    counts: dict[str, list[int]] = {}  # label -> [count, first row]; a dict, as numpy would
    for label, row in zip(labels.tolist(), rows.tolist()):  # drop a trailing NUL of a label
        seen = counts.setdefault(label, [0, row])
        seen[0] += 1
        seen[1] = min(seen[1], row)
    for label, (count, first) in counts.items():
        unknown.append((UnknownLabel(export.name, f"{col.letter} ({col.key})", q.id,
                                     str(label), count, first), expected))


def _export_long(export: RawExport, codebook: Codebook, year: int, targets: dict[str, _Target],
                 lang_no: np.ndarray, languages: list[str], numeric: bool, unknown: list,
                 long: _Long) -> None:
    """Add the long rows of one export: coded columns in target order, then the texts."""
    col_by_key = {c.key: c for c in export.columns}
    texts = []
    expanded_rows = []  # parts of single-answer questions given as one column per option
    per_answer = Counter(t.question.id for t in targets.values()
                         if t.kind != "text" and t.question.type in ("single", "scale", "nps"))
    for key, target in targets.items():
        values = export.cells[key]
        if target.kind == "text":
            if values.null_count < len(values):
                idx = np.flatnonzero(values.is_valid().to_numpy(zero_copy_only=False))
                texts.append((idx, target.question.id, target.item, values.filter(values.is_valid())))
            continue
        idx, codes = _code_column(values, target, codebook, year, lang_no, languages, numeric,
                                  export, col_by_key[key], unknown)
        if len(idx):
            item = "" if target.item.startswith("=") else target.item
            long.add(idx, target.question.id, item, codes)
            if per_answer[target.question.id] > 1:
                expanded_rows.append(len(long.parts) - 1)
    for idx, qid, item, text in texts:
        long.add(idx, qid, item, None, text)
    if expanded_rows:
        _check_one_answer(export, targets, long, expanded_rows, col_by_key)


def _check_one_answer(export, targets, long: _Long, expanded: list[int], col_by_key) -> None:
    """A single-answer question in the expanded layout (one column per option) must have
    one chosen option per respondent."""
    idx = np.concatenate([long.parts[i].idx for i in expanded])
    q = np.concatenate([np.full(len(long.parts[i].idx), long.parts[i].qno) for i in expanded])
    key = idx * (len(long.questions) + 1) + q
    dup = pd.Series(key).duplicated(keep=False).to_numpy()  # a hash, not rows x questions of memory
    if not dup.any():
        return
    first = int(np.flatnonzero(dup)[0])
    i, qid = int(idx[first]), next(k for k, v in long.questions.items() if v == q[first])
    row = int(export.meta["row"].iloc[i])
    letters = [col_by_key[k].letter for k, t in targets.items()
               if t.question.id == qid and t.kind != "text" and export.cells[k][i].is_valid]
    raise AgiiError(
        f"question {qid!r} has more than one answer",
        file=export.name, sheet=export.sheet, column=", ".join(letters) or None, row=row,
        expected="one chosen option per single-choice question",
    )


# --------------------------------------------------------------------------- main

def harmonise(
    exports: list[tuple[RawExport, object]],
    codebook: Codebook,
    year: int,
    period=None,
    unknown_labels: str = "error",
    redact=None,
) -> Harmonised:
    """Harmonise the exports of one survey-year.

    `exports` pairs each RawExport with its params InputFile (or None): that says
    whether the file holds numerical values and, for a language edition whose file
    does not say, its language.
    """
    import datetime as dt

    if not exports:
        raise AgiiError(f"no exports to harmonise for {codebook.survey} {year}",
                        expected="one or more SurveyMonkey exports of the survey-year")
    period = period or (dt.date(year, 1, 1), dt.date(year, 12, 31))
    labels = [label + (f" ({e.sheet})" if _other_sheet_read(e, exports) else "")  # one workbook, a sheet per input
              for label, (e, _) in zip(display_names([e.path for e, _ in exports]), exports)]  # same-named files: by folder
    exports = [(e if e.name == label else dataclasses.replace(e, label=label), spec)
               for (e, spec), label in zip(exports, labels)]
    exports = [(_sheets_read_elsewhere(e, [x for x, _ in exports]), spec) for e, spec in exports]
    files, resp_parts, unknown, warnings = [], [], [], []
    label_names, label_table = _label_table(codebook, year)
    long = _Long({qid: i for i, qid in enumerate(codebook.questions)}, {}, label_table)
    offset = 0  # respondent number of each export's first row: rid = offset + row index
    sheet_of = {}  # file name -> sheet read, so later errors can name the sheet of an XLSX
    for export, _ in exports:
        sheet_of.setdefault(export.name, export.sheet)
    for export, spec in exports:
        name = export.name
        targets, edition, unmatched, comments = _match_columns(export, codebook, year)
        if not any(t.question.type != "open" for t in targets.values()):
            raise AgiiError(
                f"none of its questions belong to survey {codebook.survey!r} ({year})",
                file=name, sheet=export.sheet,
                expected=f"an export of {codebook.title}",
            )
        meta = export.meta
        lang_default = getattr(spec, "language", None) or edition or "nl"
        if meta["language"].notna().any():
            column = pc.fill_null(_arrow_text(meta["language"]), lang_default)
            languages = _str_series(pc.utf8_lower(pc.utf8_trim_whitespace(column)))
        else:
            languages = pd.Series(lang_default, index=meta.index)
        bad_lang = ~languages.isin(codebook.languages)
        if bad_lang.any():
            i = languages[bad_lang].index[0]
            raise AgiiError(
                f"language {languages[i]!r} is not a language of this survey",
                file=name, sheet=export.sheet, column="language", row=int(meta.loc[i, "row"]),
                expected=f"one of {', '.join(codebook.languages)} (codebook {codebook.path.name})",
            )
        numeric = getattr(spec, "values", "text") == "numeric"
        encoded_lang = pc.dictionary_encode(_arrow_text(languages))  # first-seen order, as pd.factorize
        lang_no, lang_names = encoded_lang.indices.to_numpy(), encoded_lang.dictionary.to_pylist()
        first_part = len(long.parts)
        _export_long(export, codebook, year, targets, lang_no, list(lang_names), numeric, unknown, long)
        for part in long.parts[first_part:]:
            part.idx += offset
        offset += len(meta)
        resp = pd.DataFrame({
            "respondent_id": meta["respondent_id"].astype(str).array,
            "source": name,
            "row": meta["row"].astype(int).to_numpy(),
            "collector_id": meta["collector_id"].astype(str).fillna(getattr(spec, "collector", None) or "").array,
            "language": languages.array,
            "start": meta["start"].to_numpy(),
            "end": meta["end"].to_numpy(),
            "has_dates": bool(meta["end"].notna().any() or meta["start"].notna().any()),
        })
        resp_parts.append(resp)
        files.append(FileSummary(
            file=name, sheet=export.sheet, encoding=export.encoding, rows=len(meta),
            edition_language=edition if not meta["language"].notna().any() else None,
            questions_matched=sorted({t.question.id for t in targets.values()}),
            unmatched_columns=unmatched, comment_columns=comments,
            dropped_columns=list(export.dropped), warnings=list(export.warnings),
        ))
        warnings.extend(f"{name}: {w}" for w in export.warnings)
    warnings.extend(key_questions_missing(codebook, year, files))
    found = {q for f in files for q in f.questions_matched}  # in at least one export
    warnings.extend(_missing_in_some(codebook, files, found, sheet_of))
    missing = [q.id for q in codebook.questions_in(year)
               if q.id not in found and q.id not in (codebook.headline, codebook.nps)]
    if missing:
        warnings.append(f"question(s) {', '.join(missing)} of {codebook.path.name} ({year}) matched no column in "
                        f"{', '.join(f.file for f in files)}: their figures are not available, and 'complete' "
                        "counts only the questions found")
    if unknown:
        if unknown_labels == "error":
            u, expected = unknown[0]
            total = sum(x.count for x, _ in unknown)
            more = f" ({total} unknown answers in all; `agii validate --unknown-labels missing` lists them)" if total > u.count else ""
            numeric_files = {e.name for e, spec in exports if getattr(spec, "values", "text") == "numeric"}
            hint = _numeric_hint([x for x, _ in unknown if x.file == u.file], numeric_files)
            more += hint
            on_scale = codebook.questions[u.question].type in ("scale", "matrix")
            numbered = expected.startswith(("a whole number", "a position"))  # a numerical-value export
            if not hint and not numbered and on_scale and re.fullmatch(r"\s*\d+(\.0+)?\s*", u.label):
                expected += (" (a number on a scale question: is this a ranking or a grid of numbers? A scale or "
                             "matrix question takes the scale points of _common.yaml only: leave this question out "
                             f"of codebook {codebook.path.name})")
            elif not hint and not numbered:
                where_ = "_common.yaml (a scale point, or Geen mening / Niet van toepassing)" if on_scale else (
                    f"codebook {codebook.path.name} (or its option set in _common.yaml)")
                expected += f" (a new wording of one of them: add `also: [{u.label}]` to that option in {where_})"
            more += _other_year_hint([r for r in resp_parts if r["source"].iat[0] == u.file], period)
            raise AgiiError(
                f"unknown answer {u.label!r} for question {u.question!r}{more}",
                file=u.file, sheet=sheet_of.get(u.file), column=u.column, row=u.first_row, expected=expected,
            )
        warnings.append(f"{sum(u.count for u, _ in unknown)} unknown answers counted as missing")
    respondents = pd.concat(resp_parts, ignore_index=True)
    n_resp = len(respondents)
    # which questions each respondent answered (filled per column), and whether at all
    counts = long.counts(n_resp)  # open answers count too
    answered_q = np.zeros((n_resp, len(long.questions)), dtype=bool)
    for part in long.parts:
        if part.code is not None:
            answered_q[part.idx, part.qno] = True

    # status, first reason wins: duplicate, no_date, outside_period, no_answer
    status = np.zeros(n_resp, dtype=np.int8)  # index into _STATUSES
    # duplicates: identical answers -> excluded; different answers -> error
    id_encoded = pc.dictionary_encode(_arrow_text(respondents["respondent_id"]))
    id_no = id_encoded.indices.to_numpy()
    dup_id = pd.Series(np.bincount(id_no)[id_no] > 1, index=respondents.index)
    if dup_id.any():
        respondents["signature"] = _signatures(long, n_resp, dup_id.to_numpy(), redact)
        for resp_id, grp in respondents[dup_id].groupby("respondent_id", sort=False):
            if grp["signature"].nunique() > 1:
                a, b = grp.iloc[0], grp[grp["signature"] != grp.iloc[0]["signature"]].iloc[0]
                raise AgiiError(
                    f"respondent {resp_id} appears twice with different answers "
                    f"({a['source']} row {a['row']} and {b['source']} row {b['row']})",
                    file=b["source"], sheet=sheet_of.get(b["source"]), row=int(b["row"]),
                    expected="one response per respondent id (or identical copies from overlapping exports)",
                )
        status[respondents.duplicated("respondent_id", keep="first").to_numpy()] = _STATUSES.index("duplicate")
    when = respondents["end"].fillna(respondents["start"]).to_numpy()
    has_when = ~np.isnat(when)
    start, end = np.datetime64(period[0]), np.datetime64(period[1]) + np.timedelta64(1, "D")
    for reason, hit in (("no_date", ~has_when & respondents["has_dates"].to_numpy()),
                        ("outside_period", has_when & ((when < start) | (when >= end))),
                        ("no_answer", counts == 0)):
        status[(status == 0) & hit] = _STATUSES.index(reason)
    respondents["status"] = np.array(_STATUSES, dtype=object)[status]
    if not respondents["has_dates"].all():
        warnings.append("some exports have no date columns: the report period could not be checked for them")
    backwards = (respondents["end"] < respondents["start"]).to_numpy()
    if backwards.any():  # the report year follows the End Date, so the dates may be swapped
        first = respondents[backwards].iloc[0]
        warnings.append(f"{int(backwards.sum())} response(s) end before they start (e.g. {first['source']} row "
                        f"{first['row']}): the End Date decides the report year; check the date columns")

    # complete = every closed question asked this year (and found in the exports) answered
    closed = [long.questions[q.id] for q in codebook.questions_in(year) if q.type != "open" and q.id in found]
    respondents["complete"] = answered_q[:, closed].all(axis=1) if closed else False

    # input order: export by export, row by row, then the questionnaire's column order
    rows = long.assemble(status == 0, redact, counts)
    count = rows["count"]
    per_resp = respondents[["collector_id", "language", "start", "end", "complete", "source"]]
    item_names = np.array(list(long.items), dtype=object)
    items_in_use = np.flatnonzero(np.bincount(rows["item_no"], minlength=len(item_names)))
    item_remap = np.full(len(item_names), -1, dtype=np.int32)
    item_remap[items_in_use] = np.arange(len(items_in_use), dtype=np.int32)
    n = len(rows["qno"])
    responses = pd.DataFrame({
        "survey": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [codebook.survey]),
        "year": np.full(n, year, dtype=np.int64),
        "respondent_id": _sorted_categorical(id_encoded, count),
        **{c: _repeat(per_resp[c], count) for c in per_resp.columns},
        "question": pd.Categorical.from_codes(rows["qno"], categories=list(codebook.questions)),
        "item": _sorted_categorical(pa.DictionaryArray.from_arrays(
            pa.array(item_remap[rows["item_no"]], type=pa.int32()), pa.array(item_names[items_in_use], type=pa.string()))),
        "code": rows["code"],
        "label_nl": pd.Categorical.from_codes(rows["label_no"], categories=label_names),
        "text": pd.arrays.ArrowStringArray(pa.chunked_array([rows["text"]], type=pa.string())),
    }, copy=False)
    responses = _typed(responses)
    respondents = respondents[["respondent_id", "source", "row", "collector_id", "language", "start", "end", "complete", "status"]]
    return Harmonised(codebook.survey, year, responses, respondents.reset_index(drop=True), files,
                      [u for u, _ in unknown], warnings)


def _other_sheet_read(export: RawExport, exports: list[tuple[RawExport, object]]) -> bool:
    return export.sheet is not None and any(
        e.sheet != export.sheet and same_file(e.path, export.path) for e, _ in exports)


def _sheets_read_elsewhere(export: RawExport, exports: list[RawExport]) -> RawExport:
    """A sheet the reader named as holding unread respondents is not unread when another
    input of the survey-year reads it (one workbook, each sheet an input)."""
    if not export.unread_sheets:
        return export
    read = {e.sheet for e in exports if e is not export and same_file(e.path, export.path)}
    left = tuple((name, header) for name, header in export.unread_sheets if name not in read)
    if left == export.unread_sheets:
        return export
    said = unread_sheets_warning(export.unread_sheets, export.sheet)
    warnings = [w for w in export.warnings if w != said] + ([unread_sheets_warning(left, export.sheet)] if left else [])
    return dataclasses.replace(export, warnings=warnings, unread_sheets=left)


def _numeric_hint(unknown: list[UnknownLabel], numeric_files: set[str]) -> str:
    """Every unknown answer of a file read as texts is a number: it is most likely a
    numerical-value export."""
    if not unknown or unknown[0].file in numeric_files:
        return ""
    if all(re.fullmatch(r"\s*\d+(\.0+)?\s*", x.label) for x in unknown):
        return ("; every unknown answer is a number: is this a numerical-value export? Then say so "
                "(`values: numeric` in the params file's input, `--numeric` for agii validate)")
    return ""


def _other_year_hint(resp_parts: list[pd.DataFrame], period) -> str:
    """When most End Dates of the file are outside the report period, its labels may be
    another year's (a scale changed): say so beside an unknown answer."""
    when = pd.concat([r["end"].fillna(r["start"]) for r in resp_parts]).dropna()
    if when.empty:
        return ""
    start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1]) + pd.Timedelta(days=1)
    outside = when[(when < start) | (when >= end)]
    if len(outside) * 2 <= len(when):
        return ""
    most = int(outside.dt.year.mode().iloc[0])
    return f"; most End Dates of the file are in {most}, outside the report period: is this the {most} export?"


def _missing_in_some(codebook: Codebook, files: list[FileSummary], found: set[str], sheet_of: dict) -> list[str]:
    """A question matched in one export but not in another (a wording changed in one
    edition, an export of another survey, or a question added during the year): for the
    headline question an error, as that file's respondents would all count as not
    answering it; else a warning (an NPS question may be new from July on)."""
    out = []
    for f in files:
        lacking = [q for q in codebook.questions if q in found and q not in f.questions_matched]
        if not lacking:
            continue
        others = ", ".join(g.file for g in files if g is not f and set(lacking) & set(g.questions_matched))
        unmatched = list(dict.fromkeys(k.split(" | ")[0] for k in f.unmatched_columns))
        seen = f"; its columns that match no question: {'; '.join(repr(t[:80]) for t in unmatched[:3])}" if unmatched else ""
        key = codebook.headline
        if key in lacking:
            texts = " or ".join(repr(t) for t in codebook.questions[key].texts["nl"])
            raise AgiiError(
                f"headline question {key!r} matched no column of this export, but it did in {others}{seen}",
                file=f.file, sheet=sheet_of.get(f.file),
                expected=f"every export of {codebook.survey} with the question {texts} (codebook {codebook.path.name}): "
                         "a changed wording is added there as another text; an export of another survey is left out",
            )
        out.append(f"{f.file}: question(s) {', '.join(lacking)} matched no column, although they did in {others}: "
                   f"its {f.rows} rows count as not answering them{seen}")
    return out


def key_questions_missing(codebook: Codebook, year: int, files: list[FileSummary]) -> list[str]:
    """Why a key figure cannot be computed: its question (headline, NPS), asked this
    year, matched no column of any export (a changed wording, a column left out)."""
    found = {q for f in files for q in f.questions_matched}
    out = []
    for qid, role, figure in ((codebook.headline, "headline question", "% (heel) tevreden"),
                              (codebook.nps, "NPS question", "the Net Promoter Score")):
        q = codebook.questions.get(qid) if qid else None
        if q is None or not q.asked_in(year) or q.id in found:
            continue
        texts = " or ".join(repr(t) for t in q.texts["nl"])
        names = ", ".join(f.file for f in files)
        out.append(f"{role} {q.id!r} matched no column in {names}: {figure} cannot be computed "
                   f"(its text in codebook {codebook.path.name}: {texts})")
    return out


def _signatures(long: _Long, n: int, rows: np.ndarray, redact=None) -> np.ndarray:
    """An order-free hash of the answers of the respondent rows in `rows` (bool), to
    tell identical copies (overlapping exports) from conflicts; 0 for the other rows.

    Each long row is hashed (question, item, code, text); a respondent's signature
    combines the sum and the xor of its rows' hashes with their count.
    """
    sig = np.zeros(n, dtype=np.uint64)
    got = long.assemble(rows, redact)  # the same rows (and redaction) the table would get
    if not len(got["qno"]):
        return sig
    items = np.array(list(long.items), dtype=object)
    keyed = pd.DataFrame({
        "question": got["qno"].astype(np.int32), "item": items[got["item_no"].astype(np.int64)],
        "code": np.nan_to_num(got["code"], nan=-1.0),
        "text": pd.Series(got["text"].to_pylist(), dtype=object).fillna(""),
    })
    row_hash = pd.util.hash_pandas_object(keyed, index=False).to_numpy(dtype=np.uint64)
    counts = got["count"]
    owners = np.flatnonzero(counts)  # rows come respondent by respondent
    starts = np.cumsum(counts[owners]) - counts[owners]
    with np.errstate(over="ignore"):
        total = np.add.reduceat(row_hash, starts)
        mixed = np.bitwise_xor.reduceat(row_hash * np.uint64(0x9E3779B97F4A7C15), starts)
        sig[owners] = total ^ (mixed << np.uint64(1)) ^ (counts[owners].astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))
    return sig


def _label_table(codebook: Codebook, year: int) -> tuple[list[str], np.ndarray]:
    """The Dutch labels (sorted) and a (question number, code) -> label number table; -1
    where a code has no label. The last column stands for codes outside the table."""
    labels: dict[tuple[int, int], str] = {}
    for qi, qid in enumerate(codebook.questions):
        q = codebook.questions[qid]
        if not q.asked_in(year):
            continue
        if q.type == "nps":
            pairs = [(s, str(s)) for s in range(codebook.nps_bands["min"], codebook.nps_bands["max"] + 1)]
        elif q.type == "multi":
            pairs = [(o.code, o.nl) for o in q.options]
        else:
            pairs = [(o.code, o.nl) for o in codebook.answer_options(q, year)]
        for c, label in pairs:
            labels[(qi, int(c))] = label
    names = sorted(set(labels.values()))
    slot = {name: i for i, name in enumerate(names)}
    width = 1 + max([c for _, c in labels] + [0])
    table = np.full((len(codebook.questions), width + 1), -1, dtype=np.int32)
    for (qi, c), label in labels.items():
        table[qi, c] = slot[label]
    return names, table


def _codes_dtype(categories: int) -> type:
    """The integer type pandas keeps categorical codes in for this many categories."""
    return np.int8 if categories < 127 else np.int16 if categories < 32767 else np.int32


def _sparse_text(total: int, positions: list[np.ndarray], texts: list[pa.Array], redact=None) -> pa.Array:
    """A string array of `total` rows, null except at `positions` (which hold `texts`),
    built from its buffers: the few texts are put in order, not a million take indices."""
    if not texts:
        return pa.nulls(total, pa.string())
    pos, text = np.concatenate(positions), pa.concat_arrays(texts)
    if redact is not None:
        encoded = pc.dictionary_encode(text)  # each distinct text redacted once
        redacted = pa.array([redact(t) for t in encoded.dictionary.to_pylist()], type=pa.string())
        text = redacted.take(encoded.indices)
    order = np.argsort(pos, kind="stable")
    pos, text = pos[order], text.take(pa.array(order))  # a fresh array: offsets start at 0
    offsets = np.zeros(total + 1, dtype=np.int32)
    offsets[pos + 1] = pc.fill_null(pc.binary_length(text), 0).to_numpy(zero_copy_only=False)
    np.cumsum(offsets, out=offsets)
    valid = np.zeros(total, dtype=bool)
    valid[pos] = text.is_valid().to_numpy(zero_copy_only=False)
    return pa.StringArray.from_buffers(
        total, pa.py_buffer(offsets), text.buffers()[2], pa.py_buffer(np.packbits(valid, bitorder="little")))


def _label_numbers(table: np.ndarray, question: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Label numbers of (question number, code) pairs (-1: no label)."""
    width = table.shape[1] - 1  # the last column: codes outside the table (and NaN) have no label
    return table[question, np.where((code >= 0) & (code < width), code, width).astype(np.intp)]


def _repeat(column: pd.Series, count: np.ndarray):
    """Per-respondent values repeated for each of their answers (categorical for text)."""
    if column.dtype.kind in "Mb":
        return np.repeat(column.to_numpy(), count)
    return _sorted_categorical(pc.dictionary_encode(_arrow_text(column)), count)


def _arrow_text(column: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (no copy of pandas' Arrow-backed str)."""
    values = pa.array(column, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def _sorted_categorical(encoded: pa.DictionaryArray, count: np.ndarray | None = None) -> pd.Categorical:
    """A categorical with sorted categories (as pd.Categorical makes them) from an Arrow
    dictionary array, without a Python object per row; each row repeated `count` times."""
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, dtype=_codes_dtype(len(order)))
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # null
    codes = rank[pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)]
    if count is not None:
        codes = np.repeat(codes, count)
    categories = pd.array(encoded.dictionary.take(order), dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(categories)), validate=False)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The documented dtypes, stable across runs and Parquet round trips: categories
    for the repeated texts (survey, ids, language, source, question, item, label),
    string for open text, datetime64 for the dates, float for codes."""
    for col in ("start", "end"):
        if df[col].dtype.kind != "M":
            df[col] = pd.to_datetime(df[col])
    if df["complete"].dtype != bool:
        df["complete"] = df["complete"].astype(bool)
    return df if list(df.columns) == RESPONSE_COLUMNS else df[RESPONSE_COLUMNS]
