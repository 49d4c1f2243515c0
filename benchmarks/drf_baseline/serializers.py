"""The same JSON as ``nexus_shop.schemas.catalog.ProductOut``."""

from __future__ import annotations

from rest_framework import serializers

from nexus_shop.limits import MAX_PAGE_SIZE
from nexus_shop.models import Category, Product

ORDERINGS = ["price", "-price", "created_at", "-created_at", "name", "-name"]


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class ProductSerializer(serializers.ModelSerializer):
    in_stock = serializers.BooleanField(read_only=True)
    category = CategoryRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "sku",
            "description",
            "price",
            "currency",
            "stock",
            "in_stock",
            "is_active",
            "category",
            "created_at",
            "updated_at",
        ]


class ProductQuerySerializer(serializers.Serializer):
    """The query parameters of the list, validated as nexus_shop's ``ProductFilter`` does."""

    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=20)
    category = serializers.CharField(max_length=200, required=False)
    min_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    max_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    ordering = serializers.ChoiceField(choices=ORDERINGS, default="-created_at")
    q = serializers.CharField(max_length=200, required=False)
