"""CEX–DEX arbitrageur: keeps a simulated pool's price near the order book's mid.

Other traders' arbitrage is what ties a real pool to centralised venues; without it a
simulated pool drifts wherever our own and the recorded swaps push it. At every block, when the
pool's price is further from the order-book mid than the pool fee plus ``min_edge_bps``, the
arbitrageur sends the swap that brings the pool price back to the edge of that no-trade band,
if its value at mid exceeds its bribe and gas.

See Also
--------
venues.chain : runs the arbitrageur as a block participant.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from venues.chain import Chain


@attrs.frozen(kw_only=True)
class ArbitrageurConfig:
    """Settings of :class:`Arbitrageur`.

    Attributes
    ----------
    pool : str, default "hedge"
        The pool it arbitrages.
    min_edge_bps : float, default 1.0
        Extra edge over the pool fee before it trades, bps of mid.
    bribe : float, default 0.5
        Bribe it pays per arbitrage, quote units.
    """

    pool: str = "hedge"
    min_edge_bps: float = attrs.field(default=1.0, validator=v.ge(0))
    bribe: float = attrs.field(default=0.5, validator=v.ge(0))


class Arbitrageur:
    """Block participant that arbitrages one pool against the order-book mid.

    Parameters
    ----------
    config : ArbitrageurConfig
    reference : object
        Anything with a ``mid`` attribute (quote units), e.g. the order-book venue.

    Attributes
    ----------
    n_arbs : int
        Arbitrage transactions sent.
    """

    def __init__(self, config: ArbitrageurConfig, reference) -> None:
        self.config = config
        self.reference = reference
        self.n_arbs = 0

    def __call__(self, chain: Chain, block_ts_ns: int) -> None:
        """Look at the pool at this block and send one arbitrage swap if it pays."""
        mid = self.reference.mid
        if not mid > 0:
            return
        pool = chain.pools[self.config.pool]
        price = pool.price
        band = pool.fee_bps * 1e-4 + self.config.min_edge_bps * 1e-4
        if price < mid * (1.0 - band):  # base is cheap on the pool: buy base with quote
            target, zero_for_one = mid * (1.0 - band), not pool.sell_base_direction()
        elif price > mid * (1.0 + band):  # base is dear on the pool: sell base
            target, zero_for_one = mid * (1.0 + band), pool.sell_base_direction()
        else:
            return
        amount_in = self._amount_to(pool, target, zero_for_one)
        if amount_in <= 0:
            return
        out = pool.swap(amount_in, zero_for_one, dry_run=True)
        base_in = zero_for_one == pool.sell_base_direction()
        quote_token = 1 - pool.base_token
        if base_in:
            value = pool.to_human(out, quote_token) - pool.to_human(amount_in, pool.base_token) * mid
        else:
            value = pool.to_human(out, pool.base_token) * mid - pool.to_human(amount_in, quote_token)
        if value <= self.config.bribe + chain.gas_cost(self.config.pool):
            return
        chain.submit_swap(None, pool=self.config.pool, amount_in=amount_in, zero_for_one=zero_for_one,
                          bribe=self.config.bribe, arrival_ns=block_ts_ns)  # fmt: skip
        self.n_arbs += 1

    @staticmethod
    def _amount_to(pool, target: float, zero_for_one: bool) -> int:
        """Smallest input (raw) that moves the pool price to ``target``, by bisection."""
        sells_base = zero_for_one == pool.sell_base_direction()

        def reached(amount: int) -> bool:
            try:
                p = pool.price_after(amount, zero_for_one)
            except ValueError:
                return True  # past what the pool can pay: too much
            return p <= target if sells_base else p >= target

        # start from a small but non-dust amount (0.001 base units, or its value in quote):
        # 1 wei would revert for returning nothing, which is not "too much"
        hi = pool.to_raw(1e-3, pool.base_token) if sells_base else pool.to_raw(1e-3 * pool.price, 1 - pool.base_token)
        hi = max(hi, 1)
        if reached(hi):
            return 0  # already within a dust trade of the target
        while not reached(hi):
            hi *= 2
            if hi > 1 << 200:
                return 0
        lo = hi // 2
        while hi - lo > max(1, hi >> 20):  # to ~1 ppm of the amount
            mid_amt = (lo + hi) // 2
            if reached(mid_amt):
                hi = mid_amt
            else:
                lo = mid_amt
        return lo
