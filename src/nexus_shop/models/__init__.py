from nexus_shop.models.catalog import Category, Product

__all__ = ["Category", "Product"]
