"""Size limits shared by the schemas, the selectors and the system checks.

A leaf module (it imports nothing from nexus_shop), so any layer can read the limits
without importing another layer.
"""

from __future__ import annotations

__all__ = ["MAX_CURSOR_LENGTH", "MAX_INPUT_DEPTH", "MAX_PAGE_SIZE", "MAX_REPORTED_ERRORS"]

# The largest ``page_size`` a list accepts (and NEXUS_SHOP_DEFAULT_PAGE_SIZE may be).
MAX_PAGE_SIZE = 100

# A signed cursor holds the last row's sort value: a name is at most 255 characters, 4
# bytes each in UTF-8, 4/3 of that in base64, plus the id, the signature and a margin.
MAX_CURSOR_LENGTH = 2048

# An error answer lists at most this many problems (a body with 150,000 unknown keys
# would otherwise get a 16 MB answer); ``error_count`` then gives the total.
MAX_REPORTED_ERRORS = 20

# Request bodies nest at most this deep (nexus_shop's own bodies nest 2 levels): deeper JSON
# is refused before validation, so no walk over it can exhaust the stack.
MAX_INPUT_DEPTH = 32
