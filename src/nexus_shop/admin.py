"""Django admin for the catalogue.

Writes go through :mod:`nexus_shop.services.catalog`, as the API's do: a category's
``path`` is kept by the category services, a product's currency comes from
``NEXUS_SHOP_CURRENCY``, and deleting a product soft-deletes it. Products that are
soft-deleted stay visible here (filter "deleted"), read-only, and can be restored.

The rules (a free slug or SKU, "not its own ancestor", ...) live in the services only.
The admin's forms save by calling the service as the last step of their validation, and
what the service refuses becomes a form error on the field it names (or on the form), so
the page is shown again with the user's input and nothing is saved: never a server error.
The admin runs a form's validation and its save in one transaction (``changeform_view``
is atomic), so saving while validating commits nothing early.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from nexus_shop.exceptions import NexusShopError, NotFound
from nexus_shop.models import Category, Order, OrderEvent, OrderLine, OrderStatus, Product
from nexus_shop.models.catalog import IN_STOCK
from nexus_shop.services import catalog as services
from nexus_shop.services import orders as order_services

# A service names the input it refuses by its keyword; the form names it by model field.
_FORM_FIELDS = {"parent_id": "parent", "category_id": "category"}


class _SavedByServiceForm(forms.ModelForm):  # type: ignore[type-arg]  # generic in stubs only; subclasses name the model
    """A model form whose last validation step is the service call that saves it.

    The saved object replaces ``instance``; a :class:`NexusShopError` becomes a form error
    (on the field named by its ``extra["field"]``, else on the form). Use it only where the
    caller validates and saves in one transaction, as the admin's ``changeform_view`` does.
    """

    def save_through_services(self) -> Any:
        raise NotImplementedError

    # After the model's own validation (_post_clean runs it), so that a row saved here is
    # not then seen by the unique checks as a clash with itself.
    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # django-stubs omits this private hook
        if self.errors:
            return
        try:
            self.instance = self.save_through_services()
        except NexusShopError as error:
            named = error.extra.get("field")
            field = _FORM_FIELDS.get(named, named) if isinstance(named, str) else None
            self.add_error(field if field in self.fields else None, error.message)


class _SavedByServiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # same
    """The form saved the object already (through a service); only reload it here."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.refresh_from_db()


# Categories -----------------------------------------------------------------------------------


class CategoryAdminForm(_SavedByServiceForm):
    class Meta:
        model = Category
        fields = ("name", "slug", "description", "parent")

    def save_through_services(self) -> Category:
        data = self.cleaned_data
        parent: Category | None = data.get("parent")
        values: dict[str, Any] = {
            "name": data["name"],
            "description": data.get("description") or "",
            "parent_id": parent.pk if parent is not None else None,
        }
        if self.instance.pk is None:
            return services.category_create(slug=data.get("slug") or None, **values)
        return services.category_update(
            category_id=self.instance.pk, slug=data.get("slug") or None, **values
        )


@admin.register(Category)
class CategoryAdmin(_SavedByServiceAdmin):
    form = CategoryAdminForm
    list_display = ("name", "slug", "parent", "live_products_here", "path", "created_at")
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

    @admin.display(description="products here", ordering="live_products")
    def live_products_here(self, obj: Category) -> int:
        """Products filed directly in this category that are not soft-deleted.

        Not the API's ``product_count`` (the whole subtree, public products only): staff
        see what is filed here, hidden products included.
        """
        return int(getattr(obj, "live_products", 0))

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
            return queryset.filter(IN_STOCK)
        if self.value() == "no":
            return queryset.filter(~IN_STOCK)
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


class ProductAdminForm(_SavedByServiceForm):
    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def save_through_services(self) -> Product:
        data = self.cleaned_data
        category: Category | None = data.get("category")
        values: dict[str, Any] = {
            "name": data["name"],
            "slug": data.get("slug") or None,
            "sku": data["sku"],
            "description": data.get("description") or "",
            "price": data["price"],
            "stock": data["stock"],
            "is_active": data["is_active"],
            "category_id": category.pk if category is not None else None,
        }
        if self.instance.pk is None:
            return services.product_create(**values)
        return services.product_update(product_id=self.instance.pk, **values)


@admin.register(Product)
class ProductAdmin(_SavedByServiceAdmin):
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
    # "Delete selected products" soft-deletes (delete_queryset); this restores.
    actions = ("restore_selected",)

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

    # Deletes through the services (saves: see ProductAdminForm).

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        """Soft delete: the row stays and can be restored."""
        # Already soft-deleted meanwhile (NotFound) is the outcome the user asked for.
        with contextlib.suppress(NotFound):
            services.product_soft_delete(product_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        """Soft delete (the "Delete selected" action lands here)."""
        for product in queryset.filter(deleted_at__isnull=True):
            self.delete_model(request, product)

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
