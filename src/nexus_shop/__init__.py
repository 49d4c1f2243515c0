"""nexus_shop: a reusable Django app serving an e-commerce catalogue REST API.

What a host may import and rely on (see docs/public-api.md; tests/test_public_api.py
keeps this list, the docs and the code in step):

- ``nexus_shop.__version__``
- ``nexus_shop.api``: ``api``, ``create_api``, ``register_exception_handlers``,
  ``NexusShopAPI``
- ``nexus_shop.routers``: ``router``, ``catalog_router``, ``auth_router``,
  ``health_router``, ``cart_router``, ``orders_router``, ``staff_orders_router``,
  ``images_router``, ``webhooks_router``
- ``nexus_shop.models``: ``Category``, ``Product``, ``ProductVariant``, ``ProductImage``,
  ``Cart``, ``CartLine``, ``Order``, ``OrderLine``, ``OrderEvent``, ``OrderStatus``,
  ``IdempotencyRecord``, and the outbox: ``Event``, ``WebhookEndpoint``,
  ``WebhookDelivery``, ``WebhookAttempt``
- ``nexus_shop.services.orders.order_transition`` (payment webhooks mark orders paid)
- ``nexus_shop.payments``: ``PaymentProvider``, ``ManualPayment``
- ``nexus_shop.pricing``: ``Calculator``, ``PricedLine``, ``zero_shipping``, ``zero_tax``
- ``nexus_shop.exceptions``: ``ValidationFailed`` (a calculator refusing a checkout)
- ``nexus_shop.conf.conf`` and the ``NEXUS_SHOP_*`` settings it reads
- ``nexus_shop.conf.PURCHASE_TABLES`` and ``nexus_shop.conf.UNCACHABLE_APPS``, the
  tables and apps django-cachalot must not cache
- ``nexus_shop.cache.RedisCache``, the cache backend named in ``CACHES``
- ``nexus_shop.http_cache.ResponseCacheASGI`` and ``nexus_shop.asgi.UploadLimitASGI``, the
  ASGI fronts (cache hits before Django; image uploads cut off at their limit)
- ``nexus_shop.observability``: ``ObservabilityMiddleware`` and ``ObservabilityASGI``,
  request ids, the access log and the HTTP metrics, outermost
- ``nexus_shop.logs``: ``JsonFormatter`` and ``RequestIdFilter``, for a host's ``LOGGING``
- ``nexus_shop.metrics.view``, the Prometheus scrape view a host mounts
- ``nexus_shop.tracing.instrument``, the one call that turns OpenTelemetry traces on
- ``nexus_shop.tasks.deliver_webhooks``, a webhook delivery pass as a Django Tasks task
- ``nexus_shop.throttling.throttle_login_view``, the login throttle for Django login views
- the system check ids ``nexus_shop.E001``... (``nexus_shop.checks``)

Everything else (services, selectors, schemas, seeding, private helpers) is internal
and may change in any release. This module imports nothing, Django included.
"""

__version__ = "0.1.0"
