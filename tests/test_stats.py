"""stats.py against scipy, textbook formulas written out here, and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from agii_analysis import stats
from agii_analysis.errors import AgiiError

Z95 = sps.norm.ppf(0.975)


def wilson_textbook(k, n, conf=0.95):
    """Wilson score interval, infinite population (Wilson 1927 / Agresti-Coull 1998)."""
    z = sps.norm.ppf(0.5 + conf / 2)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


# ---------------------------------------------------------------------------
# proportion


def test_z_value_matches_scipy():
    for conf in (0.8, 0.9, 0.95, 0.99):
        assert stats.z_value(conf) == pytest.approx(sps.norm.ppf(0.5 + conf / 2), abs=1e-12)


@pytest.mark.parametrize("k,n", [(1, 10), (45, 50), (95, 100), (0, 7), (7, 7), (512, 1033)])
def test_wilson_without_population_matches_textbook(k, n):
    prop = stats.proportion(k, n)
    lo, hi = wilson_textbook(k, n)
    assert prop.p == pytest.approx(k / n)
    assert prop.lo == pytest.approx(max(lo, 0.0), abs=1e-12)
    assert prop.hi == pytest.approx(min(hi, 1.0), abs=1e-12)
    assert prop.se == pytest.approx(math.sqrt(prop.p * (1 - prop.p) / n))


def test_wilson_hand_worked():
    # 8 of 10: centre (0.8 + 1.9208/10) / 1.38415 = 0.71674, half 0.22986
    prop = stats.proportion(8, 10)
    assert prop.lo == pytest.approx(0.4902, abs=1e-4)
    assert prop.hi == pytest.approx(0.9433, abs=1e-4)


def test_fpc_is_wilson_on_effective_sample_size():
    k, n, N = 300, 400, 1000
    f = (N - n) / (N - 1)
    prop = stats.proportion(k, n, N)
    m = n / f
    z = Z95
    p = k / n
    centre = (p + z**2 / (2 * m)) / (1 + z**2 / m)
    half = z / (1 + z**2 / m) * math.sqrt(p * (1 - p) / m + z**2 / (4 * m**2))
    assert prop.lo == pytest.approx(centre - half, abs=1e-12)
    assert prop.hi == pytest.approx(centre + half, abs=1e-12)
    assert prop.se == pytest.approx(math.sqrt(p * (1 - p) / n * f))
    # The correction narrows the interval.
    plain = stats.proportion(k, n)
    assert prop.hi - prop.lo < plain.hi - plain.lo


def test_census_collapses_interval():
    prop = stats.proportion(37, 50, N=50)
    assert prop.lo == prop.hi == prop.p == 37 / 50
    assert prop.se == 0


def test_empty_group_is_nan_not_error():
    prop = stats.proportion(0, 0, N=100)
    assert all(math.isnan(v) for v in (prop.p, prop.lo, prop.hi, prop.se))


def test_k_zero_and_k_n():
    zero = stats.proportion(0, 20, N=200)
    assert zero.p == 0 and zero.lo == 0 and zero.hi > 0 and zero.se == 0
    full = stats.proportion(20, 20, N=200)
    assert full.p == 1 and full.hi == 1 and full.lo < 1 and full.se == 0


@pytest.mark.parametrize(
    "args", [(-1, 5), (6, 5), (5, 10, 9), (1.5, 4), ("a", 3), (True, 3), (1, 2, None, 1.5)]
)
def test_invalid_counts_raise(args):
    with pytest.raises(AgiiError):
        stats.proportion(*args)


def test_integer_valued_floats_accepted():
    assert stats.proportion(3.0, np.int64(4), np.float64(10)).k == 3


def test_to_dict():
    d = stats.proportion(1, 2, 10).to_dict()
    assert set(d) == {"k", "n", "N", "p", "lo", "hi", "se"}
    assert d["N"] == 10


def test_fpc_edge_cases():
    assert stats.fpc(3, None) == 1
    assert stats.fpc(5, 5) == 0
    assert stats.fpc(0, 1) == 1
    assert stats.fpc(1, 11) == 1


# ---------------------------------------------------------------------------
# NPS


def test_nps_hand_worked():
    # 50 promoters, 30 passives, 20 detractors: NPS 30, var = .5 + .2 - .09 = .61
    res = stats.nps(50, 30, 20)
    assert res.n == 100
    assert res.score == pytest.approx(30)
    assert res.se == pytest.approx(100 * math.sqrt(0.61 / 100))
    assert res.lo == pytest.approx(30 - Z95 * res.se)
    assert res.hi == pytest.approx(30 + Z95 * res.se)
    assert (res.p_promoters, res.p_passives, res.p_detractors) == (0.5, 0.3, 0.2)


def test_nps_se_equals_se_of_mean_of_scores():
    """The documented formula is the plug-in (denominator n) SE of the mean of +1/0/-1."""
    pr, pa, de = 13, 9, 21
    scores = np.array([1] * pr + [0] * pa + [-1] * de, dtype=float)
    expected = 100 * scores.std(ddof=0) / math.sqrt(len(scores))
    assert stats.nps(pr, pa, de).se == pytest.approx(expected)
    assert stats.nps(pr, pa, de).score == pytest.approx(100 * scores.mean())


def test_nps_fpc():
    pr, pa, de, N = 60, 25, 15, 400
    n = pr + pa + de
    res = stats.nps(pr, pa, de, N=N)
    var = 0.6 + 0.15 - 0.45**2
    assert res.se == pytest.approx(100 * math.sqrt(var / n * (N - n) / (N - 1)))


def test_negative_nps():
    res = stats.nps(10, 20, 70)
    assert res.score == pytest.approx(-60)
    assert stats.nps_points(res) == -60
    assert res.lo < -60 < res.hi


def test_all_promoters():
    res = stats.nps(25, 0, 0)
    assert res.score == 100 and res.se == 0 and res.lo == res.hi == 100


def test_all_detractors_and_clipping():
    res = stats.nps(0, 0, 12)
    assert res.score == -100 and res.se == 0
    clipped = stats.nps(1, 0, 2)  # wide interval
    assert clipped.lo >= -100 and clipped.hi <= 100


def test_nps_census_and_empty():
    census = stats.nps(5, 3, 2, N=10)
    assert census.se == 0 and census.lo == census.hi == census.score
    empty = stats.nps(0, 0, 0, N=10)
    assert empty.n == 0 and math.isnan(empty.score) and math.isnan(empty.se)


def test_nps_invalid():
    with pytest.raises(AgiiError):
        stats.nps(5, 5, 5, N=10)
    with pytest.raises(AgiiError):
        stats.nps(-1, 5, 5)


# ---------------------------------------------------------------------------
# changes


def test_change_proportion_matches_pooled_z_test():
    k1, n1, k2, n2 = 160, 200, 170, 190
    cur, prev = stats.proportion(k1, n1), stats.proportion(k2, n2)
    ch = stats.change_proportion(cur, prev)
    pool = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    assert ch.diff == pytest.approx(100 * (k1 / n1 - k2 / n2))
    assert ch.se == pytest.approx(100 * se)
    assert ch.z == pytest.approx(z)
    assert ch.p_value == pytest.approx(2 * sps.norm.sf(abs(z)))
    assert ch.significant == (ch.p_value < 0.05)
    assert ch.comparable is True


def test_change_proportion_with_fpc():
    cur, prev = stats.proportion(80, 100, 300), stats.proportion(60, 100, 250)
    ch = stats.change_proportion(cur, prev, comparable=False)
    pool = 140 / 200
    se = 100 * math.sqrt(pool * (1 - pool) * ((200 / 299) / 100 + (150 / 249) / 100))
    assert ch.se == pytest.approx(se)
    assert ch.p_value == pytest.approx(2 * sps.norm.sf(abs(20 / se)))
    assert ch.comparable is False
    assert ch.significant  # significance is reported independently of the flag


def test_change_rounded_difference_uses_published_numbers():
    # 0.955 -> 96 and 0.984 -> 98: table shows -2 while the exact diff is -2.9
    cur, prev = stats.proportion(191, 200), stats.proportion(246, 250)
    ch = stats.change_proportion(cur, prev)
    assert stats.percent(cur) == 96 and stats.percent(prev) == 98
    assert ch.diff_rounded == -2
    assert ch.diff == pytest.approx(-2.9)


def test_change_nps_matches_independent_z():
    cur, prev = stats.nps(50, 30, 20), stats.nps(40, 30, 40)
    ch = stats.change_nps(cur, prev)
    se = math.sqrt(cur.se**2 + prev.se**2)
    assert ch.diff == pytest.approx(30)
    assert ch.se == pytest.approx(se)
    assert ch.z == pytest.approx(30 / se)
    assert ch.p_value == pytest.approx(2 * sps.norm.sf(30 / se))
    assert ch.diff_rounded == 30


def test_change_with_empty_side():
    ch = stats.change_proportion(stats.proportion(0, 0), stats.proportion(3, 4))
    assert math.isnan(ch.diff) and math.isnan(ch.p_value) and ch.significant is False
    ch = stats.change_nps(stats.nps(1, 1, 1), stats.nps(0, 0, 0))
    assert math.isnan(ch.z) and ch.significant is False and ch.diff_rounded is None


def test_change_with_zero_se():
    same = stats.change_proportion(stats.proportion(5, 5), stats.proportion(4, 4))
    assert same.z == 0 and same.p_value == 1 and not same.significant
    censuses = stats.change_nps(stats.nps(5, 0, 0, N=5), stats.nps(1, 0, 1, N=2))
    assert censuses.z == math.inf and censuses.p_value == 0 and censuses.significant


def test_change_to_dict_nests():
    d = stats.change_nps(stats.nps(3, 2, 1), stats.nps(1, 2, 3)).to_dict()
    assert d["current"]["promoters"] == 3 and "significant" in d


# ---------------------------------------------------------------------------
# rounding


@pytest.mark.parametrize(
    "x,expected",
    [(95.5, 96), (94.5, 95), (-5.5, -6), (-5.4, -5), (0.5, 1), (-0.5, -1), (2.4999, 2),
     (0.145 * 100, 15), (100 * 0.945, 95), (1.005 * 100, 101), (-0.0, 0), (72.0, 72)],
)
def test_round_half_up(x, expected):
    assert stats.round_half_up(x) == expected


def test_percent_and_float_noise():
    assert 0.145 * 100 != 14.5  # the trap itself
    assert stats.percent(0.145) == 15
    assert stats.percent(0.945) == 95
    assert stats.percent(stats.proportion(189, 200)) == 95
    assert stats.percent(0.9449) == 94


def test_nps_points_rounds_from_counts():
    # 29 promoters, 3 detractors of 37: 70.27 -> 70; 1 of 8 promoters, 0 detractors 12.5 -> 13
    assert stats.nps_points(stats.nps(29, 5, 3)) == 70
    assert stats.nps_points(stats.nps(1, 7, 0)) == 13
    assert stats.nps_points(stats.nps(0, 7, 1)) == -13
    assert stats.nps_points(-5.5) == -6


def test_round_nan_raises():
    with pytest.raises(ValueError):
        stats.round_half_up(float("nan"))


# ---------------------------------------------------------------------------
# spearman


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, size=200)
    y = np.clip(x + rng.integers(-2, 3, size=200), 1, 5)
    assert stats.spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)


def test_spearman_drops_missing_pairs():
    x = pd.Series([1, 2, np.nan, 4, 5, 3], dtype="float")
    y = pd.Series([2, 1, 4, np.nan, 5, 3], dtype="float")
    keep = x.notna() & y.notna()
    expected = sps.spearmanr(x[keep], y[keep]).statistic
    assert stats.spearman(x, y) == pytest.approx(expected)
    assert stats.spearman(pd.array([1, 2, None, 4], dtype="Int64"), [1, 2, 3, 4]) == pytest.approx(1)


def test_spearman_undefined_cases():
    assert math.isnan(stats.spearman([1, 2], [2, 1]))
    assert math.isnan(stats.spearman([3, 3, 3, 3], [1, 2, 3, 4]))
    assert stats.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)
    with pytest.raises(ValueError):
        stats.spearman([1, 2, 3], [1, 2])


# ---------------------------------------------------------------------------
# distribution


def test_distribution():
    codes = pd.Series([5, 5, 4, 3, 98, 98, 99, np.nan, 1])
    table = stats.distribution(codes, [1, 2, 3, 4, 5], {98: "Geen mening", 99: "Niet van toepassing"})
    assert table["n"].tolist() == [1, 0, 1, 1, 2, 2, 1]
    scale = table[table["kind"] == "scale"]
    assert scale["share"].sum() == pytest.approx(1)
    assert table["share_all"].sum() == pytest.approx(1)
    assert table.loc[table["code"] == 98, "share"].isna().all()
    with pytest.raises(AgiiError, match="7"):
        stats.distribution(pd.Series([7]), [1, 2, 3, 4, 5], {})


# ---------------------------------------------------------------------------
# properties

counts = st.integers(min_value=0, max_value=5000)


@st.composite
def k_n_N(draw):
    n = draw(st.integers(min_value=0, max_value=3000))
    k = draw(st.integers(min_value=0, max_value=n))
    N = draw(st.one_of(st.none(), st.integers(min_value=max(n, 1), max_value=20000)))
    return k, n, N


@settings(max_examples=300, deadline=None)
@given(k_n_N(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_property_interval_contains_share(args, conf):
    k, n, N = args
    prop = stats.proportion(k, n, N, conf)
    if n == 0:
        assert math.isnan(prop.p)
        return
    assert 0 <= prop.lo <= prop.p <= prop.hi <= 1
    assert prop.se >= 0


@settings(max_examples=300, deadline=None)
@given(counts, counts, counts, st.one_of(st.none(), st.integers(0, 20000)))
def test_property_nps_bounds(pr, pa, de, extra):
    N = None if extra is None else pr + pa + de + extra
    res = stats.nps(pr, pa, de, N=N)
    if res.n == 0:
        assert math.isnan(res.score)
        return
    assert -100 <= res.lo <= res.score <= res.hi <= 100
    assert res.p_promoters + res.p_passives + res.p_detractors == pytest.approx(1)
    assert res.se >= 0


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 2000), st.integers(1, 9), st.integers(1, 10))
def test_property_width_shrinks_to_zero_as_n_reaches_N(N, c, d):
    """With the share fixed at c/d, the width falls as n grows and is 0 at n = N."""
    assume(c <= d)
    widths = []
    for j in range(1, N // d + 1):
        prop = stats.proportion(j * c, j * d, N)
        widths.append(prop.hi - prop.lo)
    assume(widths)
    assert all(b <= a + 1e-12 for a, b in zip(widths, widths[1:]))
    if N % d == 0:
        assert widths[-1] == 0
    assert stats.proportion(N * c // d, N, N).hi == stats.proportion(N * c // d, N, N).lo


@settings(max_examples=200, deadline=None)
@given(k_n_N())
def test_property_fpc_never_widens(args):
    k, n, N = args
    assume(n > 0)
    with_fpc = stats.proportion(k, n, N)
    plain = stats.proportion(k, n)
    assert with_fpc.hi - with_fpc.lo <= plain.hi - plain.lo + 1e-12


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_property_round_half_up_is_within_half(x):
    r = stats.round_half_up(x)
    assert abs(r - x) <= 0.5 + 1e-9
    assert stats.round_half_up(-x) == -r
