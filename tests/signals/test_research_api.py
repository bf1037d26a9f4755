"""The research API end to end on a long real series: Binance ETH/USDT 5-minute candles (10 weeks)."""

from pathlib import Path

import numpy as np
import pytest

from signals.api import FeatureConfig, ModelConfig, SignalDataConfig, load_data, make_features, walk_forward
from signals.labels import daily_vol, triple_barrier_labels
from signals.weights import average_uniqueness

CANDLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_spot_ohlcv_freqtrade"


def test_cpu_training_run_on_recorded_candles(tmp_path):
    """load_data → make_features → triple barrier → uniqueness → walk-forward XGBoost, all on CPU."""
    path = CANDLES / "ETH_USDT-5m_20250520_20250731.csv.gz"
    if not path.exists():
        pytest.skip(f"recorded candles not found: {path}")
    data = load_data(SignalDataConfig(source="binance_candles", paths=(str(path),)))
    bars = data.bars
    assert bars.size == 21_024
    names, X = make_features(FeatureConfig(microstructure=False, breaks=False, entropy=False), {"bars": bars})
    ts = bars["ts_close_ns"].astype(np.int64)
    close = bars["close"].astype(np.float64)
    vol = daily_vol(ts, close, span=100)
    events = np.flatnonzero(np.isfinite(vol) & (vol > 0))[::6]  # one event every 30 minutes
    labels = triple_barrier_labels(ts, close, events, vol, 1.0, 1.0, 6 * 3600 * 10**9)
    w = average_uniqueness(labels["t0_idx"], labels["t1_idx"])
    t0, t1 = labels["t0"].astype(np.int64), labels["t1"].astype(np.int64)
    cfg = ModelConfig(kind="xgboost", n_estimators=50, n_splits=5, embargo_pct=0.01)

    pred = walk_forward(cfg, X[labels["t0_idx"]], labels["label"], w, t0, t1, cache_dir=tmp_path)
    done = np.isfinite(pred)
    assert done.sum() > 0.5 * pred.size
    y = labels["label"][done]
    hit = np.mean(np.sign(pred[done])[y != 0] == y[y != 0])
    assert 0.3 < hit < 0.7  # an honest out-of-sample number on efficient-market data, not a fit
    again = walk_forward(cfg, X[labels["t0_idx"]], labels["label"], w, t0, t1, cache_dir=tmp_path)
    assert np.array_equal(pred, again, equal_nan=True)  # CPU training is reproducible (and cached)
