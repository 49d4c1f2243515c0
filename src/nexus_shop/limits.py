"""Size limits shared by the schemas, the selectors and the system checks.

A leaf module (it imports nothing from nexus_shop), so any layer can read the limits
without importing another layer.
"""

from __future__ import annotations

__all__ = ["MAX_CURSOR_LENGTH", "MAX_PAGE_SIZE"]

# The largest ``page_size`` a list accepts (and NEXUS_SHOP_DEFAULT_PAGE_SIZE may be).
MAX_PAGE_SIZE = 100

# A signed cursor holds the last row's sort value: a name is at most 255 characters, 4
# bytes each in UTF-8, 4/3 of that in base64, plus the id, the signature and a margin.
MAX_CURSOR_LENGTH = 2048
