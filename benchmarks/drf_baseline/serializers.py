"""The same JSON as ``nexus_shop.schemas.catalog.ProductOut`` (list items) and
``ProductDetailOut`` (the detail: with its variants and images)."""

from __future__ import annotations

from rest_framework import serializers

from nexus_shop.limits import MAX_PAGE_SIZE
from nexus_shop.models import Category, Product, ProductImage, ProductVariant

ORDERINGS = ["price", "-price", "created_at", "-created_at", "name", "-name"]


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class PriceRangeSerializer(serializers.Serializer):
    min = serializers.DecimalField(max_digits=12, decimal_places=2)
    max = serializers.DecimalField(max_digits=12, decimal_places=2)


class OptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    values = serializers.ListField(child=serializers.CharField())


class ProductSerializer(serializers.ModelSerializer):
    in_stock = serializers.BooleanField(read_only=True)
    category = CategoryRefSerializer(read_only=True, allow_null=True)
    price_range = PriceRangeSerializer(read_only=True)
    options = OptionSerializer(many=True, read_only=True)
    thumbnail = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "sku",
            "description",
            "price",
            "price_range",
            "currency",
            "stock",
            "in_stock",
            "is_active",
            "category",
            "options",
            "thumbnail",
            "created_at",
            "updated_at",
        ]


class VariantSerializer(serializers.ModelSerializer):
    in_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = ProductVariant
        fields = [
            "id",
            "sku",
            "options",
            "price",
            "compare_at_price",
            "stock",
            "in_stock",
            "is_active",
            "position",
        ]


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True)
    thumbnails = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ProductImage
        fields = ["id", "alt", "position", "variant_ids", "width", "height", "url", "thumbnails"]


class ProductDetailSerializer(ProductSerializer):
    variants = VariantSerializer(many=True, read_only=True, source="active_variants")
    images = ImageSerializer(many=True, read_only=True, source="image_list")

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "variants", "images"]


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
