"""Improvement themes in the open answers to the codebook's `improvement` question
(in the agency's surveys "Wat kunnen we volgens u verbeteren?").

Themes and their patterns live in codebooks/_themes.yaml, so a researcher adds or
refines a theme without touching code. Coding is deliberately simple and auditable:
a theme is present when one of its regular expressions is found in the answer. The
same module redacts personal data from answers before any of them is quoted.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import yaml

from . import stats
from .errors import AgiiError

__all__ = [
    "LANGUAGES",
    "MAX_CODED_CHARS",
    "QUOTE_MAX_CHARS",
    "NOTHING_THEME",
    "UNCODED",
    "Theme",
    "ThemeBook",
    "default_path",
    "load_themes",
    "fold",
    "is_answer",
    "code_answers",
    "uncoded",
    "theme_table",
    "redact",
    "select_quotes",
]

LANGUAGES = ("nl", "en", "fr", "ar", "uk")
PRIMARY = "nl"
UNCODED = "ongecodeerd"
NOTHING_THEME = "niets"  # _themes.yaml: answers saying nothing needs improving, no improvement point
UNCODED_LABEL = "Niet gecodeerd"
# Only the start of an answer is coded: a pasted 10 MB text must not cost minutes, and
# no genuine improvement suggestion needs more than this to name its theme.
MAX_CODED_CHARS = 20_000
QUOTE_MAX_CHARS = 300

_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_THEME_KEYS = {"id", "label", "patterns", "surveys"}


def default_path() -> Path:
    return Path(__file__).parent / "codebooks" / "_themes.yaml"


# ---------------------------------------------------------------------------
# text folding: accents, Arabic vowel marks and invisible characters do not count

_IGNORED = re.compile(
    "["
    "\u0300-\u036f"  # Latin combining accents (after NFKD)
    "\u0483-\u0489"  # Cyrillic combining marks
    "\u0591-\u05c7"  # Hebrew points
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"  # Arabic harakat, hamza above/below
    "\u0640"  # Arabic tatweel
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"  # other combining marks
    "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"  # soft hyphen, zero-width, bidi
    "]"
)
_FOLD_TABLE = str.maketrans(
    {
        "\u0649": "\u064a",  # alef maksura -> yeh
        "\u0629": "\u0647",  # teh marbuta -> heh (often typed so)
        "\u06cc": "\u064a",  # Farsi yeh -> Arabic yeh
        "\u06a9": "\u0643",  # keheh -> kaf
        "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
    }
)


def fold(text: str) -> str:
    """Text as matched: NFKD, combining marks and bidi/zero-width characters removed.

    Applied to answers and to patterns alike, so "é" matches "e", "أ" matches "ا",
    "ї" matches "і", and a right-to-left mark inside a word changes nothing.
    """
    return _IGNORED.sub("", unicodedata.normalize("NFKD", text)).translate(_FOLD_TABLE)


# ---------------------------------------------------------------------------
# the theme book


@dataclass(frozen=True)
class Theme:
    """One improvement theme: stable id, Dutch label, patterns per language."""

    id: str
    label: str
    patterns: Mapping[str, tuple[str, ...]]
    surveys: tuple[str, ...] | None = None

    def applies_to(self, survey: str | None) -> bool:
        return survey is None or self.surveys is None or survey in self.surveys


@dataclass(frozen=True)
class ThemeBook:
    """The validated themes, with one compiled matcher per theme and language."""

    themes: tuple[Theme, ...]
    path: str | None = None
    _matchers: Mapping[tuple[str, str], re.Pattern | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def labels(self) -> dict[str, str]:
        return {t.id: t.label for t in self.themes}

    def get(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise AgiiError(
            f"unknown theme {theme_id!r}", file=self.path, expected=f"one of {self.ids}"
        )

    def for_survey(self, survey: str | None) -> tuple[Theme, ...]:
        return tuple(t for t in self.themes if t.applies_to(survey))

    def matcher(self, theme_id: str, language: str | None) -> re.Pattern | None:
        """Patterns of the answer's language plus the Dutch ones, as one regex."""
        lang = language if language in LANGUAGES else PRIMARY
        return self._matchers.get((theme_id, lang))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (YAML would keep the last silently)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _nested_quantifier(pattern: str) -> bool:
    """True when a repeated group contains another repeat, e.g. (a+)+ or (\\w*)*.

    Such patterns can backtrack exponentially on a long answer; they are never
    needed for word stems. If the private parser is unavailable the check is skipped.
    """
    try:
        from re import _constants as c, _parser as p  # Python >= 3.11
    except ImportError:  # pragma: no cover
        return False
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}
    if hasattr(c, "POSSESSIVE_REPEAT"):
        repeats.add(c.POSSESSIVE_REPEAT)

    def walk(items, inside: bool) -> bool:
        for op, av in items:
            if op in repeats:
                _lo, hi, sub = av
                many = hi is c.MAXREPEAT or hi > 1
                if inside and many:
                    return True
                if walk(sub, inside or many):
                    return True
            elif op is c.SUBPATTERN:
                if walk(av[-1], inside):
                    return True
            elif op is c.BRANCH:
                if any(walk(branch, inside) for branch in av[1]):
                    return True
            elif op in (c.ASSERT, c.ASSERT_NOT):
                if walk(av[1], inside):
                    return True
            elif getattr(c, "ATOMIC_GROUP", None) is op:
                if walk(av, inside):
                    return True
            elif op is c.GROUPREF_EXISTS:
                if walk(av[1], inside) or (av[2] is not None and walk(av[2], inside)):
                    return True
        return False

    try:
        return walk(p.parse(pattern), False)
    except Exception:  # pragma: no cover - compile() already accepted it
        return False


def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def load_themes(path: str | Path | None = None) -> ThemeBook:
    """Read and validate a theme file; every problem names the file and the key.

    A build process reads it once per change of the file, not once per report."""
    path = Path(path) if path is not None else default_path()
    try:
        stat = path.stat()
    except OSError:
        return _load_themes(path)
    return _load_themes_cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_themes_cached(path: str, mtime_ns: int, size: int) -> ThemeBook:
    return _load_themes(Path(path))


def _load_themes(path: Path) -> ThemeBook:

    def fail(problem: str, expected: str | None = None):
        raise AgiiError(problem, file=path, expected=expected)

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        fail("theme file not found")
    except UnicodeDecodeError as exc:
        fail(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        fail(f"{where}invalid YAML: {what}")

    if isinstance(data, dict):
        unknown = set(data) - {"themes"}
        if unknown:
            fail(f"unknown top-level key(s) {sorted(map(str, unknown))}", "only 'themes'")
        data = data.get("themes")
    if not isinstance(data, list) or not data:
        fail("no themes", "a non-empty list under 'themes:'")

    themes: list[Theme] = []
    seen: set[str] = set()
    for i, entry in enumerate(data):
        key = f"themes[{i}]"
        if not isinstance(entry, dict):
            fail(f"{key}: not a mapping", "id, label, patterns")
        unknown = set(entry) - _THEME_KEYS
        if unknown:
            fail(f"{key}: unknown key(s) {sorted(map(str, unknown))}", f"keys among {sorted(_THEME_KEYS)}")
        theme_id = entry.get("id")
        if not isinstance(theme_id, str) or not _ID.match(theme_id):
            fail(f"{key}.id: {theme_id!r} is not a valid id", "lowercase letters, digits and _")
        if theme_id == UNCODED:
            fail(f"{key}.id: {UNCODED!r} is reserved for answers without a theme")
        if theme_id in seen:
            fail(f"{key}.id: duplicate id {theme_id!r}", "unique theme ids")
        seen.add(theme_id)
        label = entry.get("label")
        if not isinstance(label, str) or not label.strip():
            fail(f"{key}.label: missing or empty", "a Dutch label")
        surveys = entry.get("surveys")
        if surveys is not None:
            if isinstance(surveys, str):
                surveys = [surveys]
            if not isinstance(surveys, list) or not surveys or not all(
                isinstance(s, str) and _ID.match(s) for s in surveys
            ):
                fail(f"{key}.surveys: {surveys!r} is not a list of survey ids", "e.g. [lokale_besturen]")
            surveys = tuple(surveys)
        patterns = entry.get("patterns")
        if not isinstance(patterns, dict) or not patterns:
            fail(f"{key}.patterns: missing", f"a mapping from language ({', '.join(LANGUAGES)}) to patterns")
        by_lang: dict[str, tuple[str, ...]] = {}
        for lang, items in patterns.items():
            lkey = f"{key}.patterns.{lang}"
            if lang not in LANGUAGES:
                fail(f"{lkey}: unknown language {lang!r}", f"one of {', '.join(LANGUAGES)}")
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not items:
                fail(f"{lkey}: no patterns", "a list of regular expressions")
            folded = []
            for j, pat in enumerate(items):
                pkey = f"{lkey}[{j}]"
                if not isinstance(pat, str):
                    fail(
                        f"{pkey}: {pat!r} is not text",
                        "a quoted string (YAML reads no, yes, on, off and numbers unquoted as other types)",
                    )
                if not pat.strip():
                    fail(f"{pkey}: empty pattern", "a regular expression")
                fpat = fold(pat)
                try:
                    _compile(f"(?:{fpat})")
                except re.error as exc:
                    fail(f"{pkey}: invalid regular expression {pat!r}: {exc}")
                if _compile(fpat).search(""):
                    fail(f"{pkey}: pattern {pat!r} matches the empty answer", "a pattern that needs at least one character")
                if _nested_quantifier(fpat):
                    fail(
                        f"{pkey}: pattern {pat!r} repeats a group that itself repeats (e.g. (a+)+)",
                        "no nested quantifiers: they can hang on long answers",
                    )
                folded.append(fpat)
            by_lang[lang] = tuple(folded)
        themes.append(Theme(theme_id, label.strip(), by_lang, surveys))

    matchers: dict[tuple[str, str], re.Pattern | None] = {}
    for theme in themes:
        for lang in LANGUAGES:
            pats = list(theme.patterns.get(PRIMARY, ()))
            if lang != PRIMARY:
                pats += list(theme.patterns.get(lang, ()))
            matchers[(theme.id, lang)] = (
                _compile("|".join(f"(?:{p})" for p in pats)) if pats else None
            )
    return ThemeBook(tuple(themes), str(path), matchers)


# ---------------------------------------------------------------------------
# coding


def _as_text(value) -> str | None:
    """The answer as text, or None for a missing or blank answer."""
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        value = str(value)
    return value if value.strip() else None


def is_answer(texts: pd.Series) -> pd.Series:
    """True where an answer is present (not missing, not only whitespace)."""
    return pd.Series([_as_text(t) is not None for t in texts], index=texts.index, dtype=bool)


def _language(value) -> str:
    if not isinstance(value, str):
        return PRIMARY
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else PRIMARY


def code_answers(
    texts: pd.Series,
    languages: pd.Series | str | None = None,
    book: ThemeBook | None = None,
    survey: str | None = None,
) -> pd.DataFrame:
    """Boolean matrix: one row per answer (texts.index), one column per theme id.

    An answer is matched with the Dutch patterns and those of its language (missing
    or unknown language: Dutch only). Themes restricted to other surveys are left
    out. Missing or blank answers are all False; pass only answers if they should not
    count as "ongecodeerd". Only the first MAX_CODED_CHARS characters are coded.
    """
    book = book if book is not None else load_themes()
    texts = pd.Series(texts)
    if isinstance(languages, pd.Series):
        if not languages.index.equals(texts.index):
            if len(languages) != len(texts) or not languages.index.isin(texts.index).all():
                raise AgiiError(
                    "languages do not line up with the answers",
                    expected="a language Series with the same index as the texts",
                )
            languages = languages.reindex(texts.index)
        langs = [_language(v) for v in languages]
    else:
        langs = [_language(languages)] * len(texts)
    themes = book.for_survey(survey)
    folded = []
    for value in texts:
        text = _as_text(value)
        folded.append(fold(text[:MAX_CODED_CHARS]) if text is not None else None)
    matrix = np.zeros((len(texts), len(themes)), dtype=bool)
    for j, theme in enumerate(themes):
        for i, (text, lang) in enumerate(zip(folded, langs)):
            if text is None:
                continue
            rx = book.matcher(theme.id, lang)
            if rx is not None and rx.search(text):
                matrix[i, j] = True
    coded = pd.DataFrame(matrix, index=texts.index, columns=[t.id for t in themes])
    coded.columns.name = "theme"
    return coded


def uncoded(coded: pd.DataFrame) -> pd.Series:
    """True for answers that match no theme."""
    return ~coded.any(axis=1)


THEME_COLUMNS = ["theme", "label", "n", "base", "share", "lo", "hi"]  # base: every answer to the open question


def theme_table(
    coded: pd.DataFrame,
    n_answers: int | None = None,
    N: int | None = None,
    book: ThemeBook | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Count and share of answers per theme (Wilson interval), most frequent first.

    The denominator is every answer, coded or not (default len(coded)); one answer
    can have several themes, so shares do not add up to 1. The last row,
    "ongecodeerd", counts the answers with no theme.
    """
    n_answers = len(coded) if n_answers is None else n_answers
    n_coded = int(coded.any(axis=1).sum()) if len(coded.columns) else 0
    if n_answers < n_coded:
        raise AgiiError(
            f"n_answers = {n_answers} is smaller than the {n_coded} coded answers",
            expected="n_answers >= number of answers with a theme",
        )
    labels = book.labels if book is not None else {}
    rows = []
    for theme_id in coded.columns:
        prop = stats.proportion(int(coded[theme_id].sum()), n_answers, N, conf)
        rows.append((theme_id, labels.get(theme_id, theme_id), prop))
    rows.sort(key=lambda r: -r[2].k)  # stable: ties keep the theme-file order
    rows.append((UNCODED, UNCODED_LABEL, stats.proportion(n_answers - n_coded, n_answers, N, conf)))
    return pd.DataFrame(
        [
            {"theme": tid, "label": label, "n": prop.k, "base": prop.n, "share": prop.p, "lo": prop.lo, "hi": prop.hi}
            for tid, label, prop in rows
        ],
        columns=THEME_COLUMNS,
    )


# ---------------------------------------------------------------------------
# redaction
#
# Every quantifier below is bounded or follows a fixed prefix, and each pattern starts
# with a lookbehind that only lets a match begin at the start of a token, so the
# cost is linear in the length of the answer.

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_URL = re.compile(r"(?<![\w@/])(?:(?:https?|ftp)://|www\.)[^\s<>\"'()\[\]{}]{1,2000}", re.IGNORECASE)
# Bare web addresses (agii.be/contact). Lowercase top-level domains only, and none that
# is a common word, so "goed.De les" or "klaar.Net" (a missing space) is left alone.
_DOMAIN = re.compile(
    r"(?<![\w@./-])(?:[\w-]{1,63}\.){1,6}"
    r"(?:be|com|org|net|eu|nl|fr|info|vlaanderen|brussels|gent|gov|ua)"
    r"(?![\w-])(?:/[^\s<>\"'()\[\]{}]{0,2000})?"
)
# Rijksregisternummer: yy.mm.dd-xxx.cc, separators optional, or 11 digits in a row.
_RRN = re.compile(r"(?<![\d+])\d{2}[-. ]?\d{2}[-. ]?\d{2}[-. ]?\d{3}[-. ]?\d{2}(?!\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9](?:[ .\-/()]{0,2}\d){7,14}")
# Belgian numbers: 0 + zone/mobile prefix, then groups of 2-3 digits (9 or 10 digits),
# or 9-10 digits in a row. Dates (01/02/2023) fail on the four-digit year group.
_PHONE_NAT = re.compile(
    r"(?<![\d+.,])(?:\(0\d{1,3}\)|0\d{1,3})(?:[ .\-/]{1,2}\d{2,3}){2,4}(?!\d)"
    r"|(?<![\d+.,])0\d{8,9}(?!\d)"
)
# Bank account numbers (IBAN: BE68 5390 0754 7034): a country's code and length, groups
# of four (space, dash or dot between them, or none), and a valid check (mod 97), so a
# reference or a word of the same shape is left alone.
_IBAN_LENGTHS = {country: length for length, countries in {
    15: "NO", 16: "BE", 18: "DK FI NL", 19: "MK SI", 20: "AT BA EE LT LU XK", 21: "CH HR LV",
    22: "BG DE GB GE IE ME RS", 23: "IQ", 24: "AD CZ ES MD RO SA SE SK TN", 25: "PT", 26: "DZ IS TR",
    27: "FR GR IT MC",  # not-a-published-figure: the length of those countries' IBANs
    28: "AL CY HU LB MA PL", 29: "PS UA", 30: "JO", 31: "MT SY",
}.items() for country in countries.split()}
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ .\-]?[A-Za-z0-9]){11,30}", re.ASCII)
_TRAILING = ".,;:!?"


def valid_iban(value: str) -> bool:
    """An IBAN of a known country and length whose check (mod 97) holds."""
    compact = re.sub(r"[ .\-]", "", value).upper()
    if not compact.isascii() or not compact.isalnum() or _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


def _iban_end(candidate: str) -> int | None:
    """Length of the valid IBAN at the start of `candidate` (the pattern may run on into
    the next word: "BE68 5390 0754 7034 voor de huur"), None if there is none."""
    length = _IBAN_LENGTHS.get(candidate[:2].upper())
    if length is None:
        return None
    taken = 0
    for end, ch in enumerate(candidate, 1):
        taken += ch.isalnum()
        if taken == length:
            ok = valid_iban(candidate[:end]) and not (end < len(candidate) and candidate[end].isalnum())
            return end if ok else None
    return None


def iban_spans(text: str):
    """(start, end) of each valid IBAN, in order; after a candidate that is none, the
    search goes on from its next character (an IBAN may follow a look-alike)."""
    pos = 0
    while (m := _IBAN.search(text, pos)) is not None:
        end = _iban_end(m.group(0))
        if end is None:
            pos = m.start() + 1
            continue
        yield m.start(), m.start() + end
        pos = m.start() + end


def _tag_spans(text: str, spans, tag: str) -> str:
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], tag]
        last = end
    return "".join(parts) + text[last:] if parts else text


def _national_phone_tag(match: re.Match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[telefoon]" if digits in (9, 10) else match.group(0)


# Names. Without a list of names, a name is recognised by what comes before it: a form
# of address or a role (juf Sarah, mevrouw Janssens, lesgever Ahmed, Madame Dubois),
# a self-introduction (ik heet ..., je m'appelle ...), a greeting or a thank-you
# (groeten Sarah, bedankt Ahmed); then the capitalised words (with particles: van der
# Berg, El Amrani, D'Hondt, Anne-Marie) are the name. A name without a cue, in lower
# case or in Arabic script is not found.
_NAME_CUES = (
    # nl: forms of address and the roles respondents name people by
    "meneer mijnheer mevrouw mevr mw dhr heer juf juffen juffie juffrouw meester leerkracht leerkrachten "
    "lesgever lesgeefster lesgevers leraar lerares leraren docent docente docenten begeleider begeleidster "
    "begeleiders trajectbegeleider trajectbegeleidster consulent consulente medewerker medewerkster coach "
    "taalcoach jobcoach werkcoach tolk collega dokter dr mentor buddy directeur directrice coördinator "
    "coordinator assistent assistente vrijwilliger vrijwilligster loopbaanbegeleider taalbegeleider "
    "onthaalmedewerker baliemedewerker naam voornaam achternaam "
    # fr, en
    "monsieur madame mademoiselle mme mlle professeur prof formateur formatrice enseignant enseignante "
    "conseiller conseillère animateur animatrice assistante nom prénom "
    "mr mrs miss mister sir teacher trainer tutor instructor name "
    # uk, ru (Cyrillic has capitals; Arabic script has none, so no cue helps there)
    "пан пані вчитель вчителька вчительці викладач викладачка викладачці учитель учительница учителю "
    "преподаватель господин госпожа я"
).split()
_NAME_ABBREVIATIONS = {"mevr", "mw", "dhr", "dr", "mr", "mrs", "mme", "mlle", "prof", "juf"}  # may end in "."
_NAME_CUES_DOTTED = ["m."]  # Monsieur: only with its dot
_NAME_PHRASES = [  # self-introductions, greetings and thanks (words separated by any white space)
    "mijn naam is", "mijn naam", "mijn voornaam is", "ik heet", "ik heten", "ik noem", "ik ben", "bedankt",
    "bedankt aan", "dank aan", "dankzij", "maatschappelijk werker", "maatschappelijk werkster",
    "dank u", "dank u wel", "dank je", "dank je wel", "dankjewel", "dankuwel", "met dank aan", "groetjes",
    "groeten", "groet", "met vriendelijke groet", "met vriendelijke groeten", "mvg",
    "je m'appelle", "je m’appelle", "mon nom est", "je suis", "moi c'est", "moi c’est", "merci", "merci beaucoup",
    "merci à", "assistant social", "assistante sociale",
    "my name is", "my name's", "my name’s", "i am", "i'm", "i’m", "thanks", "thanks to", "thank you", "thank you to",
    "дякую", "спасибо", "меня зовут", "мене звати",
]
_CUE_SEP = r"(?:(?:\s*+[:,(\-–'\"“‘«]){1,2}+\s*+|\s++|(?<=\.))"  # juf: 'Sarah'; (?<=\.): juf.Sarah
_CUE = "(?:" + "|".join(sorted(
    [re.escape(c) + (r"\.?" if c in _NAME_ABBREVIATIONS else "") for c in _NAME_CUES]
    + [re.escape(c) for c in _NAME_CUES_DOTTED]
    + [r"\s++".join(map(re.escape, p.split())) for p in _NAME_PHRASES], key=len, reverse=True)) + ")"
_NAME_WORD = r"(?:['’]t(?![^\W\d_])|[^\W\d_](?:[^\W\d_]|[-'’](?=[^\W\d_])){0,40}+\.?(?!\d))"
# A cue may follow a cue (dank aan juf Sarah, Merci Madame Dubois). Both chains are
# bounded, the quantifiers possessive and a match starts only at a cue's first letter,
# so the cost stays linear in the length of the answer.
_NAME_CUE = re.compile(
    rf"(?=[{''.join(sorted({c[0] for c in _NAME_CUES + _NAME_PHRASES}))}])(?<![^\W\d_]){_CUE}"
    rf"(?:{_CUE_SEP}{_CUE}){{0,3}}{_CUE_SEP}((?:{_NAME_WORD}[ \t\u00a0]*+){{1,6}})",
    re.IGNORECASE,
)
# another name after one: juf Sarah en Anna, Bedankt Sarah, Tom en Ali
_NAME_AND = re.compile(rf"[ \t\u00a0]*+(?:,|en|and|et|&|of|und)[ \t\u00a0]++((?:{_NAME_WORD}[ \t\u00a0]*+){{1,6}})",
                       re.IGNORECASE)
_NAME_PARTICLES = {"van", "de", "der", "den", "het", "'t", "’t", "ten", "ter", "te", "op", "el", "al", "ben",
                   "bin", "ibn", "abu", "le", "la", "du", "da", "di", "des", "dos", "von", "zu", "mc"}
# Capitalised words after a cue that are no name: sentence words, places, languages,
# software, the agency's terms (the cue words themselves are added below).
_NOT_NAMES = set("""
de het een ik jij je u hij zij ze wij we jullie dat die dit deze daar er en of maar want voor van met om op in
aan bij als is was zijn waren heeft had heel zeer erg echt goed super top fijn leuk lief vriendelijk veel
alles niet geen ook nog wel hartelijk hartelijke dank bedankt groeten groetjes mvg vriendelijke tevreden blij
allemaal iedereen team jou uw hun haar hem mij me mijn hoor uit nodig moet spreekt praat geeft belt
antwoordt geduldig duidelijk uitstekend prima altijd nooit soms graag meer minder volgend vorige
le la les un une il elle nous vous ils elles et mais pour avec très tres bien tout tous beaucoup
the a an he she it they you i and but for with very so all everything thanks thank good great happy not
nice kind helpful my your our excellent patient
agii agentschap integratie inburgering inburgeraar inburgeraars huis actiris atlas wiskunde
maatschappelijke oriëntatie werk afspraak opleiding spelling gelukkig bezig monday lessen
onthaal stad gemeente burgerzaken hr ict anoniem teams word excel outlook zoom
belgië belgie belgium belgique vlaanderen brussel antwerpen gent бельгії бельгии
nederlands vlaams frans engels arabisch turks russisch oekraïens pools spaans portugees dari pashto pasjtoe
farsi perzisch koerdisch somalisch tigrinya berbers tamazight albanees roemeens bulgaars amhaars oerdoe urdu
armeens turkse arabische dutch english french arabic
""".split()) | set(_NAME_CUES)
_ALONE = {"al", "el", "ben", "bin", "ibn", "abu", "le", "da", "di", "du"}  # particles that are a whole name too


_NAME_WORD_RE = re.compile(_NAME_WORD)


def _theme_words():
    """A test whether a word is one the theme file's patterns match (Communicatie,
    Website): such a word is no name, so redaction never takes a theme from an answer."""
    try:
        book = load_themes()  # the same object while the file is unchanged
    except AgiiError:
        return lambda word: False
    if _THEME_WORD_TEST[0] is not book:
        matchers = [m for m in book._matchers.values() if m is not None]
        _THEME_WORD_TEST[:] = [book, functools.lru_cache(maxsize=1 << 16)(
            lambda word: any(m.search(fold(word)) for m in matchers))]
    return _THEME_WORD_TEST[1]


_THEME_WORD_TEST: list = [None, None]  # [theme book, its word test]


def _name_end(words: str, base: int, theme_word) -> int | None:
    """Where the name at the start of `words` (at `base` in the text) ends (None: no name
    there): its capitalised words, and the particles before a capitalised word. A word
    in capitals is an acronym (MO, VDAB), a theme's word no name; a word ending in "."
    ends the sentence, and so the name."""
    tokens = [(m.group(0), m.end()) for m in _NAME_WORD_RE.finditer(words)]
    end = pending = taken = 0
    capital_particle = False
    for i, (tok, tok_end) in enumerate(tokens):
        word = tok.rstrip(".")
        folded = word.casefold()
        later = next((t.rstrip(".") for t, _ in tokens[i + 1:] if t.rstrip(".").casefold() not in _NAME_PARTICLES), "")
        if folded in _NAME_PARTICLES and not tok.endswith(".") and taken + pending < 4 and later[:1].isupper():
            pending += 1
            capital_particle = word[:1].isupper()
            continue
        initial = len(word) == 1 and (tok.endswith(".") or later[:1].isupper())
        acronym = len(word) > 1 and word.isupper()
        surname = capital_particle and (folded in _NAME_CUES or theme_word(word))  # De Meester, Van Praet
        head, _, rest = word.partition("-")
        if rest[:1].isupper() and head.casefold() in _NAME_PARTICLES:  # al-Khatib, el-Amrani
            word, folded, surname = rest, rest.casefold(), True
        is_name = (word[:1].isupper() and (len(word) > 1 or initial) and not acronym
                   and (surname or (folded not in _NOT_NAMES and not (len(word) > 1 and theme_word(word)))))
        if not is_name:
            if folded in _ALONE and word[:1].isupper() and not taken and not later[:1].isupper():
                taken, end = 1, tok_end - (len(tok) - len(tok.rstrip(".")))  # Bedankt Ben!, mevrouw Le
            break
        taken, pending, capital_particle = taken + 1, 0, False
        end = tok_end - (0 if len(word) == 1 else len(tok) - len(tok.rstrip(".")))  # an initial keeps its dot
        if tok.endswith(".") and len(word) > 1:
            break
    return base + end if taken else None


def _lazy_theme_words():
    """_theme_words, looked up at its first use: the theme file is read (and its patterns
    compiled) only when a capitalised word after a cue could be a name."""
    test = []

    def theme_word(word: str) -> bool:
        if not test:
            test.append(_theme_words())
        return test[0](word)
    return theme_word


def name_spans(text: str):
    """(start, end) of each name found after a cue (or after "en" following a name), in order."""
    pos, theme_word = 0, _lazy_theme_words()
    while (m := _NAME_CUE.search(text, pos)) is not None:
        end = _name_end(m.group(1), m.start(1), theme_word)
        if end is None:
            pos = m.start(1)  # a cue may sit among the words taken: look again from there
            continue
        yield m.start(1), end
        while (more := _NAME_AND.match(text, end)) is not None:
            following = _name_end(more.group(1), more.start(1), theme_word)
            if following is None:
                break
            yield more.start(1), following
            end = following
        pos = end


def _url_tag(match: re.Match) -> str:
    url = match.group(0)
    kept = url.rstrip(_TRAILING)
    return "[url]" + url[len(kept):]


def redact(text: str) -> str:
    """Replace e-mail addresses, URLs, bank account, national register and phone
    numbers, and names after a cue, by tags.

    Tags: [e-mail], [url], [rekeningnummer], [rijksregisternummer], [telefoon], [naam].
    Ordinary numbers (years, percentages, dates, times) are left alone. Names are found
    only after a cue (juf Sarah, mevrouw Janssens, ik heet ..., bedankt Ahmed): a name
    on its own is not, so quotes still need a human read before publication.
    """
    if not isinstance(text, str):
        return text
    # Cheap substring checks skip a pattern that cannot match (long answers).
    if "@" in text:
        text = _EMAIL.sub("[e-mail]", text)
    lowered = text.lower()
    if "://" in text or "www." in lowered:
        text = _URL.sub(_url_tag, text)
    if "." in text:
        text = _DOMAIN.sub(_url_tag, text)
    text = _tag_spans(text, iban_spans(text), "[rekeningnummer]")
    text = _RRN.sub("[rijksregisternummer]", text)
    if "+" in text or "00" in text:
        text = _PHONE_INTL.sub("[telefoon]", text)
    if "0" in text:
        text = _PHONE_NAT.sub(_national_phone_tag, text)
    return _tag_spans(text, name_spans(text), "[naam]")


def _truncate(text: str, limit: int = QUOTE_MAX_CHARS) -> str:
    """At most `limit` characters, cut at a word boundary when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def select_quotes(
    texts: pd.Series,
    coded: pd.DataFrame,
    theme: str,
    max_n: int = 5,
    seed: int = 0,
) -> pd.Series:
    """Up to max_n redacted, whitespace-collapsed quotes for one theme (or "ongecodeerd").

    The pick is a seeded random sample of the distinct answers with that theme, so
    a rerun on the same data quotes the same answers. Returned in answer order,
    indexed like texts, each at most QUOTE_MAX_CHARS characters.
    """
    if theme == UNCODED:
        mask = uncoded(coded)
    elif theme in coded.columns:
        mask = coded[theme]
    else:
        raise AgiiError(f"unknown theme {theme!r}", expected=f"one of {list(coded.columns) + [UNCODED]}")
    if not isinstance(max_n, (int, np.integer)) or max_n < 0:
        raise AgiiError(f"max_n = {max_n!r}", expected="a whole number >= 0")
    mask = mask.reindex(texts.index, fill_value=False).astype(bool)
    candidates: list[tuple[object, str]] = []
    seen: set[str] = set()
    for idx, value in texts[mask].items():
        text = _as_text(value)
        if text is None:
            continue
        key = " ".join(text.casefold().split())
        if key in seen:
            continue
        seen.add(key)
        candidates.append((idx, text))
    take = min(int(max_n), len(candidates))
    if take == 0:
        return pd.Series([], index=texts.index[:0], dtype=object, name=theme)
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(candidates), size=take, replace=False).tolist())
    quotes = [_truncate(" ".join(redact(candidates[i][1]).split())) for i in picked]
    return pd.Series(quotes, index=[candidates[i][0] for i in picked], dtype=object, name=theme)
