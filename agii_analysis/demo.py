"""Deterministic demo exports: realistic SurveyMonkey files that reproduce the published figures.

The agency's real exports are confidential, so `agii demo` writes stand-ins under
`data/raw/demo/` from `demo/spec.yaml`. The spec holds every count (published figures
belong in data files, never in this module); this module only turns counts into rows:

1. `build_rows`: respondents with coded answers. Each category gets its exact count and a
   seeded `numpy.random.default_rng` only decides *who* gets it, so rounding can never
   miss a target. Scale, matrix and NPS answers are handed out by rank of a latent
   satisfaction (group shifts + noise), so groups differ and aspects correlate with the
   overall score while the totals stay exact.
2. `check_targets`: recounts the coded table and refuses to write when a target in the
   spec is not reproduced (a spec edit cannot silently break the demo).
3. `layout`: one export's grid (two header rows + one row per respondent) from codebook
   texts and labels, in the file's language, standard or expanded, labels or numbers.
4. `csv_bytes` / `xlsx_bytes`: bytes per variant (encoding, BOM, line ends, separator,
   Excel re-save, fixed XLSX timestamps), identical on every run.

`demo_manifest.json` beside the exports records what they were made from (`recipe`) and
their hashes, so `agii demo` can leave an intact, current demo alone (`demo_up_to_date`).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .codebook import Codebook, Question, load_codebook
from .errors import AgiiError
from .params import DEMO_EXPORTS, REPO_ROOT
from .prepare import file_sha256, package_hash

SPEC_PATH = REPO_ROOT / "demo" / "spec.yaml"
NA = -1  # "not answered" in the coded table

META_EN = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
           "Email Address", "First Name", "Last Name", "Custom Data 1"]
META_NL = ["Respondent-ID", "Verzamelaar-ID", "Begindatum", "Einddatum", "IP-adres",
           "E-mailadres", "Voornaam", "Achternaam", "Aangepaste gegevens 1"]
PRIVATE = ("ip", "email", "first_name", "last_name", "custom")
# Fixed timestamps make the XLSX bytes identical from run to run.
XLSX_TIME = dt.datetime(2024, 1, 15, 9, 0, 0)


def _fail(where: str, problem: str, expected: str | None = None):
    raise AgiiError(f"{where}: {problem}", file="demo/spec.yaml", expected=expected)


# --------------------------------------------------------------------------- counts

def _expand(counts: dict, size: int, where: str) -> tuple[list, list[int]]:
    """Keys and exact counts; one key may say `rest` (whatever is left of `size`)."""
    if not isinstance(counts, dict) or not counts:
        _fail(where, "needs counts per answer code")
    rest = [k for k, v in counts.items() if v == "rest"]
    fixed = {k: int(v) for k, v in counts.items() if v != "rest"}
    total = sum(fixed.values())
    if len(rest) > 1:
        _fail(where, "more than one `rest`")
    if rest:
        if total > size:
            _fail(where, f"counts add up to {total}, more than the {size} respondents who answer it")
        fixed[rest[0]] = size - total
    elif total != size:
        _fail(where, f"counts add up to {total}, but {size} respondents answer it",
              f"counts that add up to {size}, or one `rest`")
    keys = list(counts)
    return keys, [fixed[k] for k in keys]


def _apportion(total: int, weights) -> list[int]:
    """Largest-remainder split of `total` over `weights` (exact, deterministic)."""
    w = np.asarray(weights, dtype=float)
    share = w / w.sum() * total
    out = np.floor(share).astype(int)
    order = np.argsort(-(share - out), kind="stable")
    out[order[: total - out.sum()]] += 1
    return out.tolist()


def round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


# --------------------------------------------------------------------------- respondents

def _closed(book: Codebook, year: int) -> list[Question]:
    return [q for q in book.questions_in(year) if q.type != "open"]


def _answer_codes(book: Codebook, q: Question, year: int) -> list[int]:
    if q.type == "nps":
        return list(range(book.nps_bands["min"], book.nps_bands["max"] + 1))
    return [o.code for o in book.answer_options(q, year)]


def _structured(spec) -> dict:
    return spec if isinstance(spec, dict) and "counts" in spec else {"counts": spec}


def _groups(spec: dict, field_values: dict[str, np.ndarray], idx: np.ndarray, where: str):
    """(group counts, member indices) pairs: one group, or one per value of `by`."""
    counts = spec["counts"]
    by = spec.get("by")
    if by is None:
        return [(counts, idx, where)]
    if by not in field_values:
        _fail(f"{where}.by", f"unknown field {by!r}", "language or an earlier single-choice question")
    values = field_values[by][idx]
    out = []
    for key, sub in counts.items():
        members = idx[values == key]
        out.append((sub, members, f"{where}.counts.{key}"))
    covered = sum(len(m) for _, m, _ in out)
    if covered != len(idx):
        missing = sorted(set(values.tolist()) - set(counts), key=str)
        _fail(f"{where}.counts", f"{len(idx) - covered} respondents have a {by} without counts ({missing})")
    return out


def _check_codes(keys, allowed, where):
    bad = [k for k in keys if k not in allowed]
    if bad:
        _fail(where, f"unknown answer codes {bad}", f"codes among {allowed}")


def _assign_random(rng, counts, members, allowed, where) -> tuple[np.ndarray, np.ndarray]:
    keys, ns = _expand(counts, len(members), where)
    _check_codes(keys, allowed, where)
    codes = np.repeat(np.asarray(keys, dtype=object), ns)
    return rng.permutation(members), codes


def _assign_ranked(rng, counts, members, latent, allowed, specials, where) -> tuple[np.ndarray, np.ndarray]:
    """Special answers (Geen mening, NvT) to random members; scale points by rank of `latent`."""
    keys, ns = _expand(counts, len(members), where)
    _check_codes(keys, allowed, where)
    special = {k: n for k, n in zip(keys, ns) if k in specials}
    points = sorted((k, n) for k, n in zip(keys, ns) if k not in special)
    shuffled = rng.permutation(members)
    n_special = sum(special.values())
    who_special, rest = shuffled[:n_special], shuffled[n_special:]
    special_codes = np.repeat(list(special) or [0], list(special.values()) or [0])
    rest = rest[np.argsort(latent[rest], kind="stable")]
    point_codes = np.repeat([k for k, _ in points], [n for _, n in points])
    return (np.concatenate([who_special, rest]).astype(int),
            np.concatenate([special_codes, point_codes]).astype(int))


def _dates(rng, spec: dict, n: int, year: int, where: str) -> np.ndarray:
    """End Dates of in-period rows: exact counts per month (or a spring window)."""
    hours = np.arange(7, 24)
    hour_w = np.array([1, 3, 5, 6, 6, 5, 6, 6, 6, 5, 5, 6, 7, 7, 6, 4, 2], dtype=float)
    if "months" in spec:
        months = spec["months"]
        if len(months) != 12:
            _fail(f"{where}.months", "needs 12 weights")
        per_month = _apportion(n, months)
        days = []
        for m, k in enumerate(per_month, 1):
            last = calendar.monthrange(year, m)[1]
            days += [dt.date(year, m, int(d)) for d in rng.integers(1, last + 1, k)]
    else:
        first, last = spec["from"], spec["to"]
        span = (last - first).days + 1
        # invitation and reminder days draw most responses
        w = np.ones(span)
        for boost in spec.get("peaks", []):
            for k in range(3):
                d = (boost - first).days + k
                if 0 <= d < span:
                    w[d] += 6 / (k + 1)
        days = [first + dt.timedelta(days=int(d)) for d in rng.choice(span, n, p=w / w.sum())]
    hh = rng.choice(hours, n, p=hour_w / hour_w.sum())
    secs = rng.integers(0, 3600, n)
    return np.array([pd.Timestamp(d) + pd.Timedelta(hours=int(h), seconds=int(s))
                     for d, h, s in zip(days, hh, secs)], dtype="datetime64[s]")


def _edge_dates(rng, n: int, first: dt.date, days: int) -> np.ndarray:
    """Dates just outside the report year (previous December, next January)."""
    d = rng.integers(0, days, n)
    s = rng.integers(8 * 3600, 22 * 3600, n)
    return np.array([pd.Timestamp(first) + pd.Timedelta(days=int(a), seconds=int(b))
                     for a, b in zip(d, s)], dtype="datetime64[s]")


def build_rows(book: Codebook, year: int, sy: dict, spec: dict) -> pd.DataFrame:
    """Every row of one survey-year: the used respondents, then the planted exclusions.

    Columns: status (used | outside_period | no_answer), language, start, end,
    respondent_id, collector_id, the private columns, and one column per closed
    question (int code, NA = not answered), per matrix item (`<question>:<item>`) and
    per open question (text or None).
    """
    where = f"surveys.{book.survey}.{year}"
    rng = np.random.default_rng(sy["seed"])
    n = int(sy["respondents"])
    questions = _closed(book, year)
    order = {q.id: i for i, q in enumerate(questions)}

    # who speaks which questionnaire language
    langs = sy.get("languages") or {book.languages[0]: "rest"}
    keys, ns = _expand(langs, n, f"{where}.languages")
    _check_codes(keys, list(book.languages), f"{where}.languages")
    language = rng.permutation(np.repeat(np.asarray(keys, dtype=object), ns))

    # where partial respondents stop: `last` = index of the last closed question answered
    last = np.full(n, len(questions) - 1)
    stops = sy.get("stops") or {}
    pool = rng.permutation(n)
    taken = 0
    for qid, k in stops.items():
        if qid not in order:
            _fail(f"{where}.stops.{qid}", "not a closed question of this year")
        last[pool[taken: taken + k]] = order[qid]
        taken += k

    end = _dates(rng, sy["dates"], n, year, f"{where}.dates")
    month = pd.DatetimeIndex(end).month.to_numpy()
    fields: dict[str, np.ndarray] = {"language": language, "month": month}
    answers: dict[str, np.ndarray] = {}
    answer_spec = sy.get("answers") or {}

    # single-choice questions first: they drive the group shifts of the latent score
    for q in questions:
        if q.type != "single":
            continue
        reached = np.flatnonzero(last >= order[q.id])
        col = np.full(n, NA)
        qspec = answer_spec.get(q.id)
        if qspec is None:
            _fail(f"{where}.answers.{q.id}", "missing")
        for counts, members, w in _groups(_structured(qspec), fields, reached, f"{where}.answers.{q.id}"):
            who, codes = _assign_random(rng, counts, members, _answer_codes(book, q, year), w)
            col[who] = codes.astype(int)
        answers[q.id] = col
        fields[q.id] = col

    # latent satisfaction: group shifts + noise, standardised
    u = rng.normal(0.0, 1.0, n)
    for name, shifts in (sy.get("shifts") or {}).items():
        if name not in fields:
            _fail(f"{where}.shifts.{name}", "unknown field", "language, month or a single-choice question")
        for value, delta in shifts.items():
            u[fields[name] == value] += float(delta)
    z = (u - u.mean()) / u.std()

    def correlated(rho: float) -> np.ndarray:
        return rho * z + np.sqrt(max(0.0, 1 - rho * rho)) * rng.normal(0.0, 1.0, n)

    for q in questions:
        if q.type == "single":
            continue
        qspec = answer_spec.get(q.id)
        w = f"{where}.answers.{q.id}"
        if qspec is None:
            _fail(w, "missing")
        qspec = _structured(qspec)
        reached = np.flatnonzero(last >= order[q.id])
        allowed = _answer_codes(book, q, year)
        specials = {o.code for o in book.special.values()} if q.type != "nps" else set()
        if q.type == "matrix":
            rhos = qspec.get("rho") or {}
            for item in q.items:
                if item not in qspec["counts"]:
                    _fail(f"{w}.counts.{item}", "missing")
                col = np.full(n, NA)
                lat = correlated(float(rhos.get(item, 0.6)))
                who, codes = _assign_ranked(rng, qspec["counts"][item], reached, lat, allowed, specials,
                                            f"{w}.counts.{item}")
                col[who] = codes
                answers[f"{q.id}:{item}"] = col
            continue
        lat = z if q.id == book.headline else correlated(float(qspec.get("rho", 0.8)))
        col = np.full(n, NA)
        for counts, members, gw in _groups(qspec, fields, reached, w):
            who, codes = _assign_ranked(rng, counts, members, lat, allowed, specials, gw)
            col[who] = codes
        answers[q.id] = col

    complete = last == len(questions) - 1
    for q in book.questions_in(year):
        if q.type == "open":
            answers[q.id] = _open_answers(rng, book, q, sy, spec, complete, z, language, f"{where}.answers.{q.id}")

    frame = pd.DataFrame({"status": "used", "language": language, "end": end, **answers})
    frame["last"] = last
    frame = _add_exclusions(rng, frame, book, year, sy, where)
    return _add_meta(rng, frame, book, year, sy, spec, where)


def _open_answers(rng, book, q, sy, spec, complete, z, language, where) -> np.ndarray:
    """Improvement texts: a minority of complete respondents, the less satisfied more often."""
    n = len(z)
    out = np.full(n, None, dtype=object)
    qspec = (sy.get("answers") or {}).get(q.id) or {}
    themes = qspec.get("themes") or {}
    if not themes:
        return out
    texts = (spec.get("open_answers") or {}).get(book.survey) or {}
    candidates = np.flatnonzero(complete)
    total = sum(themes.values())
    if total > len(candidates):
        _fail(f"{where}.themes", f"{total} answers but only {len(candidates)} complete respondents")
    weight = np.exp(-float(qspec.get("dissatisfied_weight", 0.7)) * z[candidates])
    writers = rng.choice(candidates, size=total, replace=False, p=weight / weight.sum())
    # "nothing to improve" comes from the most satisfied writers, the themes from the rest
    writers = writers[np.argsort(-z[writers], kind="stable")]
    n_nothing = int(themes.get("niets", 0))
    rest = rng.permutation(writers[n_nothing:])
    assigned = [("niets", writers[:n_nothing])]
    pos = 0
    for theme, k in themes.items():
        if theme == "niets":
            continue
        assigned.append((theme, rest[pos: pos + k]))
        pos += k
    for theme, who in assigned:
        if theme not in texts:
            _fail(f"open_answers.{book.survey}.{theme}", "no texts for this theme")
        for lang in sorted(set(language[who].tolist())):
            variants = texts[theme].get(lang)
            if not variants:
                _fail(f"open_answers.{book.survey}.{theme}.{lang}", "no texts in this language")
            group = rng.permutation(who[language[who] == lang])
            start = int(rng.integers(len(variants)))
            for i, r in enumerate(group):  # round robin: every variant used when possible
                out[r] = variants[(start + i) % len(variants)]
    return out


def _add_exclusions(rng, frame: pd.DataFrame, book, year, sy, where) -> pd.DataFrame:
    """Rows that must not count: End Date outside the year, and rows without any answer."""
    ex = sy.get("excluded") or {}
    answer_cols = [c for c in frame.columns if c not in ("status", "language", "end", "last")]
    open_cols = {q.id for q in book.questions_in(year) if q.type == "open"}
    parts = [frame]
    complete = frame.index[frame["last"] == frame["last"].max()]
    for status, first, days, k in (
        ("before", dt.date(year - 1, 12, 18), 14, int(ex.get("before", 0))),
        ("after", dt.date(year + 1, 1, 1), 12, int(ex.get("after", 0))),
    ):
        if not k:
            continue
        src = frame.loc[rng.choice(complete, k, replace=False)].copy()
        src["status"] = "outside_period"
        src["end"] = _edge_dates(rng, k, first, days)
        for c in open_cols:
            src[c] = None  # a copy of someone else's answers, without their text
        parts.append(src)
    k = int(ex.get("no_answer", 0))
    if k:
        blank = pd.DataFrame({
            "status": "no_answer",
            "language": rng.choice(frame["language"].to_numpy(), k),
            "end": rng.choice(frame["end"].to_numpy(), k) + np.array(rng.integers(-3600, 3600, k), dtype="timedelta64[s]"),
            "last": -1,
        })
        for c in answer_cols:
            blank[c] = None if c in open_cols else NA
        parts.append(blank)
    out = pd.concat(parts, ignore_index=True)
    return out


def _add_meta(rng, frame: pd.DataFrame, book, year, sy, spec, where) -> pd.DataFrame:
    """Start Date, respondent and collector ids, and the private columns."""
    n = len(frame)
    answered = (frame["last"].to_numpy() + 1) / max(1, len(_closed(book, year)))
    minutes = np.clip(rng.lognormal(np.log(6.0), 0.55, n) * np.maximum(answered, 0.15), 0.3, 60)
    frame["start"] = frame["end"].to_numpy() - (minutes * 60).astype("timedelta64[s]")

    # ids grow with the start time (one platform-wide sequence) and are unique
    digits = int(sy.get("id_digits", 11))
    origin = pd.Timestamp(spec.get("id_origin", "2019-01-01"))
    secs = ((pd.DatetimeIndex(frame["start"]) - origin).total_seconds()).to_numpy().astype(np.int64)
    step = 17 if digits == 11 else 500  # ids per second on the platform
    base = 10 ** (digits - 1)
    raw = base + secs * step + rng.integers(0, step, n)
    order = np.argsort(raw, kind="stable")
    ids = raw[order]
    ids = np.maximum.accumulate(ids - np.arange(n)) + np.arange(n)  # strictly increasing
    if ids.max() >= 10 ** digits:
        _fail(f"{where}.id_digits", "respondent ids overflow")
    rid = np.empty(n, dtype=np.int64)
    rid[order] = ids
    frame["respondent_id"] = [str(x) for x in rid]

    # collectors: windowed / counted ones pick first, `rest` collectors take the remainder
    collector = np.full(n, None, dtype=object)
    private = np.zeros(n, dtype=bool)
    collectors = sy.get("collectors") or []
    if not collectors:
        _fail(f"{where}.collectors", "missing")
    end_dates = pd.DatetimeIndex(frame["end"]).date
    lang = frame["language"].to_numpy()
    for c in sorted(collectors, key=lambda c: c.get("count") == "rest"):
        ok = collector == None  # noqa: E711 - element-wise
        if c.get("language"):
            ok &= lang == c["language"]
        if c.get("window"):
            lo, hi = c["window"]
            ok &= (end_dates >= lo) & (end_dates <= hi)
        pool = np.flatnonzero(ok)
        if c.get("count") == "rest":
            chosen = pool
        else:
            k = int(c["count"])
            if k > len(pool):
                _fail(f"{where}.collectors.{c['id']}", f"count {k} but only {len(pool)} rows fit")
            chosen = rng.choice(pool, k, replace=False)
        collector[chosen] = str(c["id"])
        private[chosen] = bool(c.get("private", False))
    if (collector == None).any():  # noqa: E711
        _fail(f"{where}.collectors", f"{int((collector == None).sum())} rows without a collector",  # noqa: E711
              "a collector with count: rest for every language")
    frame["collector_id"] = collector
    frame["private"] = private
    for col in PRIVATE:
        frame[col] = None
    return frame


# --------------------------------------------------------------------------- planted private data

class Planted:
    """Private values written by misconfigured collectors, for the tests and the privacy audit."""

    def __init__(self, spec: dict):
        p = spec["private"]
        self.first, self.last = p["first_names"], p["last_names"]
        self.domain = p["email_domain"]
        self.ip_prefixes = p["ip_prefixes"]
        self.seen: dict[str, set] = {k: set() for k in PRIVATE}
        self.files: dict[str, int] = {}
        self.n = 0

    def fill(self, rng, frame: pd.DataFrame, year: int) -> None:
        rows = np.flatnonzero(frame["private"].to_numpy())
        for r in rows:
            i = self.n
            self.n += 1
            first = self.first[int(rng.integers(len(self.first)))]
            last = self.last[int(rng.integers(len(self.last)))]
            prefix = self.ip_prefixes[(i // 250) % len(self.ip_prefixes)]
            values = {
                "ip": f"{prefix}.{i % 250 + 2}",
                "email": f"{_ascii(first)}.{_ascii(last)}{i % 97 + 1}@{self.domain}",
                "first_name": first,
                "last_name": last,
                "custom": f"DOS-{year}-{int(rng.integers(10000, 99999)):05d}",
            }
            for k, v in values.items():
                frame.iat[r, frame.columns.get_loc(k)] = v
                self.seen[k].add(v)

    def to_json(self) -> dict:
        names = {"ip": "ip_addresses", "email": "email_addresses", "first_name": "first_names",
                 "last_name": "last_names", "custom": "custom_data"}
        out = {names[k]: sorted(v) for k, v in self.seen.items()}
        out["files"] = dict(sorted(self.files.items()))
        return out


def _ascii(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", text.lower())


# --------------------------------------------------------------------------- targets

def _used(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "used"]


def _pct(part: int, whole: int, where: str) -> int:
    if not whole:
        _fail(where, "no answers to count")
    x = 100 * part / whole
    if abs(x - np.floor(x) - 0.5) < 0.05:
        _fail(where, f"{x:.3f} % is too close to a rounding boundary", "counts 0.05 points away from .5")
    return round_half_up(x)


def figures(book: Codebook, year: int, frame: pd.DataFrame) -> dict:
    """The headline figures of a coded table, counted as the report counts them."""
    used = _used(frame)
    top2 = book.scale(year).top2
    points = book.scale(year).codes
    out = {}
    h = used[book.headline]
    scored = h[h.isin(points)]
    out["satisfied"], out["scored"] = int(scored.isin(top2).sum()), int(len(scored))
    if book.nps:
        s = used[book.nps]
        s = s[s != NA]
        bands = book.nps_bands
        out["promoters"] = int(s.isin(bands["promoters"]).sum())
        out["detractors"] = int(s.isin(bands["detractors"]).sum())
        out["nps_answered"] = int(len(s))
    return out


def check_targets(book: Codebook, year: int, sy: dict, frame: pd.DataFrame) -> None:
    """Refuse a spec whose counts do not reproduce its own targets or expected accounting."""
    where = f"surveys.{book.survey}.{year}"
    targets = sy.get("targets") or {}
    f = figures(book, year, frame)
    got = {}
    if "pct_satisfied" in targets:
        got["pct_satisfied"] = _pct(f["satisfied"], f["scored"], f"{where}.targets.pct_satisfied")
    if "nps" in targets or "detractors_pct" in targets:
        a = f["nps_answered"]
        got["nps"] = round_half_up(100 * (f["promoters"] - f["detractors"]) / a)
        _pct(f["promoters"] - f["detractors"], a, f"{where}.targets.nps")
        if "detractors_pct" in targets:
            got["detractors_pct"] = _pct(f["detractors"], a, f"{where}.targets.detractors_pct")
        if "promoters_pct" in targets:
            got["promoters_pct"] = _pct(f["promoters"], a, f"{where}.targets.promoters_pct")
    used = _used(frame)
    top2, points = book.scale(year).top2, book.scale(year).codes
    for name, target in (targets.get("subgroups") or {}).items():
        sg = book.subgroups[name]
        sub = used[used[sg["question"]].isin(sg["codes"])][book.headline]
        sub = sub[sub.isin(points)]
        pct = _pct(int(sub.isin(top2).sum()), len(sub), f"{where}.targets.subgroups.{name}")
        if pct != target:
            _fail(f"{where}.targets.subgroups.{name}", f"the counts give {pct}", str(target))
    if "best_items" in targets:
        b = targets["best_items"]
        q = book.questions[b["question"]]
        shares = {}
        for item in q.items:
            s = used[f"{q.id}:{item}"]
            s = s[s.isin(points)]
            shares[item] = 100 * s.isin(top2).sum() / len(s)
        ranked = sorted(shares, key=lambda k: -shares[k])
        k = len(b["top"])
        if ranked[:k] != list(b["top"]) or shares[ranked[k - 1]] - shares[ranked[k]] < b.get("margin", 0):
            _fail(f"{where}.targets.best_items", f"ranking {[(i, round(shares[i], 1)) for i in ranked]}",
                  f"{b['top']} first, {b.get('margin', 0)} points ahead of the next")
    for key, value in targets.items():
        if key in ("subgroups", "best_items"):
            continue
        if got.get(key) != value:
            _fail(f"{where}.targets.{key}", f"the counts give {got.get(key)}", str(value))


# --------------------------------------------------------------------------- files

def split_files(frame: pd.DataFrame, files: list[dict], where: str) -> list[tuple[dict, pd.DataFrame]]:
    """Rows per export: by language edition and End Date; `overlap` re-exports the
    previous file's last rows (identical copies, counted as duplicates)."""
    end = pd.DatetimeIndex(frame["end"]).date
    lang = frame["language"].to_numpy()
    owner = np.full(len(frame), -1)
    for i, f in enumerate(files):
        ok = owner == -1
        if f.get("edition"):
            ok &= lang == f["edition"]
        if f.get("until"):
            ok &= end <= f["until"]
        owner[ok] = i
    if (owner == -1).any():
        _fail(f"{where}.files", f"{int((owner == -1).sum())} rows fit no file", "a last file without `until`")
    out = []
    for i, f in enumerate(files):
        part = frame[owner == i].sort_values(["end", "respondent_id"], kind="stable")
        k = int(f.get("overlap", 0))
        if k:
            prev = out[-1][1]
            part = pd.concat([prev.iloc[len(prev) - k:], part])
        out.append((f, part))
    return out


@dataclass(frozen=True)
class Column:
    row1: str
    row2: str
    source: str  # a frame column, or "" for metadata
    option: int | None = None  # expanded layout: the option this column stands for


def layout(book: Codebook, year: int, f: dict, part: pd.DataFrame) -> list[list]:
    """The cell grid of one export: two header rows, then one row per respondent."""
    edition = f.get("edition")
    lang = edition or book.languages[0]
    expanded = f.get("layout", "standard") == "expanded"
    numeric = f.get("values", "text") == "numeric"
    meta = META_NL if f.get("metadata") == "nl" else META_EN
    multilingual = edition is None and len(book.languages) > 1
    cols: list[Column] = []
    for q in book.questions_in(year):
        text = q.texts.get(lang, q.texts["nl"])[0]
        if q.type == "matrix":
            cols += [Column(text if i == 0 else "", q.item_label(item, lang), f"{q.id}:{item}")
                     for i, item in enumerate(q.items)]
        elif q.type == "open":
            cols.append(Column(text, "Open-Ended Response", q.id))
        elif expanded and q.type in ("single", "scale"):
            cols += [Column(text if i == 0 else "", o.label(lang), q.id, o.code)
                     for i, o in enumerate(book.answer_options(q, year))]
        else:
            cols.append(Column(text, "Response", q.id))

    labels = {q.id: {o.code: o.label(lang) for o in book.answer_options(q, year)}
              for q in book.questions_in(year) if q.type in ("single", "scale", "matrix")}
    positions = {q.id: {o.code: i for i, o in enumerate(book.answer_options(q, year), 1)}
                 for q in book.questions_in(year) if q.type in ("single", "scale", "matrix")}

    header1 = meta + (["language"] if multilingual else []) + [c.row1 for c in cols]
    header2 = [""] * (len(meta) + multilingual) + [c.row2 for c in cols]
    grid = [header1, header2]
    qtype = {q.id: q for q in book.questions_in(year)}
    for rec in part.to_dict("records"):
        row = [rec["respondent_id"], rec["collector_id"], _py(rec["start"]), _py(rec["end"]),
               *(rec[k] for k in PRIVATE)]
        if multilingual:
            row.append(rec["language"])
        for c in cols:
            q = qtype[c.source.split(":")[0]]
            v = rec[c.source]
            if q.type == "open":
                row.append(v if isinstance(v, str) and v else None)
            elif v is None or v == NA:
                row.append(None)
            elif c.option is not None:
                row.append(labels[q.id][int(v)] if int(v) == c.option else None)
            elif q.type == "nps":
                row.append(int(v) + (q.numeric_offset if numeric else 0))
            elif numeric:
                row.append(positions[q.id][int(v)])
            else:
                row.append(labels[q.id][int(v)])
        grid.append(row)
    return grid


def _py(value) -> dt.datetime:
    return pd.Timestamp(value).to_pydatetime()


def _excel_number(text: str) -> str:
    """How Excel's General format shows a 12-digit id: 1.14628E+11."""
    mantissa, exp = f"{int(text):.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E+{int(exp):02d}"


def _csv_cell(value, f: dict, column: int) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if f.get("dates") == "excel":
            return f"{value.month}/{value.day}/{value:%y} {value.hour}:{value:%M}"
        return value.strftime("%m/%d/%Y %I:%M:%S %p")
    if column == 0 and f.get("ids") == "e_notation":
        return _excel_number(value)
    return str(value)


def csv_bytes(grid: list[list], f: dict) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=f.get("sep", ","),
                        lineterminator="\r\n" if f.get("newline") == "crlf" else "\n")
    for i, row in enumerate(grid):
        writer.writerow(row if i < 2 else [_csv_cell(v, f, j) for j, v in enumerate(row)])
    return buf.getvalue().encode(f.get("encoding", "utf-8"))


def xlsx_bytes(grid: list[list], f: dict) -> bytes:
    """A workbook like SurveyMonkey's: real date cells, ids as text; fixed bytes."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet"
    for i, row in enumerate(grid):
        ws.append([None if v == "" else v for v in row] if i < 2 else row)
        if i >= 2:
            for cell in ws[i + 1][2:4]:
                cell.number_format = "mm/dd/yyyy hh:mm:ss AM/PM"
    wb.properties.creator = "SurveyMonkey"
    wb.properties.created = wb.properties.modified = XLSX_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(src.namelist()):
            info = zipfile.ZipInfo(name, date_time=XLSX_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, src.read(name))
    return out.getvalue()


# --------------------------------------------------------------------------- entry point

def load_spec(path: Path = SPEC_PATH) -> dict:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AgiiError(f"cannot read the demo spec ({exc})", file=path) from None


def write_demo(root: Path = DEMO_EXPORTS, spec_path: Path = SPEC_PATH) -> list[Path]:
    """Write every demo export under `root/<year>/` plus `root/planted_private.json`.

    Everything is built and checked in memory first; only then is `root` removed and
    rewritten, so a run leaves exactly the spec's files and a bad spec leaves the old
    demo alone. Returns the export paths (not the JSON).
    """
    root = Path(root)
    spec = load_spec(spec_path)
    planted = Planted(spec)
    outputs: dict[Path, bytes] = {}
    for survey, years in spec["surveys"].items():
        book = load_codebook(survey)
        for year, sy in years.items():
            frame = build_rows(book, year, sy, spec)
            planted.fill(np.random.default_rng(sy["seed"] + 1), frame, year)
            check_targets(book, year, sy, frame)
            parts = split_files(frame, sy["files"], f"surveys.{survey}.{year}")
            _check_accounting(sy, parts, f"surveys.{survey}.{year}")
            for f, part in parts:
                path = root / str(year) / f["name"]
                grid = layout(book, year, f, part)
                outputs[path] = (xlsx_bytes if path.suffix == ".xlsx" else csv_bytes)(grid, f)
                n_private = int(part["private"].sum())
                if n_private:
                    planted.files[f"{year}/{f['name']}"] = n_private
    if root.exists():
        shutil.rmtree(root)
    for path, data in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "planted_private.json").write_text(
        json.dumps(planted.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    manifest = {"recipe": _recipe(spec_path), "exports": [p.relative_to(root).as_posix() for p in outputs],
                "files": _tree(root)}
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return list(outputs)


MANIFEST_NAME = "demo_manifest.json"


def demo_up_to_date(root: Path = DEMO_EXPORTS, spec_path: Path = SPEC_PATH) -> list[Path] | None:
    """The export paths if `root` holds exactly what `write_demo` would write now (same
    recipe, every file present and unaltered, nothing else); else None."""
    root = Path(root)
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        if manifest["recipe"] != _recipe(spec_path) or manifest["files"] != _tree(root):
            return None
        return [root / name for name in manifest["exports"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _recipe(spec_path: Path) -> str:
    """What the demo bytes are a function of: the spec, the package (generator and
    codebooks) and the libraries whose random streams and writers it uses."""
    h = hashlib.sha256(Path(spec_path).read_bytes())
    h.update(package_hash().encode())
    for lib in ("numpy", "pandas", "openpyxl", "pyyaml"):
        h.update(f"{lib}={importlib.metadata.version(lib)}".encode())
    return h.hexdigest()


def _tree(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` but the manifest, by relative path."""
    return {p.relative_to(root).as_posix(): file_sha256(p)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST_NAME}


def _check_accounting(sy: dict, parts, where: str) -> None:
    """The rows written must add up to what the spec says the pipeline will find."""
    expect = sy.get("expect")
    if not expect:
        return
    rows = pd.concat([p for _, p in parts])
    dup = rows.duplicated("respondent_id")
    first = rows[~dup]
    got = {
        "read": len(rows),
        "used": int((first["status"] == "used").sum()),
        "duplicate": int(dup.sum()),
        "outside_period": int((first["status"] == "outside_period").sum()),
        "no_answer": int((first["status"] == "no_answer").sum()),
    }
    for key, value in expect.items():
        if got.get(key) != value:
            _fail(f"{where}.expect.{key}", f"the files hold {got.get(key)}", str(value))
