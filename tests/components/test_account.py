"""Tests for components.account.Account: average-cost PnL, fees, flips, and the ledger identity."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components import account as account_module
from components.account import Account
from components.orders import Side


def _reconciles(a: Account, mark: float) -> None:
    """cash + q*mark == realized + unrealized - fees - funding, to floating precision."""
    lhs = a.cash + a.q * mark
    rhs = a.realized_pnl + a.unrealized_pnl(mark) - a.fees_paid - a.funding_paid
    scale = 1.0 + a.maker_volume + a.taker_volume + abs(a.q) * mark
    assert lhs == pytest.approx(rhs, rel=0, abs=1e-9 * scale)
    assert a.equity(mark) == pytest.approx(a.net_pnl(mark), rel=0, abs=1e-9 * scale)


def test_new_account_is_flat():
    """A new account has zero cash, position, PnL and counters."""
    a = Account()
    assert a.snapshot() == {
        "cash": 0.0,
        "q": 0.0,
        "avg_entry_px": 0.0,
        "realized_pnl": 0.0,
        "fees_paid": 0.0,
        "funding_paid": 0.0,
        "maker_volume": 0.0,
        "taker_volume": 0.0,
        "n_fills": 0,
    }
    assert a.is_flat
    assert a.equity(123.0) == 0.0


def test_slots_no_new_attributes():
    """Account uses __slots__: a misspelt attribute cannot be created silently."""
    a = Account()
    with pytest.raises(AttributeError):
        a.position = 1.0  # type: ignore[attr-defined]


def test_adding_averages_entry():
    """Buys at 100 (2) and 103 (1): avg = (200 + 103) / 3 = 101; nothing realised."""
    a = Account()
    a.on_fill(Side.BUY, 100.0, 2.0, fee=0.0, is_maker=True)
    a.on_fill(Side.BUY, 103.0, 1.0, fee=0.0, is_maker=True)
    assert a.q == 3.0
    assert a.avg_entry_px == pytest.approx(101.0)
    assert a.realized_pnl == 0.0
    assert a.cash == -303.0
    assert a.unrealized_pnl(102.0) == pytest.approx(3.0)  # 3 * (102 - 101)


def test_partial_close_long():
    """Long 3 @ 101, sell 1 @ 105: realise 1 * (105 - 101) = 4; avg stays 101; q = 2."""
    a = Account()
    a.on_fill(+1, 100.0, 2.0, fee=0.0, is_maker=True)
    a.on_fill(+1, 103.0, 1.0, fee=0.0, is_maker=True)
    a.on_fill(-1, 105.0, 1.0, fee=0.0, is_maker=True)
    assert a.q == 2.0
    assert a.avg_entry_px == pytest.approx(101.0)
    assert a.realized_pnl == pytest.approx(4.0)
    _reconciles(a, 99.0)


def test_partial_close_short():
    """Short 4 @ 50, buy 1 @ 48: realise (50 - 48) * 1 = 2 on a short; avg stays 50."""
    a = Account()
    a.on_fill(-1, 50.0, 4.0, fee=-0.01, is_maker=True)
    a.on_fill(+1, 48.0, 1.0, fee=0.02, is_maker=False)
    assert a.q == -3.0
    assert a.avg_entry_px == 50.0
    assert a.realized_pnl == pytest.approx(2.0)
    assert a.fees_paid == pytest.approx(0.01)  # -0.01 rebate + 0.02 taker fee
    assert a.unrealized_pnl(49.0) == pytest.approx(3.0)  # -3 * (49 - 50)
    _reconciles(a, 49.0)


def test_flip_long_to_short():
    """Long 2 @ 100, sell 5 @ 110: realise 2 * 10 = 20, then short 3 @ 110."""
    a = Account()
    a.on_fill(+1, 100.0, 2.0, fee=0.06, is_maker=False)
    a.on_fill(-1, 110.0, 5.0, fee=0.11, is_maker=True)
    assert a.q == -3.0
    assert a.avg_entry_px == 110.0
    assert a.realized_pnl == pytest.approx(20.0)
    assert a.cash == pytest.approx(-200.0 - 0.06 + 550.0 - 0.11)
    # at mark 108: unrealized = -3 * (108 - 110) = 6; net = 20 + 6 - 0.17
    assert a.net_pnl(108.0) == pytest.approx(25.83)
    assert a.equity(108.0) == pytest.approx(25.83)
    assert a.taker_volume == 200.0 and a.maker_volume == 550.0 and a.n_fills == 2


def test_flip_short_to_long():
    """Short 1 @ 10, buy 3 @ 12: realise -(12 - 10) = -2, then long 2 @ 12."""
    a = Account()
    a.on_fill(-1, 10.0, 1.0, fee=0.0, is_maker=True)
    a.on_fill(+1, 12.0, 3.0, fee=0.0, is_maker=True)
    assert a.q == 2.0
    assert a.avg_entry_px == 12.0
    assert a.realized_pnl == pytest.approx(-2.0)
    _reconciles(a, 13.0)


def test_exact_close_resets():
    """Closing the whole position leaves q == 0.0 exactly and avg_entry_px = 0."""
    a = Account()
    a.on_fill(+1, 100.0, 0.1, fee=0.0, is_maker=True)
    a.on_fill(+1, 101.0, 0.2, fee=0.0, is_maker=True)
    a.on_fill(-1, 102.0, 0.3, fee=0.0, is_maker=True)  # 0.1 + 0.2 != 0.3 in floats
    assert a.q == 0.0
    assert a.is_flat
    assert a.avg_entry_px == 0.0
    # realised = 0.1 * 2 + 0.2 * 1 = 0.4
    assert a.realized_pnl == pytest.approx(0.4)
    _reconciles(a, 50.0)
    assert a.cash == pytest.approx(0.4)


def test_funding():
    """Funding payments move cash and funding_paid, and keep the identity."""
    a = Account()
    a.on_fill(+1, 100.0, 1.0, fee=0.015, is_maker=True)
    a.on_funding(0.0125)  # long pays 1 * 100 * 0.0125 %
    a.on_funding(-0.005)
    assert a.funding_paid == pytest.approx(0.0075)
    _reconciles(a, 101.0)
    with pytest.raises(ValueError, match="funding"):
        a.on_funding(math.nan)


@pytest.mark.parametrize(
    ("side", "px", "qty", "fee", "match"),
    [
        (0, 100.0, 1.0, 0.0, "side"),
        (2, 100.0, 1.0, 0.0, "side"),
        (1, 0.0, 1.0, 0.0, "px"),
        (1, math.nan, 1.0, 0.0, "px"),
        (1, 100.0, 0.0, 0.0, "qty"),
        (1, 100.0, -1.0, 0.0, "qty"),
        (1, 100.0, math.inf, 0.0, "qty"),
        (1, 100.0, 1.0, math.nan, "fee"),
    ],
)
def test_on_fill_rejects_bad_input(side, px, qty, fee, match):
    """Bad fills raise ValueError and leave the account untouched."""
    a = Account()
    a.on_fill(+1, 10.0, 1.0, fee=0.0, is_maker=True)
    before = a.snapshot()
    with pytest.raises(ValueError, match=match):
        a.on_fill(side, px, qty, fee, True)
    assert a.snapshot() == before


fills = st.lists(
    st.tuples(
        st.sampled_from([1, -1]),
        st.floats(1.0, 1e5),  # px
        st.one_of(st.floats(1e-4, 1e3), st.sampled_from([0.1, 0.2, 0.3, 1.0, 2.0])),  # qty
        st.floats(-1.0, 5.0),  # fee
        st.booleans(),
        st.one_of(st.none(), st.floats(-1.0, 1.0)),  # funding payment after the fill
    ),
    max_size=60,
)


@given(fills, st.floats(1.0, 1e5))
def test_ledger_identity_property(seq, mark):
    """For any fill sequence: equity == realized + unrealized - fees - funding (to rounding),
    q == signed sum of fills, fees and volumes add up, and n_fills counts fills."""
    a = Account()
    for side, px, qty, fee, is_maker, funding in seq:
        a.on_fill(side, px, qty, fee, is_maker)
        if funding is not None:
            a.on_funding(funding)
        _reconciles(a, mark)
        _reconciles(a, px)
    signed = math.fsum(s * q for s, _, q, _, _, _ in seq)
    total = math.fsum(q for _, _, q, _, _, _ in seq)
    assert a.q == pytest.approx(signed, rel=0, abs=1e-9 * (1.0 + total))
    assert a.fees_paid == pytest.approx(math.fsum(f for *_, f, _, _ in seq), abs=1e-9 * len(seq))
    assert a.n_fills == len(seq)
    vol = math.fsum(p * q for _, p, q, *_ in seq)
    assert a.maker_volume + a.taker_volume == pytest.approx(vol, rel=1e-12, abs=1e-12)
    if a.q == 0.0:
        assert a.avg_entry_px == 0.0
    else:
        assert a.avg_entry_px > 0.0


@given(fills, st.floats(1.0, 1e5))
def test_flat_account_realised_is_cash_flow(seq, close_px):
    """Once flat, realised PnL equals the fills' cash flow before fees: -sum(side*px*qty)."""
    a = Account()
    flows = []
    for side, px, qty, fee, is_maker, _ in seq:
        a.on_fill(side, px, qty, fee, is_maker)
        flows.append(-side * px * qty)
    if a.q != 0.0:
        side, qty = (-1 if a.q > 0 else 1), abs(a.q)
        a.on_fill(side, close_px, qty, 0.0, False)
        flows.append(-side * close_px * qty)
    assert a.q == 0.0
    scale = 1.0 + a.maker_volume + a.taker_volume
    assert a.realized_pnl == pytest.approx(math.fsum(flows), rel=0, abs=1e-9 * scale)
    assert a.cash + a.fees_paid == pytest.approx(a.realized_pnl, rel=0, abs=1e-9 * scale)


def test_doctests():
    """The module's docstring examples run and pass."""
    result = doctest.testmod(account_module)
    assert result.attempted > 0
    assert result.failed == 0


# --- inverse contracts (Binance COIN-M) ---------------------------------------------------------


def _inv_reconciles(a: Account, mark: float) -> None:
    """Inverse ledger: equity = cash − q·C/mark = realized + unrealized − fees − funding (coin)."""
    c = a.contract_size
    lhs = a.cash - a.q * c / mark
    rhs = a.realized_pnl + a.unrealized_pnl(mark) - a.fees_paid - a.funding_paid
    scale = 1.0 + a.maker_volume + a.taker_volume + abs(a.q) * c / mark
    assert lhs == pytest.approx(rhs, rel=0, abs=1e-9 * scale)
    assert a.equity(mark) == pytest.approx(lhs, rel=0, abs=1e-12 * scale)


def test_inverse_round_trip_binance_formula():
    """Binance COIN-M: long PnL = contracts × size × (1/entry − 1/exit). 10 BTCUSD (100 USD)
    bought at 20,000 and sold at 25,000: 10 × 100 × (1/20000 − 1/25000) = 0.01 BTC."""
    a = Account(contract_size=100.0)
    a.on_fill(+1, 20_000.0, 10.0, fee=0.0, is_maker=True)
    assert a.q == 10.0 and a.avg_entry_px == pytest.approx(20_000.0)
    # unrealised at 25,000: the same 0.01 BTC; value of the position 10 × 100 / 25,000 = 0.04 BTC
    assert a.unrealized_pnl(25_000.0) == pytest.approx(0.01)
    assert a.notional(a.q, 25_000.0) == pytest.approx(0.04)
    a.on_fill(-1, 25_000.0, 10.0, fee=0.0, is_maker=True)
    assert a.q == 0.0 and a.is_flat
    assert a.realized_pnl == pytest.approx(0.01, rel=1e-12)
    assert a.cash == pytest.approx(0.01, rel=1e-12)
    # the linear formula would say 10 × (25000 − 20000) = 50000: the bug this guards against


def test_inverse_short_and_harmonic_entry():
    """Short 5 @ 2000 and 5 @ 2500 ETHUSD (10 USD): average entry is the harmonic mean
    10 / (5/2000 + 5/2500) = 2222.22…; covering all 10 @ 2000 earns
    −10 × 10 × (1/2222.22 − 1/2000) = −100 × (0.00045 − 0.0005) = 0.005 ETH."""
    a = Account(contract_size=10.0)
    a.on_fill(-1, 2000.0, 5.0, fee=0.0, is_maker=True)
    a.on_fill(-1, 2500.0, 5.0, fee=0.0, is_maker=True)
    assert a.q == -10.0
    assert a.avg_entry_px == pytest.approx(10.0 / (5 / 2000 + 5 / 2500))
    _inv_reconciles(a, 2100.0)
    a.on_fill(+1, 2000.0, 10.0, fee=1e-5, is_maker=False)
    assert a.q == 0.0
    assert a.realized_pnl == pytest.approx(0.005, rel=1e-12)
    assert a.cash == pytest.approx(0.005 - 1e-5, rel=1e-12)
    assert a.taker_volume == pytest.approx(10 * 10 / 2000)  # coin notional


def test_inverse_flip_and_funding():
    """Long 3 @ 100 then sell 5 @ 125 (size 1): close 3 × (1/100 − 1/125) = 0.006, open short 2 @ 125.
    A funding payment of 0.0001 coin keeps the identity."""
    a = Account(contract_size=1.0)
    a.on_fill(+1, 100.0, 3.0, fee=0.0, is_maker=True)
    a.on_fill(-1, 125.0, 5.0, fee=0.0, is_maker=True)
    assert a.q == -2.0 and a.avg_entry_px == pytest.approx(125.0)
    assert a.realized_pnl == pytest.approx(0.006)
    a.on_funding(0.0001)
    _inv_reconciles(a, 110.0)
    with pytest.raises(ValueError, match="contract_size"):
        Account(contract_size=0.0)


@given(fills, st.floats(1.0, 1e5), st.sampled_from([1.0, 10.0, 100.0]))
def test_inverse_identity_and_cash_flows(seq, mark, size):
    """For any fill sequence on an inverse account: the coin identity holds, q is the signed sum
    of contracts, and once flat the realised PnL is the coin cash flow Σ side·n·C/px (each buy
    of n contracts at px receives n·C/px coin of the position's value, each sell pays it)."""
    a = Account(contract_size=size)
    flows = []
    for side, px, qty, fee, is_maker, funding in seq:
        a.on_fill(side, px, qty, fee, is_maker)
        flows.append(side * qty * size / px)
        if funding is not None:
            a.on_funding(funding)
        _inv_reconciles(a, mark)
    total = math.fsum(q for _, _, q, *_ in seq)
    assert a.q == pytest.approx(math.fsum(s * q for s, _, q, *_ in seq), rel=0, abs=1e-9 * (1.0 + total))
    if a.q != 0.0:
        side, qty = (-1 if a.q > 0 else 1), abs(a.q)
        a.on_fill(side, mark, qty, 0.0, False)
        flows.append(side * qty * size / mark)
    assert a.q == 0.0
    scale = 1.0 + a.maker_volume + a.taker_volume
    assert a.realized_pnl == pytest.approx(math.fsum(flows), rel=0, abs=1e-9 * scale)
