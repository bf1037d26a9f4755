"""Queue-position models of resting orders in the L2 replay (components/queue.py, _book_nb.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.orders import Fill, Liquidity, OrderAccepted
from components.queue import PROB_LOG, PROB_POWER, QUEUE_MODEL_CODES, RISK_AVERSE, UNBOUNDED, queue_update
from engine.testing import book_rows

T0 = 1_000_000_000
MS = 1_000_000
BID_PX = 100.0
MODELS = ["risk_averse", "prob_power"]


def _rows(*extra: tuple) -> list[tuple]:
    """Touch 100.00 x 5 / 100.01 x 5, then ``extra`` rows, then a far-away row ending the feed."""
    rows = book_rows(T0, [(BID_PX, 5.0), (99.99, 5.0)], [(100.01, 5.0), (100.02, 5.0)])
    rows += list(extra)
    rows.append((T0 + 100 * MS, "depth", 1, 99.90, 1.0))
    return rows


def _trade(ms: int, side: int, px: float, qty: float) -> tuple:
    return (T0 + ms * MS, "trade", side, px, qty)


def _depth(ms: int, side: int, px: float, qty: float) -> tuple:
    return (T0 + ms * MS, "depth", side, px, qty)


@pytest.mark.parametrize("model", MODELS)
def test_join_at_back_then_trades_consume_queue_then_excess_fills(venue_harness, model):
    """Joining behind 5.0: a sell print of 3 fills nothing, a further print of 4 fills the excess 2 as maker."""
    h = venue_harness(_rows(_trade(10, -1, BID_PX, 3.0), _trade(20, -1, BID_PX, 4.0)), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 3.0)
    ahead = [h.probe(T0 + ms * MS, lambda: h.venue.queue_ahead(1)) for ms in (5, 15, 30)]
    h.run()
    assert [a[0] for a in ahead[:2]] == [5.0, 2.0]
    fills = h.of(Fill, 1)
    assert len(fills) == 1
    f = fills[0]
    assert (f.px, f.qty, f.leaves_qty, f.liquidity) == (BID_PX, 2.0, 1.0, Liquidity.MAKER)
    assert f.venue_ts_ns == T0 + 20 * MS
    assert f.fee == pytest.approx(h.venue.profile.fee(BID_PX, 2.0, is_maker=True))
    assert ahead[2][0] == 0.0


@pytest.mark.parametrize("model", MODELS)
def test_trade_through_our_price_fills_in_full(venue_harness, model):
    """A sell print below our bid fills the whole order at our price, whatever its size and our queue."""
    h = venue_harness(_rows(_trade(10, -1, 99.99, 0.1)), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 2.0)
    h.run()
    (f,) = h.of(Fill, 1)
    assert (f.px, f.qty, f.leaves_qty, f.liquidity) == (BID_PX, 2.0, 0.0, Liquidity.MAKER)
    assert f.venue_ts_ns == T0 + 10 * MS


@pytest.mark.parametrize("model", MODELS)
def test_buy_trade_at_our_bid_does_not_touch_the_queue(venue_harness, model):
    """A *buy* print at our bid price (aggressor on our side) neither fills nor advances our bid."""
    h = venue_harness(_rows(_trade(10, +1, BID_PX, 50.0)), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 1.0)
    ahead = h.probe(T0 + 20 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert h.of(Fill) == []
    assert ahead == [5.0]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("ask_px", [BID_PX, 99.99])
def test_ask_moving_down_to_our_bid_fills_in_full(venue_harness, model, ask_px):
    """An ask DEPTH row at or below our bid (the opposite side moved through us) fills us in full."""
    h = venue_harness(_rows(_depth(10, -1, ask_px, 1.0)), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 2.0)
    h.run()
    (f,) = h.of(Fill, 1)
    assert (f.px, f.qty, f.leaves_qty, f.liquidity) == (BID_PX, 2.0, 0.0, Liquidity.MAKER)
    assert f.venue_ts_ns == T0 + 10 * MS


@pytest.mark.parametrize("model", MODELS)
def test_bid_moving_up_to_our_ask_fills_in_full(venue_harness, model):
    """Mirror image on the ask: a bid DEPTH row at our ask price fills our sell in full, at our price."""
    h = venue_harness(_rows(_depth(10, +1, 100.01, 1.0)), queue_model=model)
    h.submit(T0, 1, -1, 100.01, 2.0)
    h.run()
    (f,) = h.of(Fill, 1)
    assert (f.side, f.px, f.qty, f.liquidity) == (-1, 100.01, 2.0, Liquidity.MAKER)


@pytest.mark.parametrize("model", MODELS)
def test_level_decrease_without_trade_follows_the_model(venue_harness, model):
    """A level shrinking without a trade moves `ahead` as `queue_update` says (risk_averse: min(ahead, level))."""
    # join behind 5; level grows to 10 (ahead stays 5); level shrinks to 8, then to 3
    h = venue_harness(
        _rows(_depth(10, 1, BID_PX, 10.0), _depth(20, 1, BID_PX, 8.0), _depth(30, 1, BID_PX, 3.0)),
        queue_model=model,
    )
    h.submit(T0, 1, +1, BID_PX, 1.0)
    seen = [h.probe(T0 + ms * MS, lambda: h.venue.queue_ahead(1)) for ms in (5, 15, 25, 35)]
    h.run()
    seen = [s[0] for s in seen]
    code, power = QUEUE_MODEL_CODES[model], h.config.queue_power
    a1 = queue_update(5.0, 10.0, 8.0, 0.0, code, power)
    a2 = queue_update(a1, 8.0, 3.0, 0.0, code, power)
    assert seen == [5.0, 5.0, a1, a2]
    if model == "risk_averse":
        assert (a1, a2) == (5.0, 3.0)
    else:  # half of the queue was ahead of us: half of the decrease of 2 came from the front
        assert a1 == pytest.approx(4.0)
        assert a2 <= min(a1, 3.0)
    assert h.of(Fill) == []


@pytest.mark.parametrize("model", MODELS)
def test_level_increase_never_changes_ahead(venue_harness, model):
    """Size added to our level joins behind us: `ahead` is unchanged by any increase."""
    h = venue_harness(
        _rows(_trade(10, -1, BID_PX, 2.0), _depth(20, 1, BID_PX, 9.0), _depth(30, 1, BID_PX, 40.0)),
        queue_model=model,
    )
    h.submit(T0, 1, +1, BID_PX, 1.0)
    seen = [h.probe(T0 + ms * MS, lambda: h.venue.queue_ahead(1)) for ms in (15, 25, 35)]
    h.run()
    assert [s[0] for s in seen] == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("model", MODELS)
def test_snapshot_keeping_our_level_keeps_queue_position(venue_harness, model):
    """A full snapshot (CLEAR + DEPTH rows, one ts) with our level at the same size keeps `ahead`."""
    snap = book_rows(T0 + 20 * MS, [(BID_PX, 5.0), (99.99, 5.0)], [(100.01, 5.0), (100.02, 5.0)])
    h = venue_harness(_rows(_trade(10, -1, BID_PX, 3.0), *snap), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 1.0)
    before = h.probe(T0 + 15 * MS, lambda: h.venue.queue_ahead(1))
    after = h.probe(T0 + 25 * MS, lambda: (h.venue.queue_ahead(1), h.venue.touch()))
    h.run()
    assert before == [2.0]
    assert after == [(2.0, (BID_PX, 100.01))]
    assert h.of(Fill) == []
    assert len(h.of(OrderAccepted, 1)) == 1


@pytest.mark.parametrize("model", MODELS)
def test_snapshot_shrinking_our_level_caps_queue_at_visible_size(venue_harness, model):
    """A snapshot showing our level at 2 caps `ahead` (5) at the visible size: min(5, 2) = 2 (issue 10 item 3)."""
    snap = book_rows(T0 + 20 * MS, [(BID_PX, 2.0)], [(100.01, 5.0)])
    h = venue_harness(_rows(_depth(10, 1, BID_PX, 10.0), *snap), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 1.0)
    after = h.probe(T0 + 25 * MS, lambda: h.venue.queue_ahead(1))
    h.run()
    assert after == [2.0]
    assert h.of(Fill) == []


@pytest.mark.parametrize("model", MODELS)
def test_snapshot_moving_the_ask_through_our_bid_fills(venue_harness, model):
    """A snapshot whose best ask is at our bid fills the bid in full (checked once, at its end)."""
    snap = book_rows(T0 + 20 * MS, [(99.99, 5.0)], [(BID_PX, 5.0)])
    h = venue_harness(_rows(*snap), queue_model=model)
    h.submit(T0, 1, +1, BID_PX, 1.5)
    h.run()
    (f,) = h.of(Fill, 1)
    assert (f.qty, f.px, f.venue_ts_ns) == (1.5, BID_PX, T0 + 20 * MS)


# -- compiled vs interpreted (NUMBA_DISABLE_JIT) execution of the one implementation ----------

_sizes = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 10.0]),
    st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=300, deadline=None)
@given(
    ahead=_sizes,
    prev=_sizes,
    new=_sizes,
    traded=_sizes,
    model=st.sampled_from([RISK_AVERSE, PROB_POWER, PROB_LOG]),
    power=st.one_of(st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.floats(min_value=0.1, max_value=6.0)),
)
def test_queue_update_compiled_equals_interpreted(ahead, prev, new, traded, model, power):
    """The Numba-compiled `queue_update` equals its interpreted Python function (rtol 1e-12): CI
    also runs the kernels with NUMBA_DISABLE_JIT=1."""
    got = queue_update(ahead, prev, new, traded, model, power)
    want = getattr(queue_update, "py_func", queue_update)(ahead, prev, new, traded, model, power)
    assert math.isfinite(got)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * max(prev, 1.0))


@settings(max_examples=200, deadline=None)
@given(
    ahead=_sizes,
    prev=_sizes,
    new=_sizes,
    traded=_sizes,
    model=st.sampled_from([RISK_AVERSE, PROB_POWER, PROB_LOG]),
    power=st.floats(min_value=0.1, max_value=6.0),
)
def test_queue_update_stays_in_range(ahead, prev, new, traded, model, power):
    """The updated queue position lies in [0, new level] and never grows past the old position."""
    out = queue_update(ahead, prev, new, traded, model, power)
    assert 0.0 <= out <= new
    assert out <= ahead


_signed = st.one_of(
    st.sampled_from([-2.0, -1.0, -0.5, -0.0004, 0.0, 0.5, 5.0]),
    st.floats(min_value=-50.0, max_value=1e4, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=300, deadline=None)
@given(
    ahead=_signed,
    prev=_sizes,
    new=_sizes,
    traded=_sizes,
    model=st.sampled_from([PROB_POWER | UNBOUNDED, PROB_LOG | UNBOUNDED]),
    power=st.one_of(st.sampled_from([1.0, 2.0, 3.0]), st.floats(min_value=0.1, max_value=6.0)),
)
def test_unbounded_update_is_finite_capped_and_compiled_equals_interpreted(ahead, prev, new, traded, model, power):
    """``queue_below_zero = "allow"``: whatever the (negative) position, the result is a number
    (a NaN estimate becomes the level, as Rust's ``f64::min``), never above the new level, and the
    compiled kernel equals the interpreted one."""
    got = queue_update(ahead, prev, new, traded, model, power)
    want = getattr(queue_update, "py_func", queue_update)(ahead, prev, new, traded, model, power)
    assert math.isfinite(got) and got <= new
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * max(prev, 1.0))


@settings(max_examples=200, deadline=None)
@given(
    ahead=_signed,
    prev=_sizes,
    new=_sizes,
    traded=_sizes,
    model=st.sampled_from([RISK_AVERSE, PROB_POWER, PROB_LOG]),
    power=st.floats(min_value=0.1, max_value=6.0),
)
def test_clamped_update_never_moves_an_order_back_nor_past_the_front(ahead, prev, new, traded, model, power):
    """Default ``clamp``: the result lies in ``[min(ahead, 0), new]`` and is never above ``ahead``
    (a carried print excess, ``ahead < 0``, is kept; a cancel never creates one)."""
    out = queue_update(ahead, prev, new, traded, model, power)
    assert min(ahead, 0.0) <= out <= max(new, min(ahead, 0.0))
    assert out <= ahead
