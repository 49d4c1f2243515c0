"""nexus_shop: a reusable Django app serving an e-commerce catalogue REST API."""

__version__ = "0.1.0"
