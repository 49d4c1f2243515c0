"""A ``ListAPIView`` and a ``RetrieveAPIView`` over nexus_shop's own models and database."""

from __future__ import annotations

from typing import Any

from django.core.paginator import InvalidPage, Paginator
from django.db.models import Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from drf_baseline.serializers import (
    ProductDetailSerializer,
    ProductQuerySerializer,
    ProductSerializer,
)
from nexus_shop.models import Category, Product, ProductImage, ProductVariant


class EnvelopePagination(BasePagination):
    """Page numbers with nexus_shop's envelope: ``{items, count, page, page_size, next_cursor}``."""

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        params = view.query_params
        self.page_size = params["page_size"]
        paginator = Paginator(queryset, self.page_size)
        try:
            self.page = paginator.page(params["page"])
        except InvalidPage as exc:
            raise Http404(str(exc)) from exc
        return list(self.page)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "items": data,
                "count": self.page.paginator.count,
                "page": self.page.number,
                "page_size": self.page_size,
                "next_cursor": None,
            }
        )


def _visible() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True, active_variant_count__gt=0).select_related(
        "category"
    )


class ProductList(ListAPIView):
    serializer_class = ProductSerializer
    pagination_class = EnvelopePagination

    def get_queryset(self) -> QuerySet[Product]:
        query = ProductQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        self.query_params = params = query.validated_data
        queryset = _visible()
        if "category" in params:
            root = Category.objects.filter(slug=params["category"]).values("path")[:1]
            subtree = Category.objects.filter(path__startswith=Subquery(root)).values("pk")
            queryset = queryset.filter(category_id__in=subtree)
        if "min_price" in params:
            queryset = queryset.filter(price__gte=params["min_price"])
        if "max_price" in params:
            queryset = queryset.filter(price__lte=params["max_price"])
        if params.get("in_stock") is not None:
            queryset = (
                queryset.filter(stock__gt=0) if params["in_stock"] else queryset.filter(stock=0)
            )
        if params.get("q"):
            # What DRF's SearchFilter does with search_fields = ["name", "description"]:
            # a case-insensitive substring match, no ranking (DRF has no full-text search).
            q = params["q"]
            queryset = queryset.filter(Q(name__icontains=q) | Q(description__icontains=q))
        ordering: str = params["ordering"]
        tie = "-pk" if ordering.startswith("-") else "pk"
        return queryset.order_by(ordering, tie)


class ProductDetail(RetrieveAPIView):
    """The detail with its active variants and its images: two prefetches, as DRF does."""

    serializer_class = ProductDetailSerializer
    queryset = _visible().prefetch_related(
        Prefetch(
            "variants",
            queryset=ProductVariant.objects.filter(is_active=True).order_by("position", "id"),
            to_attr="active_variants",
        ),
        Prefetch(
            "images", queryset=ProductImage.objects.order_by("position", "id"), to_attr="image_list"
        ),
    )
