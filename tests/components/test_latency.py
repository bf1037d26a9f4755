"""Order latency models (components/latency.py): hand-worked interpolation, seeded draws, files.

The recorded model follows hftbacktest 2.4's ``IntpOrderLatency``: entry latency at local time
``t`` interpolates ``exch_ts − req_ts`` over ``req_ts`` (clamped outside the rows), the float
result truncated towards zero; a row with ``exch_ts <= 0`` marks a rejection (negative result,
minus the interpolated ``resp_ts − req_ts``); response latency interpolates ``resp_ts − exch_ts``
over ``exch_ts``. The numbers below are worked by hand from that rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from components.latency import (
    Z_99,
    ConstantLatency,
    LognormalLatency,
    RecordedLatency,
    RequestKind,
    fit_lognormal,
    load_order_latency,
)

NEW, MODIFY, CANCEL = RequestKind.NEW, RequestKind.MODIFY, RequestKind.CANCEL
# rows: entry latencies 100, 300, 150; response latencies 150, 200, 350
REQ = [0, 1000, 3000]
EXCH = [100, 1300, 3150]
RESP = [250, 1500, 3500]


@pytest.mark.parametrize(
    ("t", "want"),
    [
        (-5, 100),  # before the first row: its latency
        (0, 100),
        (500, 200),  # 100 + 200/1000 * 500
        (1000, 300),
        (1001, 300),  # 300 + trunc(-150/2000 * 1) = 300 + trunc(-0.075) = 300 (not 299)
        (2000, 225),  # 300 - 150/2000 * 1000
        (2999, 151),  # 300 + trunc(-149.925) = 300 - 149
        (3000, 150),  # at the last row: its latency
        (9000, 150),
    ],
)
def test_recorded_entry_interpolates_like_hftbacktest(t, want):
    assert RecordedLatency(REQ, EXCH, RESP).entry(t, NEW) == want


@pytest.mark.parametrize(("u", "want"), [(50, 150), (100, 150), (700, 175), (1300, 200), (2225, 275), (4000, 350)])
def test_recorded_response_interpolates_over_exchange_time(u, want):
    """(100, 150) → (1300, 200): at 700, 150 + 50/1200·600 = 175; (1300, 200) → (3150, 350): at 2225, 275."""
    assert RecordedLatency(REQ, EXCH, RESP).response(u, NEW) == want


def test_recorded_exchange_time_zero_is_a_rejection():
    """exch_ts = 0 on row 1: between rows 0 and 1 the result is −interp(resp − req): at 500,
    −(200 + 200/1000·500) = −300; between rows 1 and 2 at 1500, −(400 − 100/1000·500) = −350."""
    lat = RecordedLatency([0, 1000, 2000], [100, 0, 2100], [200, 1400, 2300])
    assert lat.entry(500, NEW) == -300
    assert lat.entry(1500, NEW) == -350
    assert lat.entry(2500, NEW) == 100
    # the response curve skips the rejected row: (100, 100) → (2100, 200)
    assert lat.response(1100, NEW) == 150


def test_recorded_model_checks_its_rows():
    with pytest.raises(ValueError, match="row 2: req_ts decreases"):
        RecordedLatency([0, 10, 5], [1, 11, 6], [2, 12, 7], source="lat.csv")
    with pytest.raises(ValueError, match="row 1: negative latency"):
        RecordedLatency([0, 10], [1, 9], [2, 12], source="lat.csv")
    with pytest.raises(ValueError, match="no latency rows"):
        RecordedLatency([], [], [])


def test_load_csv_and_hftbacktest_npz(tmp_path):
    """A CSV with a header, and an .npz holding hftbacktest's OrderLatencyRow layout (with its
    padding field), load to the same model."""
    csv = tmp_path / "lat.csv"
    lines = "".join(f"{a},{b},{c}\n" for a, b, c in zip(REQ, EXCH, RESP, strict=True))
    csv.write_text("req_ts,exch_ts,resp_ts\n" + lines)
    rows = np.zeros(3, dtype=[("req_ts", "i8"), ("exch_ts", "i8"), ("resp_ts", "i8"), ("_padding", "i8")])
    rows["req_ts"], rows["exch_ts"], rows["resp_ts"] = REQ, EXCH, RESP
    npz = tmp_path / "lat.npz"
    np.savez_compressed(npz, data=rows)
    for path in (csv, npz):
        lat = load_order_latency(path)
        assert [lat.entry(t, NEW) for t in (500, 2999)] == [200, 151]
        assert lat.response(700, NEW) == 175


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("req_ts,exch_ts\n1,2\n")
    with pytest.raises(ValueError, match=r"bad\.csv: missing column\(s\) resp_ts"):
        load_order_latency(bad)
    with pytest.raises(ValueError, match="latency file not found"):
        load_order_latency(tmp_path / "nope.csv")
    other = tmp_path / "x.parquet"
    other.write_text("")
    with pytest.raises(ValueError, match="unknown extension"):
        load_order_latency(other)


def test_constant_per_kind():
    lat = ConstantLatency(entry_ns=5, response_ns=7, modify_entry_ns=3, cancel_entry_ns=2)
    assert [lat.entry(0, k) for k in (NEW, MODIFY, CANCEL)] == [5, 3, 2]
    assert ConstantLatency(entry_ns=5).entry(0, CANCEL) == 5
    with pytest.raises(ValueError):
        ConstantLatency(entry_ns=-1)


def _lognormal(seed: int, **kw) -> LognormalLatency:
    params = dict(entry_median_ns=1_000_000, entry_p99_ns=5_000_000, response_median_ns=2_000_000,
                  response_p99_ns=2_000_000)  # fmt: skip
    params.update(kw)
    return LognormalLatency(np.random.default_rng(seed), **params)


def test_lognormal_same_seed_same_draws_other_seed_other_draws():
    a, b, c = _draws(1), _draws(1), _draws(2)
    assert a == b
    assert a != c
    assert len(set(a)) > 40  # draws, not a constant


def _draws(seed: int, n: int = 50) -> list[int]:
    lat = _lognormal(seed)
    return [lat.entry(0, NEW) for _ in range(n)]


def test_lognormal_hits_its_median_and_p99():
    """Empirical quantiles of 200k draws match the parameters (the defining property); a
    response with p99 == median is a constant."""
    lat = _lognormal(7)
    x = np.array([lat.entry(0, NEW) for _ in range(200_000)], dtype=float)
    assert np.median(x) == pytest.approx(1_000_000, rel=0.01)
    assert np.quantile(x, 0.99) == pytest.approx(5_000_000, rel=0.03)
    assert {lat.response(0, NEW) for _ in range(10)} == {2_000_000}
    assert Z_99 == pytest.approx(2.3263478740408408)


def test_lognormal_cancel_median_and_errors():
    lat = _lognormal(3, cancel_median_ns=200_000)
    x = np.array([lat.entry(0, CANCEL) for _ in range(50_000)], dtype=float)
    assert np.median(x) == pytest.approx(200_000, rel=0.02)
    assert np.quantile(x, 0.99) == pytest.approx(1_000_000, rel=0.05)  # the entry's tail ratio, 5
    with pytest.raises(ValueError, match="median <= p99"):
        _lognormal(0, entry_p99_ns=10)
    assert _lognormal(0, entry_median_ns=0, entry_p99_ns=0).entry(0, NEW) == 0


def test_fit_lognormal_recovers_the_parameters_it_was_drawn_with():
    """Draw 100k latencies with median 2 ms and p99 9 ms; the fit gives them back within 1–2 %."""
    lat = _lognormal(11, entry_median_ns=2_000_000, entry_p99_ns=9_000_000)
    med, p99 = fit_lognormal([lat.entry(0, NEW) for _ in range(100_000)])
    assert med == pytest.approx(2_000_000, rel=0.01)
    assert p99 == pytest.approx(9_000_000, rel=0.02)
    with pytest.raises(ValueError, match="all > 0"):
        fit_lognormal([1, 0])
