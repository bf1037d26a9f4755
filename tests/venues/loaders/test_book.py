"""The reference book's cached best prices agree with a brute-force recomputation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from venues.loaders.book import RefBook

ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from([1, -1]), st.integers(1, 20),
                  st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        st.tuples(st.just("clear"), st.sampled_from([1, -1, 0]), st.just(0), st.just(0.0)),
    ),
    max_size=60,
)


@given(ops)
def test_best_prices_match_brute_force(seq):
    """After any sequence of level sets/deletes/clears, best_bid/best_ask equal max/min of the
    non-empty levels."""
    b = RefBook()
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for op, side, px, q in seq:
        if op == "clear":
            b.clear(side)
            if side >= 0:
                bids.clear()
            if side <= 0:
                asks.clear()
            continue
        b.set(side, float(px), q)
        d = bids if side == 1 else asks
        if q > 0:
            d[float(px)] = q
        else:
            d.pop(float(px), None)
        assert b.best_bid() == (max(bids) if bids else None)
        assert b.best_ask() == (min(asks) if asks else None)
