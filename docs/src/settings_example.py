"""Every setting nexus_shop reads, at its default value (docs/settings.md).

tests/docs/test_snippets.py checks that each value here is the real default, and that no
``NEXUS_SHOP_*`` setting of ``nexus_shop.conf`` is missing from this file.
"""

from datetime import timedelta

# --8<-- [start:nexus-shop]
NEXUS_SHOP_CURRENCY = "USD"
NEXUS_SHOP_DEFAULT_PAGE_SIZE = 20
NEXUS_SHOP_CATEGORY_MAX_DEPTH = 32
NEXUS_SHOP_AUTH = ("nexus_shop.security.JWTAuth",)
NEXUS_SHOP_REGISTRATION_ENABLED = True
NEXUS_SHOP_THROTTLE_RATES = {
    "register": "10/m",
    "token": "10/m",
    "login": "20/h",
    "refresh": "10/m",
}
NEXUS_SHOP_THROTTLE_CACHE = "default"
NEXUS_SHOP_TRUSTED_PROXY_COUNT = 0
NEXUS_SHOP_HEALTH_CACHE = "default"
NEXUS_SHOP_EXACT_COUNT_LIMIT = 10_000
NEXUS_SHOP_PAGE_MODE_MAX_ITEMS = 10_000
NEXUS_SHOP_SEARCH_RANK_WINDOW = 1_000
NEXUS_SHOP_FACET_PRICE_BUCKETS = (10, 25, 50, 100, 250, 500, 1000)
NEXUS_SHOP_RESPONSE_CACHE = None
NEXUS_SHOP_RESPONSE_CACHE_TIMEOUT = 3600
NEXUS_SHOP_RESPONSE_CACHE_URL_NAMESPACE = "nexus_shop"
NEXUS_SHOP_CDN_PURGE_BACKEND = None
NEXUS_SHOP_CDN_PURGE_OPTIONS = {}
NEXUS_SHOP_CDN_MAX_AGE = 86400
NEXUS_SHOP_PURCHASE_ENABLED = True
NEXUS_SHOP_ANONYMOUS_CART_TTL = timedelta(days=30)
NEXUS_SHOP_IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT = timedelta(hours=1)
NEXUS_SHOP_PAYMENT_PROVIDER = "nexus_shop.payments.ManualPayment"
NEXUS_SHOP_SHIPPING_CALCULATOR = "nexus_shop.pricing.zero_shipping"
NEXUS_SHOP_TAX_CALCULATOR = "nexus_shop.pricing.zero_tax"
NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS = ()
NEXUS_SHOP_IMAGE_STORAGE = "default"
NEXUS_SHOP_MAX_IMAGE_BYTES = 10 * 1024 * 1024
NEXUS_SHOP_MAX_IMAGE_PIXELS = 40_000_000
NEXUS_SHOP_IMAGE_SIZES = {"thumb": 160, "card": 480, "large": 1200}
NEXUS_SHOP_SLOW_QUERY_MS = 200
NEXUS_SHOP_ACCESS_LOG_HITS_EVERY = 100
NEXUS_SHOP_METRICS_TOKEN = None
NEXUS_SHOP_METRICS_ALLOWED_NETWORKS = ()
NEXUS_SHOP_TRACING = False
# Read replicas (docs/replicas.md): DATABASES aliases, with
# DATABASE_ROUTERS = ["nexus_shop.db_router.ReplicaRouter"].
NEXUS_SHOP_READ_REPLICAS = ()
NEXUS_SHOP_READ_REPLICA_CACHE = "default"
NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = False
NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ()
NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS = 20
NEXUS_SHOP_WEBHOOK_RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=6),
)
NEXUS_SHOP_WEBHOOK_DISABLE_AFTER = timedelta(days=5)
NEXUS_SHOP_WEBHOOK_CONNECT_TIMEOUT = 2.0
NEXUS_SHOP_WEBHOOK_TIMEOUT = 10.0
NEXUS_SHOP_WEBHOOK_SECRET_OVERLAP = timedelta(hours=24)
NEXUS_SHOP_WEBHOOK_RETENTION_DAYS = 30
NEXUS_SHOP_WEBHOOK_FAILED_RETENTION_DAYS = 90
# --8<-- [end:nexus-shop]

# --8<-- [start:ninja-jwt]
NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": "a-long-random-string-that-is-not-SECRET_KEY",
}
# --8<-- [end:ninja-jwt]
