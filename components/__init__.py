"""Building blocks shared by venues and strategies: the ``Component`` base, account and
inventory, orders and execution events, latency and queue-position models, PnL metrics."""
