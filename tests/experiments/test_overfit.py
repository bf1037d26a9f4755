"""Tests of experiments.overfit: PSR, expected max SR, DSR, PBO by CSCV, Benjamini–Hochberg, report."""

from __future__ import annotations

import io
import itertools
import math
import re
from pathlib import Path

import attrs
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.stats import kurtosis, norm, skew

from experiments.overfit import (
    benjamini_hochberg,
    deflated_sharpe_ratio,
    deflated_sharpe_ratio_from_stats,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    sharpe_p_values,
    sharpe_ratio_columns,
    sweep_overfitting_report,
)

# ---------------------------------------------------------------------------------------------
# PSR
# ---------------------------------------------------------------------------------------------


def test_psr_hand_computed_normal_case():
    """Normal returns (skew 0, kurtosis 3): z = SR·sqrt(n−1)/sqrt(1 + SR²/2)."""
    # SR = 0.1, n = 101: z = 0.1·10 / sqrt(1 + 0.5·0.01) = 1/sqrt(1.005) = 0.997509...
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101) == pytest.approx(stats.norm.cdf(1 / math.sqrt(1.005)), abs=1e-12)
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101) == pytest.approx(0.840741, abs=1e-6)
    assert probabilistic_sharpe_ratio(0.3, 0.3, 50, -1.0, 6.0) == pytest.approx(0.5)


def test_psr_hand_computed_non_normal_case():
    """Skew −3, kurtosis 10 (the DSR paper's moments): the variance term is 1 + 3·SR + 9/4·SR²."""
    sr, bench, n = 0.2, 0.05, 400
    z = (sr - bench) * math.sqrt(n - 1) / math.sqrt(1 + 3 * sr + 9 / 4 * sr**2)
    assert probabilistic_sharpe_ratio(sr, bench, n, -3.0, 10.0) == pytest.approx(stats.norm.cdf(z), abs=1e-12)
    # Negative skew and fat tails widen the SR's standard error, so the PSR drops.
    assert probabilistic_sharpe_ratio(sr, bench, n, -3.0, 10.0) < probabilistic_sharpe_ratio(sr, bench, n)


def test_psr_is_calibrated_on_skewed_returns_monte_carlo():
    """Independent check of the PSR's variance formula: with the true SR as benchmark, PSR is ~U(0, 1).

    Returns are centred exponential draws (skew 2, kurtosis 9) plus a drift; over 4,000 seeded
    samples of 500 periods, P(PSR > 0.95) and P(PSR < 0.05) are both close to 5 %.
    """
    rng = np.random.default_rng(1)
    n, reps, sr_true = 500, 4000, 0.05
    r = rng.exponential(size=(reps, n)) - 1.0 + sr_true  # std 1, so the true SR is sr_true
    sr = r.mean(axis=1) / r.std(axis=1, ddof=1)
    psr = probabilistic_sharpe_ratio(sr, sr_true, n, stats.skew(r, axis=1), stats.kurtosis(r, axis=1, fisher=False))
    assert psr.shape == (reps,)
    assert abs(np.mean(psr > 0.95) - 0.05) < 0.015
    assert abs(np.mean(psr < 0.05) - 0.05) < 0.015
    assert abs(np.mean(psr) - 0.5) < 0.02


def test_psr_broadcasts():
    out = probabilistic_sharpe_ratio(np.array([0.0, 0.1, 0.2]), 0.0, 100)
    assert out.shape == (3,) and np.all(np.diff(out) > 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sr=0.1, sr_benchmark=0.0, n_obs=1), "n_obs >= 2"),
        (dict(sr=0.1, sr_benchmark=0.0, n_obs=100, skew=0.0, kurtosis=0.0), "non-excess"),
        (dict(sr=0.1, sr_benchmark=0.0, n_obs=100, skew=2.0, kurtosis=4.0), "non-excess"),
        (dict(sr=math.nan, sr_benchmark=0.0, n_obs=100), "finite"),
        (dict(sr=1.0, sr_benchmark=0.0, n_obs=100, skew=2.0, kurtosis=5.0), "annualised"),  # term = (1 - 1)^2,
    ],
)
def test_psr_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        probabilistic_sharpe_ratio(**kwargs)


def test_sharpe_p_values_is_one_minus_psr_at_zero():
    sr = np.array([-0.1, 0.0, 0.05, 0.2])
    p = sharpe_p_values(sr, 250)
    assert p == pytest.approx(1 - probabilistic_sharpe_ratio(sr, 0.0, 250))
    assert p[1] == pytest.approx(0.5)
    assert sharpe_p_values(0.1, 101) == pytest.approx(1 - 0.840741, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# Expected maximum Sharpe ratio
# ---------------------------------------------------------------------------------------------


def _exact_expected_max_std_normal(n: int) -> float:
    """E[max of n i.i.d. N(0, 1)] = ∫ x · n φ(x) Φ(x)^(n−1) dx, by quadrature (independent route)."""
    return integrate.quad(lambda x: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1), -12, 12, limit=200)[0]


@pytest.mark.parametrize("n, rel", [(10, 0.03), (100, 0.012), (1000, 0.006)])
def test_expected_max_sharpe_against_exact_order_statistic(n, rel):
    """The Gumbel approximation is within ~2 % (N = 10) to ~0.4 % (N = 1000) of the exact value."""
    exact = _exact_expected_max_std_normal(n)
    assert expected_max_sharpe(n, 1.0) == pytest.approx(exact, rel=rel)
    assert expected_max_sharpe(n, 4.0) == pytest.approx(2 * expected_max_sharpe(n, 1.0))
    assert expected_max_sharpe(n, 1.0, mean_sr=0.5) == pytest.approx(0.5 + expected_max_sharpe(n, 1.0))


def test_expected_max_sharpe_against_monte_carlo():
    """Seeded Monte Carlo of the max of 100 normal Sharpe ratios with V = 0.002."""
    rng = np.random.default_rng(7)
    v = 0.002
    draws = rng.normal(0.0, math.sqrt(v), size=(20000, 100)).max(axis=1)
    assert expected_max_sharpe(100, v) == pytest.approx(draws.mean(), rel=0.02)


def test_expected_max_sharpe_formula_value():
    """Hand evaluation: (1−γ)Φ⁻¹(0.99) + γΦ⁻¹(1 − 1/(100e)) = 0.42278·2.32635 + 0.57722·2.67964."""
    g = 0.5772156649015329
    z = (1 - g) * stats.norm.ppf(0.99) + g * stats.norm.ppf(1 - 1 / (100 * math.e))
    assert expected_max_sharpe(100, 1.0) == pytest.approx(z, abs=1e-12)
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.5306, abs=1e-4)


@pytest.mark.parametrize("n, v", [(1, 1.0), (0.5, 1.0), (math.inf, 1.0), (10, -1.0), (10, math.nan)])
def test_expected_max_sharpe_rejects_bad_input(n, v):
    with pytest.raises(ValueError):
        expected_max_sharpe(n, v)


# ---------------------------------------------------------------------------------------------
# DSR
# ---------------------------------------------------------------------------------------------

# Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J. Portfolio Management 40(5),
# numerical example: N = 100 trials, variance of the trials' *annualised* Sharpe ratios 0.5,
# best annualised SR 2.5, T = 1250 daily observations (250 a year), skewness −3, kurtosis 10
# (non-excess). Reported: SR₀ ≈ 0.1132 per day and DSR ≈ 0.9004 (the 2.5 Sharpe is not
# significant at 95 %). NOTE: these published values are quoted from the paper as recalled;
# they could not be retrieved from the search corpora in this session. The same example is
# therefore also checked by independent routes below (explicit arithmetic, and a Monte Carlo
# SR₀).
PAPER_N, PAPER_V_ANN, PAPER_SR_ANN, PAPER_T, PAPER_SKEW, PAPER_KURT = 100, 0.5, 2.5, 1250, -3.0, 10.0


def test_dsr_paper_numerical_example():
    sr = PAPER_SR_ANN / math.sqrt(250)  # 0.1581 per day
    v = PAPER_V_ANN / 250  # 0.002 per day²
    sr0 = expected_max_sharpe(PAPER_N, v)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio_from_stats(sr, PAPER_N, v, PAPER_T, PAPER_SKEW, PAPER_KURT)
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    # Explicit arithmetic of the same example (no library code):
    z = (sr - sr0) * math.sqrt(PAPER_T - 1) / math.sqrt(1 + 3 * sr + (10 - 1) / 4 * sr**2)
    assert dsr == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)), abs=1e-12)


def test_dsr_paper_example_benchmark_by_monte_carlo():
    """Independent route: SR₀ is within 1.5 % of a seeded Monte Carlo of the max of 100 N(0, 0.002)."""
    rng = np.random.default_rng(11)
    mc = rng.normal(0.0, math.sqrt(PAPER_V_ANN / 250), size=(20000, PAPER_N)).max(axis=1).mean()
    assert expected_max_sharpe(PAPER_N, PAPER_V_ANN / 250) == pytest.approx(mc, rel=0.015)


def test_dsr_from_trials_uses_count_and_sample_variance():
    rng = np.random.default_rng(3)
    trials = rng.normal(0.0, 0.05, size=40)
    best = float(trials.max())
    got = deflated_sharpe_ratio(best, trials, 500, -0.5, 5.0)
    want = deflated_sharpe_ratio_from_stats(best, 40, float(np.var(trials, ddof=1)), 500, -0.5, 5.0)
    assert got == pytest.approx(want, abs=1e-15)
    assert 0.0 <= got <= 1.0


def test_dsr_decreases_with_more_trials():
    vals = [deflated_sharpe_ratio_from_stats(0.15, n, 0.002, 1250) for n in (2, 10, 100, 1000)]
    assert all(a > b for a, b in itertools.pairwise(vals))


def test_dsr_rejects_single_trial():
    with pytest.raises(ValueError, match=">= 2 trials"):
        deflated_sharpe_ratio(0.1, [0.1], 100)
    with pytest.raises(ValueError, match="n_trials > 1"):
        deflated_sharpe_ratio_from_stats(0.1, 1, 0.01, 100)


# ---------------------------------------------------------------------------------------------
# Benjamini–Hochberg
# ---------------------------------------------------------------------------------------------


def _bh_direct(p: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Textbook BH: q_(i) = min_{j>=i} min(1, m p_(j)/j); reject the k smallest, k = max{i: p_(i) <= iα/m}."""
    m = p.size
    order = np.argsort(p, kind="stable")
    ps = p[order]
    raw = ps * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(raw[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    below = np.flatnonzero(ps <= np.arange(1, m + 1) * alpha / m)
    reject = np.zeros(m, dtype=bool)
    if below.size:
        reject[order[: below.max() + 1]] = True
    return q, reject


def test_bh_hand_worked_example():
    """p = [0.01, 0.04, 0.03, 0.005], m = 4, α = 0.05.

    Sorted: 0.005, 0.01, 0.03, 0.04 → m·p/i = 0.02, 0.02, 0.04, 0.04 → q (running min from the
    top) = 0.02, 0.02, 0.04, 0.04. The largest i with p_(i) <= iα/m is 4 (0.04 <= 0.05), so all
    four are rejected. In input order: q = [0.02, 0.04, 0.04, 0.02].
    """
    q, reject = benjamini_hochberg([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    np.testing.assert_allclose(q, [0.02, 0.04, 0.04, 0.02], atol=1e-15)
    assert reject.tolist() == [True, True, True, True]
    # At α = 0.03 only those with q <= 0.03 survive.
    q, reject = benjamini_hochberg([0.01, 0.04, 0.03, 0.005], alpha=0.03)
    assert reject.tolist() == [True, False, False, True]


@pytest.mark.parametrize("seed", range(5))
def test_bh_matches_direct_implementation(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=60), rng.uniform(0, 0.002, size=10), [0.01, 0.01, 0.5, 1.0, 0.0]])
    rng.shuffle(p)
    for alpha in (0.01, 0.05, 0.2):
        q, reject = benjamini_hochberg(p, alpha)
        q_ref, reject_ref = _bh_direct(p, alpha)
        np.testing.assert_allclose(q, q_ref, atol=1e-14)
        assert np.array_equal(reject, reject_ref)


@pytest.mark.parametrize("p, alpha", [([], 0.05), ([0.1, 1.2], 0.05), ([0.1, math.nan], 0.05), ([0.1], 1.0)])
def test_bh_rejects_bad_input(p, alpha):
    with pytest.raises(ValueError):
        benjamini_hochberg(p, alpha)


# ---------------------------------------------------------------------------------------------
# PBO by CSCV
# ---------------------------------------------------------------------------------------------


def _pbo_bruteforce(x: np.ndarray, s: int, metric) -> tuple[float, np.ndarray]:
    """Straight transcription of the CSCV steps, one combination at a time."""
    t, n = x.shape
    L = t // s
    x = x[t - L * s :]
    blocks = [x[i * L : (i + 1) * L] for i in range(s)]
    logits = []
    for chosen in itertools.combinations(range(s), s // 2):
        is_ = np.vstack([blocks[i] for i in chosen])
        oos = np.vstack([blocks[i] for i in range(s) if i not in chosen])
        r_is, r_oos = metric(is_), metric(oos)
        best = int(np.argmax(r_is))
        rank = stats.rankdata(r_oos)[best]  # 1 = worst
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits


def test_pbo_fast_default_metric_matches_bruteforce():
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, size=(123, 7)) + np.linspace(-0.1, 0.1, 7)  # 123 rows: 3 dropped at S=6
    res = pbo_cscv(x, n_splits=6)
    pbo_ref, logits_ref = _pbo_bruteforce(x, 6, sharpe_ratio_columns)
    assert res.n_combinations == math.comb(6, 3) == len(logits_ref)
    assert res.rows_used == 120
    np.testing.assert_allclose(res.logits, logits_ref, atol=1e-12)
    assert res.pbo == pbo_ref
    # The same through the callable path.
    res2 = pbo_cscv(x, n_splits=6, metric=sharpe_ratio_columns)
    np.testing.assert_allclose(res2.logits, res.logits, atol=1e-12)
    np.testing.assert_allclose(res2.is_performance, res.is_performance, rtol=1e-9)
    np.testing.assert_allclose(res2.oos_performance, res.oos_performance, rtol=1e-9)


def test_pbo_fast_path_handles_tiny_variance_halves():
    """A half with a tiny variance next to a huge offset is recomputed directly, not from block sums."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(64, 3))
    x[:32, 2] = 1e6 + rng.normal(size=32) * 1e-3
    x[32:, 2] = rng.normal(size=32) * 1e3
    fast = pbo_cscv(x, n_splits=2)
    slow = pbo_cscv(x, n_splits=2, metric=sharpe_ratio_columns)
    np.testing.assert_allclose(fast.is_performance, slow.is_performance, rtol=1e-6)
    np.testing.assert_allclose(fast.oos_performance, slow.oos_performance, rtol=1e-6)
    np.testing.assert_allclose(fast.logits, slow.logits)


def test_pbo_custom_metric_matches_bruteforce():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(80, 5))

    def metric(a):
        return a.sum(axis=0)

    res = pbo_cscv(x, n_splits=4, metric=metric)
    pbo_ref, logits_ref = _pbo_bruteforce(x, 4, metric)
    np.testing.assert_allclose(res.logits, logits_ref, atol=1e-12)
    assert res.pbo == pbo_ref


def test_pbo_pure_noise_is_near_one_half():
    """N strategies of pure noise: the IS winner's OOS rank is uniform, so PBO ≈ 0.5 on average.

    A single matrix's PBO is noisy (its combinations share data), so average 40 seeded matrices.
    """
    pbos = [pbo_cscv(np.random.default_rng(s).normal(size=(480, 40)), n_splits=8).pbo for s in range(40)]
    assert np.mean(pbos) == pytest.approx(0.5, abs=0.1)


def test_pbo_genuine_edge_is_near_zero():
    """One strategy with a real edge among 30 noise strategies is the IS and OOS winner: PBO ≈ 0."""
    rng = np.random.default_rng(21)
    x = rng.normal(size=(1600, 30))
    x[:, 12] += 0.25
    res = pbo_cscv(x)  # S = 16, 12,870 combinations
    assert res.n_combinations == 12870
    assert res.pbo < 0.02
    assert np.mean(res.best_is_trial == 12) > 0.98
    assert res.prob_oos_loss == 0.0
    assert np.all(res.logits > 0)


def test_pbo_degradation_is_negative_for_noise():
    """For pure noise a high IS Sharpe predicts nothing OOS; split halves are anti-correlated → slope < 0."""
    slopes = [
        pbo_cscv(np.random.default_rng(s).normal(size=(480, 20)), n_splits=8).degradation_slope for s in range(10)
    ]
    assert np.mean(slopes) < 0


def test_pbo_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 2 trials"):
        pbo_cscv(rng.normal(size=(100, 1)))
    with pytest.raises(ValueError, match="even"):
        pbo_cscv(rng.normal(size=(100, 3)), n_splits=5)
    with pytest.raises(ValueError, match="row per block"):
        pbo_cscv(rng.normal(size=(10, 3)), n_splits=16)
    with pytest.raises(ValueError, match="\\(T, N\\)"):
        pbo_cscv(rng.normal(size=100))
    x = rng.normal(size=(64, 3))
    x[:, 1] = 2.5
    with pytest.raises(ValueError, match="constant series"):
        pbo_cscv(x, n_splits=4)
    x = rng.normal(size=(64, 3))
    x[:32, 2] = 0.0  # constant over the first half only: some combinations hit it
    with pytest.raises(ValueError, match="constant series"):
        pbo_cscv(x, n_splits=2)
    with pytest.raises(ValueError, match="shape"):
        pbo_cscv(rng.normal(size=(64, 3)), n_splits=4, metric=lambda a: a.sum())


def test_sharpe_ratio_columns_constant_series_raises():
    with pytest.raises(ValueError, match="constant series in column"):
        sharpe_ratio_columns(np.ones((10, 2)))
    np.testing.assert_allclose(sharpe_ratio_columns(np.array([1.0, 2.0, 3.0])), [2.0])


# ---------------------------------------------------------------------------------------------
# Sweep report
# ---------------------------------------------------------------------------------------------


def test_report_noise_sweep_is_luck():
    rng = np.random.default_rng(42)
    pnl = {f"t{i:03d}": rng.normal(0.0, 1.0, size=640) for i in range(60)}
    rep = sweep_overfitting_report(pnl, n_splits=8)
    assert rep["n_trials"] == 60 and rep["n_obs"] == 640
    best = max(rep["sharpe_by_trial"], key=rep["sharpe_by_trial"].get)
    assert rep["best_trial"] == best
    assert rep["dsr"] < 0.95 and not rep["dsr_significant"]
    assert rep["bh_significant"] == []
    assert rep["pbo_n_combinations"] == 70
    assert rep["expected_max_sharpe"] == pytest.approx(expected_max_sharpe(60, rep["sharpe_variance"]))
    s = rep["interpretation"]
    assert s.startswith("With 60 trials, the best Sharpe ratio of ")
    assert "not significant at 95 %" in s and f"PBO {rep['pbo']:.2f}" in s
    assert s.count(".") >= 1 and s.endswith(".")


def test_report_genuine_edge_is_detected():
    rng = np.random.default_rng(43)
    pnl = {f"t{i}": rng.normal(0.0, 1.0, size=1600) for i in range(30)}
    pnl["edge"] = rng.normal(0.3, 1.0, size=1600)
    rep = sweep_overfitting_report(pnl)
    assert rep["best_trial"] == "edge"
    assert rep["dsr"] > 0.99 and rep["dsr_significant"]
    assert rep["pbo"] < 0.05
    assert "edge" in rep["bh_significant"]
    assert rep["q_value_by_trial"]["edge"] < 1e-6
    assert "significant at 95 %" in rep["interpretation"] and "not significant" not in rep["interpretation"]
    assert "genuine edge" in rep["interpretation"]


def test_report_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 2 trials"):
        sweep_overfitting_report({"a": rng.normal(size=100)})
    with pytest.raises(ValueError, match="same length"):
        sweep_overfitting_report({"a": rng.normal(size=100), "b": rng.normal(size=99)})
    with pytest.raises(ValueError, match=r"constant non-zero PnL series .*\['const'\]"):
        sweep_overfitting_report({"a": rng.normal(size=100), "const": np.full(100, 0.5)})
    with pytest.raises(ValueError, match="all 2 trials have a flat equity curve"):
        sweep_overfitting_report({"a": np.zeros(100), "b": np.zeros(100)})
    with pytest.raises(ValueError, match="non-finite"):
        sweep_overfitting_report({"a": rng.normal(size=100), "b": np.full(100, np.nan)})


def test_report_counts_flat_trials_in_n_with_sharpe_zero():
    """A trial that never traded (PnL 0 every period) is one of the N trials tried, with a
    Sharpe ratio of 0: N, V and the DSR are those of the Bailey & López de Prado formula with
    it included (computed here from the raw series with numpy/scipy, not by the module)."""
    rng = np.random.default_rng(3)
    t = 400
    pnl = {f"t{i}": rng.normal(0.02 * i, 1.0, t) for i in range(5)}
    pnl["idle1"] = np.zeros(t)
    pnl["idle2"] = np.zeros(t)
    rep = sweep_overfitting_report(pnl, n_splits=8)
    assert rep["n_trials"] == 7 and rep["n_flat"] == 2 and rep["flat_trials"] == ["idle1", "idle2"]
    sr = np.array([x.mean() / x.std(ddof=1) if x.any() else 0.0 for x in pnl.values()])
    assert rep["sharpe_by_trial"]["idle1"] == 0.0
    v = float(np.var(sr, ddof=1))
    assert rep["sharpe_variance"] == pytest.approx(v, rel=1e-12)
    ib = int(np.argmax(sr))
    best = list(pnl.values())[ib]
    g = 0.5772156649015329
    sr0 = math.sqrt(v) * ((1 - g) * norm.ppf(1 - 1 / 7) + g * norm.ppf(1 - 1 / (7 * math.e)))
    g3 = float(skew(best))
    g4 = float(kurtosis(best, fisher=False))
    z = (sr[ib] - sr0) * math.sqrt(t - 1) / math.sqrt(1 - g3 * sr[ib] + (g4 - 1) / 4 * sr[ib] ** 2)
    assert rep["dsr"] == pytest.approx(norm.cdf(z), rel=1e-9)
    assert rep["p_value_by_trial"]["idle2"] == pytest.approx(0.5)
    assert 0.0 <= rep["pbo"] <= 1.0


def test_pbo_scores_a_flat_half_as_zero_when_asked():
    """A trial that trades only in the second half: without ``zero_if_flat`` its first half has
    no Sharpe ratio (error); with it, that half scores 0 and the PBO is computed."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, (64, 4))
    x[:32, 3] = 0.0
    with pytest.raises(ValueError, match="constant"):
        pbo_cscv(x, n_splits=2)
    res = pbo_cscv(x, n_splits=2, zero_if_flat=True)
    # two combinations: IS = first half (trial 3 scores 0) and IS = second half
    with np.errstate(invalid="ignore"):
        first = x[:32].mean(axis=0) / x[:32].std(axis=0, ddof=1)
    first[3] = 0.0
    assert res.is_performance[0] == pytest.approx(first.max())


# -- every shipped example -----------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "experiments").glob("*.toml"))


def _quick(path: Path):
    """The example as shipped (its data, its sections), cut to 4 trials: 4 random / bayes
    points, or 4 grid points spread over the grid."""
    from experiments.config import load_sweep_text

    text = re.sub(r"(?m)^n_trials\s*=\s*\d+", "n_trials = 4", path.read_text())
    spec = load_sweep_text(text, path)
    if spec.method == "grid" and len(spec.trials) > 4:
        step = len(spec.trials) // 4
        spec = attrs.evolve(spec, trials=tuple(spec.trials[::step][:4]))
    return spec


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_overfitting_checks_run_on_every_shipped_example(path, tmp_path, monkeypatch):
    """Issue 14 item 6: on a quick version of every ``experiments/*.toml`` the report's
    overfitting checks run (N = every finished trial, the series from ``equity_samples``), or
    the page says precisely why not — never a bare "constant series" error."""
    from experiments.executor import run_sweep
    from experiments.progress import PlainReporter
    from experiments.report import _load, _overfitting, build_report
    from experiments.store import open_for_query

    monkeypatch.setenv("MMSIM_CACHE_DIR", str(tmp_path / "cache"))
    spec = _quick(path)
    db = tmp_path / "r.duckdb"
    res = run_sweep(spec, results=db, workers=1, reporter=PlainReporter(stream=io.StringIO()))
    assert res.n_done >= 2, (res.n_done, res.n_failed)
    con, _ = open_for_query(db)
    try:
        data = _load(con, None)
    finally:
        con.close()
    of = _overfitting(data)
    page = build_report(db, tmp_path / "rep").read_text()
    if of["ok"]:
        assert of["n"] == res.n_done  # every finished trial counted, flat ones too
        assert "equity_samples" in of["source"]
        assert of["result"]["n_trials"] == res.n_done
        assert f"N = {res.n_done} trials tried" in page
    else:  # a precise reason: trial counts and the sizes involved
        assert "trials" in of["reason"] and "constant series:" not in of["reason"], of["reason"]
        assert "overfitting checks unavailable: " in page
