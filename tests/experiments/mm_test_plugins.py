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
