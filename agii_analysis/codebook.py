"""Codebooks: what each survey asked, in which words, and how answers map to codes.

One YAML file per survey type under `agii_analysis/codebooks/` (plus `_common.yaml`
for scales and shared option sets). A new survey type or a changed questionnaire is a
new or edited YAML file, never new Python. Everything is validated on load and every
problem names the file and the key.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import AgiiError

CODEBOOK_DIR = Path(__file__).parent / "codebooks"
LANGUAGES = ("nl", "en", "fr", "ar", "uk")
QUESTION_TYPES = ("single", "multi", "scale", "matrix", "nps", "open")
CADENCES = ("continuous", "yearly")
NO_OPINION = "no_opinion"
NOT_APPLICABLE = "not_applicable"

_SURVEY_KEYS = {
    "survey", "title", "short_title", "client_group", "cadence", "languages",
    "scale_by_year", "headline", "nps", "improvement", "breakdowns", "subgroups", "questions", "first_year",
}
_QUESTION_KEYS = {
    "type", "label", "text", "options", "items", "from_year", "until_year",
    "not_applicable", "no_opinion", "other", "numeric_offset",
}


def normalise_text(text: str) -> str:
    """Matching form of a question or answer text.

    Exports carry what was typed in the survey: HTML, curly apostrophes, odd spaces
    and case differences must not stop a text from matching its codebook entry.
    """
    text = html.unescape(re.sub(r"<[^>]*>", " ", str(text)))
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_QUOTES)
    return " ".join(text.split()).casefold()


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00a0": " "})


@dataclass(frozen=True)
class Option:
    """An answer option: a stable code and its label per language."""

    code: int
    labels: dict[str, str]
    kind: str = "choice"  # choice | scale | no_opinion | not_applicable
    also: tuple[str, ...] = ()  # other wordings of the label in exports (matched, never shown)

    @property
    def nl(self) -> str:
        return self.labels["nl"]

    @property
    def wordings(self) -> tuple[str, ...]:
        """Every text an export may hold for this option: its labels, then `also`."""
        return (*self.labels.values(), *self.also)

    def label(self, language: str) -> str:
        return self.labels.get(language, self.labels["nl"])


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    label: str
    texts: dict[str, tuple[str, ...]]
    options: tuple[Option, ...] = ()
    items: dict[str, dict[str, str]] = field(default_factory=dict)
    from_year: int | None = None
    until_year: int | None = None
    not_applicable: bool = False
    no_opinion: bool = True
    other: bool = False
    numeric_offset: int = 1
    item_also: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other wordings per item

    def asked_in(self, year: int) -> bool:
        return (self.from_year is None or year >= self.from_year) and (
            self.until_year is None or year <= self.until_year
        )

    def item_label(self, item: str, language: str = "nl") -> str:
        labels = self.items[item]
        return labels.get(language, labels["nl"])


@dataclass(frozen=True)
class Scale:
    name: str
    description: str
    points: tuple[Option, ...]
    top2: tuple[int, ...]

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(p.code for p in self.points)


@dataclass(frozen=True)
class Codebook:
    """A survey type's questionnaire, across years and languages."""

    survey: str
    title: str
    short_title: str
    client_group: str
    cadence: str
    languages: tuple[str, ...]
    scale_by_year: dict[int, str]
    headline: str
    nps: str | None
    breakdowns: tuple[str, ...]
    subgroups: dict[str, dict]
    questions: dict[str, Question]
    scales: dict[str, Scale]
    special: dict[str, Option]
    nps_bands: dict
    path: Path
    first_year: int | None = None  # the survey's first edition: no previous measurement ("nvt")
    improvement: str | None = None  # the open question whose answers are coded in improvement themes

    def scale_name(self, year: int) -> str:
        """Scale version in force in `year`: the entry of the latest year not after it."""
        years = sorted(y for y in self.scale_by_year if y <= year)
        if not years:
            raise AgiiError(
                f"scale_by_year: no scale version for {year}",
                file=self.path.name,
                expected=f"an entry for {year} or an earlier year",
            )
        return self.scale_by_year[years[-1]]

    def scale(self, year: int) -> Scale:
        return self.scales[self.scale_name(year)]

    def questions_in(self, year: int) -> list[Question]:
        return [q for q in self.questions.values() if q.asked_in(year)]

    def answer_options(self, question: Question, year: int) -> tuple[Option, ...]:
        """The options shown for a question in `year`, in display order.

        For scale and matrix questions: the scale points, then Geen mening, then
        Niet van toepassing where offered. The position in this tuple (1-based) is
        what a "numerical value" export holds.
        """
        if question.type in ("scale", "matrix"):
            opts = list(self.scale(year).points)
            if question.no_opinion:
                opts.append(self.special[NO_OPINION])
            if question.not_applicable:
                opts.append(self.special[NOT_APPLICABLE])
            return tuple(opts)
        return question.options


def _fail(path: Path, key: str, problem: str, expected: str | None = None):
    raise AgiiError(f"{key}: {problem}", file=path.name, expected=expected)


# libyaml's parser (same constructors as safe_load) reads a codebook ~10x faster
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path):
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AgiiError(f"cannot read codebook ({exc.strerror})", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise AgiiError(
            f"not UTF-8 text at line {line} (byte {exc.start})", file=path.name,
            expected="a UTF-8 YAML file",
        ) from None
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        pass  # read again by the Python parser, whose messages and positions are the documented ones
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AgiiError(f"invalid YAML{where}: {problem}", file=path.name) from None


def _labels(path, key, entry, required_nl=True) -> dict[str, str]:
    labels = {}
    for lang, value in entry.items():
        if lang in ("code", "also"):
            continue
        if lang not in LANGUAGES:
            _fail(path, f"{key}.{lang}", "unknown language", f"one of {', '.join(LANGUAGES)}")
        if not isinstance(value, str) or not value.strip():
            _fail(path, f"{key}.{lang}", "label must be a non-empty text")
        labels[lang] = value.strip()
    if required_nl and "nl" not in labels:
        _fail(path, key, "has no Dutch (nl) label")
    return labels


def _also(path, key, entry) -> tuple[str, ...]:
    """`also`: other wordings of a label (a changed answer option or matrix item)."""
    value = entry.get("also", [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(path, f"{key}.also", "must be a label or a list of labels", "also: [Lokale overheid]")
    return tuple(v.strip() for v in value)


def _options(path, key, entries, kind="choice") -> tuple[Option, ...]:
    if not isinstance(entries, list) or not entries:
        _fail(path, key, "must be a non-empty list of options")
    seen_codes, seen_labels, out = {}, {}, []
    for i, entry in enumerate(entries):
        k = f"{key}[{i}]"
        if not isinstance(entry, dict) or "code" not in entry:
            _fail(path, k, "an option needs a code and labels", "{code: 1, nl: ...}")
        code = entry["code"]
        if isinstance(code, bool) or not isinstance(code, int):
            _fail(path, f"{k}.code", f"code {code!r} is not a whole number")
        if code in seen_codes:
            _fail(path, f"{k}.code", f"duplicate code {code} (also at {seen_codes[code]})")
        seen_codes[code] = k
        labels = _labels(path, k, entry)
        also = _also(path, k, entry)
        for lang, label in labels.items():
            norm = (lang, normalise_text(label))
            if norm in seen_labels:
                _fail(path, f"{k}.{lang}", f"duplicate label {label!r} (also at {seen_labels[norm]})")
            seen_labels[norm] = k
        out.append(Option(code, labels, kind, also))
    _check_also(path, [(f"code {o.code}", f"{key}[{i}]", o.labels.values(), o.also)
                       for i, o in enumerate(out)])
    return tuple(out)


def _check_also(path, entries) -> None:
    """Another wording (`also`) may not be a label, in any language, or another wording
    of another option or item: entries are (name, key, labels, also)."""
    owner = {normalise_text(label): name for name, _, labels, _ in entries for label in labels}
    for name, key, _, also in entries:
        for label in also:
            if owner.setdefault(normalise_text(label), name) != name:
                _fail(path, f"{key}.also", f"duplicate label {label!r} (also {owner[normalise_text(label)]})")


@lru_cache(maxsize=None)
def load_common(directory: str | None = None) -> dict:
    path = Path(directory or CODEBOOK_DIR) / "_common.yaml"
    data = _load_yaml(path)
    if not isinstance(data, dict):
        _fail(path, "(top)", "must be a mapping")
    scales = {}
    for name, spec in (data.get("scales") or {}).items():
        key = f"scales.{name}"
        if not isinstance(spec, dict):
            _fail(path, key, "must be a mapping with points and top2")
        points = _options(path, f"{key}.points", spec.get("points"), kind="scale")
        top2 = tuple(spec.get("top2") or ())
        codes = {p.code for p in points}
        if not top2 or not set(top2) <= codes:
            _fail(path, f"{key}.top2", f"top2 {list(top2)} must be codes of the scale {sorted(codes)}")
        scales[name] = Scale(name, spec.get("description", name), points, top2)
    if not scales:
        _fail(path, "scales", "no scales defined")
    special = {}
    for name in (NO_OPINION, NOT_APPLICABLE):
        entry = (data.get("special") or {}).get(name)
        if not isinstance(entry, dict) or "code" not in entry:
            _fail(path, f"special.{name}", "missing", "{code: 98, nl: ...}")
        special[name] = Option(int(entry["code"]), _labels(path, f"special.{name}", entry), name,
                               _also(path, f"special.{name}", entry))
    for s in scales.values():
        clash = {o.code for o in special.values()} & set(s.codes)
        if clash:
            _fail(path, "special", f"codes {sorted(clash)} clash with scale {s.name}")
    option_sets = {
        name: _options(path, f"option_sets.{name}", entries)
        for name, entries in (data.get("option_sets") or {}).items()
    }
    nps = data.get("nps") or {}
    try:
        bands = {
            "min": int(nps["min"]),
            "max": int(nps["max"]),
            "promoters": tuple(range(int(nps["promoters"][0]), int(nps["promoters"][1]) + 1)),
            "passives": tuple(range(int(nps["passives"][0]), int(nps["passives"][1]) + 1)),
            "detractors": tuple(range(int(nps["detractors"][0]), int(nps["detractors"][1]) + 1)),
        }
    except (KeyError, TypeError, ValueError, IndexError):
        _fail(path, "nps", "needs min, max and [low, high] for promoters, passives, detractors")
    return {"scales": scales, "special": special, "option_sets": option_sets, "nps": bands, "path": path}


def _texts(path, key, spec) -> dict[str, tuple[str, ...]]:
    if not isinstance(spec, dict) or "nl" not in spec:
        _fail(path, key, "needs the question text per language, at least nl")
    out = {}
    for lang, value in spec.items():
        if lang not in LANGUAGES:
            _fail(path, f"{key}.{lang}", "unknown language", f"one of {', '.join(LANGUAGES)}")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            _fail(path, f"{key}.{lang}", "must be a text or a list of texts")
        out[lang] = tuple(v.strip() for v in values)
    return out


def _question(path, qid, spec, common) -> Question:
    key = f"questions.{qid}"
    if not isinstance(spec, dict):
        _fail(path, key, "must be a mapping")
    unknown = set(spec) - _QUESTION_KEYS
    if unknown:
        _fail(path, f"{key}.{sorted(unknown)[0]}", "unknown key", f"one of {', '.join(sorted(_QUESTION_KEYS))}")
    qtype = spec.get("type")
    if qtype not in QUESTION_TYPES:
        _fail(path, f"{key}.type", f"unknown question type {qtype!r}", f"one of {', '.join(QUESTION_TYPES)}")
    options: tuple[Option, ...] = ()
    if qtype in ("single", "multi"):
        raw = spec.get("options")
        if isinstance(raw, str):
            if raw not in common["option_sets"]:
                _fail(path, f"{key}.options", f"unknown option set {raw!r}",
                      f"one of {', '.join(common['option_sets'])} (from _common.yaml) or a list")
            options = common["option_sets"][raw]
        else:
            options = _options(path, f"{key}.options", raw)
        reserved = {o.code for o in common["special"].values()} & {o.code for o in options}
        if reserved:
            _fail(path, f"{key}.options", f"codes {sorted(reserved)} are reserved for Geen mening / Niet van toepassing")
    elif spec.get("options") is not None:
        _fail(path, f"{key}.options", f"a {qtype} question takes no options")
    items, item_also = {}, {}
    if qtype == "matrix":
        raw_items = spec.get("items")
        if not isinstance(raw_items, dict) or not raw_items:
            _fail(path, f"{key}.items", "a matrix needs items", "{item_id: {nl: label, ...}}")
        seen = {}
        for item_id, labels in raw_items.items():
            if not isinstance(labels, dict):
                _fail(path, f"{key}.items.{item_id}", "must map languages to labels")
            items[str(item_id)] = _labels(path, f"{key}.items.{item_id}", labels)
            item_also[str(item_id)] = _also(path, f"{key}.items.{item_id}", labels)
            for lang, label in items[str(item_id)].items():
                norm = (lang, normalise_text(label))
                if norm in seen:
                    _fail(path, f"{key}.items.{item_id}.{lang}", f"duplicate item label {label!r} (also {seen[norm]})")
                seen[norm] = item_id
        _check_also(path, [(f"item {i}", f"{key}.items.{i}", items[i].values(), item_also[i])
                           for i in items])
    for year_key in ("from_year", "until_year"):
        if spec.get(year_key) is not None and (
                isinstance(spec[year_key], bool) or not isinstance(spec[year_key], int)):
            _fail(path, f"{key}.{year_key}", "must be a year")
    offset = spec.get("numeric_offset", 1)
    if not isinstance(offset, int):
        _fail(path, f"{key}.numeric_offset", "must be a whole number")
    return Question(
        id=qid,
        type=qtype,
        label=str(spec.get("label") or qid),
        texts=_texts(path, f"{key}.text", spec.get("text")),
        options=options,
        items=items,
        from_year=spec.get("from_year"),
        until_year=spec.get("until_year"),
        not_applicable=bool(spec.get("not_applicable", False)),
        no_opinion=bool(spec.get("no_opinion", qtype in ("scale", "matrix"))),
        other=bool(spec.get("other", False)),
        numeric_offset=offset,
        item_also=item_also,
    )


def load_codebook(survey_or_path: str | Path, directory: str | Path | None = None) -> Codebook:
    """Load and validate one survey's codebook (by survey id or file path)."""
    try:
        return _load_codebook(survey_or_path, directory)
    except AgiiError:
        raise
    except Exception as exc:  # a shape not foreseen below: still one line, never a traceback
        raise AgiiError(f"cannot be read as a codebook ({type(exc).__name__}: {exc})",
                        file=_codebook_name(survey_or_path)) from exc


def _codebook_name(survey_or_path: str | Path) -> str:
    name = Path(str(survey_or_path)).name
    return name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"


def _load_codebook(survey_or_path: str | Path, directory: str | Path | None = None) -> Codebook:
    if isinstance(survey_or_path, Path) or str(survey_or_path).endswith((".yaml", ".yml")):
        path = Path(survey_or_path)
    else:
        path = Path(directory or CODEBOOK_DIR) / f"{survey_or_path}.yaml"
        if not path.exists():
            raise AgiiError(
                f"unknown survey {survey_or_path!r}",
                expected=f"one of {', '.join(available_surveys(directory))}",
            )
    common = load_common(str(path.parent) if (path.parent / "_common.yaml").exists() else None)
    data = _load_yaml(path)
    if not isinstance(data, dict):
        _fail(path, "(top)", "a codebook must be a mapping")
    unknown = set(data) - _SURVEY_KEYS
    if unknown:
        _fail(path, sorted(unknown)[0], "unknown key", f"one of {', '.join(sorted(_SURVEY_KEYS))}")
    for required in ("survey", "title", "cadence", "questions", "scale_by_year", "headline"):
        if data.get(required) in (None, "", {}):
            _fail(path, required, "missing")
    if data["cadence"] not in CADENCES:
        _fail(path, "cadence", f"unknown cadence {data['cadence']!r}", " or ".join(CADENCES))
    raw_languages = data.get("languages") or ["nl"]
    if isinstance(raw_languages, str):
        raw_languages = [raw_languages]
    if not isinstance(raw_languages, list):
        _fail(path, "languages", "must be a list of language codes", "[nl, en, ...]")
    languages = tuple(raw_languages)
    for lang in languages:
        if lang not in LANGUAGES:
            _fail(path, "languages", f"unknown language {lang!r}", f"one of {', '.join(LANGUAGES)}")
    scale_by_year = {}
    if not isinstance(data["scale_by_year"], dict):
        _fail(path, "scale_by_year", "must map years to scale names", "{2021: SAT4, 2022: SAT5}")
    for year, name in data["scale_by_year"].items():
        if isinstance(year, bool) or not isinstance(year, int):
            _fail(path, f"scale_by_year.{year}", "keys must be years")
        if not isinstance(name, str):
            _fail(path, f"scale_by_year.{year}", f"{name!r} is not a scale name", f"one of {', '.join(common['scales'])}")
        if name not in common["scales"]:
            _fail(path, f"scale_by_year.{year}", f"unknown scale {name!r}", f"one of {', '.join(common['scales'])}")
        scale_by_year[year] = name
    if not isinstance(data["questions"], dict):
        _fail(path, "questions", "must map question ids to definitions")
    questions = {str(qid): _question(path, str(qid), spec, common) for qid, spec in data["questions"].items()}
    seen_texts: dict[tuple[str, str], str] = {}
    for q in questions.values():
        for lang, texts in q.texts.items():
            for t in texts:
                norm = (lang, normalise_text(t))
                if norm in seen_texts and seen_texts[norm] != q.id and not (
                    _disjoint_years(q, questions[seen_texts[norm]])
                ):
                    _fail(path, f"questions.{q.id}.text.{lang}", f"same text as question {seen_texts[norm]!r}")
                seen_texts[norm] = q.id
    def _check_ref(key, qid, types):
        if not isinstance(qid, str) or qid not in questions:
            _fail(path, key, f"unknown question {qid!r}", f"one of {', '.join(questions)}")
        if questions[qid].type not in types:
            _fail(path, key, f"question {qid!r} is of type {questions[qid].type}", " or ".join(types))
    _check_ref("headline", data["headline"], ("scale",))
    if data.get("nps"):
        _check_ref("nps", data["nps"], ("nps",))
    if data.get("improvement"):
        _check_ref("improvement", data["improvement"], ("open",))
    raw_breakdowns = data.get("breakdowns") or []
    if isinstance(raw_breakdowns, str):
        raw_breakdowns = [raw_breakdowns]
    if not isinstance(raw_breakdowns, list):
        _fail(path, "breakdowns", "must be a list of question ids")
    breakdowns = tuple(raw_breakdowns)
    for i, qid in enumerate(breakdowns):
        _check_ref(f"breakdowns[{i}]", qid, ("single",))
    subgroups = {}
    if not isinstance(data.get("subgroups") or {}, dict):
        _fail(path, "subgroups", "must map subgroup names to {label, question, codes}")
    for name, spec in (data.get("subgroups") or {}).items():
        key = f"subgroups.{name}"
        if not isinstance(spec, dict) or "question" not in spec or "codes" not in spec:
            _fail(path, key, "needs label, question and codes")
        if not isinstance(spec["codes"], list) or not all(
                isinstance(c, int) and not isinstance(c, bool) for c in spec["codes"]):
            _fail(path, f"{key}.codes", f"{spec['codes']!r} is not a list of option codes", "[1, 2]")
        _check_ref(f"{key}.question", spec["question"], ("single",))
        valid = {o.code for o in questions[spec["question"]].options}
        if not set(spec["codes"]) <= valid:
            _fail(path, f"{key}.codes", f"codes {spec['codes']} not all options of {spec['question']}", str(sorted(valid)))
        subgroups[str(name)] = {"label": spec.get("label", name), "question": spec["question"], "codes": list(spec["codes"])}
    return Codebook(
        survey=str(data["survey"]),
        title=str(data["title"]),
        short_title=str(data.get("short_title") or data["title"]),
        client_group=str(data.get("client_group") or ""),
        cadence=data["cadence"],
        languages=languages,
        scale_by_year=scale_by_year,
        headline=data["headline"],
        nps=data.get("nps"),
        breakdowns=breakdowns,
        subgroups=subgroups,
        questions=questions,
        scales=common["scales"],
        special=common["special"],
        nps_bands=common["nps"],
        path=path,
        first_year=_first_year(path, data.get("first_year")),
        improvement=data.get("improvement") or None,
    )


def _first_year(path: Path, value) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1990):
        _fail(path, "first_year", f"{value!r} is not a year", "the year of the survey's first edition, e.g. 2022")
    return value


def _disjoint_years(a: Question, b: Question) -> bool:
    a_lo, a_hi = a.from_year or -10**6, a.until_year or 10**6
    b_lo, b_hi = b.from_year or -10**6, b.until_year or 10**6
    return a_hi < b_lo or b_hi < a_lo


def available_surveys(directory: str | Path | None = None) -> list[str]:
    return sorted(p.stem for p in Path(directory or CODEBOOK_DIR).glob("*.yaml") if not p.name.startswith("_"))
