"""``mmsim report``: one self-contained HTML page (and PNG charts) for a sweep in a results file.

:func:`build_report` reads a results file read-only (:func:`experiments.store.open_for_query`,
so it also works while a sweep is writing it) and writes into ``out``:

``index.html``
    One page that opens with no network: CSS and the few lines of vanilla JavaScript are inline
    and every chart is an inline base64 PNG. Sections: the sweep's summary and reproducibility
    metadata; a heat-map of the objective over two swept parameters (a ``<select>`` picks the
    pair); equity and inventory curves of the top trials; the distribution of the objective;
    the cost breakdown (``cost_*`` metrics) of the top trials; risk alerts on a timeline; the
    overfitting checks of :func:`experiments.overfit.sweep_overfitting_report` with its plain
    sentence; and a table of all trials, sortable by clicking a column header.
``*.png``
    The same charts as files (``heatmap_<i>_<a>__<b>.png``, ``curves.png``,
    ``objective_hist.png``, ``costs.png``, ``alerts.png``).

The output is deterministic for a given results file: no time stamps other than the sweep's
own, fixed figure sizes and DPI, PNGs written without the ``Software`` metadata entry, trials
ordered by ``trial_index`` / ``trial_id``. Every piece of text that comes from the database is
HTML-escaped.

Heat-map cells are the **mean** objective of the finished trials at that pair of values
(averaged over every other parameter and over replicates); the cell count is printed when it
is more than one. The overfitting checks are fed per-trial PnL series resampled on a common
1 s clock from the ``equity`` table (last value at or before each tick; increments of the
mark-to-mid equity per second).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ReportError", "TOP_N", "build_report", "pnl_series_1s"]

TOP_N = 5
"""Number of top trials whose curves and cost breakdowns are drawn."""

DPI = 100
SPLITS = (16, 8, 4)
"""CSCV block counts tried in turn for the PBO (the first that works is reported)."""
_CHART_NAMES = {"curves.png", "objective_hist.png", "costs.png", "alerts.png"}
_NS = 1_000_000_000

# trials columns that are bookkeeping, not parameters
_TRIAL_META = {
    "sweep_id", "trial_id", "trial_index", "strategy_kind", "params", "replicate", "seed",
    "status", "wall_s", "error", "traceback", "finished_at", "config_sha256", "code_revision",
    "code_dirty", "data_sha256", "package_versions", "host",
}


class ReportError(ValueError):
    """The results file cannot be reported on (no such sweep, no tables)."""


# -- data --------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: Any, table: str) -> list[str]:
    try:
        rel = con.sql(f"SELECT * FROM {_q(table)} LIMIT 0")
    except Exception:  # noqa: BLE001 - a missing table or view is simply absent
        return []
    return list(rel.columns)


def _rows(con: Any, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql, list(params))
    return [d[0] for d in cur.description], cur.fetchall()


def _load(con: Any, sweep_id: str | None) -> dict[str, Any]:
    if not _columns(con, "sweeps"):
        raise ReportError("no sweeps table: not an mmsim results file, or no sweep was started")
    if sweep_id is None:
        names, rows = _rows(con, "SELECT * FROM sweeps ORDER BY created_at DESC, sweep_id LIMIT 1")
    else:
        names, rows = _rows(con, "SELECT * FROM sweeps WHERE sweep_id = ?", [sweep_id])
    if not rows:
        raise ReportError(f"no sweep {sweep_id!r}" if sweep_id else "the file holds no sweep")
    sweep = dict(zip(names, rows[0], strict=True))
    sid = sweep["sweep_id"]

    tcols = _columns(con, "trials")
    mcols = [c for c in _columns(con, "metrics") if c not in ("sweep_id", "trial_id")]
    trials: list[dict[str, Any]] = []
    if tcols:
        sel = ", ".join(f"t.{_q(c)}" for c in tcols)
        msel = "".join(f", m.{_q(c)} AS {_q('m:' + c)}" for c in mcols)
        join = " LEFT JOIN metrics m USING (sweep_id, trial_id)" if mcols else ""
        names, rows = _rows(
            con, f"SELECT {sel}{msel} FROM trials t{join} WHERE t.sweep_id = ? "
                 "ORDER BY t.trial_index, t.trial_id", [sid])
        for row in rows:
            rec = dict(zip(names, row, strict=True))
            trial = {k: v for k, v in rec.items() if not k.startswith("m:")}
            trial["metrics"] = {k[2:]: _num(v) for k, v in rec.items() if k.startswith("m:")}
            trials.append(trial)

    # parameters: the keys of the params JSON (else the non-bookkeeping trials columns)
    param_names: list[str] = []
    for t in trials:
        try:
            keys = list(json.loads(t.get("params") or "{}"))
        except (TypeError, ValueError):
            keys = []
        for k in keys:
            if k not in param_names:
                param_names.append(k)
    # in the trials table's column order ([venue] then [strategy], as in the file)
    param_names = [c for c in tcols if c in param_names] + [
        p for p in param_names if p not in tcols]
    if not param_names:
        param_names = [c for c in tcols if c not in _TRIAL_META]
    swept = [p for p in param_names
             if p in tcols and len({_key(t.get(p)) for t in trials}) > 1]
    if "replicate" in tcols and len({t.get("replicate") for t in trials}) > 1:
        rep_axis = True
    else:
        rep_axis = False

    objective = sweep.get("objective") or "pnl_per_1k_notional"
    if objective not in mcols:
        objective = "pnl_per_1k_notional" if "pnl_per_1k_notional" in mcols else "pnl"
    direction = sweep.get("direction") or "maximize"

    equity: dict[str, np.ndarray] = {}
    if _columns(con, "equity"):
        cols = con.execute(
            "SELECT trial_id, ts_ns::DOUBLE AS ts, coalesce(equity, 'NaN'::DOUBLE) AS eq, "
            "coalesce(q, 'NaN'::DOUBLE) AS q FROM equity WHERE sweep_id = ? "
            "ORDER BY trial_id, ts_ns", [sid]).fetchnumpy()
        tids = np.asarray(cols["trial_id"], dtype=object)
        if len(tids):
            block = np.column_stack([np.asarray(cols[c], dtype=np.float64)
                                     for c in ("ts", "eq", "q")])
            starts = np.flatnonzero(np.r_[True, tids[1:] != tids[:-1]])
            for a, b in zip(starts, np.r_[starts[1:], len(tids)], strict=True):
                equity[str(tids[a])] = block[a:b]

    alerts: list[dict[str, Any]] = []
    if _columns(con, "alerts"):
        names, rows = _rows(
            con, 'SELECT trial_id, ts_ns, monitor, metric, value, "limit", action FROM alerts '
                 "WHERE sweep_id = ? ORDER BY ts_ns, trial_id, monitor, metric", [sid])
        alerts = [dict(zip(names, r, strict=True)) for r in rows]

    return {"sweep": sweep, "trials": trials, "metric_names": mcols, "params": param_names,
            "swept": swept, "rep_axis": rep_axis, "objective": objective,
            "direction": direction, "equity": equity, "alerts": alerts}


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _key(v: Any) -> Any:
    """Hashable, order-stable key of a parameter value."""
    if isinstance(v, float) and math.isnan(v):
        return ("nan",)
    if isinstance(v, list | dict):
        return json.dumps(v, sort_keys=True)
    return v


def _sort_values(values: Sequence[Any]) -> list[Any]:
    def k(v: Any) -> tuple:
        if isinstance(v, bool) or v is None:
            return (0, str(v))
        if isinstance(v, int | float):
            return (1, float(v), "")
        return (2, 0.0, str(v))

    return sorted(set(values), key=k)


def _ranked(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Finished trials with a finite objective, best first (ties by trial_id)."""
    obj, sign = data["objective"], (-1.0 if data["direction"] != "minimize" else 1.0)
    done = [t for t in data["trials"] if t.get("status") == "done"
            and math.isfinite(t["metrics"].get(obj, math.nan))]
    return sorted(done, key=lambda t: (sign * t["metrics"][obj], str(t["trial_id"])))


def pnl_series_1s(equity: Mapping[str, np.ndarray], trial_ids: Sequence[str]
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-trial PnL per second on one common 1 s clock.

    Parameters
    ----------
    equity : mapping of str to ndarray
        ``trial_id`` → rows ``(ts_ns, equity, q)`` in time order (the ``equity`` table).
    trial_ids : sequence of str
        Trials to include (those without equity rows are left out).

    Returns
    -------
    ticks : ndarray of int64
        The clock: whole seconds (ns) from the first second at or after the earliest sample
        to the latest sample of any trial.
    pnl : dict of str to ndarray
        ``trial_id`` → equity increments between consecutive ticks (``len(ticks) - 1``
        values); equity at a tick is the last sample at or before it (the first sample before
        a trial's first row), so every series has the same length.
    """
    ids = [t for t in trial_ids if t in equity and len(equity[t])]
    if not ids:
        return np.zeros(0, np.int64), {}
    start = min(int(equity[t][0, 0]) for t in ids)
    end = max(int(equity[t][-1, 0]) for t in ids)
    first = -(-start // _NS) * _NS
    ticks = np.arange(first, end + 1, _NS, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for t in ids:
        ts = equity[t][:, 0].astype(np.int64)
        eq = np.nan_to_num(equity[t][:, 1], nan=0.0)
        idx = np.clip(np.searchsorted(ts, ticks, side="right") - 1, 0, len(ts) - 1)
        out[t] = np.diff(eq[idx])
    return ticks, out


# -- charts ------------------------------------------------------------------------------------


def _figure(w: float, h: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _t(v: Any) -> str:
    """Text from the database for a matplotlib label: ``$`` would start mathtext."""
    return _fmt_val(v).replace("$", r"\$")


def _fmt_val(v: Any) -> str:
    if isinstance(v, float):
        return "NULL" if math.isnan(v) else f"{v:.6g}"
    return "NULL" if v is None else str(v)


def _heatmap(data: Mapping[str, Any], a: str, b: str) -> bytes:
    obj = data["objective"]
    xs = _sort_values([_key(t.get(a)) for t in data["trials"]])
    ys = _sort_values([_key(t.get(b)) for t in data["trials"]])
    sums = np.zeros((len(ys), len(xs)))
    counts = np.zeros((len(ys), len(xs)), dtype=np.int64)
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for t in data["trials"]:
        v = t["metrics"].get(obj, math.nan)
        if t.get("status") != "done" or not math.isfinite(v):
            continue
        i, j = yi[_key(t.get(b))], xi[_key(t.get(a))]
        sums[i, j] += v
        counts[i, j] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    fig = _figure(8.0, 5.5)
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(grid)
    cmap = "viridis_r" if data["direction"] == "minimize" else "viridis"
    im = ax.imshow(masked, aspect="auto", origin="lower", cmap=cmap, interpolation="nearest")
    fig.colorbar(im, ax=ax, label=_t(f"mean {obj}"))
    ax.set_xticks(range(len(xs)), [_t(v) for v in xs], rotation=45 if len(xs) > 6 else 0)
    ax.set_yticks(range(len(ys)), [_t(v) for v in ys])
    ax.set_xlabel(_t(a))
    ax.set_ylabel(_t(b))
    ax.set_title(_t(f"{obj} over {a} × {b}"))
    if grid.size <= 144:
        finite = grid[np.isfinite(grid)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for i in range(len(ys)):
            for j in range(len(xs)):
                if counts[i, j]:
                    label = f"{grid[i, j]:.3g}" + (f"\n(n={counts[i, j]})" if counts[i, j] > 1 else "")
                    dark = (grid[i, j] < mid) != (data["direction"] == "minimize")
                    ax.text(j, i, label, ha="center", va="center", fontsize=8,
                            color="white" if dark else "black")
                else:
                    ax.text(j, i, "—", ha="center", va="center", fontsize=8, color="grey")
    return _png(fig)


def _curves(data: Mapping[str, Any], top: Sequence[dict[str, Any]]) -> bytes | None:
    eq = data["equity"]
    shown = [t for t in top if t["trial_id"] in eq and len(eq[t["trial_id"]])]
    if not shown:
        return None
    t0 = min(eq[t["trial_id"]][0, 0] for t in shown)
    fig = _figure(10.0, 6.5)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    for rank, t in enumerate(shown, 1):
        arr = eq[t["trial_id"]]
        x = (arr[:, 0] - t0) / _NS
        label = f"#{rank} {t['trial_id'][:8]}"
        ax1.plot(x, arr[:, 1], lw=1.2, label=label)
        ax2.plot(x, arr[:, 2], lw=1.0, label=label, drawstyle="steps-post")
    ax1.set_ylabel("equity (quote, marked to mid)")
    ax1.set_title(_t(f"top {len(shown)} trials by {data['objective']}"))
    ax1.legend(loc="best", fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("inventory q (base)")
    ax2.set_xlabel("seconds since the first sample")
    ax2.axhline(0.0, color="grey", lw=0.6)
    ax2.grid(alpha=0.3)
    return _png(fig)


def _hist(data: Mapping[str, Any]) -> bytes | None:
    obj = data["objective"]
    vals = np.array([t["metrics"].get(obj, math.nan) for t in data["trials"]
                     if t.get("status") == "done"])
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return None
    fig = _figure(8.0, 4.0)
    ax = fig.add_subplot()
    bins = int(min(50, max(5, math.ceil(math.sqrt(vals.size)) * 2)))
    ax.hist(vals, bins=bins, color="#4c72b0", edgecolor="white")
    best = vals.max() if data["direction"] != "minimize" else vals.min()
    ax.axvline(best, color="#c44e52", lw=1.5, label=f"best {best:.4g}")
    ax.axvline(float(np.median(vals)), color="#555555", lw=1.0, ls="--",
               label=f"median {float(np.median(vals)):.4g}")
    ax.set_xlabel(_t(obj))
    ax.set_ylabel("trials")
    ax.set_title(_t(f"distribution of {obj} over {vals.size} finished trials"))
    ax.legend(fontsize=8)
    return _png(fig)


def _cost_columns(data: Mapping[str, Any]) -> list[str]:
    return sorted(c for c in data["metric_names"] if c.startswith("cost_"))


def _costs(data: Mapping[str, Any], top: Sequence[dict[str, Any]], cols: Sequence[str]) -> bytes:
    fig = _figure(10.0, 5.0)
    ax = fig.add_subplot()
    x = np.arange(len(top))
    pos = np.zeros(len(top))
    neg = np.zeros(len(top))
    cmap = _cmap("tab20")
    for k, c in enumerate(cols):
        v = np.nan_to_num(np.array([t["metrics"].get(c, math.nan) for t in top]), nan=0.0)
        base = np.where(v >= 0, pos, neg)
        ax.bar(x, v, bottom=base, color=cmap(k % 20), label=_t(c.removeprefix("cost_")), width=0.6)
        pos += np.where(v >= 0, v, 0.0)
        neg += np.where(v < 0, v, 0.0)
    net = np.array([t["metrics"].get("pnl", math.nan) for t in top])
    ax.scatter(x, net, color="black", marker="D", zorder=3, label="net pnl")
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_xticks(x, [f"#{i + 1} {t['trial_id'][:8]}" for i, t in enumerate(top)])
    ax.set_ylabel("quote currency")
    ax.set_title("cost breakdown of the top trials (cost_* metrics)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(fig)


def _cmap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


def _alerts_chart(data: Mapping[str, Any]) -> bytes:
    alerts = data["alerts"]
    t0s = [a["ts_ns"] for a in alerts if a["ts_ns"] is not None]
    eq_starts = [arr[0, 0] for arr in data["equity"].values() if len(arr)]
    t0 = min(eq_starts) if eq_starts else (min(t0s) if t0s else 0)
    lanes = _sort_values([f"{a['monitor']}/{a['metric']}" for a in alerts])
    actions = _sort_values([str(a["action"]) for a in alerts])
    cmap = _cmap("tab10")
    fig = _figure(10.0, max(2.5, 1.0 + 0.45 * len(lanes)))
    ax = fig.add_subplot()
    for k, act in enumerate(actions):
        pts = [a for a in alerts if str(a["action"]) == act and a["ts_ns"] is not None]
        ax.scatter([(a["ts_ns"] - t0) / _NS for a in pts],
                   [lanes.index(f"{a['monitor']}/{a['metric']}") for a in pts],
                   color=cmap(k % 10), marker="|", s=300, linewidths=2, label=_t(act))
    ax.set_yticks(range(len(lanes)), [_t(x) for x in lanes])
    ends = [arr[-1, 0] for arr in data["equity"].values() if len(arr)]
    if ends:  # the whole replay, not just the span of the alerts
        ax.set_xlim(-0.02 * (max(ends) - t0) / _NS, 1.02 * (max(ends) - t0) / _NS)
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlabel("seconds since the first sample")
    ax.set_title(f"{len(alerts)} risk alert(s) (colour: action)")
    ax.legend(fontsize=8, title="action")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


# -- overfitting -------------------------------------------------------------------------------


def _overfitting(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"ok": True, "result": dict, "n": int, "T": int}`` or ``{"ok": False, "reason": str}``."""
    try:
        from experiments.overfit import sweep_overfitting_report
    except Exception as exc:  # noqa: BLE001 - any import failure leaves a placeholder
        return {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
    done = [t["trial_id"] for t in data["trials"] if t.get("status") == "done"]
    _, pnl = pnl_series_1s(data["equity"], done)
    # a constant series (a trial that never held inventory while the mid moved) has no
    # Sharpe ratio: leave it out and say so
    dropped = sorted(t for t, x in pnl.items() if len(x) < 2 or float(np.std(x)) == 0.0)
    pnl = {t: x for t, x in pnl.items() if t not in dropped}
    if len(pnl) < 2:
        return {"ok": False, "reason": f"needs at least 2 finished trials whose PnL per second "
                                       f"varies (this sweep has {len(pnl)}; "
                                       f"{len(dropped)} constant left out)"}
    n_obs = len(next(iter(pnl.values())))
    errors = []
    for n_splits in SPLITS:  # fewer CSCV blocks when a half of a combination is constant
        try:
            result = sweep_overfitting_report(pnl, n_splits=n_splits)
            break
        except Exception as exc:  # noqa: BLE001 - shown on the page instead of failing the report
            errors.append(f"{type(exc).__name__}: {exc}")
    else:
        return {"ok": False, "reason": "; ".join(dict.fromkeys(errors))}
    return {"ok": True, "result": dict(result), "n": len(pnl), "T": n_obs,
            "n_splits": n_splits, "dropped": dropped, "ids": list(pnl)}


def _sentence(result: Mapping[str, Any]) -> str | None:
    for k in ("sentence", "interpretation", "summary", "text", "message", "plain"):
        if isinstance(result.get(k), str):
            return result[k]
    strs = [v for v in result.values() if isinstance(v, str) and " " in v]
    return max(strs, key=len) if strs else None


def _json_safe(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return _fmt_val(float(v))
    if isinstance(v, np.integer):
        return str(int(v))
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, Mapping | list | tuple):
        text = json.dumps(v, default=str, sort_keys=isinstance(v, Mapping))
        return text if len(text) <= 400 else text[:400] + " …"
    return str(v)


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#263238;color:#fff;padding:16px 28px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cfd8dc}
nav{padding:8px 28px;background:#eceff1;font-size:14px}nav a{margin-right:14px;color:#1e4f7a}
main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:12px 18px;
margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f0f3f5}
td.l,th.l{text-align:left}
.meta td{text-align:left;white-space:normal;word-break:break-all}
.meta td:first-child{text-align:left;font-weight:600;background:#f7f9fa;white-space:nowrap;
word-break:normal}
.scroll{overflow-x:auto;max-width:100%}
img.chart{max-width:100%;height:auto;display:block}
.note{color:#555;font-style:italic}
.sentence{font-size:16px;background:#fff8e1;border-left:4px solid #ffb300;padding:8px 12px}
#trials th{cursor:pointer;user-select:none;position:sticky;top:0}
#trials th.asc::after{content:" \\25B2"}#trials th.desc::after{content:" \\25BC"}
tr.failed td{color:#b71c1c}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;font-size:12px}
"""

_JS = """
(function () {
  var sel = document.getElementById('pair');
  if (sel) {
    var show = function () {
      var imgs = document.querySelectorAll('img.heatmap');
      for (var i = 0; i < imgs.length; i++) {
        imgs[i].hidden = imgs[i].getAttribute('data-pair') !== sel.value;
      }
    };
    sel.addEventListener('change', show);
    show();
  }
  var table = document.getElementById('trials');
  if (!table) { return; }
  var heads = table.tHead.rows[0].cells;
  var body = table.tBodies[0];
  var key = function (cell) {
    var v = cell.getAttribute('data-v');
    if (v === null) { v = cell.textContent; }
    var x = parseFloat(v);
    return (v !== '' && isFinite(v) && !isNaN(x)) ? [0, x, ''] : [v === '' ? 2 : 1, 0, v];
  };
  var cmp = function (a, b) {
    if (a[0] === 0) { return a[1] - b[1]; }
    return a[2] < b[2] ? -1 : (a[2] > b[2] ? 1 : 0);
  };
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('asc');
      Array.prototype.forEach.call(heads, function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(asc ? 'asc' : 'desc');
      var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
        return {row: r, k: key(r.cells[col]), i: i};
      });
      rows.sort(function (a, b) {
        if (a.k[0] !== b.k[0]) { return a.k[0] - b.k[0]; }
        var c = cmp(a.k, b.k);
        if (!asc) { c = -c; }
        return c !== 0 ? c : a.i - b.i;
      });
      rows.forEach(function (r) { body.appendChild(r.row); });
    });
  });
})();
"""


def _e(v: Any) -> str:
    return html.escape(_fmt_val(v) if not isinstance(v, str) else v, quote=True)


def _img(png: bytes, alt: str, extra: str = "") -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<img class="chart{(" " + extra) if extra else ""}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{b64}"')


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)[:40] or "x"


def _json_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, list):
        return v
    try:
        out = json.loads(v)
    except (TypeError, ValueError):
        return [v]
    return out if isinstance(out, list) else [out]


def _summary_html(data: Mapping[str, Any]) -> str:
    s, trials = data["sweep"], data["trials"]
    n_done = sum(t.get("status") == "done" for t in trials)
    n_failed = sum(t.get("status") == "failed" for t in trials)
    n_planned = s.get("n_trials")
    revs = sorted({str(t.get("code_revision")) for t in trials if t.get("code_revision")})
    dirty = any(bool(t.get("code_dirty")) for t in trials)
    trial_hashes = sorted({json.dumps(_json_list(t.get("data_sha256"))) for t in trials
                           if t.get("data_sha256") is not None})
    pkgs = next((t.get("package_versions") for t in trials if t.get("package_versions")), None)
    ranked = _ranked(data)
    best = ranked[0] if ranked else None
    rows: list[tuple[str, str]] = [
        ("name", _e(s.get("name"))),
        ("sweep_id", _e(s.get("sweep_id"))),
        ("status", _e(s.get("status"))),
        ("method", _e(s.get("method") or "grid") + " (backend " + _e(s.get("backend") or "local")
         + ")"),
        ("objective", _e(data["objective"]) + " (" + _e(data["direction"]) + ")"),
        ("trials", f"{len(trials)} stored of {_e(n_planned)} planned: {n_done} done, "
                   f"{n_failed} failed, {len(trials) - n_done - n_failed} other"),
        ("replicates", _e(s.get("replicates"))),
        ("root seed", _e(s.get("root_seed"))),
        ("swept parameters", _e(", ".join(data["swept"]) or "none")),
        ("strategy", _e(f"{s.get('strategy_kind')} ({s.get('strategy_class')})")),
        ("data", _e(f"{s.get('data_format')}, symbol {s.get('symbol')}")),
        ("data files", "<br>".join(_e(p) for p in _json_list(s.get("data_paths")))),
        ("data sha256", "<br>".join(_e(h) for h in _json_list(s.get("data_sha256")))),
        ("config", _e(s.get("config_path")) + "<br>sha256 " + _e(s.get("config_sha256"))),
        ("code version", _e(s.get("code_version"))),
        ("code revision", _e(", ".join(revs) or "unknown") + (" (dirty working tree)" if dirty else "")),
        ("created / finished", _e(s.get("created_at")) + " / " + _e(s.get("finished_at"))),
    ]
    if len(trial_hashes) > 1:
        rows.append(("data sha256 per trial", "differs between trials: " + _e("; ".join(trial_hashes))))
    if pkgs:
        rows.append(("packages", _e(pkgs if isinstance(pkgs, str) else json.dumps(pkgs, sort_keys=True))))
    if best is not None:
        shown = ", ".join(f"{p}={_fmt_val(best.get(p))}" for p in data["swept"])
        rows.append(("best trial", _e(f"{best['trial_id']} ({shown}): {data['objective']} = "
                                      f"{_fmt_val(best['metrics'][data['objective']])}")))
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in rows)
    toml = s.get("config_toml")
    extra = (f"<details><summary>sweep file</summary><pre>{_e(toml)}</pre></details>"
             if toml else "")
    return f'<table class="meta">{body}</table>{extra}'


def _trials_table(data: Mapping[str, Any]) -> str:
    trials = data["trials"]
    params = [p for p in data["params"] if p in data["swept"]] or [
        p for p in data["params"] if trials and p in trials[0]][:6]
    metrics = list(data["metric_names"])
    obj = data["objective"]
    if obj in metrics:
        metrics.remove(obj)
        metrics.insert(0, obj)
    cols: list[tuple[str, str, bool]] = [("trial_index", "#", False), ("trial_id", "trial_id", True)]
    cols += [(p, p, isinstance(trials[0].get(p) if trials else None, str)) for p in params]
    if data["rep_axis"]:
        cols.append(("replicate", "replicate", False))
    cols += [("status", "status", True)]
    head = "".join(f'<th class="{"l" if left else ""}">{html.escape(label)}</th>'
                   for _, label, left in cols)
    head += "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    head += '<th>wall_s</th><th class="l">error</th>'
    rows = []
    for t in trials:
        cells = []
        for c, _, left in cols:
            v = t.get(c)
            dv = "" if v is None or (isinstance(v, float) and math.isnan(v)) else _fmt_val(v)
            cells.append(f'<td class="{"l" if left else ""}" data-v="{html.escape(dv)}">{_e(v)}</td>')
        for m in metrics:
            v = t["metrics"].get(m, math.nan) if t.get("status") == "done" else math.nan
            dv = repr(float(v)) if math.isfinite(v) else ""
            cells.append(f'<td data-v="{dv}">{"" if not math.isfinite(v) else _e(v)}</td>')
        w = _num(t.get("wall_s"))
        cells.append(f'<td data-v="{repr(w) if math.isfinite(w) else ""}">'
                     f'{f"{w:.2f}" if math.isfinite(w) else ""}</td>')
        err = t.get("error") or ""
        cells.append(f'<td class="l">{html.escape(err[:200])}</td>')
        cls = ' class="failed"' if t.get("status") == "failed" else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<p class="note">{len(trials)} trial(s); click a column header to sort '
            f'(again to reverse).</p><div class="scroll"><table id="trials"><thead><tr>{head}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _alerts_table(alerts: Sequence[Mapping[str, Any]], limit: int = 200) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("trial_id", "time (ns)", "monitor", "metric",
                                             "value", "limit", "action"))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=l' if k in ('trial_id', 'monitor', 'metric', 'action') else ''}>"
                         f"{_e(a.get(k))}</td>"
                         for k in ("trial_id", "ts_ns", "monitor", "metric", "value", "limit", "action"))
        + "</tr>" for a in alerts[:limit])
    more = (f'<p class="note">first {limit} of {len(alerts)} alerts shown</p>'
            if len(alerts) > limit else "")
    return f'<div class="scroll"><table>{"<thead><tr>" + head + "</tr></thead>"}{body}</table></div>{more}'


def build_report(results: str | Path, out: str | Path, sweep_id: str | None = None) -> Path:
    """Write ``out/index.html`` and the chart PNGs for one sweep of a results file.

    Parameters
    ----------
    results : str or Path
        DuckDB results file (opened read-only; the Parquet parts are read if a sweep holds
        the file's lock).
    out : str or Path
        Output directory (created).
    sweep_id : str or None, default None
        The sweep; ``None`` picks the most recently created one.

    Returns
    -------
    Path
        The ``index.html`` written.

    Raises
    ------
    ReportError
        If the file holds no sweeps table or no such sweep.
    FileNotFoundError
        If ``results`` does not exist.
    """
    from experiments.store import open_for_query

    results = Path(results)
    if not results.is_file():
        raise FileNotFoundError(f"{results}: results file not found")
    con, _ = open_for_query(results)
    try:
        data = _load(con, sweep_id)
    finally:
        con.close()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    charts: dict[str, bytes] = {}
    ranked = _ranked(data)
    top = ranked[:TOP_N]
    obj = data["objective"]
    sections: list[tuple[str, str, str]] = []  # (anchor, title, html)

    sections.append(("summary", "Summary", _summary_html(data)))

    # heat-maps
    pairs = list(itertools.combinations(data["swept"], 2))
    if pairs:
        options, imgs = [], []
        for i, (a, b) in enumerate(pairs):
            name = f"heatmap_{i}_{_slug(a)}__{_slug(b)}.png"
            charts[name] = _heatmap(data, a, b)
            options.append(f'<option value="{i}">{html.escape(a)} × {html.escape(b)}</option>')
            imgs.append(_img(charts[name], f"heat-map of {obj} over {a} and {b}", "heatmap")
                        + f' data-pair="{i}"' + (" hidden" if i else "") + ">")
        body = (f'<p><label for="pair">parameters: </label><select id="pair">{"".join(options)}'
                f'</select> <span class="note">cell = mean {html.escape(obj)} of the finished '
                f"trials at that pair of values (over other parameters and replicates)</span></p>"
                + "".join(imgs))
    elif len(data["swept"]) == 1:
        body = (f'<p class="note">only one swept parameter ({html.escape(data["swept"][0])}): '
                "a heat-map needs two; see the table of trials below.</p>")
    else:
        body = '<p class="note">no swept parameters: a heat-map needs two.</p>'
    sections.append(("heatmap", f"Heat-map of {obj}", body))

    png = _curves(data, top)
    if png is not None:
        charts["curves.png"] = png
        body = _img(png, "equity and inventory curves of the top trials") + ">"
    else:
        body = '<p class="note">no equity curves stored for the finished trials.</p>'
    sections.append(("curves", "Equity and inventory of the top trials", body))

    png = _hist(data)
    if png is not None:
        charts["objective_hist.png"] = png
        body = _img(png, f"distribution of {obj}") + ">"
    else:
        body = f'<p class="note">no finished trial has a finite {html.escape(obj)}.</p>'
    sections.append(("distribution", f"Distribution of {obj}", body))

    cost_cols = _cost_columns(data)
    if cost_cols and top:
        charts["costs.png"] = _costs(data, top, cost_cols)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cost_cols)
        rows = "".join(
            f'<tr><td class="l">#{i + 1} {_e(t["trial_id"])}</td>'
            + "".join(f"<td>{_e(t['metrics'].get(c, math.nan))}</td>" for c in cost_cols)
            + f"<td>{_e(t['metrics'].get('pnl', math.nan))}</td></tr>"
            for i, t in enumerate(top))
        body = (_img(charts["costs.png"], "cost breakdown of the top trials") + ">"
                + f'<div class="scroll"><table><thead><tr><th class="l">trial</th>{head}'
                  f"<th>pnl</th></tr></thead><tbody>{rows}</tbody></table></div>")
    elif cost_cols:
        body = '<p class="note">no finished trial to break down.</p>'
    else:
        body = ('<p class="note">no cost breakdown: the metrics table has no <code>cost_*</code> '
                "columns for this sweep (recorded by newer mmsim versions).</p>")
    sections.append(("costs", "Cost breakdown", body))

    if data["alerts"]:
        charts["alerts.png"] = _alerts_chart(data)
        body = _img(charts["alerts.png"], "risk alerts on a timeline") + ">" + _alerts_table(
            data["alerts"])
    else:
        body = '<p class="note">no alerts: no risk monitor reported a breach in this sweep.</p>'
    sections.append(("alerts", "Risk alerts", body))

    of = _overfitting(data)
    if of["ok"]:
        res = of["result"]
        sentence = _sentence(res)
        per_trial = {k: v for k, v in res.items() if isinstance(v, Mapping)
                     and v and set(map(str, v)) <= set(of["ids"])}
        scalars = {k: v for k, v in res.items() if k not in per_trial
                   and not (isinstance(v, str) and v == sentence)}
        rows = "".join(f'<tr><td class="l">{html.escape(str(k))}</td><td class="l">'
                       f"{html.escape(_json_safe(v))}</td></tr>"
                       for k, v in sorted(scalars.items(), key=lambda kv: str(kv[0])))
        table = ""
        if per_trial:
            keys = sorted(per_trial)
            head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
            table = (f'<div class="scroll"><table><thead><tr><th class="l">trial_id</th>{head}'
                     "</tr></thead><tbody>" + "".join(
                         f'<tr><td class="l">{_e(t)}</td>' + "".join(
                             f"<td>{html.escape(_json_safe(per_trial[k].get(t, '')))}</td>"
                             for k in keys) + "</tr>" for t in of["ids"]) + "</tbody></table></div>")
        body = ((f'<p class="sentence">{html.escape(sentence)}</p>' if sentence else "")
                + f'<p class="note">{of["n"]} finished trials, PnL per second on a common 1 s '
                  f'clock ({of["T"]} observations each, from the equity table); PBO by CSCV '
                  f'with {of["n_splits"]} blocks.'
                + (f' Left out (constant PnL, Sharpe ratio undefined): {len(of["dropped"])} '
                   f'trial(s): {html.escape(", ".join(of["dropped"]))}.' if of["dropped"] else "")
                + "</p>"
                + f'<table class="meta">{rows}</table>' + table)
    else:
        body = (f'<p class="sentence">overfitting checks unavailable: '
                f'{html.escape(of["reason"])}</p>')
    sections.append(("overfitting", "Overfitting checks", body))

    sections.append(("all-trials", "All trials", _trials_table(data)))

    for old in out.glob("*.png"):  # charts of an earlier report into the same directory
        if old.name.startswith("heatmap_") or old.name in _CHART_NAMES:
            old.unlink()
    for name, png in charts.items():
        (out / name).write_bytes(png)
    s = data["sweep"]
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in sections)
    parts = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{b}</section>'
                    for a, t, b in sections)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>mmsim report: {_e(s.get('name'))} ({_e(s.get('sweep_id'))})</title>"
        "<link rel=\"icon\" href=\"data:,\">"
        f"<style>{_CSS}</style></head><body>"
        f"<header><h1>Sweep {_e(s.get('name'))}</h1><p>sweep_id {_e(s.get('sweep_id'))} · "
        f"{_e(s.get('status'))} · objective {_e(obj)} ({_e(data['direction'])}) · "
        f"{len(data['trials'])} trials</p></header>"
        f"<nav>{nav}</nav><main>{parts}</main>"
        f"<script>{_JS}</script></body></html>\n"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
