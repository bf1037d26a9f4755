"""signals.weights against AFML ch. 4 (Snippets 4.1-4.5, 4.10) on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals.weights import (
    average_uniqueness,
    indicator_matrix,
    num_concurrent_events,
    return_attribution_weights,
    sequential_bootstrap,
    sequential_bootstrap_probabilities,
)

# AFML §4.5.3 numerical example: t1 = pd.Series([2, 3, 5], index=[0, 2, 4])
BOOK_T0 = np.array([0, 2, 4])
BOOK_T1 = np.array([2, 3, 5])


def test_three_overlapping_events_by_hand():
    t0, t1 = np.array([0, 1, 2]), np.array([3, 2, 4])  # spans [0,3], [1,2], [2,4]
    np.testing.assert_array_equal(num_concurrent_events(t0, t1), [1, 2, 3, 2, 1])
    # u0 = (1 + 1/2 + 1/3 + 1/2)/4, u1 = (1/2 + 1/3)/2, u2 = (1/3 + 1/2 + 1)/3
    np.testing.assert_allclose(average_uniqueness(t0, t1), [7 / 12, 5 / 12, 11 / 18], rtol=1e-12)


def test_book_example_concurrency_uniqueness_and_indicator_matrix():
    np.testing.assert_array_equal(num_concurrent_events(BOOK_T0, BOOK_T1), [1, 1, 2, 1, 1, 1])
    np.testing.assert_allclose(average_uniqueness(BOOK_T0, BOOK_T1), [5 / 6, 3 / 4, 1.0])
    ind = indicator_matrix(BOOK_T0, BOOK_T1)
    np.testing.assert_array_equal(ind, [[1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]])
    assert num_concurrent_events(BOOK_T0, BOOK_T1, n_bars=8).tolist() == [1, 1, 2, 1, 1, 1, 0, 0]


def test_return_attribution_by_hand():
    close = np.exp([0.0, 0.1, 0.3, 0.2, 0.2])  # log returns r = [0, .1, .2, -.1, 0]
    t0, t1 = np.array([0, 1]), np.array([2, 3])  # concurrency [1, 2, 2, 1, 0]
    # w0 = |0/1 + .1/2 + .2/2| = .15, w1 = |.1/2 + .2/2 - .1/1| = .05
    np.testing.assert_allclose(return_attribution_weights(t0, t1, close, normalize=False), [0.15, 0.05])
    np.testing.assert_allclose(return_attribution_weights(t0, t1, close), [1.5, 0.5])  # sum = number of events


def test_weights_match_book_snippets_on_random_spans():
    rng = np.random.default_rng(5)
    t0 = np.sort(rng.integers(0, 200, 40))
    t1 = t0 + rng.integers(0, 25, 40)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 240))))
    count = pd.Series(0, index=range(240))
    for a, b in zip(t0, t1, strict=True):  # Snippet 4.1
        count.loc[a:b] += 1
    np.testing.assert_array_equal(num_concurrent_events(t0, t1, 240), count.to_numpy())
    u = [(1.0 / count.loc[a:b]).mean() for a, b in zip(t0, t1, strict=True)]  # Snippet 4.2
    np.testing.assert_allclose(average_uniqueness(t0, t1), u, rtol=1e-12)
    ret = np.log(close).diff()  # Snippet 4.10
    w = pd.Series([(ret.loc[a:b] / count.loc[a:b]).sum() for a, b in zip(t0, t1, strict=True)]).abs()
    w *= w.shape[0] / w.sum()
    np.testing.assert_allclose(return_attribution_weights(t0, t1, close.to_numpy()), w.to_numpy(), rtol=1e-10)


def test_sequential_bootstrap_probabilities_book_example():
    # AFML §4.5.3: first draw uniform; after drawing event 1: (5/14, 3/14, 6/14); then after event 2: (5/11, 3/11, 3/11)
    np.testing.assert_allclose(sequential_bootstrap_probabilities(BOOK_T0, BOOK_T1, []), [1 / 3] * 3)
    np.testing.assert_allclose(sequential_bootstrap_probabilities(BOOK_T0, BOOK_T1, [1]), [5 / 14, 3 / 14, 6 / 14])
    np.testing.assert_allclose(sequential_bootstrap_probabilities(BOOK_T0, BOOK_T1, [1, 2]), [5 / 11, 3 / 11, 3 / 11])


def _seq_bootstrap_book(ind: pd.DataFrame, s_length: int, rng: np.random.Generator) -> list[int]:
    # Snippets 4.4-4.5 (getAvgUniqueness, seqBootstrap) with the same inverse-CDF draw as the implementation.
    def avg_u(m):
        c = m.sum(axis=1)
        u = m.div(c, axis=0)
        return u[u > 0].mean()

    phi: list[int] = []
    while len(phi) < s_length:
        avg = pd.Series({i: avg_u(ind[phi + [i]]).iloc[-1] for i in ind.columns})
        cdf = np.cumsum(avg.to_numpy())
        phi.append(int(ind.columns[np.searchsorted(cdf, rng.random() * cdf[-1], side="right")]))
    return phi


def test_sequential_bootstrap_matches_book_snippet_draw_for_draw():
    rng = np.random.default_rng(6)
    t0 = np.sort(rng.integers(0, 40, 8))
    t1 = t0 + rng.integers(0, 10, 8)
    ind = pd.DataFrame(indicator_matrix(t0, t1).astype(float))
    ref = _seq_bootstrap_book(ind, 12, np.random.default_rng(7))
    got = sequential_bootstrap(t0, t1, np.random.default_rng(7), n_samples=12)
    assert got.tolist() == ref


def test_sequential_bootstrap_is_reproducible_and_leaves_global_rng_alone():
    rng = np.random.default_rng(0)
    t0 = np.sort(rng.integers(0, 100, 30))
    t1 = t0 + rng.integers(0, 20, 30)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = sequential_bootstrap(t0, t1, np.random.default_rng(42))
    b = sequential_bootstrap(t0, t1, np.random.default_rng(42))
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    np.testing.assert_array_equal(a, b)
    assert a.size == 30 and a.min() >= 0 and a.max() < 30
    assert not np.array_equal(a, sequential_bootstrap(t0, t1, np.random.default_rng(43)))
    with pytest.raises(TypeError):
        sequential_bootstrap(t0, t1, 42)


def test_sequential_bootstrap_favours_unique_events():
    # five identical overlapping events and one isolated event: a standard bootstrap draws the
    # isolated one 1/6 of the time; the sequential bootstrap much more often
    t0 = np.array([0, 0, 0, 0, 0, 10])
    t1 = np.array([9, 9, 9, 9, 9, 19])
    rng = np.random.default_rng(8)
    draws = np.concatenate([sequential_bootstrap(t0, t1, rng) for _ in range(300)])
    assert (draws == 5).mean() > 0.22  # 1/6 + 6 sd of a standard bootstrap share
    # AFML Snippet 4.9 Monte Carlo: higher average uniqueness of the sample than a standard bootstrap
    seq_u, std_u = [], []
    for _ in range(40):
        s0 = np.sort(rng.integers(0, 60, 20))
        s1 = s0 + rng.integers(0, 15, 20)
        for pick, acc in ((sequential_bootstrap(s0, s1, rng), seq_u), (rng.integers(0, 20, 20), std_u)):
            acc.append(average_uniqueness(s0[pick], s1[pick]).mean())
    assert np.median(seq_u) > np.median(std_u)


def test_input_validation():
    with pytest.raises(ValueError):
        num_concurrent_events(np.array([3]), np.array([2]))
    with pytest.raises(TypeError):
        average_uniqueness(np.array([0.5]), np.array([1.0]))
    with pytest.raises(ValueError):
        num_concurrent_events(np.array([0]), np.array([5]), n_bars=3)
