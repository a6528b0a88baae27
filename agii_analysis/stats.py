"""Formulas: pure functions on counts, no I/O and no scipy (scipy is test-only).

Every estimator treats the respondents as a simple random sample drawn without
replacement from the N invitees, so intervals carry a finite population correction
(fpc). docs/methodology.md states each formula; the tests check them against scipy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

import numpy as np
import pandas as pd

from .errors import AgiiError

__all__ = [
    "Proportion",
    "Nps",
    "Change",
    "fpc",
    "z_value",
    "proportion",
    "nps",
    "change_proportion",
    "change_nps",
    "round_half_up",
    "percent",
    "nps_points",
    "spearman",
    "distribution",
]

NAN = float("nan")


# ---------------------------------------------------------------------------
# validation helpers


def _count(name: str, value, *, allow_none: bool = False) -> int | None:
    """A non-negative whole number; integer-valued floats (pandas sums) are accepted."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or value is None:
        raise AgiiError(f"{name} = {value!r} is not a count", expected="a whole number >= 0")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise AgiiError(f"{name} = {value!r} is not a count", expected="a whole number >= 0") from None
    if not math.isfinite(as_float) or not as_float.is_integer() or as_float < 0:
        raise AgiiError(f"{name} = {value!r} is not a count", expected="a whole number >= 0")
    return int(as_float)


def _conf(conf: float) -> float:
    if not (isinstance(conf, (int, float)) and 0 < conf < 1):
        raise AgiiError(f"confidence level {conf!r} is out of range", expected="0 < conf < 1")
    return float(conf)


def z_value(conf: float = 0.95) -> float:
    """Two-sided normal quantile: 1.959964 for conf = 0.95 (stdlib NormalDist, no scipy)."""
    return NormalDist().inv_cdf(0.5 + _conf(conf) / 2)


def fpc(n: int, N: int | None) -> float:
    """Finite population correction (N - n) / (N - 1); 1 without N, 0 for a full census."""
    if N is None:
        return 1.0
    if n >= N:
        return 0.0
    if N <= 1:  # N == 1, n == 0: nothing sampled, no correction
        return 1.0
    return (N - n) / (N - 1)


def _two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) under the standard normal: erfc(|z| / sqrt 2)."""
    if math.isnan(z):
        return NAN
    return math.erfc(abs(z) / math.sqrt(2))


# ---------------------------------------------------------------------------
# top-2 box share


@dataclass(frozen=True)
class Proportion:
    """A share k / n with its Wilson interval (fpc-corrected) and standard error."""

    k: int
    n: int
    N: int | None
    p: float
    lo: float
    hi: float
    se: float

    def to_dict(self) -> dict:
        return asdict(self)


def proportion(k, n, N=None, conf: float = 0.95) -> Proportion:
    """Share of k in n with a Wilson score interval on the effective sample size.

    n_eff = n / fpc with fpc = (N - n) / (N - 1): the Wilson interval for a sample of
    n_eff from an infinite population has the same variance p(1-p)/n_eff as p from n
    out of N. A census (n == N) collapses the interval to p. n == 0 gives NaN.
    """
    k = _count("k", k)
    n = _count("n", n)
    N = _count("N", N, allow_none=True)
    conf = _conf(conf)
    if k > n:
        raise AgiiError(f"k = {k} is larger than n = {n}", expected="0 <= k <= n <= N")
    if N is not None and n > N:
        raise AgiiError(
            f"n = {n} respondents is larger than N = {N} invited", expected="0 <= k <= n <= N"
        )
    if n == 0:
        return Proportion(k, n, N, NAN, NAN, NAN, NAN)
    p = k / n
    f = fpc(n, N)
    se = math.sqrt(p * (1 - p) / n * f)
    if f == 0:
        return Proportion(k, n, N, p, p, p, 0.0)
    z = z_value(conf)
    m = n / f
    denom = 1 + z * z / m
    centre = (p + z * z / (2 * m)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    # Clip float noise so that 0 <= lo <= p <= hi <= 1 always holds exactly.
    lo = min(max(0.0, centre - half), p)
    hi = max(min(1.0, centre + half), p)
    if k == 0:
        lo = 0.0
    if k == n:
        hi = 1.0
    return Proportion(k, n, N, p, lo, hi, se)


# ---------------------------------------------------------------------------
# Net Promoter Score


@dataclass(frozen=True)
class Nps:
    """NPS in points (-100..100) with its normal interval and the three shares."""

    promoters: int
    passives: int
    detractors: int
    n: int
    N: int | None
    score: float
    se: float
    lo: float
    hi: float
    p_promoters: float
    p_passives: float
    p_detractors: float

    def to_dict(self) -> dict:
        return asdict(self)


def nps(promoters, passives, detractors, N=None, conf: float = 0.95) -> Nps:
    """NPS = 100 (P - D) with se = 100 sqrt(var / n * fpc).

    Each respondent scores +1 (promoter), 0 (passive) or -1 (detractor); the score is
    100 x their mean. var = P + D - (P - D)^2 is the plug-in variance (denominator n,
    not n - 1): with the fpc (N - n) / (N - 1) this is the exact variance of P - D
    under sampling without replacement, the same convention as `proportion`.
    The normal interval is clipped to [-100, 100]; n == 0 gives NaN.
    """
    pr = _count("promoters", promoters)
    pa = _count("passives", passives)
    de = _count("detractors", detractors)
    N = _count("N", N, allow_none=True)
    conf = _conf(conf)
    n = pr + pa + de
    if N is not None and n > N:
        raise AgiiError(
            f"n = {n} respondents is larger than N = {N} invited", expected="n <= N"
        )
    if n == 0:
        return Nps(pr, pa, de, 0, N, NAN, NAN, NAN, NAN, NAN, NAN, NAN)
    P, A, D = pr / n, pa / n, de / n
    score = 100 * (pr - de) / n
    var = max(0.0, P + D - (P - D) ** 2)
    se = 100 * math.sqrt(var / n * fpc(n, N))
    z = z_value(conf)
    lo = min(max(-100.0, score - z * se), score)
    hi = max(min(100.0, score + z * se), score)
    return Nps(pr, pa, de, n, N, score, se, lo, hi, P, A, D)


# ---------------------------------------------------------------------------
# year-on-year change


@dataclass(frozen=True)
class Change:
    """Difference current - previous in points, its z-test and the comparability flag.

    `diff` is the exact difference of the unrounded estimates; `diff_rounded` is the
    difference of the two published whole numbers, so a table reads consistently.
    `significant` is the test result only; when `comparable` is False (scale version
    changed) a report shows the caveat instead of claiming a significant change.
    """

    current: Proportion | Nps
    previous: Proportion | Nps
    diff: float
    diff_rounded: int | None
    se: float
    z: float
    p_value: float
    significant: bool
    comparable: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _z_and_p(diff: float, se: float) -> tuple[float, float]:
    if math.isnan(diff) or math.isnan(se):
        return NAN, NAN
    if se == 0:
        # Both sides are exact (censuses or all-equal answers): any difference is real.
        return (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    z = diff / se
    return z, _two_sided_p(z)


def _alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise AgiiError(f"significance level {alpha!r} is out of range", expected="0 < alpha < 1")
    return float(alpha)


def change_proportion(
    cur: Proportion, prev: Proportion, comparable: bool = True, alpha: float = 0.05
) -> Change:
    """Two-proportion z-test with pooled variance; diff and se in percentage points.

    se = 100 sqrt(pool (1 - pool) (fpc1 / n1 + fpc2 / n2)), pool = (k1 + k2) / (n1 + n2);
    without N both fpc are 1 and this is the textbook test.
    """
    alpha = _alpha(alpha)
    if cur.n == 0 or prev.n == 0:
        return Change(cur, prev, NAN, None, NAN, NAN, NAN, False, bool(comparable))
    diff = 100 * (cur.p - prev.p)
    pool = (cur.k + prev.k) / (cur.n + prev.n)
    se = 100 * math.sqrt(
        pool * (1 - pool) * (fpc(cur.n, cur.N) / cur.n + fpc(prev.n, prev.N) / prev.n)
    )
    z, p = _z_and_p(diff, se)
    rounded = percent(cur.p) - percent(prev.p)
    return Change(cur, prev, diff, rounded, se, z, p, bool(p < alpha), bool(comparable))


def change_nps(cur: Nps, prev: Nps, comparable: bool = True, alpha: float = 0.05) -> Change:
    """Difference of two independent NPS estimates: z = diff / sqrt(se1^2 + se2^2)."""
    alpha = _alpha(alpha)
    if cur.n == 0 or prev.n == 0:
        return Change(cur, prev, NAN, None, NAN, NAN, NAN, False, bool(comparable))
    diff = cur.score - prev.score
    se = math.sqrt(cur.se**2 + prev.se**2)
    z, p = _z_and_p(diff, se)
    rounded = nps_points(cur) - nps_points(prev)
    return Change(cur, prev, diff, rounded, se, z, p, bool(p < alpha), bool(comparable))


# ---------------------------------------------------------------------------
# rounding for publication


def round_half_up(x) -> int:
    """Whole number, halves away from zero (84.5 -> 85, -5.5 -> -6).

    x is first rounded to 12 significant digits so float noise does not decide a
    half: 0.145 * 100 is 14.499999999999998 in binary and must publish as 15.
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot round {x!r} to a whole number")
    cleaned = Decimal(f"{x:.12g}")
    return int(cleaned.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent(p) -> int:
    """Published percentage of a share (0.845 -> 85)."""
    if isinstance(p, Proportion):
        p = p.p
    return round_half_up(100 * float(p))


def nps_points(score) -> int:
    """Published NPS (whole points) of an Nps or of a score in points."""
    if isinstance(score, Nps):
        score = score.score
    return round_half_up(score)


# ---------------------------------------------------------------------------
# rank correlation


def _numeric(values) -> pd.Series:
    """Position-indexed float Series; pandas NA and non-numbers become NaN."""
    series = pd.Series(values).reset_index(drop=True)
    return pd.to_numeric(series, errors="coerce").astype(float)


def spearman(x, y) -> float:
    """Spearman's rho: Pearson correlation of average ranks (ties share their mean rank).

    Pairs with a missing value on either side are dropped. NaN with fewer than 3
    pairs or when either side is constant (no variance, rho undefined).
    """
    xs, ys = _numeric(x), _numeric(y)
    if len(xs) != len(ys):
        raise ValueError(f"spearman: x has {len(xs)} values, y has {len(ys)}")
    frame = pd.DataFrame({"x": xs, "y": ys}).dropna()
    if len(frame) < 3:
        return NAN
    rx = frame["x"].rank(method="average").to_numpy(dtype=float)
    ry = frame["y"].rank(method="average").to_numpy(dtype=float)
    rx = rx - rx.mean()
    ry = ry - ry.mean()
    sxx = float(np.dot(rx, rx))
    syy = float(np.dot(ry, ry))
    if sxx == 0 or syy == 0:
        return NAN
    rho = float(np.dot(rx, ry)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, rho))


# ---------------------------------------------------------------------------
# answer distribution


def distribution(
    codes: pd.Series, scale_points: list[int], special: dict[int, str] | None = None
) -> pd.DataFrame:
    """Counts per scale point and special answer (Geen mening, Niet van toepassing).

    `share` is the share among scale points only (the top-2 box denominator; NaN for
    special answers); `share_all` is the share among everyone who answered. Skipped
    cells (NaN) are not counted. A code that is neither is a codebook problem.
    """
    special = dict(special or {})
    values = pd.to_numeric(pd.Series(codes), errors="coerce").dropna()
    known = set(scale_points) | set(special)
    unknown = sorted({float(v) for v in values.unique()} - {float(c) for c in known})
    if unknown:
        shown = ", ".join(f"{u:g}" for u in unknown)
        raise AgiiError(
            f"answer codes {shown} are neither scale points nor special answers",
            expected=f"one of {sorted(known)}",
        )
    counts = values.value_counts()
    rows = []
    for code in scale_points:
        rows.append({"code": int(code), "kind": "scale", "label": None,
                     "n": int(counts.get(float(code), 0))})
    for code, label in special.items():
        rows.append({"code": int(code), "kind": "special", "label": label,
                     "n": int(counts.get(float(code), 0))})
    table = pd.DataFrame(rows, columns=["code", "kind", "label", "n"])
    n_scale = int(table.loc[table["kind"] == "scale", "n"].sum())
    n_all = int(table["n"].sum())
    table["share"] = [
        (r.n / n_scale if n_scale else NAN) if r.kind == "scale" else NAN
        for r in table.itertuples()
    ]
    table["share_all"] = table["n"] / n_all if n_all else NAN
    return table
