"""The deterministic kernel: integer-ns clock, ``(ts_ns, priority, seq)`` event queue, typed
dispatch, timers, named RNG streams and market-data feeds.

See Also
--------
engine.kernel : :class:`~engine.kernel.Simulation`, the run loop.
engine.feed : the structured dtype of recorded market data.
"""
