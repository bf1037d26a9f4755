"""``mmsim report``: one self-contained HTML page (and PNG charts) for a sweep in a results file.

:func:`build_report` reads a results file read-only (:func:`experiments.store.open_for_query`,
so it also works while a sweep is writing it) and writes into ``out``:

``index.html``
    One page that opens with no network, rendered from the Jinja2 template
    ``experiments/templates/report.html.j2`` (autoescape on: every value from the database is
    escaped by the template engine). Its charts are interactive Plotly figures (hover, zoom,
    pick trials in the legend or a menu) drawn by the plotly.js bundle of the ``plotly``
    package, inlined; each chart's static PNG is inlined too (under "static image"), so the
    file is complete without JavaScript. Sections: the sweep's summary and reproducibility
    metadata; a heat-map of the objective over two swept parameters (a ``<select>`` picks
    the pair); desk equity and inventory curves of the top trials; the distribution of the
    objective; the PnL waterfall of the top trials (spread capture → fees → slippage →
    bribes → funding → net); for a sweep with a ``[chain]`` table, the inclusion probability
    against the bribe (:func:`inclusion_section`: the curve fitted on the recorded fee data drawn
    over the binned recorded points, or the configured logistic curve); risk alerts on a
    timeline; the overfitting checks of
    :func:`experiments.overfit.sweep_overfitting_report`; and a table of all trials,
    sortable by clicking a column header.
``*.png``
    The same charts as files (``heatmap_<i>_<a>__<b>.png``, ``curves.png``,
    ``objective_hist.png``, ``waterfall.png``, ``inclusion_<i>.png``, ``alerts.png``).

The output is deterministic for a given results file: no time stamps other than the sweep's
own, fixed figure sizes and DPI, PNGs written without the ``Software`` metadata entry, trials
ordered by ``trial_index`` / ``trial_id``.

Heat-map cells are the **mean** objective of the finished trials at that pair of values
(averaged over every other parameter and over replicates). The overfitting checks use each
finished trial's full-resolution equity at the sweep's metric interval (the
``equity_samples`` table; files written before it existed fall back to the thinned
``equity`` table on a 1 s clock, and the page says so), and count every finished trial in the
number of trials N, flat ones (no PnL at all) with a Sharpe ratio of 0.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ReportError", "TOP_N", "build_report", "inclusion_section", "pnl_on_clock", "pnl_series_1s",
           "waterfall_rows"]

TOP_N = 5
"""Number of top trials whose curves and waterfalls are shown at first."""
MORE_CURVES = 15
"""Further trials (by rank) whose curves can be switched on in the interactive chart."""

DPI = 100
SPLITS = (16, 8, 4, 2)
"""CSCV block counts tried in turn for the PBO (the first that works is reported)."""
_CHART_NAMES = {"curves.png", "objective_hist.png", "costs.png", "waterfall.png", "alerts.png"}
_NS = 1_000_000_000
TEMPLATE = "report.html.j2"
"""The page template, in ``experiments/templates``."""

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

    samples: dict[str, np.ndarray] = {}
    if _columns(con, "equity_samples"):
        cols = con.execute(
            "SELECT trial_id, ts_ns::DOUBLE AS ts, coalesce(equity, 'NaN'::DOUBLE) AS eq "
            "FROM equity_samples WHERE sweep_id = ? ORDER BY trial_id, ts_ns", [sid]).fetchnumpy()
        tids = np.asarray(cols["trial_id"], dtype=object)
        if len(tids):
            block = np.column_stack([np.asarray(cols[c], dtype=np.float64) for c in ("ts", "eq")])
            starts = np.flatnonzero(np.r_[True, tids[1:] != tids[:-1]])
            for a, b in zip(starts, np.r_[starts[1:], len(tids)], strict=True):
                samples[str(tids[a])] = block[a:b]

    alerts: list[dict[str, Any]] = []
    if _columns(con, "alerts"):
        names, rows = _rows(
            con, 'SELECT trial_id, ts_ns, monitor, metric, value, "limit", action FROM alerts '
                 "WHERE sweep_id = ? ORDER BY ts_ns, trial_id, monitor, metric", [sid])
        alerts = [dict(zip(names, r, strict=True)) for r in rows]

    from experiments.datacheck import stored_problems

    currencies = sorted({str(t["pnl_currency"]) for t in trials if t.get("pnl_currency")})
    return {"sweep": sweep, "trials": trials, "metric_names": mcols, "params": param_names,
            "swept": swept, "rep_axis": rep_axis, "objective": objective,
            "direction": direction, "equity": equity, "samples": samples, "alerts": alerts,
            "pnl_currency": " / ".join(currencies) or "quote currency",
            "data_problems": [str(p) for p in stored_problems(con, sid)]}


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


def _idle(t: Mapping[str, Any]) -> bool:
    """A finished trial without a single fill (``n_fills = 0``)."""
    return t["metrics"].get("n_fills", math.nan) == 0


def _ranked(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Finished trials with a finite objective, best first (ties by trial_id); trials without
    a fill after every trial that traded (an idle quoter is never the best trial)."""
    obj, sign = data["objective"], (-1.0 if data["direction"] != "minimize" else 1.0)
    done = [t for t in data["trials"] if t.get("status") == "done"
            and math.isfinite(t["metrics"].get(obj, math.nan))]
    return sorted(done, key=lambda t: (_idle(t), sign * t["metrics"][obj], str(t["trial_id"])))


def pnl_series_1s(equity: Mapping[str, np.ndarray], trial_ids: Sequence[str]
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-trial PnL per second on one common 1 s clock: :func:`pnl_on_clock` at 1 s."""
    return pnl_on_clock(equity, trial_ids, _NS)


def pnl_on_clock(equity: Mapping[str, np.ndarray], trial_ids: Sequence[str], interval_ns: int
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-trial PnL per interval on one common clock of whole multiples of ``interval_ns``.

    Parameters
    ----------
    equity : mapping of str to ndarray
        ``trial_id`` → rows ``(ts_ns, equity, ...)`` in time order (the ``equity`` or the
        ``equity_samples`` table).
    trial_ids : sequence of str
        Trials to include (those without equity rows are left out).
    interval_ns : int
        Clock period, ns.

    Returns
    -------
    ticks : ndarray of int64
        The clock: whole multiples of ``interval_ns`` from the first one at or after the
        earliest sample to the latest sample of any trial.
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
    interval_ns = int(interval_ns)
    first = -(-start // interval_ns) * interval_ns
    ticks = np.arange(first, end + 1, interval_ns, dtype=np.int64)
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


def _waterfall_steps(t: Mapping[str, Any]) -> list[tuple[str, str, float]] | None:
    """The signed waterfall steps of a trial from its ``cost_*`` metrics (None without them)."""
    from components.performance import waterfall

    m = t["metrics"]
    if not math.isfinite(m.get("cost_net_pnl", math.nan)):
        return None
    return waterfall({k[5:]: v for k, v in m.items() if k.startswith("cost_")})


def waterfall_rows(results: str | Path, sweep_id: str | None = None) -> dict[str, list[tuple[str, str, float]]]:
    """The PnL waterfall of every finished trial of a sweep, as the report draws it.

    Parameters
    ----------
    results : str or Path
        DuckDB results file.
    sweep_id : str or None, default None
        The sweep; ``None``: the latest one.

    Returns
    -------
    dict of str to list of (key, label, value)
        ``trial_id`` → :func:`components.performance.waterfall` of its ``cost_*`` metrics
        (signed steps, then ``("net_pnl", "net PnL", net)``); trials without them are absent.
    """
    from experiments.store import open_for_query

    con, _ = open_for_query(Path(results))
    try:
        data = _load(con, sweep_id)
    finally:
        con.close()
    out = {}
    for t in data["trials"]:
        steps = _waterfall_steps(t) if t.get("status") == "done" else None
        if steps is not None:
            out[str(t["trial_id"])] = steps
    return out


def _waterfall_png(rows: Sequence[tuple[str, list[tuple[str, str, float]]]], currency: str) -> bytes:
    n = len(rows)
    fig = _figure(min(5.0 * n, 20.0), 4.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (label, steps) in zip(axes, rows, strict=True):
        shown = [s for s in steps[:-1] if s[2] != 0.0]
        run = 0.0
        for i, (_, _name, v) in enumerate(shown):
            ax.bar(i, v, bottom=run, color="#2e7d32" if v >= 0 else "#c62828", width=0.7)
            ax.text(i, run + max(v, 0.0), f"{v:+.3g}", ha="center", va="bottom", fontsize=7)
            run += v
        net = steps[-1][2]
        ax.bar(len(shown), net, color="#455a64", width=0.7)
        ax.text(len(shown), max(net, 0.0), f"{net:.3g}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(shown) + 1), [_t(s[1]) for s in shown] + ["net PnL"], rotation=60,
                      ha="right", fontsize=7)
        ax.axhline(0.0, color="grey", lw=0.6)
        ax.set_title(_t(label), fontsize=9)
    axes[0].set_ylabel(f"{currency} (+ adds, − costs)")
    return _png(fig)


# -- inclusion probability vs bribe (sweeps with a [chain] table; issue 15) ----------------------

INCLUSION_BINS = 10
"""Bribe bins (quantiles of the recorded rows) of the inclusion section, as ``python -m venues.inclusion``."""
_P_SHOWN = 0.999  # the x axis ends a little past where the curve (and the data) reach this
_POINTS_LABEL = "recorded, binned (bar: bin; dot: its rows' mean bribe, area ∝ rows)"


def _chain_params(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The sweep file's ``[chain]`` table and each trial's resolved chain settings.

    A trial's value of chain field ``x`` is its parameter ``chain_x`` (the column name when
    another table has a field of the same name) or ``x``, from the trial's ``params`` JSON (its
    own columns, whatever other sweeps of the file used); failing that the file's scalar value,
    then the :class:`venues.chain.ChainConfig` default. Relative paths from the file resolve
    against the sweep file's folder, as :func:`experiments.config.load_sweep` does.
    """
    try:
        raw = tomllib.loads(data["sweep"].get("config_toml") or "")
    except (tomllib.TOMLDecodeError, TypeError):
        return {}, []
    table = raw.get("chain")
    if not isinstance(table, dict):
        return {}, []
    import attrs

    from venues.chain import ChainConfig

    fields = attrs.fields_dict(ChainConfig)
    base = Path(str(data["sweep"].get("config_path") or ".")).parent
    names = ("inclusion", "inclusion_a", "inclusion_b", "fee_data_path", "competitor_fee_scale")
    out = []
    for t in data["trials"]:
        try:
            params = json.loads(t.get("params") or "{}")
        except (TypeError, ValueError):
            params = {}
        params = params if isinstance(params, dict) else {}
        row = {"trial_id": t.get("trial_id")}
        for n in names:
            if f"chain_{n}" in params:
                v = params[f"chain_{n}"]
            elif n in params:
                v = params[n]
            elif n in table and not isinstance(table[n], list | dict):
                v = table[n]
                if n == "fee_data_path" and isinstance(v, str):
                    v = str((base / v).resolve())
            else:
                v = fields[n].default
            row[n] = v
        out.append(row)
    return table, out


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _x_end(a: float, b: float, *more: float) -> float:
    """End of the x axis: 25 % past where p(x) reaches :data:`_P_SHOWN` (and past ``more``)."""
    x = (_logit(_P_SHOWN) - a) / b if b > 0 else 0.0
    x = max([x, *more, 0.0])
    return 1.25 * x if x > 0 else 1.0


def _fit_entry(path: str | None, scales: Mapping[float, list[str]]) -> dict[str, Any]:
    """The fit on one fee-data file and its binned recorded points, for each fee scale used."""
    import hashlib

    from venues.chain import DEFAULT_FEE_DATA, load_fee_data
    from venues.inclusion import fit_inclusion_model, inclusion_curve, inclusion_dataset_from_blocks

    shown = str(path) if path is not None else f"{DEFAULT_FEE_DATA} (bundled default)"
    entry: dict[str, Any] = {"source": shown, "error": None}
    try:
        file = Path(path) if path is not None else DEFAULT_FEE_DATA
        if file.is_file():
            entry["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
        txs = load_fee_data(path)
        ds = inclusion_dataset_from_blocks(txs, fee="effective")
        fit = fit_inclusion_model(ds.bribes, ds.included)
        bins = inclusion_curve(ds, fit, INCLUSION_BINS)
    except Exception as exc:  # noqa: BLE001 - a missing/invalid file or fitting library: said on the page
        entry["error"] = f"{type(exc).__name__}: {exc}"
        return entry
    blocks = sorted(ds.marginal)
    entry.update(
        a=fit.a, b=fit.b, n=fit.n, n_included=fit.n_included, log_likelihood=fit.log_likelihood,
        method=fit.method, n_blocks=len(blocks), first_block=blocks[0], last_block=blocks[-1],
        n_txs=int(len(txs)), unit=ds.unit,
        bins=[{"lo": float(r["lo"]), "hi": float(r["hi"]), "n": int(r["n"]),
               "empirical": float(r["empirical"]), "fitted": float(r["fitted"]),
               "mean_bribe": float(r["mean_bribe"])} for r in bins],
        scales=[{"k": float(k), "b": fit.b / float(k), "modes": ", ".join(m)} for k, m in sorted(scales.items())],
    )
    return entry


def inclusion_section(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the report's inclusion section shows for a loaded sweep; ``None`` without ``[chain]``.

    Trials whose chain used ``inclusion = "fitted"`` or ``"auction"`` are grouped by fee-data
    file and ``competitor_fee_scale``; each file is fitted here exactly as the chain fits it at
    trial start (:meth:`venues.chain.Chain.fitted_model`: :func:`venues.chain.load_fee_data`,
    :func:`venues.inclusion.inclusion_dataset_from_blocks` with ``fee="effective"``,
    :func:`venues.inclusion.fit_inclusion_model`) and binned by
    :func:`venues.inclusion.inclusion_curve` (:data:`INCLUSION_BINS` quantile bins, the table
    ``python -m venues.inclusion`` prints). With a fee scale ``k`` the chain sees recorded fees
    × ``k``, i.e. ``p(x) = 1/(1 + exp(−(a + (b/k)·x)))``. Trials with ``inclusion = "logistic"``
    are grouped by their configured ``(inclusion_a, inclusion_b)`` (bribe in quote units per
    transaction; no data behind them).

    Parameters
    ----------
    data : mapping
        The loaded sweep (``_load``): ``sweep`` (its ``config_toml`` and ``config_path``) and
        ``trials`` (their ``params`` JSON).

    Returns
    -------
    dict or None
        ``{"fits": [...], "configured": [...]}``: per fee-data file its ``source``, ``sha256``,
        ``a``, ``b`` (per gwei/gas of effective priority fee), ``n`` rows, ``n_blocks``,
        ``bins`` (``lo``, ``hi`` in gwei/gas, ``n``, ``empirical``, ``fitted``), ``scales`` (each
        ``k`` with the slope ``b/k`` the chain used and the inclusion modes of its trials), or an
        ``error`` text when the file cannot be read or fitted now; per configured curve ``a``,
        ``b`` and ``n_trials``. ``None`` when the sweep file has no ``[chain]`` table.
    """
    table, rows = _chain_params(data)
    if not table and not rows:
        return None
    fitted: dict[str | None, dict[float, dict[str, int]]] = {}
    configured: dict[tuple[float, float], int] = {}
    for r in rows:
        mode = str(r["inclusion"])
        if mode in ("fitted", "auction"):
            k = _num(r["competitor_fee_scale"])
            modes = fitted.setdefault(r["fee_data_path"], {}).setdefault(k if math.isfinite(k) else 1.0, {})
            modes[mode] = modes.get(mode, 0) + 1
        else:
            key = (_num(r["inclusion_a"]), _num(r["inclusion_b"]))
            configured[key] = configured.get(key, 0) + 1
    fits = []
    for path in sorted(fitted, key=lambda p: (p is not None, str(p))):
        scales = {k: [f"inclusion = {m!r} ({c} trial{'s' if c != 1 else ''})" for m, c in sorted(ms.items())]
                  for k, ms in fitted[path].items()}
        fits.append(_fit_entry(path, scales))
    conf = [{"a": a, "b": b, "n_trials": n} for (a, b), n in sorted(configured.items())]
    return {"fits": fits, "configured": conf}


def _inclusion_png(entry: Mapping[str, Any]) -> bytes:
    """The fitted curve over the binned recorded points (one colour per fee scale)."""
    from venues.inclusion import inclusion_probability_array

    fig = _figure(8.0, 4.6)
    ax = fig.add_subplot()
    cmap = _cmap("tab10")
    bins = entry["bins"]
    x_end = 0.0
    for i, sc in enumerate(entry["scales"]):
        k, b = sc["k"], sc["b"]
        low = [r["hi"] * k for r in bins if r["empirical"] < _P_SHOWN]
        end = min(_x_end(entry["a"], b, *low), bins[-1]["hi"] * k) if bins else _x_end(entry["a"], b)
        x_end = max(x_end, end)
        xs = np.linspace(0.0, end, 400)
        lab = f"fit: a = {entry['a']:.4f}, b = {b:.4f}" + (f" (fees × {k:g})" if k != 1.0 else "")
        ax.plot(xs, inclusion_probability_array(xs, entry["a"], b), color=cmap(i % 10), lw=1.8, label=_t(lab))
        total = max(1, sum(r["n"] for r in bins))
        for j, r in enumerate(bins):
            lo, hi = r["lo"] * k, min(r["hi"] * k, end)
            if lo >= end:
                continue
            ax.hlines(r["empirical"], lo, hi, color=cmap(i % 10), lw=3, alpha=0.35)
            ax.scatter([r["mean_bribe"] * k], [r["empirical"]], s=20 + 400 * r["n"] / total, color=cmap(i % 10),
                       edgecolor="black", linewidth=0.5, zorder=3,
                       label=_POINTS_LABEL if i == 0 and j == 0 else None)
    ax.set_xlim(0.0, x_end if x_end > 0 else 1.0)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("bribe x: effective priority fee (tip + coinbase transfer per gas), gwei/gas")
    ax.set_ylabel("P(included)")
    ax.set_title(_t(f"inclusion vs bribe, fitted on {Path(entry['source'].split(' (')[0]).name}"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _inclusion_fig(entry: Mapping[str, Any]) -> dict[str, Any]:
    from venues.inclusion import inclusion_probability_array

    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    traces: list[dict[str, Any]] = []
    bins = entry["bins"]
    x_end = 0.0
    for i, sc in enumerate(entry["scales"]):
        k, b, c = sc["k"], sc["b"], colors[i % len(colors)]
        low = [r["hi"] * k for r in bins if r["empirical"] < _P_SHOWN]
        end = min(_x_end(entry["a"], b, *low), bins[-1]["hi"] * k) if bins else _x_end(entry["a"], b)
        x_end = max(x_end, end)
        xs = np.linspace(0.0, end, 200)
        name = f"fit: a = {entry['a']:.4f}, b = {b:.4f}" + (f" (fees × {k:g})" if k != 1.0 else "")
        traces.append({"type": "scatter", "mode": "lines", "name": _label(name), "line": {"color": c, "width": 2},
                       "x": np.round(xs, 6).tolist(),
                       "y": np.round(inclusion_probability_array(xs, entry["a"], b), 6).tolist(),
                       "hovertemplate": "x=%{x:.4g} gwei/gas<br>p=%{y:.4f}<extra>fit</extra>"})
        seg_x: list[float | None] = []
        seg_y: list[float | None] = []
        mid_x, mid_y, text, size = [], [], [], []
        total = max(1, sum(r["n"] for r in bins))
        for r in bins:
            lo, hi = r["lo"] * k, r["hi"] * k
            if lo >= end:
                continue
            seg_x += [lo, min(hi, end), None]
            seg_y += [r["empirical"], r["empirical"], None]
            mid_x.append(r["mean_bribe"] * k)
            mid_y.append(r["empirical"])
            text.append(f"bribe {lo:.4g}–{hi:.4g} gwei/gas (mean {r['mean_bribe'] * k:.4g}): {r['n']} rows, "
                        f"observed {r['empirical']:.3f}, fitted {r['fitted']:.3f}")
            size.append(6 + 30 * math.sqrt(r["n"] / total))
        traces.append({"type": "scatter", "mode": "lines", "x": seg_x, "y": seg_y, "showlegend": False,
                       "hoverinfo": "skip", "line": {"color": c, "width": 6}, "opacity": 0.35})
        traces.append({"type": "scatter", "mode": "markers", "name": "recorded, binned", "x": mid_x, "y": mid_y,
                       "text": text, "marker": {"color": c, "size": size, "line": {"color": "black", "width": 0.5}},
                       "hovertemplate": "%{text}<extra></extra>"})
    layout = {**_LAYOUT, "height": 420,
              "title": {"text": _label(f"inclusion vs bribe, fitted on {Path(entry['source'].split(' (')[0]).name}")},
              "xaxis": {"title": {"text": "bribe: effective priority fee, gwei/gas"},
                        "range": [0.0, x_end if x_end > 0 else 1.0]},
              "yaxis": {"title": {"text": "P(included)"}, "range": [-0.03, 1.03]}}
    return {"data": traces, "layout": layout}


def _configured_png(conf: Sequence[Mapping[str, Any]]) -> bytes:
    from venues.inclusion import inclusion_probability_array

    end = max(_x_end(c["a"], c["b"]) for c in conf)
    xs = np.linspace(0.0, end, 400)
    fig = _figure(8.0, 4.0)
    ax = fig.add_subplot()
    for c in conf:
        ax.plot(xs, inclusion_probability_array(xs, c["a"], c["b"]), lw=1.8,
                label=_t(f"a = {c['a']:g}, b = {c['b']:g} ({c['n_trials']} trials)"))
    ax.set_xlim(0.0, end)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("bribe, quote units per transaction")
    ax.set_ylabel("P(included)")
    ax.set_title('configured inclusion (inclusion = "logistic"): not fitted, no recorded data')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _configured_fig(conf: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    from venues.inclusion import inclusion_probability_array

    end = max(_x_end(c["a"], c["b"]) for c in conf)
    xs = np.linspace(0.0, end, 200)
    traces = [{"type": "scatter", "mode": "lines", "x": np.round(xs, 6).tolist(),
               "y": np.round(inclusion_probability_array(xs, c["a"], c["b"]), 6).tolist(),
               "name": _label(f"a = {c['a']:g}, b = {c['b']:g} ({c['n_trials']} trials)"),
               "hovertemplate": "bribe %{x:.4g}<br>p=%{y:.4f}<extra></extra>"} for c in conf]
    layout = {**_LAYOUT, "height": 360, "title": {"text": "configured inclusion (logistic): not fitted"},
              "xaxis": {"title": {"text": "bribe, quote units per transaction"}, "range": [0.0, end]},
              "yaxis": {"title": {"text": "P(included)"}, "range": [-0.03, 1.03]}}
    return {"data": traces, "layout": layout}


# -- interactive figures (Plotly JSON; drawn by the inlined plotly.js) ----------------------------


def _js_num(v: Any) -> float | None:
    x = _num(v)
    return x if math.isfinite(x) else None


def _label(v: Any) -> str:
    """Database text for a Plotly label: its pseudo-HTML markup is neutralised."""
    return _fmt_val(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_LAYOUT = {"margin": {"l": 60, "r": 20, "t": 40, "b": 60}, "hovermode": "closest",
           "font": {"family": "system-ui, sans-serif", "size": 12}}


def _heatmap_fig(data: Mapping[str, Any], a: str, b: str) -> dict[str, Any]:
    obj = data["objective"]
    xs = _sort_values([_key(t.get(a)) for t in data["trials"]])
    ys = _sort_values([_key(t.get(b)) for t in data["trials"]])
    sums = np.zeros((len(ys), len(xs)))
    counts = np.zeros((len(ys), len(xs)), dtype=np.int64)
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for t in data["trials"]:
        v = t["metrics"].get(obj, math.nan)
        if t.get("status") == "done" and math.isfinite(v):
            sums[yi[_key(t.get(b))], xi[_key(t.get(a))]] += v
            counts[yi[_key(t.get(b))], xi[_key(t.get(a))]] += 1
    z = [[(float(sums[i, j] / counts[i, j]) if counts[i, j] else None) for j in range(len(xs))]
         for i in range(len(ys))]
    trace = {"type": "heatmap", "z": z, "x": [_label(v) for v in xs], "y": [_label(v) for v in ys],
             "customdata": counts.tolist(), "colorscale": "Viridis",
             "reversescale": data["direction"] == "minimize", "colorbar": {"title": {"text": _label(obj)}},
             "hovertemplate": f"{_label(a)}=%{{x}}<br>{_label(b)}=%{{y}}<br>mean {_label(obj)}=%{{z:.4g}}"
                              "<br>trials=%{customdata}<extra></extra>"}
    layout = {**_LAYOUT, "title": {"text": f"{_label(obj)} over {_label(a)} × {_label(b)}"},
              "xaxis": {"title": {"text": _label(a)}, "type": "category"},
              "yaxis": {"title": {"text": _label(b)}, "type": "category"}, "height": 480}
    return {"data": [trace], "layout": layout}


def _curves_fig(data: Mapping[str, Any], ranked: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    eq = data["equity"]
    shown = [t for t in ranked[:TOP_N + MORE_CURVES] if t["trial_id"] in eq and len(eq[t["trial_id"]])]
    if not shown:
        return None
    t0 = min(eq[t["trial_id"]][0, 0] for t in shown)
    traces = []
    for rank, t in enumerate(shown, 1):
        arr = eq[t["trial_id"]]
        x = np.round((arr[:, 0] - t0) / _NS, 3).tolist()
        params = ", ".join(f"{_label(p)}={_label(t.get(p))}" for p in data["swept"])
        name = f"#{rank} {t['trial_id'][:8]}"
        vis = True if rank <= TOP_N else "legendonly"
        common = {"type": "scatter", "mode": "lines", "x": x, "name": name, "legendgroup": name,
                  "visible": vis, "hovertemplate": f"{name} ({params})<br>t=%{{x}} s<br>%{{y:.4g}}<extra></extra>"}
        traces.append({**common, "y": [_js_num(v) for v in arr[:, 1]], "xaxis": "x", "yaxis": "y"})
        traces.append({**common, "y": [_js_num(v) for v in arr[:, 2]], "xaxis": "x", "yaxis": "y2",
                       "showlegend": False, "line": {"shape": "hv", "width": 1}})
    layout = {**_LAYOUT, "height": 620, "title": {"text": f"best trials by {_label(data['objective'])}"},
              "xaxis": {"title": {"text": "seconds since the first sample"}, "anchor": "y2"},
              "yaxis": {"title": {"text": "desk equity (quote)"}, "domain": [0.42, 1.0]},
              "yaxis2": {"title": {"text": "inventory q (base)"}, "domain": [0.0, 0.36]}}
    return {"data": traces, "layout": layout}


def _hist_fig(data: Mapping[str, Any]) -> dict[str, Any] | None:
    obj = data["objective"]
    vals = [t["metrics"].get(obj, math.nan) for t in data["trials"] if t.get("status") == "done"]
    vals = [v for v in vals if math.isfinite(v)]
    if not vals:
        return None
    best = max(vals) if data["direction"] != "minimize" else min(vals)
    med = float(np.median(vals))
    trace = {"type": "histogram", "x": vals, "marker": {"color": "#4c72b0"}, "name": _label(obj),
             "hovertemplate": "%{x}<br>%{y} trials<extra></extra>"}
    shapes = [{"type": "line", "xref": "x", "yref": "paper", "x0": v, "x1": v, "y0": 0, "y1": 1,
               "line": {"color": c, "dash": d}} for v, c, d in ((best, "#c44e52", "solid"),
                                                                 (med, "#555555", "dash"))]
    layout = {**_LAYOUT, "height": 380, "shapes": shapes, "xaxis": {"title": {"text": _label(obj)}},
              "yaxis": {"title": {"text": "trials"}},
              "title": {"text": f"{len(vals)} finished trials: best {best:.4g}, median {med:.4g}"}}
    return {"data": [trace], "layout": layout}


def _waterfall_fig(rows: Sequence[tuple[str, list[tuple[str, str, float]]]], currency: str) -> dict[str, Any]:
    traces, buttons = [], []
    for i, (label, steps) in enumerate(rows):
        traces.append({
            "type": "waterfall", "name": _label(label), "visible": i == 0,
            "x": [s[1] for s in steps], "y": [s[2] for s in steps[:-1]] + [0.0],
            "measure": ["relative"] * (len(steps) - 1) + ["total"],
            "text": [f"{s[2]:+.4g}" for s in steps[:-1]] + [f"{steps[-1][2]:.4g}"], "textposition": "outside",
            "increasing": {"marker": {"color": "#2e7d32"}}, "decreasing": {"marker": {"color": "#c62828"}},
            "totals": {"marker": {"color": "#455a64"}},
            "hovertemplate": "%{x}: %{text}<extra></extra>"})
        buttons.append({"label": _label(label), "method": "update",
                        "args": [{"visible": [j == i for j in range(len(rows))]}]})
    layout = {**_LAYOUT, "height": 460, "showlegend": False, "yaxis": {"title": {"text": currency}},
              "updatemenus": [{"buttons": buttons, "direction": "down", "x": 0.0, "xanchor": "left",
                               "y": 1.15, "yanchor": "top"}] if len(rows) > 1 else []}
    return {"data": traces, "layout": layout}


def _alerts_fig(data: Mapping[str, Any]) -> dict[str, Any]:
    alerts = data["alerts"]
    eq_starts = [arr[0, 0] for arr in data["equity"].values() if len(arr)]
    t0s = [a["ts_ns"] for a in alerts if a["ts_ns"] is not None]
    t0 = min(eq_starts) if eq_starts else (min(t0s) if t0s else 0)
    traces = []
    for act in _sort_values([str(a["action"]) for a in alerts]):
        pts = [a for a in alerts if str(a["action"]) == act and a["ts_ns"] is not None]
        traces.append({"type": "scatter", "mode": "markers", "name": _label(act),
                       "x": [round((a["ts_ns"] - t0) / _NS, 3) for a in pts],
                       "y": [_label(f"{a['monitor']}/{a['metric']}") for a in pts],
                       "text": [_label(f"{a['trial_id']}: {_fmt_val(a['value'])} vs {_fmt_val(a['limit'])}")
                                for a in pts],
                       "marker": {"symbol": "line-ns-open", "size": 18, "line": {"width": 2}},
                       "hovertemplate": "%{y}<br>t=%{x} s<br>%{text}<extra></extra>"})
    layout = {**_LAYOUT, "height": 320, "xaxis": {"title": {"text": "seconds since the first sample"}},
              "yaxis": {"type": "category"}, "title": {"text": f"{len(alerts)} risk alert(s) (colour: action)"}}
    return {"data": traces, "layout": layout}


def _figures_json(figs: Mapping[str, Any]) -> Any:
    """The figures as JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` as ``\\u`` escapes."""
    from markupsafe import Markup

    text = json.dumps(figs, allow_nan=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


# -- overfitting -------------------------------------------------------------------------------


def _metric_interval_ns(data: Mapping[str, Any]) -> int | None:
    vals = {t["metrics"].get("metric_interval_s") for t in data["trials"] if t.get("status") == "done"}
    vals = {v for v in vals if v is not None and math.isfinite(v) and v > 0}
    return int(round(min(vals) * 1e9)) if vals else None


def _overfitting(data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"ok": True, "result": dict, ...}`` or ``{"ok": False, "reason": str}``."""
    try:
        from experiments.overfit import sweep_overfitting_report
    except Exception as exc:  # noqa: BLE001 - any import failure leaves a placeholder
        return {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
    done = [t["trial_id"] for t in data["trials"] if t.get("status") == "done"]
    n_failed = sum(t.get("status") == "failed" for t in data["trials"])
    interval = _metric_interval_ns(data)
    if data["samples"] and interval is not None:
        _, pnl = pnl_on_clock(data["samples"], done, interval)
        source = (f"full-resolution equity at the sweep's metric interval ({interval / 1e9:g} s, the "
                  "equity_samples table)")
    else:
        interval = _NS
        _, pnl = pnl_series_1s(data["equity"], done)
        source = ("the equity table resampled on a 1 s clock (this results file has no equity_samples: "
                  "its curves are thinned to at most 2,000 rows, so the series are approximate)")
    missing = [t for t in done if t not in pnl]
    if len(pnl) < 2:
        return {"ok": False, "reason": f"needs at least 2 finished trials with an equity curve (this sweep "
                                       f"has {len(pnl)}; {n_failed} failed, {len(missing)} without a curve)"}
    n_obs = len(next(iter(pnl.values())))
    errors = []
    for n_splits in SPLITS:  # fewer CSCV blocks for short series or sparse trials
        try:
            result = sweep_overfitting_report(pnl, n_splits=n_splits)
            break
        except ValueError as exc:
            errors.append(f"with {n_splits} CSCV blocks: {exc}")
            if "constant non-zero" in str(exc) or "flat equity" in str(exc) or "non-finite" in str(exc):
                break
    else:
        return {"ok": False, "reason": f"{len(pnl)} trials × {n_obs} periods of {interval / 1e9:g} s: "
                                       + "; ".join(errors)}
    return {"ok": True, "result": dict(result), "n": len(pnl), "T": n_obs, "n_splits": n_splits,
            "ids": list(pnl), "source": source, "n_failed": n_failed, "missing": missing,
            "interval_s": interval / 1e9}


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


def _overfit_context(data: Mapping[str, Any]) -> dict[str, Any]:
    of = _overfitting(data)
    if not of["ok"]:
        return of
    res = of["result"]
    sentence = res.get("interpretation")
    per_trial = {k: v for k, v in res.items() if isinstance(v, Mapping) and v and set(map(str, v)) <= set(of["ids"])}
    scalars = [(str(k), _json_safe(v)) for k, v in sorted(res.items(), key=lambda kv: str(kv[0]))
               if k not in per_trial and k != "interpretation"]
    keys = sorted(per_trial)
    rows = [(t, [_json_safe(per_trial[k].get(t, "")) for k in keys]) for t in of["ids"]]
    flat = res.get("n_flat", 0)
    note = (f"N = {of['n']} trials tried: every finished trial is counted"
            + (f", {flat} of them with a flat equity curve (no PnL at all) counted with a Sharpe ratio of 0"
               if flat else "")
            + (f"; {of['n_failed']} failed trial(s) have no PnL and are not counted" if of["n_failed"] else "")
            + (f"; {len(of['missing'])} finished trial(s) without an equity curve are not counted"
               if of["missing"] else "")
            + f". Each trial's PnL per period: {of['source']}, {of['T']} observations each (per-period Sharpe"
              f" ratios, not annualised). PBO by CSCV with {of['n_splits']} blocks.")
    return {"ok": True, "sentence": sentence, "note": note, "scalars": scalars, "per_trial": rows,
            "per_trial_keys": keys}


# -- page ---------------------------------------------------------------------------------------


def _b64png(png: bytes, name: str, alt: str) -> dict[str, str]:
    return {"b64": base64.b64encode(png).decode("ascii"), "name": name, "alt": alt}


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


def _summary(data: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    s, trials = data["sweep"], data["trials"]
    n_done = sum(t.get("status") == "done" for t in trials)
    n_failed = sum(t.get("status") == "failed" for t in trials)
    n_idle = sum(t.get("status") == "done" and _idle(t) for t in trials)
    revs = sorted({str(t.get("code_revision")) for t in trials if t.get("code_revision")})
    dirty = any(bool(t.get("code_dirty")) for t in trials)
    trial_hashes = sorted({json.dumps(_json_list(t.get("data_sha256"))) for t in trials
                           if t.get("data_sha256") is not None})
    pkgs = next((t.get("package_versions") for t in trials if t.get("package_versions")), None)
    ranked = _ranked(data)
    interval = _metric_interval_ns(data)
    rows: list[tuple[str, list[str]]] = [
        ("name", [_fmt_val(s.get("name"))]),
        ("sweep_id", [_fmt_val(s.get("sweep_id"))]),
        ("status", [_fmt_val(s.get("status"))]),
        ("method", [f"{s.get('method') or 'grid'} (backend {s.get('backend') or 'local'})"]),
        ("objective", [f"{data['objective']} ({data['direction']})"]),
        ("trials", [f"{len(trials)} stored of {_fmt_val(s.get('n_trials'))} planned: {n_done} done, "
                    f"{n_failed} failed, {len(trials) - n_done - n_failed} other"
                    + (f"; {n_idle} done without a single fill (ranked last)" if n_idle else "")]),
        ("replicates", [_fmt_val(s.get("replicates"))]),
        ("root seed", [_fmt_val(s.get("root_seed"))]),
        ("swept parameters", [", ".join(data["swept"]) or "none"]),
        ("PnL currency", [f"{data['pnl_currency']} (pnl, fees, costs, equity and the waterfall)"]),
        ("metric interval", [f"{interval / 1e9:g} s (Sharpe, Sortino, VaR and the overfitting checks)"
                             if interval else "not recorded (results written by an older mmsim)"]),
        ("strategy", [f"{s.get('strategy_kind')} ({s.get('strategy_class')})"]),
        ("data", [f"{s.get('data_format')}, symbol {s.get('symbol')}"]),
        ("data files", [str(p) for p in _json_list(s.get("data_paths"))]),
        ("data sha256", [str(h) for h in _json_list(s.get("data_sha256"))]),
        ("config", [_fmt_val(s.get("config_path")), f"sha256 {_fmt_val(s.get('config_sha256'))}"]),
        ("code version", [_fmt_val(s.get("code_version"))]),
        ("code revision", [(", ".join(revs) or "unknown") + (" (dirty working tree)" if dirty else "")]),
        ("created / finished", [f"{_fmt_val(s.get('created_at'))} / {_fmt_val(s.get('finished_at'))}"]),
    ]
    if len(trial_hashes) > 1:
        rows.append(("data sha256 per trial", ["differs between trials: " + "; ".join(trial_hashes)]))
    if pkgs:
        rows.append(("packages", [pkgs if isinstance(pkgs, str) else json.dumps(pkgs, sort_keys=True)]))
    if ranked:
        best = ranked[0]
        shown = ", ".join(f"{p}={_fmt_val(best.get(p))}" for p in data["swept"])
        rows.append(("best trial", [f"{best['trial_id']} ({shown}): {data['objective']} = "
                                    f"{_fmt_val(best['metrics'][data['objective']])}"]))
    return rows


def _trials_table(data: Mapping[str, Any]) -> dict[str, Any]:
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
    columns = ([{"label": label, "left": left} for _, label, left in cols]
               + [{"label": m, "left": False} for m in metrics]
               + [{"label": "wall_s", "left": False}, {"label": "error", "left": True}])
    rows = []
    for t in trials:
        cells = []
        for c, _, left in cols:
            v = t.get(c)
            dv = "" if v is None or (isinstance(v, float) and math.isnan(v)) else _fmt_val(v)
            cells.append({"left": left, "key": dv, "text": _fmt_val(v) if not isinstance(v, str) else v})
        for m in metrics:
            v = t["metrics"].get(m, math.nan) if t.get("status") == "done" else math.nan
            fin = math.isfinite(v)
            cells.append({"left": False, "key": repr(float(v)) if fin else "", "text": _fmt_val(v) if fin else ""})
        w = _num(t.get("wall_s"))
        cells.append({"left": False, "key": repr(w) if math.isfinite(w) else "",
                      "text": f"{w:.2f}" if math.isfinite(w) else ""})
        err = (t.get("error") or "")[:200]
        cells.append({"left": True, "key": err, "text": err})
        cls = "failed" if t.get("status") == "failed" else ("idle" if t.get("status") == "done" and _idle(t) else "")
        rows.append({"cls": cls, "cells": cells})
    return {"columns": columns, "rows": rows}


def _render(context: Mapping[str, Any]) -> str:
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    from markupsafe import Markup

    return env.get_template(TEMPLATE).render(**context, plotly_js=Markup(get_plotlyjs()))


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

    charts: dict[str, bytes] = {}
    figs: dict[str, Any] = {}
    ranked = _ranked(data)
    top = ranked[:TOP_N]
    obj = data["objective"]
    ctx: dict[str, Any] = {"sweep": data["sweep"], "objective": obj, "direction": data["direction"],
                           "n_trials": len(data["trials"]), "summary": _summary(data)}

    pairs = list(itertools.combinations(data["swept"], 2))
    ctx["heatmaps"], figs["heatmaps"] = [], []
    for i, (a, b) in enumerate(pairs):
        name = f"heatmap_{i}_{_slug(a)}__{_slug(b)}.png"
        charts[name] = _heatmap(data, a, b)
        ctx["heatmaps"].append({"a": a, "b": b, "png": _b64png(charts[name], name,
                                                              f"heat-map of {obj} over {a} and {b}")})
        figs["heatmaps"].append(_heatmap_fig(data, a, b))
    ctx["heatmap_note"] = (f"only one swept parameter ({data['swept'][0]}): a heat-map needs two; see the "
                           "table of trials below." if len(data["swept"]) == 1
                           else "no swept parameters: a heat-map needs two.")

    ctx["curves"] = None
    png = _curves(data, top)
    fig = _curves_fig(data, ranked)
    if png is not None and fig is not None:
        charts["curves.png"] = png
        figs["curves"] = fig
        n_vis = min(TOP_N, len(fig["data"]) // 2)
        ctx["curves"] = {"png": _b64png(png, "curves.png", "equity and inventory curves of the top trials"),
                         "n_visible": n_vis, "n_more": len(fig["data"]) // 2 - n_vis}

    ctx["hist"] = None
    png = _hist(data)
    if png is not None:
        charts["objective_hist.png"] = png
        figs["hist"] = _hist_fig(data)
        ctx["hist"] = {"png": _b64png(png, "objective_hist.png", f"distribution of {obj}")}

    ctx["waterfall"] = None
    wrows = [(f"#{i + 1} {t['trial_id'][:8]}", t, steps) for i, t in enumerate(top)
             if (steps := _waterfall_steps(t)) is not None]
    if wrows:
        charts["waterfall.png"] = _waterfall_png([(label, steps) for label, _, steps in wrows], data["pnl_currency"])
        figs["waterfall"] = _waterfall_fig([(label, steps) for label, _, steps in wrows], data["pnl_currency"])
        ctx["waterfall"] = {
            "png": _b64png(charts["waterfall.png"], "waterfall.png", "PnL waterfall of the top trials"),
            "labels": [s[1] for s in wrows[0][2][:-1]],
            "rows": [{"trial_id": t["trial_id"], "steps": [s[2] for s in steps[:-1]], "net": steps[-1][2],
                      "residual": sum(s[2] for s in steps[:-1]) - steps[-1][2]} for _, t, steps in wrows]}
        ctx["waterfall_note"] = ""
    elif any(c.startswith("cost_") for c in data["metric_names"]):
        ctx["waterfall_note"] = "no finished trial to break down."
    else:
        ctx["waterfall_note"] = ("no cost breakdown: the metrics table has no cost_* columns for this sweep "
                                 "(recorded by newer mmsim versions).")

    ctx["inclusion"] = None
    section = inclusion_section(data)
    if section is not None:
        figs["inclusion"] = []
        for i, entry in enumerate(section["fits"]):
            entry["png"] = entry["plot"] = None
            if entry["error"] is None and entry["bins"]:
                name = f"inclusion_{i}.png"
                charts[name] = _inclusion_png(entry)
                entry["png"] = _b64png(charts[name], name, f"inclusion probability vs bribe, fit on {entry['source']}")
                entry["plot"] = len(figs["inclusion"])
                figs["inclusion"].append(_inclusion_fig(entry))
        if section["configured"]:
            name = f"inclusion_{len(section['fits'])}.png"
            charts[name] = _configured_png(section["configured"])
            section["configured_png"] = _b64png(charts[name], name, "configured inclusion probability vs bribe")
            section["configured_plot"] = len(figs["inclusion"])
            figs["inclusion"].append(_configured_fig(section["configured"]))
        ctx["inclusion"] = section

    ctx["alerts"] = None
    if data["alerts"]:
        charts["alerts.png"] = _alerts_chart(data)
        figs["alerts"] = _alerts_fig(data)
        limit = 200
        ctx["alerts"] = {"png": _b64png(charts["alerts.png"], "alerts.png", "risk alerts on a timeline"),
                         "rows": [{k: _fmt_val(a.get(k)) for k in ("trial_id", "ts_ns", "monitor", "metric",
                                                                    "value", "limit", "action")}
                                  for a in data["alerts"][:limit]],
                         "more": len(data["alerts"]) > limit, "total": len(data["alerts"])}

    ctx["data_problems"] = data["data_problems"]
    ctx["overfit"] = _overfit_context(data)
    ctx["table"] = _trials_table(data)
    ctx["sections"] = [{"anchor": a, "title": t} for a, t in (
        ("summary", "Summary"), ("data", "Data warnings"), ("heatmap", f"Heat-map of {obj}"),
        ("curves", "Equity and inventory of the top trials"), ("distribution", f"Distribution of {obj}"),
        ("costs", "PnL waterfall"), ("inclusion", "Inclusion vs bribe"), ("alerts", "Risk alerts"),
        ("overfitting", "Overfitting checks"), ("all-trials", "All trials"))
        if a != "inclusion" or ctx["inclusion"] is not None]
    ctx["figures_json"] = _figures_json(figs)
    page = _render(ctx)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):  # charts of an earlier report into the same directory
        if old.name.startswith(("heatmap_", "inclusion_")) or old.name in _CHART_NAMES:
            old.unlink()
    for name, png in charts.items():
        (out / name).write_bytes(png)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
