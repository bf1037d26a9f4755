"""Leak-free cross-validation for overlapping labels: purged k-fold, walk-forward, CPCV.

Implements López de Prado, *Advances in Financial Machine Learning* (Wiley, 2018):
chapter 7 ("Cross-Validation in Finance": §7.4.1 purging, §7.4.2 embargo, Snippets
7.1–7.3, ``PurgedKFold``) and chapter 12 ("Backtesting through Cross-Validation": §12.2
walk-forward, §12.4 combinatorial purged cross-validation), with the conventions of
``FORMULAS.md`` §6 of the shared workspace.

Conventions
-----------
Events
    Event ``e`` has a label span ``[t0[e], t1[e]]`` in ``int64`` ns (e.g. the ``t0`` / ``t1``
    fields of :func:`signals.labels.triple_barrier_labels`). Events must be **sorted by
    start time** (``t0`` non-decreasing); the indices yielded are positions in that order.
Purging (Snippet 7.3)
    For a contiguous block of test events ``[i, j)`` with start ``T0 = t0[i]`` and latest
    label end ``T1 = max(t1[i:j])``, training keeps

    * earlier events ``e < i`` whose label end ``t1[e] ≤ T0``, and
    * later events from the first one starting at or after ``T1``,
      ``k = searchsorted(t0, T1, 'left')``, shifted by an **embargo** of ``h = ⌊N·pct⌋``
      events: ``e ≥ max(k, j) + h``.

    Label spans that only share an endpoint (``t1[e] = T0`` or ``t0[e] = T1``) are not an
    overlap, as in the book's ``t1 <= t0`` test. Every other non-test event is *purged*.
    (``max(k, j)`` equals the book's ``k`` except for zero-length test labels, where the
    book's code could put a test event in its own training set.)
Quarantine (optional, ``quarantine_ns``)
    A stricter rule for the earlier side: training also drops earlier events whose label end
    lies in the ``quarantine_ns`` window before the test start, i.e. keeps only
    ``t1[e] ≤ T0 − quarantine_ns``. This is the "no training on the most recent N days"
    option of the research pipeline; it guards against slowly decaying serial correlation
    that purging alone does not remove. Later events are governed by the embargo only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = [
    "CombinatorialPurgedCV",
    "PurgedKFold",
    "purged_train_mask",
    "walk_forward",
]


def _check_times(t0, t1) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(t0)
    b = np.asarray(t1)
    for name, x in (("t0", a), ("t1", b)):
        if x.size and x.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integer nanoseconds, got dtype {x.dtype}")
    a = a.astype(np.int64).ravel()
    b = b.astype(np.int64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"t0 and t1 differ in length: {a.size} vs {b.size}")
    if a.size > 1 and np.any(np.diff(a) < 0):
        raise ValueError("events must be sorted by start time (t0 non-decreasing)")
    if np.any(b < a):
        raise ValueError("every label must end at or after it starts (t1 >= t0)")
    return a, b


def _embargo(n: int, pct: float) -> int:
    if not 0.0 <= pct < 1.0:
        raise ValueError(f"embargo_pct must be in [0, 1), got {pct}")
    return int(math.floor(n * pct))


def _block_mask(t0: np.ndarray, t1: np.ndarray, i: int, j: int, h: int, quarantine_ns: int) -> np.ndarray:
    # Events allowed in training by the purge/embargo/quarantine rules of one test block [i, j).
    n = t0.size
    idx = np.arange(n)
    before = (idx < i) & (t1 <= t0[i] - quarantine_ns)
    k = int(np.searchsorted(t0, t1[i:j].max(), side="left"))
    after = idx >= max(k, j) + h
    return before | after


def purged_train_mask(
    t0: np.ndarray,
    t1: np.ndarray,
    test_idx: np.ndarray,
    embargo_pct: float = 0.0,
    quarantine_ns: int | None = None,
) -> np.ndarray:
    """Boolean training mask for an arbitrary test set (AFML §7.4, Snippets 7.1–7.3; §12.4).

    The test set is split into maximal runs of consecutive positions (blocks); each block
    purges and embargoes as described in the module docstring (the rule of Snippet 7.3
    applied per block, as CPCV requires in AFML §12.4.1), and an event trains only if every
    block allows it and it is not a test event.

    Parameters
    ----------
    t0, t1 : numpy.ndarray
        ``int64`` label start and end of each event, sorted by ``t0``.
    test_idx : numpy.ndarray
        Positions of the test events.
    embargo_pct : float, default 0.0
        Embargo ``h = ⌊N·embargo_pct⌋`` events after each test block (AFML §7.4.2).
    quarantine_ns : int, optional
        Also drop earlier events whose label ends within this many ns before each block's
        start.

    Returns
    -------
    numpy.ndarray
        ``bool`` mask of length ``N``: True for training events.
    """
    t0, t1 = _check_times(t0, t1)
    n = t0.size
    h = _embargo(n, embargo_pct)
    q = _quarantine(quarantine_ns)
    test = np.zeros(n, bool)
    test[np.asarray(test_idx, dtype=np.int64)] = True
    mask = ~test
    for i, j in _runs(np.flatnonzero(test)):
        mask &= _block_mask(t0, t1, i, j, h, q)
    return mask


def _quarantine(quarantine_ns: int | None) -> int:
    if quarantine_ns is None:
        return 0
    if quarantine_ns < 0:
        raise ValueError(f"quarantine_ns must be >= 0, got {quarantine_ns}")
    return int(quarantine_ns)


def _runs(pos: np.ndarray) -> list[tuple[int, int]]:
    # Maximal runs of consecutive positions as half-open [start, stop) pairs.
    if pos.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(pos) > 1)
    starts = np.concatenate(([pos[0]], pos[breaks + 1]))
    stops = np.concatenate((pos[breaks] + 1, [pos[-1] + 1]))
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


class PurgedKFold:
    """K-fold cross-validation with purging and embargo (AFML §7.4, Snippet 7.3).

    Test folds are ``n_splits`` contiguous blocks of events in start-time order
    (``np.array_split``, as the book); the training set of each fold is every other event
    except those purged or embargoed (module docstring), so training data lies on both
    sides of the test fold.

    Parameters
    ----------
    n_splits : int
        Number of folds, ``≥ 2``.
    embargo_pct : float, default 0.0
        Fraction of events embargoed after each test fold, ``h = ⌊N·embargo_pct⌋``
        (the book's ``pctEmbargo``).
    quarantine_ns : int, optional
        Optional quarantine window before each test fold (module docstring).

    Examples
    --------
    >>> cv = PurgedKFold(n_splits=5, embargo_pct=0.01)
    >>> for train_idx, test_idx in cv.split(labels["t0"], labels["t1"]):  # doctest: +SKIP
    ...     model.fit(X[train_idx], y[train_idx])
    """

    def __init__(self, n_splits: int = 3, embargo_pct: float = 0.0, quarantine_ns: int | None = None) -> None:
        if n_splits < 2:
            raise ValueError(f"n_splits must be >= 2, got {n_splits}")
        _embargo(0, embargo_pct)
        _quarantine(quarantine_ns)
        self.n_splits = int(n_splits)
        self.embargo_pct = float(embargo_pct)
        self.quarantine_ns = quarantine_ns

    def get_n_splits(self) -> int:
        """Number of (train, test) splits, ``n_splits``."""
        return self.n_splits

    def split(self, t0: np.ndarray, t1: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` position arrays, one pair per fold.

        Parameters
        ----------
        t0, t1 : numpy.ndarray
            ``int64`` label start and end (ns) of each event, sorted by ``t0``.

        Yields
        ------
        tuple of numpy.ndarray
            Sorted ``int64`` training and test positions; disjoint, and no training label
            span overlaps a test label span.
        """
        t0, t1 = _check_times(t0, t1)
        n = t0.size
        if n < self.n_splits:
            raise ValueError(f"cannot split {n} events into {self.n_splits} folds")
        h = _embargo(n, self.embargo_pct)
        q = _quarantine(self.quarantine_ns)
        for block in np.array_split(np.arange(n), self.n_splits):
            i, j = int(block[0]), int(block[-1]) + 1
            mask = _block_mask(t0, t1, i, j, h, q)
            mask[i:j] = False
            yield np.flatnonzero(mask).astype(np.int64), block.astype(np.int64)


def walk_forward(
    n_events: int,
    n_splits: int,
    train_size: int | None = None,
    *,
    t0: np.ndarray | None = None,
    t1: np.ndarray | None = None,
    test_size: int | None = None,
    embargo_pct: float = 0.0,
    quarantine_ns: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Purged walk-forward splits, expanding or rolling (AFML §12.2; purging §7.4.1).

    Test blocks are the last ``n_splits`` contiguous blocks of ``test_size`` events
    (default ``n_events // (n_splits + 1)``, as scikit-learn's ``TimeSeriesSplit``), in
    time order. Training for a block starting at position ``i`` uses only **earlier** events:

    1. purge: keep ``e < i`` with ``t1[e] ≤ t0[i]`` (minus ``quarantine_ns`` if given);
    2. embargo: additionally drop the last ``h = ⌊N·embargo_pct⌋`` of the events kept by
       step 1. AFML's embargo (§7.4.2) protects training events *after* a test set, which
       walk-forward never has; here it is mirrored before the test block, as a gap of ``h``
       events beyond the purged ones (as k-fold's embargo counts from the first event
       starting after the test labels end), guarding against serially correlated features
       across the boundary;
    3. window: all remaining events (expanding, ``train_size=None``) or the last
       ``train_size`` of them (rolling), so every rolling fold trains on the same number of
       events when enough are available.

    Parameters
    ----------
    n_events : int
        Number of events ``N`` (sorted by start time).
    n_splits : int
        Number of test blocks, ``≥ 1``.
    train_size : int, optional
        Rolling window length in events; None for an expanding window.
    t0, t1 : numpy.ndarray, optional
        ``int64`` label start and end (ns) of each event, for purging. If omitted, each event
        is a point (``t0 = t1 = position``) and nothing needs purging.
    test_size : int, optional
        Events per test block.
    embargo_pct : float, default 0.0
        Gap before each test block as a fraction of ``N``.
    quarantine_ns : int, optional
        Quarantine window (needs ``t0``/``t1``; module docstring).

    Returns
    -------
    list of tuple of numpy.ndarray
        ``(train_idx, test_idx)`` per fold in time order; every training position is before
        every test position and every training label ends by the test start. A fold's
        training set may be empty if the window leaves nothing.
    """
    if n_splits < 1:
        raise ValueError(f"n_splits must be >= 1, got {n_splits}")
    if t0 is None and t1 is None:
        if quarantine_ns is not None:
            raise ValueError("quarantine_ns needs event times t0 and t1")
        t0 = t1 = np.arange(n_events, dtype=np.int64)
    elif t0 is None or t1 is None:
        raise ValueError("pass both t0 and t1, or neither")
    t0, t1 = _check_times(t0, t1)
    if t0.size != n_events:
        raise ValueError(f"n_events={n_events} but {t0.size} event times given")
    if test_size is None:
        test_size = n_events // (n_splits + 1)
    if test_size < 1 or n_splits * test_size >= n_events:
        raise ValueError(f"cannot fit {n_splits} test blocks of {test_size} events after a training set in {n_events}")
    if train_size is not None and train_size < 1:
        raise ValueError(f"train_size must be >= 1 or None, got {train_size}")
    h = _embargo(n_events, embargo_pct)
    q = _quarantine(quarantine_ns)
    out = []
    for s in range(n_splits):
        i = n_events - (n_splits - s) * test_size
        j = i + test_size
        cand = np.arange(i)
        train = cand[t1[cand] <= t0[i] - q]
        train = train[: max(train.size - h, 0)]
        if train_size is not None:
            train = train[-train_size:]
        out.append((train.astype(np.int64), np.arange(i, j, dtype=np.int64)))
    return out


class CombinatorialPurgedCV:
    """Combinatorial purged cross-validation, CPCV (AFML §12.4, with purging of §7.4).

    The ``N`` events (sorted by start time) are partitioned into ``n_groups`` contiguous
    groups (``np.array_split``). Each of the ``C(N, k)`` splits (``k = n_test_groups``)
    tests on one combination of ``k`` groups (``itertools.combinations`` order) and trains
    on the rest after purging and embargo around every contiguous run of test groups
    (:func:`purged_train_mask`). Every group is tested in ``C(N−1, k−1)`` splits, which
    assemble into ``φ[N, k] = k/N · C(N, k)`` complete backtest paths (AFML §12.4.1–12.4.2):
    path ``p`` takes group ``g``'s predictions from the ``p``-th split (in split order) that
    tests ``g`` — see :meth:`path_splits` and :meth:`assemble_paths`.

    Parameters
    ----------
    n_groups : int
        ``N``, number of groups, ``≥ 2``.
    n_test_groups : int
        ``k``, test groups per split, ``1 ≤ k < N``.
    embargo_pct : float, default 0.0
        Embargo ``h = ⌊N_events·embargo_pct⌋`` events after each test run.
    quarantine_ns : int, optional
        Optional quarantine window before each test run (module docstring).
    """

    def __init__(
        self, n_groups: int, n_test_groups: int, embargo_pct: float = 0.0, quarantine_ns: int | None = None
    ) -> None:
        if n_groups < 2:
            raise ValueError(f"n_groups must be >= 2, got {n_groups}")
        if not 1 <= n_test_groups < n_groups:
            raise ValueError(f"n_test_groups must be in [1, {n_groups}), got {n_test_groups}")
        _embargo(0, embargo_pct)
        _quarantine(quarantine_ns)
        self.n_groups = int(n_groups)
        self.n_test_groups = int(n_test_groups)
        self.embargo_pct = float(embargo_pct)
        self.quarantine_ns = quarantine_ns

    def get_n_splits(self) -> int:
        """Number of splits, ``C(N, k)``."""
        return math.comb(self.n_groups, self.n_test_groups)

    @property
    def n_paths(self) -> int:
        """Number of backtest paths, ``φ[N, k] = k/N · C(N, k) = C(N−1, k−1)`` (AFML §12.4.1)."""
        return math.comb(self.n_groups - 1, self.n_test_groups - 1)

    def combinations(self) -> list[tuple[int, ...]]:
        """Test-group combinations in split order (``itertools.combinations``)."""
        return list(itertools.combinations(range(self.n_groups), self.n_test_groups))

    def path_splits(self) -> np.ndarray:
        """Split supplying each group of each path, shape ``(n_paths, n_groups)``.

        Entry ``[p, g]`` is the number of the ``p``-th split (in split order) whose test set
        contains group ``g``; each split's group appears in exactly one path, so each path
        is a full out-of-sample history over all groups (AFML §12.4.2).
        """
        out = np.full((self.n_paths, self.n_groups), -1, np.int64)
        seen = np.zeros(self.n_groups, np.int64)
        for s, combo in enumerate(self.combinations()):
            for g in combo:
                out[seen[g], g] = s
                seen[g] += 1
        return out

    def groups(self, n_events: int) -> list[np.ndarray]:
        """Event positions of each group for ``n_events`` events (contiguous, ``array_split``)."""
        if n_events < self.n_groups:
            raise ValueError(f"cannot split {n_events} events into {self.n_groups} groups")
        return [g.astype(np.int64) for g in np.array_split(np.arange(n_events), self.n_groups)]

    def split(self, t0: np.ndarray, t1: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` for each of the ``C(N, k)`` splits.

        Parameters
        ----------
        t0, t1 : numpy.ndarray
            ``int64`` label start and end (ns) of each event, sorted by ``t0``.

        Yields
        ------
        tuple of numpy.ndarray
            Sorted ``int64`` training and test positions.
        """
        t0, t1 = _check_times(t0, t1)
        groups = self.groups(t0.size)
        for combo in self.combinations():
            test = np.concatenate([groups[g] for g in combo])
            mask = purged_train_mask(t0, t1, test, self.embargo_pct, self.quarantine_ns)
            yield np.flatnonzero(mask).astype(np.int64), test

    def assemble_paths(self, predictions: Sequence[np.ndarray], n_events: int) -> np.ndarray:
        """Assemble per-split test predictions into the ``φ`` backtest paths (AFML §12.4.2).

        Parameters
        ----------
        predictions : sequence of numpy.ndarray
            One array per split, in split order, aligned with that split's ``test_idx``.
        n_events : int
            Number of events.

        Returns
        -------
        numpy.ndarray
            ``float64`` array ``(n_paths, n_events)``: row ``p`` is path ``p``'s
            out-of-sample prediction for every event.
        """
        if len(predictions) != self.get_n_splits():
            raise ValueError(f"need {self.get_n_splits()} prediction arrays, got {len(predictions)}")
        groups = self.groups(n_events)
        combos = self.combinations()
        out = np.full((self.n_paths, n_events), np.nan)
        for p, row in enumerate(self.path_splits()):
            for g, s in enumerate(row):
                pred = np.asarray(predictions[s], dtype=np.float64)
                sizes = [groups[h].size for h in combos[s]]
                if pred.shape != (sum(sizes),):
                    raise ValueError(f"split {s}: expected {sum(sizes)} predictions, got shape {pred.shape}")
                off = sum(sizes[: combos[s].index(g)])
                out[p, groups[g]] = pred[off : off + groups[g].size]
        return out
