"""Size limits shared by the schemas, the selectors and the system checks.

A leaf module (it imports nothing from nexus_shop), so any layer can read the limits
without importing another layer.
"""

from __future__ import annotations

__all__ = [
    "MAX_CURSOR_LENGTH",
    "MAX_INPUT_DEPTH",
    "MAX_PAGE_SIZE",
    "MAX_REPORTED_ERRORS",
    "MULTIPART_ALLOWANCE",
]

# The largest ``page_size`` a list accepts (and NEXUS_SHOP_DEFAULT_PAGE_SIZE may be).
MAX_PAGE_SIZE = 100

# Every cursor the API issues must be accepted back. A signed cursor holds the last row's
# sort value; the longest is a product name of 255 characters that JSON escapes to 6 bytes
# each (control characters, "\u001f"; rows written before the API refused them, or by
# other code): 1,530 bytes, plus the keys and a 19-digit id (~1,580), 4/3 of that in
# base64 (~2,110), plus the signature (44): about 2,160. A category's path is at most
# 1,024 ASCII bytes. 4096 leaves room; tests/selectors/test_pagination.py checks the worst.
MAX_CURSOR_LENGTH = 4096

# An error answer lists at most this many problems (a body with 150,000 unknown keys
# would otherwise get a 16 MB answer); ``error_count`` then gives the total.
MAX_REPORTED_ERRORS = 20

# Request bodies nest at most this deep (nexus_shop's own bodies nest 2 levels): deeper JSON
# is refused before validation, so no walk over it can exhaust the stack.
MAX_INPUT_DEPTH = 32

# An image upload's request may be this much larger than NEXUS_SHOP_MAX_IMAGE_BYTES: the
# multipart boundaries and part headers, and the other fields (an alt text of 500
# characters, up to 4 bytes each in UTF-8; 250 variant ids of up to 19 digits, each in a
# part of its own of about 100 bytes: ~30 KiB at worst). A Content-Length past the two
# together is refused before a byte is read.
MULTIPART_ALLOWANCE = 64 * 1024
