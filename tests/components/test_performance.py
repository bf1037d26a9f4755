"""Performance metrics against hand-computed cases (components.performance)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from components.metrics import EQUITY_DTYPE, FILL_DTYPE
from components.performance import (
    SECONDS_PER_YEAR,
    calmar_ratio,
    downside_deviation,
    fill_ratio,
    inventory_stats,
    markouts,
    max_drawdown,
    periods_per_year,
    pnl_increments,
    pnl_series,
    sharpe_ratio,
    sortino_ratio,
    value_at_risk,
)

S = 1_000_000_000  # 1 s in ns


def curve(rows):
    """An equity curve from (ts_ns, equity, q, mid) tuples."""
    return np.array(rows, dtype=EQUITY_DTYPE)


def fills(rows):
    """A fill log from (ts_ns, side, px, qty) tuples (maker, no fee, mid = px)."""
    out = np.zeros(len(rows), dtype=FILL_DTYPE)
    for i, (ts, side, px, qty) in enumerate(rows):
        out[i] = (ts, i + 1, side, True, px, qty, 0.0, 0.0, px)
    return out


# -- clock and annualisation -------------------------------------------------------------------


def test_periods_per_year_is_a_365_day_year():
    assert SECONDS_PER_YEAR == 365 * 86_400
    assert periods_per_year(S) == 31_536_000.0
    assert periods_per_year(60 * S) == 525_600.0
    with pytest.raises(ValueError):
        periods_per_year(0)


def test_pnl_series_takes_the_last_row_at_or_before_each_tick():
    c = curve(
        [
            (0, 0.0, 0.0, 100.0),
            (S // 2, 1.0, 1.0, 101.0),
            (S, 2.0, 1.0, 102.0),  # a sample at the tick ...
            (S, 2.5, 2.0, 102.0),  # ... and a fill at the same time: the fill wins
            (2 * S + 1, 9.0, 0.0, 103.0),  # just after the 2 s tick
            (3 * S + S // 2, 4.0, 0.0, 104.0),  # the last row, 0.5 s into the 4th period
        ]
    )
    s = pnl_series(c, S)
    assert s["ts_ns"].tolist() == [0, S, 2 * S, 3 * S]  # trailing partial period dropped
    assert s["equity"].tolist() == [0.0, 2.5, 2.5, 9.0]
    assert s["q"].tolist() == [0.0, 2.0, 2.0, 0.0]
    assert s["mid"].tolist() == [100.0, 102.0, 102.0, 103.0]
    assert pnl_increments(s).tolist() == [2.5, 0.0, 6.5]
    assert pnl_series(curve([]), S).size == 0


# -- Sharpe / Sortino ---------------------------------------------------------------------------


def test_sharpe_and_sortino_by_hand():
    x = [1.0, -1.0, 2.0, 0.0]
    # mean = 2/4 = 0.5; deviations .5, -1.5, 1.5, -.5 → squares .25 + 2.25 + 2.25 + .25 = 5
    # sample variance 5/3, sd = 1.2909944; per-period Sharpe .5/1.2909944 = 0.3872983
    # 4 periods a year → × √4 = 2 → 0.7745967
    assert sharpe_ratio(x, 4.0) == pytest.approx(0.5 / math.sqrt(5 / 3) * 2.0, rel=1e-12)
    assert sharpe_ratio(x, 4.0) == pytest.approx(0.7745967, abs=1e-7)
    # downside: min(x, 0) = 0, -1, 0, 0 → mean of squares 1/4 → DD = 0.5
    assert downside_deviation(x) == 0.5
    # Sortino = .5 / .5 × √4 = 2
    assert sortino_ratio(x, 4.0) == pytest.approx(2.0, rel=1e-12)
    # a target of 1: x − 1 = 0, -2, 1, -1 → min(.,0)² = 0, 4, 0, 1 → DD = √(5/4); (.5 − 1)/DD·2
    assert sortino_ratio(x, 4.0, target=1.0) == pytest.approx(-0.5 / math.sqrt(1.25) * 2.0)


def test_pnl_series_ticks_are_whole_multiples_of_the_clock():
    """Ticks at ⌈t_0/Δ⌉·Δ + kΔ: two curves starting at different times share the same ticks."""
    a = curve([(S // 3, 0.0, 0.0, 1.0), (S + 1, 1.0, 0.0, 1.0), (3 * S, 5.0, 0.0, 1.0)])
    b = curve([(2 * S // 3, 0.0, 0.0, 1.0), (2 * S, 2.0, 0.0, 1.0), (3 * S + 5, 4.0, 0.0, 1.0)])
    assert pnl_series(a, S)["ts_ns"].tolist() == [S, 2 * S, 3 * S]
    assert pnl_series(b, S)["ts_ns"].tolist() == [S, 2 * S, 3 * S]
    assert pnl_series(a, S)["equity"].tolist() == [0.0, 1.0, 5.0]
    assert pnl_series(b, S)["equity"].tolist() == [0.0, 2.0, 2.0]
    assert pnl_series(curve([(S // 3, 0.0, 0.0, 1.0), (S // 2, 1.0, 0.0, 1.0)]), S).size == 0


class _Recorder:
    """The three things trial_performance reads from a PnLRecorder."""

    def __init__(self, eq):
        from components.account import Account

        self._eq, self.account = eq, Account()

    def equity_curve(self):
        return self._eq

    def fills(self):
        return np.zeros(0, dtype=FILL_DTYPE)


@pytest.mark.parametrize("n_inc", [1439, 1440])
def test_ratios_are_annualised_only_from_a_day_of_samples(n_inc):
    """Issue 14 item 1: at a 1 min interval a year has 525,600 periods; the annualised Sharpe
    needs ⌈86,400 / 60⌉ = 1,440 increments (a day), else it is NaN with ``annualised = 0``;
    the per-interval Sharpe is always there."""
    from components.performance import annualise_min_samples, trial_performance

    assert annualise_min_samples(60 * S) == 1440 and annualise_min_samples(3600 * S) == 30
    rng = np.random.default_rng(1)
    inc = rng.normal(0.01, 1.0, n_inc)
    eq = np.zeros(n_inc + 1, dtype=EQUITY_DTYPE)
    eq["ts_ns"] = np.arange(n_inc + 1) * 60 * S
    eq["equity"] = np.concatenate([[0.0], np.cumsum(inc)])
    eq["mid"] = 100.0
    perf = trial_performance(_Recorder(eq), n_orders=0, q_max=1.0, sample_ms=60_000.0)
    per = inc.mean() / inc.std(ddof=1)
    assert perf["metric_interval_s"] == 60.0 and perf["n_metric_samples"] == n_inc
    assert perf["sharpe_per_interval"] == pytest.approx(per, rel=1e-9)
    if n_inc < 1440:
        assert perf["annualised"] == 0.0
        assert math.isnan(perf["sharpe"]) and math.isnan(perf["sortino"]) and math.isnan(perf["calmar"])
    else:
        assert perf["annualised"] == 1.0
        assert perf["sharpe"] == pytest.approx(per * math.sqrt(525_600), rel=1e-9)
    # the VaR horizon is the interval: the loss quantile of the 1 min increments
    assert perf["var_95_hist"] == pytest.approx(-np.quantile(inc, 0.05), rel=1e-12)


def test_ratios_are_nan_where_undefined():
    assert math.isnan(sharpe_ratio([], 1.0))
    assert math.isnan(sharpe_ratio([1.0], 1.0))
    assert math.isnan(sharpe_ratio([2.0, 2.0, 2.0], 1.0))  # zero sd
    assert math.isnan(sortino_ratio([1.0, 2.0], 1.0))  # no downside
    assert math.isnan(calmar_ratio([1.0, 2.0], 1.0))  # no drawdown
    assert math.isnan(calmar_ratio([], 1.0))


# -- drawdown and Calmar ------------------------------------------------------------------------


def test_max_drawdown_and_calmar_by_hand():
    # path 0, 3, 1, 4, 0.5, 2: running max 0, 3, 3, 4, 4, 4 → falls 0, 0, 2, 0, 3.5, 2
    assert max_drawdown([0.0, 3.0, 1.0, 4.0, 0.5, 2.0]) == 3.5
    assert max_drawdown([1.0, 2.0, 3.0]) == 0.0
    assert max_drawdown([]) == 0.0
    # increments 2, -3, 1, 4 → path 0, 2, -1, 0, 4: drawdown 3 (2 → -1); mean 1 a period,
    # 10 periods a year → 10 a year; Calmar = 10 / 3
    assert calmar_ratio([2.0, -3.0, 1.0, 4.0], 10.0) == pytest.approx(10.0 / 3.0)
    # an explicit (finer-grained) drawdown replaces the one of the path
    assert calmar_ratio([2.0, -3.0, 1.0, 4.0], 10.0, max_dd=5.0) == pytest.approx(2.0)
    # the path starts at 0: a first loss is a drawdown
    assert calmar_ratio([-1.0, 3.0], 1.0) == pytest.approx(1.0)


# -- VaR ----------------------------------------------------------------------------------------

TWENTY = np.array([-9.0, -7.0, -5.0, -4.0, -3.0, -2.5, -2.0, -1.0, -0.5, 0.0,
                   0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0])  # fmt: skip


def test_historical_var_is_the_interpolated_loss_quantile():
    """One VaR: −Q(1 − α) of the increments, Q the type-7 (linear) empirical quantile; worked
    by hand on 20 sorted values x_(0) = −9, x_(1) = −7, x_(2) = −5, …; h = (n − 1)(1 − α)."""
    x = np.random.default_rng(0).permutation(TWENTY)  # order must not matter
    # α = .95: h = 19 × .05 = 0.95 → x_(0) + .95 (x_(1) − x_(0)) = −9 + 1.9 = −7.1 → VaR 7.1
    assert value_at_risk(x, 0.95) == pytest.approx(7.1, abs=1e-12)
    # α = .99: h = 0.19 → −9 + .19 × 2 = −8.62
    assert value_at_risk(x, 0.99) == pytest.approx(8.62, abs=1e-12)
    # α = .90: h = 1.9 → x_(1) + .9 (x_(2) − x_(1)) = −7 + 1.8 = −5.2
    assert value_at_risk(x, 0.90) == pytest.approx(5.2, abs=1e-12)
    # α = .75: h = 4.75 → x_(4) + .75 (x_(5) − x_(4)) = −3 + .75 × .5 = −2.625
    assert value_at_risk(x, 0.75) == pytest.approx(2.625, abs=1e-12)
    # all gains → a negative VaR (no loss at that level): 1 + .95 × 1 = 1.95
    assert value_at_risk(np.arange(1.0, 21.0), 0.95) == pytest.approx(-1.95, abs=1e-12)
    assert math.isnan(value_at_risk([], 0.95))
    with pytest.raises(ValueError):
        value_at_risk(x, 1.0)
    with pytest.raises(ValueError):
        value_at_risk(x, 0.95, method="cornish-fisher")


def test_the_risk_monitor_uses_the_same_var():
    """Issue 14 item 2: the monitor's VaR functions are this one (same hand-worked values)."""
    from strategies import risk

    assert risk.historical_var(TWENTY, 0.95) == pytest.approx(7.1, abs=1e-12)
    assert risk.historical_var(TWENTY, 0.99) == pytest.approx(8.62, abs=1e-12)
    assert risk.parametric_var(TWENTY, 0.99) == value_at_risk(TWENTY, 0.99, "parametric")
    assert risk.value_at_risk is value_at_risk


def test_parametric_var_is_gaussian():
    mu, sd = TWENTY.mean(), TWENTY.std(ddof=1)
    for level in (0.95, 0.99):
        z = norm.ppf(1.0 - level)
        assert value_at_risk(TWENTY, level, "parametric") == pytest.approx(-(mu + z * sd), rel=1e-12)
    # by hand: mean 0.4, sd of [-1, 1] is √2 → VaR95 = −(0 − 1.6448536 × 1.4142136) = 2.3261743
    assert value_at_risk([-1.0, 1.0], 0.95, "parametric") == pytest.approx(2.3261743, abs=1e-6)
    assert math.isnan(value_at_risk([1.0], 0.95, "parametric"))


# -- markouts -----------------------------------------------------------------------------------


def test_markouts_on_three_fills_with_a_known_mid_path():
    # mid path: 100 until 1 s, 101 from 1 s, 99 from 11 s, 102 from 20 s, last sample at 30 s
    ts = np.array([0, 1, 11, 20, 30]) * S
    mid = np.array([100.0, 101.0, 99.0, 102.0, 102.0])
    f = fills(
        [
            (0, +1, 100.0, 2.0),  # buy at 100
            (S // 2, -1, 100.5, 1.0),  # sell at 100.5
            (15 * S, +1, 100.0, 1.0),  # buy at 100: t + 60 s is after the end
        ]
    )
    mk = markouts(f, ts, mid, horizons_s=(1, 10, 60))
    # h = 1 s: mid(1 s) = 101 → buy +1/100 = +100 bps, 2 units → +2.0
    #          mid(1.5 s) = 101 → sell −(101 − 100.5)/100.5 = −49.75 bps, −0.5
    #          mid(16 s) = 99 → buy −1/100 = −100 bps, −1.0
    b1 = [100.0, -0.5 / 100.5 * 1e4, -100.0]
    assert mk[1]["bps"] == pytest.approx(np.mean(b1))
    assert mk[1]["quote"] == pytest.approx((2.0 - 0.5 - 1.0) / 3)
    assert mk[1]["total_quote"] == pytest.approx(0.5)
    assert (mk[1]["n"], mk[1]["n_excluded"]) == (3.0, 0.0)
    # h = 10 s: mid(10 s) = 101 → +100 bps, +2; mid(10.5 s) = 101 → −49.75 bps, −.5;
    #           mid(25 s) = 102 → +200 bps, +2
    assert mk[10]["bps"] == pytest.approx(np.mean([100.0, -0.5 / 100.5 * 1e4, 200.0]))
    assert mk[10]["total_quote"] == pytest.approx(3.5)
    # h = 60 s: every fill's t + 60 s is after the last sample (30 s) → all excluded
    assert mk[60]["n_excluded"] == 3.0 and math.isnan(mk[60]["bps"])


def test_markout_is_taken_exactly_at_the_horizon_boundary():
    ts = np.array([0, S, 2 * S])
    mid = np.array([10.0, 11.0, 12.0])
    f = fills([(0, -1, 10.0, 1.0), (S, -1, 10.0, 1.0)])
    mk = markouts(f, ts, mid, horizons_s=(1,))
    # mid(1 s) = 11 (the row at exactly t + h counts) → −1000 bps; mid(2 s) = 12 → −2000 bps
    assert mk[1]["bps"] == pytest.approx(-1500.0)
    mk2 = markouts(f, ts, mid, horizons_s=(1.5,))
    assert mk2[1.5]["n_excluded"] == 1.0 and mk2[1.5]["bps"] == pytest.approx(-1000.0)



def test_markouts_of_fills_out_of_time_order_and_before_the_first_mid():
    """The lookup of ``mid(t + h)`` does not rely on the fills being in time order; a fill whose
    ``t + h`` comes before the first mid sample is excluded (no mid to mark against)."""
    ts = np.array([0, 1, 11, 20, 30]) * S
    mid = np.array([100.0, 101.0, 99.0, 102.0, 102.0])
    f = fills([(15 * S, +1, 100.0, 1.0), (0, +1, 100.0, 2.0), (-5 * S, -1, 100.0, 1.0), (S // 2, -1, 100.5, 1.0)])
    mk = markouts(f, ts, mid, horizons_s=(1,))
    # as the known-path test, in another order: +100, -49.75 and -100 bps; the fill at -5 s
    # (t + 1 s = -4 s) has no mid
    assert mk[1]["bps"] == pytest.approx(np.mean([100.0, -0.5 / 100.5 * 1e4, -100.0]))
    assert mk[1]["total_quote"] == pytest.approx(0.5)
    assert (mk[1]["n"], mk[1]["n_excluded"]) == (3.0, 1.0)

# -- inventory ----------------------------------------------------------------------------------


def test_inventory_time_weights_and_limit():
    # q = 0 for 2 s, 1 (the limit) for 1 s, −0.5 for 1 s; last row at 4 s
    c = curve([(0, 0.0, 0.0, 1.0), (2 * S, 0.0, 1.0, 1.0), (3 * S, 0.0, -0.5, 1.0), (4 * S, 0.0, -0.5, 1.0)])
    st_ = inventory_stats(c, q_max=1.0)
    # ∫|q| = 0·2 + 1·1 + .5·1 = 1.5 over 4 s
    assert st_["time_weighted_abs_q"] == pytest.approx(1.5 / 4)
    assert st_["time_at_limit"] == pytest.approx(1 / 4)
    # 1 s samples 0, 0, 1, −.5, −.5 → mean |q| = 2/5
    assert st_["mean_abs_q"] == pytest.approx(0.4)


def test_ar1_half_life_on_a_constructed_path():
    # q_k = 0.5 q_{k−1}, restarted at 8 every 4 s: 8, 4, 2, 1, 8, 4, 2, 1, ...
    # pairs (q_{k−1}, q_k) lie on q_k = 0.5 q_{k−1} except the restarts (1 → 8); use a pure decay
    q = 64.0 * 0.5 ** np.arange(7)  # 64, 32, ..., 1: exactly q_k = 0.5·q_{k−1}
    c = curve([(k * S, 0.0, qk, 1.0) for k, qk in enumerate(q)])
    st_ = inventory_stats(c, q_max=100.0)
    assert st_["q_ar1_phi"] == pytest.approx(0.5, rel=1e-12)
    # half-life −ln2/ln .5 = 1 sample = 1 s
    assert st_["q_half_life_s"] == pytest.approx(1.0, rel=1e-12)
    # the same path on a 2 s clock: samples 64, 16, 4, 1 → φ = .25, half-life = 1 period·... = 2 s·.5
    st2 = inventory_stats(c, q_max=100.0, sample_ns=2 * S)
    assert st2["q_ar1_phi"] == pytest.approx(0.25)
    assert st2["q_half_life_s"] == pytest.approx(-math.log(2) / math.log(0.25) * 2.0)  # = 1 s


def test_ar1_is_nan_where_undefined():
    flat = curve([(k * S, 0.0, 0.0, 1.0) for k in range(10)])
    assert math.isnan(inventory_stats(flat, 1.0)["q_ar1_phi"])
    alternating = curve([(k * S, 0.0, (-1.0) ** k, 1.0) for k in range(10)])
    st_ = inventory_stats(alternating, 1.0)
    assert st_["q_ar1_phi"] == pytest.approx(-1.0) and math.isnan(st_["q_half_life_s"])
    assert st_["time_at_limit"] == 1.0
    random_walk = curve([(k * S, 0.0, float(k), 1.0) for k in range(10)])  # φ = 1: no reversion
    assert math.isnan(inventory_stats(random_walk, 100.0)["q_half_life_s"])


def test_fill_ratio():
    assert fill_ratio(6, 81) == pytest.approx(6 / 81)
    assert math.isnan(fill_ratio(0, 0))


# -- properties ---------------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(st.lists(finite, min_size=2, max_size=60), st.floats(0.01, 100.0))
def test_ratios_scale_invariant_and_var_ordered(x, scale):
    """Sharpe/Sortino don't change with the unit of PnL; VaR99 ≥ VaR95 both ways."""
    x = np.array(x)
    a, b = sharpe_ratio(x, 100.0), sharpe_ratio(x * scale, 100.0)
    assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-6, abs=1e-9)
    a, b = sortino_ratio(x, 100.0), sortino_ratio(x * scale, 100.0)
    assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-6, abs=1e-9)
    assert value_at_risk(x, 0.99) >= value_at_risk(x, 0.95)
    assert value_at_risk(x, 0.95) >= -float(np.max(x)) and value_at_risk(x, 0.99) <= -float(np.min(x)) + 0
    p95, p99 = value_at_risk(x, 0.95, "parametric"), value_at_risk(x, 0.99, "parametric")
    assert p99 >= p95 - 1e-9 * (1 + abs(p95))


@given(st.lists(finite, min_size=1, max_size=60))
def test_drawdown_bounds(x):
    e = np.concatenate([[0.0], np.cumsum(x)])
    dd = max_drawdown(e)
    assert 0.0 <= dd <= float(np.max(e) - np.min(e)) + 1e-9
    assert dd == pytest.approx(max(0.0, max(max(e[: i + 1]) - e[i] for i in range(e.size))), abs=1e-9)
