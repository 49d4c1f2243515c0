"""Django admin for the catalogue.

Writes go through :mod:`nexus_shop.services.catalog`, as the API's do: a category's
``path`` is kept by the category services, a product's currency comes from
``NEXUS_SHOP_CURRENCY``, and deleting a product soft-deletes it. Products that are
soft-deleted stay visible here (filter "deleted"), read-only, and can be restored.

Rules the services enforce are checked again when the form is validated (a category's
unique slug by the model's constraint; "not its own ancestor", and a product's slug and
SKU being free among live products, by the forms below), so the admin shows them as form
errors. Should a service still refuse (a concurrent write won the race),
the error is shown as an admin message and nothing is saved: never a server error.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from nexus_shop.exceptions import NexusShopError, NotFound
from nexus_shop.models import Category, Order, OrderEvent, OrderLine, OrderStatus, Product
from nexus_shop.services import catalog as services
from nexus_shop.services import orders as order_services


class _ServiceErrorsAsMessages(admin.ModelAdmin):  # type: ignore[type-arg]  # generic in stubs only; subclasses name the model
    """Turn a domain error raised while saving into an admin error message."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except NexusShopError as error:
            # The admin's transaction has rolled back: nothing was saved.
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# Categories -----------------------------------------------------------------------------------


class CategoryAdminForm(forms.ModelForm):  # type: ignore[type-arg]  # same
    class Meta:
        model = Category
        fields = ("name", "slug", "description", "parent")

    def clean_parent(self) -> Category | None:
        parent: Category | None = self.cleaned_data.get("parent")
        instance = self.instance
        if (
            parent is not None
            and instance.pk is not None
            and instance.path
            and parent.path.startswith(instance.path)
        ):
            raise forms.ValidationError("A category cannot be its own ancestor.")
        return parent


@admin.register(Category)
class CategoryAdmin(_ServiceErrorsAsMessages):
    form = CategoryAdminForm
    list_display = ("name", "slug", "parent", "product_count", "path", "created_at")
    list_filter = (("parent", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "slug", "description")
    list_select_related = ("parent",)
    ordering = ("path",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "created_at", "updated_at")
    fields = ("name", "slug", "description", "parent", "path", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        queryset: QuerySet[Category] = super().get_queryset(request)
        # A correlated subquery, not a JOIN + GROUP BY: the database counts for the rows of
        # the page only, each from the partial (live) index on category_id.
        live_in_category = (
            Product.objects.filter(category=OuterRef("pk"))
            .order_by()
            .values("category")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return queryset.annotate(
            live_products=Coalesce(Subquery(live_in_category, output_field=IntegerField()), 0)
        )

    @admin.display(description="products", ordering="live_products")
    def product_count(self, obj: Category) -> int:
        """Products filed directly in this category that are not soft-deleted."""
        return int(getattr(obj, "live_products", 0))

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        if change:
            services.category_update(
                category_id=obj.pk,
                name=obj.name,
                slug=obj.slug,
                description=obj.description,
                parent_id=obj.parent_id,
            )
        else:
            created = services.category_create(
                name=obj.name,
                slug=obj.slug or None,
                description=obj.description,
                parent_id=obj.parent_id,
            )
            obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        services.category_delete(category_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        # Leaves first, so a selected parent is empty by the time its turn comes.
        for category in sorted(queryset, key=lambda c: c.path, reverse=True):
            try:
                services.category_delete(category_id=category.pk)
            except NexusShopError as error:
                self.message_user(request, f"{category}: {error.message}", messages.ERROR)


# Products -------------------------------------------------------------------------------------


class DeletedListFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class InStockListFilter(admin.SimpleListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(stock=0)
        return queryset


PRODUCT_FIELDS = (
    "name",
    "slug",
    "sku",
    "description",
    "price",
    "stock",
    "is_active",
    "category",
)


class ProductAdminForm(forms.ModelForm):  # type: ignore[type-arg]  # same
    """Slug and SKU must be unique among live products (the services' rule).

    Checked here because Django's constraint validation skips the partial unique
    constraints: their condition reads ``deleted_at``, which is not a form field.
    """

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def _live_unique(self, field: str, label: str) -> str:
        value: str = self.cleaned_data[field]
        clashes = Product.objects.filter(**{field: value})
        if self.instance.pk is not None:
            clashes = clashes.exclude(pk=self.instance.pk)
        if clashes.exists():
            raise forms.ValidationError(f"A product with this {label} already exists.")
        return value

    def clean_slug(self) -> str:
        return self._live_unique("slug", "slug")

    def clean_sku(self) -> str:
        return self._live_unique("sku", "SKU")


@admin.register(Product)
class ProductAdmin(_ServiceErrorsAsMessages):
    form = ProductAdminForm
    list_display = (
        "name",
        "sku",
        "price",
        "currency",
        "stock",
        "is_active",
        "category",
        "deleted",
        "created_at",
    )
    list_filter = ("is_active", DeletedListFilter, InStockListFilter, "created_at")
    # Exact SKU and slug: substring matches over a large catalogue are full scans.
    search_fields = ("name", "=sku", "=slug")
    list_select_related = ("category",)
    ordering = ("-created_at", "-id")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("category",)
    readonly_fields = ("currency", "created_at", "updated_at", "deleted_at")
    fields = (*PRODUCT_FIELDS, "currency", "created_at", "updated_at", "deleted_at")
    actions = ("soft_delete_selected", "restore_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        """Every row, soft-deleted ones included (the default manager hides them)."""
        queryset = Product.all_objects.all()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    @admin.display(description="deleted", boolean=True, ordering="deleted_at")
    def deleted(self, obj: Product) -> bool:
        return obj.deleted_at is not None

    # A soft-deleted product is read-only until it is restored.

    def has_change_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    # Writes through the services.

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        values: dict[str, Any] = {
            "name": obj.name,
            "slug": obj.slug or None,
            "sku": obj.sku,
            "description": obj.description,
            "price": obj.price,
            "stock": obj.stock,
            "is_active": obj.is_active,
            "category_id": obj.category_id,
        }
        if change:
            services.product_update(product_id=obj.pk, **values)
        else:
            obj.pk = services.product_create(**values).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        """Soft delete: the row stays and can be restored."""
        # Already soft-deleted meanwhile (NotFound) is the outcome the user asked for.
        with contextlib.suppress(NotFound):
            services.product_soft_delete(product_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        """Soft delete (the "Delete selected" action lands here)."""
        for product in queryset.filter(deleted_at__isnull=True):
            self.delete_model(request, product)

    @admin.action(description="Soft delete selected products", permissions=["delete"])
    def soft_delete_selected(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        live = list(queryset.filter(deleted_at__isnull=True))
        for product in live:
            self.delete_model(request, product)
        skipped = queryset.count() - len(live)
        message = f"Soft-deleted {len(live)} product(s)."
        if skipped:
            message += f" {skipped} already deleted."
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description="Restore selected products", permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        restored = 0
        for product in queryset.filter(deleted_at__isnull=False):
            try:
                services.product_restore(product_id=product.pk)
            except NexusShopError as error:
                self.message_user(
                    request, f"Could not restore {product}: {error.message}", messages.ERROR
                )
            else:
                restored += 1
        if restored:
            self.message_user(request, f"Restored {restored} product(s).", messages.SUCCESS)


# Orders ---------------------------------------------------------------------------------------


class OrderLineInline(admin.TabularInline):  # type: ignore[type-arg]  # generic in stubs only
    """What was bought, as snapshotted at checkout: never edited."""

    model = OrderLine
    fields = ("product", "name", "sku", "unit_price", "quantity", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):  # type: ignore[type-arg]  # same
    model = OrderEvent
    fields = ("status", "actor", "note", "at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # same
    """Orders are read here; their status changes only through the actions below, which
    call :func:`nexus_shop.services.orders.order_transition` (so cancelling returns the
    stock and calls the refund hook, exactly as the API does)."""

    list_display = ("number", "status", "user", "total", "currency", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("number", "email", "user__username", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, OrderEventInline)
    actions = ("mark_paid", "mark_fulfilled", "cancel")
    fields = (
        "number",
        "status",
        "user",
        "email",
        "shipping_address",
        "subtotal",
        "shipping",
        "tax",
        "total",
        "currency",
        "cart",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from checkout only

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # history is kept; cancel instead

    def _transition(self, request: HttpRequest, queryset: QuerySet[Order], to: str) -> None:
        done = 0
        for number in queryset.values_list("number", flat=True):
            try:
                order_services.order_transition(number=number, to=to, actor=request.user)
            except NexusShopError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} order(s) now {to}.", messages.SUCCESS)

    @admin.action(description="Mark selected orders paid", permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.PAID)

    @admin.action(description="Mark selected orders fulfilled", permissions=["change"])
    def mark_fulfilled(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.FULFILLED)

    @admin.action(description="Cancel selected orders (stock returns)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.CANCELLED)
