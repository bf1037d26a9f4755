"""Account and inventory of one strategy on one instrument: cash, position, PnL, fees, volume.

:class:`Account` is the ledger a venue updates on every fill (and on every funding payment).
It is a plain ``__slots__`` class, not an attrs record, because it is mutated in the hot path.
It books linear contracts (size in base units, money in the quote currency) and inverse
contracts (Binance COIN-M: size in contracts of a fixed USD value, money in the base coin).
It holds no fee schedule (the venue computes the fee, see :mod:`venues.profiles`), no margin
or liquidation model, and no multi-asset balances.

See Also
--------
venues.profiles : fee rates and rounding the venue applies before calling :meth:`Account.on_fill`.
components.orders : ``Side`` (``BUY = +1``, ``SELL = -1``) and the ``Fill`` event.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from components._account_nb import FLAT_RTOL, book_nb

__all__ = ["Account"]

# A closing fill within this relative distance of the open position closes it exactly
# (q -> 0.0), so binary artefacts such as 0.1 + 0.2 - 0.3 never leave dust positions.
_FLAT_RTOL = FLAT_RTOL


class Account:
    """Cash, signed position and PnL of one strategy on one instrument, average-cost method.

    Linear (default): money amounts are in quote units (USDC, USDT); sizes in base units.
    Inverse (``contract_size`` given): sizes are contracts worth ``contract_size`` quote units
    each and every money amount (cash, PnL, fees, funding, volumes) is in the base coin.
    Cash starts at zero, so :meth:`equity` is the PnL since the start.

    Parameters
    ----------
    contract_size : float or None, default None
        ``None``: linear. Otherwise the quote value of one inverse contract (10 or 100 USD on
        Binance COIN-M); finite and ``> 0``.

    Attributes
    ----------
    cash : float
        Quote balance relative to the start, in quote units: ``−Σ side·px·qty − Σ fee −
        Σ funding``.
    q : float
        Signed position in base units (long > 0); the signed sum of fill sizes.
    avg_entry_px : float
        Average entry price of the open position, in quote units per base unit; ``0.0`` when
        flat.
    realized_pnl : float
        PnL locked in by closing fills, before fees and funding, in quote units.
    fees_paid : float
        Sum of fill fees, in quote units; negative means net rebates received.
    funding_paid : float
        Sum of funding payments made, in quote units; negative means net funding received.
    maker_volume : float
        Sum of the notional of maker fills: ``px·qty`` quote units (linear), ``qty·C/px`` coin
        (inverse).
    taker_volume : float
        Sum of the notional of taker fills, in the same units as ``maker_volume``.
    n_fills : int
        Number of fills.
    contract_size : float or None
        ``None`` for a linear account, else the quote value of one inverse contract.

    Warnings
    --------
    Only venues mutate an account (through :meth:`on_fill` and :meth:`on_funding`);
    strategies read it.

    Notes
    -----
    Average-cost accounting. A fill in the direction of the position (or from flat) moves the
    average entry to the size-weighted mean of the old average and the fill price. A fill
    against the position realises ``(px − avg_entry_px)·closed·sign(q)`` and leaves the
    average unchanged; a fill larger than the position closes it and opens the remainder at
    ``px``. The ledger keeps the identity ``cash + q·avg_entry_px = realized_pnl − fees_paid
    − funding_paid``, hence for any mark::

        equity(mark) = cash + q·mark
                     = realized_pnl + unrealized_pnl(mark) − fees_paid − funding_paid
                     = net_pnl(mark)

    **Inverse contracts.** A contract pays ``contract_size`` quote units, so holding ``n``
    contracts from price ``entry`` to ``exit`` earns ``n × C × (1/entry − 1/exit)`` coin
    (Binance COIN-M PnL formula). Writing ``x = 1/price`` and ``Q = −n·C`` this is the linear
    ledger in ``(Q, x)``: the account books every inverse fill ``(side, px, n)`` as the linear
    fill ``(−side, 1/px, n·C)``. The average entry is then the contract-weighted *harmonic* mean
    of the fill prices (Binance's COIN-M average entry price), ``cash`` is in coin, and::

        equity(mark) = cash − q·C/mark = realized_pnl + unrealized_pnl(mark) − fees − funding

    with ``unrealized_pnl(mark) = q·C·(1/avg_entry_px − 1/mark)``.

    Examples
    --------
    >>> acct = Account()
    >>> acct.on_fill(+1, 100.0, 2.0, fee=0.03, is_maker=True)   # buy 2 @ 100
    >>> acct.on_fill(-1, 103.0, 3.0, fee=0.05, is_maker=True)   # sell 3 @ 103: close 2, short 1
    >>> acct.q, acct.avg_entry_px, acct.realized_pnl
    (-1.0, 103.0, 6.0)
    >>> round(acct.equity(101.0), 10), round(acct.net_pnl(101.0), 10)
    (7.92, 7.92)
    >>> inv = Account(contract_size=10.0)                       # ETHUSD_PERP: 10 USD/contract
    >>> inv.on_fill(+1, 2000.0, 5.0, fee=0.0, is_maker=True)    # long 5 contracts = 0.025 ETH
    >>> inv.on_fill(-1, 2500.0, 5.0, fee=0.0, is_maker=True)    # 5 × 10 × (1/2000 − 1/2500)
    >>> round(inv.realized_pnl, 12), inv.q
    (0.005, 0.0)
    """

    __slots__ = (
        "cash",
        "q",
        "avg_entry_px",
        "realized_pnl",
        "fees_paid",
        "funding_paid",
        "maker_volume",
        "taker_volume",
        "n_fills",
        "contract_size",
        "_lq",
        "_lx",
    )

    _PUBLIC = (
        "cash", "q", "avg_entry_px", "realized_pnl", "fees_paid", "funding_paid",
        "maker_volume", "taker_volume", "n_fills",
    )  # fmt: skip

    def __init__(self, contract_size: float | None = None) -> None:
        """Create a flat account with zero cash (inverse when ``contract_size`` is given)."""
        if contract_size is not None and not (math.isfinite(contract_size) and contract_size > 0):
            raise ValueError(f"contract_size must be finite and > 0, got {contract_size!r}")
        self.contract_size = None if contract_size is None else float(contract_size)
        self._lq = 0.0  # position in the linear ledger (q, or -q*C when inverse)
        self._lx = 0.0  # average entry in the ledger's price (px, or 1/px when inverse)
        self.cash = 0.0
        self.q = 0.0
        self.avg_entry_px = 0.0
        self.realized_pnl = 0.0
        self.fees_paid = 0.0
        self.funding_paid = 0.0
        self.maker_volume = 0.0
        self.taker_volume = 0.0
        self.n_fills = 0

    def on_fill(self, side: int, px: float, qty: float, fee: float, is_maker: bool) -> None:
        """Book one fill.

        Parameters
        ----------
        side : int
            ``+1`` for a buy, ``-1`` for a sell (``components.orders.Side`` works).
        px : float
            Fill price, in quote units per base unit. Finite and ``> 0``.
        qty : float
            Fill size, in base units (contracts for an inverse account). Finite and ``> 0``.
        fee : float
            Fee charged, in the account's currency (quote units; coin when inverse); negative
            for a rebate. Finite.
        is_maker : bool
            ``True`` if the fill added liquidity; decides which volume counter grows.

        Raises
        ------
        ValueError
            If ``side`` is not ±1, ``px`` or ``qty`` is not finite and ``> 0``, or ``fee`` is
            not finite. The account is unchanged when this is raised.

        Warnings
        --------
        Called by the venue that executed the fill; strategies must not call it.

        Notes
        -----
        ``cash −= side·px·qty + fee``; ``q += side·qty``; realised PnL and average entry by
        the average-cost method (class Notes), including flips through zero. Inverse: booked
        as the linear fill ``(−side, 1/px, qty·contract_size)``, so ``cash += side·qty·C/px −
        fee`` (coin) and ``q += side·qty`` (contracts). A closing fill
        whose size equals the position to a relative ``1e-12`` closes it exactly
        (``q = 0.0``), with the realised PnL taken from the booked cash so that the ledger
        identity still holds.

        Examples
        --------
        >>> a = Account()
        >>> a.on_fill(-1, 50.0, 4.0, fee=-0.01, is_maker=True)   # short 4 @ 50, rebate
        >>> a.on_fill(+1, 48.0, 1.0, fee=0.02, is_maker=False)   # cover 1 @ 48
        >>> a.q, a.avg_entry_px, a.realized_pnl, a.fees_paid
        (-3.0, 50.0, 2.0, 0.01)
        """
        if side != 1 and side != -1:
            raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side!r}")
        if not (math.isfinite(px) and px > 0):
            raise ValueError(f"fill px must be finite and > 0, got {px!r}")
        if not (math.isfinite(qty) and qty > 0):
            raise ValueError(f"fill qty must be finite and > 0, got {qty!r}")
        if not math.isfinite(fee):
            raise ValueError(f"fill fee must be finite, got {fee!r}")
        s = 1.0 if side == 1 else -1.0
        c = self.contract_size
        if c is None:
            self._book(s, px, qty, fee, px * qty, is_maker)
            self.q = self._lq
            self.avg_entry_px = self._lx
            return
        q_new = self.q + s * qty
        self._book(-s, 1.0 / px, qty * c, fee, qty * c / px, is_maker)
        if self._lq == 0.0:
            self.q = 0.0
            self.avg_entry_px = 0.0
        else:
            self.q = q_new
            self.avg_entry_px = 1.0 / self._lx

    def _book(self, s: float, x: float, w: float, fee: float, notional: float, is_maker: bool) -> None:
        """Linear average-cost booking of side ``s``, price ``x``, size ``w`` (class Notes;
        :func:`components._account_nb.book_nb`)."""
        ledger = self.ledger()
        book_nb(ledger, s, x, w, fee, notional, is_maker)
        self.set_ledger(ledger)

    def ledger(self) -> npt.NDArray[np.float64]:
        """The booking state as a :mod:`components._account_nb` ledger (a copy)."""
        return np.array([self._lq, self._lx, self.cash, self.fees_paid, self.maker_volume, self.taker_volume,
                         self.realized_pnl, float(self.n_fills)])  # the slot order LQ .. N_FILLS

    def set_ledger(self, ledger: npt.NDArray[np.float64]) -> None:
        """Take the booking state from a ledger (:meth:`ledger`, :func:`~components._account_nb.book_fills_nb`)."""
        lq, lx, cash, fees, maker, taker, realized, n = ledger.tolist()
        self._lq, self._lx, self.cash, self.fees_paid = lq, lx, cash, fees
        self.maker_volume, self.taker_volume, self.realized_pnl, self.n_fills = maker, taker, realized, int(n)

    def on_funding(self, payment: float) -> None:
        """Book a funding payment.

        Parameters
        ----------
        payment : float
            Cash paid by this account, in its currency (quote units; coin when inverse);
            negative when funding is received (e.g. a short while the rate is positive).
            See :func:`components.funding.funding_payment`.

        Raises
        ------
        ValueError
            If ``payment`` is not finite.

        Warnings
        --------
        Called by the venue's funding schedule; strategies must not call it.

        Examples
        --------
        >>> a = Account()
        >>> a.on_funding(0.25)
        >>> a.cash, a.funding_paid
        (-0.25, 0.25)
        """
        if not math.isfinite(payment):
            raise ValueError(f"funding payment must be finite, got {payment!r}")
        self.cash -= payment
        self.funding_paid += payment

    def unrealized_pnl(self, mark: float) -> float:
        """PnL of the open position if it were closed at ``mark``, before fees.

        Parameters
        ----------
        mark : float
            Mark price, in quote units per base unit (e.g. mid).

        Returns
        -------
        float
            ``q·(mark − avg_entry_px)`` in quote units (linear) or
            ``q·C·(1/avg_entry_px − 1/mark)`` in coin (inverse).

        Examples
        --------
        >>> a = Account()
        >>> a.on_fill(+1, 10.0, 3.0, fee=0.0, is_maker=True)
        >>> a.unrealized_pnl(12.0)
        6.0
        """
        return self._lq * (self._ledger_px(mark) - self._lx)

    def _ledger_px(self, mark: float) -> float:
        return mark if self.contract_size is None else 1.0 / mark

    @overload
    def position_value(self, q: float, mark: float) -> float: ...
    @overload
    def position_value(
        self, q: npt.NDArray[np.float64], mark: float | npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]: ...
    @overload
    def position_value(self, q: float, mark: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def position_value(self, q: Any, mark: Any) -> Any:  # body shared by the float and array overloads
        """Signed value of ``q`` at ``mark`` as booked in ``cash`` (works on arrays).

        Parameters
        ----------
        q : float or ndarray
            Signed position: base units (linear) or contracts (inverse).
        mark : float or ndarray
            Mark price, quote units per base unit, ``> 0``.

        Returns
        -------
        float or ndarray
            ``q·mark`` (linear, quote units) or ``−q·C/mark`` (inverse, coin: the ledger holds
            a long inverse position as a short of ``q·C`` quote units, class Notes), so that
            ``equity = cash + position_value(q, mark)``.
        """
        if self.contract_size is None:
            return q * mark
        return -q * self.contract_size / mark

    @overload
    def notional(self, q: float, mark: float) -> float: ...
    @overload
    def notional(
        self, q: npt.NDArray[np.float64], mark: float | npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]: ...
    @overload
    def notional(self, q: float, mark: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def notional(self, q: Any, mark: Any) -> Any:  # body shared by the float and array overloads
        """Absolute value of a position at ``mark``, in the account's currency (works on arrays).

        Returns ``|q|·mark`` (linear) or ``|q|·C/mark`` coin (inverse).
        """
        if self.contract_size is None:
            return abs(q) * mark
        return abs(q) * self.contract_size / mark

    def equity(self, mark: float) -> float:
        """Cash plus the position valued at ``mark``, relative to a zero starting cash.

        Parameters
        ----------
        mark : float
            Mark price, in quote units per base unit.

        Returns
        -------
        float
            ``cash + position_value(q, mark)``: ``cash + q·mark`` in quote units (linear) or
            ``cash − q·C/mark`` in coin (inverse); equal to :meth:`net_pnl` up to rounding. Add
            the starting capital for an absolute balance.

        Examples
        --------
        >>> a = Account()
        >>> a.on_fill(+1, 10.0, 3.0, fee=0.1, is_maker=False)
        >>> round(a.equity(12.0), 10)
        5.9
        """
        return self.cash + self._lq * self._ledger_px(mark)

    def net_pnl(self, mark: float) -> float:
        """Total PnL at ``mark``: realised + unrealised − fees − funding.

        Parameters
        ----------
        mark : float
            Mark price, in quote units per base unit.

        Returns
        -------
        float
            In quote units; equals :meth:`equity` up to floating-point rounding.

        Examples
        --------
        >>> a = Account()
        >>> a.on_fill(+1, 10.0, 3.0, fee=0.1, is_maker=False)
        >>> round(a.net_pnl(12.0), 10)
        5.9
        """
        return self.realized_pnl + self.unrealized_pnl(mark) - self.fees_paid - self.funding_paid

    @property
    def is_flat(self) -> bool:
        """Whether the position is exactly zero."""
        return self.q == 0.0

    def snapshot(self) -> dict[str, float | int]:
        """All ledger fields as a dict (for metrics rows and tests).

        Returns
        -------
        dict of str to float or int
            ``cash``, ``q``, ``avg_entry_px``, ``realized_pnl``, ``fees_paid``,
            ``funding_paid``, ``maker_volume``, ``taker_volume``, ``n_fills``.

        Examples
        --------
        >>> Account().snapshot()["n_fills"]
        0
        """
        return {name: getattr(self, name) for name in self._PUBLIC}

    def __repr__(self) -> str:
        """Readable one-line summary."""
        return (
            f"Account(q={self.q!r}, avg_entry_px={self.avg_entry_px!r}, cash={self.cash!r}, "
            f"realized_pnl={self.realized_pnl!r}, fees_paid={self.fees_paid!r}, "
            f"n_fills={self.n_fills})"
        )
