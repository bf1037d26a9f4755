"""A user's strategy module, plugged in by dotted path (``kind = "mm_test_plugins:..."``)."""
from strategies.glft import GLFTQuoter


class ExplodingQuoter(GLFTQuoter):
    """GLFT quoter that raises on start when gamma >= 0.5 (to test failing trials)."""

    def on_start(self):
        if self.config.gamma >= 0.5:
            raise RuntimeError(f"exploding quoter: gamma={self.config.gamma} too large")
        super().on_start()


class NotAStrategy:
    """Has no config_class."""


class SleepyQuoter(GLFTQuoter):
    """GLFT quoter that sleeps in on_start when gamma >= 0.5 (to test per-trial timeouts)."""

    def on_start(self):
        if self.config.gamma >= 0.5:
            import time

            time.sleep(30)
        super().on_start()


from venues.orderbook.venue import OrderBookVenue  # noqa: E402


class WideMakerFeeVenue(OrderBookVenue):
    """A user venue subclass: charges a maker fee of 10 bps whatever the profile says."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import attrs

        self.profile = attrs.evolve(self.profile, maker_fee_bps=10.0)
