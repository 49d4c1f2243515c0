"""The demo catalogue behind ``manage.py nexus_shop_seed``.

:mod:`~nexus_shop.seeding.generate` makes reproducible rows (no database),
:mod:`~nexus_shop.seeding.load` writes them (rows only: no DDL, no TRUNCATE), and
:mod:`~nexus_shop.seeding.progress` reports. Internal: the command is the interface.
"""
