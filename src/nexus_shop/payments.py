"""Pluggable payment: ``NEXUS_SHOP_PAYMENT_PROVIDER`` names a class by dotted path.

The provider is instantiated for each use with no arguments. Its hooks run inside the
transaction that changes the order, with the order row locked:

* ``order_placed(*, order)`` right after checkout created the order (``pending_payment``).
  A provider that charges at once may start the payment here; marking the order paid is
  done through :func:`nexus_shop.services.orders.order_transition` (e.g. from a webhook).
* ``refund(*, order)`` when a ``paid`` order is cancelled. Raising any exception aborts the
  cancellation: the order stays ``paid`` and its stock is not returned.

The default, :class:`ManualPayment`, does nothing: staff mark orders paid (API or admin)
and refund by hand.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from django.utils.module_loading import import_string

from nexus_shop.conf import conf

if TYPE_CHECKING:
    from nexus_shop.models import Order

logger = logging.getLogger("nexus_shop.payments")


class PaymentProvider(Protocol):
    def order_placed(self, *, order: Order) -> None: ...

    def refund(self, *, order: Order) -> None: ...


class ManualPayment:
    """Staff take the payment outside the shop, then mark the order paid."""

    def order_placed(self, *, order: Order) -> None:
        return None

    def refund(self, *, order: Order) -> None:
        logger.info("order %s cancelled after payment: refund it by hand", order.number)


def payment_provider() -> PaymentProvider:
    """A fresh instance of the configured provider."""
    provider: PaymentProvider = import_string(conf.PAYMENT_PROVIDER)()
    return provider
