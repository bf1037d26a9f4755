"""Shared pytest configuration: hypothesis profiles.

Profiles (select with ``HYPOTHESIS_PROFILE``; under ``CI=true`` the default is ``ci``):

``dev`` (default)
    100 examples per property.
``ci``
    200 examples, ``derandomize=True`` so a CI failure reproduces exactly.
``fast``
    20 examples (``just test-fast``).

Every profile sets ``deadline=None``: the first call into a Numba kernel compiles it, which
would otherwise trip hypothesis' per-example deadline.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fast", max_examples=20, deadline=None)

_default = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
