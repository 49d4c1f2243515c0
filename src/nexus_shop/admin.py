"""Django admin for the catalogue, orders and webhooks.

Writes go through :mod:`nexus_shop.services.catalog` (and a product's images through
:mod:`nexus_shop.services.images`), as the API's do: a category's ``path`` is kept by the
category services, a product's currency comes from ``NEXUS_SHOP_CURRENCY``, deleting a
product or a category soft-deletes it, and every change emits the API's event. Products
and categories that are soft-deleted stay visible here (filter "deleted"), read-only, and
can be restored.

The rules (a free slug or SKU, "not its own ancestor", ...) live in the services only.
The admin's forms save by calling the service as the last step of their validation, and
what the service refuses becomes a form error on the field it names (or on the form), so
the page is shown again with the user's input and nothing is saved: never a server error.
The admin runs a form's validation and its save in one transaction (``changeform_view``
is atomic), so saving while validating commits nothing early.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from nexus_shop.conf import conf
from nexus_shop.exceptions import NexusShopError, NotFound, ValidationFailed
from nexus_shop.models import (
    Category,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Product,
    ProductImage,
    ProductVariant,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from nexus_shop.models.base import SoftDeleteModel
from nexus_shop.models.catalog import IN_STOCK
from nexus_shop.schemas.catalog import Options
from nexus_shop.services import catalog as services
from nexus_shop.services import events
from nexus_shop.services import images as image_services
from nexus_shop.services import orders as order_services
from nexus_shop.services.webhooks import endpoints as webhook_services

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


class _SoftDeletedAdmin(_SavedByServiceAdmin):
    """Categories and products: a soft-deleted row is listed (``deleted``) but read-only
    until it is restored."""

    @admin.display(description="deleted", boolean=True, ordering="deleted_at")
    def deleted(self, obj: SoftDeleteModel) -> bool:
        return obj.deleted_at is not None

    def has_change_permission(
        self, request: HttpRequest, obj: SoftDeleteModel | None = None
    ) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: SoftDeleteModel | None = None
    ) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False
        return super().has_delete_permission(request, obj)


# Categories -----------------------------------------------------------------------------------


class DeletedListFilter(admin.SimpleListFilter):
    """Soft-deleted rows (categories, products): the admins list them too."""

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


# The most products the delete confirmation names; it counts the rest.
_PROTECTED_SHOWN = 20


@admin.register(Category)
class CategoryAdmin(_SoftDeletedAdmin):
    form = CategoryAdminForm
    list_display = (
        "name",
        "slug",
        "parent",
        "live_products_here",
        "path",
        "deleted",
        "created_at",
    )
    list_filter = (("parent", admin.EmptyFieldListFilter), DeletedListFilter, "created_at")
    search_fields = ("name", "slug", "description")
    list_select_related = ("parent",)
    ordering = ("path",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "created_at", "updated_at", "deleted_at")
    fields = ("name", "slug", "description", "parent", *readonly_fields)
    # "Delete selected categories" soft-deletes (delete_queryset); this restores.
    actions = ("restore_selected",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        """Every row, soft-deleted ones included (the default manager hides them)."""
        queryset = Category.all_objects.all()
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Category], search_term: str
    ) -> tuple[QuerySet[Category], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if getattr(request.resolver_match, "url_name", None) == "autocomplete":
            # Choosing a parent or a product's category: live ones only (the services
            # refuse a deleted one, as the form's own choices do).
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset, may_have_duplicates

    @admin.display(description="products here", ordering="live_products")
    def live_products_here(self, obj: Category) -> int:
        """Products filed directly in this category that are not soft-deleted.

        Not the API's ``product_count`` (the whole subtree, public products only): staff
        see what is filed here, hidden products included.
        """
        return int(getattr(obj, "live_products", 0))

    # Deletes through the services (saves: see CategoryAdminForm).

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """The confirmation page's lists for a soft delete: the categories themselves, and
        as "protected" what ``category_delete`` refuses them for (live child categories
        not deleted along, and products, soft-deleted ones included).

        Django's own lists follow every foreign key to the rows, so soft-deleted children
        (which hold nothing back) would be "protected" too.
        """
        categories = list(objs)
        ids = {category.pk for category in categories}
        children = Category.objects.filter(parent_id__in=ids).exclude(pk__in=ids)
        products = Product.all_objects.filter(category_id__in=ids).order_by("pk")
        shown = list(products[: _PROTECTED_SHOWN + 1])
        protected = [f"Category: {child}" for child in children]
        protected += [f"Product: {product}" for product in shown[:_PROTECTED_SHOWN]]
        if len(shown) > _PROTECTED_SHOWN:
            protected.append(f"... and {products.count() - _PROTECTED_SHOWN} more products")
        deleted = [f"Category: {category}" for category in categories]
        return deleted, {Category._meta.verbose_name_plural: len(categories)}, set(), protected

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        """Soft delete: the row stays and can be restored."""
        # Already soft-deleted meanwhile (NotFound) is the outcome the user asked for.
        with contextlib.suppress(NotFound):
            services.category_delete(category_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        """Soft delete (the "Delete selected" action lands here)."""
        # Leaves first, so a selected parent is empty by the time its turn comes.
        live = queryset.filter(deleted_at__isnull=True)
        for category in sorted(live, key=lambda c: c.path, reverse=True):
            try:
                self.delete_model(request, category)
            except NexusShopError as error:
                self.message_user(request, f"{category}: {error.message}", messages.ERROR)

    @admin.action(description="Restore selected categories", permissions=["delete"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        """Restore through the service (``delete_category``, as the API's restore needs)."""
        restored = 0
        # Parents first (a path sorts before its descendants'), so a selected parent is
        # live by the time its children's turn comes.
        deleted = queryset.filter(deleted_at__isnull=False)
        for category in sorted(deleted, key=lambda c: c.path):
            try:
                services.category_restore(category_id=category.pk)
            except NexusShopError as error:
                self.message_user(
                    request, f"Could not restore {category}: {error.message}", messages.ERROR
                )
            else:
                restored += 1
        if restored:
            self.message_user(request, f"Restored {restored} category(ies).", messages.SUCCESS)


# Products -------------------------------------------------------------------------------------


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
    "options",
    "price",
    "stock",
    "is_active",
    "category",
)

# The same rules as the API's ``options`` (0-3 options, 1-100 values, names and values
# unique ignoring case): one declaration, in the schema.
_OPTIONS = TypeAdapter(Options)


class VariantInline(admin.TabularInline):  # type: ignore[type-arg]  # generic in stubs only
    """A product's live variants, edited with it and saved by the product's service call.

    The product form sends every variant row to ``services.catalog.product_update`` in one
    call (PUT semantics: rows with an id are updated, new rows created, rows marked for
    deletion soft-deleted), so the summary, the sku and combination rules and the cache
    invalidation are the API's. The formset itself saves nothing (``ProductAdmin.save_formset``).
    """

    model = ProductVariant
    fields = ("sku", "options", "price", "compare_at_price", "stock", "is_active", "position")
    extra = 0
    ordering = ("position", "id")


class ImageAdminForm(forms.ModelForm):  # type: ignore[type-arg]  # generic in stubs only
    """One image row: a new row uploads ``upload``; every row edits alt, position, variants.

    The form only parses the row; :meth:`ProductAdminForm.save_images` hands it to the
    image services (which check the bytes, re-encode, make thumbnails and keep positions
    unique), so a refusal is theirs, shown on this row.
    """

    upload = forms.FileField(
        required=False,
        label="file",
        help_text="JPEG, PNG, WebP or GIF. To replace a picture, delete the row and add one.",
    )
    position = forms.IntegerField(
        required=False, min_value=0, help_text="Empty on a new row: last."
    )
    variant_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="variants",
        widget=forms.CheckboxSelectMultiple,
        help_text="The variants this picture shows (none: all of them).",
    )

    class Meta:
        model = ProductImage
        fields = ("upload", "alt", "position", "variant_ids")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.instance.pk is None and not data.get("upload") and not data.get("DELETE"):
            self.add_error("upload", "Choose an image file to upload.")
        return data


class ImageFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]  # same
    """Offers the product's live variants as each row's ``variant_ids`` choices."""

    def _construct_form(self, i: int, **kwargs: Any) -> Any:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]  # private hook, not in django-stubs
        self._offer_variants(form)
        if form.instance.pk is not None:
            form.fields["upload"].disabled = True  # a stored picture is never replaced
        return form

    @functools.cached_property
    def _variant_choices(self) -> list[tuple[int, str]]:
        if self.instance.pk is None:
            return []
        return [
            (variant.pk, variant.sku)
            for variant in ProductVariant.objects.filter(product=self.instance).order_by(
                "position", "id"
            )
        ]

    @property
    def empty_form(self) -> Any:
        form = super().empty_form
        self._offer_variants(form)
        return form

    def _offer_variants(self, form: Any) -> None:
        field: forms.ChoiceField = form.fields["variant_ids"]  # ImageAdminForm declares it
        field.choices = self._variant_choices


class ImageInline(admin.TabularInline):  # type: ignore[type-arg]  # same
    """A product's images, edited with it: upload, alt, position, variants, delete.

    Every row goes through :mod:`nexus_shop.services.images` (``image_add``,
    ``image_update``, ``image_delete``) from the product form's save, after the product's
    own service call and in the same savepoint (:meth:`ProductAdminForm.save_images`): a
    refused picture (415, 413, 422 in the API) is an error on its row, and nothing of the
    page is saved. The formset itself saves nothing (``ProductAdmin.save_formset``).
    """

    model = ProductImage
    form = ImageAdminForm
    formset = ImageFormSet
    fields = ("preview", "upload", "alt", "position", "variant_ids", "width", "height")
    readonly_fields = ("preview", "width", "height")
    extra = 0
    ordering = ("position", "id")

    @admin.display(description="image")
    def preview(self, obj: ProductImage) -> str:
        """The smallest configured thumbnail (``thumb`` by default), linking to the original.

        By the configured sizes, not the stored mapping's order: PostgreSQL's jsonb sorts
        its keys.
        """
        if not obj.file:  # a new row: nothing stored yet
            return "-"
        thumbnails = obj.thumbnails
        sizes = conf.IMAGE_SIZES
        smallest = min(thumbnails, key=lambda size: sizes.get(size, 1 << 30), default=None)
        src = thumbnails[smallest] if smallest is not None else obj.url
        return format_html(
            '<a href="{}"><img src="{}" alt="{}" height="80"></a>', obj.url, src, obj.alt
        )


def _position_or(data: dict[str, Any], default: int) -> int:
    position = data.get("position")
    return default if position is None else int(position)


class ProductAdminForm(_SavedByServiceForm):
    """The product and, through :class:`VariantInline`, its variants, in one service call;
    then the rows of :class:`ImageInline` through the image services (:meth:`save_images`).

    ``price`` and ``stock`` are the old single-sku fields: on a new product without variant
    rows they make its default variant; on a product with one variant a change writes it;
    on one with several, the variant rows are the place (the service refuses them, 422).
    """

    price = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="The default variant's price (a product with one variant). Derived "
        "from the variants otherwise: edit them below.",
    )
    stock = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="The default variant's stock (a product with one variant).",
    )
    # Set by ProductAdmin.get_form: the request whose variant formset this form saves.
    request: HttpRequest | None = None

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def clean_options(self) -> list[dict[str, Any]]:
        try:
            options = _OPTIONS.validate_python(self.cleaned_data.get("options") or [])
        except PydanticValidationError as error:
            raise forms.ValidationError("; ".join(str(e["msg"]) for e in error.errors())) from None
        return [option.model_dump() for option in options]

    def _variant_specs(self) -> list[dict[str, Any]] | None:
        """Every variant row, if any changed (else None: the variants stay as they are)."""
        formset = getattr(self.request, "_nexus_shop_variant_formset", None)
        if formset is None or not formset.has_changed():
            return None
        if not formset.is_valid():
            raise ValidationFailed("Correct the variants below.")  # shown as a form error
        specs = []
        for form in formset.forms:
            data = form.cleaned_data
            if (
                not data
                or data.get("DELETE")
                or (form.instance.pk is None and not form.has_changed())
            ):
                continue
            spec = {
                key: data.get(key)
                for key in ("sku", "price", "compare_at_price", "stock", "is_active", "position")
            }
            spec["options"] = data.get("options") or {}
            if form.instance.pk is not None:
                spec["id"] = form.instance.pk
            specs.append(spec)
        return specs

    def _image_formset(self) -> Any:
        """The image formset, checked (None when no row changed)."""
        formset = getattr(self.request, "_nexus_shop_image_formset", None)
        if formset is None or not formset.has_changed():
            return None
        if not formset.is_valid():
            raise ValidationFailed("Correct the images below.")  # shown as a form error
        return formset

    def save_through_services(self) -> Product:
        """The product (and its variants), then its images, in one savepoint.

        A refused image rolls the savepoint back, so the page saves all or nothing. The
        files of images added before the refusal are removed once their rows are gone
        (``image_add`` only cleans up after its own failure). The savepoint is
        :func:`events.coalesced`: webhooks hear of the page once (its ``product.created``
        or ``product.updated`` with the images as saved), not once per service call.
        """
        images = self._image_formset()
        added: list[ProductImage] = []
        try:
            with events.coalesced():
                product = self._save_product()
                if images is not None:
                    self.save_images(images, product=product, added=added)
        except BaseException:
            for image in added:
                image_services.remove_unused(
                    content_hash=image.content_hash,
                    names={image.file, *image.thumbnail_files.values()},
                )
            raise
        return product

    @staticmethod
    def save_images(formset: Any, *, product: Product, added: list[ProductImage]) -> None:
        """Each changed image row through its service: deletions, then changes, then uploads.

        Every row is tried, so every refusal is shown at once (on its row); then
        :class:`ValidationFailed` rolls the caller's savepoint back. A changed position is
        a move (the others close up), applied in the order of the positions asked for.
        ``formset.new_objects`` and the like are set for the admin's change message.
        """
        refused = False
        deleted: list[ProductImage] = []
        changed: list[tuple[ProductImage, list[str]]] = []

        def attempt(form: Any, call: Any, **kwargs: Any) -> Any:
            nonlocal refused
            try:
                return call(product_id=product.pk, **kwargs)
            except NexusShopError as error:
                named = error.extra.get("field")
                field = "upload" if named == "file" else named
                form.add_error(field if field in form.fields else None, error.message)
                refused = True
                return None

        rows = [form for form in formset.forms if form.has_changed() and form.cleaned_data]
        for form in rows:
            if form.instance.pk is not None and form.cleaned_data.get("DELETE"):
                attempt(form, image_services.image_delete, image_id=form.instance.pk)
                deleted.append(form.instance)
        updates = [
            form
            for form in rows
            if form.instance.pk is not None and not form.cleaned_data.get("DELETE")
        ]
        last = len(formset.forms)
        for form in sorted(updates, key=lambda f: _position_or(f.cleaned_data, last)):
            data = form.cleaned_data
            fields = [n for n in ("alt", "position", "variant_ids") if n in form.changed_data]
            values = {n: data[n] if n != "position" else _position_or(data, last) for n in fields}
            if fields and attempt(
                form, image_services.image_update, image_id=form.instance.pk, **values
            ):
                changed.append((form.instance, fields))
        for form in rows:
            if form.instance.pk is None and not form.cleaned_data.get("DELETE"):
                data = form.cleaned_data
                upload = data["upload"]
                image = attempt(
                    form,
                    image_services.image_add,
                    data=upload,
                    content_type=getattr(upload, "content_type", None),
                    alt=data.get("alt") or "",
                    position=data.get("position"),
                    variant_ids=data.get("variant_ids") or [],
                )
                if image is not None:
                    added.append(image)
        if refused:
            raise ValidationFailed("Correct the images below.")
        formset.new_objects, formset.changed_objects = list(added), changed
        formset.deleted_objects = deleted

    def _save_product(self) -> Product:
        data = self.cleaned_data
        category: Category | None = data.get("category")
        values: dict[str, Any] = {
            "name": data["name"],
            "slug": data.get("slug") or None,
            "sku": data["sku"],
            "description": data.get("description") or "",
            "is_active": data["is_active"],
            "category_id": category.pk if category is not None else None,
            "options": data.get("options") or [],
            "variants": self._variant_specs(),
        }
        if self.instance.pk is None:
            if values["variants"] is None:
                values["price"], values["stock"] = data.get("price"), data.get("stock")
            return services.product_create(**values)
        for name in ("price", "stock"):
            if name in self.changed_data and data.get(name) is not None:
                values[name] = data[name]
        return services.product_update(product_id=self.instance.pk, **values)


@admin.register(Product)
class ProductAdmin(_SoftDeletedAdmin):
    form = ProductAdminForm
    inlines = (VariantInline, ImageInline)
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
    # Shown, never edited here: the variants' summary and the row's history.
    readonly_fields = (
        "price_range",
        "currency",
        "active_variant_count",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    fields = (*PRODUCT_FIELDS, *readonly_fields)
    # "Delete selected products" soft-deletes (delete_queryset); this restores.
    actions = ("restore_selected",)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """The form, knowing the request whose variant formset it saves along."""
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def _create_formsets(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        """Remember the variant formset: the product form's service call saves its rows."""
        formsets, inlines = super()._create_formsets(request, obj, change)  # type: ignore[misc]  # private hook, not in django-stubs
        for formset in formsets:
            if formset.model is ProductVariant:
                request._nexus_shop_variant_formset = formset  # type: ignore[attr-defined]  # per-request scratch
            elif formset.model is ProductImage:
                request._nexus_shop_image_formset = formset  # type: ignore[attr-defined]  # same
        return formsets, inlines

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Nothing to save: variants and images went through the product form's service
        calls. (The change message reads these lists; the image rows set their own.)"""
        if formset.model is not ProductImage or not hasattr(formset, "new_objects"):
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        """Every row, soft-deleted ones included (the default manager hides them)."""
        queryset = Product.all_objects.all()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

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
    fields = ("product", "name", "sku", "options", "unit_price", "quantity", "line_total")
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


# Webhooks -------------------------------------------------------------------------------------

WEBHOOK_PERM = "nexus_shop.manage_webhooks"


class _ManagedWebhooks:
    """Everything webhook here needs ``nexus_shop.manage_webhooks``, as in the API: endpoints
    hold secrets, deliveries hold orders. (Not the per-model add/change/delete permissions.)"""

    def _manages(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(WEBHOOK_PERM))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request)

    def has_manage_permission(self, request: HttpRequest) -> bool:  # the actions' permission
        return self._manages(request)


def _event_choices() -> list[tuple[str, str]]:
    return [("*", "* (every event type)")] + [
        (name, name) for name in webhook_services.subscribable_event_types()
    ]


class WebhookEndpointAdminForm(_SavedByServiceForm):
    """The URL, the event types and the description, saved by the endpoint services (which
    check the URL's addresses and the types). The secret is never in the form: the page
    after a creation or a rotation shows it once, as a message."""

    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=_event_choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "description", "is_enabled")

    def save_through_services(self) -> WebhookEndpoint:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "url": data["url"],
            "events": list(data["events"]),
            "description": data.get("description") or "",
        }
        enabled = bool(data.get("is_enabled"))
        if self.instance.pk is None:
            endpoint = webhook_services.endpoint_create(**values)
            if not enabled:  # created disabled, in the same transaction (the admin's)
                endpoint = webhook_services.endpoint_update(
                    endpoint_id=endpoint.pk, is_enabled=False
                )
            return endpoint
        return webhook_services.endpoint_update(
            endpoint_id=self.instance.pk, is_enabled=enabled, **values
        )


def _secret_message(endpoint: WebhookEndpoint, what: str) -> str:
    return (
        f"{what} {endpoint}: its secret is {endpoint.secret} . Store it now: it is not shown again."
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ManagedWebhooks, _SavedByServiceAdmin):
    form = WebhookEndpointAdminForm
    list_display = ("url", "subscriptions", "is_enabled", "disabled_reason", "created_at")
    list_filter = ("is_enabled", "created_at")
    search_fields = ("url", "description")
    readonly_fields = (
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )
    fields = ("url", "events", "description", "is_enabled", *readonly_fields)
    actions = ("ping", "rotate_secret")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._manages(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request)

    @admin.display(description="events")
    def subscriptions(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, *args: Any) -> Any:
        self.message_user(request, _secret_message(obj, "Created"), messages.WARNING)
        return super().response_add(request, obj, *args)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Its deliveries and their attempts go with an endpoint: read-only on their own
        # pages, they ask for no delete permission of their own here.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        with contextlib.suppress(NotFound):  # deleted meanwhile: what was asked
            webhook_services.endpoint_delete(endpoint_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    def _each(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint], call: Any
    ) -> list[Any]:
        done = []
        for endpoint_id in queryset.values_list("pk", flat=True):
            try:
                done.append(call(endpoint_id=endpoint_id))
            except NexusShopError as error:
                self.message_user(request, error.message, messages.ERROR)
        return done

    @admin.action(description="Send a test event (webhook.ping)", permissions=["manage"])
    def ping(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        queued = self._each(request, queryset, webhook_services.ping)
        if queued:
            self.message_user(request, f"Queued {len(queued)} ping(s).", messages.SUCCESS)

    @admin.action(description="Rotate the secret", permissions=["manage"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in self._each(request, queryset, webhook_services.rotate_secret):
            self.message_user(request, _secret_message(endpoint, "Rotated"), messages.WARNING)


class WebhookAttemptInline(admin.TabularInline):  # type: ignore[type-arg]  # generic in stubs only
    model = WebhookAttempt
    fields = ("at", "status_code", "latency_ms", "response_body", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(WEBHOOK_PERM))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ManagedWebhooks, admin.ModelAdmin):  # type: ignore[type-arg]  # same
    """The delivery log, read-only; the action redelivers through the service."""

    list_display = (
        "id",
        "endpoint",
        "webhook_id",
        "event_type",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "created_at")
    search_fields = ("=event__type", "endpoint__url")
    list_select_related = ("endpoint", "event")
    fields = (
        "endpoint",
        "webhook_id",
        "event_type",
        "resource",
        "sequence",
        "status",
        "attempt_count",
        "next_attempt_at",
        "lease_until",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        # The event's type, not its payload.
        return super().get_queryset(request).defer("event__data")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the workers make deliveries

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the prune command does, by age

    @admin.display(description="webhook-id")
    def webhook_id(self, obj: WebhookDelivery) -> str:
        return f"evt_{obj.event_id}"

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.action(description="Redeliver (same webhook-id, a new attempt)", permissions=["manage"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        done = 0
        for delivery_id, endpoint_id in queryset.values_list("pk", "endpoint_id"):
            try:
                webhook_services.redeliver(endpoint_id=endpoint_id, delivery_id=delivery_id)
            except NexusShopError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"Queued {done} delivery(ies) again.", messages.SUCCESS)
