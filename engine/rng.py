"""Named, independent random streams spawned from one seed.

Each stream name maps to a fixed ``spawn_key`` derived from the name's SHA-256, so the draws of
``"latency/venue"`` never depend on which other streams exist or in what order they were asked
for. Adding a component never changes another component's draws.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


class RngStreams:
    """Factory of per-component :class:`numpy.random.Generator` streams for one trial.

    Parameters
    ----------
    seed : int
        The trial's seed (``>= 0``).

    Examples
    --------
    >>> a = RngStreams(7).stream("flow").integers(1 << 30)
    >>> r = RngStreams(7); _ = r.stream("other"); b = r.stream("flow").integers(1 << 30)
    >>> a == b
    True
    """

    __slots__ = ("seed", "_streams")

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def stream(self, name: str) -> np.random.Generator:
        """Return the generator for ``name`` (created on first use, then reused).

        Parameters
        ----------
        name : str
            Stable stream name, e.g. ``"queue/orderbook"``.

        Returns
        -------
        numpy.random.Generator
            PCG64 generator seeded by ``SeedSequence(seed, spawn_key=(hash(name),))``.
        """
        gen = self._streams.get(name)
        if gen is None:
            ss = np.random.SeedSequence(self.seed, spawn_key=(_name_key(name),))
            gen = np.random.Generator(np.random.PCG64(ss))
            self._streams[name] = gen
        return gen
