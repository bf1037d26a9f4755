"""Account and inventory of one strategy on one instrument: cash, position, PnL, fees, volume.

:class:`Account` is the ledger a venue updates on every fill (and on every funding payment).
It is a plain ``__slots__`` class, not an attrs record, because it is mutated in the hot path.
It holds no fee schedule (the venue computes the fee, see :mod:`venues.profiles`), no margin
or liquidation model, and no multi-asset balances.

See Also
--------
venues.profiles : fee rates and rounding the venue applies before calling :meth:`Account.on_fill`.
components.orders : ``Side`` (``BUY = +1``, ``SELL = -1``) and the ``Fill`` event.
"""

from __future__ import annotations

import math

__all__ = ["Account"]

# A closing fill within this relative distance of the open position closes it exactly
# (q -> 0.0), so binary artefacts such as 0.1 + 0.2 - 0.3 never leave dust positions.
_FLAT_RTOL = 1e-12


class Account:
    """Cash, signed position and PnL of one strategy on one instrument, average-cost method.

    All money amounts are in quote units (USDC, USDT); sizes in base units. Cash starts at
    zero, so :meth:`equity` is the PnL since the start.

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
        Sum of ``px·qty`` of maker fills, in quote units.
    taker_volume : float
        Sum of ``px·qty`` of taker fills, in quote units.
    n_fills : int
        Number of fills.

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

    Examples
    --------
    >>> acct = Account()
    >>> acct.on_fill(+1, 100.0, 2.0, fee=0.03, is_maker=True)   # buy 2 @ 100
    >>> acct.on_fill(-1, 103.0, 3.0, fee=0.05, is_maker=True)   # sell 3 @ 103: close 2, short 1
    >>> acct.q, acct.avg_entry_px, acct.realized_pnl
    (-1.0, 103.0, 6.0)
    >>> round(acct.equity(101.0), 10), round(acct.net_pnl(101.0), 10)
    (7.92, 7.92)
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
    )

    def __init__(self) -> None:
        """Create a flat account with zero cash."""
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
            Fill size, in base units. Finite and ``> 0``.
        fee : float
            Fee charged, in quote units; negative for a rebate. Finite.
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
        the average-cost method (class Notes), including flips through zero. A closing fill
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
        notional = px * qty
        q = self.q
        self.cash -= s * notional + fee
        self.fees_paid += fee
        if is_maker:
            self.maker_volume += notional
        else:
            self.taker_volume += notional
        self.n_fills += 1

        if q == 0.0 or (q > 0.0) == (s > 0.0):
            # Opening or adding: size-weighted average entry.
            pos = abs(q)
            self.avg_entry_px = (self.avg_entry_px * pos + notional) / (pos + qty)
            self.q = q + s * qty
            return
        pos = abs(q)
        avg = self.avg_entry_px
        sign_q = -s
        if qty < pos * (1.0 - _FLAT_RTOL):
            # Partial close: average entry unchanged.
            self.realized_pnl += sign_q * qty * (px - avg)
            self.q = q + s * qty
        elif qty <= pos * (1.0 + _FLAT_RTOL):
            # Exact close (to rounding): the cash moved by px*qty, the position held pos.
            self.realized_pnl += sign_q * (notional - avg * pos)
            self.q = 0.0
            self.avg_entry_px = 0.0
        else:
            # Flip through zero: close pos at px, open the remainder at px.
            self.realized_pnl += sign_q * pos * (px - avg)
            self.q = q + s * qty
            self.avg_entry_px = px

    def on_funding(self, payment: float) -> None:
        """Book a funding payment.

        Parameters
        ----------
        payment : float
            Cash paid by this account, in quote units; negative when funding is received
            (e.g. a short while the rate is positive). Hyperliquid:
            ``q × oracle_px × hourly_rate``.

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
            ``q·(mark − avg_entry_px)``, in quote units.

        Examples
        --------
        >>> a = Account()
        >>> a.on_fill(+1, 10.0, 3.0, fee=0.0, is_maker=True)
        >>> a.unrealized_pnl(12.0)
        6.0
        """
        return self.q * (mark - self.avg_entry_px)

    def equity(self, mark: float) -> float:
        """Cash plus the position valued at ``mark``, relative to a zero starting cash.

        Parameters
        ----------
        mark : float
            Mark price, in quote units per base unit.

        Returns
        -------
        float
            ``cash + q·mark``, in quote units; equal to :meth:`net_pnl` up to rounding. Add the
            starting capital for an absolute balance.

        Examples
        --------
        >>> a = Account()
        >>> a.on_fill(+1, 10.0, 3.0, fee=0.1, is_maker=False)
        >>> round(a.equity(12.0), 10)
        5.9
        """
        return self.cash + self.q * mark

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
            One entry per attribute in ``__slots__``.

        Examples
        --------
        >>> Account().snapshot()["n_fills"]
        0
        """
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        """Readable one-line summary."""
        return (
            f"Account(q={self.q!r}, avg_entry_px={self.avg_entry_px!r}, cash={self.cash!r}, "
            f"realized_pnl={self.realized_pnl!r}, fees_paid={self.fees_paid!r}, "
            f"n_fills={self.n_fills})"
        )
