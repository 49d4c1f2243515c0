from __future__ import annotations

from django.urls import path

from drf_baseline.views import ProductDetail, ProductList

urlpatterns = [
    path("products", ProductList.as_view(), name="drf-product-list"),
    path("products/<int:pk>", ProductDetail.as_view(), name="drf-product-detail"),
]
