"""Market-data loaders: vendor files → validated, time-sorted :data:`engine.feed.EVENT_DTYPE`.

One entry point, :func:`load_feed`, driven by a frozen :class:`DataConfig` (the ``[data]`` table
of an experiment TOML). Supported formats:

``binance_ws``
    Binance raw websocket captures (depth diffs + REST snapshot + trades + bookTicker), see
    :mod:`venues.loaders.binance`.
``hyperliquid_archive`` / ``hyperliquid_ws`` / ``hyperliquid_collector``
    Hyperliquid S3 ``l2Book`` archive JSONL, raw websocket lines, collector CSVs, see
    :mod:`venues.loaders.hyperliquid`.
``hftbacktest_npz``
    hftbacktest's structured ``.npz`` event files, see :mod:`venues.loaders.hftbacktest`.
``tardis_csv``
    tardis.dev CSV datasets (``incremental_book_L2``, ``trades``, ``book_snapshot_N``,
    ``quotes``; ``derivative_ticker`` for funding), see :mod:`venues.loaders.tardis`.
``mmsim_events``
    mmsim's own ``.npz`` / ``.parquet`` event files written by ``mmsim data convert``, see
    :mod:`venues.loaders.native`.
``hyperliquid_node_fills`` / ``hyperliquid_node_trades``
    Hyperliquid node data (``node_fills``, ``node_fills_by_block``, ``node_trades``; LZ4 as
    published in the ``hl-mainnet-node-data`` bucket): the trade tape, see
    :mod:`venues.loaders.hyperliquid`.

Any text format may be plain, gzip or LZ4-frame compressed (detected from the first bytes).
Files given out of time order (e.g. a Binance day pair listed newest first) are replayed in
time order, with a warning naming them.

Every load validates what it reads — non-positive/NaN prices and sizes, crossed books,
out-of-order timestamps, duplicate trade ids, broken diff chains — and raises
:class:`DataError` naming the file and line, or records a documented warning. With a
``cache_dir`` the parsed result is cached keyed by the sha256 of the source bytes, the options
and :data:`LOADER_VERSION` (:mod:`venues.loaders.cache`): formats that stream
(:data:`venues.loaders.stream.STREAM_FORMATS`) are parsed chunk by chunk straight into a
memory-mappable ``events.npy`` (bounded memory on long data), the others are parsed in memory
and cached as Parquet.

This package does not replay books (that is :mod:`venues.orderbook`) nor fetch data.

See Also
--------
engine.feed : the event and BBO dtypes.
venues.loaders.book : plain-Python reference book.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import numpy as np
from attrs import validators as v

from venues.loaders._common import (
    DataError,
    Gap,
    Parsed,
    check_crossed,
    file_sha256,
    infer_increment,
    validate,
)

__all__ = [
    "FORMATS",
    "LOADER_VERSION",
    "DataConfig",
    "DataError",
    "Feed",
    "FeedMeta",
    "Gap",
    "load_feed",
    "parse_feed",
]

LOADER_VERSION = "2"
"""Bumped whenever parsing output may change; part of the cache key."""

FORMATS = (
    "binance_ws",
    "hyperliquid_archive",
    "hyperliquid_ws",
    "hyperliquid_collector",
    "hftbacktest_npz",
    "tardis_csv",
    "hyperliquid_node_fills",
    "hyperliquid_node_trades",
    "mmsim_events",
)


def _to_tuple(x):
    if isinstance(x, str | os.PathLike):
        return (os.fspath(x),)
    return tuple(os.fspath(p) for p in x)


@attrs.frozen(kw_only=True)
class DataConfig:
    """Which recorded files to load and how (the ``[data]`` table of a config).

    Attributes
    ----------
    format : str
        Vendor format of every file in ``paths``, one of :data:`FORMATS` (see the module
        docstring).
    paths : tuple of str
        Files replayed in the given order as one stream (e.g. a Binance day pair); absolute or
        relative to the current directory. For ``hyperliquid_collector`` any mix of
        ``orderbooks_*``, ``trades_*`` and ``prices_*`` CSVs (detected by header).
    symbol : str or None, default None
        Instrument to keep (Binance ``s``, Hyperliquid ``coin``); ``None``: the only one present.
    on_gap : {"resync", "stop"}, default "resync"
        Broken Binance diff chain: record a :class:`Gap` and resynchronise on the next snapshot,
        or raise :class:`DataError`.
    meta_path : str or None, default None
        Hyperliquid ``meta`` JSON (``universe`` of ``{name, szDecimals}``), for ``sz_decimals``.
    funding : str or None, default None
        Recorded funding rates (Hyperliquid ``fundingHistory`` JSON/CSV or ``asset_ctxs`` CSV,
        Binance funding-history JSON/CSV; :mod:`venues.loaders.funding`). ``None``: taken from
        the capture when it records them (a Binance ``markPrice`` stream), else none (a run
        spanning a funding time then warns).
    """

    format: str = attrs.field(validator=v.in_(FORMATS))
    paths: tuple[str, ...] = attrs.field(
        converter=_to_tuple,
        validator=[v.min_len(1), v.deep_iterable(v.instance_of(str))],
    )
    symbol: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    on_gap: str = attrs.field(default="resync", validator=v.in_(("resync", "stop")))
    meta_path: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    funding: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))


@attrs.frozen(kw_only=True)
class FeedMeta:
    """Facts about a loaded feed.

    Attributes
    ----------
    symbol : str
        Instrument (``ETHUSDT``, ``ETHUSD_PERP``, ``ETH``...).
    venue : str
        ``binance_usdm``, ``binance_spot``, ``binance_coinm``, ``hyperliquid`` or
        ``hftbacktest``.
    tick_size : float
        Smallest price increment seen in the data (quote units): gcd of all prices on their
        decimal grid. A lower bound of the venue's tick (equal to it on liquid books).
    lot_size : float
        The same for sizes (base units; contracts on COIN-M).
    sz_decimals : int or None
        Hyperliquid ``szDecimals`` from ``meta_path``; ``None`` when not given or not Hyperliquid.
    source_sha256 : tuple of str
        sha256 of each source file's bytes, in ``paths`` order.
    n_gaps : int
        Number of :class:`Gap` records.
    """

    symbol: str
    venue: str
    tick_size: float
    lot_size: float
    sz_decimals: int | None
    source_sha256: tuple[str, ...]
    n_gaps: int


@attrs.frozen(kw_only=True)
class Feed:
    """A loaded, validated feed.

    Attributes
    ----------
    events : ndarray, dtype EVENT_DTYPE
        Sorted (stable) by ``ts_local_ns``.
    bbo : ndarray, dtype BBO_DTYPE
        Recorded best bid/offer (Binance bookTicker, Hyperliquid collector prices); may be empty.
    meta : FeedMeta
    gaps : tuple of Gap
    warnings : tuple of str
        Documented, harmless vendor data-quality notes.
    funding : venues.loaders.funding.FundingRates or None
        Recorded funding settlements (``DataConfig.funding`` or the capture's own), attached by
        :func:`load_feed`; ``None`` when there are none.
    """

    events: np.ndarray = attrs.field(eq=False)
    bbo: np.ndarray = attrs.field(eq=False)
    meta: FeedMeta
    gaps: tuple[Gap, ...]
    warnings: tuple[str, ...]
    funding: object = attrs.field(default=None, eq=False)


def _resolve(cfg: DataConfig) -> list[str]:
    out = []
    for p in cfg.paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise DataError(f"{p}: data file not found (DataConfig.paths, format {cfg.format})")
        out.append(str(path))
    return out


def _sz_decimals(cfg: DataConfig, symbol: str) -> int | None:
    if cfg.meta_path is None:
        return None
    mp = Path(cfg.meta_path).expanduser()
    if not mp.is_file():
        raise DataError(f"{cfg.meta_path}: meta file not found (DataConfig.meta_path)")
    try:
        meta = json.loads(mp.read_text())
        universe = meta["universe"] if isinstance(meta, dict) else meta[0]["universe"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise DataError(f"{cfg.meta_path}: line 1: not a Hyperliquid meta JSON ({exc})") from None
    for i, asset in enumerate(universe):
        if asset.get("name", "").upper() == symbol.upper():
            try:
                return int(asset["szDecimals"])
            except (KeyError, ValueError, TypeError):
                raise DataError(
                    f"{cfg.meta_path}: universe[{i}] ({symbol}): missing/invalid key szDecimals"
                ) from None
    raise DataError(f"{cfg.meta_path}: symbol {symbol!r} not in the meta universe")


def _parse(cfg: DataConfig, paths: list[str]) -> Parsed:
    if cfg.format == "binance_ws":
        from venues.loaders import binance

        return binance.parse(paths, cfg.symbol, cfg.on_gap)
    if cfg.format == "hftbacktest_npz":
        from venues.loaders import hftbacktest

        return hftbacktest.parse(paths, cfg.symbol)
    if cfg.format == "mmsim_events":
        from venues.loaders import native

        return native.parse(paths, cfg.symbol)
    if cfg.format == "tardis_csv":
        from venues.loaders import tardis

        return tardis.parse(paths, cfg.symbol)
    from venues.loaders import hyperliquid

    return hyperliquid.parse(cfg.format, paths, cfg.symbol)


def first_timestamp_ns(fmt: str, path: str) -> int | None:
    """Local timestamp (ns) of the first record of a data file, ``None`` if it has none or the
    format carries no per-file time order (CSV collections, ``.npz``).

    Used to notice files listed out of time order; reads only the first records.
    """
    from venues.loaders._common import open_text

    try:
        if fmt == "tardis_csv":
            from venues.loaders.tardis import first_local_ts_ns

            return first_local_ts_ns(path)
        if fmt in ("binance_ws", "hyperliquid_ws"):
            from venues.loaders.binance import ts_scale

            with open_text(path) as fh:
                for raw in fh:
                    if raw.strip():
                        t0 = int(raw[: raw.find(" ")])
                        return t0 * ts_scale(t0) if fmt == "binance_ws" else t0
        if fmt == "hyperliquid_archive":
            from venues.loaders.hyperliquid import iso_to_ns

            with open_text(path) as fh:
                for raw in fh:
                    if raw.strip():
                        return iso_to_ns(json.loads(raw)["time"])
    except (ValueError, KeyError, TypeError, OSError, EOFError):
        return None  # the parser reports the bad line with its number
    return None


def time_ordered(fmt: str, paths: list[str]) -> tuple[list[str], str | None]:
    """Return ``paths`` sorted by their first timestamp (stable) and a warning when that
    changed their order, else ``(paths, None)``.

    Stream formats (a Binance diff chain) must be replayed in time order: a day pair given
    newest first would otherwise start from the wrong snapshot and silently lose the book.
    """
    if len(paths) < 2:
        return paths, None
    firsts = [first_timestamp_ns(fmt, p) for p in paths]
    if any(t is None for t in firsts):
        return paths, None
    order = sorted(range(len(paths)), key=lambda i: (firsts[i], i))
    if order == list(range(len(paths))):
        return paths, None
    new = [paths[i] for i in order]
    return new, (
        "data files were given out of time order (first timestamps "
        + ", ".join(f"{Path(paths[i]).name}: {firsts[i]}" for i in range(len(paths)))
        + "); replayed in time order: " + ", ".join(Path(p).name for p in new)
    )


def _log_parse(cfg: DataConfig, paths: list[str]) -> None:
    """Append one line per parse to ``$MMSIM_PARSE_LOG`` (benchmarks count parses across
    processes)."""
    log = os.environ.get("MMSIM_PARSE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {cfg.format} {' '.join(paths)}\n")


def parse_feed(cfg: DataConfig) -> Feed:
    """Parse and validate the files of ``cfg`` (no cache).

    Parameters
    ----------
    cfg : DataConfig

    Returns
    -------
    Feed

    Raises
    ------
    DataError
        Missing file, unparseable row, invalid price/size, crossed book, out-of-order
        timestamps, duplicate trade id, or a gap with ``on_gap="stop"``.
    """
    paths = _resolve(cfg)
    _log_parse(cfg, paths)
    given = paths
    paths, order_note = time_ordered(cfg.format, paths)
    p = _parse(cfg, paths)
    if order_note:
        p.warnings.insert(0, order_note)
    validate(p)
    order = np.argsort(p.events["ts_local_ns"], kind="stable")
    check_crossed(p, order)
    events = p.events[order]
    from venues.loaders.quality import feed_warnings

    p.warnings.extend(feed_warnings(events, p.fidx[order], p.line[order], p.paths, p.unit))
    bbo = p.bbo
    if bbo.size > 1:
        bbo = bbo[np.argsort(bbo["ts_local_ns"], kind="stable")]
    book_or_trade = events["kind"] != 3
    tick = infer_increment(events["px"][book_or_trade])
    lot = infer_increment(events["qty"][book_or_trade])
    meta = FeedMeta(
        symbol=p.symbol,
        venue=p.venue,
        tick_size=tick,
        lot_size=lot,
        sz_decimals=_sz_decimals(cfg, p.symbol),
        source_sha256=tuple(file_sha256(x) for x in given),
        n_gaps=len(p.gaps),
    )
    return Feed(
        events=np.ascontiguousarray(events),
        bbo=np.ascontiguousarray(bbo),
        meta=meta,
        gaps=tuple(p.gaps),
        warnings=tuple(p.warnings),
    )


def load_feed(
    cfg: DataConfig, cache_dir: str | os.PathLike | None = None, *, mmap: bool = False
) -> Feed:
    """Load a feed, through the cache when ``cache_dir`` is given.

    Formats of :data:`venues.loaders.stream.STREAM_FORMATS` (hftbacktest ``.npz``) are parsed
    chunk by chunk straight into the cache's ``events.npy`` (bounded memory whatever the length
    of the data, :mod:`venues.loaders.stream`) and read back as a memory map; the others are
    parsed in memory and cached as Parquet.

    Parameters
    ----------
    cfg : DataConfig
        Format, files and options.
    cache_dir : str or path-like or None, default None
        Directory of the parsed-feed cache; created if missing. The key is the sha256 of the
        source bytes (in order), the options (format, symbol, on_gap, meta file bytes) and
        :data:`LOADER_VERSION`, so renamed/moved files still hit and edited files miss.
    mmap : bool, default False
        With a ``cache_dir``: return ``events`` as a read-only memory map of an uncompressed
        ``events.npy`` kept beside the cache entry (written on first use, atomically), so that
        several processes loading the same feed share one copy through the page cache.
        Writing into those events raises ``ValueError``.

    Returns
    -------
    Feed
        Events sorted by ``ts_local_ns``; a cache hit returns arrays identical to a fresh parse.

    Raises
    ------
    DataError
        See :func:`parse_feed`; also a missing file (named).

    Examples
    --------
    >>> from venues.loaders import DataConfig, load_feed
    >>> d = "data/binance_usdm_ethusdt/"
    >>> cfg = DataConfig(format="binance_ws",
    ...                  paths=(d + "ethusdt_20240718.gz", d + "ethusdt_20240719.gz"))
    >>> feed = load_feed(cfg)  # doctest: +SKIP
    """
    if cache_dir is None:
        return _with_funding(cfg, parse_feed(cfg))
    from venues.loaders import cache
    from venues.loaders.stream import STREAM_FORMATS

    paths = _resolve(cfg)
    key = cache.cache_key(cfg, paths)
    hit = cache.read(cache_dir, key, mmap=mmap)
    if hit is not None:
        return _with_funding(cfg, hit)
    if cfg.format in STREAM_FORMATS:
        ordered, note = time_ordered(cfg.format, paths)
        if note is None and cache.write_streamed(cache_dir, key, cfg, ordered):
            _log_parse(cfg, paths)
            hit = cache.read(cache_dir, key, mmap=mmap)
            if hit is not None:
                return _with_funding(cfg, hit)
    feed = parse_feed(cfg)
    cache.write(cache_dir, key, feed)
    if mmap:
        hit = cache.read(cache_dir, key, mmap=True)
        if hit is not None:
            return _with_funding(cfg, hit)
    return _with_funding(cfg, feed)


def _with_funding(cfg: DataConfig, feed: Feed) -> Feed:
    """The feed with its recorded funding rates attached (:func:`venues.loaders.funding.attach_funding`)."""
    from venues.loaders.funding import attach_funding

    return attach_funding(cfg, feed)
