"""signals.cv: purged k-fold (AFML Snippet 7.3), walk-forward, CPCV (AFML §12.4); purged CV never leaks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.cv import CombinatorialPurgedCV, PurgedKFold, purged_train_mask, walk_forward


@st.composite
def label_spans(draw, min_n=2, max_n=50):
    """Events sorted by start (ties allowed) with random label lengths (zero allowed)."""
    n = draw(st.integers(min_n, max_n))
    gaps = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    t0 = np.cumsum(np.asarray(gaps, dtype=np.int64))
    dur = np.asarray(draw(st.lists(st.integers(0, 25), min_size=n, max_size=n)), dtype=np.int64)
    return t0, t0 + dur


def _overlap(a0, a1, b0, b1):
    # label spans overlap unless they only share an endpoint (the book's ``t1 <= t0`` test)
    return a0 < b1 and b0 < a1


def _assert_no_leak(t0, t1, train, test):
    t0l, t1l = t0.tolist(), t1.tolist()
    for e in train.tolist():
        for f in test.tolist():
            assert not _overlap(t0l[e], t1l[e], t0l[f], t1l[f]), (e, f)
    # vectorised: training labels end before the first test start, or start after the last test end
    before = train[train < test.min()]
    after = train[train > test.max()]
    assert np.all(t1[before] <= t0[test].min())
    assert np.all(t0[after] >= t1[test].max())


def _check_split(t0, t1, train, test, h, q):
    n = t0.size
    assert np.array_equal(train, np.unique(train)) and np.array_equal(test, np.unique(test))
    assert np.intersect1d(train, test).size == 0
    assert train.size == 0 or (train.min() >= 0 and train.max() < n)
    _assert_no_leak(t0, t1, train, test)
    i, j = int(test.min()), int(test.max()) + 1
    T0, T1 = t0[i], t1[test].max()
    purged = np.setdiff1d(np.arange(n), np.union1d(train, test))
    assert train.size + test.size + purged.size == n  # train ∪ test ∪ purged = all, disjoint
    # earlier side: exactly the events whose label ends by the test start (minus the quarantine)
    np.testing.assert_array_equal(train[train < i], np.flatnonzero(t1[:i] <= T0 - q))
    # later side: of the events starting at or after the latest test end, the first h are embargoed
    later = np.arange(j, n)[t0[j:] >= T1]
    np.testing.assert_array_equal(train[train >= j], later[h:])
    # every purged event is justified: it overlaps a test label, lies within the quarantine, or is embargoed
    for e in purged.tolist():
        overlaps = any(t0[e] <= t1[f] and t0[f] <= t1[e] for f in test.tolist())
        quarantined = e < i and t1[e] <= T0 and t1[e] > T0 - q
        embargoed = e in later[:h].tolist()
        assert overlaps or quarantined or embargoed, e


@given(
    spans=label_spans(),
    n_splits=st.integers(2, 6),
    pct=st.sampled_from([0.0, 0.02, 0.1, 0.25]),
    q=st.sampled_from([None, 0, 3, 20]),
)
def test_purged_kfold_never_leaks(spans, n_splits, pct, q):
    t0, t1 = spans
    if t0.size < n_splits:
        return
    cv = PurgedKFold(n_splits, embargo_pct=pct, quarantine_ns=q)
    splits = list(cv.split(t0, t1))
    assert len(splits) == cv.get_n_splits() == n_splits
    tests = np.concatenate([te for _, te in splits])
    np.testing.assert_array_equal(tests, np.arange(t0.size))  # contiguous folds partition the events
    for train, test in splits:
        assert np.array_equal(test, np.arange(test[0], test[-1] + 1))
        _check_split(t0, t1, train, test, int(t0.size * pct), q or 0)


def test_purged_kfold_by_hand():
    t0 = np.arange(10, dtype=np.int64)
    t1 = t0 + 2
    folds = list(PurgedKFold(5, embargo_pct=0.1).split(t0, t1))  # h = 1
    train, test = folds[2]
    assert test.tolist() == [4, 5]
    # earlier: t1 <= 4 -> {0, 1, 2}; later: first start >= max t1 = 7 is event 7, embargo 1 -> from 8
    assert train.tolist() == [0, 1, 2, 8, 9]
    assert folds[0][0].tolist() == [4, 5, 6, 7, 8, 9]  # test [0, 1], max t1 = 3 -> k = 3, + 1 embargo -> 4
    assert folds[4][0].tolist() == [0, 1, 2, 3, 4, 5, 6]  # test [8, 9]: t1 <= 8
    train, _ = list(PurgedKFold(5, embargo_pct=0.1, quarantine_ns=2).split(t0, t1))[2]
    assert train.tolist() == [0, 8, 9]  # quarantine: t1 <= 4 - 2


def _purged_kfold_book(t1: pd.Series, n_splits: int, pct_embargo: float):
    # AFML Snippet 7.3, PurgedKFold.split, verbatim logic
    indices = np.arange(t1.shape[0])
    mbrg = int(t1.shape[0] * pct_embargo)
    test_starts = [(i[0], i[-1] + 1) for i in np.array_split(np.arange(t1.shape[0]), n_splits)]
    for i, j in test_starts:
        t0 = t1.index[i]
        test_indices = indices[i:j]
        max_t1_idx = t1.index.searchsorted(t1.iloc[test_indices].max())
        train_indices = t1.index.searchsorted(t1[t1 <= t0].index)
        if max_t1_idx < t1.shape[0]:
            train_indices = np.concatenate((train_indices, indices[max_t1_idx + mbrg :]))
        yield train_indices, test_indices


@given(spans=label_spans(min_n=5), n_splits=st.integers(2, 5), pct=st.sampled_from([0.0, 0.05, 0.2]))
def test_purged_kfold_matches_book_snippet(spans, n_splits, pct):
    t0, t1 = spans
    t0 = t0 * 10 + np.arange(t0.size)  # unique starts: the book's index lookups assume them
    t1 = t0 + (t1 - spans[0]) * 10 + 1
    ref = _purged_kfold_book(pd.Series(t1, index=t0), n_splits, pct)
    for (train, test), (rtrain, rtest) in zip(PurgedKFold(n_splits, pct).split(t0, t1), ref, strict=True):
        np.testing.assert_array_equal(test, rtest)
        np.testing.assert_array_equal(train, np.sort(rtrain))


def test_purged_kfold_validation():
    with pytest.raises(ValueError):
        PurgedKFold(1)
    with pytest.raises(ValueError):
        PurgedKFold(2, embargo_pct=1.0)
    with pytest.raises(ValueError, match="sorted"):
        next(PurgedKFold(2).split(np.array([1, 0, 2]), np.array([1, 1, 2])))
    with pytest.raises(ValueError):
        next(PurgedKFold(2).split(np.array([0, 1]), np.array([0, 0])))


# ----------------------------------------------------------------------------- walk-forward


@given(
    spans=label_spans(min_n=8),
    n_splits=st.integers(1, 4),
    train_size=st.sampled_from([None, 1, 3, 10]),
    pct=st.sampled_from([0.0, 0.1]),
    q=st.sampled_from([None, 5]),
)
def test_walk_forward_train_always_before_test_and_purged(spans, n_splits, train_size, pct, q):
    t0, t1 = spans
    n = t0.size
    folds = walk_forward(n, n_splits, train_size, t0=t0, t1=t1, embargo_pct=pct, quarantine_ns=q)
    assert len(folds) == n_splits
    size = n // (n_splits + 1)
    h = int(n * pct)
    prev_end = None
    for train, test in folds:
        assert test.size == size and np.array_equal(test, np.arange(test[0], test[0] + size))
        assert prev_end is None or test[0] == prev_end
        prev_end = test[-1] + 1
        if train.size:
            assert train.max() < test.min()
            # purged (with quarantine), then the last h survivors embargoed
            kept = np.flatnonzero(t1[: test[0]] <= t0[test[0]] - (q or 0))
            kept = kept[: max(kept.size - h, 0)]
            np.testing.assert_array_equal(train, kept if train_size is None else kept[-train_size:])
            if train_size is not None:
                assert train.size <= train_size
            _assert_no_leak(t0, t1, train, test)
    assert folds[-1][1][-1] == n - 1


def test_walk_forward_expanding_and_rolling_by_hand():
    exp = walk_forward(10, 3)  # test_size = 10 // 4 = 2 -> tests [4,5], [6,7], [8,9]
    assert [te.tolist() for _, te in exp] == [[4, 5], [6, 7], [8, 9]]
    assert [tr.tolist() for tr, _ in exp] == [[0, 1, 2, 3], [0, 1, 2, 3, 4, 5], list(range(8))]
    roll = walk_forward(10, 3, train_size=3)
    assert [tr.tolist() for tr, _ in roll] == [[1, 2, 3], [3, 4, 5], [5, 6, 7]]
    t0 = np.arange(10, dtype=np.int64) * 10
    t1 = t0 + 15  # each label overlaps the next event's start
    purged = walk_forward(10, 3, t0=t0, t1=t1, embargo_pct=0.1)
    # test at 40: purge keeps t1 <= 40 -> events 0, 1, 2 (t1 = 15, 25, 35); embargo h = 1 drops event 2
    assert purged[0][0].tolist() == [0, 1]
    assert walk_forward(10, 3, t0=t0, t1=t1)[0][0].tolist() == [0, 1, 2]
    assert walk_forward(10, 3, t0=t0, t1=t1, quarantine_ns=10)[0][0].tolist() == [0, 1]  # t1 <= 30
    with pytest.raises(ValueError):
        walk_forward(3, 3)


# ----------------------------------------------------------------------------- CPCV


@pytest.mark.parametrize(("n_groups", "k"), [(6, 2), (4, 2), (5, 1), (6, 3)])
def test_cpcv_counts_splits_and_paths(n_groups, k):
    cv = CombinatorialPurgedCV(n_groups, k)
    assert cv.get_n_splits() == math.comb(n_groups, k)
    assert cv.n_paths == k * math.comb(n_groups, k) // n_groups
    paths = cv.path_splits()
    assert paths.shape == (cv.n_paths, n_groups)
    combos = cv.combinations()
    for p in range(cv.n_paths):
        for g in range(n_groups):
            assert g in combos[paths[p, g]]
    # every (split, tested group) pair is used by exactly one path
    pairs = {(int(paths[p, g]), g) for p in range(cv.n_paths) for g in range(n_groups)}
    assert len(pairs) == cv.n_paths * n_groups == sum(len(c) for c in combos)


def test_cpcv_book_example_n6_k2():
    cv = CombinatorialPurgedCV(6, 2)
    assert (cv.get_n_splits(), cv.n_paths) == (15, 5)  # AFML §12.4.1, Figure 12.1


def test_cpcv_assembles_paths():
    n = 23
    t0 = np.arange(n, dtype=np.int64)
    cv = CombinatorialPurgedCV(5, 2, embargo_pct=0.05)
    splits = list(cv.split(t0, t0))
    assert len(splits) == 10
    # a "model" predicting event index + 1000 * split: each path must be the identity plus its split ids
    preds = [test + 1000.0 * s for s, (_, test) in enumerate(splits)]
    paths = cv.assemble_paths(preds, n)
    assert paths.shape == (cv.n_paths, n) and not np.isnan(paths).any()
    np.testing.assert_array_equal(paths % 1000, np.broadcast_to(np.arange(n), paths.shape))
    groups = cv.groups(n)
    ps = cv.path_splits()
    for p in range(cv.n_paths):
        for g, idx in enumerate(groups):
            assert np.all(paths[p, idx] // 1000 == ps[p, g])


@given(
    spans=label_spans(min_n=6),
    nk=st.sampled_from([(3, 1), (4, 2), (5, 2), (6, 3)]),
    pct=st.sampled_from([0.0, 0.1]),
    q=st.sampled_from([None, 4]),
)
def test_cpcv_never_leaks(spans, nk, pct, q):
    t0, t1 = spans
    n_groups, k = nk
    if t0.size < n_groups:
        return
    cv = CombinatorialPurgedCV(n_groups, k, embargo_pct=pct, quarantine_ns=q)
    h = int(t0.size * pct)
    groups = cv.groups(t0.size)
    for (train, test), combo in zip(cv.split(t0, t1), cv.combinations(), strict=True):
        np.testing.assert_array_equal(test, np.concatenate([groups[g] for g in combo]))
        assert np.intersect1d(train, test).size == 0
        for e in train.tolist():
            for f in test.tolist():
                assert not _overlap(t0[e], t1[e], t0[f], t1[f])
        # per contiguous test run: embargo after it and quarantine before it
        runs = np.split(test, np.flatnonzero(np.diff(test) > 1) + 1)
        for run in runs:
            T0, T1 = t0[run[0]], t1[run].max()
            after = np.arange(run[-1] + 1, t0.size)[t0[run[-1] + 1 :] >= T1]
            assert np.intersect1d(train, after[:h]).size == 0
            assert np.all(t1[train[train < run[0]]] <= T0 - (q or 0))
        np.testing.assert_array_equal(np.flatnonzero(purged_train_mask(t0, t1, test, pct, q)), train)
