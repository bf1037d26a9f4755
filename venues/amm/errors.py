"""Errors raised by the AMM pools: on-chain reverts and rejected pool parameters.

Both are :class:`ValueError` subclasses, as DESIGN.md's public contract asks ("where the contract
reverts on chain, the Python function raises ValueError (or a subclass) with the contract's
reason"). This module holds no pool math; see :mod:`venues.amm.aerodrome` and
:mod:`venues.amm.pancake`.

See Also
--------
venues.amm.aerodrome : Aerodrome ``Pool.sol`` math.
venues.amm.pancake : PancakeSwap / Uniswap v2 pair and library math.
"""

from __future__ import annotations

import operator

__all__ = [
    "PANIC_DIVISION_BY_ZERO",
    "PANIC_OVERFLOW",
    "UINT256_MAX",
    "PoolParameterError",
    "PoolRevertError",
]

UINT256_MAX = 2**256 - 1
"""Largest value of a Solidity ``uint256``."""

PANIC_OVERFLOW = "Panic(0x11): arithmetic underflow or overflow"
"""Revert reason of a checked-arithmetic failure under Solidity >= 0.8."""

PANIC_DIVISION_BY_ZERO = "Panic(0x12): division or modulo by zero"
"""Revert reason of a division by zero under Solidity >= 0.8 (earlier compilers: invalid opcode)."""


class PoolRevertError(ValueError):
    """A call that the contract would revert.

    Parameters
    ----------
    reason : str
        The contract's revert reason: a ``require`` string (``"PancakeLibrary:
        INSUFFICIENT_INPUT_AMOUNT"``), a custom error name (``"InsufficientLiquidity"``), the Newton
        solver's ``"!y"``, or a Solidity panic (:data:`PANIC_OVERFLOW`,
        :data:`PANIC_DIVISION_BY_ZERO`).
    where : str, default ""
        Contract and function that reverts, e.g. ``"Pool._get_y"``.

    Attributes
    ----------
    reason : str
        As passed.
    where : str
        As passed.
    """

    def __init__(self, reason: str, where: str = "") -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{where} reverted: {reason}" if where else f"reverted: {reason}")


class PoolParameterError(ValueError):
    """A pool parameter or call argument outside its valid range.

    Parameters
    ----------
    parameter : str
        Name of the offending parameter (``"reserve0"``, ``"fee_bps"``, ``"token_in"``, ...).
    message : str
        What is wrong with it.

    Attributes
    ----------
    parameter : str
        As passed.
    """

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking ``lo <= value <= hi``.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        An ``int`` (or a NumPy integer); ``bool`` and floats are rejected.
    lo : int
        Smallest accepted value.
    hi : int or None, default None
        Largest accepted value (None: no upper bound).

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (or is a ``bool``).
    PoolParameterError
        If ``value`` is out of range.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int (raw integer units), got {type(value).__name__}") from None
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise PoolParameterError(name, f"must be {rng}, got {v}")
    return v


def check_token(name: str, value: object) -> int:
    """Return a token index (0 or 1).

    Parameters
    ----------
    name : str
        Parameter name used in the error message (``"token_in"`` or ``"token_out"``).
    value : object
        0 for token0, 1 for token1.

    Returns
    -------
    int
        0 or 1.

    Raises
    ------
    PoolParameterError
        If ``value`` is not 0 or 1.
    """
    if isinstance(value, bool) or value not in (0, 1):
        raise PoolParameterError(name, f"must be 0 (token0) or 1 (token1), got {value!r}")
    return int(value)
