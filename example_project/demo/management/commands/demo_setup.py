"""``manage.py demo_setup``: a demo catalogue and a staff account to try the API with.

Seeds the catalogue with ``nexus_shop_seed`` when it is empty (products with variants,
and drawn pictures for the first ``--images`` of them), then creates (or updates)
the staff user ``demo``: staff, every ``nexus_shop.*`` permission, not a superuser. The
password comes from ``DEMO_PASSWORD``, or is generated afresh on every run. Running it
again is safe: the catalogue is left alone and the account is updated in place.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from nexus_shop.models import Category, Product
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.selectors.products import product_list

SEED_COMMAND = "nexus_shop_seed"
USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Seed a demo catalogue (when empty) and create or update the staff user 'demo' "
        "(password from DEMO_PASSWORD, else generated). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=2000, help="default: 2000")
        parser.add_argument("--categories", type=int, default=30, help="default: 30")
        parser.add_argument("--seed", type=int, default=42, help="random seed; default: 42")
        parser.add_argument(
            "--images",
            type=int,
            default=60,
            help="products that get drawn pictures (Pillow, offline); default: 60",
        )
        parser.add_argument(
            "--no-seed",
            action="store_true",
            help="leave the catalogue alone; only set up the demo account",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where the server will listen, for the printed links; "
            "default: http://127.0.0.1:8000",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_seed"]:
            self._seed(
                options["products"], options["categories"], options["seed"], options["images"]
            )
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        created = self._demo_user(password)
        self._print_access(password, created, options["base_url"].rstrip("/"))

    def _seed(self, products: int, categories: int, seed: int, images: int) -> None:
        if Product.all_objects.exists() or Category.all_objects.exists():
            self.stdout.write("Catalogue already has data: not seeding.")
            return
        if SEED_COMMAND not in get_commands():
            raise CommandError(
                f"The installed nexus_shop has no {SEED_COMMAND} command; "
                "upgrade it, or pass --no-seed."
            )
        self.stdout.write(f"Seeding {products} products in {categories} categories...")
        call_command(
            SEED_COMMAND,
            products=products,
            categories=categories,
            seed=seed,
            images=images,
            stdout=self.stdout,
            stderr=self.stderr,
        )

    @transaction.atomic
    def _demo_user(self, password: str) -> bool:
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            **{user_model.USERNAME_FIELD: USERNAME}
        )
        user.is_staff = True
        user.is_superuser = False
        user.is_active = True
        user.set_password(password)
        user.save()
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="nexus_shop"))
        return created

    def _catalogue_line(self) -> str:
        # The API's own visibility rule: anonymous readers do not see inactive products.
        visible = product_list(filters=ProductFilter(), viewer=None).count
        total = Product.objects.count()
        return (
            f"Catalogue: {visible:,} of {total:,} products visible to anonymous readers "
            f"(GET /api/products counts {visible:,}); the other {total - visible:,} are "
            "inactive, which only staff see."
        )

    def _print_access(self, password: str, created: bool, base_url: str) -> None:
        token_body = shlex.quote(json.dumps({"username": USERNAME, "password": password}))
        lines = [
            "",
            self._catalogue_line(),
            "",
            f"Demo staff account {'created' if created else 'updated'} "
            "(staff, every nexus_shop permission, not a superuser):",
            f"  username: {USERNAME}",
            f"  password: {password}",
            "",
            f"Swagger UI:   {base_url}/api/docs",
            f"OpenAPI:      {base_url}/api/openapi.json",
            f"Admin:        {base_url}/admin/",
            "",
            "Get a token:",
            f"  curl -s -X POST {base_url}/api/auth/token "
            f"-H 'Content-Type: application/json' -d {token_body}",
            "",
        ]
        self.stdout.write("\n".join(lines))
