"""Named random streams: reproducible and independent of each other."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.rng import RngStreams


@given(seed=st.integers(0, 2**32), extra=st.lists(st.text(min_size=1, max_size=8), max_size=5))
def test_adding_streams_does_not_change_existing_draws(seed, extra):
    """Draws of stream 'a' do not depend on which other streams were created first."""
    alone = RngStreams(seed).stream("a").random(8)
    r = RngStreams(seed)
    for name in extra:
        if name != "a":
            r.stream(name).random(3)
    assert np.array_equal(alone, r.stream("a").random(8))


def test_streams_differ_by_name_and_seed():
    """Different names or seeds give different draws."""
    a = RngStreams(1).stream("a").random(4)
    assert not np.array_equal(a, RngStreams(1).stream("b").random(4))
    assert not np.array_equal(a, RngStreams(2).stream("a").random(4))
