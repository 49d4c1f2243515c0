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
# --8<-- [end:nexus-shop]

# --8<-- [start:ninja-jwt]
NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": "a-long-random-string-that-is-not-SECRET_KEY",
}
# --8<-- [end:ninja-jwt]
