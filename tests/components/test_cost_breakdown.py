"""The cost breakdown adds up to the net PnL to the cent: by hand, by property, on recorded data."""

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import experiments.trial as trial_mod
from components.account import Account
from components.metrics import FILL_DTYPE, PnLRecorder
from components.performance import COST_KEYS, check_identity, cost_breakdown, identity_residual, waterfall
from experiments.trial import run_trial
from strategies.glft import GLFTConfig, GLFTQuoter
from strategies.hedger import HedgerConfig
from venues.chain import ChainConfig, PoolConfig
from venues.loaders import DataConfig, load_feed
from venues.orderbook.config import VenueConfig

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "binance_usdm_ethusdt" / "ethusdt_20240718.gz"


def book(rows, funding=0.0):
    """Book ``(side, px, qty, fee, mid)`` fills into a fresh account; return (fills, account)."""
    acct = Account()
    log = np.zeros(len(rows), dtype=FILL_DTYPE)
    for i, (side, px, qty, fee, mid) in enumerate(rows):
        acct.on_fill(side, px, qty, fee, is_maker=fee <= 0.02)
        log[i] = (i, i + 1, side, fee <= 0.02, px, qty, fee, acct.q, mid)
    if funding:
        acct.on_funding(funding)
    return log, acct


# -- by hand ------------------------------------------------------------------------------------

ROWS = [
    (+1, 99.90, 2.0, 0.02, 100.0),  # maker buy, maker fee 0.02
    (-1, 100.20, 1.0, -0.01, 100.1),  # maker sell, rebate 0.01
    (-1, 100.05, 3.0, 0.03, 100.0),  # taker sell, fee 0.03
]


def test_breakdown_by_hand_with_fees_a_rebate_and_funding():
    fills, acct = book(ROWS, funding=0.10)
    b = cost_breakdown(fills, 100.5, acct)
    assert tuple(b) == COST_KEYS
    # gross = Σ s (m − p) v = (100 − 99.9)·2 + (−1)(100.1 − 100.2)·1 + (−1)(100 − 100.05)·3
    #       = 0.2 + 0.1 + 0.15 = 0.45
    assert b["gross_spread_capture"] == pytest.approx(0.45, abs=1e-12)
    # inventory = Σ s v (M − m) = 2·0.5 − 1·0.4 − 3·0.5 = −0.9
    assert b["inventory_pnl"] == pytest.approx(-0.9, abs=1e-12)
    assert b["fees"] == pytest.approx(0.05) and b["rebates"] == pytest.approx(0.01)
    assert b["funding"] == 0.10
    # net = cash + q·M: cash = −199.8 + 100.2 + 300.15 − 0.04 − 0.10 = 200.41, q = −2 → −0.59
    assert b["net_pnl"] == pytest.approx(-0.59, abs=1e-9)
    # 0.45 − 0.9 − 0.05 + 0.01 − 0.10 = −0.59
    check_identity(b)
    assert abs(identity_residual(b)) < 1e-9
    assert b["hedge_slippage"] == b["hedge_pool_fee"] == b["bribes"] == b["gas"] == 0.0


def test_check_identity_reports_the_residual():
    fills, acct = book(ROWS)
    b = cost_breakdown(fills, 100.5, acct)
    b["fees"] += 0.01  # a cent missing
    with pytest.raises(AssertionError, match="off by"):
        check_identity(b)
    b["fees"] -= 0.006  # 0.4 ct: within half a cent
    check_identity(b)
    # a funding figure other than the ledger's breaks the identity by the difference
    assert identity_residual(cost_breakdown(fills, 100.5, acct, funding=0.25)) == pytest.approx(-0.25)


def test_on_chain_hedge_costs_by_hand():
    """A pool hedge: sell 2 @ 99.7 with mid 100, pool fee 25 bps of 200, bribe and gas, one drop."""
    fills, acct = book(ROWS)
    wallet = Account()
    wallet.on_fill(-1, 99.7, 2.0, 0.30 + 0.05, False)  # landed: bribe 0.30 + gas 0.05
    wallet.cash -= 0.25  # a dropped tx still paid bribe 0.20 + gas 0.05
    wallet.fees_paid += 0.25
    # exec cost vs mid (100 − 99.7)·2 = 0.6 = pool fee 0.5 + slippage 0.1
    costs = {"slippage": 0.1, "pool_fee": 0.5, "bribe": 0.5, "gas": 0.1, "fees": 0.0}
    trades = [(123, -1, 2.0, 99.7, 100.0)]
    b = cost_breakdown(fills, 100.5, acct, costs, hedge_trades=trades, hedge_account=wallet)
    assert (b["hedge_slippage"], b["hedge_pool_fee"], b["bribes"], b["gas"]) == (0.1, 0.5, 0.5, 0.1)
    # inventory adds the hedge's −2·(100.5 − 100) = −1.0 to the book's −0.9
    assert b["inventory_pnl"] == pytest.approx(-1.9)
    # wallet: cash 199.4 − 0.35 − 0.25 = 198.8, q −2 → −2.2; desk = −0.49 (book, no funding) − 2.2
    assert b["net_pnl"] == pytest.approx(-0.49 - 2.2)
    check_identity(b)


def test_book_hedge_slippage_is_moved_out_of_spread_capture():
    fills, acct = book(ROWS)
    plain = cost_breakdown(fills, 100.5, acct)
    costs = {"slippage": 0.15, "pool_fee": 0.0, "bribe": 0.0, "gas": 0.0, "fees": 0.03}
    b = cost_breakdown(fills, 100.5, acct, costs, hedge_on_book=True)
    assert b["gross_spread_capture"] == pytest.approx(plain["gross_spread_capture"] + 0.15)
    assert b["hedge_slippage"] == 0.15 and b["fees"] == plain["fees"]  # taker fees already in fees
    assert b["net_pnl"] == plain["net_pnl"]
    check_identity(b)


# -- property -----------------------------------------------------------------------------------

fill_st = st.tuples(
    st.sampled_from([1, -1]),
    st.floats(1.0, 1e5),  # px
    st.floats(1e-3, 10.0),  # qty
    st.floats(-5.0, 5.0),  # fee (negative = rebate)
    st.floats(-0.01, 0.01),  # mid = px · (1 + this)
)


@given(st.lists(fill_st, max_size=40), st.floats(0.5, 2.0), st.floats(-50.0, 50.0),
       st.lists(st.tuples(st.sampled_from([1, -1]), st.floats(1e-3, 10.0), st.floats(-0.01, 0.01),
                          st.floats(0.0, 5.0)), max_size=10))  # fmt: skip
def test_identity_holds_for_random_fills(rows, final_rel, funding, hedges):
    rows = [(s, px, qty, fee, px * (1 + dm)) for s, px, qty, fee, dm in rows]
    fills, acct = book(rows, funding=funding)
    ref = rows[-1][1] if rows else 100.0
    M = ref * final_rel
    b = cost_breakdown(fills, M, acct)
    check_identity(b)
    # with on-chain hedges: each at mid m, price m·(1 − s·slip), paying `cost` in bribe + gas
    wallet, trades = Account(), []
    costs = {"slippage": 0.0, "pool_fee": 0.0, "bribe": 0.0, "gas": 0.0, "fees": 0.0}
    for i, (s, qty, slip, cost) in enumerate(hedges):
        m = ref * (1 + 0.001 * i)
        px = m * (1 + s * abs(slip))
        wallet.on_fill(s, px, qty, cost, False)
        trades.append((i, s, qty, px, m))
        exec_cost = s * (px - m) * qty
        costs["pool_fee"] += 0.3 * exec_cost
        costs["slippage"] += exec_cost - 0.3 * exec_cost
        costs["bribe"] += 0.75 * cost
        costs["gas"] += cost - 0.75 * cost
    hb = cost_breakdown(fills, M, acct, costs, hedge_trades=trades, hedge_account=wallet)
    check_identity(hb)
    assert math.isclose(hb["net_pnl"], b["net_pnl"] + wallet.cash + wallet.q * M, rel_tol=1e-12, abs_tol=1e-9)


# -- recorded data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """The first bundled Binance USD-M ETHUSDT file (3 minutes)."""
    return load_feed(DataConfig(format="binance_ws", paths=(str(SAMPLE),)), cache_dir=tmp_path_factory.mktemp("c"))


@pytest.fixture
def captured(monkeypatch):
    """Capture the recorder and the hedging wiring that ``run_trial`` builds."""
    seen = {}

    class Recorder(PnLRecorder):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            seen["recorder"] = self

    orig = trial_mod.add_hedging

    def add_hedging(*a, **k):
        seen["hedging"] = orig(*a, **k)
        seen["book"] = a[1]
        return seen["hedging"]

    monkeypatch.setattr(trial_mod, "PnLRecorder", Recorder)
    monkeypatch.setattr(trial_mod, "add_hedging", add_hedging)
    return seen


@pytest.mark.parametrize("maker_fee_bps", [None, -0.5], ids=["binance-fees", "maker-rebate"])
def test_identity_on_recorded_data(feed, captured, maker_fee_bps):
    """GLFT on the bundled sample: the breakdown adds up to the trial's ``pnl`` to the cent."""
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, maker_fee_bps=maker_fee_bps)
    cfg = GLFTConfig(gamma=0.001, order_qty=0.05, max_position=2.0, warmup_s=5)
    res = run_trial(feed, venue, cfg, GLFTQuoter, seed=1, compiled=False)  # its recorder
    m = res.metrics
    rec = captured["recorder"]
    perf = rec.performance(n_orders=m["n_orders"], q_max=cfg.max_position)
    b = {k: perf[f"cost_{k}"] for k in COST_KEYS}
    assert m["n_fills"] > 5
    check_identity(b)
    assert abs(b["net_pnl"] - m["pnl"]) <= 0.005
    terms = (b["gross_spread_capture"] + b["inventory_pnl"] - b["fees"] + b["rebates"] - b["funding"])
    assert abs(terms - m["pnl"]) <= 0.005
    assert b["fees"] - b["rebates"] == pytest.approx(m["fees"], abs=1e-9)
    if maker_fee_bps is not None:
        assert b["rebates"] > 0
    # the rest of trial_performance is finite where it should be
    for k in ("sharpe_per_interval", "sortino_per_interval", "var_95_hist", "var_99_param", "markout_1s_bps",
              "mean_abs_q", "fill_ratio"):
        assert math.isfinite(perf[k]), k
    # 3 minutes of 1 s increments: far from a day, so nothing is annualised
    assert perf["annualised"] == 0.0 and 150 <= perf["n_metric_samples"] < 200
    assert math.isnan(perf["sharpe"]) and math.isnan(perf["sortino"]) and math.isnan(perf["calmar"])
    assert perf["maker_volume"] == m["maker_volume"]
    assert 0.0 <= perf["time_at_limit"] <= 1.0


@pytest.mark.parametrize("hedge_venue", ["pool", "book"])
def test_identity_on_recorded_data_with_a_hedger(feed, captured, hedge_venue):
    """With a hedger the breakdown (hedge costs included) adds up to the desk PnL to the cent."""
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001)
    cfg = GLFTConfig(gamma=0.001, order_qty=0.05, max_position=2.0, warmup_s=5)
    extras = {"hedger": HedgerConfig(band=0.05, venue=hedge_venue, bribe_policy="fixed")}
    if hedge_venue == "pool":
        extras.update(pool=PoolConfig(), chain=ChainConfig(inclusion_b=4.0))
    res = run_trial(feed, venue, cfg, GLFTQuoter, seed=4, extras=extras)
    m = res.metrics
    hedger = captured["hedging"].hedger
    assert hedger.n_hedges > 0
    final_mid = captured["book"].mid  # the mark of desk_pnl
    perf = captured["recorder"].performance(n_orders=m["n_orders"], q_max=cfg.max_position, hedger=hedger,
                                            final_mid=final_mid)  # fmt: skip
    b = {k: perf[f"cost_{k}"] for k in COST_KEYS}
    check_identity(b)
    assert abs(b["net_pnl"] - m["desk_pnl"]) <= 0.005
    assert b["hedge_slippage"] == m["hedge_slippage"]
    if hedge_venue == "pool":
        assert (b["hedge_pool_fee"], b["bribes"], b["gas"]) == (m["hedge_pool_fee"], m["hedge_bribe"], m["hedge_gas"])
        assert b["bribes"] > 0 and b["hedge_pool_fee"] > 0


# -- the waterfall against PnL recomputed from the fills and the marks ------------------------------


def _book_pnl_from_fills(fills, mark):
    """Net PnL of the order-book account from its fill log alone: cash flows of the fills
    (−side·px·qty, minus the fee) plus the position they leave, marked to ``mark``."""
    side = fills["side"].astype(float)
    cash = float(np.sum(-side * fills["px"] * fills["qty"]) - np.sum(fills["fee"]))
    q = float(np.sum(side * fills["qty"]))
    return cash + q * mark


def _wallet_pnl_from_trades(hedger, mark):
    """Net PnL of the on-chain wallet from the swaps it made and the gas and bribes it paid."""
    t = np.array([(side, qty, px) for _, side, qty, px, _ in hedger.trades], dtype=float).reshape(-1, 3)
    cash = float(np.sum(-t[:, 0] * t[:, 2] * t[:, 1])) - hedger.costs["bribe"] - hedger.costs["gas"]
    return cash + float(np.sum(t[:, 0] * t[:, 1])) * mark


@pytest.mark.parametrize("maker_fee_bps", [None, -0.5], ids=["binance-fees", "maker-rebate"])
def test_waterfall_adds_up_to_pnl_recomputed_from_fills(feed, captured, maker_fee_bps):
    """Issue 14 item 4: the waterfall's signed steps add up to the net PnL recomputed from the
    fill log and the final mark (not from the breakdown's own terms)."""
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001, maker_fee_bps=maker_fee_bps)
    cfg = GLFTConfig(gamma=0.001, order_qty=0.05, max_position=2.0, warmup_s=5)
    res = run_trial(feed, venue, cfg, GLFTQuoter, seed=1)
    m = res.metrics
    assert m["cost_funding"] == 0.0  # no funding time in this capture: nothing outside the fills
    net = _book_pnl_from_fills(res.fills, float(res.equity["mid"][-1]))
    steps = waterfall({k: m[f"cost_{k}"] for k in COST_KEYS})
    assert [k for k, _, _ in steps][:3] == ["gross_spread_capture", "inventory_pnl", "fees"]
    assert steps[-1][0] == "net_pnl" and steps[-1][2] == pytest.approx(net, abs=1e-6)
    assert sum(v for _, _, v in steps[:-1]) == pytest.approx(net, abs=1e-6)
    signs = dict((k, v) for k, _, v in steps)
    assert signs["gross_spread_capture"] > 0 and signs["fees"] <= 0  # a cost is drawn down
    assert (signs["fees"] < 0) == (maker_fee_bps is None) and (signs["rebates"] > 0) == (maker_fee_bps is not None)
    assert m["pnl"] == pytest.approx(net, abs=1e-6)


def test_waterfall_and_equity_of_an_on_chain_hedged_desk(feed, captured):
    """Issue 14 items 4 and 7: with an on-chain hedger, (a) the waterfall adds up to book PnL
    from the fills plus wallet PnL from the swaps, gas and bribes, all marked to the final mid;
    (b) the equity curve is the desk's: equal to the book-only equity (from the fills) until
    the first hedge lands, different after it, and equal to the desk PnL at the end."""
    venue = VenueConfig(profile="binance_usdm", tick_size=0.01, lot_size=0.001)
    cfg = GLFTConfig(gamma=0.001, order_qty=0.05, max_position=2.0, warmup_s=5)
    extras = {"hedger": HedgerConfig(band=0.05, venue="pool", bribe_policy="fixed"),
              "pool": PoolConfig(), "chain": ChainConfig(inclusion_b=4.0)}
    res = run_trial(feed, venue, cfg, GLFTQuoter, seed=4, extras=extras)
    m = res.metrics
    hedger = captured["hedging"].hedger
    assert hedger.n_hedges > 0
    mark = captured["book"].mid
    desk = _book_pnl_from_fills(res.fills, mark) + _wallet_pnl_from_trades(hedger, mark)
    steps = waterfall({k: m[f"cost_{k}"] for k in COST_KEYS})
    assert sum(v for _, _, v in steps[:-1]) == pytest.approx(desk, abs=1e-6)
    assert steps[-1][2] == pytest.approx(desk, abs=1e-6)
    signs = dict((k, v) for k, _, v in steps)
    assert signs["bribes"] < 0 and signs["hedge_pool_fee"] < 0 and signs["gas"] < 0
    # (b) the curve
    eq = res.equity
    assert eq["equity"][-1] == pytest.approx(_book_pnl_from_fills(res.fills, eq["mid"][-1])
                                             + _wallet_pnl_from_trades(hedger, eq["mid"][-1]), abs=1e-6)
    f = res.fills
    side = f["side"].astype(float)
    cash = np.cumsum(-side * f["px"] * f["qty"] - f["fee"])
    q = np.cumsum(side * f["qty"])
    k = np.searchsorted(f["ts_ns"], eq["ts_ns"], side="right") - 1  # fills at or before each row
    book_only = np.where(k >= 0, cash[np.maximum(k, 0)] + q[np.maximum(k, 0)] * eq["mid"], 0.0)
    first_hedge = min(t[0] for t in hedger.trades)  # its block; the report lands after it
    before = eq["ts_ns"] <= first_hedge
    assert before.any() and (~before).any()
    np.testing.assert_allclose(eq["equity"][before], book_only[before], atol=1e-6)
    assert np.max(np.abs(eq["equity"][~before] - book_only[~before])) > 1e-3
