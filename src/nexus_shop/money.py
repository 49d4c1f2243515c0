"""Money: how amounts are stored, the largest one, and the rounding to cents, stated once.

Every amount is a ``Decimal`` in the shop's one currency. The columns that hold one
(``Product.price``, an order's totals, an order line's prices) are
``DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)``; the schemas accept
prices from 0 to :data:`MAX_AMOUNT`; the services round with :func:`to_cents`, and the
checkout refuses an order whose total would not fit the columns.

A leaf module (it imports nothing from nexus_shop), so models, schemas, selectors and
services read the same figures without importing one another.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Final

__all__ = ["CENT", "DECIMAL_PLACES", "MAX_AMOUNT", "MAX_DIGITS", "ROUNDING", "to_cents"]

# Twelve digits, two after the point: amounts below ten thousand million.
MAX_DIGITS: Final = 12
DECIMAL_PLACES: Final = 2
CENT: Final = Decimal(1).scaleb(-DECIMAL_PLACES)  # Decimal("0.01")
MAX_AMOUNT: Final = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES) - CENT  # 9999999999.99
# Half a cent goes to the even cent, as Python's default decimal context does; stated
# here so that a host which changes the thread's context changes no order total.
ROUNDING: Final = ROUND_HALF_EVEN


def to_cents(value: Decimal) -> Decimal:
    """``value`` in whole cents: two places, no exponent, no negative zero.

    ``Decimal("1E+2")`` -> ``100.00``, ``Decimal("-0")`` and ``Decimal("-0.001")`` ->
    ``0.00``, ``Decimal("0.125")`` -> ``0.12`` and ``Decimal("0.135")`` -> ``0.14``
    (:data:`ROUNDING`).

    Both steps run in a context of their own, never the thread's: a host's precision,
    traps or rounding (under ``ROUND_FLOOR``, ``-0 + 0`` stays ``-0``) change nothing.
    """
    context = _context()
    # Adding 0 after rounding drops the sign of a zero (``-0.001`` rounds to ``-0.00``).
    return context.add(value.quantize(CENT, context=context), 0)


def _context() -> Context:
    """Python's default context, stated in full; one per call (a context records flags)."""
    return Context(
        prec=28,
        rounding=ROUNDING,
        Emin=-999_999,
        Emax=999_999,
        capitals=1,
        clamp=0,
        flags=[],
        traps=[InvalidOperation, DivisionByZero, Overflow],
    )
