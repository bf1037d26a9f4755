"""Strategy components: quoters (GLFT, Avellaneda–Stoikov, fixed spread); later the hedger and
risk monitors.

``STRATEGY_KINDS`` maps the short ``kind`` names accepted in TOML to dotted ``module:Class``
paths; any other ``module:Class`` string names a user subclass.
"""

from __future__ import annotations

STRATEGY_KINDS: dict[str, str] = {
    "glft": "strategies.glft:GLFTQuoter",
    "fixed_spread": "strategies.fixed_spread:FixedSpreadQuoter",
    "avellaneda_stoikov": "strategies.avellaneda_stoikov:AvellanedaStoikovQuoter",
}

__all__ = ["STRATEGY_KINDS"]
