"""Simulated venues and their rules: the order-book venue (:mod:`venues.orderbook`), exchange
rules and fee profiles (:mod:`venues.hyperliquid`, :mod:`venues.binance`,
:mod:`venues.profiles`) and loaders of recorded vendor data (:mod:`venues.loaders`)."""
