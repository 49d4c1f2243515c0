"""The URLconf of a minimal host project (docs/installation.md). Run by the docs tests."""

# --8<-- [start:urls]
from django.urls import path

from nexus_shop.api import api

urlpatterns = [
    path("api/", api.urls),
]
# --8<-- [end:urls]
