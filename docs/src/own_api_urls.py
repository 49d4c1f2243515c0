"""Mounting nexus_shop's routers on the host's own NinjaAPI (docs/installation.md)."""

from django.urls import path
from ninja import NinjaAPI

from nexus_shop.api import register_exception_handlers
from nexus_shop.routers import router

my_api = NinjaAPI(title="My shop", urls_namespace="my_shop")
my_api.add_router("/shop/", router)
register_exception_handlers(my_api)

urlpatterns = [
    path("api/", my_api.urls),
]
